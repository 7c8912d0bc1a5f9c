//! The period a table counts: a year (the annual report's), a half-year, a
//! quarter, a month, or any range of days. 本期新收 is what was received in
//! it, 上期结转 what was received before it and still open at its start,
//! the outcomes what was concluded in it, 结转下期 what was open at its end;
//! so consecutive periods chain by construction.

use std::fmt;
use std::str::FromStr;

use crate::domain::date::{CivilDate, Month};

/// A closed range of days, `first` to `last`.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct Period {
    pub first: CivilDate,
    pub last: CivilDate,
}

fn ymd(y: i32, m: u32, d: u32) -> Option<CivilDate> {
    CivilDate::from_ymd(y, m, d)
}

/// The last day of a month.
fn month_end(year: i32, month: u32) -> Option<CivilDate> {
    let (y, m) = if month == 12 { (year + 1, 1) } else { (year, month + 1) };
    Some(ymd(y, m, 1)?.pred())
}

impl Period {
    /// A range of days; `None` if it ends before it starts.
    pub fn new(first: CivilDate, last: CivilDate) -> Option<Self> {
        (first <= last).then_some(Self { first, last })
    }

    pub fn year(year: i32) -> Self {
        Self { first: ymd(year, 1, 1).expect("valid"), last: ymd(year, 12, 31).expect("valid") }
    }

    /// Months `from` to `to` (1-12) of a year.
    pub fn months(year: i32, from: u32, to: u32) -> Option<Self> {
        Self::new(ymd(year, from, 1)?, month_end(year, to)?)
    }

    /// The whole months it is, first and last, if it starts on a 1st and
    /// ends on a month's last day.
    pub fn whole_months(&self) -> Option<(Month, Month)> {
        let (first, last) = (Month::of(self.first), Month::of(self.last));
        let aligned = self.first.day() == 1 && Some(self.last) == month_end(last.year, u32::from(last.month));
        aligned.then_some((first, last))
    }

    /// The whole year it is, if it is one.
    pub fn whole_year(&self) -> Option<i32> {
        (*self == Self::year(self.first.year())).then(|| self.first.year())
    }

    /// The year the period's tables belong to (its last day's), which
    /// decides the template in force.
    pub fn report_year(&self) -> i32 {
        self.last.year()
    }

    pub fn contains(&self, day: CivilDate) -> bool {
        self.first <= day && day <= self.last
    }

    /// The period just before, for the carried-over check: as many whole
    /// months ending the month before when this is whole months (the
    /// previous year, half, quarter or month), else the range of as many
    /// days ending the day before. (Only its end matters: what was open
    /// then is what this period carries in.)
    pub fn previous(&self) -> Self {
        if let Some((first, last)) = self.whole_months() {
            let len = first.until(last) + 1;
            let month = |index: i64| {
                let (year, m) = (index.div_euclid(12), index.rem_euclid(12) + 1);
                (i32::try_from(year).expect("a year of a date"), m as u32)
            };
            let (y1, m1) = month(first.index() - len);
            let (y2, m2) = month(first.index() - 1);
            let start = ymd(y1, m1, 1).expect("valid");
            return Self { first: start, last: month_end(y2, m2).expect("valid") };
        }
        let days = (self.last.naive() - self.first.naive()).num_days();
        let last = self.first.pred();
        let first = CivilDate::from_naive(last.naive() - chrono::Duration::days(days));
        Self { first, last }
    }

    /// 统计期限, e.g. 2025年7月1日至2025年9月30日.
    pub fn label(&self) -> String {
        let d = |c: CivilDate| format!("{}年{}月{}日", c.year(), c.month(), c.day());
        format!("{}至{}", d(self.first), d(self.last))
    }
}

