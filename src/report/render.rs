//! Rendering a report for people: TSV laid out like a published report's
//! sections 二 and 三, CSV (section 三), JSON (the exchange format),
//! Markdown, and printable HTML with the official merged header and label
//! cells.

use std::fmt::Write as _;

use crate::report::template::{
    APPLICANT_HEADER, BALANCE_NOTE, COLUMNS, LITIGATION_HEADER, ORGANISATIONS_HEADER, REVIEW_BLOCKS, REVIEW_COLUMNS,
};
use crate::wire::proto;

/// An output format.
#[derive(Clone, Copy, Debug, PartialEq, Eq, clap::ValueEnum)]
pub enum Format {
    Tsv,
    Csv,
    Json,
    Md,
    Html,
    /// The official layout as a workbook (binary: written to a file).
    Xlsx,
}

pub fn render(report: &proto::Report, format: Format) -> anyhow::Result<String> {
    Ok(match format {
        Format::Tsv => tsv(report),
        Format::Csv => csv(report)?,
        Format::Json => crate::report::exchange::Table::derived(report, &report.agency_ids.join("+"))
            .map_err(anyhow::Error::msg)?
            .to_json(),
        Format::Md => markdown(report),
        Format::Html => html(report),
        Format::Xlsx => anyhow::bail!("xlsx is a binary workbook: write it to a file (-o table.xlsx)"),
    })
}

/// The three label cells of a row as the official grid has them: the
/// block label (on the row that opens the block), the group label (on the
/// row that opens the group) or a label the template merges over both
/// inner columns (（一）予以公开), and an item's label (1.属于国家秘密).
/// Rows outside the block (一、本年新收 …) put their label first. Every
/// label of one level is in one column, as in the printed table.
fn grid_labels(rows: &[proto::ApplicationRow]) -> Vec<[String; 3]> {
    let mut out = Vec::new();
    let mut last_block = "";
    let mut last_group = "";
    for row in rows {
        let cells = if row.block_label.is_empty() {
            [row.label.clone(), String::new(), String::new()]
        } else {
            let block = if row.block_label != last_block { row.block_label.clone() } else { String::new() };
            if row.group_label.is_empty() {
                [block, row.label.clone(), String::new()]
            } else {
                let group = if row.group_label != last_group { row.group_label.clone() } else { String::new() };
                [block, group, row.label.clone()]
            }
        };
        last_block = &row.block_label;
        last_group = &row.group_label;
        out.push(cells);
    }
    out
}

/// A section 二 value as shown: money (fen) in 万元.
fn proactive_value(block: &proto::ProactiveBlock, column: usize, value: i64) -> String {
    if block.money.get(column).copied().unwrap_or(false) {
        crate::report::proactive_table::wan_yuan(value)
    } else {
        value.to_string()
    }
}

/// Section 二 as the published report lays it out: each block's title
/// and header rows, padded to the width of its table.
pub fn proactive_tsv(r: &proto::Report) -> String {
    let mut out = String::new();
    let mut tables: Vec<Vec<&proto::ProactiveBlock>> = Vec::new();
    for b in &r.proactive_blocks {
        match tables.last_mut() {
            Some(t) if !b.new_table => t.push(b),
            _ => tables.push(vec![b]),
        }
    }
    for (i, table) in tables.iter().enumerate() {
        if i > 0 {
            out.push('\n');
        }
        let width = 1 + table.iter().map(|b| b.columns.len()).max().unwrap_or(0);
        let line = |out: &mut String, cells: Vec<String>| {
            let mut cells = cells;
            cells.resize(width, String::new());
            let _ = writeln!(out, "{}", cells.join("\t"));
        };
        for b in table {
            line(&mut out, vec![b.title.clone()]);
            line(&mut out, std::iter::once("信息内容".to_owned()).chain(b.columns.iter().cloned()).collect());
            for row in &b.rows {
                let values = row.values.iter().enumerate().map(|(c, v)| proactive_value(b, c, *v));
                line(&mut out, std::iter::once(row.label.clone()).chain(values).collect());
            }
        }
    }
    out
}

