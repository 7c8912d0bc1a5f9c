//! Importing a ledger (台账) of past applications: one row per application
//! (number, receipt date, applicant type, channel, status, conclusion date,
//! outcome), read from CSV (UTF-8 or GB18030, as Excel writes it), XLSX or
//! JSON Lines, turned into the events that tell the same story, and sent
//! through the normal append path.
//!
//! Every event id is derived from the agency, the application number and
//! the step, so importing the same file twice changes nothing, and a row
//! changed since an earlier import is refused (its ids are taken by other
//! content) instead of counted twice.
//!
//! A file is all or nothing: every row is checked at the edge and then by
//! the server itself (`validate_only`) before the first event is written.
//! With `skip_bad`, bad rows are left out and listed in a rejects file.

use std::collections::{BTreeMap, HashMap};
use std::path::Path;

use anyhow::{Context as _, bail};
use serde::Deserialize;

use crate::codes::{ApplicantCategory, Channel, Outcome};
use crate::date::CivilDate;
use crate::ids::{AgencyId, EventId, SubjectId};
use crate::proto::{self, event::Payload};
use crate::template::COLUMNS;

/// What a ledger column holds.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Field {
    /// The agency's application number (the subject id).
    Number,
    ReceivedOn,
    Applicant,
    Channel,
    Status,
    ConcludedOn,
    Outcome,
    /// The fee notified, in fen: needed only for outcome 6.2.
    FeeFen,
}

impl Field {
    const ALL: [Field; 8] = [
        Field::Number,
        Field::ReceivedOn,
        Field::Applicant,
        Field::Channel,
        Field::Status,
        Field::ConcludedOn,
        Field::Outcome,
        Field::FeeFen,
    ];

    /// Header names recognised without a mapping file.
    fn headers(self) -> &'static [&'static str] {
        match self {
            Field::Number => &["number", "申请编号", "编号", "受理编号", "申请号"],
            Field::ReceivedOn => &["received_on", "收到申请日期", "收到日期", "申请日期", "受理日期", "收到申请时间"],
            Field::Applicant => &["applicant", "申请人类型", "申请人类别", "申请主体"],
            Field::Channel => &["channel", "申请方式", "申请渠道"],
            Field::Status => &["status", "状态", "办理状态"],
            Field::ConcludedOn => &["concluded_on", "办结日期", "答复日期", "办结时间", "答复时间"],
            Field::Outcome => &["outcome", "办理结果", "答复结果", "处理结果"],
            Field::FeeFen => &["fee_fen", "收费金额（分）", "收费金额(分)"],
        }
    }

    fn required(self) -> bool {
        matches!(self, Field::Number | Field::ReceivedOn | Field::Applicant)
    }
}

/// Other column names, from a mapping file:
///
/// ```toml
/// [columns]
/// number = "受理号"
/// received_on = "登记日期"
/// ```
#[derive(Clone, Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Mapping {
    #[serde(default)]
    pub columns: BTreeMap<Field, String>,
}

impl Mapping {
    pub fn load(path: &Path) -> anyhow::Result<Self> {
        let text = std::fs::read_to_string(path).with_context(|| format!("cannot read {}", path.display()))?;
        toml::from_str(&text).with_context(|| format!("{} is not a column mapping", path.display()))
    }
}

/// A ledger as read: its header and its rows, each with the row number a
/// person sees in the file (the header is row 1).
#[derive(Clone, Debug, Default)]
pub struct Table {
    pub headers: Vec<String>,
    pub rows: Vec<(usize, Vec<String>)>,
}

