//! The whole report as DOCX, laid out as official documents are (GB/T 9704
//! as the guide): A4 with its margins, a 小标宋 title, 仿宋 body and 黑体
//! headings (each font named with its fallback in the font table), page
//! numbers "— N —" outside at the foot, and the tables at the text width
//! with their header rows repeated on every page and no row split.
//!
//! WordprocessingML is written here, into a ZIP by the `zip` crate: the
//! DOCX writer we used (docx-rs 0.4.22, the newest) has no `w:tblHeader`,
//! no `w:lang` and no way to set the author or title, which are exactly
//! what a publishable document needs.

use std::fmt::Write as _;
use std::io::Write as _;

use anyhow::Context as _;

use crate::report::publication::document::{self, Cell, Part, Slot, Table};
use crate::report::publication::{Options, provenance};
use crate::wire::proto;

/// A4, in twips.
const PAGE: (u32, u32) = (11_906, 16_838);
/// GB/T 9704: top 37 mm, bottom 35 mm, left 28 mm, right 26 mm.
const MARGINS: Margins = Margins { top: 2_098, bottom: 1_984, left: 1_587, right: 1_474 };
/// The text width every table fills.
pub const TEXT_WIDTH: u32 = PAGE.0 - MARGINS.left - MARGINS.right;

struct Margins {
    top: u32,
    bottom: u32,
    left: u32,
    right: u32,
}

/// The fonts by role, each with the one Word substitutes when it is missing
/// (`w:altName`); LibreOffice picks a Simplified Chinese face by the
/// document's `w:lang`.
const FONTS: [(&str, &str); 4] =
    [("方正小标宋简体", "华文中宋"), ("仿宋_GB2312", "仿宋"), ("黑体", "SimHei"), ("宋体", "SimSun")];
const TITLE_FONT: &str = FONTS[0].0;
const BODY_FONT: &str = FONTS[1].0;
const HEADING_FONT: &str = FONTS[2].0;
const TABLE_FONT: &str = FONTS[3].0;

pub fn docx(r: &proto::AnnualReport, options: &Options) -> anyhow::Result<Vec<u8>> {
    let tables = r.tables.clone().unwrap_or_default();
    let mut body = String::new();
    for part in document::parts(r, options) {
        match part {
            Part::Title(t) => paragraph(&mut body, "Title", &t),
            Part::Heading(h) => paragraph(&mut body, "Heading1", &h),
            Part::Paragraph(p) => paragraph(&mut body, "BodyText", &p),
            Part::Table(t) => table(&mut body, &t),
            Part::SignOff(lines) => {
                paragraph(&mut body, "BodyText", "");
                for line in lines {
                    paragraph(&mut body, "SignOff", &line);
                }
            }
            Part::Colophon(c) => paragraph(&mut body, "Colophon", &c),
        }
    }
    let created = options.made_at.format("%Y-%m-%dT%H:%M:%SZ").to_string();
    let parts: Vec<(&str, String)> = vec![
        ("[Content_Types].xml", CONTENT_TYPES.into()),
        ("_rels/.rels", ROOT_RELS.into()),
        ("word/_rels/document.xml.rels", DOCUMENT_RELS.into()),
        ("word/document.xml", document_xml(&body)),
        ("word/styles.xml", styles()),
        ("word/settings.xml", SETTINGS.into()),
        ("word/fontTable.xml", font_table()),
        ("word/footer1.xml", footer("right")),
        ("word/footer2.xml", footer("left")),
        ("docProps/core.xml", core(&r.title, &r.agency_name, &created, &provenance(&tables))),
        ("docProps/app.xml", APP.into()),
        ("docProps/custom.xml", custom(&tables)),
    ];
    let mut zip = zip::ZipWriter::new(std::io::Cursor::new(Vec::new()));
    let deflated = zip::write::SimpleFileOptions::default().compression_method(zip::CompressionMethod::Deflated);
    for (name, xml) in parts {
        zip.start_file(name, deflated).context("cannot write the DOCX")?;
        zip.write_all(xml.as_bytes()).context("cannot write the DOCX")?;
    }
    Ok(zip.finish().context("cannot write the DOCX")?.into_inner())
}

