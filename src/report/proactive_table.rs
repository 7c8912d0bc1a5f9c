//! Section 二 of a year's report (主动公开政府信息情况): the counted cells,
//! from the tallies or from the subjects one by one, and their layout in
//! each template version.
//!
//! Running totals are what the subjects' dates say at the end of the year:
//! a document is in force (现行有效) from its issue until its repeal; 对外公开
//! 总数量 counts every document published by the end of the year (a total,
//! as the 2019 template names it, so a later repeal does not lower it);
//! 上一年项目数量 is the catalogue at the end of the year before.

use std::collections::BTreeMap;

use crate::domain::date::CivilDate;
use crate::domain::date::Month;
use crate::domain::proactive::Record;
use crate::domain::subject::SubjectState;
use crate::domain::tally::MonthTally;
use crate::report::template::Template;

/// The counted cells of section 二 for one year.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct ProactiveCells {
    /// By document kind (规章, 规范性文件).
    pub issued: [i64; 2],
    pub published: [i64; 2],
    pub repealed: [i64; 2],
    pub in_force: [i64; 2],
    pub published_total: [i64; 2],
    /// By catalogue kind (许可, 其他服务, 处罚, 强制, 收费).
    pub items_last_year: [i64; 5],
    pub items_change: [i64; 5],
    /// By decision kind (许可, 其他服务, 处罚, 强制).
    pub decisions: [i64; 4],
    pub fees_fen: i64,
    pub procurements: i64,
    pub procurement_fen: i64,
}

fn add<const N: usize>(a: &mut [i64; N], b: &[i64; N]) {
    a.iter_mut().zip(b).for_each(|(x, y)| *x += y);
}

impl ProactiveCells {
    /// From an agency's month tallies, for the whole months `first` to
    /// `last`: flows in them, stocks at their start and end.
    pub fn from_tallies(tallies: &BTreeMap<Month, MonthTally>, first: Month, last: Month) -> Self {
        let mut cells = Self::default();
        for (m, t) in tallies.range(..=last) {
            let p = &t.proactive;
            for k in 0..2 {
                cells.in_force[k] += p.issued[k] - p.repealed[k];
                cells.published_total[k] += p.published[k];
            }
            for k in 0..5 {
                if *m < first {
                    cells.items_last_year[k] += p.added[k] - p.removed[k];
                } else {
                    cells.items_change[k] += p.added[k] - p.removed[k];
                }
            }
            if *m >= first {
                add(&mut cells.issued, &p.issued);
                add(&mut cells.published, &p.published);
                add(&mut cells.repealed, &p.repealed);
                add(&mut cells.decisions, &p.decisions);
                cells.fees_fen += p.fees_fen;
                cells.procurements += p.procurements;
                cells.procurement_fen += p.procurement_fen;
            }
        }
        cells
    }

    /// Counts one subject straight from its facts (the reference the
    /// tallies are checked against).
    pub fn count(&mut self, state: &SubjectState, year: i32) {
        self.count_in(state, &crate::report::period::Period::year(year));
    }

    /// Counts one subject into a period's cells: flows in the period,
    /// stocks at its start and end.
    pub fn count_in(&mut self, state: &SubjectState, period: &crate::report::period::Period) {
        let (jan1, dec31) = (period.first, period.last);
        let in_year = |d: CivilDate| period.contains(d);
        match state {
            SubjectState::Document(d) => {
                let k = d.kind as usize;
                self.issued[k] += i64::from(in_year(d.issued_on));
                self.published[k] += i64::from(d.published_on.is_some_and(in_year));
                self.repealed[k] += i64::from(d.repealed_on.is_some_and(in_year));
                self.in_force[k] += i64::from(d.issued_on <= dec31 && d.repealed_on.is_none_or(|r| r > dec31));
                self.published_total[k] += i64::from(d.published_on.is_some_and(|p| p <= dec31));
            }
            SubjectState::CatalogueItem(i) => {
                let k = i.kind as usize;
                self.items_last_year[k] += i64::from(i.added_on < jan1 && i.removed_on.is_none_or(|r| r >= jan1));
                self.items_change[k] += i64::from(in_year(i.added_on)) - i64::from(i.removed_on.is_some_and(in_year));
            }
            SubjectState::Record(Record::Decisions { kind, count, on }) if in_year(*on) => {
                self.decisions[*kind as usize] += i64::from(*count);
            }
            SubjectState::Record(Record::Fees { amount_fen, on }) if in_year(*on) => self.fees_fen += amount_fen,
            SubjectState::Record(Record::Procurement { amount_fen, on }) if in_year(*on) => {
                self.procurements += 1;
                self.procurement_fen += amount_fen;
            }
            _ => {}
        }
    }