/// Reads a ledger by its extension: `.csv`, `.xlsx`/`.xls`/`.ods`, or
/// `.jsonl`/`.json`.
pub fn read(path: &Path) -> anyhow::Result<Table> {
    let ext = path.extension().and_then(|e| e.to_str()).unwrap_or("").to_ascii_lowercase();
    match ext.as_str() {
        "csv" | "txt" => read_csv(&std::fs::read(path).with_context(|| format!("cannot read {}", path.display()))?),
        "xlsx" | "xlsm" | "xls" | "ods" => read_sheet(path),
        "jsonl" | "json" | "ndjson" => {
            read_jsonl(&std::fs::read_to_string(path).with_context(|| format!("cannot read {}", path.display()))?)
        }
        _ => bail!("{}: a ledger is .csv, .xlsx or .jsonl", path.display()),
    }
}

/// CSV in UTF-8 (with or without Excel's byte-order mark) or, failing
/// that, GB18030 (what Excel writes on Chinese Windows).
pub fn read_csv(bytes: &[u8]) -> anyhow::Result<Table> {
    let text = match std::str::from_utf8(bytes) {
        Ok(t) => t.strip_prefix('\u{feff}').unwrap_or(t).to_owned(),
        Err(_) => {
            let (t, _, bad) = encoding_rs::GB18030.decode(bytes);
            if bad {
                bail!("the CSV file is neither UTF-8 nor GB18030 text");
            }
            t.into_owned()
        }
    };
    let mut reader = csv::ReaderBuilder::new().flexible(true).from_reader(text.as_bytes());
    let headers = reader.headers()?.iter().map(|h| h.trim().to_owned()).collect();
    let mut rows = Vec::new();
    for (i, record) in reader.records().enumerate() {
        let record = record.with_context(|| format!("row {}: not valid CSV", i + 2))?;
        rows.push((i + 2, record.iter().map(|c| c.trim().to_owned()).collect()));
    }
    Ok(Table { headers, rows })
}

/// The first sheet of a workbook; date cells become YYYY-MM-DD.
fn read_sheet(path: &Path) -> anyhow::Result<Table> {
    use calamine::{Data, DataType as _, Reader as _};
    let mut book = calamine::open_workbook_auto(path).with_context(|| format!("cannot open {}", path.display()))?;
    let range = book.worksheet_range_at(0).context("the workbook has no sheet")??;
    let cell = |c: &Data| match c {
        Data::Empty => String::new(),
        Data::Float(f) if f.fract() == 0.0 && f.abs() < 1e15 => format!("{}", *f as i64),
        Data::DateTime(_) | Data::DateTimeIso(_) => c.as_date().map(|d| d.to_string()).unwrap_or_else(|| c.to_string()),
        other => other.to_string().trim().to_owned(),
    };
    let start = range.start().map_or(0, |(row, _)| row as usize);
    let mut rows = range.rows().enumerate();
    let headers = rows.next().map(|(_, r)| r.iter().map(cell).collect()).unwrap_or_default();
    let rows = rows
        .map(|(i, r)| (start + i + 1, r.iter().map(cell).collect::<Vec<_>>()))
        .filter(|(_, cells)| cells.iter().any(|c| !c.is_empty()))
        .collect();
    Ok(Table { headers, rows })
}

/// JSON Lines: one object per row, keyed by the same column names.
pub fn read_jsonl(text: &str) -> anyhow::Result<Table> {
    let mut table = Table::default();
    let mut objects = Vec::new();
    for (i, line) in text.lines().enumerate() {
        let line = line.trim();
        if line.is_empty() || line.starts_with('#') {
            continue;
        }
        let object: serde_json::Map<String, serde_json::Value> =
            serde_json::from_str(line).with_context(|| format!("line {}: not a JSON object", i + 1))?;
        for key in object.keys() {
            if !table.headers.contains(key) {
                table.headers.push(key.clone());
            }
        }
        objects.push((i + 1, object));
    }
    for (line, object) in objects {
        let cells = table
            .headers
            .iter()
            .map(|h| match object.get(h) {
                None | Some(serde_json::Value::Null) => String::new(),
                Some(serde_json::Value::String(s)) => s.trim().to_owned(),
                Some(other) => other.to_string(),
            })
            .collect();
        table.rows.push((line, cells));
    }
    Ok(table)
}

