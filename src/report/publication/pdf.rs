//! The whole report as PDF, typeset here and written by krilla (which
//! embeds the subset of every CJK face used, with the text extractable):
//! A4 with GB/T 9704's margins, the faces by role ([`super::fonts`]), lines
//! broken by Unicode's rules (UAX #14: no line starts with ，。、), headings
//! kept with what follows, table header rows repeated on every page, rows
//! never split, merged cells drawn on every page they reach, and page
//! numbers "— N —" outside at the foot.

use krilla::Document;
use krilla::geom::{PathBuilder, Point, Rect};
use krilla::metadata::{DateTime, Metadata};
use krilla::page::PageSettings;
use krilla::paint::{Fill, Stroke};
use krilla::text::TextDirection;

use crate::report::publication::document::{self, Part, Slot, Table};
use crate::report::publication::fonts::{Face, Fonts, Role};
use crate::report::publication::{Options, provenance};
use crate::wire::proto;

const MM: f32 = 72.0 / 25.4;
const PAGE_W: f32 = 210.0 * MM;
const PAGE_H: f32 = 297.0 * MM;
const TOP: f32 = 37.0 * MM;
const BOTTOM: f32 = 35.0 * MM;
const LEFT: f32 = 28.0 * MM;
const RIGHT: f32 = 26.0 * MM;
const WIDTH: f32 = PAGE_W - LEFT - RIGHT;
const TEXT_BOTTOM: f32 = PAGE_H - BOTTOM;

/// 3号 body on a 29 pt line (22 lines to the page), 2号 title.
const BODY: f32 = 16.0;
const LINE: f32 = 29.0;
const TITLE: f32 = 22.0;
const PAGE_NUMBER: f32 = 14.0;
/// The share of the size above the baseline, for the CJK faces used.
const ASCENT: f32 = 0.88;
const PAD_X: f32 = 1.5;
const PAD_Y: f32 = 2.5;

pub fn pdf(r: &proto::AnnualReport, options: &Options) -> anyhow::Result<Vec<u8>> {
    let fonts = Fonts::find(&options.font_paths)?;
    let pages = typeset(&document::parts(r, options), &fonts);
    let mut doc = Document::new();
    for (n, items) in pages.iter().enumerate() {
        let settings = PageSettings::from_wh(PAGE_W, PAGE_H).expect("A4 is a valid size");
        let mut page = doc.start_page_with(settings);
        let mut surface = page.surface();
        for item in items.iter().chain(std::iter::once(&page_number(n + 1, &fonts))) {
            match item {
                Item::Text { x, baseline, role, size, text } => {
                    surface.set_stroke(None);
                    surface.set_fill(Some(Fill::default()));
                    surface.draw_text(
                        Point::from_xy(*x, *baseline),
                        fonts.get(*role).font.clone(),
                        *size,
                        text,
                        false,
                        TextDirection::Auto,
                    );
                }
                Item::Box { x, y, w, h } => {
                    let mut path = PathBuilder::new();
                    if let Some(rect) = Rect::from_xywh(*x, *y, *w, *h) {
                        path.push_rect(rect);
                    }
                    if let Some(path) = path.finish() {
                        surface.set_fill(None);
                        surface.set_stroke(Some(Stroke { width: 0.6, ..Stroke::default() }));
                        surface.draw_path(&path);
                    }
                }
            }
        }
        surface.finish();
        page.finish();
    }
    let tables = r.tables.clone().unwrap_or_default();
    let made = options.made_at;
    use chrono::{Datelike as _, Timelike as _};
    let created = DateTime::new(made.year() as u16)
        .month(made.month() as u8)
        .day(made.day() as u8)
        .hour(made.hour() as u8)
        .minute(made.minute() as u8)
        .second(made.second() as u8)
        .utc_offset_hour(0);
    doc.set_metadata(
        Metadata::new()
            .title(r.title.clone())
            .authors(vec![r.agency_name.clone()])
            .description(provenance(&tables))
            .keywords(vec![
                format!("log position {}", tables.log_position),
                format!("log digest {}", tables.log_digest),
            ])
            .language("zh-CN".into())
            .creator("disclosure-ledger".into())
            .creation_date(created),
    );
    doc.finish().map_err(|e| anyhow::anyhow!("cannot write the PDF: {e:?}"))
}

