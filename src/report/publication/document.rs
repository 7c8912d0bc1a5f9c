//! The finished report as a sequence of parts (title, headings, paragraphs,
//! tables with their merged cells, the sign-off and the colophon), laid out
//! once and independent of the file format, so the DOCX and the PDF cannot
//! disagree on what the report says or how its tables are merged.

use crate::domain::codes::ReportSection;
use crate::report::publication::{Options, paragraphs, proactive_cell, proactive_tables, sign_off_lines, text_of};
use crate::report::template::{
    APPLICANT_HEADER, BALANCE_NOTE, COLUMNS, HEADING_FOUR, HEADING_THREE, HEADING_TWO, LITIGATION_HEADER,
    ORGANISATIONS_HEADER, REVIEW_BLOCKS, REVIEW_COLUMNS,
};
use crate::wire::proto;

/// A part of the report, in reading order.
#[derive(Clone, Debug, PartialEq)]
pub enum Part {
    Title(String),
    /// 一、总体情况 … : kept on the page of what follows it.
    Heading(String),
    /// A paragraph of the agency's text, first line indented.
    Paragraph(String),
    Table(Table),
    /// 落款: the agency and the date, one per line, at the right.
    SignOff(Vec<String>),
    /// The small provenance line (when switched on).
    Colophon(String),
}

/// A ruled table: the share of the text width each grid column takes, its
/// rows, how many of the first rows are the header repeated on every page.
#[derive(Clone, Debug, PartialEq)]
pub struct Table {
    pub widths: Vec<f32>,
    pub rows: Vec<Vec<Cell>>,
    pub header_rows: usize,
    /// Short tables (section 二's) are kept on one page.
    pub keep_together: bool,
}

/// A cell: its text, how many grid columns and rows it spans, and whether
/// its text is set to the left (labels) or centred (headers, numbers).
#[derive(Clone, Debug, PartialEq)]
pub struct Cell {
    pub text: String,
    pub columns: usize,
    pub rows: usize,
    pub left: bool,
}

impl Cell {
    fn new(text: impl Into<String>) -> Self {
        Self { text: text.into(), columns: 1, rows: 1, left: false }
    }
    fn span(mut self, columns: usize, rows: usize) -> Self {
        self.columns = columns;
        self.rows = rows;
        self
    }
    fn left(mut self) -> Self {
        self.left = true;
        self
    }
}

/// Where each grid column of a row is: the cell starting there (its index
/// in the row), covered by a cell of an earlier row (its row and index), or
/// covered by a cell to its left in this row.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Slot {
    Starts(usize),
    FromAbove { row: usize, cell: usize },
    Spanned,
}

impl Table {
    /// The slots of every row, from the cells' spans.
    pub fn slots(&self) -> Vec<Vec<Slot>> {
        let width = self.widths.len();
        let mut covered: Vec<Option<(usize, usize, usize)>> = vec![None; width]; // (row, cell, rows left)
        let mut out = Vec::with_capacity(self.rows.len());
        for (r, row) in self.rows.iter().enumerate() {
            let mut slots = vec![Slot::Spanned; width];
            let mut column = 0;
            let mut cells = row.iter().enumerate();
            while column < width {
                if let Some((from, cell, left)) = covered[column] {
                    slots[column] = Slot::FromAbove { row: from, cell };
                    covered[column] = (left > 1).then_some((from, cell, left - 1));
                    column += 1;
                    continue;
                }
                let Some((i, c)) = cells.next() else { break };
                slots[column] = Slot::Starts(i);
                if c.rows > 1 {
                    let end = (column + c.columns).min(width);
                    covered[column..end].fill(Some((r, i, c.rows - 1)));
                }
                column += c.columns;
            }
            out.push(slots);
        }
        out
    }
}

/// Lays out the report: the agency's words, the tables, the sign-off and
/// (when switched on) the colophon.
pub fn parts(r: &proto::AnnualReport, options: &Options) -> Vec<Part> {
    let tables = r.tables.clone().unwrap_or_default();
    let mut out = vec![Part::Title(r.title.clone())];
    let text = |out: &mut Vec<Part>, section: ReportSection| {
        if let Some(t) = text_of(r, section.to_proto()) {
            if !t.heading.is_empty() {
                out.push(Part::Heading(t.heading.clone()));
            }
            out.extend(paragraphs(&t.text).map(Part::Paragraph));
        }
    };
    text(&mut out, ReportSection::Preamble);
    text(&mut out, ReportSection::Overview);
    if !tables.proactive_blocks.is_empty() {
        out.push(Part::Heading(HEADING_TWO.into()));
        out.extend(proactive(&tables).into_iter().map(Part::Table));
    }
    out.push(Part::Heading(HEADING_THREE.into()));
    out.push(Part::Table(applications(&tables)));
    out.push(Part::Heading(HEADING_FOUR.into()));
    out.push(Part::Table(reviews(&tables)));
    text(&mut out, ReportSection::Problems);
    text(&mut out, ReportSection::Other);
    let lines = sign_off_lines(r);
    if !lines.is_empty() {
        out.push(Part::SignOff(lines));
    }
    if options.colophon {
        out.push(Part::Colophon(crate::report::publication::colophon(&tables, options)));
    }
    out
}

