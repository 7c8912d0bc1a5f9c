//! A table a unit submits instead of deriving it here: read from the
//! exchange format's JSON or from the text or TSV of a published report
//! (the seed's layout, either template), then checked identity by identity
//! as a superior office checks what its units send. Every failing cell is
//! named by its section, row and column codes, the number found, the
//! number the identity expects, and the identity: row sums (总计 column),
//! leaf sums (（七）总计), the balance 一 + 二 = 三（七） + 四, section 四's
//! totals, no negative counts, and, given the period before, 上年结转 =
//! the previous 结转下年度.
//!
//! A submitted table is kept as sent even when it fails: the failures are
//! its checks.

use std::fmt;

use sha2::Digest as _;

mod text;
mod workbook;

use crate::report::exchange::{self, COLUMN_CODES, Check, REVIEW_BLOCK_CODES, REVIEW_COLUMN_CODES, Source, Table};
use crate::report::period::Period;
use crate::report::template::Template;

/// The identities, in the order they are reported.
pub const IDENTITIES: [&str; 6] =
    ["balance", "leaf_sum", "row_sum", "carried_in_equals_previous_carried_out", "non_negative", "review_totals"];

/// A cell an identity says holds another number.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Failure {
    pub identity: &'static str,
    /// `三`, `四` or `二`.
    pub section: &'static str,
    /// The row's code (section 四: the block's).
    pub row: String,
    /// The column's code.
    pub column: String,
    pub found: i64,
    /// What the identity expects there (`None`: any number not below 0).
    pub expected: Option<i64>,
}

impl fmt::Display for Failure {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let Self { identity, section, row, column, found, expected } = self;
        match expected {
            Some(e) => write!(f, "{section} {row} × {column}: {found}, {identity} expects {e}"),
            None => write!(f, "{section} {row} × {column}: {found}, {identity} expects no negative count"),
        }
    }
}

/// A file that cannot be read as a table at all: what and where.
#[derive(Debug, thiserror::Error)]
#[error("{0}")]
pub struct Unreadable(pub String);

fn unreadable(what: impl Into<String>) -> Unreadable {
    Unreadable(what.into())
}

/// The kind of a submitted file.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum FileKind {
    Json,
    /// XLSX (or XLS, ODS) in the official layout.
    Xlsx,
    Text,
    Tsv,
}

impl FileKind {
    pub fn code(self) -> &'static str {
        match self {
            Self::Json => "json",
            Self::Xlsx => "xlsx",
            Self::Text => "text",
            Self::Tsv => "tsv",
        }
    }

    /// By the file's name: `.json`, `.xlsx` (`.xls`, `.ods`), `.tsv`,
    /// anything else text.
    pub fn of_name(name: &str) -> Self {
        let lower = name.to_ascii_lowercase();
        if lower.ends_with(".json") {
            Self::Json
        } else if [".xlsx", ".xlsm", ".xls", ".ods"].iter().any(|e| lower.ends_with(e)) {
            Self::Xlsx
        } else if lower.ends_with(".tsv") {
            Self::Tsv
        } else {
            Self::Text
        }
    }
}

/// Reads a submitted file: the exchange format, or a published report's
/// text or TSV. `agency` and `year` name the table when the file does not
/// (a text names neither reliably: its 统计期限, if found, gives the days).
/// The source becomes the file's SHA-256; the checks are made again here,
/// whatever the file claimed.
pub fn read(bytes: &[u8], file_name: &str, agency: &str, year: Option<i32>) -> Result<Table, Unreadable> {
    let kind = FileKind::of_name(file_name);
    let text = || {
        std::str::from_utf8(bytes).map_err(|_| unreadable(format!("{file_name} is not UTF-8 text (save it as UTF-8)")))
    };
    let mut table = match kind {
        FileKind::Xlsx => workbook::published_workbook(bytes, agency, year)
            .map_err(|e| unreadable(format!("{file_name}: {}", e.0)))?,
        FileKind::Json => parse_json(text()?).map_err(|e| unreadable(format!("{file_name} {e}")))?,
        FileKind::Text | FileKind::Tsv => text::published_text(text()?, agency, year)?,
    };
    layout(&table)?;
    table.source = Source::Submitted {
        sha256: hex::encode(sha2::Sha256::digest(bytes)),
        file_name: file_name.to_string(),
        file_kind: kind.code().into(),
    };
    table.checks = checks_of(&failures(&table, None), false);
    Ok(table)
}

/// A table in the exchange format, of the version this service reads; the
/// error reads after the file's name ("is not a table …").
fn parse_json(json: &str) -> Result<Table, String> {
    let table: Table = serde_json::from_str(json).map_err(|e| format!("is not a table in the exchange format: {e}"))?;
    if table.format != exchange::FORMAT || table.version != exchange::VERSION {
        return Err(format!(
            "is {} version {}; this service reads {} version {}",
            table.format,
            table.version,
            exchange::FORMAT,
            exchange::VERSION
        ));
    }
    Ok(table)
}