/// Something drawn on a page: a line of text (at its baseline) or a ruled
/// box (a table cell).
#[derive(Clone, Debug)]
enum Item {
    Text { x: f32, baseline: f32, role: Role, size: f32, text: String },
    Box { x: f32, y: f32, w: f32, h: f32 },
}

/// "— N —", one character in from the outer edge, 7 mm below the text.
fn page_number(n: usize, fonts: &Fonts) -> Item {
    let text = format!("— {n} —");
    let w = fonts.get(Role::Table).width(&text, PAGE_NUMBER);
    let x = if n % 2 == 1 { PAGE_W - RIGHT - PAGE_NUMBER - w } else { LEFT + PAGE_NUMBER };
    Item::Text {
        x,
        baseline: TEXT_BOTTOM + 7.0 * MM + PAGE_NUMBER * ASCENT,
        role: Role::Table,
        size: PAGE_NUMBER,
        text,
    }
}

/// Where the next thing goes.
struct Flow<'a> {
    fonts: &'a Fonts,
    pages: Vec<Vec<Item>>,
    y: f32,
}

impl<'a> Flow<'a> {
    fn page(&mut self) -> &mut Vec<Item> {
        self.pages.last_mut().expect("a page")
    }
    fn new_page(&mut self) {
        self.pages.push(Vec::new());
        self.y = TOP;
    }
    fn room(&self) -> f32 {
        TEXT_BOTTOM - self.y
    }
    /// Starts a new page unless `height` fits on this one (or this page is
    /// still empty: then nothing would fit better).
    fn need(&mut self, height: f32) {
        if height > self.room() && self.y > TOP {
            self.new_page();
        }
    }

    /// Lines of text, each placed by `x_of(width of the line)`.
    fn lines(&mut self, lines: &[String], role: Role, size: f32, line: f32, x_of: impl Fn(usize, f32) -> f32) {
        for (i, text) in lines.iter().enumerate() {
            self.need(line);
            let w = self.fonts.get(role).width(text, size);
            let baseline = self.y + (line - size) / 2.0 + size * ASCENT;
            let x = x_of(i, w);
            self.page().push(Item::Text { x, baseline, role, size, text: text.clone() });
            self.y += line;
        }
    }
}

fn typeset(parts: &[Part], fonts: &Fonts) -> Vec<Vec<Item>> {
    let mut flow = Flow { fonts, pages: vec![Vec::new()], y: TOP };
    for (i, part) in parts.iter().enumerate() {
        match part {
            Part::Title(t) => {
                let lines = wrap(fonts.get(Role::Title), TITLE, t, WIDTH, WIDTH);
                flow.lines(&lines, Role::Title, TITLE, TITLE * 1.5, |_, w| LEFT + (WIDTH - w) / 2.0);
                flow.y += LINE;
            }
            Part::Heading(h) => {
                let lines = wrap(fonts.get(Role::Heading), BODY, h, WIDTH - 2.0 * BODY, WIDTH);
                // A heading never ends a page: it needs room for itself and
                // the start of what follows it.
                let next = parts.get(i + 1).map_or(0.0, |p| first_height(p, fonts));
                flow.need(lines.len() as f32 * LINE + next);
                flow.lines(&lines, Role::Heading, BODY, LINE, |k, _| LEFT + if k == 0 { 2.0 * BODY } else { 0.0 });
            }
            Part::Paragraph(p) => {
                let lines = wrap(fonts.get(Role::Body), BODY, p, WIDTH - 2.0 * BODY, WIDTH);
                // No single line left alone at the foot of a page.
                if lines.len() > 1 {
                    flow.need(2.0 * LINE);
                }
                flow.lines(&lines, Role::Body, BODY, LINE, |k, _| LEFT + if k == 0 { 2.0 * BODY } else { 0.0 });
            }
            Part::Table(t) => table(&mut flow, t),
            Part::SignOff(lines) => {
                flow.need((lines.len() + 1) as f32 * LINE);
                flow.y += LINE;
                flow.lines(lines, Role::Body, BODY, LINE, |_, w| LEFT + WIDTH - 4.0 * BODY - w);
            }
            Part::Colophon(c) => {
                let size = 8.0;
                let lines = wrap(fonts.get(Role::Table), size, c, WIDTH, WIDTH);
                flow.y += LINE;
                flow.lines(&lines, Role::Table, size, size * 1.5, |_, _| LEFT);
            }
        }
    }
    flow.pages
}

