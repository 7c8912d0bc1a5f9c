//! Where the numbers of the tables lead: each cell of 三 and 四 to the
//! cases counted in it (for a group, to each member's number in it), as of
//! the position the tables reflect, and a cell that later corrections
//! changed to those corrections.

use crate::api::console::view;
use crate::api::console::whose::Whose;
use crate::report::render::{CellLinks, CellRef, Changed, escape};
use crate::wire::proto;

/// The tables with each number of 三 and 四 a link to its cases, as of
/// the position the tables reflect; with `changes` (the head and the cells
/// that differ there), each changed cell marked and linked to the
/// corrections behind it.
pub fn linked_tables(whose: &Whose, report: &proto::Report, changes: Option<(u64, &[proto::CellChange])>) -> String {
    let links = Links {
        whose,
        period: period_param(report),
        year: report.year,
        position: report.log_position,
        head: changes.map_or(0, |(head, _)| head),
        changes: changes.map_or(&[][..], |(_, c)| c),
    };
    crate::report::render::tables_html_linked(report, Some(&links))
}

/// Where the numbers of an agency's or a group's tables lead.
struct Links<'a> {
    whose: &'a Whose,
    /// `&period=…` when the tables are not a whole year's, else empty.
    period: String,
    year: i32,
    position: u64,
    /// The position the changes were found at.
    head: u64,
    changes: &'a [proto::CellChange],
}

/// The query parameter that carries a report's period to the pages its
/// numbers lead to: empty for a whole year.
pub fn period_param(report: &proto::Report) -> String {
    let days = report.period_days.as_ref();
    let day = |d: Option<&proto::google::r#type::Date>| {
        d.and_then(|d| crate::domain::date::CivilDate::from_ymd(d.year, d.month as u32, d.day as u32))
    };
    match (day(days.and_then(|p| p.first_day.as_ref())), day(days.and_then(|p| p.last_day.as_ref()))) {
        (Some(first), Some(last)) => match crate::report::period::Period::new(first, last) {
            Some(p) if p.whole_year().is_none() => format!("&period={}", view::encode(&p.to_string())),
            _ => String::new(),
        },
        _ => String::new(),
    }
}

/// A cell's section, row and column as a [`proto::CellChange`] names them.
fn change_key(cell: CellRef<'_>) -> (&'static str, String, &'static str) {
    use crate::report::template::{COLUMNS, REVIEW_BLOCKS, REVIEW_COLUMNS};
    match cell {
        CellRef::Application { row, column } => ("三", row.to_owned(), COLUMNS.get(column).copied().unwrap_or("")),
        CellRef::Review { block, column } => (
            "四",
            REVIEW_BLOCKS.get(block).copied().unwrap_or("").to_owned(),
            REVIEW_COLUMNS.get(column).copied().unwrap_or(""),
        ),
    }
}

/// The part of a console address that names a cell (a query string, not
/// yet escaped for HTML).
pub fn cell_params(cell: CellRef<'_>) -> String {
    match cell {
        CellRef::Application { row, column } => format!("row={}&column={column}", view::encode(row)),
        CellRef::Review { block, column } => format!("block={block}&column={column}"),
    }
}

impl CellLinks for Links<'_> {
    fn cases(&self, cell: CellRef<'_>) -> String {
        let Links { whose, year, position, period, .. } = self;
        // A group's cell opens its members' numbers in it.
        let page = match (whose, cell) {
            (Whose::Group(_), _) => "group-cell",
            (Whose::Agency(_), CellRef::Application { .. }) => "cells",
            (Whose::Agency(_), CellRef::Review { .. }) => "review-cases",
        };
        let whose = whose.param();
        escape(&format!("/console/{page}?{whose}&year={year}&{}&as_of={position}{period}", cell_params(cell)))
    }

    fn changed(&self, cell: CellRef<'_>) -> Option<Changed> {
        let (section, row, column) = change_key(cell);
        let change = self.changes.iter().find(|c| c.section == section && c.row == row && c.column == column)?;
        let Links { whose, year, position, head, period, .. } = self;
        let page = if matches!(whose, Whose::Group(_)) { "group-cell" } else { "changes" };
        let whose = whose.param();
        Some(Changed {
            now: change.after,
            href: escape(&format!(
                "/console/{page}?{whose}&year={year}&{}&from={position}&to={head}{period}",
                cell_params(cell)
            )),
        })
    }
}
