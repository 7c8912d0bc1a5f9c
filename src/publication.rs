//! The finished annual report as agencies publish and exchange it: HTML
//! (printable on A4), DOCX (the whole report, the tables with the official
//! merged cells), and XLSX (the tables alone, one sheet per section).
//! Everything is laid out from an `AnnualReport` as the server assembled
//! it, so the text and the tables are of one log position.

use std::fmt::Write as _;

use anyhow::Context as _;

use crate::proactive_table::wan_yuan;
use crate::proto;
use crate::render::{escape, html_head, tables_html};
use crate::template::{
    APPLICANT_HEADER, BALANCE_NOTE, COLUMNS, LITIGATION_HEADER, ORGANISATIONS_HEADER, REVIEW_BLOCKS, REVIEW_COLUMNS,
};

/// A published format.
#[derive(Clone, Copy, Debug, PartialEq, Eq, clap::ValueEnum)]
pub enum Format {
    Html,
    Docx,
    Xlsx,
}

pub fn publish(report: &proto::AnnualReport, format: Format) -> anyhow::Result<Vec<u8>> {
    Ok(match format {
        Format::Html => html(report).into_bytes(),
        Format::Docx => docx(report)?,
        Format::Xlsx => xlsx(report)?,
    })
}

/// The statement of the period and the log position.
pub fn period_statement(tables: &proto::Report) -> String {
    format!(
        "本报告统计期限为{y}年1月1日至{y}年12月31日。报告中的数字均由事件日志推导，反映日志位置{p}。",
        y = tables.year,
        p = tables.log_position
    )
}

fn paragraphs(text: &str) -> impl Iterator<Item = String> + '_ {
    text.split("\n\n").map(|p| p.trim().replace('\n', "")).filter(|p| !p.is_empty())
}

fn text_of(r: &proto::AnnualReport, section: proto::ReportSection) -> Option<&proto::ReportText> {
    r.texts.iter().find(|t| t.section == section as i32)
}

/// Headings of the table sections, in report order.
const TABLE_HEADINGS: [&str; 3] =
    ["二、主动公开政府信息情况", "三、收到和处理政府信息公开申请情况", "四、政府信息公开行政复议、行政诉讼情况"];

// ---------------------------------------------------------------- HTML

fn html(r: &proto::AnnualReport) -> String {
    let tables = r.tables.clone().unwrap_or_default();
    let mut out = html_head(&r.title);
    let _ = writeln!(out, "<h1>{}</h1>", escape(&r.title));
    let text = |out: &mut String, section: proto::ReportSection| {
        if let Some(t) = text_of(r, section) {
            if !t.heading.is_empty() {
                let _ = writeln!(out, "<h2>{}</h2>", escape(&t.heading));
            }
            for p in paragraphs(&t.text) {
                let _ = writeln!(out, "<p class=\"text\">{}</p>", escape(&p));
            }
        }
    };
    text(&mut out, proto::ReportSection::Preamble);
    let _ = writeln!(out, "<p class=\"text\">{}</p>", escape(&period_statement(&tables)));
    text(&mut out, proto::ReportSection::Overview);
    out.push_str(&tables_html(&tables));
    text(&mut out, proto::ReportSection::Problems);
    text(&mut out, proto::ReportSection::Other);
    out.push_str("</body></html>\n");
    out
}

// ---------------------------------------------------------------- DOCX

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