/// How much of a part must follow its heading on the same page: two lines
/// of a paragraph, or a table's header rows and first row.
fn first_height(part: &Part, fonts: &Fonts) -> f32 {
    match part {
        Part::Paragraph(_) => 2.0 * LINE,
        Part::Table(t) => {
            let laid = Laid::of(t, fonts);
            let total: f32 = laid.heights.iter().sum();
            if t.keep_together && total <= TEXT_BOTTOM - TOP {
                total
            } else {
                laid.heights.iter().take(t.header_rows + 1).sum()
            }
        }
        _ => LINE,
    }
}

/// A table measured: the x of every grid column, every row's height.
struct Laid {
    xs: Vec<f32>,
    heights: Vec<f32>,
    size: f32,
    line: f32,
}

impl Laid {
    fn of(t: &Table, fonts: &Fonts) -> Self {
        let size = if t.widths.len() <= 7 { 10.5 } else { 9.0 };
        let line = size * 1.3;
        let sum: f32 = t.widths.iter().sum();
        let mut xs = vec![LEFT];
        for w in &t.widths {
            xs.push(xs.last().expect("one") + w / sum * WIDTH);
        }
        let face = fonts.get(Role::Table);
        let slots = t.slots();
        let lines_of = |r: usize, column: usize, i: usize| {
            let c = &t.rows[r][i];
            let w = xs[(column + c.columns).min(t.widths.len())] - xs[column] - 2.0 * PAD_X;
            cell_lines(face, size, &c.text, w).len().max(1) as f32
        };
        let mut heights = vec![line + 2.0 * PAD_Y; t.rows.len()];
        // Cells of one row first, then merged cells grow their last row.
        for pass in [false, true] {
            for (r, slots) in slots.iter().enumerate() {
                for (column, slot) in slots.iter().enumerate() {
                    let Slot::Starts(i) = *slot else { continue };
                    let span = t.rows[r][i].rows.min(t.rows.len() - r);
                    if (span > 1) != pass {
                        continue;
                    }
                    let need = lines_of(r, column, i) * line + 2.0 * PAD_Y;
                    let have: f32 = heights[r..r + span].iter().sum();
                    if need > have {
                        heights[r + span - 1] += need - have;
                    }
                }
            }
        }
        Self { xs, heights, size, line }
    }
}

