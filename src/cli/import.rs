//! `import`: a ledger of past applications (CSV, XLSX or JSON Lines) turned
//! into events, checked row by row, then by the server, then written.

use std::path::Path;

use anyhow::{Context as _, bail};

use crate::cli::args::ServerArg;
use crate::cli::remote::Remote;
use crate::domain::ids::{AgencyId, SubjectId};
use crate::ops::import::{Field, Layout, Mapping, Table, events, parse_row};
use crate::wire::proto::{self};
use std::collections::HashMap;

/// Imports a ledger file.
pub async fn import(
    server: &ServerArg,
    file: &Path,
    agency: &str,
    mapping: Option<&Path>,
    skip_bad: bool,
    rejects: Option<std::path::PathBuf>,
    batch: usize,
) -> anyhow::Result<()> {
    use crate::ops::import;
    let agency = crate::domain::ids::AgencyId::parse(agency).map_err(|e| anyhow::anyhow!("--agency: {e}"))?;
    let mapping = mapping.map(import::Mapping::load).transpose()?.unwrap_or_default();
    let table = import::read(file)?;
    let rejects = rejects.or_else(|| skip_bad.then(|| file.with_extension("rejects.csv")));
    let options = Options { agency, skip_bad, rejects: rejects.clone(), batch, progress: true };
    let remote = Remote::connect(server).await?;
    let done = run(&remote, &table, &mapping, &options).await?;
    println!(
        "{} rows: {} applications imported ({} events), {} already recorded, {} skipped",
        done.rows, done.applications, done.events, done.already_recorded, done.skipped
    );
    if done.skipped > 0
        && let Some(path) = rejects
    {
        println!("the skipped rows and their reasons are in {}", path.display());
    }
    Ok(())
}

/// How an import goes.
#[derive(Clone, Debug)]
pub struct Options {
    pub agency: AgencyId,
    /// Leave bad rows out (listed in `rejects`) instead of refusing the file.
    pub skip_bad: bool,
    pub rejects: Option<std::path::PathBuf>,
    /// Events per append.
    pub batch: usize,
    /// Draw a progress bar on standard error.
    pub progress: bool,
}

/// What an import did.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Imported {
    pub rows: usize,
    /// Rows whose events were written now.
    pub applications: usize,
    pub events: usize,
    /// Rows recorded by an earlier import of the same rows.
    pub already_recorded: usize,
    /// Bad rows left out (with `skip_bad`).
    pub skipped: usize,
}

/// A bad row: its number in the file and why.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct BadRow {
    pub row: usize,
    pub reason: String,
}

/// Imports a ledger. Without `skip_bad`, any bad row refuses the whole
/// file before anything is written, and the error lists every bad row.
pub async fn run(remote: &Remote, table: &Table, mapping: &Mapping, options: &Options) -> anyhow::Result<Imported> {
    let layout = Layout::of(&table.headers, mapping)?;
    let bar = progress_bar(options.progress, table.rows.len() as u64);

    // 1. Each row on its own, at the edge.
    bar.set_message("checking rows");
    let mut bad: Vec<BadRow> = Vec::new();
    let mut good: Vec<(usize, Vec<proto::Event>)> = Vec::new();
    let mut seen: HashMap<SubjectId, usize> = HashMap::new();
    for (row, cells) in &table.rows {
        let checked = parse_row(&layout, cells).and_then(|r| {
            if let Some(first) = seen.insert(r.number.clone(), *row) {
                let column = layout.name(Field::Number);
                return Err(format!("{column}: {} is also on row {first}; one row per application", r.number));
            }
            let events = events(&options.agency, &r);
            let request = proto::AppendEventsRequest { events, expected_revisions: vec![], validate_only: true };
            crate::api::ledger_service::append_batch(&request).map_err(|e| e.to_string())?;
            Ok(request.events)
        });
        match checked {
            Ok(events) => good.push((*row, events)),
            Err(reason) => bad.push(BadRow { row: *row, reason }),
        }
        bar.inc(1);
    }

    // 2. Against the stored state, by the server, writing nothing.
    bar.set_position(0);
    bar.set_message("checking with the server");
    let mut ledger = remote.ledger();
    let mut checked: Vec<(usize, Vec<proto::Event>)> = Vec::with_capacity(good.len());
    for chunk in batches(&good, options.batch) {
        let mut chunk: Vec<(usize, Vec<proto::Event>)> = chunk.to_vec();
        loop {
            let request = proto::AppendEventsRequest {
                events: chunk.iter().flat_map(|(_, e)| e.iter().cloned()).collect(),
                expected_revisions: vec![],
                validate_only: true,
            };
            match ledger.append_events(request).await {
                Ok(_) => break,
                Err(status) => {
                    let Some(i) = refused_event(&status) else {
                        bail!("the server refused a check: {:?}: {}", status.code(), status.message());
                    };
                    let at = row_of(&chunk, i).context("the server named an event the batch does not have")?;
                    let (row, _) = chunk.remove(at);
                    bad.push(BadRow { row, reason: server_reason(&status, i) });
                    if chunk.is_empty() {
                        break;
                    }
                }
            }
        }
        bar.inc(chunk.len() as u64);
        checked.extend(chunk);
    }
    bad.sort_by_key(|b| b.row);
    if !bad.is_empty() && !options.skip_bad {
        bar.finish_and_clear();
        let listed: Vec<String> = bad.iter().take(50).map(|b| format!("  row {}: {}", b.row, b.reason)).collect();
        let more = if bad.len() > 50 { format!("\n  … and {} more", bad.len() - 50) } else { String::new() };
        bail!(
            "{} of {} rows are bad; nothing was written (fix them, or use --skip-bad to import the others):\n{}{more}",
            bad.len(),
            table.rows.len(),
            listed.join("\n")
        );
    }
    if let Some(path) = &options.rejects
        && !bad.is_empty()
    {
        write_rejects(path, table, &bad)?;
    }

    // 3. Write.
    bar.set_position(0);
    bar.set_length(checked.len() as u64);
    bar.set_message("writing");
    let mut imported = Imported { rows: table.rows.len(), skipped: bad.len(), ..Imported::default() };
    for chunk in batches(&checked, options.batch) {
        let request = proto::AppendEventsRequest {
            events: chunk.iter().flat_map(|(_, e)| e.iter().cloned()).collect(),
            expected_revisions: vec![],
            validate_only: false,
        };
        let results = match ledger.append_events(request).await {
            Ok(r) => r.into_inner().results,
            Err(status) => {
                let row = refused_event(&status).and_then(|i| row_of(chunk, i)).map(|at| chunk[at].0);
                bail!(
                    "row {}: refused while writing ({:?}: {}); the rows before this batch are written, and running \
                     the import again is safe",
                    row.map_or("?".to_owned(), |r| r.to_string()),
                    status.code(),
                    status.message()
                );
            }
        };
        let mut results = results.iter();
        for (_, events) in chunk {
            let mine: Vec<_> = results.by_ref().take(events.len()).collect();
            let new = mine.iter().filter(|r| !r.duplicate).count();
            imported.events += new;
            if new > 0 {
                imported.applications += 1;
            } else {
                imported.already_recorded += 1;
            }
        }
        bar.inc(chunk.len() as u64);
    }
    bar.finish_and_clear();
    Ok(imported)
}