    /// Cell by cell sum.
    pub fn add(&mut self, other: &Self) {
        add(&mut self.issued, &other.issued);
        add(&mut self.published, &other.published);
        add(&mut self.repealed, &other.repealed);
        add(&mut self.in_force, &other.in_force);
        add(&mut self.published_total, &other.published_total);
        add(&mut self.items_last_year, &other.items_last_year);
        add(&mut self.items_change, &other.items_change);
        add(&mut self.decisions, &other.decisions);
        self.fees_fen += other.fees_fen;
        self.procurements += other.procurements;
        self.procurement_fen += other.procurement_fen;
    }

    /// Running totals that cannot be negative, named if they are.
    pub fn negative_totals(&self) -> Vec<String> {
        let mut out = Vec::new();
        for k in 0..2 {
            if self.in_force[k] < 0 {
                out.push(format!("documents in force [{k}]: {}", self.in_force[k]));
            }
        }
        for k in 0..5 {
            if self.items_last_year[k] < 0 || self.items_last_year[k] + self.items_change[k] < 0 {
                out.push(format!("catalogue [{k}]: {} then {:+}", self.items_last_year[k], self.items_change[k]));
            }
        }
        out
    }
}

/// A cell of section 二: a count, or money kept in fen and shown in the
/// unit its column names (万元).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Value {
    Count(i64),
    Fen(i64),
}

/// One block of section 二 (第二十条第（X）项).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Block {
    pub title: &'static str,
    pub columns: Vec<&'static str>,
    pub rows: Vec<(&'static str, Vec<Value>)>,
    /// Blocks of one table share its width; a new table starts after a
    /// blank line (the 2019 template's 第（九）项).
    pub new_table: bool,
}

/// The blocks of a template, filled from the cells.
pub fn blocks(c: &ProactiveCells, template: Template) -> Vec<Block> {
    use Value::{Count, Fen};
    let block = |title, columns: &[&'static str], rows: Vec<(&'static str, Vec<Value>)>| Block {
        title,
        columns: columns.to_vec(),
        rows,
        new_table: false,
    };
    match template {
        Template::V2021 => vec![
            block(
                "第二十条第（一）项",
                &["本年制发件数", "本年废止件数", "现行有效件数"],
                vec![
                    ("规章", vec![Count(c.issued[0]), Count(c.repealed[0]), Count(c.in_force[0])]),
                    ("行政规范性文件", vec![Count(c.issued[1]), Count(c.repealed[1]), Count(c.in_force[1])]),
                ],
            ),
            block("第二十条第（五）项", &["本年处理决定数量"], vec![("行政许可", vec![Count(c.decisions[0])])]),
            block(
                "第二十条第（六）项",
                &["本年处理决定数量"],
                vec![("行政处罚", vec![Count(c.decisions[2])]), ("行政强制", vec![Count(c.decisions[3])])],
            ),
            block(
                "第二十条第（八）项",
                &["本年收费金额（单位：万元）"],
                vec![("行政事业性收费", vec![Fen(c.fees_fen)])],
            ),
        ],
        Template::V2019 => {
            let items = |k: usize| vec![Count(c.items_last_year[k]), Count(c.items_change[k]), Count(c.decisions[k])];
            vec![
                block(
                    "第二十条第（一）项",
                    &["本年新制作数量", "本年新公开数量", "对外公开总数量"],
                    vec![
                        ("规章", vec![Count(c.issued[0]), Count(c.published[0]), Count(c.published_total[0])]),
                        ("规范性文件", vec![Count(c.issued[1]), Count(c.published[1]), Count(c.published_total[1])]),
                    ],
                ),
                block(
                    "第二十条第（五）项",
                    &["上一年项目数量", "本年增/减", "处理决定数量"],
                    vec![("行政许可", items(0)), ("其他对外管理服务事项", items(1))],
                ),
                block(
                    "第二十条第（六）项",
                    &["上一年项目数量", "本年增/减", "处理决定数量"],
                    vec![("行政处罚", items(2)), ("行政强制", items(3))],
                ),
                block(
                    "第二十条第（八）项",
                    &["上一年项目数量", "本年增/减"],
                    vec![("行政事业性收费", vec![Count(c.items_last_year[4]), Count(c.items_change[4])])],
                ),
                Block {
                    new_table: true,
                    ..block(
                        "第二十条第（九）项",
                        &["采购项目数量", "采购总金额"],
                        vec![("政府集中采购", vec![Count(c.procurements), Fen(c.procurement_fen)])],
                    )
                },
            ]
        }
    }
}