/// Where each field is in a table, and the file's name for its column.
#[derive(Clone, Debug)]
pub struct Layout(HashMap<Field, (usize, String)>);

impl Layout {
    /// Finds the columns by the mapping's names, or the known headers.
    pub fn of(headers: &[String], mapping: &Mapping) -> anyhow::Result<Self> {
        let mut found = HashMap::new();
        for field in Field::ALL {
            let at = match mapping.columns.get(&field) {
                Some(name) => Some(headers.iter().position(|h| h == name).with_context(|| {
                    format!("the mapping names column {name:?} for {field:?}, which the file lacks")
                })?),
                None => headers.iter().position(|h| field.headers().iter().any(|k| h.eq_ignore_ascii_case(k))),
            };
            match at {
                Some(i) => {
                    found.insert(field, (i, headers[i].clone()));
                }
                None if field.required() => {
                    bail!("no column for {field:?} (looked for {:?}; a mapping file can name another)", field.headers())
                }
                None => {}
            }
        }
        Ok(Self(found))
    }

    fn get<'r>(&self, row: &'r [String], field: Field) -> &'r str {
        self.0.get(&field).and_then(|(i, _)| row.get(*i)).map_or("", String::as_str)
    }

    /// The column as the file names it (the field's name if it has none).
    fn name(&self, field: Field) -> &str {
        self.0.get(&field).map_or(field.headers()[0], |(_, h)| h.as_str())
    }
}

/// How an application ended, as a ledger says it.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Ending {
    Concluded(Outcome),
    /// 申请人撤回: counted as 6.3.
    Withdrawn,
}

/// One row, checked.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct LedgerRow {
    pub number: SubjectId,
    pub received_on: CivilDate,
    pub applicant: ApplicantCategory,
    pub channel: Channel,
    pub ended: Option<(CivilDate, Ending)>,
    pub fee_fen: Option<i64>,
}

/// A date as ledgers write it: 2024-03-01, 2024/3/1, 2024.3.1, 2024年3月1日
/// (a time after it is ignored).
pub fn parse_date(s: &str) -> Result<CivilDate, String> {
    let s = s.trim();
    let day = s.split([' ', 'T']).next().unwrap_or(s);
    let formats = ["%Y-%m-%d", "%Y/%m/%d", "%Y.%m.%d", "%Y年%m月%d日", "%Y%m%d"];
    let date = formats
        .iter()
        .find_map(|f| chrono::NaiveDate::parse_from_str(day, f).ok())
        .ok_or_else(|| format!("{s:?} is not a date (YYYY-MM-DD, YYYY/M/D or YYYY年M月D日)"))?;
    let date = CivilDate::from_ymd(
        chrono::Datelike::year(&date),
        chrono::Datelike::month(&date),
        chrono::Datelike::day(&date),
    )
    .ok_or_else(|| format!("{s:?} is not a date"))?;
    date.check_business()?;
    Ok(date)
}

/// The applicant column: the table's own labels, or our wire names.
pub fn parse_applicant(s: &str) -> Result<ApplicantCategory, String> {
    let s = s.trim();
    let by_label = COLUMNS[..6].iter().position(|c| *c == s).map(|i| ApplicantCategory::ALL[i]);
    let alias = match s {
        "公民" | "个人" => Some(ApplicantCategory::NaturalPerson),
        "企业" => Some(ApplicantCategory::CommercialEnterprise),
        "律师事务所" => Some(ApplicantCategory::LegalServiceProvider),
        _ => None,
    };
    by_label
        .or(alias)
        .or_else(|| ApplicantCategory::ALL.iter().copied().find(|a| wire_name_matches(a.to_proto().as_str_name(), s)))
        .ok_or_else(|| format!("{s:?} is not an applicant type ({})", COLUMNS[..6].join("、")))
}

