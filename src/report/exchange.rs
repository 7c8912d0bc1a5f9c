//! The exchange format: one period's tables (sections 二, 三 and 四) as
//! JSON with a published, versioned schema (`docs/schemas/table-v1.schema.json`,
//! also served at `/schemas/table-v1.json`), so that a superior office can
//! collect, check and total its units' tables by machine whatever produced
//! them. Rows, columns and blocks are named by stable codes (`new`,
//! `carried_in`, `1`, `3.1`, `6.3`, `7_total`, `carried_out`; the applicant
//! columns; section 四's blocks and results; section 二's items), the
//! labels ride along for people. A table the service derived names its log
//! position and digest; a table a unit submitted names its file's SHA-256.
//! Money (section 二's fees and procurement) is an integer of fen, exact;
//! the column's `unit` says so.

use serde::{Deserialize, Serialize};

use crate::domain::date::CivilDate;
use crate::report::period::Period;
use crate::report::proactive_table;
use crate::report::template::{REVIEW_BLOCKS, Template};
use crate::wire::proto;

/// What the `format` field always says.
pub const FORMAT: &str = "disclosure-ledger/table";
/// The schema version this module writes and reads.
pub const VERSION: u32 = 1;
/// The JSON Schema of version 1, as published in the repository.
pub const SCHEMA: &str = include_str!("../../docs/schemas/table-v1.schema.json");

/// Section 三's column codes, in the order of [`COLUMNS`].
pub const COLUMN_CODES: [&str; 7] = [
    "natural_person",
    "commercial_enterprise",
    "research_institution",
    "social_welfare_organization",
    "legal_service_provider",
    "other_organization",
    "total",
];
/// Section 四's block codes, in the order of [`REVIEW_BLOCKS`].
pub const REVIEW_BLOCK_CODES: [&str; 3] = ["reconsideration", "direct_suit", "suit_after_reconsideration"];
/// Section 四's column codes, in the order of [`REVIEW_COLUMNS`].
pub const REVIEW_COLUMN_CODES: [&str; 5] = ["upheld", "corrected", "other", "pending", "total"];

/// One period's tables of one agency (or of several, summed).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Table {
    /// Always [`FORMAT`].
    pub format: String,
    /// Always [`VERSION`] for this layout.
    pub version: u32,
    /// The agency, or the group whose members are summed.
    pub agency: String,
    /// The agencies summed, when more than one.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub members: Vec<String>,
    /// `2019` or `2021`.
    pub template: String,
    pub period: PeriodOf,
    /// `filed_in_period` (the default reading) or `decided_in_period`.
    pub review_dating: String,
    pub source: Source,
    pub section_three: SectionThree,
    pub section_four: SectionFour,
    pub section_two: Vec<ProactiveBlock>,
    /// The identities checked, each passed or failed with what failed.
    pub checks: Vec<Check>,
}

/// The days counted.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct PeriodOf {
    /// ISO dates, inclusive.
    pub first_day: String,
    pub last_day: String,
    /// `2025`, `2025-H1`, `2025-Q3`, `2025-07` or `2025-03-01..2025-05-31`.
    pub name: String,
    /// 统计期限, e.g. 2025年7月1日至2025年9月30日.
    pub label: String,
}

impl PeriodOf {
    pub fn of(period: Period) -> Self {
        Self {
            first_day: period.first.to_string(),
            last_day: period.last.to_string(),
            name: period.to_string(),
            label: period.label(),
        }
    }
}

