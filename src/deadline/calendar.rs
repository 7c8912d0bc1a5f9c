//! The working-day calendar: statutory deadlines count working days on the
//! State Council's yearly holiday schedule, make-up working days (调休)
//! included; a plain weekday count is wrong around every Spring Festival and
//! National Day. The schedule is data (`src/deadline/calendar-cn.toml`), and a newer
//! year can be merged in from a file of the same shape. A date outside the
//! known years is an explicit error, never a guess.

use std::collections::{BTreeMap, BTreeSet};

use chrono::{Datelike, Weekday};
use serde::Deserialize;

use crate::domain::date::CivilDate;

/// The schedule shipped with this release.
pub const BUILTIN: &str = include_str!("calendar-cn.toml");

/// The holiday schedule of each known year.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Calendar {
    years: BTreeMap<i32, Year>,
}

#[derive(Clone, Debug, Default, PartialEq, Eq)]
struct Year {
    notice: String,
    holidays: BTreeSet<CivilDate>,
    workdays: BTreeSet<CivilDate>,
}

/// The calendar in force, shared by the services: replaced whole when an
/// admin adds a year's schedule (readers keep the one they started with).
#[derive(Clone, Debug)]
pub struct CalendarCell(std::sync::Arc<std::sync::RwLock<std::sync::Arc<Calendar>>>);

impl CalendarCell {
    pub fn new(calendar: Calendar) -> Self {
        Self(std::sync::Arc::new(std::sync::RwLock::new(std::sync::Arc::new(calendar))))
    }

    /// The calendar now.
    pub fn current(&self) -> std::sync::Arc<Calendar> {
        std::sync::Arc::clone(&self.0.read().expect("lock"))
    }

    /// Adds or replaces years.
    pub fn merge(&self, newer: Calendar) {
        let mut now = self.0.write().expect("lock");
        let mut next = Calendar::clone(&now);
        next.merge(newer);
        *now = std::sync::Arc::new(next);
    }
}

