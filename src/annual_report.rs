//! The whole annual report (政府信息公开工作年度报告) of one agency for a
//! year: the tables of sections 二, 三 and 四, derived as of one log
//! position, and the agency's own text for the title, the opening, 一, 五
//! and 六, kept as events in the stream `annual-report-{year}`.
//!
//! Numbers in the text are never typed: the text carries placeholders
//! (`{new}`) that are filled from the same derived tables when the report
//! is assembled, so prose and tables cannot drift apart.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

use crate::codes::ReportSection;
use crate::date::CivilDate;
use crate::derivation::{self, DeriveError, ReportQuery};
use crate::event::Payload;
use crate::ids::{AgencyId, StreamId, SubjectId};
use crate::proactive_table::{Value, wan_yuan};
use crate::report::Report;
use crate::rule::Broken;
use crate::store::Store;
use crate::template::Row;

/// Longest text of one section, in bytes.
pub const MAX_TEXT: usize = 65_536;

/// The stream that holds a year's text.
pub fn subject_for(year: i32) -> String {
    format!("annual-report-{year}")
}

/// The placeholders a text may use, and what each stands for.
pub const PLACEHOLDERS: &[(&str, &str)] = &[
    ("year", "the report year"),
    ("new", "三 一、本年新收政府信息公开申请数量 (总计)"),
    ("carried_in", "三 二、上年结转 (总计)"),
    ("concluded", "三 （七）总计: applications concluded in the year"),
    ("carried_out", "三 四、结转下年度继续办理 (总计)"),
    ("disclosed", "三 （一）予以公开 (总计)"),
    ("partly_disclosed", "三 （二）部分公开 (总计)"),
    ("natural_person", "三 一、本年新收, 自然人"),
    ("organisations", "三 一、本年新收, 法人或其他组织 (five columns)"),
    ("reconsideration", "四 行政复议 总计"),
    ("litigation", "四 行政诉讼 总计 (both blocks)"),
    ("reviews_corrected", "四 结果纠正, all blocks"),
    ("documents_issued", "二 documents issued in the year (规章 and 规范性文件)"),
    ("regulations_issued", "二 规章 issued in the year"),
    ("normative_documents_issued", "二 规范性文件 issued in the year"),
    ("licensing_decisions", "二 行政许可 处理决定数量"),
    ("penalty_decisions", "二 行政处罚 处理决定数量"),
    ("coercion_decisions", "二 行政强制 处理决定数量"),
    ("fees_wan_yuan", "二 行政事业性收费 in 万元 (2021 template)"),
];

/// A text's placeholder names, or why the text is malformed.
fn placeholders_in(text: &str) -> Result<Vec<&str>, String> {
    let mut names = Vec::new();
    let mut rest = text;
    while let Some(open) = rest.find('{') {
        let after = &rest[open + 1..];
        let close = after.find('}').ok_or("has a `{` without its `}`")?;
        names.push(&after[..close]);
        rest = &after[close + 1..];
    }
    if rest.contains('}') {
        return Err("has a `}` without its `{`".into());
    }
    Ok(names)
}

/// Checks a section's text at the edge: its length and its placeholders.
pub fn check_text(text: &str) -> Result<String, String> {
    if text.len() > MAX_TEXT {
        return Err(format!("is {} bytes long; at most {MAX_TEXT}", text.len()));
    }
    if text.chars().any(|c| c.is_control() && c != '\n' && c != '\r' && c != '\t') {
        return Err("contains control characters".into());
    }
    for name in placeholders_in(text)? {
        if !PLACEHOLDERS.iter().any(|(known, _)| *known == name) {
            let known: Vec<&str> = PLACEHOLDERS.iter().map(|(n, _)| *n).collect();
            return Err(format!("uses the unknown placeholder {{{name}}}; known: {}", known.join(", ")));
        }
    }
    Ok(text.replace("\r\n", "\n"))
}

