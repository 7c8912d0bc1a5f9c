//! Which column of a ledger holds what: the fields, their usual Chinese
//! headings, and a mapping file for other headings.

use std::collections::{BTreeMap, HashMap};
use std::path::Path;

use anyhow::{Context as _, bail};
use serde::Deserialize;

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

    /// The cell of `field` in `row` ("" where the file has no such column).
    pub fn get<'r>(&self, row: &'r [String], field: Field) -> &'r str {
        self.0.get(&field).and_then(|(i, _)| row.get(*i)).map_or("", String::as_str)
    }

    /// The column as the file names it (the field's name if it has none).
    pub fn name(&self, field: Field) -> &str {
        self.0.get(&field).map_or(field.headers()[0], |(_, h)| h.as_str())
    }
}
