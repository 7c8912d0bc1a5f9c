//! The client side of the command line: append a JSON Lines file of events,
//! and show an application.

use std::io::BufRead;
use std::path::Path;

use anyhow::{Context as _, bail};
use tonic::transport::Channel;

use crate::cli::{ReviewDatingArg, TableArgs};
use crate::proto::{self, ledger_service_client::LedgerServiceClient, report_service_client::ReportServiceClient};
use crate::render::{self, Format};

/// Connects to a running server.
pub async fn connect(server: &str) -> anyhow::Result<LedgerServiceClient<Channel>> {
    LedgerServiceClient::connect(server.to_owned())
        .await
        .with_context(|| format!("cannot reach the server at {server} (is `disclosure-ledger serve` running?)"))
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
        let event: proto::Event =
            serde_json::from_str(trimmed).with_context(|| format!("line {}: not a disclosure.v1.Event", i + 1))?;
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
        let f = std::fs::File::open(file).with_context(|| format!("cannot open {}", file.display()))?;
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
        let payload = serde_json::to_value(&e)?;
        let kind = payload
            .as_object()
            .and_then(|o| {
                o.keys()
                    .find(|k| {
                        !matches!(
                            k.as_str(),
                            "eventId" | "agencyId" | "subjectId" | "occurredOn" | "actor" | "correlationId"
                        )
                    })
                    .cloned()
            })
            .unwrap_or_default();
        println!("  #{:<8} rev {:<3} {} {} {}", r.position, r.stream_revision, date(&e.occurred_on), kind, e.event_id);
    }
    Ok(())
}

async fn reports(server: &str) -> anyhow::Result<ReportServiceClient<Channel>> {
    ReportServiceClient::connect(server.to_owned())
        .await
        .with_context(|| format!("cannot reach the server at {server} (is `disclosure-ledger serve` running?)"))
}

fn status(s: tonic::Status) -> anyhow::Error {
    anyhow::anyhow!("{:?}: {}", s.code(), s.message())
}

fn scope(t: &TableArgs) -> proto::ReportScope {
    use proto::report_scope::Scope;
    let scope = match (&t.group, t.agencies.as_slice()) {
        (Some(g), _) => Scope::GroupId(g.clone()),
        (None, [one]) => Scope::AgencyId(one.clone()),
        (None, many) => Scope::Agencies(proto::AgencyList { agency_ids: many.to_vec() }),
    };
    proto::ReportScope { scope: Some(scope) }
}

fn template(t: &TableArgs) -> i32 {
    match t.template.as_deref() {
        Some("2019") => proto::Template::Template2019 as i32,
        Some("2021") => proto::Template::Template2021 as i32,
        _ => proto::Template::Unspecified as i32,
    }
}

fn dating(t: &TableArgs) -> i32 {
    match t.review_dating {
        ReviewDatingArg::Filed => proto::ReviewDating::FiledInYear as i32,
        ReviewDatingArg::Decided => proto::ReviewDating::DecidedInYear as i32,
    }
}

/// Prints (or writes) a year's tables.
pub async fn report(
    server: &str,
    t: &TableArgs,
    as_of: Option<u64>,
    format: Format,
    output: Option<&Path>,
) -> anyhow::Result<()> {
    let report = reports(server)
        .await?
        .get_report(proto::GetReportRequest {
            scope: Some(scope(t)),
            year: t.year,
            template: template(t),
            as_of_position: as_of.unwrap_or(0),
            review_dating: dating(t),
        })
        .await
        .map_err(status)?
        .into_inner()
        .report
        .unwrap_or_default();
    let text = render::render(&report, format)?;
    match output {
        Some(path) => std::fs::write(path, text).with_context(|| format!("cannot write {}", path.display()))?,
        None => print!("{text}"),
    }
    if !report.checks_passed {
        let failed: Vec<_> =
            report.checks.iter().filter(|c| !c.passed).map(|c| format!("{}: {}", c.name, c.detail)).collect();
        bail!("the table failed its checks: {}", failed.join("; "));
    }
    eprintln!("log position {}; all {} checks passed", report.log_position, report.checks.len());
    Ok(())
}

/// Prints the cells that changed between two positions.
pub async fn diff(server: &str, t: &TableArgs, from: u64, to: Option<u64>) -> anyhow::Result<()> {
    let d = reports(server)
        .await?
        .diff_report(proto::DiffReportRequest {
            scope: Some(scope(t)),
            year: t.year,
            template: template(t),
            review_dating: dating(t),
            from_position: from,
            to_position: to.unwrap_or(0),
        })
        .await
        .map_err(status)?
        .into_inner();
    let (a, b) = (d.from.unwrap_or_default().log_position, d.to.unwrap_or_default().log_position);
    println!("{} cells changed between log positions {a} and {b}", d.changes.len());
    for c in &d.changes {
        println!("  {} {:<12} {:<8} {} -> {}", c.section, c.row, c.column, c.before, c.after);
    }
    Ok(())
}

