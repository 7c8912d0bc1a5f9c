//! A workbook (XLSX, XLS, ODS) in the official layout read as a table: as
//! `annual-report --format xlsx` writes it (one sheet a section) and as
//! agencies fill it in by hand (everything on one sheet, merged label
//! cells, blank cells meaning 0, numbers typed as text, full-width digits).
//! Cells are found by their labels, not by fixed positions: section 三's
//! number columns by its 自然人 header, its rows by their labels in the
//! template's order; section 四's by its 结果维持 headers; section 二's rows
//! under each block's title.

use calamine::{Data, Reader as _};

use crate::report::exchange::Table;
use crate::report::period::Period;
use crate::report::submission::{Unreadable, fold_label, number, stated_period};
use crate::report::template::{COLUMNS, REVIEW_COLUMNS, Template};

fn unreadable(what: impl Into<String>) -> Unreadable {
    Unreadable(what.into())
}

/// A cell's place, as a spreadsheet names it (sheet and A1).
fn place(sheet: &str, row: usize, col: usize) -> String {
    let mut letters = String::new();
    let mut n = col + 1;
    while n > 0 {
        letters.insert(0, (b'A' + ((n - 1) % 26) as u8) as char);
        n = (n - 1) / 26;
    }
    format!("{sheet}!{letters}{}", row + 1)
}

/// One row of a sheet: its cells as text, with the sheet's name and the
/// row's number (for naming a cell that cannot be read).
struct Line {
    sheet: String,
    row: usize,
    cells: Vec<String>,
}

impl Line {
    fn text(&self, c: usize) -> &str {
        self.cells.get(c).map_or("", |s| s.as_str())
    }

    /// The number in column `c`: blank is 0; text is read as a number.
    fn number(&self, c: usize, money: bool) -> Result<i64, Unreadable> {
        let raw = self.text(c).trim();
        if raw.is_empty() {
            return Ok(0);
        }
        let ascii: String = raw
            .chars()
            .filter(|ch| *ch != ',' && *ch != '，')
            .map(|ch| match ch {
                '０'..='９' => char::from(b'0' + (ch as u32 - '０' as u32) as u8),
                '．' => '.',
                '－' => '-',
                ch => ch,
            })
            .collect();
        number(&ascii, money)
            .ok_or_else(|| unreadable(format!("{}: {raw:?} is not a number", place(&self.sheet, self.row, c))))
    }
}

/// A cell as text: whole numbers without a fraction, money as written.
fn text(cell: &Data) -> String {
    match cell {
        Data::Empty => String::new(),
        Data::Float(f) if f.fract() == 0.0 && f.abs() < 1e15 => format!("{}", *f as i64),
        // 万元 with up to six decimals: rounded to whole fen, never by float noise.
        Data::Float(f) => format!("{:.6}", f).trim_end_matches('0').trim_end_matches('.').to_string(),
        Data::Int(i) => i.to_string(),
        other => other.to_string().trim().to_string(),
    }
}

fn lines(bytes: &[u8]) -> Result<Vec<Line>, Unreadable> {
    let mut book = calamine::open_workbook_auto_from_rs(std::io::Cursor::new(bytes.to_vec()))
        .map_err(|e| unreadable(format!("is not a workbook (XLSX, XLS or ODS): {e}")))?;
    let mut out = Vec::new();
    for (name, range) in book.worksheets() {
        let (top, left) = range.start().map_or((0, 0), |(r, c)| (r as usize, c as usize));
        for (i, row) in range.rows().enumerate() {
            let mut cells = vec![String::new(); left];
            cells.extend(row.iter().map(text));
            out.push(Line { sheet: name.clone(), row: top + i, cells });
        }
    }
    Ok(out)
}

/// The column of the first cell of `line` that reads `label`.
fn column_of(line: &Line, label: &str) -> Option<usize> {
    let want = fold_label(label);
    line.cells.iter().position(|c| fold_label(c) == want)
}