/// Checks a report year at the edge.
pub fn check_year(year: i32) -> Result<i32, String> {
    let max = CivilDate::today_in_china().year() + 1;
    if !(2008..=max).contains(&year) {
        return Err(format!("{year} is not a report year (2008 to {max})"));
    }
    Ok(year)
}

/// The text of a year's report as its stream has set it.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct ReportTexts {
    pub year: i32,
    pub sections: BTreeMap<ReportSection, String>,
}

impl ReportTexts {
    pub fn start(payload: &Payload) -> Option<Self> {
        match payload {
            Payload::ReportTextSet { year, .. } => {
                let mut texts = Self { year: *year, sections: BTreeMap::new() };
                texts.apply(payload).ok()?;
                Some(texts)
            }
            _ => None,
        }
    }

    pub fn apply(&mut self, payload: &Payload) -> Result<(), Broken> {
        match payload {
            Payload::ReportTextSet { year, section, text } if *year == self.year => {
                if text.trim().is_empty() {
                    self.sections.remove(section);
                } else {
                    self.sections.insert(*section, text.clone());
                }
                Ok(())
            }
            Payload::ReportTextSet { year, .. } => Err(Broken::new(
                "WRONG_REPORT_YEAR",
                "report_text_set.year",
                format!("this stream holds the {} report, not {year}'s", self.year),
            )),
            _ => Err(Broken::new(
                "WRONG_SUBJECT_KIND",
                "payload",
                "this subject is an annual report's text; other facts need a subject id of their own",
            )),
        }
    }
}

/// A year's report, assembled.
#[derive(Clone, Debug, PartialEq)]
pub struct AnnualReport {
    pub title: String,
    pub tables: Report,
    /// In report order: (section, heading, text with placeholders filled).
    pub texts: Vec<(ReportSection, &'static str, String)>,
}

/// The values of the placeholders, from the tables.
pub fn values(r: &Report) -> BTreeMap<&'static str, String> {
    let total = |row: Row| r.applications.row(row).map_or(0, |v| v[6]);
    let col = |row: Row, c: usize| r.applications.row(row).map_or(0, |v| v[c]);
    let reviews = r.reviews.blocks;
    let block_value = |title: &str, label: &str, column: usize| -> Option<Value> {
        let b = r.proactive.iter().find(|b| b.title == title)?;
        let (_, values) = b.rows.iter().find(|(l, _)| *l == label)?;
        values.get(column).copied()
    };
    let count = |v: Option<Value>| match v {
        Some(Value::Count(n)) | Some(Value::Fen(n)) => n,
        None => 0,
    };
    let issued_column = 0;
    let regulations = count(block_value("第二十条第（一）项", "规章", issued_column));
    let normative = count(
        block_value("第二十条第（一）项", "规范性文件", issued_column)
            .or_else(|| block_value("第二十条第（一）项", "行政规范性文件", issued_column)),
    );
    let decisions = |title: &str, label: &str| {
        let b = r.proactive.iter().find(|b| b.title == title);
        let last = b.map_or(0, |b| b.columns.len().saturating_sub(1));
        count(block_value(title, label, last))
    };
    let fees = match block_value("第二十条第（八）项", "行政事业性收费", 0) {
        Some(Value::Fen(fen)) => wan_yuan(fen),
        _ => "0".into(),
    };
    let mut v = BTreeMap::new();
    v.insert("year", r.year.to_string());
    v.insert("new", total(Row::New).to_string());
    v.insert("carried_in", total(Row::CarriedIn).to_string());
    v.insert("concluded", total(Row::Total).to_string());
    v.insert("carried_out", total(Row::CarriedOut).to_string());
    v.insert("disclosed", total(Row::Outcome(crate::codes::Outcome::Disclosed)).to_string());
    v.insert("partly_disclosed", total(Row::Outcome(crate::codes::Outcome::PartlyDisclosed)).to_string());
    v.insert("natural_person", col(Row::New, 0).to_string());
    v.insert("organisations", (1..6).map(|c| col(Row::New, c)).sum::<i64>().to_string());
    v.insert("reconsideration", reviews[0][4].to_string());
    v.insert("litigation", (reviews[1][4] + reviews[2][4]).to_string());
    v.insert("reviews_corrected", reviews.iter().map(|b| b[1]).sum::<i64>().to_string());
    v.insert("documents_issued", (regulations + normative).to_string());
    v.insert("regulations_issued", regulations.to_string());
    v.insert("normative_documents_issued", normative.to_string());
    v.insert("licensing_decisions", decisions("第二十条第（五）项", "行政许可").to_string());
    v.insert("penalty_decisions", decisions("第二十条第（六）项", "行政处罚").to_string());
    v.insert("coercion_decisions", decisions("第二十条第（六）项", "行政强制").to_string());
    v.insert("fees_wan_yuan", fees);
    v
}

