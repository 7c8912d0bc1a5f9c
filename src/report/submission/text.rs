//! A published report's text or TSV read as a table: the layout of the
//! seed (extracted from a PDF, tabs between cells, blank cells lost) and
//! of `report --format tsv`.

use crate::report::exchange::{self, ProactiveBlock, Table};
use crate::report::period::Period;
use crate::report::submission::{Unreadable, fold_label, number, stated_period};
use crate::report::template::{HEADING_FOUR, HEADING_THREE, Template};

fn unreadable(what: impl Into<String>) -> Unreadable {
    Unreadable(what.into())
}

/// The cells of a line: tab-separated, or (plain text) separated by runs
/// of white space; empty cells dropped.
fn cells(line: &str) -> Vec<&str> {
    if line.contains('\t') {
        line.split('\t').map(str::trim).filter(|c| !c.is_empty()).collect()
    } else {
        line.split_whitespace().collect()
    }
}

/// A published report's text or TSV (the layout of the seed and of
/// `report --format tsv`): section 三's numbered rows by their labels,
/// section 二's blocks by their titles, section 四's fifteen numbers if
/// they are there (a copy extracted from a PDF often lost that table:
/// then it reads as blank, which published tables mean as 0).
pub(super) fn published_text(text: &str, agency: &str, year: Option<i32>) -> Result<Table, Unreadable> {
    let start = text.find(HEADING_THREE).ok_or_else(|| unreadable(format!("no section 三 ({HEADING_THREE})")))?;
    // Published copies vary in the heading's tail (行政复议、行政诉讼情况).
    let four =
        text[start..].find(&HEADING_FOUR[..HEADING_FOUR.find('复').unwrap_or(HEADING_FOUR.len())]).map(|i| start + i);
    let end = four.map(|f| f + text[f..].find("五、").unwrap_or(text.len() - f)).unwrap_or(text.len());
    let three = &text[start..four.unwrap_or(end)];
    // Section 三: every line that ends in seven numbers, in order.
    let mut numbered = Vec::new();
    for line in three.lines() {
        let cells = cells(line);
        if cells.len() < 8 {
            continue;
        }
        let (labels, numbers) = cells.split_at(cells.len() - 7);
        let Some(numbers) = numbers.iter().map(|n| number(n, false)).collect::<Option<Vec<_>>>() else { continue };
        numbered.push((labels.join(""), numbers));
    }
    let template = match numbered.len() {
        23 => Template::V2019,
        25 => Template::V2021,
        n => {
            return Err(unreadable(format!(
                "section 三 has {n} rows of seven numbers; the 2019 template has 23 and the 2021 template 25 \
                 (a blank cell must be written as 0 in a text file)"
            )));
        }
    };
    let mut rows: Vec<Vec<i64>> = Vec::new();
    for (spec, (label, values)) in template.rows().iter().zip(numbered) {
        // A period's table says 本期, 上期, 下期 where the year's says 本年, 上年, 下年度.
        let as_year = fold_label(&label).replace("本期", "本年").replace("上期", "上年").replace("下期", "下年度");
        if !as_year.ends_with(&fold_label(spec.label)) {
            return Err(unreadable(format!(
                "section 三, row {}: expected {:?}, found {label:?}",
                exchange::row_code(spec.row.code()),
                spec.label
            )));
        }
        rows.push(values);
    }
    // Section 四: the first line of fifteen numbers after its heading.
    let review: Vec<i64> = four
        .and_then(|f| {
            text[f..end].lines().find_map(|line| {
                let cells = cells(line);
                (cells.len() >= 15)
                    .then(|| cells[cells.len() - 15..].iter().map(|n| number(n, false)).collect::<Option<Vec<_>>>())
                    .flatten()
            })
        })
        .unwrap_or_else(|| vec![0; 15]);
    let period = match (stated_period(text), year) {
        (Some(p), _) => p,
        (None, Some(y)) => Period::year(y),
        (None, None) => return Err(unreadable("the text states no 统计期限; give the year")),
    };
    let mut table = Table::blank(agency, template, period, "filed_in_period");
    for (row, values) in table.section_three.rows.iter_mut().zip(rows) {
        row.values = values;
    }
    for (k, block) in table.section_four.blocks.iter_mut().enumerate() {
        block.values = review[k * 5..k * 5 + 5].to_vec();
    }
    section_two(&text[..start], &mut table.section_two)?;
    Ok(table)
}

/// Fills section 二's blocks (the template's, blank) with their numbers
/// from the text: each row under its block's title (a block or row not
/// found stays blank: 0).
fn section_two(text: &str, blocks: &mut [ProactiveBlock]) -> Result<(), Unreadable> {
    let lines: Vec<&str> = text.lines().collect();
    for block in blocks {
        let Some(title) = lines.iter().position(|l| fold_label(l).starts_with(&fold_label(&block.title))) else {
            continue;
        };
        let money: Vec<bool> = block.columns.iter().map(|c| c.unit == "fen").collect();
        for row in &mut block.rows {
            let found = lines[title + 1..].iter().take(6).find_map(|line| {
                let cells = cells(line);
                (fold_label(cells.first()?) == fold_label(&row.label)).then(|| cells[1..].to_vec())
            });
            for (i, c) in found.unwrap_or_default().iter().take(row.values.len()).enumerate() {
                row.values[i] = number(c, money[i]).ok_or_else(|| {
                    unreadable(format!("section 二, {} {}: {c:?} is not a number", block.title, row.label))
                })?;
            }
        }
    }
    Ok(())
}