/// A date the calendar has no schedule for.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
#[error("{date} is outside the working-day calendar (it knows {known}); load that year's holiday schedule")]
pub struct OutsideCalendar {
    pub date: CivilDate,
    pub known: String,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct FileShape {
    years: BTreeMap<String, YearShape>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct YearShape {
    notice: String,
    holidays: Vec<[String; 2]>,
    workdays: Vec<String>,
}

fn is_weekend(d: CivilDate) -> bool {
    matches!(d.naive().weekday(), Weekday::Sat | Weekday::Sun)
}

impl Calendar {
    /// The schedule shipped with this release (2019 onwards).
    pub fn builtin() -> Self {
        Self::parse(BUILTIN).expect("the shipped calendar is valid (tested)")
    }

    /// Reads and checks a schedule: every date in its year, holidays as
    /// ordered ranges, make-up working days on weekends and outside holidays.
    pub fn parse(text: &str) -> Result<Self, String> {
        let file: FileShape = toml::from_str(text).map_err(|e| format!("not a calendar file: {e}"))?;
        let mut calendar = Self::default();
        for (name, shape) in file.years {
            let year: i32 = name.parse().map_err(|_| format!("years.{name}: not a year"))?;
            let date = |s: &str| -> Result<CivilDate, String> {
                let d: CivilDate = s.parse().map_err(|e| format!("years.{year}: {e}"))?;
                if d.year() != year {
                    return Err(format!("years.{year}: {d} is not in {year}"));
                }
                Ok(d)
            };
            let mut y = Year { notice: shape.notice, ..Year::default() };
            for [from, to] in &shape.holidays {
                let (from, to) = (date(from)?, date(to)?);
                if from > to {
                    return Err(format!("years.{year}: holiday {from} to {to} runs backwards"));
                }
                let mut d = from;
                while d <= to {
                    y.holidays.insert(d);
                    d = d.succ();
                }
            }
            for w in &shape.workdays {
                let d = date(w)?;
                if !is_weekend(d) {
                    return Err(format!("years.{year}: make-up working day {d} is not a weekend day"));
                }
                if y.holidays.contains(&d) {
                    return Err(format!("years.{year}: {d} is both a holiday and a working day"));
                }
                y.workdays.insert(d);
            }
            calendar.years.insert(year, y);
        }
        Ok(calendar)
    }

    /// Adds or replaces the years of `newer` (a schedule loaded at run time).
    pub fn merge(&mut self, newer: Calendar) {
        self.years.extend(newer.years);
    }

    /// The years with a schedule, e.g. "2019–2026".
    pub fn known(&self) -> String {
        match (self.years.keys().next(), self.years.keys().next_back()) {
            (Some(a), Some(b)) if a == b => a.to_string(),
            (Some(a), Some(b)) => format!("{a}–{b}"),
            _ => "no year".into(),
        }
    }

    /// The years with a schedule.
    pub fn years(&self) -> Vec<i32> {
        self.years.keys().copied().collect()
    }

    /// The notice a year's schedule comes from.
    pub fn notice(&self, year: i32) -> Option<&str> {
        self.years.get(&year).map(|y| y.notice.as_str())
    }

    /// Whether a date is a working day.
    pub fn is_working_day(&self, date: CivilDate) -> Result<bool, OutsideCalendar> {
        let year = self.years.get(&date.year()).ok_or_else(|| OutsideCalendar { date, known: self.known() })?;
        Ok(year.workdays.contains(&date) || (!is_weekend(date) && !year.holidays.contains(&date)))
    }

    /// The `n`-th working day after `start` (the start day itself does not
    /// count, as for every statutory period).
    pub fn add_working_days(&self, start: CivilDate, n: u32) -> Result<CivilDate, OutsideCalendar> {
        let mut day = start;
        let mut left = n;
        while left > 0 {
            day = day.succ();
            if self.is_working_day(day)? {
                left -= 1;
            }
        }
        Ok(day)
    }

    /// Working days after `from` up to and including `to` (0 if `to` is not
    /// after `from`).
    pub fn working_days_between(&self, from: CivilDate, to: CivilDate) -> Result<u32, OutsideCalendar> {
        let mut count = 0;
        let mut day = from;
        while day < to {
            day = day.succ();
            if self.is_working_day(day)? {
                count += 1;
            }
        }
        Ok(count)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn d(s: &str) -> CivilDate {
        s.parse().unwrap()
    }

    #[test]
    fn the_shipped_calendar_covers_2019_to_2026() {
        let c = Calendar::builtin();
        assert_eq!(c.known(), "2019–2026");
        assert!(c.notice(2024).unwrap().contains("国办发明电"));
    }

    #[test]
    fn twenty_working_days_across_the_2024_spring_festival() {
        let c = Calendar::builtin();
        // Received Tuesday 6 February 2024: the holiday ran 10-17 February
        // and Sunday 18 February was a make-up working day.
        assert_eq!(c.add_working_days(d("2024-02-06"), 20), Ok(d("2024-03-11")));
        assert!(c.is_working_day(d("2024-02-18")).unwrap());
        assert!(!c.is_working_day(d("2024-02-16")).unwrap());
        // A plain weekday count would have said 5 March.
        assert_eq!(c.working_days_between(d("2024-02-06"), d("2024-03-05")), Ok(16));
    }

    #[test]
    fn twenty_working_days_across_the_2024_national_day() {
        let c = Calendar::builtin();
        // Received Friday 27 September 2024: Sunday 29 September and
        // Saturday 12 October were make-up working days.
        assert_eq!(c.add_working_days(d("2024-09-27"), 20), Ok(d("2024-10-30")));
    }

    #[test]
    fn a_date_outside_the_known_years_is_an_error() {
        let c = Calendar::builtin();
        let e = c.add_working_days(d("2026-12-20"), 20).unwrap_err();
        assert_eq!(e.date.year(), 2027);
        assert!(e.to_string().contains("2019–2026"));
    }

    #[test]
    fn a_newer_year_can_be_merged_in() {
        let mut c = Calendar::builtin();
        let newer = Calendar::parse(
            "[years.2027]\nnotice = \"test\"\nholidays = [[\"2027-01-01\", \"2027-01-01\"]]\nworkdays = []\n",
        )
        .unwrap();
        c.merge(newer);
        assert_eq!(c.known(), "2019–2027");
        assert!(!c.is_working_day(d("2027-01-01")).unwrap());
    }

    #[test]
    fn malformed_schedules_are_refused() {
        for bad in [
            "[years.2027]\nnotice = \"x\"\nholidays = [[\"2026-12-31\", \"2027-01-01\"]]\nworkdays = []\n",
            "[years.2027]\nnotice = \"x\"\nholidays = []\nworkdays = [\"2027-01-04\"]\n",
            "[years.2027]\nnotice = \"x\"\nholidays = [[\"2027-01-03\", \"2027-01-01\"]]\nworkdays = []\n",
            "[years.2027]\nholidays = []\nworkdays = []\n",
        ] {
            assert!(Calendar::parse(bad).is_err(), "{bad}");
        }
    }
}
