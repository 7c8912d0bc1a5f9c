//! Statutory deadlines of an application (Art.30, 32, 33, 34), on the
//! working-day calendar: answer within 20 working days of receipt, or of the
//! supplement's receipt after a 补正; time spent consulting a third party or
//! another agency does not count; one extension of at most 20 working days.
//! A supplement must be requested within 7 working days of receipt.
//!
//! The corners, as the Regulations read:
//! - A consultation pauses the period from the day after it begins to the
//!   day it ends (a period never counts its first day, so the day a letter
//!   goes out still belongs to the period). Consultations that overlap (a
//!   third party under Art.32 and another agency under Art.34 at once)
//!   pause for the union of their spans, never twice for the same day.
//! - A consultation begun after the period has run out pauses nothing: a
//!   period that has ended cannot be paused. One begun on the due day
//!   itself does pause (that day is still within the period); the period's
//!   last day was used, so the answer is due on the day the consultation
//!   ends.
//! - An extension counts only if granted by the due date (Art.33: approved
//!   while the period runs); a later one does not cure the delay. A
//!   supplement received starts a new period, and an extension granted for
//!   the old one does not carry into it.
//! - While a supplement is awaited no period runs (Art.30): an application
//!   concluded then (e.g. 6.1, no supplement came) is on time, unless the
//!   supplement was only requested after the receipt-based period had run
//!   out.

use crate::deadline::calendar::{Calendar, OutsideCalendar};
use crate::domain::application::Application;
use crate::domain::date::CivilDate;

/// Working days to answer (Art.33).
pub const ANSWER_DAYS: u32 = 20;
/// Working days within which a supplement must be requested (Art.30).
pub const SUPPLEMENT_REQUEST_DAYS: u32 = 7;
/// How many working days before its due date an application counts as
/// due soon, unless a caller asks otherwise.
pub const DEFAULT_WITHIN: u32 = 5;

/// Where an application stands against its deadline.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Standing {
    /// Waiting for the applicant's supplement: no answer clock runs.
    AwaitingSupplement,
    /// A consultation is running: the clock is paused.
    Paused,
    OnTime,
    /// Open, due within the warning window.
    DueSoon,
    Overdue,
    AnsweredOnTime,
    AnsweredLate,
}

/// An application's deadline and how it was computed.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Deadline {
    /// The day the 20 working days run from: receipt, or the supplement's.
    pub clock_starts: CivilDate,
    /// Working days not counted while consultations ran.
    pub paused_days: u32,
    pub extension_days: u32,
    /// `None` while awaiting a supplement.
    pub due: Option<CivilDate>,
    /// Working days left on `as_of` (negative when overdue).
    pub remaining: Option<i64>,
    pub standing: Standing,
    /// The last day a supplement could be requested, and whether the
    /// request (if any) came later.
    pub supplement_request_by: CivilDate,
    pub supplement_request_late: bool,
    /// The day the period stopped for good: the supplement request of an
    /// application concluded while the supplement was awaited.
    pub clock_stops: Option<CivilDate>,
    /// Steps the computation set aside or treated specially, and why.
    pub notes: Vec<Note>,
}

/// A step of the history that the deadline did not count as it reads, and why.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Note {
    /// `CONSULTATION_AFTER_EXPIRY`, `CONSULTATIONS_OVERLAP`,
    /// `CONCLUDED_AWAITING_SUPPLEMENT`, `EXTENSION_AFTER_EXPIRY`,
    /// `EXTENSION_BEFORE_RESTART`.
    pub code: &'static str,
    pub on: CivilDate,
    pub text: String,
}

