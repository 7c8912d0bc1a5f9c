//! The tables as XLSX in the official layout: the annual report's, one
//! sheet per section; and a roll-up's, a summary sheet of its members, the
//! total, then one sheet per member with its sections stacked. Every sheet
//! is in 宋体 (GB2312 character set, so Excel on Chinese Windows picks it),
//! set up for A4, fitted to the page width, its header rows repeated on
//! every printed page and numbered "— N —" at the foot.

use rust_xlsxwriter::{Format as Cell, FormatAlign, FormatBorder, Workbook, Worksheet, XlsxError};

use crate::report::publication::{period_statement, proactive_tables};
use crate::report::template::{
    APPLICANT_HEADER, BALANCE_NOTE, COLUMNS, HEADING_FOUR, HEADING_THREE, HEADING_TWO, LITIGATION_HEADER,
    ORGANISATIONS_HEADER, REVIEW_BLOCKS, REVIEW_COLUMNS,
};
use crate::wire::proto;

/// The cell formats of the tables.
struct Formats {
    plain: Cell,
    left: Cell,
    title: Cell,
    money: Cell,
}

/// The East Asian face of every cell (charset 134 is GB2312).
fn song() -> Cell {
    Cell::new().set_font_name("宋体").set_font_charset(134).set_font_size(11)
}

/// A workbook whose default face is 宋体 rather than Calibri.
fn workbook() -> Result<Workbook, XlsxError> {
    let mut book = Workbook::new();
    book.set_default_format(&song().set_align(FormatAlign::VerticalCenter), 20, 64)?;
    Ok(book)
}

/// A4, portrait or landscape, fitted to one page wide, `repeat` (the
/// header rows) printed at the top of every page.
fn print_setup(sheet: &mut Worksheet, landscape: bool, repeat: Option<(u32, u32)>) -> Result<(), XlsxError> {
    sheet.set_paper_size(9);
    if landscape {
        sheet.set_landscape();
    }
    sheet.set_print_fit_to_pages(1, 0);
    sheet.set_print_center_horizontally(true);
    sheet.set_margins(0.7, 0.7, 0.75, 0.75, 0.3, 0.3);
    sheet.set_footer("&C— &P —");
    if let Some((first, last)) = repeat {
        sheet.set_repeat_rows(first, last)?;
    }
    Ok(())
}

impl Formats {
    fn new() -> Self {
        let plain = song()
            .set_border(FormatBorder::Thin)
            .set_align(FormatAlign::Center)
            .set_align(FormatAlign::VerticalCenter)
            .set_text_wrap();
        let left = plain.clone().set_align(FormatAlign::Left);
        let title = song().set_bold().set_font_size(14);
        let money = plain.clone().set_num_format("0.######");
        Self { plain, left, title, money }
    }
}

pub fn xlsx(r: &proto::AnnualReport) -> anyhow::Result<Vec<u8>> {
    let tables = r.tables.clone().unwrap_or_default();
    let f = Formats::new();
    let mut book = workbook()?;
    let sheet = book.add_worksheet().set_name("二、主动公开")?;
    sheet.write_with_format(0, 0, format!("{} {}", r.title, HEADING_TWO), &f.title)?;
    section_two(sheet, &tables, 2, &f)?;
    print_setup(sheet, false, None)?;
    let sheet = book.add_worksheet().set_name("三、依申请公开")?;
    sheet.write_with_format(0, 0, format!("{} {}", r.title, HEADING_THREE), &f.title)?;
    section_three(sheet, &tables, 2, &f)?;
    print_setup(sheet, false, Some((2, 4)))?;
    let sheet = book.add_worksheet().set_name("四、复议诉讼")?;
    sheet.write_with_format(0, 0, format!("{} {}", r.title, HEADING_FOUR), &f.title)?;
    let next = section_four(sheet, &tables, 2, &f)?;
    print_setup(sheet, true, Some((2, 4)))?;
    sheet.write(next + 1, 0, period_statement(&tables))?;
    Ok(book.save_to_buffer()?)
}

