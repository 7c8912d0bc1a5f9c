//! The whole report as one HTML page, printable on A4.

use std::fmt::Write as _;

use crate::report::publication::{paragraphs, period_statement, text_of};
use crate::report::render::{escape, html_head, tables_html};
use crate::wire::proto;

pub fn html(r: &proto::AnnualReport) -> String {
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
