//! Timeliness: how promptly the applications concluded in a year were
//! answered, counted as the statutory deadline counts days.

use crate::deadline::calendar::Calendar;
use crate::deadline::statutory::{Standing, deadline};
use crate::domain::application::Application;

/// How promptly the applications concluded in a year were answered.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Timeliness {
    pub on_time: i64,
    pub late: i64,
    pub without_deadline: i64,
    /// Working days each took, as the deadline counts them.
    pub days: Vec<u32>,
    /// By the month of the answer (January first): on time, late.
    pub by_month: [(i64, i64); 12],
}

impl Timeliness {
    /// Counts one application in, if it was answered (not withdrawn, not
    /// split) in `year`.
    pub fn count(&mut self, app: &Application, calendar: &Calendar, year: i32) {
        let Some(c) = app.conclusion.filter(|c| c.on.year() == year && !c.withdrawn) else { return };
        if !app.split_into.is_empty() {
            return;
        }
        let taken = deadline(app, calendar, c.on, 0).and_then(|d| {
            // Up to the answer, or to the supplement request after which
            // no period ran.
            let end = d.clock_stops.unwrap_or(c.on);
            let days = calendar.working_days_between(d.clock_starts, end)?.saturating_sub(d.paused_days);
            Ok((d.standing, days))
        });
        match taken {
            Ok((standing, days)) => {
                let month = &mut self.by_month[c.on.month() as usize - 1];
                if standing == Standing::AnsweredOnTime {
                    self.on_time += 1;
                    month.0 += 1;
                } else {
                    self.late += 1;
                    month.1 += 1;
                }
                self.days.push(days);
            }
            Err(_) => self.without_deadline += 1,
        }
    }

    /// How many answers took each number of working days, fewest first.
    pub fn distribution(&self) -> Vec<(u32, i64)> {
        let mut counts = std::collections::BTreeMap::new();
        for d in &self.days {
            *counts.entry(*d).or_insert(0) += 1;
        }
        counts.into_iter().collect()
    }

    /// The nearest-rank percentile `p` (0-100) of the working days taken.
    pub fn percentile(&self, p: usize) -> u32 {
        let mut days = self.days.clone();
        days.sort_unstable();
        if days.is_empty() {
            return 0;
        }
        let rank = (p * days.len()).div_ceil(100).max(1);
        days[rank - 1]
    }
}