fn escape(s: &str) -> String {
    s.replace('&', "&amp;").replace('<', "&lt;").replace('>', "&gt;").replace('"', "&quot;")
}

fn run(text: &str) -> String {
    format!("<w:r><w:t xml:space=\"preserve\">{}</w:t></w:r>", escape(text))
}

fn paragraph(out: &mut String, style: &str, text: &str) {
    let _ = write!(out, "<w:p><w:pPr><w:pStyle w:val=\"{style}\"/></w:pPr>{}</w:p>", run(text));
}

/// Splits `total` twips in the given shares, the last column taking the
/// rounding so the grid is exactly the text width.
fn grid(widths: &[f32], total: u32) -> Vec<u32> {
    let sum: f32 = widths.iter().sum();
    let mut out: Vec<u32> = widths.iter().map(|w| (w / sum * total as f32).floor() as u32).collect();
    let used: u32 = out.iter().sum();
    if let Some(last) = out.last_mut() {
        *last += total - used;
    }
    out
}

fn table(out: &mut String, t: &Table) {
    let grid = grid(&t.widths, TEXT_WIDTH);
    let size = if t.widths.len() <= 7 { 21 } else { 18 };
    let _ = write!(
        out,
        "<w:tbl><w:tblPr><w:tblW w:w=\"{TEXT_WIDTH}\" w:type=\"dxa\"/><w:jc w:val=\"center\"/>\
         <w:tblBorders><w:top w:val=\"single\" w:sz=\"4\" w:space=\"0\" w:color=\"000000\"/>\
         <w:left w:val=\"single\" w:sz=\"4\" w:space=\"0\" w:color=\"000000\"/>\
         <w:bottom w:val=\"single\" w:sz=\"4\" w:space=\"0\" w:color=\"000000\"/>\
         <w:right w:val=\"single\" w:sz=\"4\" w:space=\"0\" w:color=\"000000\"/>\
         <w:insideH w:val=\"single\" w:sz=\"4\" w:space=\"0\" w:color=\"000000\"/>\
         <w:insideV w:val=\"single\" w:sz=\"4\" w:space=\"0\" w:color=\"000000\"/></w:tblBorders>\
         <w:tblLayout w:type=\"fixed\"/>\
         <w:tblCellMar><w:left w:w=\"20\" w:type=\"dxa\"/><w:right w:w=\"20\" w:type=\"dxa\"/></w:tblCellMar>\
         </w:tblPr><w:tblGrid>"
    );
    for w in &grid {
        let _ = write!(out, "<w:gridCol w:w=\"{w}\"/>");
    }
    out.push_str("</w:tblGrid>");
    let slots = t.slots();
    let last = t.rows.len().saturating_sub(1);
    for (r, row) in t.rows.iter().enumerate() {
        out.push_str("<w:tr><w:trPr><w:cantSplit/>");
        if r < t.header_rows {
            out.push_str("<w:tblHeader/>");
        }
        out.push_str("</w:trPr>");
        // Keeping every row with the next keeps a short table on one page.
        let keep = t.keep_together && r < last;
        let mut column = 0;
        while column < grid.len() {
            let (cell, merge): (Option<&Cell>, &str) = match slots[r][column] {
                Slot::Starts(i) => {
                    let c = &row[i];
                    (Some(c), if c.rows > 1 { "<w:vMerge w:val=\"restart\"/>" } else { "" })
                }
                Slot::FromAbove { row: from, cell } => (Some(&t.rows[from][cell]), "<w:vMerge/>"),
                Slot::Spanned => {
                    column += 1;
                    continue;
                }
            };
            let Some(c) = cell else { break };
            let continues = matches!(slots[r][column], Slot::FromAbove { .. });
            let span = c.columns.min(grid.len() - column);
            let width: u32 = grid[column..column + span].iter().sum();
            let _ = write!(out, "<w:tc><w:tcPr><w:tcW w:w=\"{width}\" w:type=\"dxa\"/>");
            if span > 1 {
                let _ = write!(out, "<w:gridSpan w:val=\"{span}\"/>");
            }
            let _ =
                write!(out, "{merge}<w:vAlign w:val=\"center\"/></w:tcPr><w:p><w:pPr><w:pStyle w:val=\"TableText\"/>");
            if keep {
                out.push_str("<w:keepNext/>");
            }
            let _ = write!(
                out,
                "<w:jc w:val=\"{}\"/><w:rPr><w:sz w:val=\"{size}\"/><w:szCs w:val=\"{size}\"/></w:rPr></w:pPr>",
                if c.left { "left" } else { "center" }
            );
            if !continues {
                let _ = write!(
                    out,
                    "<w:r><w:rPr><w:sz w:val=\"{size}\"/><w:szCs w:val=\"{size}\"/></w:rPr><w:t xml:space=\"preserve\">{}</w:t></w:r>",
                    escape(&c.text)
                );
            }
            out.push_str("</w:p></w:tc>");
            column += span;
        }
        out.push_str("</w:tr>");
    }
    out.push_str("</w:tbl>");
    // Word needs a paragraph between two tables, or it joins them.
    out.push_str("<w:p><w:pPr><w:pStyle w:val=\"TableGap\"/></w:pPr></w:p>");
}