/// The exchange format's code of each title, row and column label of
/// section 二 in either template (labels that mean the same thing in both
/// share a code).
const CODES: [(&str, &str); 27] = [
    ("第二十条第（一）项", "20.1"),
    ("第二十条第（五）项", "20.5"),
    ("第二十条第（六）项", "20.6"),
    ("第二十条第（八）项", "20.8"),
    ("第二十条第（九）项", "20.9"),
    ("规章", "regulations"),
    ("行政规范性文件", "normative_documents"),
    ("规范性文件", "normative_documents"),
    ("行政许可", "licensing"),
    ("其他对外管理服务事项", "other_services"),
    ("行政处罚", "penalties"),
    ("行政强制", "enforcement"),
    ("行政事业性收费", "fees"),
    ("政府集中采购", "procurement"),
    ("本年制发件数", "issued"),
    ("本年新制作数量", "issued"),
    ("本年废止件数", "repealed"),
    ("现行有效件数", "in_force"),
    ("本年新公开数量", "published"),
    ("对外公开总数量", "published_total"),
    ("上一年项目数量", "items_last_year"),
    ("本年增/减", "items_change"),
    ("处理决定数量", "decisions"),
    ("本年处理决定数量", "decisions"),
    ("本年收费金额（单位：万元）", "amount"),
    ("采购项目数量", "projects"),
    ("采购总金额", "amount"),
];

/// The exchange code of a section 二 label.
pub fn code_of(label: &str) -> Option<&'static str> {
    CODES.iter().find(|(l, _)| *l == label).map(|(_, c)| *c)
}

/// Fen as 万元, exactly (1 万元 = 1,000,000 fen): trailing zeros dropped.
pub fn wan_yuan(fen: i64) -> String {
    let sign = if fen < 0 { "-" } else { "" };
    let (whole, part) = (fen.unsigned_abs() / 1_000_000, fen.unsigned_abs() % 1_000_000);
    if part == 0 {
        return format!("{sign}{whole}");
    }
    let decimals = format!("{part:06}");
    format!("{sign}{whole}.{}", decimals.trim_end_matches('0'))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_label_of_both_templates_has_a_code() {
        for template in [Template::V2019, Template::V2021] {
            for b in blocks(&ProactiveCells::default(), template) {
                let labels =
                    std::iter::once(b.title).chain(b.columns.iter().copied()).chain(b.rows.iter().map(|r| r.0));
                for label in labels {
                    assert!(code_of(label).is_some(), "{template}: {label}");
                }
            }
        }
    }

    #[test]
    fn money_is_shown_exactly_in_wan_yuan() {
        assert_eq!(wan_yuan(0), "0");
        assert_eq!(wan_yuan(1_000_000), "1");
        assert_eq!(wan_yuan(123_456_789), "123.456789");
        assert_eq!(wan_yuan(1_230_000), "1.23");
        assert_eq!(wan_yuan(1), "0.000001");
        assert_eq!(wan_yuan(-2_500_000), "-2.5");
    }
}
