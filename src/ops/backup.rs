//! Online backup and restore.
//!
//! A backup is the log itself, not a copy of sled's files: the log is the
//! record and everything else (subjects, tallies, the id index) is derived
//! from it. Positions at or below the durable head never change, so events
//! 1..=head read while appends go on form a consistent snapshot without
//! holding the writer. Groups and tokens (configuration, small) are read at
//! the same moment as the head.
//!
//! The file is a sequence of length-delimited `BackupResponse` messages: a
//! header, then every event in position order. Restore replays the events
//! through the writer into an empty directory, with their original
//! positions and recording times, so every rule is checked again and every
//! table is rebuilt by the same code that built it the first time.

use std::io::{BufRead, Write};
use std::path::Path;
use std::sync::Arc;

use anyhow::{Context as _, bail};
use chrono::{DateTime, Utc};
use prost::Message as _;
use tokio::sync::mpsc;
use tonic::Status;

use crate::access::token::Token;
use crate::domain::event::{Event, Recorded};
use crate::domain::ids::AgencyId;
use crate::domain::rejection::{Rejection, internal};
use crate::store::chain::{Digest, GENESIS};
use crate::store::database::{Segment, Store};
use crate::store::error::StoreError;
use crate::store::ledger::Ledger;
use crate::store::ledger::blocking;
use crate::store::loss::Loss;
use crate::store::writer::AppendBatch;
use crate::wire::proto;

/// The format this build writes and reads.
pub const FORMAT_VERSION: u32 = 1;
/// Events read from the store per step, and appended per batch on restore.
const STEP: u64 = 1000;
/// Restore batches in flight at once, so that the writer commits several
/// per fsync.
const IN_FLIGHT: usize = 8;

/// The header of a backup taken now: the durable head, groups and tokens.
fn header(ledger: &Ledger) -> Result<proto::BackupHeader, Rejection> {
    let store = ledger.store();
    let _consistent = store.consistent();
    let head = ledger.head();
    let groups = groups_of(store).map_err(internal)?;
    let tokens = store.tokens().map_err(internal)?;
    let calendars = store.calendars().map_err(internal)?;
    let now = Utc::now();
    Ok(proto::BackupHeader {
        format_version: FORMAT_VERSION,
        head_position: head,
        create_time: Some(pbjson_types::Timestamp { seconds: now.timestamp(), nanos: 0 }),
        groups,
        tokens,
        calendars,
    })
}

/// The store's groups, as a backup holds them.
pub fn groups_of(store: &Store) -> Result<Vec<proto::Group>, StoreError> {
    Ok(store
        .groups()?
        .into_iter()
        .map(|(group_id, members)| proto::Group {
            group_id,
            agency_ids: members.agencies.iter().map(ToString::to_string).collect(),
            member_group_ids: members.groups,
        })
        .collect())
}

/// Streams a backup as of the current durable head; returns that head.
pub async fn stream(
    ledger: Arc<Ledger>,
    tx: mpsc::Sender<Result<proto::BackupResponse, Status>>,
) -> Result<u64, Rejection> {
    use proto::backup_response::Item;
    let l = Arc::clone(&ledger);
    let header = blocking(move || header(&l)).await?;
    let head = header.head_position;
    if tx.send(Ok(proto::BackupResponse { item: Some(Item::Header(header)) })).await.is_err() {
        return Ok(head);
    }
    let mut from = 1;
    while from <= head {
        let to = head.min(from + STEP - 1);
        let store = Arc::clone(ledger.store());
        let (to, events) = match blocking(move || store.log_segment(from, to).map_err(internal)).await? {
            Segment::Events { to, events } => (to, events),
            Segment::Lost(loss) => {
                if tx.send(Ok(proto::BackupResponse { item: Some(Item::Lost(loss.to_proto())) })).await.is_err() {
                    return Ok(head);
                }
                from = loss.last + 1;
                continue;
            }
        };
        for (_, bytes) in events {
            let recorded = proto::RecordedEvent::decode(&bytes[..]).map_err(internal)?;
            if tx.send(Ok(proto::BackupResponse { item: Some(Item::Event(recorded)) })).await.is_err() {
                return Ok(head); // the client left
            }
        }
        from = to + 1;
    }
    Ok(head)
}

