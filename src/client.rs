//! The client side of the command line: append a JSON Lines file of events,
//! and show an application.

use std::io::BufRead;
use std::path::Path;

use anyhow::{Context as _, bail};
use tonic::transport::Channel;

use crate::proto::{self, ledger_service_client::LedgerServiceClient};

/// Connects to a running server.
pub async fn connect(server: &str) -> anyhow::Result<LedgerServiceClient<Channel>> {
    LedgerServiceClient::connect(server.to_owned())
        .await
        .with_context(|| {
            format!("cannot reach the server at {server} (is `disclosure-ledger serve` running?)")
        })
}

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
        let event: proto::Event = serde_json::from_str(trimmed)
            .with_context(|| format!("line {}: not a disclosure.v1.Event", i + 1))?;
        events.push((i + 1, event));
    }
    Ok(events)
}

/// Appends the file's events in batches; stops at the first refused batch
/// (earlier batches stay appended; re-running the file is safe, since
/// event ids make retries idempotent).
pub async fn append(server: &str, file: &Path, batch: usize) -> anyhow::Result<()> {
    let events = if file == Path::new("-") {
        read_events(std::io::stdin().lock())?
    } else {
        let f =
            std::fs::File::open(file).with_context(|| format!("cannot open {}", file.display()))?;
        read_events(std::io::BufReader::new(f))?
    };
    let mut client = connect(server).await?;
    let (mut new, mut duplicate) = (0usize, 0usize);
    for chunk in events.chunks(batch) {
        let request = proto::AppendEventsRequest {
            events: chunk.iter().map(|(_, e)| e.clone()).collect(),
            expected_revisions: Vec::new(),
        };
        let first_line = chunk[0].0;
        let last_line = chunk[chunk.len() - 1].0;
        match client.append_events(request).await {
            Ok(response) => {
                for r in response.into_inner().results {
                    if r.duplicate {
                        duplicate += 1
                    } else {
                        new += 1
                    }
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
pub async fn show(server: &str, agency: &str, application: &str, json: bool) -> anyhow::Result<()> {
    let mut client = connect(server).await?;
    let response = client
        .get_application(proto::GetApplicationRequest {
            agency_id: agency.to_owned(),
            application_id: application.to_owned(),
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
        d.as_ref().map_or("-".to_owned(), |d| {
            format!("{:04}-{:02}-{:02}", d.year, d.month, d.day)
        })
    };
    println!("application {} of {}", app.application_id, app.agency_id);
    println!("  status      {}", app.status().as_str_name());
    println!("  applicant   {}", app.applicant_category().as_str_name());
    println!("  channel     {}", app.channel().as_str_name());
    println!("  received    {}", date(&app.received_on));
    println!("  concluded   {}", date(&app.concluded_on));
    if app.outcome != 0 {
        println!(
            "  outcome     {}{}",
            app.outcome().as_str_name(),
            if app.withdrawn { " (withdrawn)" } else { "" }
        );
    }
    if !app.split_into.is_empty() {
        println!("  split into  {}", app.split_into.join(", "));
    }
    if !app.split_from.is_empty() {
        println!("  split from  {}", app.split_from);
    }
    println!("history ({} events):", response.history.len());
    for r in &response.history {
        let e = r.event.clone().unwrap_or_default();
        let payload = serde_json::to_value(&e)?;
        let kind = payload
            .as_object()
            .and_then(|o| {
                o.keys()
                    .find(|k| {
                        !matches!(
                            k.as_str(),
                            "eventId"
                                | "agencyId"
                                | "subjectId"
                                | "occurredOn"
                                | "actor"
                                | "correlationId"
                        )
                    })
                    .cloned()
            })
            .unwrap_or_default();
        println!(
            "  #{:<8} rev {:<3} {} {} {}",
            r.position,
            r.stream_revision,
            date(&e.occurred_on),
            kind,
            e.event_id
        );
    }
    Ok(())
}
