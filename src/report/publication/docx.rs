//! The whole report as DOCX: the text, and the tables with the official
//! merged cells.

use anyhow::Context as _;

use crate::report::publication::{
    TABLE_HEADINGS, paragraphs, period_statement, proactive_cell, proactive_tables, text_of,
};
use crate::report::template::{
    APPLICANT_HEADER, BALANCE_NOTE, COLUMNS, LITIGATION_HEADER, ORGANISATIONS_HEADER, REVIEW_BLOCKS, REVIEW_COLUMNS,
};
use crate::wire::proto;

mod word {
    use docx_rs::*;

    /// Song-style CJK fonts, as government documents use.
    pub fn fonts() -> RunFonts {
        RunFonts::new().east_asia("SimSun").ascii("Times New Roman").hi_ansi("Times New Roman")
    }

    pub fn text(s: &str, size: usize, bold: bool) -> Run {
        let run = Run::new().add_text(s).size(size).fonts(fonts());
        if bold { run.bold() } else { run }
    }

    /// A cell with centred text; `span` grid columns; a vertical merge.
    pub fn cell(s: &str, span: usize, merge: Option<VMergeType>, left: bool) -> TableCell {
        let align = if left { AlignmentType::Left } else { AlignmentType::Center };
        let mut c = TableCell::new()
            .add_paragraph(Paragraph::new().add_run(text(s, 20, false)).align(align))
            .vertical_align(VAlignType::Center);
        if span > 1 {
            c = c.grid_span(span);
        }
        if let Some(m) = merge {
            c = c.vertical_merge(m);
        }
        c
    }

    pub fn table(rows: Vec<TableRow>, grid: Vec<usize>) -> Table {
        let width: usize = grid.iter().sum();
        Table::new(rows).set_grid(grid).width(width, WidthType::Dxa).layout(TableLayoutType::Fixed)
    }
}

pub fn docx(r: &proto::AnnualReport) -> anyhow::Result<Vec<u8>> {
    use docx_rs::{AlignmentType, Docx, PageMargin, Paragraph};
    let tables = r.tables.clone().unwrap_or_default();
    // A4 in twentieths of a point, with 2.5 cm / 2.8 cm margins.
    let mut doc = Docx::new()
        .page_size(11_906, 16_838)
        .page_margin(PageMargin::new().top(1_417).bottom(1_417).left(1_587).right(1_587));
    doc = doc.add_paragraph(Paragraph::new().add_run(word::text(&r.title, 36, true)).align(AlignmentType::Center));
    let heading = |s: &str| Paragraph::new().add_run(word::text(s, 28, true));
    let para = |s: &str| {
        Paragraph::new().add_run(word::text(s, 24, false)).indent(
            None,
            Some(docx_rs::SpecialIndentType::FirstLine(480)),
            None,
            None,
        )
    };
    let add_text = |mut doc: Docx, section: proto::ReportSection| {
        if let Some(t) = text_of(r, section) {
            if !t.heading.is_empty() {
                doc = doc.add_paragraph(heading(&t.heading));
            }
            for p in paragraphs(&t.text) {
                doc = doc.add_paragraph(para(&p));
            }
        }
        doc
    };
    doc = add_text(doc, proto::ReportSection::Preamble);
    doc = doc.add_paragraph(para(&period_statement(&tables)));
    doc = add_text(doc, proto::ReportSection::Overview);
    doc = doc.add_paragraph(heading(TABLE_HEADINGS[0]));
    for t in docx_proactive(&tables) {
        doc = doc.add_table(t).add_paragraph(Paragraph::new());
    }
    doc = doc.add_paragraph(heading(TABLE_HEADINGS[1])).add_table(docx_applications(&tables));
    doc = doc.add_paragraph(heading(TABLE_HEADINGS[2])).add_table(docx_reviews(&tables));
    doc = add_text(doc, proto::ReportSection::Problems);
    doc = add_text(doc, proto::ReportSection::Other);
    let mut out = std::io::Cursor::new(Vec::new());
    doc.build().pack(&mut out).context("cannot write the DOCX")?;
    Ok(out.into_inner())
}

