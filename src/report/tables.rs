//! A year's report tables for one agency or a sum of agencies: section 二
//! (proactive disclosure), section 三 (applications) and section 四
//! (review and litigation), with the checks
//! every table must pass. The numbers come either from the maintained
//! month tallies (fast, for whole months) or from counting replayed
//! subjects one by one (the reference, and any range of days); both must
//! agree.

use std::collections::BTreeMap;

use crate::domain::codes::Outcome;
use crate::domain::date::Month;
use crate::domain::ids::AgencyId;
use crate::domain::subject::SubjectState;
use crate::domain::tally::{MAX_SPAN_MONTHS, MonthTally};
use crate::report::period::Period;
use crate::report::proactive_table::{Block, ProactiveCells, blocks};
use crate::report::template::{Row, RowSpec, Template};

/// How section 四 dates a case. No official rule fixes it.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash)]
pub enum ReviewDating {
    /// Cases filed in the year, each with its status on 31 December (the
    /// usual reading).
    #[default]
    FiledInYear,
    /// Cases decided in the year by result, plus cases pending on
    /// 31 December.
    DecidedInYear,
}

/// The counted cells of one year, before the template lays them out:
/// six applicant columns each.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct YearCells {
    pub new: [i64; 6],
    pub carried_in: [i64; 6],
    pub outcomes: [[i64; 6]; 21],
    pub carried_out: [i64; 6],
    /// Section 四: kind × (upheld, corrected, other, pending).
    pub reviews: [[i64; 4]; 3],
    /// Section 二.
    pub proactive: ProactiveCells,
}

impl YearCells {
    /// From the month tallies of an agency, for the whole months `first`
    /// to `last`; `None` past [`MAX_SPAN_MONTHS`] (section 四's results at
    /// the period's end are kept for no longer), which replay counts. New
    /// and outcomes are the months'; what is carried in is what was received
    /// and not concluded in all earlier months (a conclusion never precedes
    /// its receipt).
    pub fn from_tallies(
        tallies: &BTreeMap<Month, MonthTally>,
        first: Month,
        last: Month,
        dating: ReviewDating,
    ) -> Option<Self> {
        let span = usize::try_from(first.until(last)).ok()?;
        if span >= MAX_SPAN_MONTHS {
            return None;
        }
        let mut cells = Self { proactive: ProactiveCells::from_tallies(tallies, first, last), ..Self::default() };
        let concluded = |t: &MonthTally, c: usize| t.outcomes.iter().map(|o| o[c]).sum::<i64>();
        for t in tallies.range(..first).map(|(_, t)| t) {
            for c in 0..6 {
                cells.carried_in[c] += t.new[c] - concluded(t, c);
            }
        }
        let (mut filed, mut decided) = ([0i64; 3], [[0i64; 3]; 3]);
        for (month, t) in tallies.range(first..=last) {
            for c in 0..6 {
                cells.new[c] += t.new[c];
                for (sum, o) in cells.outcomes.iter_mut().zip(&t.outcomes) {
                    sum[c] += o[c];
                }
            }
            // Filed this month and decided by the period's last month.
            let within = usize::try_from(month.until(last)).expect("in the range");
            for k in 0..3 {
                filed[k] += t.filed[k];
                for (r, (sum, after)) in decided[k].iter_mut().zip(&t.decided_after[k]).enumerate() {
                    *sum += t.decided[k][r];
                    if dating == ReviewDating::FiledInYear {
                        cells.reviews[k][r] += after[..=within].iter().sum::<i64>();
                    }
                }
            }
        }
        for c in 0..6 {
            cells.carried_out[c] =
                cells.carried_in[c] + cells.new[c] - cells.outcomes.iter().map(|o| o[c]).sum::<i64>();
        }
        for k in 0..3 {
            match dating {
                ReviewDating::FiledInYear => {
                    cells.reviews[k][3] = filed[k] - cells.reviews[k][..3].iter().sum::<i64>();
                }
                ReviewDating::DecidedInYear => {
                    cells.reviews[k][..3].copy_from_slice(&decided[k]);
                    // Filed by the period's end and not decided by then.
                    let (filed, decided): (i64, i64) = tallies
                        .range(..=last)
                        .map(|(_, t)| (t.filed[k], t.decided[k].iter().sum::<i64>()))
                        .fold((0, 0), |(a, b), (f, d)| (a + f, b + d));
                    cells.reviews[k][3] = filed - decided;
                }
            }
        }
        Some(cells)
    }

