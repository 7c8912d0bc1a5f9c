//! Identifiers: the event id (idempotency key), the agency, and the subject
//! (an application number or a review case id in the agency's own system).
//!
//! Agency and subject ids are canonical: NFKC-normalised before anything
//! else, so that ids a person would read as one are one (NFC and NFD
//! accents, full-width and half-width digits, compatibility ideographs),
//! and free of invisible and bidirectional control characters (Unicode
//! `Cf`), which would make two ids look alike or one id look like another.

use std::borrow::Cow;
use std::fmt;

use serde::{Deserialize, Serialize};
use unicode_normalization::{IsNormalized, UnicodeNormalization, is_nfkc_quick};
use unicode_properties::{GeneralCategory, UnicodeGeneralCategory};
use uuid::Uuid;

/// Longest agency id, in bytes.
pub const MAX_AGENCY_ID: usize = 64;
/// Longest subject id, in bytes.
pub const MAX_SUBJECT_ID: usize = 128;

/// The client-chosen UUID of an event.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
pub struct EventId(Uuid);

impl EventId {
    /// Parses any UUID form; the canonical form is lower-case hyphenated.
    pub fn parse(s: &str) -> Result<Self, String> {
        if s.is_empty() {
            return Err("is required (a UUID)".into());
        }
        Uuid::try_parse(s)
            .map(Self)
            .map_err(|e| format!("{:?} is not a UUID: {e}", crate::domain::rejection::shown(s, 100)))
    }

    /// A deterministic id derived from a name (v5), for imports that must be
    /// repeatable.
    pub fn from_name(name: &str) -> Self {
        Self(Uuid::new_v5(&Uuid::NAMESPACE_OID, name.as_bytes()))
    }

    /// From the 16 stored bytes.
    pub fn from_bytes(bytes: [u8; 16]) -> Self {
        Self(Uuid::from_bytes(bytes))
    }

    /// The 16 bytes used in store keys.
    pub fn as_bytes(&self) -> &[u8; 16] {
        self.0.as_bytes()
    }
}

impl fmt::Display for EventId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        self.0.hyphenated().fmt(f)
    }
}

/// An agency: 1-64 characters of `[A-Za-z0-9._-]`, so that it can appear in
/// keys, URLs and file names unchanged.
#[derive(Clone, Debug, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
pub struct AgencyId(String);

impl AgencyId {
    /// The canonical id of `s` (see the module), or why it is not one.
    pub fn parse(s: &str) -> Result<Self, String> {
        Self::stored(&canonical(s, MAX_AGENCY_ID)?)
    }

    /// An id read back from the store or a backup, as it was written: ids
    /// written before they were canonical stay what they were.
    pub fn stored(s: &str) -> Result<Self, String> {
        if s.is_empty() {
            return Err("is required".into());
        }
        if s.len() > MAX_AGENCY_ID {
            return Err(format!("is {} bytes long; at most {MAX_AGENCY_ID}", s.len()));
        }
        if let Some(c) = s.chars().find(|c| !(c.is_ascii_alphanumeric() || matches!(c, '.' | '_' | '-'))) {
            return Err(format!("contains {c:?}; only letters, digits, '.', '_' and '-' are allowed"));
        }
        Ok(Self(s.to_owned()))
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl fmt::Display for AgencyId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

/// A subject id: 1-128 bytes of text with no control characters and no
/// leading or trailing white space (agencies number applications like
/// `依申请〔2024〕12号`).
#[derive(Clone, Debug, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
pub struct SubjectId(String);

impl SubjectId {
    /// The canonical id of `s` (see the module), or why it is not one.
    pub fn parse(s: &str) -> Result<Self, String> {
        Self::stored(&canonical(s, MAX_SUBJECT_ID)?)
    }

    /// An id read back from the store or a backup, as it was written (see
    /// [`AgencyId::stored`]).
    pub fn stored(s: &str) -> Result<Self, String> {
        if s.is_empty() {
            return Err("is required".into());
        }
        if s.len() > MAX_SUBJECT_ID {
            return Err(format!("is {} bytes long; at most {MAX_SUBJECT_ID}", s.len()));
        }
        if s.chars().any(char::is_control) {
            return Err("contains a control character".into());
        }
        if s.trim() != s {
            return Err("has leading or trailing white space".into());
        }
        Ok(Self(s.to_owned()))
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl fmt::Display for SubjectId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

/// `s` in NFKC, refusing invisible and bidirectional control characters.
/// An id far over its limit of `max` bytes is refused before it is read
/// (normalising shrinks full-width forms to a third at most).
fn canonical(s: &str, max: usize) -> Result<Cow<'_, str>, String> {
    if s.len() > 4 * max {
        return Err(format!("is {} bytes long; at most {max}", s.len()));
    }
    if let Some(c) = s.chars().find(|c| c.general_category() == GeneralCategory::Format) {
        return Err(format!(
            "contains U+{:04X}, an invisible or bidirectional control character; ids must read as they are",
            u32::from(c)
        ));
    }
    Ok(match is_nfkc_quick(s.chars()) {
        IsNormalized::Yes => Cow::Borrowed(s),
        _ => Cow::Owned(s.nfkc().collect()),
    })
}

/// One subject's stream: an agency and a subject id.
#[derive(Clone, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct StreamId {
    pub agency: AgencyId,
    pub subject: SubjectId,
}

impl fmt::Display for StreamId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}/{}", self.agency, self.subject)
    }
}