fn progress_bar(shown: bool, len: u64) -> indicatif::ProgressBar {
    if !shown {
        return indicatif::ProgressBar::hidden();
    }
    let style = indicatif::ProgressStyle::with_template("{msg:26} {bar:40} {pos}/{len} rows {per_sec} eta {eta}")
        .expect("a valid template");
    indicatif::ProgressBar::new(len).with_style(style)
}

/// Rows grouped so that each append carries at most `events` events (a
/// row's events always go together: it is one application's story).
fn batches(rows: &[(usize, Vec<proto::Event>)], events: usize) -> Vec<&[(usize, Vec<proto::Event>)]> {
    let mut out = Vec::new();
    let (mut start, mut count) = (0, 0);
    for (i, (_, e)) in rows.iter().enumerate() {
        if count + e.len() > events && i > start {
            out.push(&rows[start..i]);
            (start, count) = (i, 0);
        }
        count += e.len();
    }
    if start < rows.len() {
        out.push(&rows[start..]);
    }
    out
}

/// The index of the event a refusal names (`events[i]...`).
fn refused_event(status: &tonic::Status) -> Option<usize> {
    use tonic_types::StatusExt as _;
    let details = status.get_error_details();
    let fields = details
        .bad_request()
        .map(|b| b.field_violations.iter().map(|v| v.field.clone()).collect::<Vec<_>>())
        .or_else(|| details.precondition_failure().map(|p| p.violations.iter().map(|v| v.subject.clone()).collect()))
        .unwrap_or_default();
    fields.iter().chain(std::iter::once(&status.message().to_owned())).find_map(|f| {
        let rest = &f[f.find("events[")? + 7..];
        rest[..rest.find(']')?].parse().ok()
    })
}

/// Which row of a batch holds its `i`-th event.
fn row_of(rows: &[(usize, Vec<proto::Event>)], mut i: usize) -> Option<usize> {
    for (at, (_, events)) in rows.iter().enumerate() {
        if i < events.len() {
            return Some(at);
        }
        i -= events.len();
    }
    None
}

/// The server's reason, in the words of a ledger: an id taken by other
/// content means the row was imported before with other facts.
fn server_reason(status: &tonic::Status, i: usize) -> String {
    let message = status.message().to_owned();
    let message = message.replace(&format!("events[{i}]."), "").replace(&format!("events[{i}]"), "event");
    match status.code() {
        tonic::Code::AlreadyExists => format!(
            "this application was imported before with other facts; correct it with an amendment instead ({message})"
        ),
        tonic::Code::FailedPrecondition if message.contains("already") => {
            format!("this application number is already recorded in the service ({message})")
        }
        _ => message,
    }
}

/// The bad rows, with their reasons and their cells, as CSV.
fn write_rejects(path: &Path, table: &Table, bad: &[BadRow]) -> anyhow::Result<()> {
    let mut file = std::fs::File::create(path).with_context(|| format!("cannot write {}", path.display()))?;
    if table.from_excel {
        std::io::Write::write_all(&mut file, "\u{feff}".as_bytes())?;
    }
    let mut out = csv::Writer::from_writer(file);
    let mut header = vec!["row".to_owned(), "reason".to_owned()];
    header.extend(table.headers.iter().cloned());
    out.write_record(&header)?;
    let cells: HashMap<usize, &Vec<String>> = table.rows.iter().map(|(r, c)| (*r, c)).collect();
    for b in bad {
        let mut record = vec![b.row.to_string(), b.reason.clone()];
        record.extend(cells.get(&b.row).map(|c| c.to_vec()).unwrap_or_default());
        out.write_record(&record)?;
    }
    out.flush()?;
    Ok(())
}