/// Writes one item of a backup file.
pub fn write_item(out: &mut impl Write, item: &proto::BackupResponse) -> std::io::Result<()> {
    out.write_all(&item.encode_length_delimited_to_vec())
}

/// Reads the next item of a backup file (None at its end).
fn read_item(input: &mut impl BufRead) -> anyhow::Result<Option<proto::BackupResponse>> {
    if input.fill_buf()?.is_empty() {
        return Ok(None);
    }
    let len = read_varint(input)?;
    if len > 64 << 20 {
        bail!("an item of {len} bytes: this is not a backup file, or it is damaged");
    }
    let mut buf = vec![0; len as usize];
    input.read_exact(&mut buf).context("the backup file ends in the middle of an item")?;
    Ok(Some(proto::BackupResponse::decode(&buf[..]).context("an undecodable item in the backup file")?))
}

fn read_varint(input: &mut impl BufRead) -> anyhow::Result<u64> {
    let mut value = 0u64;
    for shift in (0..64).step_by(7) {
        let mut byte = [0u8];
        input.read_exact(&mut byte).context("the backup file ends in the middle of an item")?;
        value |= u64::from(byte[0] & 0x7f) << shift;
        if byte[0] & 0x80 == 0 {
            return Ok(value);
        }
    }
    bail!("a malformed length in the backup file")
}

/// The log's digest at `position` (default: the backup's head) over the
/// backup's events, as the service chains them: the same bytes as stored.
pub fn digest_of(file: &Path, position: Option<u64>) -> anyhow::Result<(u64, Digest)> {
    use proto::backup_response::Item;
    let f = std::fs::File::open(file).with_context(|| format!("cannot open {}", file.display()))?;
    let mut input = std::io::BufReader::with_capacity(1 << 20, f);
    let Some(proto::BackupResponse { item: Some(Item::Header(header)) }) = read_item(&mut input)? else {
        bail!("{} does not start with a backup header", file.display());
    };
    let at = position.unwrap_or(header.head_position);
    if at > header.head_position {
        bail!("the backup holds positions 1 to {}, not {at}", header.head_position);
    }
    let mut digest = GENESIS;
    let mut expected = 1u64;
    while expected <= at {
        let Some(item) = read_item(&mut input)? else {
            bail!("the backup ends at position {}, before its head {}", expected - 1, header.head_position);
        };
        // The bytes chained are the stored ones: the event as the service
        // sent it, or the lost range's record.
        let (first, stored, last) = match item.item {
            Some(Item::Event(wire)) => (wire.position, wire.encode_to_vec(), wire.position),
            Some(Item::Lost(lost)) => {
                let loss = Loss::from_proto(&lost).map_err(anyhow::Error::msg)?;
                (loss.first, loss.encode(), loss.last)
            }
            _ => bail!("a second header at position {expected}"),
        };
        if first != expected {
            bail!("the backup skips from position {} to {first}", expected - 1);
        }
        if last > at {
            bail!("positions {first} to {last} were lost before this backup: the log has no digest at {at}");
        }
        digest = digest.then(&stored);
        expected = last + 1;
    }
    Ok((at, digest))
}

/// What a restore did.
#[derive(Debug)]
pub struct Restored {
    pub head: u64,
    pub groups: usize,
    pub tokens: usize,
}

/// Creates (or truncates) a file only its owner can read: backups and
/// exports hold every event, and backups the token hashes.
pub fn private_file(path: &Path) -> std::io::Result<std::fs::File> {
    let mut options = std::fs::OpenOptions::new();
    options.write(true).create(true).truncate(true);
    #[cfg(unix)]
    std::os::unix::fs::OpenOptionsExt::mode(&mut options, 0o600);
    let file = options.open(path)?;
    // A file that existed keeps its mode through `open`: narrow it too.
    #[cfg(unix)]
    file.set_permissions(std::os::unix::fs::PermissionsExt::from_mode(0o600))?;
    Ok(file)
}