fn document_xml(body: &str) -> String {
    format!(
        r#"<?xml version="1.0" encoding="UTF-8" standalone="yes"?>
<w:document xmlns:w="http://schemas.openxmlformats.org/wordprocessingml/2006/main" xmlns:r="http://schemas.openxmlformats.org/officeDocument/2006/relationships"><w:body>{body}<w:sectPr><w:footerReference w:type="default" r:id="rIdFooterOdd"/><w:footerReference w:type="even" r:id="rIdFooterEven"/><w:pgSz w:w="{w}" w:h="{h}"/><w:pgMar w:top="{top}" w:right="{right}" w:bottom="{bottom}" w:left="{left}" w:header="851" w:footer="1247" w:gutter="0"/><w:docGrid w:type="lines" w:linePitch="579"/></w:sectPr></w:body></w:document>"#,
        w = PAGE.0,
        h = PAGE.1,
        top = MARGINS.top,
        right = MARGINS.right,
        bottom = MARGINS.bottom,
        left = MARGINS.left,
    )
}

/// The page number, 4号 宋体, one character in from the outer edge.
fn footer(side: &str) -> String {
    let rpr = format!(
        "<w:rPr><w:rFonts w:ascii=\"{TABLE_FONT}\" w:hAnsi=\"{TABLE_FONT}\" w:eastAsia=\"{TABLE_FONT}\"/><w:sz w:val=\"28\"/></w:rPr>"
    );
    let indent = if side == "right" { "w:right=\"280\"" } else { "w:left=\"280\"" };
    format!(
        r#"<?xml version="1.0" encoding="UTF-8" standalone="yes"?>
<w:ftr xmlns:w="http://schemas.openxmlformats.org/wordprocessingml/2006/main"><w:p><w:pPr><w:jc w:val="{side}"/><w:ind {indent}/></w:pPr><w:r>{rpr}<w:t xml:space="preserve">— </w:t></w:r><w:r>{rpr}<w:fldChar w:fldCharType="begin"/></w:r><w:r>{rpr}<w:instrText xml:space="preserve"> PAGE </w:instrText></w:r><w:r>{rpr}<w:fldChar w:fldCharType="separate"/></w:r><w:r>{rpr}<w:t>1</w:t></w:r><w:r>{rpr}<w:fldChar w:fldCharType="end"/></w:r><w:r>{rpr}<w:t xml:space="preserve"> —</w:t></w:r></w:p></w:ftr>"#
    )
}

