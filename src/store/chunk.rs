//! A log chunk: up to [`CHUNK`] consecutive recorded events under one
//! key, each behind its varint length. sled's cost is per key, so one key
//! per chunk instead of one per event is what lets a group of thousands of
//! events commit quickly; a point read skips to its entry by the length
//! prefixes without decoding the others.

use crate::store::error::StoreError;

/// Most events stored under one log key.
pub const CHUNK: usize = 64;

/// A log chunk read back: its first position and its encoded events.
pub type DecodedChunk = (u64, Vec<Vec<u8>>);

/// Appends one encoded event to a chunk.
pub fn push(chunk: &mut Vec<u8>, event: &[u8]) {
    prost::encoding::encode_varint(event.len() as u64, chunk);
    chunk.extend_from_slice(event);
}

/// The encoded events of a chunk, in order.
pub fn entries(mut bytes: &[u8]) -> impl Iterator<Item = Result<&[u8], StoreError>> {
    std::iter::from_fn(move || {
        if bytes.is_empty() {
            return None;
        }
        let entry = prost::encoding::decode_varint(&mut bytes)
            .ok()
            .and_then(|len| usize::try_from(len).ok())
            .filter(|len| *len <= bytes.len())
            .map(|len| {
                let (entry, rest) = bytes.split_at(len);
                bytes = rest;
                entry
            });
        if entry.is_none() {
            bytes = &[];
        }
        Some(entry.ok_or_else(|| StoreError::Damaged("truncated log chunk".into())))
    })
}