/// The channel column (blank: 其他).
pub fn parse_channel(s: &str) -> Result<Channel, String> {
    let s = s.trim();
    let c = match s {
        "" | "其他" => Channel::Other,
        "当面" | "现场" | "当面提交" | "现场申请" => Channel::InPerson,
        "信函" | "邮寄" | "信件" => Channel::Post,
        "网络" | "网上" | "在线" | "网上申请" | "电子邮件" => Channel::Online,
        "传真" => Channel::Fax,
        _ => Channel::ALL
            .iter()
            .copied()
            .find(|c| wire_name_matches(c.to_proto().as_str_name(), s))
            .ok_or_else(|| format!("{s:?} is not a channel (当面, 信函, 网络, 传真, 其他)"))?,
    };
    Ok(c)
}

/// The outcome column: a leaf code ("3.1"), the leaf's label in the 2021
/// template with or without its numbering ("1.属于国家秘密", "属于国家秘密"),
/// our wire name, or 撤回 for a withdrawal.
pub fn parse_outcome(s: &str) -> Result<Ending, String> {
    let s = s.trim();
    if matches!(s, "撤回" | "申请人撤回" | "撤回申请" | "withdrawn") {
        return Ok(Ending::Withdrawn);
    }
    if let Some(o) = Outcome::from_code(s) {
        return Ok(Ending::Concluded(o));
    }
    let bare = |label: &str| -> String {
        let label = label.trim_start_matches(|c: char| c.is_ascii_digit() || c == '.');
        let label = label.split_once('）').filter(|(n, _)| n.starts_with('（')).map_or(label, |(_, rest)| rest);
        label.split('（').next().unwrap_or(label).to_owned()
    };
    let wanted = bare(s);
    let found = Outcome::ALL.iter().copied().find(|o| {
        let label = crate::template::RowSpec::leaf(*o).label;
        label == s || bare(label) == wanted || wire_name_matches(o.to_proto().as_str_name(), s)
    });
    found.map(Ending::Concluded).ok_or_else(|| format!("{s:?} is not an outcome (a code such as 3.1, or its label)"))
}

/// `APPLICANT_CATEGORY_NATURAL_PERSON` matches `natural_person` and the
/// whole name, in any case.
fn wire_name_matches(wire: &str, s: &str) -> bool {
    let s = s.to_ascii_uppercase();
    !s.is_empty() && (wire == s || wire.ends_with(&format!("_{s}")))
}

enum Status {
    Open,
    Concluded,
}

fn parse_status(s: &str) -> Result<Option<Status>, String> {
    match s.trim() {
        "" => Ok(None),
        "办理中" | "在办" | "未办结" | "待办" | "open" | "pending" => Ok(Some(Status::Open)),
        "已办结" | "办结" | "已答复" | "已完成" | "concluded" | "closed" => Ok(Some(Status::Concluded)),
        other => Err(format!("{other:?} is not a status (已办结 or 办理中)")),
    }
}