/// Places a table's rows page by page, the header rows again at the top of
/// every page it continues on, then draws every cell's part on each page.
fn table(flow: &mut Flow<'_>, t: &Table) {
    let laid = Laid::of(t, flow.fonts);
    let header: f32 = laid.heights[..t.header_rows].iter().sum();
    let total: f32 = laid.heights.iter().sum();
    if t.keep_together && total <= TEXT_BOTTOM - TOP {
        flow.need(total);
    } else {
        flow.need(header + laid.heights.get(t.header_rows).copied().unwrap_or(0.0));
    }
    // (page, row, y) of every row placed, header rows repeated.
    let mut placed: Vec<(usize, usize, f32)> = Vec::new();
    for r in 0..t.rows.len() {
        let h = laid.heights[r];
        if h > flow.room() && flow.y > TOP {
            flow.new_page();
            if r >= t.header_rows {
                for (k, hh) in laid.heights[..t.header_rows].iter().enumerate() {
                    placed.push((flow.pages.len() - 1, k, flow.y));
                    flow.y += hh;
                }
            }
        }
        placed.push((flow.pages.len() - 1, r, flow.y));
        flow.y += h;
    }
    let slots = t.slots();
    let face = flow.fonts.get(Role::Table);
    let first_page = placed.first().map_or(0, |p| p.0);
    let last_page = placed.last().map_or(0, |p| p.0);
    for page in first_page..=last_page {
        let on_page: Vec<&(usize, usize, f32)> = placed.iter().filter(|p| p.0 == page).collect();
        for (r, row) in t.rows.iter().enumerate() {
            for (column, slot) in slots[r].iter().enumerate() {
                let Slot::Starts(i) = *slot else { continue };
                let c = &row[i];
                let rows = r..(r + c.rows).min(t.rows.len());
                let parts: Vec<&&(usize, usize, f32)> = on_page.iter().filter(|p| rows.contains(&p.1)).collect();
                let (Some(top), Some(bottom)) = (
                    parts.iter().map(|p| p.2).reduce(f32::min),
                    parts.iter().map(|p| p.2 + laid.heights[p.1]).reduce(f32::max),
                ) else {
                    continue;
                };
                let x = laid.xs[column];
                let w = laid.xs[(column + c.columns).min(t.widths.len())] - x;
                let items = flow.pages.get_mut(page).expect("a placed page");
                items.push(Item::Box { x, y: top, w, h: bottom - top });
                let lines = cell_lines(face, laid.size, &c.text, w - 2.0 * PAD_X);
                let text_h = lines.len() as f32 * laid.line;
                let mut y = top + ((bottom - top) - text_h) / 2.0;
                for text in lines {
                    let lw = face.width(&text, laid.size);
                    let tx = if c.left { x + PAD_X } else { x + (w - lw) / 2.0 };
                    let baseline = y + (laid.line - laid.size) / 2.0 + laid.size * ASCENT;
                    items.push(Item::Text { x: tx, baseline, role: Role::Table, size: laid.size, text });
                    y += laid.line;
                }
            }
        }
    }
    flow.y += LINE / 2.0;
}

/// A table cell's lines: as few as fit in `width`, and as even as those
/// few allow, so that 商业企业 breaks as 商业/企业, not 商业企/业.
fn cell_lines(face: &Face, size: f32, text: &str, width: f32) -> Vec<String> {
    let lines = wrap(face, size, text, width, width);
    if lines.len() < 2 {
        return lines;
    }
    let mut target = face.width(text, size) / lines.len() as f32 + 0.01;
    while target < width {
        let even = wrap(face, size, text, target, target);
        if even.len() == lines.len() {
            return even;
        }
        target += size / 2.0;
    }
    lines
}

/// Breaks `text` into lines no wider than `first` (the first line) and
/// `rest` (the others), at the break opportunities of UAX #14, or anywhere
/// in a run too long for a line.
pub(crate) fn wrap(face: &Face, size: f32, text: &str, first: f32, rest: f32) -> Vec<String> {
    let breaks: Vec<usize> = unicode_linebreak::linebreaks(text).map(|(i, _)| i).collect();
    let mut lines = Vec::new();
    let mut start = 0;
    let mut width = 0.0;
    let mut last_break: Option<usize> = None;
    let mut b = 0;
    for (i, c) in text.char_indices() {
        while b < breaks.len() && breaks[b] < i {
            b += 1;
        }
        if b < breaks.len() && breaks[b] == i && i > start {
            last_break = Some(i);
        }
        let advance = face.advance(c) * size;
        let limit = if lines.is_empty() { first } else { rest };
        if width + advance > limit && i > start {
            let cut = last_break.unwrap_or(i);
            lines.push(text[start..cut].trim_end().to_owned());
            start = cut;
            last_break = None;
            width = face.width(&text[start..i], size);
        }
        width += advance;
    }
    let tail = text[start..].trim_end();
    if !tail.is_empty() || lines.is_empty() {
        lines.push(tail.to_owned());
    }
    lines
}