/// Sections 二, 三 and 四 under their headings, as a published report's
/// text lays them out (what `submission` reads back).
fn tsv(r: &proto::Report) -> String {
    let mut out = String::new();
    if !r.period.is_empty() {
        let _ = writeln!(out, "统计期限为{}", r.period);
    }
    if !r.proactive_blocks.is_empty() {
        let _ = writeln!(out, "{}", crate::report::template::HEADING_TWO);
        out.push_str(&proactive_tsv(r));
        out.push('\n');
    }
    let _ = writeln!(out, "{}", crate::report::template::HEADING_THREE);
    // Three label columns, then the seven of the applicants.
    let _ = writeln!(out, "{BALANCE_NOTE}\t\t\t{APPLICANT_HEADER}\t\t\t\t\t\t");
    let _ = writeln!(out, "\t\t\t{}\t{ORGANISATIONS_HEADER}\t\t\t\t\t{}", COLUMNS[0], COLUMNS[6]);
    let _ = writeln!(out, "\t\t\t\t{}\t", COLUMNS[1..6].join("\t"));
    for (row, labels) in r.application_rows.iter().zip(grid_labels(&r.application_rows)) {
        let values: Vec<String> = row.values.iter().map(ToString::to_string).collect();
        let _ = writeln!(out, "{}\t{}", labels.join("\t"), values.join("\t"));
    }
    let _ = writeln!(out, "\n{}", crate::report::template::HEADING_FOUR);
    let _ = writeln!(out, "{}\t\t\t\t\t{LITIGATION_HEADER}\t\t\t\t\t\t\t\t\t", REVIEW_BLOCKS[0]);
    let _ = writeln!(out, "\t\t\t\t\t{}\t\t\t\t\t{}\t\t\t\t", REVIEW_BLOCKS[1], REVIEW_BLOCKS[2]);
    let _ = writeln!(out, "{}", vec![REVIEW_COLUMNS.join("\t"); 3].join("\t"));
    let numbers: Vec<String> = r
        .review_blocks
        .iter()
        .flat_map(|b| [b.upheld, b.corrected, b.other, b.pending, b.total])
        .map(|v| v.to_string())
        .collect();
    let _ = writeln!(out, "{}", numbers.join("\t"));
    out
}

fn csv(r: &proto::Report) -> anyhow::Result<String> {
    let mut w = csv::Writer::from_writer(Vec::new());
    let mut header = vec!["code", "block", "group", "label"];
    header.extend(COLUMNS);
    w.write_record(&header)?;
    for row in &r.application_rows {
        let mut record = vec![row.code.clone(), row.block_label.clone(), row.group_label.clone(), row.label.clone()];
        record.extend(row.values.iter().map(ToString::to_string));
        w.write_record(&record)?;
    }
    Ok(String::from_utf8(w.into_inner()?)?)
}

fn markdown(r: &proto::Report) -> String {
    let mut out = String::new();
    let _ = writeln!(out, "## 二、主动公开政府信息情况\n");
    for b in &r.proactive_blocks {
        let _ = writeln!(out, "**{}**\n", b.title);
        let _ = writeln!(out, "| 信息内容 | {} |", b.columns.join(" | "));
        let _ = writeln!(out, "|---|{}", "---:|".repeat(b.columns.len()));
        for row in &b.rows {
            let values: Vec<String> = row.values.iter().enumerate().map(|(c, v)| proactive_value(b, c, *v)).collect();
            let _ = writeln!(out, "| {} | {} |", row.label, values.join(" | "));
        }
        out.push('\n');
    }
    let _ = writeln!(out, "## 三、收到和处理政府信息公开申请情况\n");
    let _ = writeln!(out, "| {BALANCE_NOTE} | {} |", COLUMNS.join(" | "));
    let _ = writeln!(out, "|---|{}", "---:|".repeat(7));
    for row in &r.application_rows {
        let label =
            if row.group_label.is_empty() { row.label.clone() } else { format!("{} {}", row.group_label, row.label) };
        let values: Vec<String> = row.values.iter().map(ToString::to_string).collect();
        let _ = writeln!(out, "| {label} | {} |", values.join(" | "));
    }
    let _ = writeln!(out, "\n## 四、政府信息公开行政复议、行政诉讼情况\n");
    let _ = writeln!(out, "| | {} |", REVIEW_COLUMNS.join(" | "));
    let _ = writeln!(out, "|---|{}", "---:|".repeat(5));
    for b in &r.review_blocks {
        let label = if b.kind == proto::ReviewKind::Reconsideration as i32 {
            b.label.clone()
        } else {
            format!("{LITIGATION_HEADER}：{}", b.label)
        };
        let _ =
            writeln!(out, "| {label} | {} | {} | {} | {} | {} |", b.upheld, b.corrected, b.other, b.pending, b.total);
    }
    let _ = writeln!(out, "\n统计期限：{}；日志位置：{}", r.period, r.log_position);
    out
}

