//! Salvage: the intact start of a store that cannot be proved whole,
//! copied into a new directory, and exactly what was lost said.
//!
//! The old directory is never written: it is copied first (under sled's
//! own lock, so no service is writing it meanwhile), and the copy is what
//! sled opens and recovers (or, when sled cannot open a file at all, the
//! copy cut short before the damage, as sled's own recovery cuts). The log is proved against the record of what
//! was acknowledged as far as it holds; positions 1 to the last intact one
//! are replayed through the writer into the new store (rules checked again,
//! tables rebuilt, the same stored bytes, so the same digests); everything
//! after, up to the last position ever acknowledged or seen, is recorded as
//! one lost range ([`crate::store::loss`]), so the next append goes after
//! it and no position is ever reused. Events after the damage that can
//! still be read are not copied — they may depend on what was lost — but
//! are counted by agency, so that the case systems know what to send again.

use std::collections::BTreeMap;
use std::fs::File;
use std::path::{Path, PathBuf};
use std::sync::Arc;

use anyhow::{Context as _, bail};
use chrono::Utc;

use crate::domain::event::Recorded;
use crate::ops::backup::{Replayed, groups_of, into_new_dir, put_config, replay};
use crate::store::chain::Digest;
use crate::store::chunk;
use crate::store::database::{Segment, Store};
use crate::store::journal;
use crate::store::ledger::{Ledger, open_store};
use crate::store::loss::Loss;
use crate::store::proof;

/// Positions read from the old store per step.
const STEP: u64 = 1000;

/// What a salvage found and did.
#[derive(Debug)]
pub struct Salvaged {
    /// sled could not open the file as it was, only cut short at this byte
    /// (a segment boundary): nothing after it was read.
    pub cut: Option<u64>,
    /// Positions 1 to this were copied (with any range lost before).
    pub kept: u64,
    /// What was wrong with the old store; `None` when its log was whole.
    pub damage: Option<String>,
    /// The last position the old store had acknowledged, by its record.
    pub acknowledged: u64,
    /// The positions recorded as lost now, if any.
    pub loss: Option<Loss>,
    /// Events in the lost range that could still be read, by agency: not
    /// copied, since they follow the damage.
    pub readable_not_copied: BTreeMap<String, u64>,
    /// The new store's head and its log's digest there.
    pub head: u64,
    pub digest: Digest,
    pub groups: usize,
    pub tokens: usize,
    pub calendars: usize,
    /// Configuration that could not be read from the old store.
    pub config_lost: Vec<String>,
}

/// Salvages the store in `from` into `into` (new or empty). `progress` is
/// called with each position copied and the new head to reach.
pub async fn salvage(
    from: &Path,
    into: &Path,
    cache_capacity: u64,
    progress: impl FnMut(u64, u64),
) -> anyhow::Result<Salvaged> {
    if !from.join("db").is_file() {
        bail!("{} holds no store (no sled `db` file)", from.display());
    }
    if inside(into, from) {
        bail!("salvage into a new directory outside {}, not into it", from.display());
    }
    into_new_dir(into, "salvage", async {
        let copy = Arc::new(Copy::of(from, into)?);
        salvage_copy(&copy, into, cache_capacity, progress).await
    })
    .await
}