    /// Counts one subject into the cells of `year`, deciding each row from
    /// its own dates (the reference the tallies are checked against).
    pub fn count(&mut self, state: &SubjectState, year: i32, dating: ReviewDating) {
        self.count_in(state, &Period::year(year), dating);
    }

    /// Counts one subject into the cells of a period: received in it (新收),
    /// received before it and open at its start (结转), concluded in it,
    /// open at its end; review cases filed (or decided) in it, with their
    /// result at its end.
    pub fn count_in(&mut self, state: &SubjectState, period: &Period, dating: ReviewDating) {
        self.proactive.count_in(state, period);
        let (first, last) = (period.first, period.last);
        match state {
            SubjectState::Application(a) if a.split_into.is_empty() => {
                let col = a.applicant.column();
                if period.contains(a.received_on) {
                    self.new[col] += 1;
                }
                if a.received_on < first && a.conclusion.is_none_or(|c| c.on >= first) {
                    self.carried_in[col] += 1;
                }
                if let Some(c) = a.conclusion.filter(|c| period.contains(c.on)) {
                    self.outcomes[c.outcome.index()][col] += 1;
                }
                if a.open_at_end_of(last) {
                    self.carried_out[col] += 1;
                }
            }
            SubjectState::ReviewCase(c) => {
                let k = c.kind as usize;
                match dating {
                    ReviewDating::FiledInYear if period.contains(c.filed_on) => match c.result_at_end_of(last) {
                        Some(r) => self.reviews[k][r as usize] += 1,
                        None => self.reviews[k][3] += 1,
                    },
                    ReviewDating::FiledInYear => {}
                    ReviewDating::DecidedInYear => match c.decision {
                        Some((on, r)) if period.contains(on) => self.reviews[k][r as usize] += 1,
                        _ if c.filed_on <= last && c.result_at_end_of(last).is_none() => self.reviews[k][3] += 1,
                        _ => {}
                    },
                }
            }
            _ => {}
        }
    }

    /// Cell by cell sum (a region's consolidated cells).
    pub fn add(&mut self, other: &Self) {
        fn add6(a: &mut [i64; 6], b: &[i64; 6]) {
            a.iter_mut().zip(b).for_each(|(x, y)| *x += y);
        }
        add6(&mut self.new, &other.new);
        add6(&mut self.carried_in, &other.carried_in);
        add6(&mut self.carried_out, &other.carried_out);
        for (a, b) in self.outcomes.iter_mut().zip(&other.outcomes) {
            add6(a, b);
        }
        for (a, b) in self.reviews.iter_mut().zip(&other.reviews) {
            a.iter_mut().zip(b).for_each(|(x, y)| *x += y);
        }
        self.proactive.add(&other.proactive);
    }
}

/// One numbered row of section 三: six applicant columns and 总计.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct TableRow {
    pub spec: RowSpec,
    pub values: [i64; 7],
}

/// Section 三 in a template's layout.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ApplicationTable {
    pub template: Template,
    pub rows: Vec<TableRow>,
}

impl ApplicationTable {
    pub fn build(cells: &YearCells, template: Template) -> Self {
        let with_total = |six: [i64; 6]| {
            let mut v = [0; 7];
            v[..6].copy_from_slice(&six);
            v[6] = six.iter().sum();
            v
        };
        let sum_leaves = |pick: &dyn Fn(Outcome) -> bool| {
            let mut six = [0; 6];
            for o in Outcome::ALL.iter().filter(|o| pick(**o)) {
                six.iter_mut().zip(&cells.outcomes[o.index()]).for_each(|(s, v)| *s += v);
            }
            six
        };
        let rows = template
            .rows()
            .into_iter()
            .map(|spec| {
                let six = match spec.row {
                    Row::New => cells.new,
                    Row::CarriedIn => cells.carried_in,
                    Row::CarriedOut => cells.carried_out,
                    row => sum_leaves(&|o| row.holds(o)),
                };
                TableRow { spec, values: with_total(six) }
            })
            .collect();
        Self { template, rows }
    }