/// A text with its placeholders replaced by their values.
pub fn fill(text: &str, values: &BTreeMap<&'static str, String>) -> String {
    let mut out = String::with_capacity(text.len());
    let mut rest = text;
    while let Some(open) = rest.find('{') {
        out.push_str(&rest[..open]);
        let after = &rest[open + 1..];
        match after.find('}') {
            Some(close) => {
                let name = &after[..close];
                match values.get(name) {
                    Some(v) => out.push_str(v),
                    None => out.push_str(&rest[open..open + close + 2]),
                }
                rest = &after[close + 1..];
            }
            None => {
                out.push_str(&rest[open..]);
                rest = "";
            }
        }
    }
    out.push_str(rest);
    out
}

/// Assembles one agency's report: the tables as of `as_of` (or now) and
/// the text as of the same position.
pub fn assemble(store: &Store, agency: &AgencyId, q: &ReportQuery) -> Result<AnnualReport, DeriveError> {
    let tables = derivation::report(store, q)?;
    let position = tables.position;
    let stream = StreamId {
        agency: agency.clone(),
        subject: SubjectId::parse(&subject_for(q.year)).expect("a valid subject id"),
    };
    let mut texts: Option<ReportTexts> = None;
    if let Some(record) = store.subject(&stream)? {
        let events = record
            .positions
            .iter()
            .filter(|p| **p <= position)
            .map(|p| store.event_at(*p)?.map(|r| r.event).ok_or_else(|| missing(*p)))
            .collect::<Result<Vec<_>, _>>()?;
        if let Ok(crate::subject::SubjectState::ReportTexts(t)) = crate::subject::fold(&events, None) {
            texts = Some(t);
        }
    }
    let sections = texts.map(|t| t.sections).unwrap_or_default();
    let values = values(&tables);
    let name = sections.get(&ReportSection::AgencyName).map_or_else(|| agency.to_string(), |n| n.trim().to_owned());
    let title = format!("{name}{}年政府信息公开工作年度报告", q.year);
    let texts = [ReportSection::Preamble, ReportSection::Overview, ReportSection::Problems, ReportSection::Other]
        .into_iter()
        .filter_map(|s| sections.get(&s).map(|t| (s, s.heading(), fill(t, &values))))
        .collect();
    Ok(AnnualReport { title, tables, texts })
}

fn missing(position: u64) -> DeriveError {
    DeriveError::Store(crate::store::StoreError::Damaged(format!("position {position} is indexed but missing")))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn texts_are_checked_and_filled() {
        assert!(check_text("本年度共收到政府信息公开申请{new}件。").is_ok());
        let e = check_text("共收到{nwe}件").unwrap_err();
        assert!(e.contains("{nwe}") && e.contains("new"), "{e}");
        assert!(check_text("缺少{new").is_err());
        assert!(check_text("多了}").is_err());
        let mut v = BTreeMap::new();
        v.insert("new", "3".to_owned());
        v.insert("year", "2024".to_owned());
        assert_eq!(fill("{year}年共收到申请{new}件，{new}件", &v), "2024年共收到申请3件，3件");
    }
}