/// A group's roll-up: a summary sheet (every member, where its table comes
/// from, the log position it reflects, whether it counts, its checks, late
/// or not), the total's sheet,
/// then one sheet per member with its tables.
pub fn rollup_xlsx(r: &proto::Rollup) -> anyhow::Result<Vec<u8>> {
    let f = Formats::new();
    let mut book = workbook()?;
    let total = r.total.clone().unwrap_or_default();
    let sheet = book.add_worksheet().set_name("汇总")?;
    sheet.write_with_format(0, 0, format!("{} 汇总 {}", r.group_id, total.period), &f.title)?;
    let header = ["成员", "类型", "来源", "日志位置", "已接收", "计入合计", "校验", "逾期", "SHA-256"];
    for (c, h) in header.iter().enumerate() {
        sheet.write_with_format(2, c as u16, *h, &f.plain)?;
    }
    for (i, m) in r.members.iter().enumerate() {
        let row = 3 + i as u32;
        let source = match proto::TableSource::try_from(m.source) {
            Ok(proto::TableSource::Derived) => "由事件推导",
            Ok(proto::TableSource::Submitted) => "报送",
            Ok(proto::TableSource::Rollup) => "下级汇总",
            _ => "未报送",
        };
        let checks = if m.table.is_none() {
            "-".to_string()
        } else if m.failed_checks.is_empty() {
            "通过".to_string()
        } else {
            format!("未通过：{}", m.failed_checks.join("、"))
        };
        let yes = |b: bool| if b { "是" } else { "否" };
        let cells = [
            m.member_id.clone(),
            if m.is_group { "机关组" } else { "机关" }.to_string(),
            source.to_string(),
            m.table.as_ref().map(|t| t.log_position.to_string()).unwrap_or_default(),
            yes(m.accepted).to_string(),
            yes(m.counted).to_string(),
            checks,
            yes(m.late).to_string(),
            m.sha256.clone(),
        ];
        for (c, v) in cells.iter().enumerate() {
            sheet.write_with_format(row, c as u16, v, &f.left)?;
        }
    }
    let at = 4 + r.members.len() as u32;
    let passed = if total.checks_passed { "合计校验全部通过" } else { "合计校验未通过" };
    sheet.write(at, 0, passed)?;
    for (i, c) in total.checks.iter().enumerate() {
        sheet.write(at + 1 + i as u32, 0, format!("{} {}", c.name, if c.passed { "✓" } else { &c.detail }))?;
    }
    sheet.set_column_width(0, 20)?;
    sheet.set_column_width(6, 30)?;
    print_setup(sheet, true, Some((2, 2)))?;
    let mut names = vec!["汇总".to_string()];
    let mut tables = vec![(format!("{} 合计", r.group_id), total.clone())];
    tables.extend(r.members.iter().filter_map(|m| m.table.clone().map(|t| (m.member_id.clone(), t))));
    for (name, t) in tables {
        let sheet = book.add_worksheet().set_name(sheet_name(&name, &mut names))?;
        sheet.write_with_format(0, 0, format!("{name} {}", t.period), &f.title)?;
        let next = section_three(sheet, &t, 2, &f)?;
        let next = section_four(sheet, &t, next + 1, &f)?;
        let next = section_two(sheet, &t, next + 1, &f)?;
        sheet.write(next + 1, 0, period_statement(&t))?;
        print_setup(sheet, false, Some((2, 4)))?;
    }
    Ok(book.save_to_buffer()?)
}

/// A sheet name Excel accepts (at most 31 characters, none of []:*?/\),
/// unique in the workbook.
fn sheet_name(name: &str, taken: &mut Vec<String>) -> String {
    let clean: String = name.chars().filter(|c| !"[]:*?/\\".contains(*c)).take(28).collect();
    let mut candidate = clean.clone();
    let mut n = 2;
    while taken.contains(&candidate) {
        candidate = format!("{clean}-{n}");
        n += 1;
    }
    taken.push(candidate.clone());
    candidate
}

/// Section 二 from row `row`: each block a title row, a header row and its
/// rows. Answers the row after it.
fn section_two(sheet: &mut Worksheet, tables: &proto::Report, mut row: u32, f: &Formats) -> Result<u32, XlsxError> {
    let (plain, left, money) = (&f.plain, &f.left, &f.money);
    sheet.set_column_width(0, 30)?;
    for blocks in proactive_tables(tables) {
        let width = 1 + blocks.iter().map(|b| b.columns.len()).max().unwrap_or(0) as u16;
        for b in blocks {
            sheet.merge_range(row, 0, row, width - 1, &b.title, plain)?;
            row += 1;
            sheet.write_with_format(row, 0, "信息内容", plain)?;
            let last = b.columns.len() as u16;
            for (c, h) in b.columns.iter().enumerate() {
                let c = c as u16 + 1;
                if c == last && last < width - 1 {
                    sheet.merge_range(row, c, row, width - 1, h, plain)?;
                } else {
                    sheet.write_with_format(row, c, h, plain)?;
                }
            }
            row += 1;
            for data in &b.rows {
                sheet.write_with_format(row, 0, &data.label, left)?;
                for (c, v) in data.values.iter().enumerate() {
                    let col = c as u16 + 1;
                    let is_money = b.money.get(c).copied().unwrap_or(false);
                    if col == last && last < width - 1 {
                        sheet.merge_range(row, col, row, width - 1, "", plain)?;
                    }
                    if is_money {
                        sheet.write_number_with_format(row, col, *v as f64 / 1_000_000.0, money)?;
                    } else {
                        sheet.write_number_with_format(row, col, *v as f64, plain)?;
                    }
                }
                row += 1;
            }
        }
        row += 1;
    }
    Ok(row)
}