    pub fn row(&self, row: Row) -> Option<&[i64; 7]> {
        self.rows.iter().find(|r| r.spec.row == row).map(|r| &r.values)
    }

    /// Cell by cell sum; tables of different template versions cannot be
    /// summed (their rows differ).
    pub fn add(&self, other: &Self) -> Result<Self, String> {
        if self.template != other.template {
            return Err(format!(
                "cannot sum a {} template table with a {} template table",
                self.template, other.template
            ));
        }
        let mut out = self.clone();
        for (a, b) in out.rows.iter_mut().zip(&other.rows) {
            a.values.iter_mut().zip(&b.values).for_each(|(x, y)| *x += y);
        }
        Ok(out)
    }
}

/// Section 四: for each kind, (upheld, corrected, other, pending, total).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct ReviewTable {
    pub blocks: [[i64; 5]; 3],
}

impl ReviewTable {
    pub fn build(cells: &YearCells) -> Self {
        let mut blocks = [[0; 5]; 3];
        for (block, counted) in blocks.iter_mut().zip(&cells.reviews) {
            block[..4].copy_from_slice(counted);
            block[4] = counted.iter().sum();
        }
        Self { blocks }
    }

    /// The 15 numbers in the template's order.
    pub fn numbers(&self) -> [i64; 15] {
        let mut out = [0; 15];
        for k in 0..3 {
            out[k * 5..k * 5 + 5].copy_from_slice(&self.blocks[k]);
        }
        out
    }
}

/// One check of a table's arithmetic.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Check {
    pub name: &'static str,
    pub passed: bool,
    /// What failed, cell by cell; empty when passed.
    pub detail: String,
}

/// A period's tables (a year's, for the annual report).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Report {
    pub agencies: Vec<AgencyId>,
    /// The year the tables belong to: the period's last day's.
    pub year: i32,
    pub period: Period,
    pub dating: ReviewDating,
    /// The log position the tables reflect.
    pub position: u64,
    pub applications: ApplicationTable,
    pub reviews: ReviewTable,
    /// Section 二, in the template's blocks.
    pub proactive: Vec<Block>,
    pub checks: Vec<Check>,
}

impl Report {
    /// Lays out the cells and runs every check; `previous` is the cells of
    /// the year before, for the carried-over check.
    pub fn new(
        agencies: Vec<AgencyId>,
        year: i32,
        template: Template,
        dating: ReviewDating,
        position: u64,
        cells: &YearCells,
        previous: &YearCells,
    ) -> Self {
        Self::for_period(agencies, Period::year(year), template, dating, position, cells, previous)
    }

    /// The tables of any period; `previous` is the cells of the period
    /// before it, for the carried-over check.
    pub fn for_period(
        agencies: Vec<AgencyId>,
        period: Period,
        template: Template,
        dating: ReviewDating,
        position: u64,
        cells: &YearCells,
        previous: &YearCells,
    ) -> Self {
        let year = period.report_year();
        let applications = ApplicationTable::build(cells, template);
        let reviews = ReviewTable::build(cells);
        let mut checks = checks(&applications, &reviews, cells, previous);
        checks.push(check("proactive_totals_not_negative", cells.proactive.negative_totals()));
        let proactive = blocks(&cells.proactive, template);
        Self { agencies, year, period, dating, position, applications, reviews, proactive, checks }
    }

    pub fn passed(&self) -> bool {
        self.checks.iter().all(|c| c.passed)
    }
}