fn styles() -> String {
    STYLES
        .replace("{BODY}", BODY_FONT)
        .replace("{TITLE}", TITLE_FONT)
        .replace("{HEADING}", HEADING_FONT)
        .replace("{TABLE}", TABLE_FONT)
}

fn font_table() -> String {
    let mut out = String::from(
        r#"<?xml version="1.0" encoding="UTF-8" standalone="yes"?>
<w:fonts xmlns:w="http://schemas.openxmlformats.org/wordprocessingml/2006/main">"#,
    );
    for (name, alt) in FONTS {
        let _ = write!(
            out,
            "<w:font w:name=\"{name}\"><w:altName w:val=\"{alt}\"/><w:charset w:val=\"86\"/><w:family w:val=\"auto\"/><w:pitch w:val=\"variable\"/></w:font>"
        );
    }
    out.push_str("<w:font w:name=\"Times New Roman\"><w:charset w:val=\"00\"/><w:family w:val=\"roman\"/><w:pitch w:val=\"variable\"/></w:font></w:fonts>");
    out
}

fn core(title: &str, author: &str, created: &str, description: &str) -> String {
    format!(
        r#"<?xml version="1.0" encoding="UTF-8" standalone="yes"?>
<cp:coreProperties xmlns:cp="http://schemas.openxmlformats.org/package/2006/metadata/core-properties" xmlns:dc="http://purl.org/dc/elements/1.1/" xmlns:dcterms="http://purl.org/dc/terms/" xmlns:xsi="http://www.w3.org/2001/XMLSchema-instance"><dc:title>{title}</dc:title><dc:creator>{author}</dc:creator><cp:lastModifiedBy>{author}</cp:lastModifiedBy><dc:description>{description}</dc:description><dc:language>zh-CN</dc:language><dcterms:created xsi:type="dcterms:W3CDTF">{created}</dcterms:created><dcterms:modified xsi:type="dcterms:W3CDTF">{created}</dcterms:modified></cp:coreProperties>"#,
        title = escape(title),
        author = escape(author),
        description = escape(description),
    )
}

/// The log position and digest, as custom properties a program can read.
fn custom(tables: &proto::Report) -> String {
    format!(
        r#"<?xml version="1.0" encoding="UTF-8" standalone="yes"?>
<Properties xmlns="http://schemas.openxmlformats.org/officeDocument/2006/custom-properties" xmlns:vt="http://schemas.openxmlformats.org/officeDocument/2006/docPropsVTypes"><property fmtid="{{D5CDD505-2E9C-101B-9397-08002B2CF9AE}}" pid="2" name="disclosure-ledger log position"><vt:lpwstr>{}</vt:lpwstr></property><property fmtid="{{D5CDD505-2E9C-101B-9397-08002B2CF9AE}}" pid="3" name="disclosure-ledger log digest"><vt:lpwstr>{}</vt:lpwstr></property></Properties>"#,
        tables.log_position,
        escape(&tables.log_digest)
    )
}