/// Section 二: one table per table of the template, each block a title
/// row, a header row and its rows.
pub fn proactive(r: &proto::Report) -> Vec<Table> {
    proactive_tables(r)
        .into_iter()
        .map(|blocks| {
            let width = 1 + blocks.iter().map(|b| b.columns.len()).max().unwrap_or(0);
            let mut rows = Vec::new();
            for b in blocks {
                let spare = width - 1 - b.columns.len();
                let span = |c: usize| if c + 1 == b.columns.len() { 1 + spare } else { 1 };
                rows.push(vec![Cell::new(&b.title).span(width, 1)]);
                let mut header = vec![Cell::new("信息内容")];
                header.extend(b.columns.iter().enumerate().map(|(c, h)| Cell::new(h).span(span(c), 1)));
                rows.push(header);
                for row in &b.rows {
                    let mut cells = vec![Cell::new(&row.label).left()];
                    cells.extend(
                        row.values
                            .iter()
                            .enumerate()
                            .map(|(c, v)| Cell::new(proactive_cell(b, c, *v)).span(span(c), 1)),
                    );
                    rows.push(cells);
                }
            }
            let rest = 0.66 / (width - 1).max(1) as f32;
            let mut widths = vec![0.34];
            widths.extend(std::iter::repeat_n(rest, width - 1));
            Table { widths, rows, header_rows: 2, keep_together: true }
        })
        .collect()
}

/// Section 三 with the official merged cells: the balance note over three
/// header rows, the applicant columns, the blocks and groups of rows.
pub fn applications(r: &proto::Report) -> Table {
    let mut rows = vec![
        vec![Cell::new(BALANCE_NOTE).span(3, 3).left(), Cell::new(APPLICANT_HEADER).span(7, 1)],
        vec![
            Cell::new(COLUMNS[0]).span(1, 2),
            Cell::new(ORGANISATIONS_HEADER).span(5, 1),
            Cell::new(COLUMNS[6]).span(1, 2),
        ],
        COLUMNS[1..6].iter().map(|h| Cell::new(*h)).collect(),
    ];
    let body = &r.application_rows;
    let block_len = body.iter().filter(|x| !x.block_label.is_empty()).count();
    let mut block_open = false;
    let mut last_group = "";
    for row in body {
        let mut cells = Vec::new();
        if row.block_label.is_empty() {
            cells.push(Cell::new(&row.label).span(3, 1).left());
        } else {
            if !block_open {
                cells.push(Cell::new(&row.block_label).span(1, block_len).left());
                block_open = true;
            }
            if row.group_label.is_empty() {
                cells.push(Cell::new(&row.label).span(2, 1).left());
            } else {
                if row.group_label != last_group {
                    let span = body.iter().filter(|x| x.group_label == row.group_label).count();
                    cells.push(Cell::new(&row.group_label).span(1, span).left());
                }
                cells.push(Cell::new(&row.label).left());
            }
        }
        last_group = &row.group_label;
        cells.extend(row.values.iter().map(|v| Cell::new(v.to_string())));
        rows.push(cells);
    }
    // Each applicant column holds 自然人 (three characters of the 9 pt table
    // face) on one line; the group column （三）不予公开 (seven); the block
    // column wraps its label by design, as the template does.
    let mut widths = vec![0.09, 0.15, 0.27];
    widths.extend(std::iter::repeat_n(0.07, 7));
    Table { widths, rows, header_rows: 3, keep_together: false }
}

/// Section 四: 行政复议 and the two kinds of 行政诉讼, five results each.
pub fn reviews(r: &proto::Report) -> Table {
    let rows = vec![
        vec![Cell::new(REVIEW_BLOCKS[0]).span(5, 2), Cell::new(LITIGATION_HEADER).span(10, 1)],
        vec![Cell::new(REVIEW_BLOCKS[1]).span(5, 1), Cell::new(REVIEW_BLOCKS[2]).span(5, 1)],
        (0..3).flat_map(|_| REVIEW_COLUMNS.iter().map(|h| Cell::new(*h))).collect(),
        r.review_blocks
            .iter()
            .flat_map(|b| [b.upheld, b.corrected, b.other, b.pending, b.total])
            .map(|v| Cell::new(v.to_string()))
            .collect(),
    ];
    Table { widths: vec![1.0 / 15.0; 15], rows, header_rows: 3, keep_together: true }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_row_of_every_table_fills_the_grid() {
        use crate::report::tables::{Report, ReviewDating, YearCells};
        use crate::report::template::Template;
        for template in [Template::V2019, Template::V2021] {
            let agency = crate::domain::ids::AgencyId::parse("a").unwrap();
            let cells = YearCells::default();
            let report = Report::new(vec![agency], 2024, template, ReviewDating::default(), 7, &cells, &cells);
            let r = crate::api::report::report_to_proto(&report, crate::store::chain::GENESIS);
            let mut all = vec![applications(&r), reviews(&r)];
            all.extend(proactive(&r));
            for t in all {
                let sum: f32 = t.widths.iter().sum();
                assert!((sum - 1.0).abs() < 1e-4, "widths sum to {sum}");
                for (i, slots) in t.slots().iter().enumerate() {
                    assert_eq!(slots.len(), t.widths.len());
                    let starts = slots.iter().filter(|s| matches!(s, Slot::Starts(_))).count();
                    assert_eq!(starts, t.rows[i].len(), "row {i}: every cell has its place");
                    assert!(!slots.contains(&Slot::Spanned) || slots.iter().any(|s| matches!(s, Slot::Starts(_))));
                }
            }
        }
    }
}
