//! The whole report as one self-contained HTML page, printable on A4 as
//! official documents are (GB/T 9704's margins and page numbers, headings
//! kept with their tables, header rows repeated on every page).

use std::fmt::Write as _;

use crate::report::publication::{Options, colophon, paragraphs, provenance, sign_off_lines, text_of};
use crate::report::render::{PRINT_STYLE, column_widths, escape, tables_html};
use crate::wire::proto;

pub fn html(r: &proto::AnnualReport, options: &Options) -> String {
    let tables = r.tables.clone().unwrap_or_default();
    let mut out = String::new();
    let _ = write!(
        out,
        "<!DOCTYPE html>\n<html lang=\"zh-CN\"><head><meta charset=\"utf-8\"><title>{title}</title>\n\
         <meta name=\"author\" content=\"{author}\">\n<meta name=\"generator\" content=\"disclosure-ledger\">\n\
         <meta name=\"dcterms.created\" content=\"{created}\">\n<meta name=\"description\" content=\"{provenance}\">\n\
         {PRINT_STYLE}\n<style>\n{widths}</style></head><body>\n",
        title = escape(&r.title),
        author = escape(&r.agency_name),
        created = options.made_at.format("%Y-%m-%dT%H:%M:%SZ"),
        provenance = escape(&provenance(&tables)).replace('"', "&quot;"),
        widths = column_widths(),
    );
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
    text(&mut out, proto::ReportSection::Overview);
    out.push_str(&tables_html(&tables));
    text(&mut out, proto::ReportSection::Problems);
    text(&mut out, proto::ReportSection::Other);
    let lines = sign_off_lines(r);
    if !lines.is_empty() {
        out.push_str("<div class=\"sign-off\">");
        for line in lines {
            let _ = write!(out, "<p>{}</p>", escape(&line));
        }
        out.push_str("</div>\n");
    }
    if options.colophon {
        let _ = writeln!(out, "<p class=\"colophon\">{}</p>", escape(&colophon(&tables, options)));
    }
    out.push_str("</body></html>\n");
    out
}