/// Checks the table a `table_submitted` event carries: a table in the
/// exchange format, laid out as its template says, of this agency and
/// these days.
pub fn check_recorded(json: &str, agency: &str, first_day: &str, last_day: &str) -> Result<Table, String> {
    let table = parse_json(json)?;
    layout(&table).map_err(|e| e.0)?;
    if table.agency != agency {
        return Err(format!("is the table of {}, not of {agency}", table.agency));
    }
    if (table.period.first_day.as_str(), table.period.last_day.as_str()) != (first_day, last_day) {
        return Err(format!(
            "is the table of {}..{}, not of {first_day}..{last_day}",
            table.period.first_day, table.period.last_day
        ));
    }
    Ok(table)
}

/// The template a table names.
pub fn template_of(table: &Table) -> Result<Template, Unreadable> {
    match table.template.as_str() {
        "2019" => Ok(Template::V2019),
        "2021" => Ok(Template::V2021),
        other => Err(unreadable(format!("template: {other:?} is not 2019 or 2021"))),
    }
}

/// Checks that a table has its template's rows, in order, seven numbers
/// each, and section 四's three blocks of five.
pub fn layout(table: &Table) -> Result<(), Unreadable> {
    let template = template_of(table)?;
    let expected: Vec<&str> = template.rows().iter().map(|r| exchange::row_code(r.row.code())).collect();
    let found: Vec<&str> = table.section_three.rows.iter().map(|r| r.code.as_str()).collect();
    if found != expected {
        return Err(unreadable(format!(
            "section_three.rows: the {template} template's rows are {}; found {}",
            expected.join(", "),
            found.join(", ")
        )));
    }
    if let Some((i, r)) = table.section_three.rows.iter().enumerate().find(|(_, r)| r.values.len() != 7) {
        return Err(unreadable(format!("section_three.rows[{i}] ({}): {} values, not 7", r.code, r.values.len())));
    }
    let blocks: Vec<&str> = table.section_four.blocks.iter().map(|b| b.code.as_str()).collect();
    if blocks != REVIEW_BLOCK_CODES {
        return Err(unreadable(format!(
            "section_four.blocks: expected {}; found {}",
            REVIEW_BLOCK_CODES.join(", "),
            blocks.join(", ")
        )));
    }
    if let Some((i, b)) = table.section_four.blocks.iter().enumerate().find(|(_, b)| b.values.len() != 5) {
        return Err(unreadable(format!("section_four.blocks[{i}] ({}): {} values, not 5", b.code, b.values.len())));
    }
    Period::new(
        table.period.first_day.parse().map_err(|_| unreadable("period.first_day: not a date"))?,
        table.period.last_day.parse().map_err(|_| unreadable("period.last_day: not a date"))?,
    )
    .ok_or_else(|| unreadable("period: ends before it starts"))?;
    Ok(())
}

fn is_leaf(code: &str) -> bool {
    code.chars().next().is_some_and(|c| c.is_ascii_digit()) && code != "7_total"
}

/// Every cell an identity fails on, in the order of [`IDENTITIES`];
/// `previous` is the table of the period before, for 上年结转. The table
/// must have passed [`layout`].
pub fn failures(table: &Table, previous: Option<&Table>) -> Vec<Failure> {
    let rows = &table.section_three.rows;
    let row = |code: &str| rows.iter().find(|r| r.code == code).map(|r| r.values.as_slice()).unwrap_or(&[0; 7]);
    let fail = |identity, section, row: &str, column: usize, found, expected| Failure {
        identity,
        section,
        row: row.to_string(),
        column: if section == "四" { REVIEW_COLUMN_CODES[column] } else { COLUMN_CODES[column] }.to_string(),
        found,
        expected,
    };
    let mut out = Vec::new();
    let (new, carried_in, total, carried_out) = (row("new"), row("carried_in"), row("7_total"), row("carried_out"));
    for c in 0..7 {
        let expected = new[c] + carried_in[c] - total[c];
        if expected != carried_out[c] {
            out.push(fail("balance", "三", "carried_out", c, carried_out[c], Some(expected)));
        }
    }
    for (c, found) in total.iter().enumerate() {
        let leaves: i64 = rows.iter().filter(|r| is_leaf(&r.code)).map(|r| r.values[c]).sum();
        if leaves != *found {
            out.push(fail("leaf_sum", "三", "7_total", c, *found, Some(leaves)));
        }
    }
    for r in rows {
        let sum: i64 = r.values[..6].iter().sum();
        if sum != r.values[6] {
            out.push(fail("row_sum", "三", &r.code, 6, r.values[6], Some(sum)));
        }
    }
    if let Some(previous) = previous {
        let before = previous.section_three.rows.iter().find(|r| r.code == "carried_out").map(|r| r.values.clone());
        for (c, b) in before.unwrap_or_default().iter().enumerate().take(7) {
            if *b != carried_in[c] {
                out.push(fail(
                    "carried_in_equals_previous_carried_out",
                    "三",
                    "carried_in",
                    c,
                    carried_in[c],
                    Some(*b),
                ));
            }
        }
    }
    for r in rows {
        for (c, v) in r.values.iter().enumerate().filter(|(_, v)| **v < 0) {
            out.push(fail("non_negative", "三", &r.code, c, *v, None));
        }
    }
    for b in &table.section_four.blocks {
        for (c, v) in b.values.iter().enumerate().filter(|(_, v)| **v < 0) {
            out.push(fail("non_negative", "四", &b.code, c, *v, None));
        }
    }
    for b in &table.section_two {
        for r in &b.rows {
            // 本年增/减 is a change, and may be negative.
            for (v, col) in r.values.iter().zip(&b.columns).filter(|(v, col)| **v < 0 && col.code != "items_change") {
                out.push(Failure {
                    identity: "non_negative",
                    section: "二",
                    row: format!("{}/{}", b.code, r.code),
                    column: col.code.clone(),
                    found: *v,
                    expected: None,
                });
            }
        }
    }
    for b in &table.section_four.blocks {
        let sum: i64 = b.values[..4].iter().sum();
        if sum != b.values[4] {
            out.push(fail("review_totals", "四", &b.code, 4, b.values[4], Some(sum)));
        }
    }
    out
}