async fn salvage_copy(
    copy: &Arc<Copy>,
    into: &Path,
    cache_capacity: u64,
    mut progress: impl FnMut(u64, u64),
) -> anyhow::Result<Salvaged> {
    let (old, cut) = {
        let copy = Arc::clone(copy);
        tokio::task::spawn_blocking(move || copy.open(cache_capacity)).await??
    };
    let old = Arc::new(old);
    let survey = {
        let (old, dir) = (Arc::clone(&old), copy.work.clone());
        tokio::task::spawn_blocking(move || survey(&old, &dir)).await??
    };
    let head = survey.loss.as_ref().map_or(survey.kept, |l| l.last);
    let new = {
        let into = into.to_owned();
        Arc::new(tokio::task::spawn_blocking(move || Ledger::open(&into, cache_capacity)).await??)
    };
    let items = kept_items(&old, survey.kept).chain(survey.loss.clone().map(|l| Ok(Replayed::Lost(l))));
    let replayed = replay(&new, items, head, &mut progress).await;
    let (groups, tokens, calendars, config_lost) = match &replayed {
        Ok(()) => {
            let (old, store) = (Arc::clone(&old), Arc::clone(new.store()));
            tokio::task::spawn_blocking(move || copy_config(&old, &store)).await??
        }
        Err(_) => Default::default(),
    };
    let digest = new.digest();
    let closing = Arc::clone(&new);
    tokio::task::spawn_blocking(move || closing.close()).await?;
    replayed?;
    drop(new);
    // The same bytes, so the same chain: the copied start of the log has
    // the digest it had in the old store.
    let expected = survey.loss.as_ref().map_or(survey.digest, |l| survey.digest.then(&l.encode()));
    if digest != (head, expected) {
        bail!(
            "the copied log's digest at {} is {}, not the old store's {expected}: the copy is not the same history",
            digest.0,
            digest.1
        );
    }
    // Proved once more as the service will prove it.
    let reopened = {
        let into = into.to_owned();
        tokio::task::spawn_blocking(move || Ledger::open(&into, cache_capacity)).await??
    };
    let (head, digest) = reopened.digest();
    tokio::task::spawn_blocking(move || reopened.close()).await?;
    Ok(Salvaged {
        cut,
        kept: survey.kept,
        damage: survey.damage,
        acknowledged: survey.acknowledged,
        loss: survey.loss,
        readable_not_copied: survey.readable_not_copied,
        head,
        digest,
        groups,
        tokens,
        calendars,
        config_lost,
    })
}

/// What the old store holds: how far it is intact, and what is lost.
struct Survey {
    kept: u64,
    digest: Digest,
    damage: Option<String>,
    acknowledged: u64,
    loss: Option<Loss>,
    readable_not_copied: BTreeMap<String, u64>,
}

fn survey(old: &Store, dir: &Path) -> anyhow::Result<Survey> {
    let (records, journal_damage) = journal::read(dir)?;
    let (kept, damage) = match proof::prove(old, &records, None) {
        Ok(chain) => (chain.head().0, journal_damage),
        Err(damage) => (damage.intact_to(), Some(damage.to_string())),
    };
    let proved: Vec<_> = records.iter().copied().filter(|r| r.position <= kept).collect();
    let chain = proof::prove(old, &proved, Some(kept))
        .map_err(|e| anyhow::anyhow!("the log cannot be proved even up to position {kept}: {e}"))?;
    let (at, digest) = chain.head();
    if at != kept {
        bail!("the log was proved up to {at}, not {kept}");
    }
    let acknowledged = records.last().map_or(0, |r| r.position);
    // Every position the old store ever held, as far as its keys and
    // entries still show, and what of it is readable past the damage.
    let mut seen = old.losses().unwrap_or_default().last().map_or(0, |l| l.last);
    let mut readable_not_copied = BTreeMap::new();
    for item in old.log_chunks() {
        let Ok((first, bytes)) = item else { break };
        for (i, entry) in chunk::entries(&bytes).enumerate() {
            let Ok(entry) = entry else { break };
            let position = first + i as u64;
            seen = seen.max(position);
            if position > kept
                && let Ok(recorded) = Recorded::decode(entry)
            {
                *readable_not_copied.entry(recorded.event.agency.to_string()).or_default() += 1;
            }
        }
    }
    let last = acknowledged.max(seen);
    let loss = (last > kept).then(|| {
        let why = damage.as_deref().unwrap_or("the log ends before the last position acknowledged");
        Loss::new(kept + 1, last, Utc::now(), why)
    });
    Ok(Survey { kept, digest, damage, acknowledged, loss, readable_not_copied })
}

