//! The finished annual report as agencies publish and exchange it: HTML
//! (printable on A4), DOCX and PDF (the whole report, laid out as official
//! documents are), and XLSX (the tables alone, one sheet per section).
//! Everything is laid out from an `AnnualReport` as the server assembled
//! it, so the text and the tables are of one log position. The body holds
//! the agency's words only: where the numbers come from is said in the
//! document's properties and in a small colophon that can be switched off.

use std::path::{Path, PathBuf};

use crate::report::proactive_table::wan_yuan;
use crate::wire::proto;

pub mod document;
pub mod docx;
pub mod fonts;
pub mod html;
pub mod pdf;
pub mod xlsx;

/// A published format.
#[derive(Clone, Copy, Debug, PartialEq, Eq, clap::ValueEnum)]
pub enum Format {
    Html,
    Docx,
    Pdf,
    Xlsx,
}

impl Format {
    /// The format a file name's extension names, if any.
    pub fn of_path(path: &Path) -> Option<Self> {
        let extension = path.extension()?.to_str()?.to_ascii_lowercase();
        Some(match extension.as_str() {
            "html" | "htm" => Self::Html,
            "docx" => Self::Docx,
            "pdf" => Self::Pdf,
            "xlsx" => Self::Xlsx,
            _ => return None,
        })
    }

    pub fn extension(self) -> &'static str {
        match self {
            Self::Html => "html",
            Self::Docx => "docx",
            Self::Pdf => "pdf",
            Self::Xlsx => "xlsx",
        }
    }

    /// The media type, for downloads.
    pub fn media_type(self) -> &'static str {
        match self {
            Self::Html => "text/html; charset=utf-8",
            Self::Docx => "application/vnd.openxmlformats-officedocument.wordprocessingml.document",
            Self::Pdf => "application/pdf",
            Self::Xlsx => "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
        }
    }
}

/// How a document is made: what is not in the report itself.
#[derive(Clone, Debug)]
pub struct Options {
    /// End the body with the colophon (log position, digest, date made).
    pub colophon: bool,
    /// When the document is made: the date of its properties and colophon.
    pub made_at: chrono::DateTime<chrono::Utc>,
    /// Font files or folders for the PDF, searched with the system's.
    pub font_paths: Vec<PathBuf>,
}

impl Default for Options {
    fn default() -> Self {
        Self { colophon: true, made_at: chrono::Utc::now(), font_paths: Vec::new() }
    }
}

pub fn publish(report: &proto::AnnualReport, format: Format, options: &Options) -> anyhow::Result<Vec<u8>> {
    Ok(match format {
        Format::Html => html::html(report, options).into_bytes(),
        Format::Docx => docx::docx(report, options)?,
        Format::Pdf => pdf::pdf(report, options)?,
        Format::Xlsx => xlsx::xlsx(report)?,
    })
}

/// Where the numbers come from, for the document's properties.
pub fn provenance(tables: &proto::Report) -> String {
    format!(
        "由 disclosure-ledger 从事件日志推导：日志位置 {}，日志摘要 {}",
        tables.log_position,
        if tables.log_digest.is_empty() { "-" } else { &tables.log_digest }
    )
}

/// The small line at the end of the body (when switched on).
pub fn colophon(tables: &proto::Report, options: &Options) -> String {
    let digest: String = tables.log_digest.chars().take(16).collect();
    format!(
        "本报告中的数字由 disclosure-ledger 从事件日志推导（日志位置 {}，日志摘要 {}…），文件生成于 {}。",
        tables.log_position,
        digest,
        options.made_at.format("%Y-%m-%d")
    )
}

/// The statement of the period, for the tables on their own (the report's
/// own text says its period in the agency's words).
pub fn period_statement(tables: &proto::Report) -> String {
    let period = if tables.period.is_empty() {
        format!("{y}年1月1日至{y}年12月31日", y = tables.year)
    } else {
        tables.period.clone()
    };
    format!("统计期限为{period}。")
}

pub(crate) fn paragraphs(text: &str) -> impl Iterator<Item = String> + '_ {
    text.split("\n\n").map(|p| p.trim().replace('\n', "")).filter(|p| !p.is_empty())
}

/// The sign-off's lines (the agency, the date), blank ones left out.
pub(crate) fn sign_off_lines(r: &proto::AnnualReport) -> Vec<String> {
    text_of(r, proto::ReportSection::SignOff)
        .map_or_else(Vec::new, |t| t.text.lines().map(str::trim).filter(|l| !l.is_empty()).map(String::from).collect())
}

pub(crate) fn text_of(r: &proto::AnnualReport, section: proto::ReportSection) -> Option<&proto::ReportText> {
    r.texts.iter().find(|t| t.section == section as i32)
}

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
