//! Events in and out as JSON Lines: `append` a file, `show` an
//! application with its history, `export` an agency's log.

use std::io::BufRead;
use std::path::Path;

use anyhow::{Context as _, bail};

use crate::cli::args::ServerArg;
use crate::cli::remote::{Remote, status};
use crate::wire::proto::{self};

/// Reads events, one proto3-JSON `Event` per line (blank lines and lines
/// starting with `#` are skipped), with their line numbers.
pub fn read_events(reader: impl BufRead) -> anyhow::Result<Vec<(usize, proto::Event)>> {
    let mut events = Vec::new();
    for (i, line) in reader.lines().enumerate() {
        let line = line?;
        let trimmed = line.trim();
        if trimmed.is_empty() || trimmed.starts_with('#') {
            continue;
        }
        let event: proto::Event =
            serde_json::from_str(trimmed).with_context(|| format!("line {}: not a disclosure.v1.Event", i + 1))?;
        events.push((i + 1, event));
    }
    Ok(events)
}

/// Appends the file's events in batches; stops at the first refused batch
/// (earlier batches stay appended; re-running the file is safe, since
/// event ids make retries idempotent).
pub async fn append(server: &ServerArg, file: &Path, batch: usize) -> anyhow::Result<()> {
    let events = if file == Path::new("-") {
        read_events(std::io::stdin().lock())?
    } else {
        let f = std::fs::File::open(file).with_context(|| format!("cannot open {}", file.display()))?;
        read_events(std::io::BufReader::new(f))?
    };
    let mut client = Remote::connect(server).await?.ledger();
    let (mut new, mut duplicate) = (0usize, 0usize);
    for chunk in events.chunks(batch) {
        let request = proto::AppendEventsRequest {
            events: chunk.iter().map(|(_, e)| e.clone()).collect(),
            expected_revisions: Vec::new(),
            validate_only: false,
        };
        let first_line = chunk[0].0;
        let last_line = chunk[chunk.len() - 1].0;
        match client.append_events(request).await {
            Ok(response) => {
                for r in response.into_inner().results {
                    if r.duplicate { duplicate += 1 } else { new += 1 }
                }
            }
            Err(status) => {
                let message = relabel(status.message(), chunk.iter().map(|(line, _)| *line));
                bail!(
                    "lines {first_line}-{last_line} refused ({:?}): {message}\n{new} events appended before this batch, {duplicate} already recorded",
                    status.code()
                );
            }
        }
    }
    println!("{new} events appended, {duplicate} already recorded");
    Ok(())
}

/// Rewrites `events[i]` in a message as the line it came from.
fn relabel(message: &str, lines: impl Iterator<Item = usize>) -> String {
    let mut out = message.to_owned();
    let lines: Vec<usize> = lines.collect();
    for (i, line) in lines.iter().enumerate().rev() {
        out = out.replace(&format!("events[{i}]"), &format!("line {line}"));
    }
    out
}

/// Prints an application's state and history.
pub async fn show(
    server: &ServerArg,
    agency: &str,
    application: &str,
    as_of: Option<crate::domain::date::CivilDate>,
    json: bool,
) -> anyhow::Result<()> {
    let mut client = Remote::connect(server).await?.ledger();
    let response = client
        .get_application(proto::GetApplicationRequest {
            agency_id: agency.to_owned(),
            application_id: application.to_owned(),
            as_of: as_of.map(crate::domain::date::CivilDate::to_proto),
        })
        .await
        .map_err(|s| anyhow::anyhow!("{:?}: {}", s.code(), s.message()))?
        .into_inner();
    if json {
        println!("{}", serde_json::to_string_pretty(&response)?);
        return Ok(());
    }
    let app = response.application.unwrap_or_default();
    let date = |d: &Option<proto::google::r#type::Date>| {
        d.as_ref().map_or("-".to_owned(), |d| format!("{:04}-{:02}-{:02}", d.year, d.month, d.day))
    };
    println!("application {} of {}", app.application_id, app.agency_id);
    println!("  status      {}", app.status().as_str_name());
    println!("  applicant   {}", app.applicant_category().as_str_name());
    println!("  channel     {}", app.channel().as_str_name());
    println!("  received    {}", date(&app.received_on));
    println!("  concluded   {}", date(&app.concluded_on));
    if app.outcome != 0 {
        println!("  outcome     {}{}", app.outcome().as_str_name(), if app.withdrawn { " (withdrawn)" } else { "" });
    }
    if !app.split_into.is_empty() {
        println!("  split into  {}", app.split_into.join(", "));
    }
    if !app.split_from.is_empty() {
        println!("  split from  {}", app.split_from);
    }
    if let Some(d) = &response.deadline {
        if d.calendar_error.is_empty() {
            println!(
                "  deadline    {} ({}; clock from {}, {} paused, {} extension working days)",
                date(&d.due),
                d.standing().as_str_name().trim_start_matches("DEADLINE_STANDING_"),
                date(&d.clock_starts),
                d.paused_working_days,
                d.extension_working_days
            );
        } else {
            println!("  deadline    unknown: {}", d.calendar_error);
        }
    }
    println!("history ({} events):", response.history.len());
    for r in &response.history {
        let e = r.event.clone().unwrap_or_default();
        let kind = crate::wire::event::kind(&e);
        println!("  #{:<8} rev {:<3} {} {} {}", r.position, r.stream_revision, date(&e.occurred_on), kind, e.event_id);
    }
    Ok(())
}

/// Writes the log (or one agency's part) as JSON Lines of events.
pub async fn export(server: &ServerArg, agency: Option<&str>, output: Option<&Path>) -> anyhow::Result<()> {
    use std::io::Write as _;
    let mut stream = Remote::connect(server)
        .await?
        .ledger()
        .read_log(proto::ReadLogRequest {
            from_position: 1,
            agency_id: agency.unwrap_or_default().to_owned(),
            follow: false,
        })
        .await
        .map_err(status)?
        .into_inner();
    let mut out: Box<dyn std::io::Write> = match output {
        Some(p) => Box::new(std::io::BufWriter::new(
            crate::ops::backup::private_file(p).with_context(|| format!("cannot create {}", p.display()))?,
        )),
        None => Box::new(std::io::BufWriter::new(std::io::stdout().lock())),
    };
    let mut n = 0u64;
    while let Some(r) = stream.message().await.map_err(status)? {
        if let Some(event) = r.event.and_then(|e| e.event) {
            serde_json::to_writer(&mut out, &event)?;
            out.write_all(b"\n")?;
            n += 1;
        }
    }
    out.flush()?;
    say!("{n} events exported");
    Ok(())
}