fn check(name: &'static str, failures: Vec<String>) -> Check {
    Check { name, passed: failures.is_empty(), detail: failures.join("; ") }
}

const COLUMN_NAMES: [&str; 7] = ["自然人", "商业企业", "科研机构", "社会公益组织", "法律服务机构", "其他", "总计"];

fn checks(table: &ApplicationTable, reviews: &ReviewTable, cells: &YearCells, previous: &YearCells) -> Vec<Check> {
    let get = |row| table.row(row).copied().unwrap_or([0; 7]);
    let (new, carried_in, total, carried_out) =
        (get(Row::New), get(Row::CarriedIn), get(Row::Total), get(Row::CarriedOut));
    let balance = (0..7)
        .filter(|&c| new[c] + carried_in[c] != total[c] + carried_out[c])
        .map(|c| format!("{}: {} + {} ≠ {} + {}", COLUMN_NAMES[c], new[c], carried_in[c], total[c], carried_out[c]))
        .collect();
    let leaves: Vec<&TableRow> =
        table.rows.iter().filter(|r| matches!(r.spec.row, Row::Outcome(_) | Row::OtherHandling)).collect();
    let leaf_sum = (0..7)
        .filter_map(|c| {
            let sum: i64 = leaves.iter().map(|r| r.values[c]).sum();
            (sum != total[c]).then(|| format!("{}: leaves sum to {sum}, （七）总计 is {}", COLUMN_NAMES[c], total[c]))
        })
        .collect();
    let row_sum = table
        .rows
        .iter()
        .filter(|r| r.values[..6].iter().sum::<i64>() != r.values[6])
        .map(|r| {
            format!(
                "{}: columns sum to {}, 总计 is {}",
                r.spec.row.code(),
                r.values[..6].iter().sum::<i64>(),
                r.values[6]
            )
        })
        .collect();
    let carried = (0..6)
        .filter(|&c| cells.carried_in[c] != previous.carried_out[c])
        .map(|c| {
            format!(
                "{}: carried in {}, previous year carried out {}",
                COLUMN_NAMES[c], cells.carried_in[c], previous.carried_out[c]
            )
        })
        .collect();
    let non_negative = table
        .rows
        .iter()
        .flat_map(|r| {
            r.values
                .iter()
                .enumerate()
                .filter(|(_, v)| **v < 0)
                .map(move |(c, v)| format!("{} {}: {v}", r.spec.row.code(), COLUMN_NAMES[c]))
        })
        .chain(reviews.numbers().iter().enumerate().filter(|(_, v)| **v < 0).map(|(i, v)| format!("四[{i}]: {v}")))
        .collect();
    let review_totals = reviews
        .blocks
        .iter()
        .enumerate()
        .filter(|(_, b)| b[..4].iter().sum::<i64>() != b[4])
        .map(|(k, b)| format!("block {k}: four columns sum to {}, 总计 is {}", b[..4].iter().sum::<i64>(), b[4]))
        .collect();
    vec![
        check("balance", balance),
        check("leaf_sum", leaf_sum),
        check("row_sum", row_sum),
        check("carried_in_equals_previous_carried_out", carried),
        check("non_negative", non_negative),
        check("review_totals", review_totals),
    ]
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::domain::date::CivilDate;

    #[test]
    fn tables_of_different_templates_cannot_be_summed() {
        let cells = YearCells { new: [1, 0, 0, 0, 0, 0], carried_out: [1, 0, 0, 0, 0, 0], ..YearCells::default() };
        let old = ApplicationTable::build(&cells, Template::V2019);
        let new = ApplicationTable::build(&cells, Template::V2021);
        assert!(old.add(&new).is_err());
        let sum = new.add(&new).unwrap();
        assert_eq!(sum.row(Row::New), Some(&[2, 0, 0, 0, 0, 0, 2]));
    }

    #[test]
    fn a_broken_table_fails_its_checks() {
        // Cells that do not balance (as a bug in a derivation would give).
        let cells = YearCells { new: [1, 0, 0, 0, 0, 0], ..YearCells::default() };
        let previous = YearCells { carried_out: [2, 0, 0, 0, 0, 0], ..YearCells::default() };
        let agency = AgencyId::parse("a").unwrap();
        let report = Report::new(vec![agency], 2024, Template::V2021, ReviewDating::default(), 1, &cells, &previous);
        assert!(!report.passed());
        let failed: Vec<_> = report.checks.iter().filter(|c| !c.passed).map(|c| c.name).collect();
        assert_eq!(failed, vec!["balance", "carried_in_equals_previous_carried_out"]);
    }

    /// Every run of up to twelve whole months from 2023 to 2026, counted
    /// from month tallies, equals the count subject by subject: review
    /// cases filed in every month of 2024 and decided 0 to 14 months later
    /// (or never), applications received then and concluded as late, and
    /// section 二's documents, catalogue items and fees.
    #[test]
    fn month_tallies_count_every_whole_month_period_as_the_subjects_do() {
        use crate::domain::application::{Application, Conclusion};
        use crate::domain::codes::{ApplicantCategory, CatalogueKind, Channel, DocumentKind, ReviewKind, ReviewResult};
        use crate::domain::proactive::{CatalogueItem, Document, Record};
        use crate::domain::review::ReviewCase;
        use crate::domain::tally::Contribution;
        let day = |m: i64, d: u32| {
            let (y, m) = (2024 + m.div_euclid(12) as i32, m.rem_euclid(12) as u32 + 1);
            CivilDate::from_ymd(y, m, d).unwrap()
        };
        let mut states = Vec::new();
        for filed in 0..12i64 {
            for later in (0..15).map(Some).chain([None]) {
                let on = day(filed, 10);
                let mut case = ReviewCase::filed(on, ReviewKind::ALL[(filed % 3) as usize], None);
                case.decision = later.map(|l| (day(filed + l, 20), ReviewResult::ALL[(l % 3) as usize]));
                states.push(SubjectState::ReviewCase(case));
                let mut app = Application::received(on, ApplicantCategory::ALL[(filed % 6) as usize], Channel::Online);
                app.conclusion = later.map(|l| Conclusion {
                    on: day(filed + l, 20),
                    outcome: Outcome::ALL[l as usize],
                    withdrawn: false,
                });
                states.push(SubjectState::Application(app));
                let removed = later.map(|l| day(filed + l, 20));
                states.push(SubjectState::CatalogueItem(CatalogueItem {
                    kind: CatalogueKind::ALL[(filed % 5) as usize],
                    added_on: on,
                    removed_on: removed,
                }));
                states.push(SubjectState::Document(Document {
                    kind: DocumentKind::ALL[(filed % 2) as usize],
                    issued_on: on,
                    published_on: later.map(|l| day(filed + l / 2, 25)),
                    repealed_on: removed,
                }));
                states.push(SubjectState::Record(Record::Fees { amount_fen: 100 + filed, on }));
            }
        }
        let mut tallies: BTreeMap<Month, MonthTally> = BTreeMap::new();
        for state in &states {
            let c = Contribution::of(state);
            for m in c.months() {
                c.apply(m, tallies.entry(m).or_default(), 1);
            }
        }
        for start in -12..36i64 {
            for len in 1..=12i64 {
                let period = Period::new(day(start, 1), day(start + len, 1).pred()).unwrap();
                let (first, last) = period.whole_months().unwrap();
                for dating in [ReviewDating::FiledInYear, ReviewDating::DecidedInYear] {
                    let mut counted = YearCells::default();
                    states.iter().for_each(|s| counted.count_in(s, &period, dating));
                    let from_tallies = YearCells::from_tallies(&tallies, first, last, dating);
                    assert_eq!(from_tallies.as_ref(), Some(&counted), "{period} {dating:?}");
                }
            }
        }
        let (first, last) = Period::new(day(0, 1), day(12, 31)).unwrap().whole_months().unwrap();
        assert_eq!(YearCells::from_tallies(&tallies, first, last, ReviewDating::default()), None, "13 months: replay");
    }
}