/// Section 三 from row `top`: the three header rows and the numbered rows,
/// merged as printed. Answers the row after it.
fn section_three(sheet: &mut Worksheet, tables: &proto::Report, top: u32, f: &Formats) -> Result<u32, XlsxError> {
    let (plain, left) = (&f.plain, &f.left);
    sheet.set_column_width(0, 12)?;
    sheet.set_column_width(1, 12)?;
    sheet.set_column_width(2, 36)?;
    sheet.merge_range(top, 0, top + 2, 2, BALANCE_NOTE, plain)?;
    sheet.merge_range(top, 3, top, 9, APPLICANT_HEADER, plain)?;
    sheet.merge_range(top + 1, 3, top + 2, 3, COLUMNS[0], plain)?;
    sheet.merge_range(top + 1, 4, top + 1, 8, ORGANISATIONS_HEADER, plain)?;
    sheet.merge_range(top + 1, 9, top + 2, 9, COLUMNS[6], plain)?;
    for (i, h) in COLUMNS[1..6].iter().enumerate() {
        sheet.write_with_format(top + 2, 4 + i as u16, *h, plain)?;
    }
    let first = top + 3;
    let rows = &tables.application_rows;
    let block_rows: Vec<u32> =
        rows.iter().enumerate().filter(|(_, x)| !x.block_label.is_empty()).map(|(i, _)| first + i as u32).collect();
    if let (Some(a), Some(b)) = (block_rows.first(), block_rows.last()) {
        let label = &rows[(a - first) as usize].block_label;
        sheet.merge_range(*a, 0, *b, 0, label, left)?;
    }
    let mut i = 0;
    while i < rows.len() {
        let x = &rows[i];
        let at = first + i as u32;
        if x.block_label.is_empty() {
            sheet.merge_range(at, 0, at, 2, &x.label, left)?;
        } else if x.group_label.is_empty() {
            sheet.merge_range(at, 1, at, 2, &x.label, left)?;
        } else {
            let span = rows[i..].iter().take_while(|y| y.group_label == x.group_label).count() as u32;
            if i == 0 || rows[i - 1].group_label != x.group_label {
                if span > 1 {
                    sheet.merge_range(at, 1, at + span - 1, 1, &x.group_label, left)?;
                } else {
                    sheet.write_with_format(at, 1, &x.group_label, left)?;
                }
            }
            sheet.write_with_format(at, 2, &x.label, left)?;
        }
        for (c, v) in x.values.iter().enumerate() {
            sheet.write_number_with_format(at, 3 + c as u16, *v as f64, plain)?;
        }
        i += 1;
    }
    Ok(first + rows.len() as u32)
}

/// Section 四 from row `top`: two header rows of blocks, the column names,
/// the numbers. Answers the row after it.
fn section_four(sheet: &mut Worksheet, tables: &proto::Report, top: u32, f: &Formats) -> Result<u32, XlsxError> {
    let plain = &f.plain;
    sheet.merge_range(top, 0, top + 1, 4, REVIEW_BLOCKS[0], plain)?;
    sheet.merge_range(top, 5, top, 14, LITIGATION_HEADER, plain)?;
    sheet.merge_range(top + 1, 5, top + 1, 9, REVIEW_BLOCKS[1], plain)?;
    sheet.merge_range(top + 1, 10, top + 1, 14, REVIEW_BLOCKS[2], plain)?;
    for k in 0..3u16 {
        for (c, h) in REVIEW_COLUMNS.iter().enumerate() {
            sheet.write_with_format(top + 2, k * 5 + c as u16, *h, plain)?;
        }
    }
    for (k, b) in tables.review_blocks.iter().enumerate() {
        for (c, v) in [b.upheld, b.corrected, b.other, b.pending, b.total].iter().enumerate() {
            sheet.write_number_with_format(top + 3, k as u16 * 5 + c as u16, *v as f64, plain)?;
        }
    }
    Ok(top + 4)
}