fn docx(r: &proto::AnnualReport) -> anyhow::Result<Vec<u8>> {
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

/// The shown value of a section 二 cell (money in 万元).
fn proactive_cell(b: &proto::ProactiveBlock, column: usize, v: i64) -> String {
    if b.money.get(column).copied().unwrap_or(false) { wan_yuan(v) } else { v.to_string() }
}

/// Section 二 blocks grouped into their tables.
fn proactive_tables(r: &proto::Report) -> Vec<Vec<&proto::ProactiveBlock>> {
    let mut tables: Vec<Vec<&proto::ProactiveBlock>> = Vec::new();
    for b in &r.proactive_blocks {
        match tables.last_mut() {
            Some(t) if !b.new_table => t.push(b),
            _ => tables.push(vec![b]),
        }
    }
    tables
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

// ---------------------------------------------------------------- XLSX

fn xlsx(r: &proto::AnnualReport) -> anyhow::Result<Vec<u8>> {
    use rust_xlsxwriter::{Format as Cell, FormatAlign, FormatBorder, Workbook};
    let tables = r.tables.clone().unwrap_or_default();
    let mut book = Workbook::new();
    let plain = Cell::new()
        .set_border(FormatBorder::Thin)
        .set_align(FormatAlign::Center)
        .set_align(FormatAlign::VerticalCenter)
        .set_text_wrap();
    let left = plain.clone().set_align(FormatAlign::Left);
    let title = Cell::new().set_bold().set_font_size(14);
    let money = plain.clone().set_num_format("0.######");

    // 二: each block a title row, a header row and its rows.
    let sheet = book.add_worksheet().set_name("二、主动公开")?;
    sheet.write_with_format(0, 0, format!("{} {}", r.title, TABLE_HEADINGS[0]), &title)?;
    sheet.set_column_width(0, 30)?;
    let mut row = 2u32;
    for blocks in proactive_tables(&tables) {
        let width = 1 + blocks.iter().map(|b| b.columns.len()).max().unwrap_or(0) as u16;
        for b in blocks {
            sheet.merge_range(row, 0, row, width - 1, &b.title, &plain)?;
            row += 1;
            sheet.write_with_format(row, 0, "信息内容", &plain)?;
            let last = b.columns.len() as u16;
            for (c, h) in b.columns.iter().enumerate() {
                let c = c as u16 + 1;
                if c == last && last < width - 1 {
                    sheet.merge_range(row, c, row, width - 1, h, &plain)?;
                } else {
                    sheet.write_with_format(row, c, h, &plain)?;
                }
            }
            row += 1;
            for data in &b.rows {
                sheet.write_with_format(row, 0, &data.label, &left)?;
                for (c, v) in data.values.iter().enumerate() {
                    let col = c as u16 + 1;
                    let is_money = b.money.get(c).copied().unwrap_or(false);
                    if col == last && last < width - 1 {
                        sheet.merge_range(row, col, row, width - 1, "", &plain)?;
                    }
                    if is_money {
                        sheet.write_number_with_format(row, col, *v as f64 / 1_000_000.0, &money)?;
                    } else {
                        sheet.write_number_with_format(row, col, *v as f64, &plain)?;
                    }
                }
                row += 1;
            }
        }
        row += 1;
    }

    // 三: the three header rows and the numbered rows, merged as printed.
    let sheet = book.add_worksheet().set_name("三、依申请公开")?;
    sheet.write_with_format(0, 0, format!("{} {}", r.title, TABLE_HEADINGS[1]), &title)?;
    sheet.set_column_width(0, 12)?;
    sheet.set_column_width(1, 12)?;
    sheet.set_column_width(2, 36)?;
    let top = 2u32;
    sheet.merge_range(top, 0, top + 2, 2, BALANCE_NOTE, &plain)?;
    sheet.merge_range(top, 3, top, 9, APPLICANT_HEADER, &plain)?;
    sheet.merge_range(top + 1, 3, top + 2, 3, COLUMNS[0], &plain)?;
    sheet.merge_range(top + 1, 4, top + 1, 8, ORGANISATIONS_HEADER, &plain)?;
    sheet.merge_range(top + 1, 9, top + 2, 9, COLUMNS[6], &plain)?;
    for (i, h) in COLUMNS[1..6].iter().enumerate() {
        sheet.write_with_format(top + 2, 4 + i as u16, *h, &plain)?;
    }
    let first = top + 3;
    let rows = &tables.application_rows;
    let block_rows: Vec<u32> =
        rows.iter().enumerate().filter(|(_, x)| !x.block_label.is_empty()).map(|(i, _)| first + i as u32).collect();
    if let (Some(a), Some(b)) = (block_rows.first(), block_rows.last()) {
        let label = &rows[(a - first) as usize].block_label;
        sheet.merge_range(*a, 0, *b, 0, label, &left)?;
    }
    let mut i = 0;
    while i < rows.len() {
        let x = &rows[i];
        let at = first + i as u32;
        if x.block_label.is_empty() {
            sheet.merge_range(at, 0, at, 2, &x.label, &left)?;
        } else if x.group_label.is_empty() {
            sheet.merge_range(at, 1, at, 2, &x.label, &left)?;
        } else {
            let span = rows[i..].iter().take_while(|y| y.group_label == x.group_label).count() as u32;
            if i == 0 || rows[i - 1].group_label != x.group_label {
                if span > 1 {
                    sheet.merge_range(at, 1, at + span - 1, 1, &x.group_label, &left)?;
                } else {
                    sheet.write_with_format(at, 1, &x.group_label, &left)?;
                }
            }
            sheet.write_with_format(at, 2, &x.label, &left)?;
        }
        for (c, v) in x.values.iter().enumerate() {
            sheet.write_number_with_format(at, 3 + c as u16, *v as f64, &plain)?;
        }
        i += 1;
    }

    // 四: two header rows of blocks, the column names, the numbers.
    let sheet = book.add_worksheet().set_name("四、复议诉讼")?;
    sheet.write_with_format(0, 0, format!("{} {}", r.title, TABLE_HEADINGS[2]), &title)?;
    sheet.merge_range(2, 0, 3, 4, REVIEW_BLOCKS[0], &plain)?;
    sheet.merge_range(2, 5, 2, 14, LITIGATION_HEADER, &plain)?;
    sheet.merge_range(3, 5, 3, 9, REVIEW_BLOCKS[1], &plain)?;
    sheet.merge_range(3, 10, 3, 14, REVIEW_BLOCKS[2], &plain)?;
    for k in 0..3u16 {
        for (c, h) in REVIEW_COLUMNS.iter().enumerate() {
            sheet.write_with_format(4, k * 5 + c as u16, *h, &plain)?;
        }
    }
    for (k, b) in tables.review_blocks.iter().enumerate() {
        for (c, v) in [b.upheld, b.corrected, b.other, b.pending, b.total].iter().enumerate() {
            sheet.write_number_with_format(5, k as u16 * 5 + c as u16, *v as f64, &plain)?;
        }
    }
    sheet.write(7, 0, period_statement(&tables))?;
    Ok(book.save_to_buffer()?)
}
