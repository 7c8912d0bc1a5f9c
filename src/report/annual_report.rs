//! The whole annual report (政府信息公开工作年度报告) of one agency for a
//! year: the tables of sections 二, 三 and 四, derived as of one log
//! position, and the agency's own text for the title, the opening, 一, 五
//! and 六 ([`crate::domain::report_text`]), with its placeholders filled
//! from the same derived tables, so prose and tables cannot drift apart.

use std::collections::BTreeMap;

use crate::domain::codes::ReportSection;
use crate::domain::event::Payload;
use crate::domain::ids::{AgencyId, EventId, StreamId, SubjectId};
use crate::domain::report_text::{ReportTexts, subject_for};
use crate::report::derivation::{self, DeriveError, ReportQuery};
use crate::report::proactive_table::{Value, wan_yuan};
use crate::report::tables::Report;
use crate::report::template::Row;
use crate::store::database::Store;

/// A year's report, assembled.
#[derive(Clone, Debug, PartialEq)]
pub struct AnnualReport {
    pub title: String,
    pub tables: Report,
    /// In report order: (section, heading, text with placeholders filled).
    pub texts: Vec<(ReportSection, &'static str, String)>,
    /// Every section's text as recorded, placeholders unfilled (to edit).
    pub recorded: BTreeMap<ReportSection, String>,
    /// Each placeholder's name, meaning and value in these tables.
    pub placeholders: Vec<(&'static str, &'static str, String)>,
    /// The times the report was published, oldest first (voided ones left out).
    pub publications: Vec<Publication>,
    /// The agency's name (its id when no name was recorded).
    pub agency_name: String,
    /// Required sections without text: the report is a draft while any is.
    pub missing: Vec<ReportSection>,
}

/// The report published as the log stood at `position`.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Publication {
    pub label: String,
    pub position: u64,
    pub published_on: crate::domain::date::CivilDate,
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
    v.insert("period", r.period.label());
    v.insert("new", total(Row::New).to_string());
    v.insert("carried_in", total(Row::CarriedIn).to_string());
    v.insert("concluded", total(Row::Total).to_string());
    v.insert("carried_out", total(Row::CarriedOut).to_string());
    v.insert("disclosed", total(Row::Outcome(crate::domain::codes::Outcome::Disclosed)).to_string());
    v.insert("partly_disclosed", total(Row::Outcome(crate::domain::codes::Outcome::PartlyDisclosed)).to_string());
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
    let mut publications = Vec::new();
    if let Some(record) = store.subject(&stream)? {
        let positions: Vec<u64> = record.positions.iter().copied().filter(|p| *p <= position).collect();
        let events = positions
            .iter()
            .map(|p| store.event_at(*p)?.map(|r| r.event).ok_or_else(|| missing(*p)))
            .collect::<Result<Vec<_>, _>>()?;
        let voided: Vec<&EventId> = events
            .iter()
            .filter_map(|e| match &e.payload {
                Payload::EventVoided { target, .. } => Some(target),
                _ => None,
            })
            .collect();
        for (event, at) in events.iter().zip(&positions) {
            if let Payload::ReportPublished { label, .. } = &event.payload
                && !voided.contains(&&event.id)
            {
                publications.push(Publication { label: label.clone(), position: *at, published_on: event.occurred_on });
            }
        }
        if let Ok(crate::domain::subject::SubjectState::ReportTexts(t)) = crate::domain::subject::fold(&events, None) {
            texts = Some(t);
        }
    }
    let sections = texts.map(|t| t.sections).unwrap_or_default();
    let values = values(&tables);
    let name = sections.get(&ReportSection::AgencyName).map_or_else(|| agency.to_string(), |n| n.trim().to_owned());
    let title = format!("{name}{}年政府信息公开工作年度报告", q.year);
    let missing =
        ReportSection::REQUIRED.into_iter().filter(|s| sections.get(s).is_none_or(|t| t.trim().is_empty())).collect();
    let texts = [
        ReportSection::Preamble,
        ReportSection::Overview,
        ReportSection::Problems,
        ReportSection::Other,
        ReportSection::SignOff,
    ]
    .into_iter()
    .filter_map(|s| sections.get(&s).map(|t| (s, s.heading(), fill(t, &values))))
    .collect();
    let placeholders = crate::domain::report_text::PLACEHOLDERS
        .iter()
        .map(|(name, meaning)| (*name, *meaning, values.get(name).cloned().unwrap_or_default()))
        .collect();
    Ok(AnnualReport {
        title,
        tables,
        texts,
        recorded: sections,
        placeholders,
        publications,
        agency_name: name,
        missing,
    })
}

fn missing(position: u64) -> DeriveError {
    DeriveError::Store(crate::store::error::StoreError::Damaged(format!("position {position} is indexed but missing")))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn placeholders_are_filled_from_the_tables() {
        let mut v = BTreeMap::new();
        v.insert("new", "3".to_owned());
        v.insert("year", "2024".to_owned());
        assert_eq!(fill("{year}年共收到申请{new}件，{new}件", &v), "2024年共收到申请3件，3件");
    }
}