/// Checks one row; the reason names the column.
pub fn parse_row(layout: &Layout, row: &[String]) -> Result<LedgerRow, String> {
    let at = |field: Field, why: String| format!("{}: {why}", layout.name(field));
    let number = SubjectId::parse(layout.get(row, Field::Number)).map_err(|e| at(Field::Number, e))?;
    let received_on = parse_date(layout.get(row, Field::ReceivedOn)).map_err(|e| at(Field::ReceivedOn, e))?;
    let applicant = parse_applicant(layout.get(row, Field::Applicant)).map_err(|e| at(Field::Applicant, e))?;
    let channel = parse_channel(layout.get(row, Field::Channel)).map_err(|e| at(Field::Channel, e))?;
    let status = parse_status(layout.get(row, Field::Status)).map_err(|e| at(Field::Status, e))?;
    let concluded = layout.get(row, Field::ConcludedOn);
    let outcome = layout.get(row, Field::Outcome);
    let ended = match (status, concluded.is_empty(), outcome.is_empty()) {
        (Some(Status::Open) | None, true, true) => None,
        (Some(Status::Open), _, _) => {
            return Err(at(Field::Status, "says 办理中 but the row has a conclusion date or outcome".into()));
        }
        (_, true, _) => return Err(at(Field::ConcludedOn, "is required for a concluded application".into())),
        (_, _, true) => return Err(at(Field::Outcome, "is required for a concluded application".into())),
        (_, false, false) => {
            let on = parse_date(concluded).map_err(|e| at(Field::ConcludedOn, e))?;
            if on < received_on {
                return Err(at(Field::ConcludedOn, format!("{} is before the receipt date {}", on, received_on)));
            }
            Some((on, parse_outcome(outcome).map_err(|e| at(Field::Outcome, e))?))
        }
    };
    let fee = layout.get(row, Field::FeeFen);
    let fee_fen = if fee.is_empty() {
        None
    } else {
        Some(fee.parse::<i64>().map_err(|_| at(Field::FeeFen, format!("{fee:?} is not a whole number of fen")))?)
    };
    if matches!(ended, Some((_, Ending::Concluded(Outcome::OtherFeeUnpaid)))) && fee_fen.is_none() {
        return Err(at(Field::FeeFen, "is required for outcome 6.2 (the fee that was not paid)".into()));
    }
    Ok(LedgerRow { number, received_on, applicant, channel, ended, fee_fen })
}

/// The events that tell a row's story, with ids derived from the agency,
/// the number and the step. Outcomes that need an earlier step get it,
/// dated on the receipt day (a ledger does not record those dates): 4.3 a
/// supplement requested and received, 6.1 a supplement requested, 6.2 a
/// fee notice.
pub fn events(agency: &AgencyId, row: &LedgerRow) -> Vec<proto::Event> {
    let event = |step: &str, on: CivilDate, payload: Payload| proto::Event {
        event_id: EventId::from_name(&format!("ledger-import/{agency}/{}/{step}", row.number)).to_string(),
        agency_id: agency.to_string(),
        subject_id: row.number.to_string(),
        occurred_on: Some(on.to_proto()),
        actor: "ledger import".into(),
        correlation_id: String::new(),
        payload: Some(payload),
    };
    let mut out = vec![event(
        "received",
        row.received_on,
        Payload::ApplicationReceived(proto::ApplicationReceived {
            applicant_category: row.applicant.to_proto().into(),
            channel: row.channel.to_proto().into(),
        }),
    )];
    let Some((on, ending)) = row.ended else { return out };
    match ending {
        Ending::Withdrawn => {
            out.push(event("withdrawn", on, Payload::ApplicationWithdrawn(proto::ApplicationWithdrawn {})))
        }
        Ending::Concluded(outcome) => {
            if matches!(outcome, Outcome::UnavailableUnclearAfterSupplement | Outcome::OtherNoSupplement) {
                let requested = Payload::SupplementRequested(proto::SupplementRequested {});
                out.push(event("supplement-requested", row.received_on, requested));
            }
            if outcome == Outcome::UnavailableUnclearAfterSupplement {
                let received = Payload::SupplementReceived(proto::SupplementReceived {});
                out.push(event("supplement-received", row.received_on, received));
            }
            if outcome == Outcome::OtherFeeUnpaid {
                let notice = Payload::FeeNoticeIssued(proto::FeeNoticeIssued { amount_fen: row.fee_fen.unwrap_or(0) });
                out.push(event("fee-notice", row.received_on, notice));
            }
            let concluded =
                Payload::ApplicationConcluded(proto::ApplicationConcluded { outcome: outcome.to_proto().into() });
            out.push(event("concluded", on, concluded));
        }
    }
    out
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
pub async fn run(
    remote: &crate::client::Remote,
    table: &Table,
    mapping: &Mapping,
    options: &Options,
) -> anyhow::Result<Imported> {
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
            crate::service::append_batch(&request).map_err(|e| e.to_string())?;
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
    let mut out = csv::Writer::from_path(path).with_context(|| format!("cannot write {}", path.display()))?;
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