const CONTENT_TYPES: &str = r#"<?xml version="1.0" encoding="UTF-8" standalone="yes"?>
<Types xmlns="http://schemas.openxmlformats.org/package/2006/content-types"><Default Extension="rels" ContentType="application/vnd.openxmlformats-package.relationships+xml"/><Default Extension="xml" ContentType="application/xml"/><Override PartName="/word/document.xml" ContentType="application/vnd.openxmlformats-officedocument.wordprocessingml.document.main+xml"/><Override PartName="/word/styles.xml" ContentType="application/vnd.openxmlformats-officedocument.wordprocessingml.styles+xml"/><Override PartName="/word/settings.xml" ContentType="application/vnd.openxmlformats-officedocument.wordprocessingml.settings+xml"/><Override PartName="/word/fontTable.xml" ContentType="application/vnd.openxmlformats-officedocument.wordprocessingml.fontTable+xml"/><Override PartName="/word/footer1.xml" ContentType="application/vnd.openxmlformats-officedocument.wordprocessingml.footer+xml"/><Override PartName="/word/footer2.xml" ContentType="application/vnd.openxmlformats-officedocument.wordprocessingml.footer+xml"/><Override PartName="/docProps/core.xml" ContentType="application/vnd.openxmlformats-package.core-properties+xml"/><Override PartName="/docProps/app.xml" ContentType="application/vnd.openxmlformats-officedocument.extended-properties+xml"/><Override PartName="/docProps/custom.xml" ContentType="application/vnd.openxmlformats-officedocument.custom-properties+xml"/></Types>"#;

const ROOT_RELS: &str = r#"<?xml version="1.0" encoding="UTF-8" standalone="yes"?>
<Relationships xmlns="http://schemas.openxmlformats.org/package/2006/relationships"><Relationship Id="rId1" Type="http://schemas.openxmlformats.org/officeDocument/2006/relationships/officeDocument" Target="word/document.xml"/><Relationship Id="rId2" Type="http://schemas.openxmlformats.org/package/2006/relationships/metadata/core-properties" Target="docProps/core.xml"/><Relationship Id="rId3" Type="http://schemas.openxmlformats.org/officeDocument/2006/relationships/extended-properties" Target="docProps/app.xml"/><Relationship Id="rId4" Type="http://schemas.openxmlformats.org/officeDocument/2006/relationships/custom-properties" Target="docProps/custom.xml"/></Relationships>"#;

const DOCUMENT_RELS: &str = r#"<?xml version="1.0" encoding="UTF-8" standalone="yes"?>
<Relationships xmlns="http://schemas.openxmlformats.org/package/2006/relationships"><Relationship Id="rIdStyles" Type="http://schemas.openxmlformats.org/officeDocument/2006/relationships/styles" Target="styles.xml"/><Relationship Id="rIdSettings" Type="http://schemas.openxmlformats.org/officeDocument/2006/relationships/settings" Target="settings.xml"/><Relationship Id="rIdFonts" Type="http://schemas.openxmlformats.org/officeDocument/2006/relationships/fontTable" Target="fontTable.xml"/><Relationship Id="rIdFooterOdd" Type="http://schemas.openxmlformats.org/officeDocument/2006/relationships/footer" Target="footer1.xml"/><Relationship Id="rIdFooterEven" Type="http://schemas.openxmlformats.org/officeDocument/2006/relationships/footer" Target="footer2.xml"/></Relationships>"#;

const SETTINGS: &str = r#"<?xml version="1.0" encoding="UTF-8" standalone="yes"?>
<w:settings xmlns:w="http://schemas.openxmlformats.org/wordprocessingml/2006/main"><w:evenAndOddHeaders/><w:defaultTabStop w:val="420"/><w:characterSpacingControl w:val="compressPunctuation"/><w:themeFontLang w:val="en-US" w:eastAsia="zh-CN"/></w:settings>"#;

const APP: &str = r#"<?xml version="1.0" encoding="UTF-8" standalone="yes"?>
<Properties xmlns="http://schemas.openxmlformats.org/officeDocument/2006/extended-properties"><Application>disclosure-ledger</Application></Properties>"#;

