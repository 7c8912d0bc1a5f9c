//! The typefaces a printed report uses, by role (GB/T 9704: a 小标宋 title,
//! 仿宋 body, 黑体 headings; 宋体 tables and page numbers), each found on
//! the system or in the paths given, the official face first and its
//! fallbacks after. Nothing is downloaded: a machine without any Simplified
//! Chinese face is told which package to install.

use std::cell::RefCell;
use std::collections::HashMap;
use std::path::PathBuf;
use std::sync::Arc;

use skrifa::MetadataProvider as _;

/// What a face is used for.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Role {
    Title,
    Body,
    Heading,
    Table,
}

impl Role {
    const ALL: [Role; 4] = [Role::Title, Role::Body, Role::Heading, Role::Table];

    /// The families to try, in order, and the weight.
    fn families(self) -> (&'static [&'static str], fontdb::Weight) {
        match self {
            Role::Title => (
                &[
                    "FZXiaoBiaoSong-B05S",
                    "方正小标宋简体",
                    "STZhongsong",
                    "华文中宋",
                    "Noto Serif CJK SC",
                    "Source Han Serif SC",
                ],
                fontdb::Weight::BOLD,
            ),
            Role::Body => (
                &[
                    "FangSong_GB2312",
                    "仿宋_GB2312",
                    "FangSong",
                    "仿宋",
                    "STFangsong",
                    "Noto Serif CJK SC",
                    "Source Han Serif SC",
                ],
                fontdb::Weight::NORMAL,
            ),
            Role::Heading => (
                &["SimHei", "黑体", "Noto Sans CJK SC", "Source Han Sans SC", "WenQuanYi Zen Hei"],
                fontdb::Weight::NORMAL,
            ),
            Role::Table => (
                &["SimSun", "宋体", "Noto Serif CJK SC", "Source Han Serif SC", "AR PL UMing CN"],
                fontdb::Weight::NORMAL,
            ),
        }
    }
}

/// One face: the font krilla embeds (subset) and what measuring needs.
pub struct Face {
    pub font: krilla::text::Font,
    pub family: String,
    data: Arc<Vec<u8>>,
    index: u32,
    /// Advance widths in ems, by character, filled as text is measured.
    advances: RefCell<HashMap<char, f32>>,
}

impl Face {
    /// The width of `text` at `size` points.
    pub fn width(&self, text: &str, size: f32) -> f32 {
        text.chars().map(|c| self.advance(c)).sum::<f32>() * size
    }

    /// A character's advance, in ems.
    pub fn advance(&self, c: char) -> f32 {
        if let Some(a) = self.advances.borrow().get(&c) {
            return *a;
        }
        let a = skrifa::FontRef::from_index(&self.data, self.index)
            .ok()
            .and_then(|f| {
                let gid = f.charmap().map(c)?;
                let size = skrifa::instance::Size::unscaled();
                let location = skrifa::instance::LocationRef::default();
                let upem = f.metrics(size, location).units_per_em as f32;
                let m = f.glyph_metrics(size, location);
                Some(m.advance_width(gid)? / upem)
            })
            .unwrap_or(if c.is_ascii() { 0.5 } else { 1.0 });
        self.advances.borrow_mut().insert(c, a);
        a
    }

    fn has(&self, c: char) -> bool {
        skrifa::FontRef::from_index(&self.data, self.index).is_ok_and(|f| f.charmap().map(c).is_some())
    }
}

/// The faces of every role.
pub struct Fonts {
    faces: HashMap<Role, Face>,
}

impl Fonts {
    /// Finds a face for every role among the system's fonts and those in
    /// `paths` (files or folders): for each role, the first family of its
    /// list that any of them has (so a path holding an official face makes
    /// it win over the system's fallbacks).
    pub fn find(paths: &[PathBuf]) -> anyhow::Result<Self> {
        // The system's fonts are scanned once per process (a console
        // download must not rescan /usr/share/fonts); fonts installed
        // later are seen after a restart.
        static SYSTEM: std::sync::OnceLock<fontdb::Database> = std::sync::OnceLock::new();
        let system = SYSTEM.get_or_init(|| {
            let mut db = fontdb::Database::new();
            db.load_system_fonts();
            db
        });
        let mut db = system.clone();
        for p in paths {
            if p.is_dir() {
                db.load_fonts_dir(p);
            } else {
                db.load_font_file(p).map_err(|e| anyhow::anyhow!("cannot read the font {}: {e}", p.display()))?;
            }
        }
        let mut faces = HashMap::new();
        for role in Role::ALL {
            let (names, weight) = role.families();
            let face = names
                .iter()
                .filter_map(|name| {
                    let families = [fontdb::Family::Name(name)];
                    let id = db.query(&fontdb::Query { families: &families, weight, ..fontdb::Query::default() })?;
                    let (data, index) = db.with_face_data(id, |data, index| (data.to_vec(), index))?;
                    let data = Arc::new(data);
                    let font = krilla::text::Font::new(krilla::Data::from(data.clone()), index)?;
                    let face =
                        Face { font, family: (*name).to_owned(), data, index, advances: RefCell::new(HashMap::new()) };
                    face.has('报').then_some(face)
                })
                .next()
                .ok_or_else(|| {
                    anyhow::anyhow!(
                        "no font with Simplified Chinese glyphs for the {role:?} (tried {}): install one \
                         (Debian: apt-get install fonts-noto-cjk) or name a font file or folder with --font",
                        names.join(", ")
                    )
                })?;
            faces.insert(role, face);
        }
        Ok(Self { faces })
    }

    pub fn get(&self, role: Role) -> &Face {
        &self.faces[&role]
    }
}
