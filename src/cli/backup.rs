//! `backup` from a running server, `restore` into a new directory, and
//! `salvage` of a damaged store into a new one.

use std::path::Path;

use anyhow::{Context as _, bail};

use crate::cli::args::ServerArg;
use crate::cli::remote::{Remote, status};
use crate::wire::proto::{self};

/// Streams an online backup into a file: written beside it, synced, then
/// renamed, so a file under the final name is always a whole backup.
pub async fn backup(server: &ServerArg, output: &Path) -> anyhow::Result<()> {
    use std::io::Write as _;
    let mut stream =
        Remote::connect(server).await?.admin().backup(proto::BackupRequest {}).await.map_err(status)?.into_inner();
    let partial = output.with_extension("partial");
    let file =
        crate::ops::backup::private_file(&partial).with_context(|| format!("cannot create {}", partial.display()))?;
    let mut out = std::io::BufWriter::with_capacity(1 << 20, file);
    let mut head = None;
    let mut positions = 0u64;
    let bar = indicatif::ProgressBar::hidden();
    while let Some(item) = stream.message().await.map_err(status)? {
        match &item.item {
            Some(proto::backup_response::Item::Header(h)) => {
                head = Some(h.head_position);
                bar.set_length(h.head_position);
                bar.set_style(progress_style());
                bar.set_draw_target(indicatif::ProgressDrawTarget::stderr());
            }
            Some(proto::backup_response::Item::Event(_)) => {
                positions += 1;
                if positions.is_multiple_of(1024) {
                    bar.set_position(positions);
                }
            }
            // Positions lost to a damaged store before it was salvaged.
            Some(proto::backup_response::Item::Lost(lost)) => {
                positions += lost.last_position.saturating_sub(lost.first_position) + 1;
            }
            None => {}
        }
        crate::ops::backup::write_item(&mut out, &item)?;
    }
    bar.finish_and_clear();
    let head = head.context("the server sent no backup header")?;
    if positions != head {
        bail!("the backup stream ended after {positions} of {head} positions; {} is incomplete", partial.display());
    }
    let file = out.into_inner().map_err(|e| e.into_error())?;
    file.sync_all()?;
    drop(file);
    std::fs::rename(&partial, output)?;
    let _ = std::io::stdout().flush();
    println!("backup of log positions 1-{head} written to {}", output.display());
    Ok(())
}

fn progress_style() -> indicatif::ProgressStyle {
    indicatif::ProgressStyle::with_template("{bar:40} {pos}/{len} events {per_sec} eta {eta}")
        .expect("a valid template")
}

/// Restores a backup file into an empty data directory.
pub async fn restore(file: &Path, data_dir: &Path) -> anyhow::Result<()> {
    let bar = indicatif::ProgressBar::new(0).with_style(progress_style());
    let restored =
        crate::ops::backup::restore(file, data_dir, crate::api::config::Config::DEFAULT_CACHE_MIB << 20, |done, of| {
            bar.set_length(of);
            bar.set_position(done);
        })
        .await
        .with_context(|| format!("restore into {} failed", data_dir.display()))?;
    bar.finish_and_clear();
    println!(
        "restored log positions 1-{}, {} groups and {} tokens into {}",
        restored.head,
        restored.groups,
        restored.tokens,
        data_dir.display()
    );
    Ok(())
}

/// Recomputes a backup's log digest and compares it with a published one.
pub fn check(file: &Path, digest: Option<&str>, position: Option<u64>) -> anyhow::Result<()> {
    let wanted = digest.map(crate::store::chain::Digest::from_hex).transpose().map_err(anyhow::Error::msg)?;
    let (at, found) = crate::ops::backup::digest_of(file, position)?;
    match wanted {
        None => println!("the log's digest at position {at} is {found}"),
        Some(w) if w == found => {
            println!("{} holds the published history: the log's digest at position {at} is {found}", file.display())
        }
        Some(w) => bail!(
            "{} does not hold the published history: its digest at position {at} is {found}, not {w}",
            file.display()
        ),
    }
    Ok(())
}

/// Salvages a damaged store into a new directory and says what was lost.
pub async fn salvage(data_dir: &Path, into: &Path) -> anyhow::Result<()> {
    let bar = indicatif::ProgressBar::new(0).with_style(progress_style());
    let cache = crate::api::config::Config::DEFAULT_CACHE_MIB << 20;
    let s = crate::ops::salvage::salvage(data_dir, into, cache, |done, of| {
        bar.set_length(of);
        bar.set_position(done);
    })
    .await
    .with_context(|| format!("salvage of {} failed", data_dir.display()))?;
    bar.finish_and_clear();
    match &s.damage {
        Some(why) => println!("the store in {} is damaged: {why}", data_dir.display()),
        None => println!("the log in {} is whole", data_dir.display()),
    }
    if let Some(cut) = s.cut {
        println!(
            "sled cannot open the file as it is; it opens cut short at byte {cut} (a segment boundary), so nothing \
             after that byte was read"
        );
    }
    if s.kept == 0 {
        println!("copied no log position into {}: none could be proved intact", into.display());
    } else {
        println!("copied log positions 1-{} into {}", s.kept, into.display());
    }
    match &s.loss {
        Some(loss) => {
            println!(
                "LOST: log positions {}-{} ({} positions; the old store had acknowledged up to {})",
                loss.first,
                loss.last,
                loss.positions(),
                s.acknowledged
            );
            let readable: u64 = s.readable_not_copied.values().sum();
            if readable > 0 {
                let by_agency: Vec<String> = s.readable_not_copied.iter().map(|(a, n)| format!("{a}: {n}")).collect();
                println!(
                    "  {readable} of them can still be read in {} but were not copied, since they follow the damage \
                     ({})",
                    data_dir.display(),
                    by_agency.join(", ")
                );
            }
            println!(
                "  the new store records them as lost: the next event appended gets position {}, no position is \
                 reused",
                loss.last + 1
            );
            println!(
                "  send the events acknowledged at those positions again from the case systems (they are recorded \
                 at new positions), or restore the latest backup instead"
            );
        }
        None => println!("nothing was lost"),
    }
    println!("copied {} groups, {} tokens and {} holiday schedules", s.groups, s.tokens, s.calendars);
    for lost in &s.config_lost {
        println!("NOT COPIED: {lost}");
    }
    println!("the new log is proved whole: its digest at position {} is {}", s.head, s.digest);
    println!("{} is unchanged; keep it for inspection", data_dir.display());
    Ok(())
}