/// 3号 (16 pt) body on a 29 pt line (22 lines to the page), 2号 (22 pt)
/// title, 黑体 headings indented two characters; tables in 宋体.
const STYLES: &str = r#"<?xml version="1.0" encoding="UTF-8" standalone="yes"?>
<w:styles xmlns:w="http://schemas.openxmlformats.org/wordprocessingml/2006/main"><w:docDefaults><w:rPrDefault><w:rPr><w:rFonts w:ascii="Times New Roman" w:hAnsi="Times New Roman" w:eastAsia="{BODY}" w:cs="Times New Roman"/><w:kern w:val="2"/><w:sz w:val="32"/><w:szCs w:val="32"/><w:lang w:val="en-US" w:eastAsia="zh-CN" w:bidi="ar-SA"/></w:rPr></w:rPrDefault><w:pPrDefault><w:pPr><w:widowControl/><w:jc w:val="both"/></w:pPr></w:pPrDefault></w:docDefaults><w:style w:type="paragraph" w:default="1" w:styleId="Normal"><w:name w:val="Normal"/><w:pPr><w:spacing w:line="579" w:lineRule="exact"/></w:pPr></w:style><w:style w:type="paragraph" w:styleId="Title"><w:name w:val="Title"/><w:basedOn w:val="Normal"/><w:pPr><w:keepNext/><w:spacing w:before="0" w:after="579" w:line="700" w:lineRule="exact"/><w:jc w:val="center"/><w:outlineLvl w:val="0"/></w:pPr><w:rPr><w:rFonts w:ascii="Times New Roman" w:hAnsi="Times New Roman" w:eastAsia="{TITLE}"/><w:sz w:val="44"/><w:szCs w:val="44"/></w:rPr></w:style><w:style w:type="paragraph" w:styleId="Heading1"><w:name w:val="heading 1"/><w:basedOn w:val="Normal"/><w:next w:val="BodyText"/><w:pPr><w:keepNext/><w:keepLines/><w:ind w:firstLineChars="200" w:firstLine="640"/><w:outlineLvl w:val="1"/></w:pPr><w:rPr><w:rFonts w:ascii="Times New Roman" w:hAnsi="Times New Roman" w:eastAsia="{HEADING}"/></w:rPr></w:style><w:style w:type="paragraph" w:styleId="BodyText"><w:name w:val="Body Text"/><w:basedOn w:val="Normal"/><w:pPr><w:ind w:firstLineChars="200" w:firstLine="640"/></w:pPr></w:style><w:style w:type="paragraph" w:styleId="SignOff"><w:name w:val="Closing"/><w:basedOn w:val="Normal"/><w:pPr><w:keepNext/><w:jc w:val="right"/><w:ind w:right="1280"/></w:pPr></w:style><w:style w:type="paragraph" w:styleId="TableText"><w:name w:val="Table Text"/><w:pPr><w:spacing w:line="240" w:lineRule="auto"/><w:jc w:val="center"/></w:pPr><w:rPr><w:rFonts w:ascii="Times New Roman" w:hAnsi="Times New Roman" w:eastAsia="{TABLE}"/><w:sz w:val="18"/><w:szCs w:val="18"/></w:rPr></w:style><w:style w:type="paragraph" w:styleId="TableGap"><w:name w:val="Table Gap"/><w:pPr><w:spacing w:line="240" w:lineRule="auto"/></w:pPr><w:rPr><w:sz w:val="12"/></w:rPr></w:style><w:style w:type="paragraph" w:styleId="Colophon"><w:name w:val="Colophon"/><w:basedOn w:val="Normal"/><w:pPr><w:spacing w:before="579" w:line="240" w:lineRule="auto"/></w:pPr><w:rPr><w:rFonts w:eastAsia="{TABLE}"/><w:color w:val="555555"/><w:sz w:val="16"/><w:szCs w:val="16"/></w:rPr></w:style></w:styles>"#;

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_grid_is_exactly_the_text_width() {
        for widths in [vec![0.12, 0.16, 0.29, 0.0614, 0.0614], vec![1.0 / 15.0; 15], vec![0.34, 0.22, 0.22, 0.22]] {
            assert_eq!(grid(&widths, TEXT_WIDTH).iter().sum::<u32>(), TEXT_WIDTH);
        }
        assert_eq!(TEXT_WIDTH, 8_845);
    }
}
