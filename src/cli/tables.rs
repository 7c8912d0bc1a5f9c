//! The tables: `report`, `diff`, `cell` (the applications behind a
//! number), `verify`, `set-group`, `annual-report` and `report-text`.

use std::path::Path;

use anyhow::{Context as _, bail};

use crate::cli::args::ServerArg;
use crate::cli::args::{ReviewDatingArg, TableArgs};
use crate::cli::remote::{Remote, reports, status};
use crate::report::render::{self, Format};
use crate::wire::proto::{self};

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

/// The period asked for, if not a year.
fn period(t: &TableArgs) -> Option<proto::ReportPeriod> {
    t.period.map(|p| proto::ReportPeriod { first_day: Some(p.first.to_proto()), last_day: Some(p.last.to_proto()) })
}

fn dating(t: &TableArgs) -> i32 {
    match t.review_dating {
        ReviewDatingArg::Filed => proto::ReviewDating::FiledInYear as i32,
        ReviewDatingArg::Decided => proto::ReviewDating::DecidedInYear as i32,
    }
}

/// Prints (or writes) a year's tables.
pub async fn report(
    server: &ServerArg,
    t: &TableArgs,
    as_of: Option<u64>,
    format: Format,
    output: Option<&Path>,
) -> anyhow::Result<()> {
    let report = reports(server)
        .await?
        .get_report(proto::GetReportRequest {
            scope: Some(scope(t)),
            year: t.year.unwrap_or(0),
            template: template(t),
            as_of_position: as_of.unwrap_or(0),
            review_dating: dating(t),
            period: period(t),
        })
        .await
        .map_err(status)?
        .into_inner()
        .report
        .unwrap_or_default();
    for agency in &report.unrecorded_agency_ids {
        say!("warning: the log holds no event of agency {agency:?} (a mistyped id?): its cells are zeros");
    }
    if format == Format::Xlsx {
        let Some(path) = output else { bail!("--format xlsx writes a workbook: give -o FILE.xlsx") };
        let whose = t.group.clone().unwrap_or_else(|| report.agency_ids.join("、"));
        let book = proto::AnnualReport {
            title: format!("{whose} {}", report.period),
            tables: Some(report.clone()),
            ..Default::default()
        };
        let bytes = crate::report::publication::xlsx::xlsx(&book)?;
        std::fs::write(path, bytes).with_context(|| format!("cannot write {}", path.display()))?;
        if !report.checks_passed {
            bail!("the table failed its checks");
        }
        say!("wrote {} (log position {})", path.display(), report.log_position);
        return Ok(());
    }
    let text = match (format, &t.group) {
        // A group's table in the exchange format is named after the group.
        (Format::Json, Some(group)) => {
            crate::report::exchange::Table::derived(&report, group).map_err(anyhow::Error::msg)?.to_json()
        }
        _ => render::render(&report, format)?,
    };
    match output {
        Some(path) => std::fs::write(path, text).with_context(|| format!("cannot write {}", path.display()))?,
        None => print!("{text}"),
    }
    if !report.checks_passed {
        let failed: Vec<_> =
            report.checks.iter().filter(|c| !c.passed).map(|c| format!("{}: {}", c.name, c.detail)).collect();
        bail!("the table failed its checks: {}", failed.join("; "));
    }
    say!("log position {}; all {} checks passed", report.log_position, report.checks.len());
    Ok(())
}

