//! The agency's own text of a year's annual report (the title, the opening,
//! 一, 五 and 六), set by `report_text_set` events in the stream
//! `annual-report-{year}`: which placeholders a text may use, the checks a
//! text and a year obey, and the texts as their stream has set them.
//!
//! Numbers in the text are never typed: the text carries placeholders
//! (`{new}`) that the report fills from the same derived tables, so prose
//! and tables cannot drift apart.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

use crate::domain::codes::ReportSection;
use crate::domain::date::CivilDate;
use crate::domain::event::Payload;
use crate::domain::rule::Broken;

/// Longest text of one section, in bytes.
pub const MAX_TEXT: usize = 65_536;

/// The stream that holds a year's text.
pub fn subject_for(year: i32) -> String {
    format!("annual-report-{year}")
}

/// The placeholders a text may use, and what each stands for.
pub const PLACEHOLDERS: &[(&str, &str)] = &[
    ("year", "the report year"),
    ("period", "统计期限, e.g. 2024年1月1日至2024年12月31日"),
    ("new", "三 一、本年新收政府信息公开申请数量 (总计)"),
    ("carried_in", "三 二、上年结转 (总计)"),
    ("concluded", "三 （七）总计: applications concluded in the year"),
    ("carried_out", "三 四、结转下年度继续办理 (总计)"),
    ("disclosed", "三 （一）予以公开 (总计)"),
    ("partly_disclosed", "三 （二）部分公开 (总计)"),
    ("natural_person", "三 一、本年新收, 自然人"),
    ("organisations", "三 一、本年新收, 法人或其他组织 (five columns)"),
    ("reconsideration", "四 行政复议 总计"),
    ("litigation", "四 行政诉讼 总计 (both blocks)"),
    ("reviews_corrected", "四 结果纠正, all blocks"),
    ("documents_issued", "二 documents issued in the year (规章 and 规范性文件)"),
    ("regulations_issued", "二 规章 issued in the year"),
    ("normative_documents_issued", "二 规范性文件 issued in the year"),
    ("licensing_decisions", "二 行政许可 处理决定数量"),
    ("penalty_decisions", "二 行政处罚 处理决定数量"),
    ("coercion_decisions", "二 行政强制 处理决定数量"),
    ("fees_wan_yuan", "二 行政事业性收费 in 万元 (2021 template)"),
];

/// A text's placeholder names, or why the text is malformed.
fn placeholders_in(text: &str) -> Result<Vec<&str>, String> {
    let mut names = Vec::new();
    let mut rest = text;
    while let Some(open) = rest.find('{') {
        let after = &rest[open + 1..];
        let close = after.find('}').ok_or("has a `{` without its `}`")?;
        names.push(&after[..close]);
        rest = &after[close + 1..];
    }
    if rest.contains('}') {
        return Err("has a `}` without its `{`".into());
    }
    Ok(names)
}

/// Checks a section's text at the edge: its length and its placeholders.
pub fn check_text(text: &str) -> Result<String, String> {
    if text.len() > MAX_TEXT {
        return Err(format!("is {} bytes long; at most {MAX_TEXT}", text.len()));
    }
    if text.chars().any(|c| c.is_control() && c != '\n' && c != '\r' && c != '\t') {
        return Err("contains control characters".into());
    }
    for name in placeholders_in(text)? {
        if !PLACEHOLDERS.iter().any(|(known, _)| *known == name) {
            let known: Vec<&str> = PLACEHOLDERS.iter().map(|(n, _)| *n).collect();
            return Err(format!("uses the unknown placeholder {{{name}}}; known: {}", known.join(", ")));
        }
    }
    Ok(text.replace("\r\n", "\n"))
}

/// Longest label of a publication, in characters.
pub const MAX_LABEL: usize = 100;

/// Checks a publication's label at the edge: 1 to 100 characters, trimmed.
pub fn check_label(label: &str) -> Result<String, String> {
    let label = label.trim();
    match label.chars().count() {
        0 => Err("is required (e.g. 正式发布)".into()),
        n if n > MAX_LABEL => Err(format!("is {n} characters long; at most {MAX_LABEL}")),
        _ => Ok(label.to_owned()),
    }
}

/// Checks a report year at the edge.
pub fn check_year(year: i32) -> Result<i32, String> {
    let max = CivilDate::today_in_china().year() + 1;
    if !(2008..=max).contains(&year) {
        return Err(format!("{year} is not a report year (2008 to {max})"));
    }
    Ok(year)
}

/// The text of a year's report as its stream has set it.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct ReportTexts {
    pub year: i32,
    pub sections: BTreeMap<ReportSection, String>,
}

impl ReportTexts {
    pub fn start(payload: &Payload) -> Option<Self> {
        match payload {
            Payload::ReportTextSet { year, .. } | Payload::ReportPublished { year, .. } => {
                let mut texts = Self { year: *year, sections: BTreeMap::new() };
                texts.apply(payload).ok()?;
                Some(texts)
            }
            _ => None,
        }
    }

    pub fn apply(&mut self, payload: &Payload) -> Result<(), Broken> {
        match payload {
            Payload::ReportTextSet { year, section, text } if *year == self.year => {
                if text.trim().is_empty() {
                    self.sections.remove(section);
                } else {
                    self.sections.insert(*section, text.clone());
                }
                Ok(())
            }
            // A publication changes no text: the report assembles its
            // publications from the stream's events and their positions.
            Payload::ReportPublished { year, .. } if *year == self.year => Ok(()),
            Payload::ReportTextSet { year, .. } | Payload::ReportPublished { year, .. } => Err(Broken::new(
                "WRONG_REPORT_YEAR",
                "report_text_set.year",
                format!("this stream holds the {} report, not {year}'s", self.year),
            )),
            _ => Err(Broken::new(
                "WRONG_SUBJECT_KIND",
                "payload",
                "this subject is an annual report's text; other facts need a subject id of their own",
            )),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn texts_are_checked() {
        assert!(check_text("本年度共收到政府信息公开申请{new}件。").is_ok());
        let e = check_text("共收到{nwe}件").unwrap_err();
        assert!(e.contains("{nwe}") && e.contains("new"), "{e}");
        assert!(check_text("缺少{new").is_err());
        assert!(check_text("多了}").is_err());
    }
}