pub fn escape(s: &str) -> String {
    s.replace('&', "&amp;").replace('<', "&lt;").replace('>', "&gt;")
}

/// Section 二 as HTML tables: one per table of the template, each block a
/// title row, a header row and its rows.
fn proactive_html(r: &proto::Report) -> String {
    if r.proactive_blocks.is_empty() {
        return String::new();
    }
    let mut out = String::from("<h2>二、主动公开政府信息情况</h2>\n");
    let width = |from: usize| {
        1 + r.proactive_blocks[from..]
            .iter()
            .enumerate()
            .take_while(|(i, b)| *i == 0 || !b.new_table)
            .map(|(_, b)| b.columns.len())
            .max()
            .unwrap_or(0)
    };
    let mut open = false;
    let mut w = 0;
    for (i, b) in r.proactive_blocks.iter().enumerate() {
        if !open || b.new_table {
            if open {
                out.push_str("</table>\n");
            }
            w = width(i);
            let _ = writeln!(
                out,
                "<table class=\"proactive\">\n<colgroup><col class=\"w-label\"><col span=\"{0}\" class=\"w-rest{0}\"></colgroup>",
                w - 1
            );
            open = true;
        }
        let _ =
            writeln!(out, "<tr><th scope=\"colgroup\" class=\"block\" colspan=\"{w}\">{}</th></tr>", escape(&b.title));
        let spare = w - 1 - b.columns.len();
        let last_span = |i: usize| if i + 1 == b.columns.len() { 1 + spare } else { 1 };
        let _ = write!(out, "<tr><th scope=\"col\">信息内容</th>");
        for (c, h) in b.columns.iter().enumerate() {
            let _ = write!(out, "<th scope=\"col\" colspan=\"{}\">{}</th>", last_span(c), escape(h));
        }
        let _ = writeln!(out, "</tr>");
        for row in &b.rows {
            let _ = write!(out, "<tr><th scope=\"row\" class=\"label\">{}</th>", escape(&row.label));
            for (c, v) in row.values.iter().enumerate() {
                let _ =
                    write!(out, "<td class=\"num\" colspan=\"{}\">{}</td>", last_span(c), proactive_value(b, c, *v));
            }
            let _ = writeln!(out, "</tr>");
        }
    }
    out.push_str("</table>\n");
    out
}

