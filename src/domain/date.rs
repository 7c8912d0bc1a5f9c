//! Civil dates: business facts carry a calendar date in China Standard Time,
//! never a timestamp (a receipt on 31 December counts in that year wherever
//! the server's clock is).

use std::fmt;

use chrono::{Datelike, Duration, FixedOffset, NaiveDate, Utc};
use serde::{Deserialize, Serialize};

/// A calendar date (year, month, day) with no time zone.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
pub struct CivilDate(NaiveDate);

/// The Regulations on Open Government Information came into force on
/// 2008-05-01; no application can be older.
pub const EARLIEST: CivilDate = CivilDate(match NaiveDate::from_ymd_opt(2008, 5, 1) {
    Some(d) => d,
    None => panic!("valid date"),
});

impl CivilDate {
    /// A date from its parts, if it exists in the calendar.
    pub fn from_ymd(year: i32, month: u32, day: u32) -> Option<Self> {
        NaiveDate::from_ymd_opt(year, month, day).map(Self)
    }

    /// Today in China Standard Time (UTC+8).
    pub fn today_in_china() -> Self {
        let cst = FixedOffset::east_opt(8 * 3600).expect("UTC+8 is a valid offset");
        Self(Utc::now().with_timezone(&cst).date_naive())
    }

    /// The calendar year.
    pub fn year(self) -> i32 {
        self.0.year()
    }

    /// The month, 1 to 12.
    pub fn month(self) -> u32 {
        self.0.month()
    }

    /// The day of the month, 1 to 31.
    pub fn day(self) -> u32 {
        self.0.day()
    }

    /// The day before.
    pub fn pred(self) -> Self {
        Self(self.0 - Duration::days(1))
    }

    /// From a chrono date.
    pub fn from_naive(d: NaiveDate) -> Self {
        Self(d)
    }

    /// The next day.
    pub fn succ(self) -> Self {
        Self(self.0 + Duration::days(1))
    }

    /// The underlying chrono date.
    pub fn naive(self) -> NaiveDate {
        self.0
    }

    /// Checks that a business date is plausible (at the edge): not before the Regulations
    /// and not after tomorrow in China (a day of slack for clock skew and
    /// time zones of the sending system).
    pub fn check_business(self) -> Result<(), String> {
        if self < EARLIEST {
            return Err(format!("{self} is before {EARLIEST}, when the Regulations came into force"));
        }
        self.check_not_future()
    }

    /// Checks that a date is not after tomorrow in China Standard Time. This
    /// depends on the clock, so it is checked where events come in, never
    /// when stored events are read back (a clock set back must not make
    /// the store unreadable).
    pub fn check_not_future(self) -> Result<(), String> {
        let tomorrow = Self::today_in_china().succ();
        if self > tomorrow {
            return Err(format!("{self} is in the future (after {tomorrow}, tomorrow in China Standard Time)"));
        }
        Ok(())
    }
}

/// A calendar month: the unit the tallies are kept in, so that a month,
/// quarter, half-year or year reads a few tallies instead of the log.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Month {
    pub year: i32,
    /// 1 to 12.
    pub month: u8,
}

impl Month {
    /// The month a day is in.
    pub fn of(day: CivilDate) -> Self {
        Self { year: day.year(), month: day.month() as u8 }
    }

    /// A month from its parts, if `month` is 1 to 12.
    pub fn new(year: i32, month: u8) -> Option<Self> {
        (1..=12).contains(&month).then_some(Self { year, month })
    }

    /// Months since the start of year 0: differences are month counts.
    pub fn index(self) -> i64 {
        i64::from(self.year) * 12 + i64::from(self.month) - 1
    }

    /// How many months `later` is after this one (negative if before).
    pub fn until(self, later: Month) -> i64 {
        later.index() - self.index()
    }
}

impl fmt::Display for Month {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}-{:02}", self.year, self.month)
    }
}

impl fmt::Display for CivilDate {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}", self.0.format("%Y-%m-%d"))
    }
}

impl std::str::FromStr for CivilDate {
    type Err = String;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        NaiveDate::parse_from_str(s, "%Y-%m-%d")
            .map(Self)
            .map_err(|e| format!("{s:?} is not a date in the form YYYY-MM-DD: {e}"))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn business_dates_are_bounded() {
        assert!(CivilDate::from_ymd(2008, 4, 30).unwrap().check_business().is_err());
        assert!(EARLIEST.check_business().is_ok());
        let today = CivilDate::today_in_china();
        assert!(today.succ().check_business().is_ok());
        assert!(today.succ().succ().check_business().is_err());
    }
}