/// Prints the cells that changed between two positions.
pub async fn diff(server: &ServerArg, t: &TableArgs, from: u64, to: Option<u64>) -> anyhow::Result<()> {
    let d = reports(server)
        .await?
        .diff_report(proto::DiffReportRequest {
            period: period(t),
            scope: Some(scope(t)),
            year: t.year.unwrap_or(0),
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
    server: &ServerArg,
    agency: &str,
    (year, period): (Option<i32>, Option<crate::report::period::Period>),
    row: &str,
    column: i32,
    as_of: Option<u64>,
) -> anyhow::Result<()> {
    let mut client = reports(server).await?;
    let mut token = String::new();
    let mut count = 0u64;
    loop {
        let page = client
            .list_cell_applications(proto::ListCellApplicationsRequest {
                period: period.map(|p| proto::ReportPeriod {
                    first_day: Some(p.first.to_proto()),
                    last_day: Some(p.last.to_proto()),
                }),
                agency_id: agency.into(),
                year: year.unwrap_or(0),
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
            say!("{} (log position {})", super::counted(count, "application"), page.log_position);
            return Ok(());
        }
        token = page.next_page_token;
    }
}

/// Rebuilds everything from the raw log on the server and compares.
pub async fn verify(server: &ServerArg, deep: bool) -> anyhow::Result<()> {
    let v =
        reports(server).await?.verify_tallies(proto::VerifyTalliesRequest { deep }).await.map_err(status)?.into_inner();
    println!(
        "replayed {} ({}) up to log position {} in {:.2} s ({:.0} events/s)",
        super::counted(v.events_replayed, "event"),
        super::counted(v.subjects, "subject"),
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
    if deep {
        println!("deep check: every month's tallies and every stored application and review case match the replay");
    } else {
        println!(
            "tally check: every month's tallies match the replay (stored applications not refolded; --deep does that)"
        );
    }
    for lost in &v.lost_ranges {
        let loss = crate::store::loss::Loss::from_proto(lost).map_err(anyhow::Error::msg)?;
        println!("{loss}: no event is there, and none ever will be");
    }
    println!("the log is whole; its digest at position {} is {}", v.log_position, v.log_digest);
    Ok(())
}

/// Registers a group of agencies and member groups.
pub async fn set_group(
    server: &ServerArg,
    group: &str,
    agencies: Vec<String>,
    groups: Vec<String>,
) -> anyhow::Result<()> {
    let r = reports(server)
        .await?
        .set_group(proto::SetGroupRequest {
            group: Some(proto::Group { group_id: group.into(), agency_ids: agencies, member_group_ids: groups }),
        })
        .await
        .map_err(status)?
        .into_inner();
    let g = r.group.unwrap_or_default();
    let members: Vec<String> =
        g.agency_ids.iter().cloned().chain(g.member_group_ids.iter().map(|m| format!("group {m}"))).collect();
    println!("group {}: {}", g.group_id, members.join(", "));
    Ok(())
}

/// Where and how `annual-report` writes the report.
pub struct Publish {
    pub format: Option<crate::report::publication::Format>,
    pub output: std::path::PathBuf,
    pub options: crate::report::publication::Options,
    pub allow_missing_text: bool,
}

impl Publish {
    /// The format: the one asked for, or the one the file's extension names;
    /// never one the extension contradicts.
    pub fn format(&self) -> anyhow::Result<crate::report::publication::Format> {
        use crate::report::publication::Format;
        let named = Format::of_path(&self.output);
        match (self.format, named) {
            (Some(asked), Some(named)) if asked != named => bail!(
                "--format {} contradicts the file name {} (a .{} file): drop --format or name the file .{}",
                asked.extension(),
                self.output.display(),
                named.extension(),
                asked.extension()
            ),
            (Some(f), _) | (None, Some(f)) => Ok(f),
            (None, None) => bail!(
                "cannot tell the format from {}: name it .html, .docx, .pdf or .xlsx, or give --format",
                self.output.display()
            ),
        }
    }
}

/// Writes the whole annual report in a published format.
pub async fn annual_report(
    server: &ServerArg,
    agency: &str,
    year: i32,
    template: Option<&str>,
    as_of: Option<u64>,
    publish: Publish,
) -> anyhow::Result<()> {
    let format = publish.format()?;
    let template = match template {
        Some("2019") => proto::Template::Template2019,
        Some("2021") => proto::Template::Template2021,
        _ => proto::Template::Unspecified,
    };
    let report = Remote::connect(server)
        .await?
        .reports()
        .get_annual_report(proto::GetAnnualReportRequest {
            agency_id: agency.into(),
            year,
            template: template as i32,
            review_dating: proto::ReviewDating::Unspecified as i32,
            as_of_position: as_of.unwrap_or(0),
        })
        .await
        .map_err(status)?
        .into_inner()
        .annual_report
        .context("the server sent no report")?;
    let missing: Vec<&str> = report
        .missing_sections
        .iter()
        .filter_map(|s| crate::domain::codes::ReportSection::from_proto(*s).ok())
        .map(|s| s.name())
        .collect();
    if !missing.is_empty() {
        let what = format!(
            "the report of {agency} for {year} has no text for {} (record it with report-text)",
            missing.join("、")
        );
        if !publish.allow_missing_text {
            bail!("{what}; nothing written (--allow-missing-text writes it as a draft)");
        }
        say!("warning: {what}; written as a draft");
    }
    let bytes = crate::report::publication::publish(&report, format, &publish.options)?;
    let output = &publish.output;
    std::fs::write(output, bytes).with_context(|| format!("cannot write {}", output.display()))?;
    let tables = report.tables.unwrap_or_default();
    println!(
        "{} written to {} ({}; log position {}; checks {})",
        report.title,
        output.display(),
        format.extension().to_uppercase(),
        tables.log_position,
        if tables.checks_passed { "passed" } else { "FAILED" }
    );
    if !tables.checks_passed {
        bail!("the tables failed their checks");
    }
    Ok(())
}

/// Records an agency's text for a part of its annual report.
pub async fn report_text(
    server: &ServerArg,
    agency: &str,
    year: i32,
    section: crate::cli::args::SectionArg,
    file: &Path,
) -> anyhow::Result<()> {
    use crate::cli::args::SectionArg;
    let text = if file == Path::new("-") {
        std::io::read_to_string(std::io::stdin())?
    } else {
        std::fs::read_to_string(file).with_context(|| format!("cannot read {}", file.display()))?
    };
    let section = match section {
        SectionArg::Name => proto::ReportSection::AgencyName,
        SectionArg::Preamble => proto::ReportSection::Preamble,
        SectionArg::Overview => proto::ReportSection::Overview,
        SectionArg::Problems => proto::ReportSection::Problems,
        SectionArg::Other => proto::ReportSection::Other,
        SectionArg::SignOff => proto::ReportSection::SignOff,
    };
    let payload = proto::event::Payload::ReportTextSet(proto::ReportTextSet { year, section: section as i32, text });
    let position = record_in_report(server, agency, year, payload).await?;
    println!("text recorded at log position {position}");
    Ok(())
}

/// Records that the annual report was published as the log stands now.
pub async fn publish(server: &ServerArg, agency: &str, year: i32, label: String) -> anyhow::Result<()> {
    let payload = proto::event::Payload::ReportPublished(proto::ReportPublished { year, label });
    let position = record_in_report(server, agency, year, payload).await?;
    println!("the {year} report of {agency} is published as of log position {position}");
    Ok(())
}

/// Appends one event to the stream of an agency's report for a year;
/// returns its log position.
async fn record_in_report(
    server: &ServerArg,
    agency: &str,
    year: i32,
    payload: proto::event::Payload,
) -> anyhow::Result<u64> {
    let event = proto::Event {
        event_id: uuid::Uuid::new_v4().to_string(),
        agency_id: agency.into(),
        subject_id: crate::domain::report_text::subject_for(year),
        occurred_on: Some(crate::domain::date::CivilDate::today_in_china().to_proto()),
        actor: String::new(),
        correlation_id: String::new(),
        payload: Some(payload),
    };
    let r = Remote::connect(server)
        .await?
        .ledger()
        .append_events(proto::AppendEventsRequest {
            events: vec![event],
            expected_revisions: vec![],
            validate_only: false,
        })
        .await
        .map_err(status)?
        .into_inner();
    Ok(r.results.first().map_or(0, |r| r.position))
}

/// Reads a submitted table from a file.
fn submitted(file: &Path, agency: &str, year: Option<i32>) -> anyhow::Result<crate::report::exchange::Table> {
    let bytes = std::fs::read(file).with_context(|| format!("cannot read {}", file.display()))?;
    let name = file.file_name().map(|n| n.to_string_lossy().into_owned()).unwrap_or_default();
    Ok(crate::report::submission::read(&bytes, &name, agency, year)?)
}

/// Checks a submitted table, offline, and names every failing cell.
pub fn check_table(
    file: &Path,
    agency: &str,
    year: Option<i32>,
    previous: Option<&Path>,
    format: &str,
) -> anyhow::Result<()> {
    use crate::report::submission;
    let mut table = submitted(file, agency, year)?;
    let previous = previous.map(|p| submitted(p, agency, None)).transpose()?;
    let failures = submission::failures(&table, previous.as_ref());
    table.checks = submission::checks_of(&failures, previous.is_some());
    match format {
        "json" => print!("{}", table.to_json()),
        "text" => {
            println!("{}: {} template, {} ({})", file.display(), table.template, table.period.name, table.period.label);
            for f in &failures {
                println!("  {f}");
            }
        }
        other => bail!("--format {other:?}: text or json"),
    }
    if !failures.is_empty() {
        bail!("{} cells fail their identities", failures.len());
    }
    say!("all {} checks passed", table.checks.len());
    Ok(())
}

/// Submits a unit's table and prints what the service found.
pub async fn submit_table(server: &ServerArg, file: &Path, agency: &str, year: Option<i32>) -> anyhow::Result<()> {
    let content = std::fs::read(file).with_context(|| format!("cannot read {}", file.display()))?;
    let file_name = file.file_name().map(|n| n.to_string_lossy().into_owned()).unwrap_or_default();
    let r = reports(server)
        .await?
        .submit_table(proto::SubmitTableRequest {
            agency_id: agency.into(),
            file_name,
            content,
            year: year.unwrap_or(0),
        })
        .await
        .map_err(status)?
        .into_inner();
    let table: crate::report::exchange::Table = serde_json::from_str(&r.table_json)?;
    if r.duplicate {
        println!("{}: already the latest submission of {agency} for {}", file.display(), table.period.name);
    } else {
        println!("{}: recorded at log position {} for {agency}, {}", file.display(), r.log_position, table.period.name);
    }
    println!("sha256 {}", r.sha256);
    for f in &r.failures {
        match f.expected {
            Some(e) => println!("  {} {} × {}: {}, {} expects {e}", f.section, f.row, f.column, f.found, f.identity),
            None => println!(
                "  {} {} × {}: {}, {} expects no negative count",
                f.section, f.row, f.column, f.found, f.identity
            ),
        }
    }
    if r.failures.is_empty() {
        println!(
            "all checks passed; accept it with: accept-table --agency {agency} --period {} --sha256 {}",
            table.period.name, r.sha256
        );
    } else {
        println!("{} cells fail their identities: kept as submitted, not counted until accepted", r.failures.len());
    }
    Ok(())
}

/// Accepts a unit's latest submission of a period.
pub async fn accept_table(
    server: &ServerArg,
    agency: &str,
    period: crate::report::period::Period,
    sha256: &str,
) -> anyhow::Result<()> {
    let r = reports(server)
        .await?
        .accept_table(proto::AcceptTableRequest {
            agency_id: agency.into(),
            period: Some(proto::ReportPeriod {
                first_day: Some(period.first.to_proto()),
                last_day: Some(period.last.to_proto()),
            }),
            sha256: sha256.into(),
        })
        .await
        .map_err(status)?
        .into_inner();
    println!("accepted {agency}'s table of {period} (log position {})", r.log_position);
    Ok(())
}

/// Prints a group's roll-up.
pub async fn rollup(
    server: &ServerArg,
    group: &str,
    (year, period): (Option<i32>, Option<crate::report::period::Period>),
    due: Option<crate::domain::date::CivilDate>,
    format: &str,
    output: Option<&Path>,
) -> anyhow::Result<()> {
    let r = reports(server)
        .await?
        .get_rollup(proto::GetRollupRequest {
            group_id: group.into(),
            year: year.unwrap_or(0),
            period: period.map(|p| proto::ReportPeriod {
                first_day: Some(p.first.to_proto()),
                last_day: Some(p.last.to_proto()),
            }),
            due_on: due.map(|d| d.to_proto()),
            ..Default::default()
        })
        .await
        .map_err(status)?
        .into_inner();
    let rollup = r.rollup.unwrap_or_default();
    let total = rollup.total.clone().unwrap_or_default();
    match format {
        "json" => {
            let json = crate::report::rollup::Bundle::of(&rollup).map_err(anyhow::Error::msg)?.to_json();
            match output {
                Some(path) => std::fs::write(path, json).with_context(|| format!("cannot write {}", path.display()))?,
                None => print!("{json}"),
            }
        }
        "xlsx" => {
            let Some(path) = output else { bail!("--format xlsx writes a workbook: give -o FILE.xlsx") };
            let bytes = crate::report::publication::xlsx::rollup_xlsx(&rollup)?;
            std::fs::write(path, bytes).with_context(|| format!("cannot write {}", path.display()))?;
            say!("wrote {}: a summary sheet, the total, and {} members' sheets", path.display(), rollup.members.len());
        }
        "text" => {
            println!("roll-up of {group}, {} ({} members)", total.period, rollup.members.len());
            for m in &rollup.members {
                let source = match proto::TableSource::try_from(m.source) {
                    Ok(proto::TableSource::Derived) => "derived",
                    Ok(proto::TableSource::Submitted) if m.accepted => "submitted, accepted",
                    Ok(proto::TableSource::Submitted) => "submitted, not accepted",
                    Ok(proto::TableSource::Rollup) => "roll-up",
                    _ => "no table",
                };
                let checks = if m.table.is_none() {
                    "-".to_string()
                } else if m.failed_checks.is_empty() {
                    "checks passed".to_string()
                } else {
                    format!("failed: {}", m.failed_checks.join(", "))
                };
                let name = if m.is_group { format!("{} (group)", m.member_id) } else { m.member_id.clone() };
                let counted = if m.counted { "counted" } else { "not counted" };
                let source = match m.table.as_ref().map(|t| t.log_position) {
                    Some(p) if p > 0 => format!("{source} @{p}"),
                    _ => source.to_string(),
                };
                let late = if m.late { "  LATE" } else { "" };
                println!("  {name:<24} {source:<24} {counted:<12} {checks}{late}");
            }
            let row = |code: &str| total.application_rows.iter().find(|r| r.code == code).map_or(0, |r| r.values[6]);
            println!(
                "total: 新收 {}, 结转 {}, 办结 {}, 结转下期 {}; {}",
                row("new"),
                row("carried_in"),
                row("total"),
                row("carried_out"),
                if total.checks_passed {
                    "every check passed".to_string()
                } else {
                    let failed: Vec<_> = total
                        .checks
                        .iter()
                        .filter(|c| !c.passed)
                        .map(|c| format!("{}: {}", c.name, c.detail))
                        .collect();
                    format!("FAILED {}", failed.join("; "))
                }
            );
            if !rollup.late_member_ids.is_empty() {
                println!("late: {}", rollup.late_member_ids.join(", "));
            }
        }
        other => bail!("--format {other:?}: text, json or xlsx"),
    }
    if !total.checks_passed {
        bail!("the total failed its checks");
    }
    Ok(())
}