/// The print style: A4 with GB/T 9704's margins (top 37 mm, bottom 35 mm,
/// left 28 mm, right 26 mm: a 156 mm text width), its fonts by role with
/// fallbacks (a 小标宋 title, 仿宋 body, 黑体 headings), page numbers "— N —"
/// outside at the foot, headings kept with what follows, header rows
/// repeated on every printed page and rows never split.
pub const PRINT_STYLE: &str = r#"<style>
@page { size: A4; margin: 37mm 26mm 35mm 28mm; }
@page :right { @bottom-right { content: "— " counter(page) " —"; font-family: "SimSun", "宋体", "Noto Serif CJK SC", serif; font-size: 14pt; vertical-align: top; padding-top: 7mm; } }
@page :left { @bottom-left { content: "— " counter(page) " —"; font-family: "SimSun", "宋体", "Noto Serif CJK SC", serif; font-size: 14pt; vertical-align: top; padding-top: 7mm; } }
body { font-family: "FangSong_GB2312", "仿宋_GB2312", "FangSong", "仿宋", "STFangsong", "Noto Serif CJK SC", "Source Han Serif SC", serif; font-size: 16pt; color: #000; margin: 0; }
h1 { font-family: "FZXiaoBiaoSong-B05S", "方正小标宋简体", "STZhongsong", "华文中宋", "Noto Serif CJK SC", serif; font-size: 22pt; font-weight: bold; text-align: center; line-height: 1.5; margin: 0 0 1em; }
h2 { font-family: "SimHei", "黑体", "Noto Sans CJK SC", "Source Han Sans SC", sans-serif; font-size: 16pt; font-weight: normal; margin: 0.6em 0 0.3em; text-indent: 2em; break-after: avoid-page; page-break-after: avoid; }
p.text { text-indent: 2em; line-height: 1.75; margin: 0; text-align: justify; orphans: 2; widows: 2; }
table { border-collapse: collapse; width: 100%; table-layout: fixed; margin: 0.3em 0 0.8em; font-size: 9pt; line-height: 1.3; }
table.proactive { font-size: 10.5pt; }
table.proactive, table.reviews { break-inside: avoid; page-break-inside: avoid; }
thead { display: table-header-group; }
tr { break-inside: avoid; page-break-inside: avoid; }
tr.spans { break-inside: auto; page-break-inside: auto; }
th { text-wrap: balance; }
th, td { border: 1px solid #000; padding: 2px 2px; text-align: center; vertical-align: middle; font-weight: normal; overflow-wrap: normal; }
td.label, th.label { text-align: left; }
th.group, td.num { white-space: nowrap; }
td.note { text-align: left; }
div.sign-off { break-inside: avoid; margin-top: 2em; text-align: right; padding-right: 4em; }
div.sign-off p { margin: 0; line-height: 1.75; }
p.colophon { font-size: 8pt; color: #555; margin-top: 2em; line-height: 1.4; }
p.meta { font-size: 9pt; color: #333; }
p.period { text-align: center; font-size: 10.5pt; }
@media screen { body { max-width: 156mm; margin: 2em auto; } }
</style>"#;

/// The tables' column widths, as classes rather than `style` attributes
/// (which a strict Content-Security-Policy drops): the label column of
/// section 二 and the share of the rest for 1 to 12 value columns, and the
/// columns of section 三.
pub fn column_widths() -> String {
    let mut css = String::from(
        // As the DOCX and PDF lay section 三 out (publication::document):
        // 自然人 on one line in an applicant column.
        "col.w-label { width: 34%; } col.w-block { width: 9%; } col.w-group { width: 15%; } \
         col.w-row { width: 27%; } col.w-value { width: 7%; }\n",
    );
    for n in 1..=12 {
        let _ = writeln!(css, "col.w-rest{n} {{ width: {:.2}%; }}", 66.0 / n as f64);
    }
    css
}

/// Sections 二, 三 and 四 as printable HTML (A4, the official merged cells).
fn html(r: &proto::Report) -> String {
    let title = format!("{} 年政府信息公开工作年度报告（统计表）", r.year);
    let mut out = html_head(&title);
    out.push_str(&tables_html(r));
    let _ = writeln!(
        out,
        "<p class=\"meta\">统计期限为 {}。本表由事件日志推导，反映日志位置 {}；机关：{}。</p>\n</body></html>",
        escape(&r.period),
        r.log_position,
        escape(&r.agency_ids.join("、"))
    );
    out
}

/// The start of a printable A4 HTML document, up to `<body>`.
pub fn html_head(title: &str) -> String {
    format!(
        "<!DOCTYPE html>\n<html lang=\"zh-CN\"><head><meta charset=\"utf-8\"><title>{}</title>\n{PRINT_STYLE}\n<style>\n{}</style></head><body>\n",
        escape(title),
        column_widths()
    )
}

/// Sections 二, 三 and 四: headings and tables, for an HTML body.
pub fn tables_html(r: &proto::Report) -> String {
    tables_html_linked(r, None)
}

/// A cell of section 三 or 四.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum CellRef<'a> {
    /// Section 三: a row code and a column (0-5 the applicants, 6 总计).
    Application { row: &'a str, column: usize },
    /// Section 四: a block (行政复议, 未经复议直接起诉, 复议后起诉) and a
    /// column (结果维持 … 总计).
    Review { block: usize, column: usize },
}

/// A cell shown as of an earlier position that later corrections changed:
/// what it is now, and the address of the corrections behind the change.
pub struct Changed {
    pub now: i64,
    pub href: String,
}

/// What the numbers of the tables link to, for pages where every number is
/// a link (the console). Addresses are put in attributes as they are: they
/// must percent-encode or escape what they carry.
pub trait CellLinks {
    /// The address of the cases counted in a cell.
    fn cases(&self, cell: CellRef<'_>) -> String;
    /// Whether later corrections changed the cell.
    fn changed(&self, _cell: CellRef<'_>) -> Option<Changed> {
        None
    }
}

/// One number of 三 or 四: plain, or a link to its cases, marked if it changed.
fn number_cell(out: &mut String, links: Option<&dyn CellLinks>, cell: CellRef<'_>, v: i64) {
    let Some(links) = links else {
        let _ = write!(out, "<td class=\"num\">{v}</td>");
        return;
    };
    match links.changed(cell) {
        Some(Changed { now, href }) => {
            let _ = write!(
                out,
                "<td class=\"num changed\"><a href=\"{}\">{v}</a><a class=\"delta\" href=\"{href}\" \
                 title=\"此后的更正改为 {now}：查看更正\">现为 {now}</a></td>",
                links.cases(cell)
            );
        }
        None => {
            let _ = write!(out, "<td class=\"num\"><a href=\"{}\">{v}</a></td>", links.cases(cell));
        }
    }
}

/// The same tables, each number of sections 三 and 四 a link to the cases
/// counted in it.
pub fn tables_html_linked(r: &proto::Report, links: Option<&dyn CellLinks>) -> String {
    let mut out = String::new();
    let _ = write!(
        out,
        r#"{proactive}<h2>三、收到和处理政府信息公开申请情况</h2>
<table class="applications">
<colgroup><col class="w-block"><col class="w-group"><col class="w-row"><col span="7" class="w-value"></colgroup>
<thead>
<tr><td class="note" colspan="3" rowspan="3">{note}</td><th scope="colgroup" colspan="7">{applicant}</th></tr>
<tr><th scope="col" rowspan="2">{c0}</th><th scope="colgroup" colspan="5">{orgs}</th><th scope="col" rowspan="2">{c6}</th></tr>
<tr><th scope="col">{c1}</th><th scope="col">{c2}</th><th scope="col">{c3}</th><th scope="col">{c4}</th><th scope="col">{c5}</th></tr>
</thead>
<tbody>
"#,
        note = BALANCE_NOTE,
        applicant = APPLICANT_HEADER,
        orgs = ORGANISATIONS_HEADER,
        c0 = COLUMNS[0],
        c1 = COLUMNS[1],
        c2 = COLUMNS[2],
        c3 = COLUMNS[3],
        c4 = COLUMNS[4],
        c5 = COLUMNS[5],
        c6 = COLUMNS[6],
        proactive = proactive_html(r),
    );
    let rows = &r.application_rows;
    let block_len = rows.iter().filter(|x| !x.block_label.is_empty()).count();
    let mut block_open = false;
    let mut last_group = "";
    for row in rows {
        // A row that starts a merged cell may break across pages (the merged
        // cell then continues on the next), or the whole block would move.
        let starts_span = (!row.block_label.is_empty() && !block_open)
            || (!row.group_label.is_empty() && row.group_label != last_group);
        let class = if starts_span { " class=\"spans\"" } else { "" };
        let _ = write!(out, "<tr{class} data-code=\"{}\">", escape(&row.code));
        if !row.block_label.is_empty() && !block_open {
            let _ = write!(
                out,
                "<th scope=\"rowgroup\" class=\"label\" rowspan=\"{block_len}\">{}</th>",
                escape(&row.block_label)
            );
            block_open = true;
        }
        if row.block_label.is_empty() {
            let _ = write!(out, "<th scope=\"row\" class=\"label\" colspan=\"3\">{}</th>", escape(&row.label));
        } else if row.group_label.is_empty() {
            let _ = write!(out, "<th scope=\"row\" class=\"label\" colspan=\"2\">{}</th>", escape(&row.label));
        } else {
            if row.group_label != last_group {
                let span = rows.iter().filter(|x| x.group_label == row.group_label).count();
                let _ = write!(
                    out,
                    "<th scope=\"rowgroup\" class=\"label group\" rowspan=\"{span}\">{}</th>",
                    escape(&row.group_label)
                );
            }
            let _ = write!(out, "<th scope=\"row\" class=\"label\">{}</th>", escape(&row.label));
        }
        last_group = &row.group_label;
        for (column, v) in row.values.iter().enumerate() {
            number_cell(&mut out, links, CellRef::Application { row: &row.code, column }, *v);
        }
        let _ = writeln!(out, "</tr>");
    }
    let _ = writeln!(out, "</tbody>\n</table>");
    let _ = write!(
        out,
        r#"<h2>四、政府信息公开行政复议、行政诉讼情况</h2>
<table class="reviews">
<thead>
<tr><th scope="colgroup" colspan="5" rowspan="2">{b0}</th><th scope="colgroup" colspan="10">{lit}</th></tr>
<tr><th scope="colgroup" colspan="5">{b1}</th><th scope="colgroup" colspan="5">{b2}</th></tr>
<tr>"#,
        b0 = REVIEW_BLOCKS[0],
        b1 = REVIEW_BLOCKS[1],
        b2 = REVIEW_BLOCKS[2],
        lit = LITIGATION_HEADER,
    );
    for _ in 0..3 {
        for c in REVIEW_COLUMNS {
            let _ = write!(out, "<th scope=\"col\">{c}</th>");
        }
    }
    let _ = write!(out, "</tr>\n</thead>\n<tbody><tr>");
    for (block, b) in r.review_blocks.iter().enumerate() {
        for (column, v) in [b.upheld, b.corrected, b.other, b.pending, b.total].into_iter().enumerate() {
            number_cell(&mut out, links, CellRef::Review { block, column }, v);
        }
    }
    let _ = writeln!(out, "</tr></tbody>\n</table>");
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::api::report::report_to_proto;
    use crate::report::tables::{Report, ReviewDating, YearCells};
    use crate::report::template::Template;

    fn sample(template: Template) -> proto::Report {
        let mut cells = YearCells { new: [3, 1, 0, 0, 2, 0], ..YearCells::default() };
        cells.outcomes[0] = [2, 1, 0, 0, 0, 0];
        cells.outcomes[20] = [1, 0, 0, 0, 0, 0];
        cells.carried_out = [0, 0, 0, 0, 2, 0];
        cells.reviews[0] = [1, 0, 0, 2];
        let agency = crate::domain::ids::AgencyId::parse("a").unwrap();
        let report =
            Report::new(vec![agency], 2024, template, ReviewDating::default(), 7, &cells, &YearCells::default());
        report_to_proto(&report, crate::store::chain::GENESIS)
    }

    /// Lays the HTML table out on a grid, honouring rowspan and colspan,
    /// and returns the width of every row (all must be equal).
    fn grid_widths(table: &str) -> Vec<usize> {
        let mut carried: Vec<usize> = Vec::new(); // rows still covered, per column
        let mut widths = Vec::new();
        for tr in table.split("<tr").skip(1) {
            let mut col = 0;
            let mut next = Vec::new();
            for cell in tr.split("<t").skip(1).filter(|c| c.starts_with('d') || c.starts_with('h')) {
                let attr = |name: &str| {
                    cell.split('>')
                        .next()
                        .unwrap()
                        .split(&format!("{name}=\""))
                        .nth(1)
                        .map(|s| s.split('"').next().unwrap().parse::<usize>().unwrap())
                };
                while carried.get(col).copied().unwrap_or(0) > 0 {
                    col += 1;
                }
                let (cs, rs) = (attr("colspan").unwrap_or(1), attr("rowspan").unwrap_or(1));
                for c in col..col + cs {
                    next.push((c, rs));
                }
                col += cs;
            }
            while carried.get(col).copied().unwrap_or(0) > 0 {
                col += 1;
            }
            widths.push(col.max(carried.len()));
            for c in carried.iter_mut() {
                *c = c.saturating_sub(1);
            }
            for (c, rs) in next {
                if carried.len() <= c {
                    carried.resize(c + 1, 0);
                }
                carried[c] = rs - 1;
            }
        }
        widths
    }

    #[test]
    fn html_tables_are_rectangular_with_the_official_spans() {
        for (template, rows) in [(Template::V2019, 23), (Template::V2021, 25)] {
            let html = render(&sample(template), Format::Html).unwrap();
            let applications =
                html.split("<table class=\"applications\">").nth(1).unwrap().split("</table>").next().unwrap();
            let widths = grid_widths(applications);
            assert_eq!(widths.len(), 3 + rows);
            assert!(widths.iter().all(|w| *w == 10), "{template}: {widths:?}");
            assert!(applications.contains(&format!("rowspan=\"{}\">三、本年度办理结果", rows - 3)));
            assert!(applications.contains("rowspan=\"8\">（三）不予公开"));
            let reviews = html.split("<table class=\"reviews\">").nth(1).unwrap().split("</table>").next().unwrap();
            let widths = grid_widths(reviews);
            assert_eq!(widths, vec![15, 15, 15, 15]);
            // Section 二: every table rectangular, 4 wide (the 2019
            // template's 第（九）项 is a table of its own, 3 wide).
            let tables: Vec<&str> = html
                .split("<table class=\"proactive\">")
                .skip(1)
                .map(|t| t.split("</table>").next().unwrap())
                .collect();
            let expected = if template == Template::V2019 { vec![4, 3] } else { vec![4] };
            assert_eq!(tables.len(), expected.len(), "{template}");
            for (table, width) in tables.iter().zip(expected) {
                let widths = grid_widths(table);
                assert!(widths.iter().all(|w| *w == width), "{template}: {widths:?}");
            }
        }
    }

    #[test]
    fn tsv_follows_the_published_layout() {
        let tsv = render(&sample(Template::V2019), Format::Tsv).unwrap();
        let all: Vec<&str> = tsv.lines().collect();
        assert!(all[0].starts_with("统计期限为"), "the period first: {}", all[0]);
        assert_eq!(all[1], "二、主动公开政府信息情况", "section 二, under its heading");
        assert_eq!(all[2], "第二十条第（一）项\t\t\t");
        let start = all.iter().position(|l| l.starts_with(BALANCE_NOTE)).expect("section 三");
        assert_eq!(all[start - 1], "三、收到和处理政府信息公开申请情况");
        assert_eq!(all[start - 2], "", "a blank line between the sections");
        let lines = &all[start..];
        assert_eq!(lines[3 + 23 + 1], "四、政府信息公开行政复议、行政诉讼情况");
        assert_eq!(lines.last().unwrap().split('\t').count(), 15, "section 四's fifteen numbers");
        assert_eq!(lines[3], "一、本年新收政府信息公开申请数量\t\t\t3\t1\t0\t0\t2\t0\t6");
        assert!(lines[5].starts_with("三、本年度办理结果\t（一）予以公开\t\t2\t1\t"));
        assert!(lines[6].starts_with("\t（二）部分公开"), "（一） to （七） in one column: {}", lines[6]);
        assert!(lines[7].starts_with("\t（三）不予公开\t1.属于国家秘密\t"));
        assert!(lines[8].starts_with("\t\t2."));
        assert!(lines[23].starts_with("\t（六）其他处理\t\t1\t"));
        // Every row has the same number of cells: 3 labels and 7 numbers.
        assert!(lines[3..3 + 23].iter().all(|l| l.split('\t').count() == 10), "{lines:?}");
    }

    #[test]
    fn csv_and_markdown_carry_every_row() {
        let csv = render(&sample(Template::V2021), Format::Csv).unwrap();
        assert_eq!(csv.lines().count(), 1 + 25);
        assert!(csv.lines().nth(1).unwrap().starts_with("new,,,一、本年新收政府信息公开申请数量,3,1,0,0,2,0,6"));
        let md = render(&sample(Template::V2021), Format::Md).unwrap();
        assert!(md.contains("| 行政复议 | 1 | 0 | 0 | 2 | 3 |"));
    }
}
