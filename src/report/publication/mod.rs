//! The finished annual report as agencies publish and exchange it: HTML
//! (printable on A4), DOCX (the whole report, the tables with the official
//! merged cells), and XLSX (the tables alone, one sheet per section).
//! Everything is laid out from an `AnnualReport` as the server assembled
//! it, so the text and the tables are of one log position.

use crate::report::proactive_table::wan_yuan;
use crate::wire::proto;

pub mod docx;
pub mod html;
pub mod xlsx;

/// A published format.
#[derive(Clone, Copy, Debug, PartialEq, Eq, clap::ValueEnum)]
pub enum Format {
    Html,
    Docx,
    Xlsx,
}

pub fn publish(report: &proto::AnnualReport, format: Format) -> anyhow::Result<Vec<u8>> {
    Ok(match format {
        Format::Html => html::html(report).into_bytes(),
        Format::Docx => docx::docx(report)?,
        Format::Xlsx => xlsx::xlsx(report)?,
    })
}

/// The statement of the period and the log position.
pub fn period_statement(tables: &proto::Report) -> String {
    let period = if tables.period.is_empty() {
        format!("{y}年1月1日至{y}年12月31日", y = tables.year)
    } else {
        tables.period.clone()
    };
    format!("本报告统计期限为{period}。报告中的数字均由事件日志推导，反映日志位置{}。", tables.log_position)
}

pub(crate) fn paragraphs(text: &str) -> impl Iterator<Item = String> + '_ {
    text.split("\n\n").map(|p| p.trim().replace('\n', "")).filter(|p| !p.is_empty())
}

pub(crate) fn text_of(r: &proto::AnnualReport, section: proto::ReportSection) -> Option<&proto::ReportText> {
    r.texts.iter().find(|t| t.section == section as i32)
}

/// Headings of the table sections, in report order.
pub(crate) const TABLE_HEADINGS: [&str; 3] =
    ["二、主动公开政府信息情况", "三、收到和处理政府信息公开申请情况", "四、政府信息公开行政复议、行政诉讼情况"];

/// The shown value of a section 二 cell (money in 万元).
pub(crate) fn proactive_cell(b: &proto::ProactiveBlock, column: usize, v: i64) -> String {
    if b.money.get(column).copied().unwrap_or(false) { wan_yuan(v) } else { v.to_string() }
}

/// Section 二 blocks grouped into their tables.
pub(crate) fn proactive_tables(r: &proto::Report) -> Vec<Vec<&proto::ProactiveBlock>> {
    let mut tables: Vec<Vec<&proto::ProactiveBlock>> = Vec::new();
    for b in &r.proactive_blocks {
        match tables.last_mut() {
            Some(t) if !b.new_table => t.push(b),
            _ => tables.push(vec![b]),
        }
    }
    tables
}