impl fmt::Display for Period {
    /// The form [`FromStr`] reads: `2025`, `2025-H1`, `2025-Q3`, `2025-07`,
    /// or `2025-03-01..2025-05-31`.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let (y, m1, m2) = (self.first.year(), self.first.month(), self.last.month());
        let months =
            self.first == ymd(y, m1, 1).expect("valid") && Some(self.last) == month_end(y, m2) && self.last.year() == y;
        match (months, m2 + 1 - m1) {
            (true, 12) => write!(f, "{y}"),
            (true, 6) if m1 == 1 || m1 == 7 => write!(f, "{y}-H{}", m1 / 6 + 1),
            (true, 3) if (m1 - 1) % 3 == 0 => write!(f, "{y}-Q{}", m1 / 3 + 1),
            (true, 1) => write!(f, "{y}-{m1:02}"),
            _ => write!(f, "{}..{}", self.first, self.last),
        }
    }
}

impl FromStr for Period {
    type Err = String;

    fn from_str(s: &str) -> Result<Self, String> {
        let bad = || format!("{s:?} is not a period: 2025, 2025-H1, 2025-Q3, 2025-07 or 2025-03-01..2025-05-31");
        if let Some((a, b)) = s.split_once("..") {
            let first: CivilDate = a.trim().parse().map_err(|_| bad())?;
            let last: CivilDate = b.trim().parse().map_err(|_| bad())?;
            return Self::new(first, last).ok_or_else(|| format!("{s:?} ends before it starts"));
        }
        let (year, rest) = s.split_once('-').map_or((s, None), |(y, r)| (y, Some(r)));
        let year: i32 = year.parse().map_err(|_| bad())?;
        if !(1000..=9999).contains(&year) {
            return Err(bad());
        }
        let months = match rest {
            None => Some((1, 12)),
            Some("H1") => Some((1, 6)),
            Some("H2") => Some((7, 12)),
            Some(q) if q.len() == 2 && q.starts_with('Q') => match q[1..].parse::<u32>() {
                Ok(n @ 1..=4) => Some((3 * n - 2, 3 * n)),
                _ => None,
            },
            Some(m) if m.len() == 2 => match m.parse::<u32>() {
                Ok(n @ 1..=12) => Some((n, n)),
                _ => None,
            },
            Some(_) => None,
        };
        let (from, to) = months.ok_or_else(bad)?;
        Self::months(year, from, to).ok_or_else(bad)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn p(s: &str) -> Period {
        s.parse().unwrap()
    }

    #[test]
    fn periods_read_and_print_as_the_cli_writes_them() {
        for s in ["2025", "2025-H1", "2025-H2", "2025-Q1", "2025-Q3", "2025-02", "2025-12", "2025-03-05..2025-05-31"] {
            assert_eq!(p(s).to_string(), s);
        }
        assert_eq!(p("2024-02").last.to_string(), "2024-02-29");
        assert_eq!(p("2025-Q3").label(), "2025年7月1日至2025年9月30日");
        assert_eq!(p("2025").whole_year(), Some(2025));
        assert_eq!(p("2025-Q3").whole_year(), None);
        for bad in ["2025-Q5", "2025-13", "2025-H3", "x", "2025-05-31..2025-03-01"] {
            assert!(bad.parse::<Period>().is_err(), "{bad}");
        }
    }

    #[test]
    fn the_previous_period_ends_the_day_before() {
        assert_eq!(p("2025-Q1").previous(), p("2024-Q4"));
        assert_eq!(p("2025-Q3").previous(), p("2025-Q2"));
        assert_eq!(p("2025-H1").previous(), p("2024-H2"));
        assert_eq!(p("2025-03").previous(), p("2025-02"));
        assert_eq!(p("2025-01").previous(), p("2024-12"));
        assert_eq!(p("2025").previous(), p("2024"));
        assert_eq!(p("2025-03-10..2025-03-19").previous(), p("2025-02-28..2025-03-09"));
        assert_eq!(p("2025-02-01..2025-04-30").previous(), p("2024-11-01..2025-01-31"));
        assert_eq!(p("2024-11-01..2025-01-31").whole_months().map(|(a, b)| a.until(b)), Some(2));
        assert_eq!(p("2025-03-10..2025-03-19").whole_months(), None);
    }
}