/// A file's SHA-256, as hex on the wire.
#[derive(Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub struct Sha256(pub [u8; 32]);

impl Sha256 {
    /// From 64 hex digits.
    pub fn parse(s: &str) -> Result<Self, String> {
        let mut out = [0u8; 32];
        hex::decode_to_slice(s.trim(), &mut out).map_err(|_| format!("{s:?} is not a SHA-256 (64 hex digits)"))?;
        Ok(Self(out))
    }
}

impl fmt::Display for Sha256 {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&hex::encode(self.0))
    }
}

impl fmt::Debug for Sha256 {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "Sha256({self})")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn agency_ids_are_plain() {
        assert!(AgencyId::parse("hlj-jgj.2020_x").is_ok());
        assert!(AgencyId::parse("").is_err());
        assert!(AgencyId::parse("a/b").is_err());
        assert!(AgencyId::parse(&"a".repeat(65)).is_err());
    }

    #[test]
    fn subject_ids_allow_chinese_but_no_control_characters() {
        assert!(SubjectId::parse("依申请〔2024〕12号").is_ok());
        assert!(SubjectId::parse("a\0b").is_err());
        assert!(SubjectId::parse(" a").is_err());
    }

    #[test]
    fn look_alike_ids_are_one_id() {
        // NFC and NFD.
        let nfc = SubjectId::parse("依申请〔2024〕\u{e9}-1").unwrap();
        let nfd = SubjectId::parse("依申请〔2024〕e\u{301}-1").unwrap();
        assert_eq!(nfc, nfd);
        assert_eq!(nfd.as_str(), "依申请〔2024〕\u{e9}-1");
        // Full-width and half-width digits.
        assert_eq!(SubjectId::parse("１２３号").unwrap(), SubjectId::parse("123号").unwrap());
        // A compatibility ideograph and its unified one.
        assert_eq!(SubjectId::parse("\u{f900}").unwrap(), SubjectId::parse("\u{8c48}").unwrap());
        // Full-width letters in an agency id fold to the plain ones.
        assert_eq!(AgencyId::parse("ａｇｅｎｃｙ-1").unwrap().as_str(), "agency-1");
    }

    #[test]
    fn invisible_and_bidirectional_controls_are_refused() {
        for id in ["a\u{202e}b", "a\u{200b}b", "\u{feff}a", "a\u{2066}b", "a\u{200e}"] {
            let e = SubjectId::parse(id).unwrap_err();
            assert!(e.contains("invisible or bidirectional"), "{id:?}: {e}");
            assert!(AgencyId::parse(id).is_err());
        }
        assert!(SubjectId::parse(&"长".repeat(2000)).unwrap_err().contains("6000 bytes long; at most 128"));
        // What was stored before ids were canonical reads back as it was.
        assert_eq!(SubjectId::stored("a\u{200b}b").unwrap().as_str(), "a\u{200b}b");
        assert_eq!(SubjectId::stored("１２３号").unwrap().as_str(), "１２３号");
    }

    #[test]
    fn event_ids_are_canonical() {
        let id = EventId::parse("6F9619FF-8B86-D011-B42D-00C04FC964FF").unwrap();
        assert_eq!(id.to_string(), "6f9619ff-8b86-d011-b42d-00c04fc964ff");
        assert!(EventId::parse("not-a-uuid").is_err());
    }
}