/// The old store's log from 1 to `kept`, as the replay takes it.
fn kept_items(old: &Arc<Store>, kept: u64) -> impl Iterator<Item = anyhow::Result<Replayed>> + use<> {
    let old = Arc::clone(old);
    let mut from = 1u64;
    let mut buffered: std::vec::IntoIter<anyhow::Result<Replayed>> = Vec::new().into_iter();
    std::iter::from_fn(move || {
        loop {
            if let Some(item) = buffered.next() {
                return Some(item);
            }
            if from > kept {
                return None;
            }
            let items: Vec<anyhow::Result<Replayed>> = match old.log_segment(from, kept.min(from + STEP - 1)) {
                Ok(Segment::Lost(loss)) => {
                    from = loss.last + 1;
                    vec![Ok(Replayed::Lost(loss))]
                }
                Ok(Segment::Events { to, events }) => {
                    from = to + 1;
                    events
                        .into_iter()
                        .map(|(p, bytes)| {
                            Recorded::decode(&bytes)
                                .map(Replayed::Event)
                                .map_err(|e| anyhow::anyhow!("position {p} cannot be read again: {e}"))
                        })
                        .collect()
                }
                Err(e) => {
                    let at = from;
                    from = kept + 1;
                    vec![Err(anyhow::anyhow!("the log cannot be read again at {at}: {e}"))]
                }
            };
            buffered = items.into_iter();
        }
    })
}

/// Copies groups, tokens and holiday schedules, each kind as far as it can
/// be read; says what could not be.
fn copy_config(old: &Store, new: &Store) -> anyhow::Result<(usize, usize, usize, Vec<String>)> {
    let mut lost = Vec::new();
    let groups = groups_of(old).unwrap_or_else(|e| {
        lost.push(format!("the groups cannot be read ({e}); set them again with `disclosure-ledger group set`"));
        Vec::new()
    });
    let tokens = old.tokens().unwrap_or_else(|e| {
        lost.push(format!("the tokens cannot be read ({e}); create them again with `disclosure-ledger token create`"));
        Vec::new()
    });
    let calendars = old.calendars().unwrap_or_else(|e| {
        lost.push(format!("the holiday schedules added cannot be read ({e}); add them again"));
        Vec::new()
    });
    put_config(new, &groups, &tokens, &calendars)?;
    Ok((groups.len(), tokens.len(), calendars.len(), lost))
}

/// The copy of the old directory that salvage reads, beside the new one:
/// `source` as copied, and `work`, what sled opens (and may change as it
/// recovers). Both removed when dropped.
struct Copy {
    source: PathBuf,
    work: PathBuf,
}

impl Copy {
    /// Copies `from` while holding sled's lock on it, so that no process
    /// writes it meanwhile.
    fn of(from: &Path, into: &Path) -> anyhow::Result<Self> {
        let lock = File::open(from.join("db"))?;
        match lock.try_lock() {
            Ok(()) => {}
            Err(std::fs::TryLockError::WouldBlock) => bail!(
                "{} is open in another process (the service?): stop it before salvaging the store",
                from.display()
            ),
            Err(std::fs::TryLockError::Error(e)) => return Err(e.into()),
        }
        let name = into.file_name().map_or_else(|| "store".into(), |n| n.to_string_lossy().into_owned());
        let parent = into.parent().filter(|p| !p.as_os_str().is_empty()).unwrap_or(Path::new("."));
        std::fs::create_dir_all(parent)?;
        let copy = Self {
            source: parent.join(format!(".{name}.salvage-source")),
            work: parent.join(format!(".{name}.salvage-work")),
        };
        for dir in [&copy.source, &copy.work] {
            if dir.exists() {
                std::fs::remove_dir_all(dir)?; // left by a salvage that was killed
            }
        }
        copy_tree(from, &copy.source, None)
            .with_context(|| format!("cannot copy {} to {}", from.display(), copy.source.display()))?;
        drop(lock);
        Ok(copy)
    }

