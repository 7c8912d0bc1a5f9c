//! A ledger file read as a table of cells: CSV (UTF-8 or GB18030, as Excel
//! writes it), XLSX, or JSON Lines.

use std::path::Path;

use anyhow::{Context as _, bail};

/// A ledger as read: its header and its rows, each with the row number a
/// person sees in the file (the header is row 1).
#[derive(Clone, Debug, Default)]
pub struct Table {
    pub headers: Vec<String>,
    pub rows: Vec<(usize, Vec<String>)>,
    /// The file came from Excel (a workbook, GB18030 text, or UTF-8 with a
    /// byte-order mark): what is written back for it (the rejects) starts
    /// with a byte-order mark, without which Excel on Chinese Windows reads
    /// UTF-8 as GB18030 and garbles it.
    pub from_excel: bool,
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
    let (text, from_excel) = match std::str::from_utf8(bytes) {
        Ok(t) => match t.strip_prefix('\u{feff}') {
            Some(t) => (t.to_owned(), true),
            None => (t.to_owned(), false),
        },
        Err(_) => {
            let (t, _, bad) = encoding_rs::GB18030.decode(bytes);
            if bad {
                bail!("the CSV file is neither UTF-8 nor GB18030 text");
            }
            (t.into_owned(), true)
        }
    };
    let mut reader = csv::ReaderBuilder::new().flexible(true).from_reader(text.as_bytes());
    let headers = reader.headers()?.iter().map(|h| h.trim().to_owned()).collect();
    let mut rows = Vec::new();
    for (i, record) in reader.records().enumerate() {
        let record = record.with_context(|| format!("row {}: not valid CSV", i + 2))?;
        rows.push((i + 2, record.iter().map(|c| c.trim().to_owned()).collect()));
    }
    Ok(Table { headers, rows, from_excel })
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
    Ok(Table { headers, rows, from_excel: true })
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
