//! The board's charts, drawn as SVG by the server: no script and nothing
//! fetched, so they obey the console's Content-Security-Policy and print
//! as they are shown. Colours are presentation attributes, not `style`
//! (which that policy drops). Each chart has a title for screen readers,
//! and the page shows the same numbers in a table beside it.

use maud::{Markup, html};

use crate::wire::proto;

const WIDTH: f64 = 620.0;
const HEIGHT: f64 = 220.0;
const LEFT: f64 = 40.0;
const BOTTOM: f64 = 30.0;
const TOP: f64 = 26.0;
const ON_TIME: &str = "#2e7d32";
const LATE: &str = "#c62828";
const BAR: &str = "#0a3d91";

/// A round step for the value axis: 1, 2 or 5 times a power of ten, so
/// that about four lines cover `max`.
fn step(max: i64) -> i64 {
    let rough = (max.max(1) as f64 / 4.0).max(1.0);
    let power = 10f64.powf(rough.log10().floor());
    let step = [1.0, 2.0, 5.0, 10.0].into_iter().map(|m| m * power).find(|s| *s >= rough).unwrap_or(rough);
    step as i64
}

/// The value axis: its lines and labels up to the top of the scale.
fn axis(top: i64) -> Markup {
    let s = step(top);
    let scale = scale_of(top) as i64;
    let plot = HEIGHT - BOTTOM - TOP;
    html! {
        @for i in 0..=(scale / s) {
            @let y = HEIGHT - BOTTOM - plot * (i * s) as f64 / scale as f64;
            line x1=(LEFT) x2=(WIDTH) y1=(y) y2=(y) stroke="#ccc" stroke-width="1" {}
            text x=(LEFT - 6.0) y=(y + 4.0) text-anchor="end" font-size="11" { (i * s) }
        }
    }
}

/// The top of the scale for a chart whose largest bar is `max`.
fn scale_of(max: i64) -> f64 {
    let s = step(max);
    ((max.div_euclid(s) + i64::from(max % s != 0)).max(1) * s) as f64
}

/// On time against late, by the month of the answer: stacked bars.
pub fn months(months: &[proto::MonthTimeliness]) -> Markup {
    let max = months.iter().map(|m| m.on_time + m.late).max().unwrap_or(0);
    let scale = scale_of(max);
    let plot = HEIGHT - BOTTOM - TOP;
    let slot = (WIDTH - LEFT) / 12.0;
    html! {
        svg.chart xmlns="http://www.w3.org/2000/svg" viewBox=(format!("0 0 {WIDTH} {HEIGHT}")) role="img"
            aria-labelledby="months-title" {
            title id="months-title" { "按月按期答复与逾期答复件数" }
            (axis(max))
            @for m in months {
                @let x = LEFT + slot * (m.month - 1) as f64 + slot * 0.2;
                @let on = plot * m.on_time as f64 / scale;
                @let late = plot * m.late as f64 / scale;
                @let base = HEIGHT - BOTTOM;
                rect x=(x) y=(base - on) width=(slot * 0.6) height=(on) fill=(ON_TIME) {
                    title { (m.month) "月 按期 " (m.on_time) }
                }
                rect x=(x) y=(base - on - late) width=(slot * 0.6) height=(late) fill=(LATE) {
                    title { (m.month) "月 逾期 " (m.late) }
                }
                text x=(x + slot * 0.3) y=(HEIGHT - BOTTOM + 16.0) text-anchor="middle" font-size="11" { (m.month) "月" }
            }
            rect x=(LEFT) y="0" width="10" height="10" fill=(ON_TIME) {}
            text x=(LEFT + 14.0) y="9" font-size="11" { "按期" }
            rect x=(LEFT + 60.0) y="0" width="10" height="10" fill=(LATE) {}
            text x=(LEFT + 74.0) y="9" font-size="11" { "逾期" }
        }
    }
}

/// How many answers took each number of working days: a bar per day from
/// 0 to the longest, with the statutory 20 marked.
pub fn working_days(counts: &[proto::WorkingDaysCount]) -> Markup {
    let longest = counts.iter().map(|c| c.working_days).max().unwrap_or(0).max(20);
    let max = counts.iter().map(|c| c.answers).max().unwrap_or(0);
    let scale = scale_of(max);
    let plot = HEIGHT - BOTTOM - TOP;
    let slot = (WIDTH - LEFT) / f64::from(longest + 1);
    let base = HEIGHT - BOTTOM;
    let limit = LEFT + slot * 20.5;
    html! {
        svg.chart xmlns="http://www.w3.org/2000/svg" viewBox=(format!("0 0 {WIDTH} {HEIGHT}")) role="img"
            aria-labelledby="days-title" {
            title id="days-title" { "答复所用工作日的分布" }
            (axis(max))
            @for c in counts {
                @let h = plot * c.answers as f64 / scale;
                rect x=(LEFT + slot * f64::from(c.working_days) + slot * 0.1) y=(base - h) width=(slot * 0.8) height=(h)
                    fill=(BAR) {
                    title { (c.working_days) " 个工作日：" (c.answers) " 件" }
                }
            }
            line x1=(limit) x2=(limit) y1=(TOP) y2=(base) stroke=(LATE) stroke-dasharray="4 3" stroke-width="1.5" {}
            text x=(limit + 4.0) y=(TOP + 10.0) font-size="11" fill=(LATE) { "20 个工作日" }
            @for d in (0..=longest).step_by(if longest > 40 { 10 } else { 5 }) {
                text x=(LEFT + slot * (f64::from(d) + 0.5)) y=(base + 16.0) text-anchor="middle" font-size="11" { (d) }
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_axis_steps_are_round() {
        assert_eq!(step(0), 1);
        assert_eq!(step(3), 1);
        assert_eq!(step(9), 5);
        assert_eq!(step(40), 10);
        assert_eq!(step(130), 50);
        assert_eq!(scale_of(130), 150.0);
        assert_eq!(scale_of(0), 1.0);
    }

    #[test]
    fn every_month_has_its_bars_and_every_count_its_bar() {
        let months: Vec<_> =
            (1..=12).map(|month| proto::MonthTimeliness { month, on_time: i64::from(month), late: 1 }).collect();
        let svg = super::months(&months).into_string();
        assert_eq!(svg.matches("<rect").count(), 24 + 2, "two bars a month and the legend");
        assert!(svg.contains("12月 按期 12"));
        let counts = [
            proto::WorkingDaysCount { working_days: 3, answers: 2 },
            proto::WorkingDaysCount { working_days: 25, answers: 1 },
        ];
        let svg = working_days(&counts).into_string();
        assert_eq!(svg.matches("<rect").count(), 2);
        assert!(svg.contains("25 个工作日：1 件"));
    }
}