    /// Opens the copy with sled. sled 0.34 cannot open some damaged files
    /// at all (it panics recovering them, or its snapshot points at what
    /// is gone); then it is tried without its snapshot, and then cut at a
    /// segment boundary before the damage, as its own recovery cuts its
    /// log: the longest such cut that opens is found by bisection, each
    /// try on a fresh copy. Returns the store and the cut, if one was made.
    fn open(&self, cache_capacity: u64) -> anyhow::Result<(Store, Option<u64>)> {
        // `None`: the file as it is, with sled's snapshot; `Some(cut)`: the
        // file cut there, without the snapshot (which may point past the
        // cut), so sled rebuilds it by scanning the log.
        let attempt = |cut: Option<u64>| -> anyhow::Result<Result<Store, String>> {
            if self.work.exists() {
                std::fs::remove_dir_all(&self.work)?;
            }
            copy_tree(&self.source, &self.work, cut)?;
            if cut.is_some() {
                for entry in std::fs::read_dir(&self.work)? {
                    let path = entry?.path();
                    if path.file_name().is_some_and(|n| n.to_string_lossy().starts_with("snap.")) {
                        std::fs::remove_file(path)?;
                    }
                }
            }
            let hook = std::panic::take_hook();
            std::panic::set_hook(Box::new(|_| {})); // a panic here is sled's, caught and reported
            let mut opened = open_store(&self.work, cache_capacity);
            if let Err(crate::store::error::StoreError::DamagedCommitLog(why)) = &opened {
                // A commit log that does not read holds nothing that can be
                // trusted: salvage goes on from sled alone, and what the log
                // held is among what the record of acknowledgements names lost.
                tracing::warn!(error = %why, "the commit log is damaged; salvaging from sled's file alone");
                std::fs::remove_dir_all(self.work.join(crate::store::wal::DIR))?;
                opened = open_store(&self.work, cache_capacity);
            }
            std::panic::set_hook(hook);
            match opened {
                Ok(store) => Ok(Ok(store)),
                Err(crate::store::error::StoreError::Damaged(why)) => Ok(Err(why)),
                Err(e) => Err(e.into()),
            }
        };
        let why = match attempt(None)? {
            Ok(store) => return Ok((store, None)),
            Err(why) => why,
        };
        let segment = segment_size(&self.source);
        let len = std::fs::metadata(self.source.join("db"))?.len();
        if let Ok(store) = attempt(Some(len))? {
            return Ok((store, None)); // only the snapshot was damaged
        }
        // Cut at `lo` segments opens (none at all does), at `hi` it did not.
        let (mut lo, mut hi) = (0u64, len.div_ceil(segment));
        while hi - lo > 1 {
            let mid = lo + (hi - lo) / 2;
            match attempt(Some(mid * segment))? {
                Ok(_) => lo = mid,
                Err(_) => hi = mid,
            }
        }
        match attempt(Some(lo * segment))? {
            Ok(store) if lo > 0 => Ok((store, Some(lo * segment))),
            _ => bail!(
                "the old store cannot be opened at all ({why}), nor any part of its file: nothing can be salvaged \
                 from it; restore the latest backup (`disclosure-ledger restore BACKUP --data-dir NEW`)"
            ),
        }
    }
}

impl Drop for Copy {
    fn drop(&mut self) {
        for dir in [&self.source, &self.work] {
            if dir.exists()
                && let Err(e) = std::fs::remove_dir_all(dir)
            {
                tracing::warn!(dir = %dir.display(), error = %e, "cannot remove the copy salvage read");
            }
        }
    }
}

/// sled's segment size, from its `conf` file (512 KiB by default).
fn segment_size(dir: &Path) -> u64 {
    std::fs::read(dir.join("conf"))
        .ok()
        .and_then(|conf| {
            String::from_utf8_lossy(&conf)
                .lines()
                .find_map(|l| l.strip_prefix("segment_size: ").and_then(|n| n.trim().parse().ok()))
        })
        .filter(|n: &u64| n.is_power_of_two())
        .unwrap_or(512 * 1024)
}

/// Copies a directory; sled's `db` file only up to `cut` bytes, if given.
fn copy_tree(from: &Path, to: &Path, cut: Option<u64>) -> std::io::Result<()> {
    use std::io::Read as _;
    std::fs::create_dir_all(to)?;
    for entry in std::fs::read_dir(from)? {
        let entry = entry?;
        let target = to.join(entry.file_name());
        if entry.file_type()?.is_dir() {
            copy_tree(&entry.path(), &target, None)?;
        } else if let (Some(cut), true) = (cut, entry.file_name() == "db") {
            let mut source = File::open(entry.path())?.take(cut);
            std::io::copy(&mut source, &mut File::create(&target)?)?;
        } else {
            std::fs::copy(entry.path(), &target)?;
        }
    }
    Ok(())
}

/// Whether `dir` is `store` or lies inside it.
fn inside(dir: &Path, store: &Path) -> bool {
    match (std::path::absolute(dir), store.canonicalize()) {
        (Ok(dir), Ok(store)) => dir.starts_with(&store) || dir.canonicalize().is_ok_and(|d| d.starts_with(&store)),
        _ => false,
    }
}
