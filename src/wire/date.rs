//! A civil date on the wire: `google.type.Date`, every part required.

use chrono::Datelike;

use crate::domain::date::CivilDate;
use crate::wire::proto::google::r#type::Date as ProtoDate;

impl CivilDate {
    /// From the wire; every part must be set and the date must exist.
    pub fn from_proto(date: &ProtoDate) -> Result<Self, String> {
        let (y, m, d) = (date.year, date.month, date.day);
        if y <= 0 || m <= 0 || d <= 0 {
            return Err(format!("{y:04}-{m:02}-{d:02} is not a full date (year, month and day must all be set)"));
        }
        Self::from_ymd(y, m as u32, d as u32)
            .ok_or_else(|| format!("{y:04}-{m:02}-{d:02} does not exist in the calendar"))
    }

    /// To the wire.
    pub fn to_proto(self) -> ProtoDate {
        let d = self.naive();
        ProtoDate { year: d.year(), month: d.month() as i32, day: d.day() as i32 }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rejects_partial_and_impossible_dates() {
        assert!(CivilDate::from_proto(&ProtoDate { year: 2024, month: 2, day: 30 }).is_err());
        assert!(CivilDate::from_proto(&ProtoDate { year: 2024, month: 0, day: 1 }).is_err());
        assert!(CivilDate::from_proto(&ProtoDate { year: 2024, month: 2, day: 29 }).is_ok());
    }
}
