//! The tables alone as XLSX, one sheet per section.

use crate::report::publication::{TABLE_HEADINGS, period_statement, proactive_tables};
use crate::report::template::{
    APPLICANT_HEADER, BALANCE_NOTE, COLUMNS, LITIGATION_HEADER, ORGANISATIONS_HEADER, REVIEW_BLOCKS, REVIEW_COLUMNS,
};
use crate::wire::proto;

pub fn xlsx(r: &proto::AnnualReport) -> anyhow::Result<Vec<u8>> {
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