/// Reads a workbook as a table.
pub(super) fn published_workbook(bytes: &[u8], agency: &str, year: Option<i32>) -> Result<Table, Unreadable> {
    let lines = lines(bytes)?;
    // Section 三: the number columns start under 自然人.
    let (header, first) = lines
        .iter()
        .enumerate()
        .find_map(|(i, l)| column_of(l, COLUMNS[0]).map(|c| (i, c)))
        .ok_or_else(|| unreadable("no section 三: no header cell 自然人"))?;
    let mut labelled = Vec::new();
    for line in &lines[header + 1..] {
        let label: String = line.cells.iter().take(first).map(|c| c.trim()).collect::<Vec<_>>().concat();
        // The header row of the five organisation kinds carries no label.
        if label.is_empty() || fold_label(line.text(first + 1)) == fold_label(COLUMNS[1]) {
            continue;
        }
        let folded = fold_label(&label).replace("本期", "本年").replace("上期", "上年").replace("下期", "下年度");
        labelled.push((folded, line));
        if labelled.last().is_some_and(|(l, _)| l.contains("结转下年度")) {
            break;
        }
    }
    let template = match labelled.len() {
        23 => Template::V2019,
        25 => Template::V2021,
        n => {
            return Err(unreadable(format!(
                "section 三 has {n} labelled rows after its header; the 2019 template has 23 and the 2021 template 25"
            )));
        }
    };
    let mut rows = Vec::new();
    for (spec, (label, line)) in template.rows().iter().zip(&labelled) {
        if !label.ends_with(&fold_label(spec.label)) {
            return Err(unreadable(format!(
                "{}: expected the row {:?}, found {label:?}",
                place(&line.sheet, line.row, 0),
                spec.label
            )));
        }
        rows.push((0..7).map(|c| line.number(first + c, false)).collect::<Result<Vec<_>, _>>()?);
    }
    // Section 四: fifteen numbers under the row naming 结果维持 three times.
    let review =
        match lines.iter().position(|l| l.cells.iter().filter(|c| fold_label(c) == REVIEW_COLUMNS[0]).count() >= 3) {
            Some(i) => {
                let start = column_of(&lines[i], REVIEW_COLUMNS[0]).expect("found above");
                let numbers = lines[i + 1..]
                    .iter()
                    .find(|l| (start..start + 15).any(|c| !l.text(c).trim().is_empty()))
                    .map(|l| (0..15).map(|c| l.number(start + c, false)).collect::<Result<Vec<_>, _>>())
                    .transpose()?;
                numbers.unwrap_or_else(|| vec![0; 15])
            }
            // A workbook without section 四's table reads it as blank.
            None => vec![0; 15],
        };
    let all: String = lines.iter().flat_map(|l| l.cells.iter()).map(String::as_str).collect::<Vec<_>>().join(" ");
    let period = match (stated_period(&all), year) {
        (Some(p), _) => p,
        (None, Some(y)) => Period::year(y),
        (None, None) => return Err(unreadable("the workbook states no 统计期限; give the year")),
    };
    let mut table = Table::blank(agency, template, period, "filed_in_period");
    for (row, values) in table.section_three.rows.iter_mut().zip(rows) {
        row.values = values;
    }
    for (k, block) in table.section_four.blocks.iter_mut().enumerate() {
        block.values = review[k * 5..k * 5 + 5].to_vec();
    }
    // Section 二: each block's rows under its title.
    for block in &mut table.section_two {
        let Some(title) = lines.iter().position(|l| column_of(l, &block.title).is_some()) else { continue };
        let money: Vec<bool> = block.columns.iter().map(|c| c.unit == "fen").collect();
        for row in &mut block.rows {
            let found = lines[title + 1..].iter().take(8).find_map(|l| column_of(l, &row.label).map(|c| (l, c)));
            if let Some((line, c)) = found {
                row.values =
                    (0..row.values.len()).map(|i| line.number(c + 1 + i, money[i])).collect::<Result<Vec<_>, _>>()?;
            }
        }
    }
    Ok(table)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn numbers_are_read_as_agencies_type_them_and_a_bad_one_is_named_by_its_cell() {
        let line = Line {
            sheet: "附表".into(),
            row: 6,
            cells: ["", " 12 ", "１２", "1,234", "", "abc", "3.5"].iter().map(|s| s.to_string()).collect(),
        };
        assert_eq!(line.number(1, false).unwrap(), 12);
        assert_eq!(line.number(2, false).unwrap(), 12, "full-width digits");
        assert_eq!(line.number(3, false).unwrap(), 1234, "a thousands separator");
        assert_eq!(line.number(4, false).unwrap(), 0, "blank means 0");
        assert_eq!(line.number(9, false).unwrap(), 0, "past the last cell: blank");
        assert_eq!(line.number(6, true).unwrap(), 3_500_000, "万元 to fen");
        let e = line.number(5, false).unwrap_err().0;
        assert!(e.contains("附表!F7") && e.contains("abc"), "{e}");
        assert_eq!(place("s", 0, 27), "s!AB1");
    }
}