fn docx_proactive(r: &proto::Report) -> Vec<docx_rs::Table> {
    use docx_rs::TableRow;
    proactive_tables(r)
        .into_iter()
        .map(|blocks| {
            let width = 1 + blocks.iter().map(|b| b.columns.len()).max().unwrap_or(0);
            let mut rows = Vec::new();
            for b in blocks {
                let spare = width - 1 - b.columns.len();
                let span = |c: usize| if c + 1 == b.columns.len() { 1 + spare } else { 1 };
                rows.push(TableRow::new(vec![word::cell(&b.title, width, None, false)]));
                let mut header = vec![word::cell("信息内容", 1, None, false)];
                header.extend(b.columns.iter().enumerate().map(|(c, h)| word::cell(h, span(c), None, false)));
                rows.push(TableRow::new(header));
                for row in &b.rows {
                    let mut cells = vec![word::cell(&row.label, 1, None, true)];
                    cells.extend(
                        row.values
                            .iter()
                            .enumerate()
                            .map(|(c, v)| word::cell(&proactive_cell(b, c, *v), span(c), None, false)),
                    );
                    rows.push(TableRow::new(cells));
                }
            }
            let rest = 6_500 / (width - 1).max(1);
            let mut grid = vec![3_200];
            grid.extend(std::iter::repeat_n(rest, width - 1));
            word::table(rows, grid)
        })
        .collect()
}

fn docx_applications(r: &proto::Report) -> docx_rs::Table {
    use docx_rs::{
        TableRow,
        VMergeType::{Continue, Restart},
    };
    let c = |s: &str, span, merge| word::cell(s, span, merge, false);
    let mut rows = vec![
        TableRow::new(vec![c(BALANCE_NOTE, 3, Some(Restart)), c(APPLICANT_HEADER, 7, None)]),
        TableRow::new(vec![
            c("", 3, Some(Continue)),
            c(COLUMNS[0], 1, Some(Restart)),
            c(ORGANISATIONS_HEADER, 5, None),
            c(COLUMNS[6], 1, Some(Restart)),
        ]),
    ];
    let mut third = vec![c("", 3, Some(Continue)), c("", 1, Some(Continue))];
    third.extend(COLUMNS[1..6].iter().map(|h| c(h, 1, None)));
    third.push(c("", 1, Some(Continue)));
    rows.push(TableRow::new(third));
    let mut block_open = false;
    let mut last_group = String::new();
    for row in &r.application_rows {
        let mut cells = Vec::new();
        if row.block_label.is_empty() {
            cells.push(word::cell(&row.label, 3, None, true));
        } else {
            let merge = if block_open { Continue } else { Restart };
            let label = if block_open { "" } else { row.block_label.as_str() };
            cells.push(word::cell(label, 1, Some(merge), true));
            block_open = true;
            if row.group_label.is_empty() {
                cells.push(word::cell(&row.label, 2, None, true));
            } else {
                let first = row.group_label != last_group;
                let label = if first { row.group_label.as_str() } else { "" };
                cells.push(word::cell(label, 1, Some(if first { Restart } else { Continue }), true));
                cells.push(word::cell(&row.label, 1, None, true));
            }
        }
        last_group = row.group_label.clone();
        cells.extend(row.values.iter().map(|v| c(&v.to_string(), 1, None)));
        rows.push(TableRow::new(cells));
    }
    let mut grid = vec![1_000, 1_000, 2_600];
    grid.extend(std::iter::repeat_n(700, 7));
    word::table(rows, grid)
}

fn docx_reviews(r: &proto::Report) -> docx_rs::Table {
    use docx_rs::{
        TableRow,
        VMergeType::{Continue, Restart},
    };
    let c = |s: &str, span, merge| word::cell(s, span, merge, false);
    let mut rows = vec![
        TableRow::new(vec![c(REVIEW_BLOCKS[0], 5, Some(Restart)), c(LITIGATION_HEADER, 10, None)]),
        TableRow::new(vec![c("", 5, Some(Continue)), c(REVIEW_BLOCKS[1], 5, None), c(REVIEW_BLOCKS[2], 5, None)]),
    ];
    rows.push(TableRow::new((0..3).flat_map(|_| REVIEW_COLUMNS.iter().map(|h| c(h, 1, None))).collect()));
    rows.push(TableRow::new(
        r.review_blocks
            .iter()
            .flat_map(|b| [b.upheld, b.corrected, b.other, b.pending, b.total])
            .map(|v| c(&v.to_string(), 1, None))
            .collect(),
    ));
    word::table(rows, vec![580; 15])
}