/// The checks of a table with these failures: one per identity (the
/// previous-period one only when `with_previous`: it was checked).
pub fn checks_of(failures: &[Failure], with_previous: bool) -> Vec<Check> {
    IDENTITIES
        .iter()
        .filter(|name| with_previous || **name != "carried_in_equals_previous_carried_out")
        .map(|name| {
            let failed: Vec<String> = failures.iter().filter(|f| f.identity == *name).map(|f| f.to_string()).collect();
            Check { name: name.to_string(), passed: failed.is_empty(), detail: failed.join("; ") }
        })
        .collect()
}

/// A label compared as published copies vary: full- and half-width
/// brackets and stops alike, white space dropped.
pub fn fold_label(s: &str) -> String {
    s.chars()
        .filter(|c| !c.is_whitespace())
        .map(|c| match c {
            '（' => '(',
            '）' => ')',
            '．' => '.',
            '：' => ':',
            c => c,
        })
        .collect()
}

/// Reads a number as published: an integer, or (money) 万元 with up to six
/// decimals, returned in fen.
pub(crate) fn number(cell: &str, money: bool) -> Option<i64> {
    let cell = cell.trim();
    if !money {
        return cell.parse().ok();
    }
    let (whole, part) = cell.split_once('.').unwrap_or((cell, ""));
    if part.len() > 6 || !part.chars().all(|c| c.is_ascii_digit()) {
        return None;
    }
    let negative = whole.starts_with('-');
    let whole: i64 = whole.trim_start_matches('-').parse().ok()?;
    let part: i64 = format!("{part:0<6}").parse().ok()?;
    let fen = whole.checked_mul(1_000_000)?.checked_add(part)?;
    Some(if negative { -fen } else { fen })
}

/// The 统计期限 a report's text states (…统计期限为 2020 年 1 月 1 日至 2020 年 12 月 31 日).
pub(crate) fn stated_period(text: &str) -> Option<Period> {
    let folded = fold_label(text);
    let at = folded.find("统计期限")?;
    let rest = &folded[at..];
    let mut dates = Vec::new();
    let mut digits = String::new();
    let mut parts = Vec::new();
    for c in rest.chars().take(60) {
        if c.is_ascii_digit() {
            digits.push(c);
        } else if matches!(c, '年' | '月' | '日') && !digits.is_empty() {
            parts.push(digits.parse::<u32>().ok()?);
            digits.clear();
            if c == '日' {
                if let [y, m, d] = parts[..] {
                    dates.push(crate::domain::date::CivilDate::from_ymd(y as i32, m, d)?);
                }
                parts.clear();
                if dates.len() == 2 {
                    break;
                }
            }
        }
    }
    match dates[..] {
        [first, last] => Period::new(first, last),
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn money_reads_exactly_as_fen() {
        assert_eq!(number("12.3456", true), Some(12_345_600));
        assert_eq!(number("0", true), Some(0));
        assert_eq!(number("-2.5", true), Some(-2_500_000));
        assert_eq!(number("1.0000001", true), None);
        assert_eq!(number("7", false), Some(7));
        assert_eq!(number("7.5", false), None);
    }

    #[test]
    fn the_stated_period_is_read_from_the_text() {
        let p = stated_period("本年度报告所列数据的统计期限为 2020 年 1 月 1 日至 2020 年 12 月 31 日。").unwrap();
        assert_eq!(p, Period::year(2020));
        assert_eq!(stated_period("没有期限"), None);
    }
}