/// Lists every application counted in a cell, page by page.
pub async fn cell(
    server: &str,
    agency: &str,
    year: i32,
    row: &str,
    column: i32,
    as_of: Option<u64>,
) -> anyhow::Result<()> {
    let mut client = reports(server).await?;
    let mut token = String::new();
    let mut count = 0;
    loop {
        let page = client
            .list_cell_applications(proto::ListCellApplicationsRequest {
                agency_id: agency.into(),
                year,
                row: row.into(),
                column,
                as_of_position: as_of.unwrap_or(0),
                page_size: 1000,
                page_token: token,
            })
            .await
            .map_err(status)?
            .into_inner();
        for a in &page.applications {
            let d = |d: &Option<proto::google::r#type::Date>| {
                d.as_ref().map_or("-".to_owned(), |d| format!("{:04}-{:02}-{:02}", d.year, d.month, d.day))
            };
            println!(
                "{}\treceived {}\tconcluded {}\t{}\t{}",
                a.application_id,
                d(&a.received_on),
                d(&a.concluded_on),
                a.applicant_category().as_str_name(),
                if a.outcome == 0 { "" } else { a.outcome().as_str_name() }
            );
            count += 1;
        }
        if page.next_page_token.is_empty() {
            eprintln!("{count} applications (log position {})", page.log_position);
            return Ok(());
        }
        token = page.next_page_token;
    }
}

/// Rebuilds everything from the raw log on the server and compares.
pub async fn verify(server: &str) -> anyhow::Result<()> {
    let v = reports(server).await?.verify_tallies(proto::VerifyTalliesRequest {}).await.map_err(status)?.into_inner();
    println!(
        "replayed {} events ({} subjects) up to log position {} in {:.2} s ({:.0} events/s)",
        v.events_replayed,
        v.subjects,
        v.log_position,
        v.seconds,
        v.events_replayed as f64 / v.seconds.max(1e-9)
    );
    if !v.consistent {
        for d in &v.differences {
            println!("DIFFERENCE {d}");
        }
        bail!("{} differences between the maintained tallies and the replay", v.differences.len());
    }
    println!("every table and every application matches the replay");
    Ok(())
}

/// Registers a group of agencies.
pub async fn set_group(server: &str, group: &str, agencies: Vec<String>) -> anyhow::Result<()> {
    let r = reports(server)
        .await?
        .set_group(proto::SetGroupRequest {
            group: Some(proto::Group { group_id: group.into(), agency_ids: agencies }),
        })
        .await
        .map_err(status)?
        .into_inner();
    let g = r.group.unwrap_or_default();
    println!("group {}: {}", g.group_id, g.agency_ids.join(", "));
    Ok(())
}

/// Prints open applications with their deadlines, page by page.
pub async fn deadlines(
    server: &str,
    agency: &str,
    as_of: Option<crate::date::CivilDate>,
    within: u32,
    overdue: bool,
    all: bool,
) -> anyhow::Result<()> {
    use crate::proto::deadline_service_client::DeadlineServiceClient;
    let mut client = DeadlineServiceClient::connect(server.to_owned())
        .await
        .with_context(|| format!("cannot reach the server at {server} (is `disclosure-ledger serve` running?)"))?;
    let filter = if overdue {
        proto::DeadlineFilter::Overdue
    } else if all {
        proto::DeadlineFilter::Unspecified
    } else {
        proto::DeadlineFilter::DueSoon
    };
    let date = |d: &Option<proto::google::r#type::Date>| {
        d.as_ref().map_or("-".to_owned(), |d| format!("{:04}-{:02}-{:02}", d.year, d.month, d.day))
    };
    let mut token = String::new();
    let mut count = 0;
    loop {
        let page = client
            .list_deadlines(proto::ListDeadlinesRequest {
                agency_id: agency.into(),
                as_of: as_of.map(crate::date::CivilDate::to_proto),
                within_working_days: within,
                filter: filter as i32,
                page_size: 1000,
                page_token: token,
            })
            .await
            .map_err(status)?
            .into_inner();
        if count == 0 {
            println!("as of {}:", date(&page.as_of));
        }
        for e in &page.entries {
            let a = e.application.clone().unwrap_or_default();
            let d = e.deadline.clone().unwrap_or_default();
            if !d.calendar_error.is_empty() {
                println!("{}\treceived {}\tNO DEADLINE: {}", a.application_id, date(&a.received_on), d.calendar_error);
            } else {
                println!(
                    "{}\treceived {}\tdue {}\t{} working days left\t{}{}{}",
                    a.application_id,
                    date(&a.received_on),
                    date(&d.due),
                    d.remaining_working_days,
                    d.standing().as_str_name().trim_start_matches("DEADLINE_STANDING_"),
                    if d.paused_working_days > 0 {
                        format!(" (paused {} days)", d.paused_working_days)
                    } else {
                        String::new()
                    },
                    if d.supplement_request_late { " (supplement requested late)" } else { "" },
                );
            }
            count += 1;
        }
        if page.next_page_token.is_empty() {
            eprintln!("{count} applications");
            return Ok(());
        }
        token = page.next_page_token;
    }
}

/// Prints how promptly an agency answered in a year.
pub async fn timeliness(server: &str, agency: &str, year: i32) -> anyhow::Result<()> {
    use crate::proto::deadline_service_client::DeadlineServiceClient;
    let t = DeadlineServiceClient::connect(server.to_owned())
        .await
        .with_context(|| format!("cannot reach the server at {server}"))?
        .get_timeliness(proto::GetTimelinessRequest { agency_id: agency.into(), year })
        .await
        .map_err(status)?
        .into_inner();
    println!(
        "{year}: {} answered, {} on time, {} late; working days to answer: median {}, 90th percentile {}",
        t.answered, t.answered_on_time, t.answered_late, t.median_working_days, t.p90_working_days
    );
    if t.without_deadline > 0 {
        println!("{} more fall outside the known working-day calendar (load that year's schedule)", t.without_deadline);
    }
    Ok(())
}