/// Where the numbers come from.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "snake_case", deny_unknown_fields)]
pub enum Source {
    /// Derived by the service from its log, up to a position.
    Derived {
        log_position: u64,
        /// The log's SHA-256 chain at that position, hex.
        log_digest: String,
    },
    /// A group's roll-up: the sum of its members counted.
    Rollup {
        /// The log position the derived members' tables reflect.
        log_position: u64,
        /// How many members' tables are summed.
        members_counted: u32,
    },
    /// Submitted by a unit that does not run the service.
    Submitted {
        /// SHA-256 of the file as received, hex.
        sha256: String,
        /// The file's name and kind (`json`, `xlsx`, `text`, `tsv`).
        file_name: String,
        file_kind: String,
    },
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SectionThree {
    /// [`COLUMN_CODES`].
    pub columns: Vec<String>,
    pub rows: Vec<Row>,
}

/// A row of numbers: section 三's (7 values) or section 二's.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Row {
    pub code: String,
    pub label: String,
    pub values: Vec<i64>,
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SectionFour {
    /// [`REVIEW_COLUMN_CODES`].
    pub columns: Vec<String>,
    /// The three blocks, each with its five values.
    pub blocks: Vec<Row>,
}

/// One block of section 二 (第二十条第（X）项).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ProactiveBlock {
    /// `20.1`, `20.5`, `20.6`, `20.8`, `20.9`.
    pub code: String,
    pub title: String,
    pub columns: Vec<Column>,
    pub rows: Vec<Row>,
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Column {
    pub code: String,
    pub label: String,
    /// `count`, or `fen` for money (shown in 万元 in the published table).
    pub unit: String,
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Check {
    pub name: String,
    pub passed: bool,
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub detail: String,
}

/// The exchange row code of section 三's row code as the API names it:
/// the same, but （七）总计 is `7_total` (so that it never reads as the
/// 总计 column).
pub fn row_code(api_code: &str) -> &str {
    if api_code == "total" { "7_total" } else { api_code }
}

/// The API's row code of an exchange row code.
pub fn api_row_code(code: &str) -> &str {
    if code == "7_total" { "total" } else { code }
}

impl Table {
    /// A report the service derived, as the exchange format writes it;
    /// `agency` names whose tables they are (an agency or a group).
    pub fn derived(report: &proto::Report, agency: &str) -> Result<Self, String> {
        let days = report.period_days.as_ref().ok_or("the report names no period")?;
        let day = |d: &Option<proto::google::r#type::Date>| {
            d.as_ref().ok_or("the period has no day".to_string()).and_then(CivilDate::from_proto)
        };
        let period =
            Period::new(day(&days.first_day)?, day(&days.last_day)?).ok_or("the period ends before it starts")?;
        let template = match proto::Template::try_from(report.template) {
            Ok(proto::Template::Template2019) => "2019",
            _ => "2021",
        };
        let review_dating = match proto::ReviewDating::try_from(report.review_dating) {
            Ok(proto::ReviewDating::DecidedInYear) => "decided_in_period",
            _ => "filed_in_period",
        };
        let members = if report.agency_ids.len() > 1 { report.agency_ids.clone() } else { Vec::new() };
        let rows = report
            .application_rows
            .iter()
            .map(|r| Row { code: row_code(&r.code).to_string(), label: r.label.clone(), values: r.values.clone() })
            .collect();
        let blocks = report
            .review_blocks
            .iter()
            .zip(REVIEW_BLOCK_CODES)
            .zip(REVIEW_BLOCKS)
            .map(|((b, code), label)| Row {
                code: code.to_string(),
                label: label.to_string(),
                values: vec![b.upheld, b.corrected, b.other, b.pending, b.total],
            })
            .collect();
        let section_two = report.proactive_blocks.iter().map(proactive_block).collect::<Result<_, _>>()?;
        Ok(Self {
            format: FORMAT.into(),
            version: VERSION,
            agency: agency.into(),
            members,
            template: template.into(),
            period: PeriodOf::of(period),
            review_dating: review_dating.into(),
            source: Source::Derived { log_position: report.log_position, log_digest: report.log_digest.clone() },
            section_three: SectionThree { columns: strings(&COLUMN_CODES), rows },
            section_four: SectionFour { columns: strings(&REVIEW_COLUMN_CODES), blocks },
            section_two,
            checks: report
                .checks
                .iter()
                .map(|c| Check { name: c.name.clone(), passed: c.passed, detail: c.detail.clone() })
                .collect(),
        })
    }

    /// The table in the API's form (as GetReport answers), for a table
    /// submitted or summed rather than derived. The table must be laid out
    /// as its template says (as a submission's layout check makes sure).
    pub fn to_report(&self) -> proto::Report {
        use crate::report::template::RESULTS_BLOCK;
        let template = if self.template == "2019" { Template::V2019 } else { Template::V2021 };
        let specs = template.rows();
        let period = Period::new(
            self.period.first_day.parse().unwrap_or(crate::domain::date::EARLIEST),
            self.period.last_day.parse().unwrap_or(crate::domain::date::EARLIEST),
        );
        let (log_position, log_digest) = match &self.source {
            Source::Derived { log_position, log_digest } => (*log_position, log_digest.clone()),
            Source::Rollup { log_position, .. } => (*log_position, String::new()),
            Source::Submitted { .. } => (0, String::new()),
        };
        let review = |b: &Row, k: usize| proto::ReviewBlock {
            kind: (k + 1) as i32,
            label: b.label.clone(),
            upheld: b.values[0],
            corrected: b.values[1],
            other: b.values[2],
            pending: b.values[3],
            total: b.values[4],
        };
        proto::Report {
            agency_ids: if self.members.is_empty() { vec![self.agency.clone()] } else { self.members.clone() },
            year: period.map_or(0, |p| p.report_year()),
            template: match template {
                Template::V2019 => proto::Template::Template2019,
                Template::V2021 => proto::Template::Template2021,
            } as i32,
            review_dating: if self.review_dating == "decided_in_period" {
                proto::ReviewDating::DecidedInYear
            } else {
                proto::ReviewDating::FiledInYear
            } as i32,
            log_position,
            period: self.period.label.clone(),
            application_rows: self
                .section_three
                .rows
                .iter()
                .zip(&specs)
                .map(|(row, spec)| proto::ApplicationRow {
                    code: api_row_code(&row.code).into(),
                    label: row.label.clone(),
                    group_label: spec.group.unwrap_or_default().into(),
                    block_label: if spec.in_results_block() { RESULTS_BLOCK.into() } else { String::new() },
                    values: row.values.clone(),
                })
                .collect(),
            review_blocks: self.section_four.blocks.iter().enumerate().map(|(k, b)| review(b, k)).collect(),
            checks: self
                .checks
                .iter()
                .map(|c| proto::Check { name: c.name.clone(), passed: c.passed, detail: c.detail.clone() })
                .collect(),
            checks_passed: self.checks.iter().all(|c| c.passed),
            proactive_blocks: self
                .section_two
                .iter()
                .map(|b| proto::ProactiveBlock {
                    title: b.title.clone(),
                    columns: b.columns.iter().map(|c| c.label.clone()).collect(),
                    money: b.columns.iter().map(|c| c.unit == "fen").collect(),
                    rows: b
                        .rows
                        .iter()
                        .map(|r| proto::ProactiveRow { label: r.label.clone(), values: r.values.clone() })
                        .collect(),
                    new_table: b.code == "20.9",
                })
                .collect(),
            log_digest,
            period_days: period.map(|p| proto::ReportPeriod {
                first_day: Some(p.first.to_proto()),
                last_day: Some(p.last.to_proto()),
            }),
            unrecorded_agency_ids: Vec::new(),
        }
    }

    /// A table of zeros in a template's layout, for a period.
    pub fn blank(agency: &str, template: Template, period: Period, review_dating: &str) -> Self {
        let cells = proactive_table::ProactiveCells::default();
        let section_two = proactive_table::blocks(&cells, template)
            .iter()
            .map(|b| {
                let money: Vec<bool> =
                    b.rows[0].1.iter().map(|v| matches!(v, proactive_table::Value::Fen(_))).collect();
                let code = |label: &str| proactive_table::code_of(label).unwrap_or_default().to_string();
                ProactiveBlock {
                    code: code(b.title),
                    title: b.title.into(),
                    columns: b
                        .columns
                        .iter()
                        .zip(&money)
                        .map(|(label, money)| Column {
                            code: code(label),
                            label: label.to_string(),
                            unit: if *money { "fen" } else { "count" }.into(),
                        })
                        .collect(),
                    rows: b
                        .rows
                        .iter()
                        .map(|(label, v)| Row { code: code(label), label: label.to_string(), values: vec![0; v.len()] })
                        .collect(),
                }
            })
            .collect();
        Self {
            format: FORMAT.into(),
            version: VERSION,
            agency: agency.into(),
            members: Vec::new(),
            template: template.name().into(),
            period: PeriodOf::of(period),
            review_dating: review_dating.into(),
            source: Source::Rollup { log_position: 0, members_counted: 0 },
            section_three: SectionThree {
                columns: strings(&COLUMN_CODES),
                rows: template
                    .rows()
                    .iter()
                    .map(|spec| Row {
                        code: row_code(spec.row.code()).into(),
                        label: spec.label.into(),
                        values: vec![0; 7],
                    })
                    .collect(),
            },
            section_four: SectionFour {
                columns: strings(&REVIEW_COLUMN_CODES),
                blocks: REVIEW_BLOCK_CODES
                    .iter()
                    .zip(REVIEW_BLOCKS)
                    .map(|(code, label)| Row { code: code.to_string(), label: label.into(), values: vec![0; 5] })
                    .collect(),
            },
            section_two,
            checks: Vec::new(),
        }
    }

    /// The table as pretty JSON, with a final newline.
    pub fn to_json(&self) -> String {
        serde_json::to_string_pretty(self).expect("a table always serializes") + "\n"
    }
}

fn strings(codes: &[&str]) -> Vec<String> {
    codes.iter().map(|c| c.to_string()).collect()
}

/// Section 二's block with the codes of its title, rows and columns.
fn proactive_block(b: &proto::ProactiveBlock) -> Result<ProactiveBlock, String> {
    let code = |label: &str| {
        proactive_table::code_of(label).map(str::to_string).ok_or_else(|| format!("section 二 has no code for {label}"))
    };
    Ok(ProactiveBlock {
        code: code(&b.title)?,
        title: b.title.clone(),
        columns: b
            .columns
            .iter()
            .enumerate()
            .map(|(i, label)| {
                let money = b.money.get(i).copied().unwrap_or(false);
                Ok(Column {
                    code: code(label)?,
                    label: label.clone(),
                    unit: if money { "fen" } else { "count" }.into(),
                })
            })
            .collect::<Result<_, String>>()?,
        rows: b
            .rows
            .iter()
            .map(|r| Ok(Row { code: code(&r.label)?, label: r.label.clone(), values: r.values.clone() }))
            .collect::<Result<_, String>>()?,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::report::template::{COLUMNS, REVIEW_COLUMNS};

    #[test]
    fn the_codes_follow_the_labels_one_for_one() {
        assert_eq!(COLUMN_CODES.len(), COLUMNS.len());
        assert_eq!(REVIEW_BLOCK_CODES.len(), REVIEW_BLOCKS.len());
        assert_eq!(REVIEW_COLUMN_CODES.len(), REVIEW_COLUMNS.len());
        assert_eq!(row_code("total"), "7_total");
        assert_eq!(api_row_code("7_total"), "total");
        assert_eq!(row_code("3.1"), "3.1");
    }

    #[test]
    fn the_published_schema_names_this_version() {
        let schema: serde_json::Value = serde_json::from_str(SCHEMA).unwrap();
        assert_eq!(schema["properties"]["format"]["const"], FORMAT);
        assert_eq!(schema["properties"]["version"]["const"], VERSION);
    }
}