/// Restores a backup file into `dir`, which must be empty or absent.
/// `progress` is called with each restored head position. A restore that
/// fails removes what it created, and only that: nothing is ever written
/// into a directory that held anything.
pub async fn restore(
    file: &Path,
    dir: &Path,
    cache_capacity: u64,
    progress: impl FnMut(u64, u64),
) -> anyhow::Result<Restored> {
    into_new_dir(dir, "restore", restore_into(file, dir, cache_capacity, progress)).await
}

/// Runs `work`, which writes a new store into `dir`, if `dir` is empty or
/// absent; if it fails, removes what it created, and only that.
pub async fn into_new_dir<T>(
    dir: &Path,
    what: &str,
    work: impl Future<Output = anyhow::Result<T>>,
) -> anyhow::Result<T> {
    if dir.exists() && std::fs::read_dir(dir)?.next().is_some() {
        bail!(
            "{} is not empty, so nothing was written to it: {what} into a new or empty directory, then point the \
             service at it",
            dir.display()
        );
    }
    let created = !dir.exists();
    let result = work.await;
    if result.is_err() {
        // Everything in it is the work's: the directory was new or empty.
        let cleaned = if created {
            std::fs::remove_dir_all(dir)
        } else {
            std::fs::read_dir(dir).and_then(|entries| {
                entries.map(|e| e.map(|e| e.path())).try_for_each(|p| {
                    let p = p?;
                    if p.is_dir() { std::fs::remove_dir_all(p) } else { std::fs::remove_file(p) }
                })
            })
        };
        if let Err(e) = cleaned {
            tracing::error!(dir = %dir.display(), error = %e, "cannot remove what the failed {what} wrote");
        }
    }
    result
}

/// Stores the groups, tokens and holiday schedules of a backup or of a
/// salvaged store in a new one, each checked as the service will read it.
pub fn put_config(
    store: &Store,
    groups: &[proto::Group],
    tokens: &[proto::StoredToken],
    calendars: &[String],
) -> anyhow::Result<()> {
    for g in groups {
        let agencies = g.agency_ids.iter().map(|a| AgencyId::stored(a)).collect::<Result<Vec<_>, _>>();
        let members = crate::store::database::GroupMembers {
            agencies: agencies.map_err(anyhow::Error::msg)?,
            groups: g.member_group_ids.clone(),
        };
        store.put_group(&g.group_id, &members)?;
    }
    for t in tokens {
        let token = Token::from_stored(t).map_err(anyhow::Error::msg)?;
        store.put_token(&token.id, t)?;
    }
    for c in calendars {
        store.add_calendar(c)?;
    }
    Ok(())
}

async fn restore_into(
    file: &Path,
    dir: &Path,
    cache_capacity: u64,
    mut progress: impl FnMut(u64, u64),
) -> anyhow::Result<Restored> {
    use proto::backup_response::Item;
    let f = std::fs::File::open(file).with_context(|| format!("cannot open {}", file.display()))?;
    let mut input = std::io::BufReader::with_capacity(1 << 20, f);
    let Some(proto::BackupResponse { item: Some(Item::Header(header)) }) = read_item(&mut input)? else {
        bail!("{} does not start with a backup header", file.display());
    };
    if header.format_version != FORMAT_VERSION {
        bail!("backup format {} is not known to this build (it reads {FORMAT_VERSION})", header.format_version);
    }
    let head = header.head_position;
    let opened = {
        let dir = dir.to_owned();
        tokio::task::spawn_blocking(move || Ledger::open(&dir, cache_capacity)).await??
    };
    let ledger = Arc::new(opened);
    let result = replay(&ledger, file_items(&mut input), head, &mut progress).await;
    if result.is_ok() {
        let store = Arc::clone(ledger.store());
        let (groups, tokens, calendars) = (header.groups.clone(), header.tokens.clone(), header.calendars.clone());
        tokio::task::spawn_blocking(move || put_config(&store, &groups, &tokens, &calendars)).await??;
    }
    let l = Arc::clone(&ledger);
    tokio::task::spawn_blocking(move || l.close()).await?;
    result?;
    Ok(Restored { head, groups: header.groups.len(), tokens: header.tokens.len() })
}