/// Computes the deadline of `app` as it stands on `as_of`; `due_soon` is
/// the warning window in working days.
pub fn deadline(
    app: &Application,
    calendar: &Calendar,
    as_of: CivilDate,
    due_soon: u32,
) -> Result<Deadline, OutsideCalendar> {
    let supplement_request_by = calendar.add_working_days(app.received_on, SUPPLEMENT_REQUEST_DAYS)?;
    let supplement_request_late = app.supplement_requested_on.is_some_and(|asked| asked > supplement_request_by);
    let concluded_on = app.conclusion.map(|c| c.on);
    // The day the clock is looked at: the conclusion, or `as_of`.
    let until = concluded_on.unwrap_or(as_of);
    let awaiting = app.supplement_requested_on.is_some() && app.supplement_received_on.is_none();
    let clock_starts = app.supplement_received_on.unwrap_or(app.received_on);
    let mut notes = Vec::new();
    let mut due = calendar.add_working_days(clock_starts, ANSWER_DAYS)?;
    // The extension, when granted (a store written before the day was kept
    // has none: its extension counts as granted in time).
    let granted = app.extension_days.map(|days| (app.extended_on.unwrap_or(clock_starts), u32::from(days)));
    let mut extension_days = 0;
    let mut extend = |due: &mut CivilDate, notes: &mut Vec<Note>| -> Result<(), OutsideCalendar> {
        let Some((on, days)) = granted else { return Ok(()) };
        if app.extended_on.is_some_and(|on| on < clock_starts) {
            notes.push(Note {
                code: "EXTENSION_BEFORE_RESTART",
                on,
                text: "granted for the period before the supplement arrived: the new period is a new one".into(),
            });
        } else if on > *due {
            notes.push(Note {
                code: "EXTENSION_AFTER_EXPIRY",
                on,
                text: format!("granted after the period ran out on {due}: a delay is not cured afterwards (Art.33)"),
            });
        } else {
            extension_days = days;
            *due = calendar.add_working_days(*due, days)?;
        }
        Ok(())
    };
    // Consultations in the order begun; each pauses the part of its span
    // that no earlier one paused, and only if begun by the due date so far.
    // The extension is weighed in its place among them.
    let mut consultations: Vec<_> = app.consultations.iter().collect();
    consultations.sort_by_key(|c| c.started_on);
    let mut paused_days = 0;
    let mut paused_until: Option<CivilDate> = None;
    let mut running = false;
    let mut extension_weighed = false;
    for c in consultations {
        if !extension_weighed && granted.is_some_and(|(on, _)| on <= c.started_on) {
            extend(&mut due, &mut notes)?;
            extension_weighed = true;
        }
        let start = c.started_on.max(clock_starts);
        if start > due {
            notes.push(Note {
                code: "CONSULTATION_AFTER_EXPIRY",
                on: c.started_on,
                text: format!("begun after the period ran out on {due}: a period that has ended cannot be paused"),
            });
            continue;
        }
        let end = c.ended_on.unwrap_or(until);
        running |= c.ended_on.is_none() && concluded_on.is_none();
        let from = match paused_until {
            Some(covered) if covered > start => {
                notes.push(Note {
                    code: "CONSULTATIONS_OVERLAP",
                    on: c.started_on,
                    text: format!("runs beside an earlier consultation: the days up to {covered} are paused once"),
                });
                covered
            }
            _ => start,
        };
        if end > from {
            let days = calendar.working_days_between(from, end)?;
            paused_days += days;
            due = calendar.add_working_days(due, days)?;
            paused_until = Some(end);
        }
    }
    if !extension_weighed {
        extend(&mut due, &mut notes)?;
    }
    let base = Deadline {
        clock_starts,
        paused_days,
        extension_days,
        due: None,
        remaining: None,
        standing: Standing::AwaitingSupplement,
        supplement_request_by,
        supplement_request_late,
        clock_stops: None,
        notes,
    };
    if awaiting {
        let Some(concluded) = concluded_on else { return Ok(base) };
        // Concluded while the supplement was awaited: the period stopped
        // at the request and never ran again.
        let asked = app.supplement_requested_on.expect("awaiting a requested supplement");
        let standing = if asked <= due { Standing::AnsweredOnTime } else { Standing::AnsweredLate };
        let mut notes = base.notes;
        notes.push(Note {
            code: "CONCLUDED_AWAITING_SUPPLEMENT",
            on: concluded,
            text: format!(
                "concluded while the supplement requested on {asked} was awaited: no period ran after the request"
            ),
        });
        let remaining = signed_working_days(calendar, asked, due)?;
        return Ok(Deadline {
            due: Some(due),
            remaining: Some(remaining),
            standing,
            clock_stops: Some(asked),
            notes,
            ..base
        });
    }
    let remaining = signed_working_days(calendar, until, due)?;
    let standing = match concluded_on {
        Some(on) if on <= due => Standing::AnsweredOnTime,
        Some(_) => Standing::AnsweredLate,
        None if remaining < 0 => Standing::Overdue,
        None if running => Standing::Paused,
        None if remaining <= i64::from(due_soon) => Standing::DueSoon,
        None => Standing::OnTime,
    };
    Ok(Deadline { due: Some(due), remaining: Some(remaining), standing, ..base })
}

