//! The shipped working-day calendar against an independent transcription of
//! the same State Council notices: the PyPI package `chinesecalendar`
//! (1.11.0), turned once into `tests/fixtures/calendar-chinesecalendar.json`
//! by `scripts/calendar-fixture.py`. Every day of 2019-2026 must agree.

use disclosure_ledger::deadline::calendar::Calendar;
use disclosure_ledger::domain::date::CivilDate;

#[test]
fn every_day_of_2019_to_2026_agrees_with_chinesecalendar() {
    let fixture: serde_json::Value =
        serde_json::from_str(include_str!("fixtures/calendar-chinesecalendar.json")).unwrap();
    let calendar = Calendar::builtin();
    let mut checked = 0;
    for year in 2019..=2026 {
        let y = &fixture["years"][year.to_string()];
        let list = |key: &str| -> Vec<CivilDate> {
            y[key].as_array().unwrap().iter().map(|d| d.as_str().unwrap().parse().unwrap()).collect()
        };
        let (weekdays_off, weekend_workdays) = (list("weekdays_off"), list("weekend_workdays"));
        let mut day = CivilDate::from_ymd(year, 1, 1).unwrap();
        let mut disagreements = Vec::new();
        while day.year() == year {
            let weekend =
                matches!(chrono::Datelike::weekday(&day.naive()), chrono::Weekday::Sat | chrono::Weekday::Sun);
            let theirs = if weekend { weekend_workdays.contains(&day) } else { !weekdays_off.contains(&day) };
            if calendar.is_working_day(day).unwrap() != theirs {
                disagreements.push(day.to_string());
            }
            checked += 1;
            day = day.succ();
        }
        assert!(disagreements.is_empty(), "{year}: the calendars disagree on {disagreements:?}");
    }
    assert_eq!(checked, 2922);
}