/// One item of a log being replayed into a new store.
pub enum Replayed {
    Event(Recorded),
    Lost(Loss),
}

/// The items of a backup file after its header.
fn file_items(input: &mut impl BufRead) -> impl Iterator<Item = anyhow::Result<Replayed>> + '_ {
    use proto::backup_response::Item;
    std::iter::from_fn(move || read_item(input).transpose()).map(|item| match item?.item {
        Some(Item::Event(wire)) => Recorded::decode(&wire.encode_to_vec())
            .map(Replayed::Event)
            .map_err(|e| anyhow::anyhow!("position {}: {e}", wire.position)),
        Some(Item::Lost(lost)) => Loss::from_proto(&lost).map(Replayed::Lost).map_err(anyhow::Error::msg),
        Some(Item::Header(_)) | None => bail!("a second header, or an empty item, after the first"),
    })
}

/// Appends `items` in order through the writer, with their original
/// positions and recording times, several batches in flight; lost ranges
/// are recorded where they stand. Ends with the log at `head`.
pub async fn replay(
    ledger: &Arc<Ledger>,
    items: impl Iterator<Item = anyhow::Result<Replayed>>,
    head: u64,
    progress: &mut impl FnMut(u64, u64),
) -> anyhow::Result<()> {
    let mut items = items;
    let mut pending = std::collections::VecDeque::new();
    let mut expected = 1u64;
    let mut done = 0u64;
    loop {
        let mut events: Vec<Event> = Vec::new();
        let mut times: Vec<DateTime<Utc>> = Vec::new();
        let mut loss = None;
        while (events.len() as u64) < STEP {
            match items.next().transpose()? {
                None => break,
                Some(Replayed::Event(recorded)) => {
                    if recorded.position != expected {
                        bail!("the log skips from position {} to {}", expected - 1, recorded.position);
                    }
                    expected += 1;
                    events.push(recorded.event);
                    times.push(recorded.recorded_at);
                }
                Some(Replayed::Lost(l)) => {
                    if l.first != expected {
                        bail!("a lost range from {} where position {expected} was due", l.first);
                    }
                    expected = l.last + 1;
                    loss = Some(l);
                    break;
                }
            }
        }
        let last = events.is_empty() && loss.is_none();
        if !events.is_empty() {
            let first = expected - events.len() as u64 - loss.as_ref().map_or(0, Loss::positions);
            let batch = AppendBatch { recorded_at: times, ..AppendBatch::new(events, Vec::new()) };
            let answer = ledger.submit(batch).await.map_err(|r| anyhow::anyhow!("{r}"))?;
            pending.push_back((first, answer));
        }
        while pending.len() >= IN_FLIGHT || ((last || loss.is_some()) && !pending.is_empty()) {
            let (first, answer) = pending.pop_front().expect("not empty");
            let results =
                answer.await.map_err(|r| anyhow::anyhow!("the event at position {first} was refused: {r}"))?;
            if let Some((i, r)) = results.iter().enumerate().find(|(i, r)| r.position != first + *i as u64) {
                bail!("the event at position {} was restored at {}", first + i as u64, r.position);
            }
            done = first + results.len() as u64 - 1;
            progress(done, head);
        }
        if let Some(loss) = loss {
            let last = loss.last;
            let batch = AppendBatch { loss: Some(loss), ..AppendBatch::new(Vec::new(), Vec::new()) };
            ledger.append(batch).await.map_err(|r| anyhow::anyhow!("the lost range to {last}: {r}"))?;
            done = last;
            progress(done, head);
        }
        if last {
            break;
        }
    }
    if done != head {
        bail!("the log holds positions up to {done}, but should reach {head}: it is truncated");
    }
    Ok(())
}