/// Working days from `day` to `due`: positive before it, negative after.
fn signed_working_days(calendar: &Calendar, day: CivilDate, due: CivilDate) -> Result<i64, OutsideCalendar> {
    Ok(if day <= due {
        i64::from(calendar.working_days_between(day, due)?)
    } else {
        -i64::from(calendar.working_days_between(due, day)?)
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::deadline::timeliness::Timeliness;
    use crate::domain::application::{Conclusion, Consultation};
    use crate::domain::codes::{ApplicantCategory, Channel, ConsultationParty, Outcome};

    fn d(s: &str) -> CivilDate {
        s.parse().unwrap()
    }

    fn received(on: &str) -> Application {
        Application::received(d(on), ApplicantCategory::NaturalPerson, Channel::Online)
    }

    #[test]
    fn twenty_working_days_from_receipt_across_the_spring_festival() {
        let c = Calendar::builtin();
        let app = received("2024-02-06");
        let dl = deadline(&app, &c, d("2024-03-04"), 5).unwrap();
        assert_eq!(dl.due, Some(d("2024-03-11")));
        assert_eq!(dl.remaining, Some(5));
        assert_eq!(dl.standing, Standing::DueSoon);
        assert_eq!(deadline(&app, &c, d("2024-03-12"), 5).unwrap().standing, Standing::Overdue);
        assert_eq!(deadline(&app, &c, d("2024-02-20"), 5).unwrap().standing, Standing::OnTime);
    }

    #[test]
    fn a_supplement_restarts_the_clock() {
        let c = Calendar::builtin();
        let mut app = received("2024-09-02");
        app.supplement_requested_on = Some(d("2024-09-04"));
        let waiting = deadline(&app, &c, d("2024-09-20"), 5).unwrap();
        assert_eq!(waiting.standing, Standing::AwaitingSupplement);
        assert_eq!(waiting.due, None);
        app.supplement_received_on = Some(d("2024-09-27"));
        // From Friday 27 September 2024, across National Day: 30 October.
        let dl = deadline(&app, &c, d("2024-10-08"), 5).unwrap();
        assert_eq!(dl.clock_starts, d("2024-09-27"));
        assert_eq!(dl.due, Some(d("2024-10-30")));
        assert!(!dl.supplement_request_late);
    }

    #[test]
    fn a_supplement_requested_after_seven_working_days_is_flagged() {
        let c = Calendar::builtin();
        let mut app = received("2024-09-27");
        // Seven working days after 27 September 2024: 29, 30 Sep, 8-11, 12 Oct.
        assert_eq!(deadline(&app, &c, d("2024-10-01"), 5).unwrap().supplement_request_by, d("2024-10-12"));
        app.supplement_requested_on = Some(d("2024-10-14"));
        assert!(deadline(&app, &c, d("2024-10-20"), 5).unwrap().supplement_request_late);
    }

    #[test]
    fn a_consultation_pauses_and_an_extension_adds() {
        let c = Calendar::builtin();
        let mut app = received("2024-03-01");
        // Plain: 20 working days after Friday 1 March 2024 is 29 March.
        assert_eq!(deadline(&app, &c, d("2024-03-02"), 5).unwrap().due, Some(d("2024-03-29")));
        // A third party consulted from Monday 11 to Friday 15 March: the
        // working days after the start day up to the end (12-15 March) do
        // not count, as a period never counts its first day.
        app.consultations.push(Consultation {
            party: ConsultationParty::ThirdParty,
            started_on: d("2024-03-11"),
            ended_on: Some(d("2024-03-15")),
        });
        let paused = deadline(&app, &c, d("2024-03-16"), 5).unwrap();
        assert_eq!(paused.paused_days, 4);
        // 29 March + 4 working days, across Qingming (4-6 April, 7 April worked).
        assert_eq!(paused.due, Some(d("2024-04-07")));
        app.extension_days = Some(20);
        let extended = deadline(&app, &c, d("2024-03-16"), 5).unwrap();
        assert_eq!(extended.due, Some(c.add_working_days(d("2024-04-07"), 20).unwrap()));
    }

    #[test]
    fn a_running_consultation_keeps_the_clock_paused() {
        let c = Calendar::builtin();
        let mut app = received("2024-03-01");
        app.consultations.push(Consultation {
            party: ConsultationParty::OtherAgency,
            started_on: d("2024-03-20"),
            ended_on: None,
        });
        let dl = deadline(&app, &c, d("2024-03-27"), 5).unwrap();
        assert_eq!(dl.standing, Standing::Paused);
        assert_eq!(dl.paused_days, 5);
    }

    #[test]
    fn timeliness_counts_answers_of_the_year() {
        let c = Calendar::builtin();
        let mut t = Timeliness::default();
        for (on, answered) in [("2024-02-06", "2024-03-11"), ("2024-03-01", "2024-03-08"), ("2024-03-01", "2024-04-30")]
        {
            let mut app = received(on);
            app.conclusion = Some(Conclusion { on: d(answered), outcome: Outcome::Disclosed, withdrawn: false });
            t.count(&app, &c, 2024);
        }
        // A withdrawal and an answer of another year are not counted.
        let mut withdrawn = received("2024-03-01");
        withdrawn.conclusion = Some(Conclusion { on: d("2024-03-02"), outcome: Outcome::Other, withdrawn: true });
        t.count(&withdrawn, &c, 2024);
        let mut other_year = received("2023-03-01");
        other_year.conclusion = Some(Conclusion { on: d("2023-03-02"), outcome: Outcome::Disclosed, withdrawn: false });
        t.count(&other_year, &c, 2024);
        assert_eq!((t.on_time, t.late), (2, 1));
        assert_eq!(t.percentile(50), 20);
        // 20, 5 and 42 working days (the last across Qingming and two make-up Sundays).
        assert_eq!(t.percentile(90), 42);
        assert_eq!(t.percentile(0), 5);
    }

    #[test]
    fn concluded_applications_keep_whether_they_were_answered_on_time() {
        let c = Calendar::builtin();
        let mut app = received("2024-02-06");
        app.conclusion = Some(Conclusion { on: d("2024-03-11"), outcome: Outcome::Disclosed, withdrawn: false });
        assert_eq!(deadline(&app, &c, d("2024-12-31"), 5).unwrap().standing, Standing::AnsweredOnTime);
        app.conclusion = Some(Conclusion { on: d("2024-03-12"), outcome: Outcome::Disclosed, withdrawn: false });
        let late = deadline(&app, &c, d("2024-12-31"), 5).unwrap();
        assert_eq!(late.standing, Standing::AnsweredLate);
        assert_eq!(late.remaining, Some(-1));
    }

    fn consulted(app: &mut Application, party: ConsultationParty, from: &str, to: Option<&str>) {
        app.consultations.push(Consultation { party, started_on: d(from), ended_on: to.map(d) });
    }

    fn concluded(app: &mut Application, on: &str) {
        app.conclusion = Some(Conclusion { on: d(on), outcome: Outcome::Disclosed, withdrawn: false });
    }

    #[test]
    fn a_consultation_begun_after_the_period_ran_out_does_not_pause_it() {
        let c = Calendar::builtin();
        let mut app = received("2024-03-01");
        // Due 29 March; the consultation starts 2 April.
        consulted(&mut app, ConsultationParty::ThirdParty, "2024-04-02", Some("2024-04-10"));
        concluded(&mut app, "2024-04-12");
        let dl = deadline(&app, &c, d("2024-12-31"), 5).unwrap();
        assert_eq!(dl.due, Some(d("2024-03-29")));
        assert_eq!(dl.paused_days, 0);
        assert_eq!(dl.standing, Standing::AnsweredLate);
        assert_eq!(dl.notes[0].code, "CONSULTATION_AFTER_EXPIRY");
        // Timeliness counts it late, with every working day it took.
        let mut t = Timeliness::default();
        t.count(&app, &c, 2024);
        assert_eq!((t.on_time, t.late), (0, 1));
    }

    #[test]
    fn a_consultation_begun_on_the_due_day_pauses_and_the_answer_is_due_the_day_it_ends() {
        let c = Calendar::builtin();
        let mut app = received("2024-03-01");
        consulted(&mut app, ConsultationParty::OtherAgency, "2024-03-29", Some("2024-04-03"));
        let dl = deadline(&app, &c, d("2024-04-03"), 5).unwrap();
        assert_eq!(dl.paused_days, 3, "1, 2 and 3 April");
        assert_eq!(dl.due, Some(d("2024-04-03")));
        assert!(dl.notes.is_empty());
    }

    #[test]
    fn nothing_is_late_while_a_supplement_is_awaited_unless_it_was_requested_after_the_period_ran_out() {
        let c = Calendar::builtin();
        let mut app = received("2024-03-01");
        app.supplement_requested_on = Some(d("2024-03-05"));
        // No supplement came; concluded (6.1) in May: no period ran after 5 March.
        concluded(&mut app, "2024-05-10");
        let dl = deadline(&app, &c, d("2024-12-31"), 5).unwrap();
        assert_eq!(dl.standing, Standing::AnsweredOnTime);
        assert_eq!(dl.clock_stops, Some(d("2024-03-05")));
        assert_eq!(dl.notes.last().unwrap().code, "CONCLUDED_AWAITING_SUPPLEMENT");
        let mut t = Timeliness::default();
        t.count(&app, &c, 2024);
        assert_eq!((t.on_time, t.late), (1, 0));
        assert_eq!(t.days, vec![2], "4 and 5 March: the days before the request");
        // A request after the receipt-based period ran out comes too late.
        app.supplement_requested_on = Some(d("2024-04-08"));
        assert_eq!(deadline(&app, &c, d("2024-12-31"), 5).unwrap().standing, Standing::AnsweredLate);
    }

    #[test]
    fn parallel_consultations_pause_for_the_union_of_their_spans() {
        let c = Calendar::builtin();
        let mut app = received("2024-03-01");
        consulted(&mut app, ConsultationParty::ThirdParty, "2024-03-11", Some("2024-03-15"));
        consulted(&mut app, ConsultationParty::OtherAgency, "2024-03-13", Some("2024-03-20"));
        let dl = deadline(&app, &c, d("2024-03-21"), 5).unwrap();
        // 12-15 and 18-20 March, each day once.
        assert_eq!(dl.paused_days, 7);
        assert_eq!(dl.due, Some(c.add_working_days(d("2024-03-29"), 7).unwrap()));
        assert_eq!(dl.notes[0].code, "CONSULTATIONS_OVERLAP");
        // One still running keeps the clock paused.
        app.consultations[1].ended_on = None;
        assert_eq!(deadline(&app, &c, d("2024-03-25"), 5).unwrap().standing, Standing::Paused);
    }

    fn extended(app: &mut Application, on: &str, days: u8) {
        app.extension_days = Some(days);
        app.extended_on = Some(d(on));
    }

    #[test]
    fn an_extension_granted_after_the_period_ran_out_does_not_extend_it() {
        let c = Calendar::builtin();
        let mut app = received("2024-03-01");
        // Due 29 March; extended on 2 April.
        extended(&mut app, "2024-04-02", 10);
        concluded(&mut app, "2024-04-05");
        let dl = deadline(&app, &c, d("2024-12-31"), 5).unwrap();
        assert_eq!(dl.due, Some(d("2024-03-29")));
        assert_eq!(dl.extension_days, 0);
        assert_eq!(dl.standing, Standing::AnsweredLate);
        assert_eq!(dl.notes[0].code, "EXTENSION_AFTER_EXPIRY");
        let mut t = Timeliness::default();
        t.count(&app, &c, 2024);
        assert_eq!((t.on_time, t.late), (0, 1));
        // Granted on the due day itself, it is in time.
        extended(&mut app, "2024-03-29", 10);
        let dl = deadline(&app, &c, d("2024-12-31"), 5).unwrap();
        assert_eq!(dl.due, Some(c.add_working_days(d("2024-03-29"), 10).unwrap()));
        assert_eq!(dl.standing, Standing::AnsweredOnTime);
    }

    #[test]
    fn an_extension_granted_before_a_supplement_arrived_does_not_carry_into_the_new_period() {
        let c = Calendar::builtin();
        let mut app = received("2024-03-01");
        extended(&mut app, "2024-03-04", 20);
        app.supplement_requested_on = Some(d("2024-03-05"));
        app.supplement_received_on = Some(d("2024-03-11"));
        let dl = deadline(&app, &c, d("2024-03-12"), 5).unwrap();
        assert_eq!(dl.clock_starts, d("2024-03-11"));
        assert_eq!(dl.due, Some(c.add_working_days(d("2024-03-11"), 20).unwrap()));
        assert_eq!(dl.extension_days, 0);
        assert_eq!(dl.notes[0].code, "EXTENSION_BEFORE_RESTART");
    }

    #[test]
    fn an_extension_granted_during_a_consultation_counts_the_pause_first() {
        let c = Calendar::builtin();
        let mut app = received("2024-03-01");
        // Paused 12-15 March (4 days): due 7 April (Qingming); extended on 3 April: in time.
        consulted(&mut app, ConsultationParty::ThirdParty, "2024-03-11", Some("2024-03-15"));
        extended(&mut app, "2024-04-03", 5);
        let dl = deadline(&app, &c, d("2024-04-03"), 5).unwrap();
        assert_eq!(dl.extension_days, 5);
        assert_eq!(dl.due, Some(c.add_working_days(d("2024-04-07"), 5).unwrap()));
    }
}
