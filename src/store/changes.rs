//! The keys one commit writes: every insert and removal of a group (or of
//! a recorded loss), in order. The commit log keeps them as they are, so
//! recovery writes exactly what was acknowledged, and sled applies them as
//! one atomic batch.
//!
//! Each value is whole (a chunk, a bucket, a tally), never a delta: applying
//! the changes of several commits again, in order, over any state sled
//! recovered to, ends in the state after the last of them.

use crate::store::error::{StoreError, damaged};

/// One subject's new record: its bucket key, the length of the agency's
/// prefix in it, and the encoded record.
pub type SubjectChange = (Vec<u8>, usize, Vec<u8>);

#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Changes {
    ops: Vec<(Vec<u8>, Option<Vec<u8>>)>,
    /// New subject records, merged into their buckets when applied: a
    /// bucket holds up to 16 KiB of records, so logging the bucket itself
    /// would cost that much per commit of one event.
    subjects: Vec<SubjectChange>,
}

impl Changes {
    pub fn insert(&mut self, key: impl Into<Vec<u8>>, value: impl Into<Vec<u8>>) {
        self.ops.push((key.into(), Some(value.into())));
    }

    pub fn remove(&mut self, key: impl Into<Vec<u8>>) {
        self.ops.push((key.into(), None));
    }

    /// A subject's new record: its bucket key, the length of the agency's
    /// prefix in it, and the encoded record.
    pub fn subject(&mut self, key: Vec<u8>, prefix: usize, record: Vec<u8>) {
        self.subjects.push((key, prefix, record));
    }

    /// The plain keys as a sled batch, and the subject records to merge
    /// into it (taken, not copied).
    pub fn into_parts(self) -> (sled::Batch, Vec<SubjectChange>) {
        let batch = self.to_batch();
        (batch, self.subjects)
    }

    pub fn is_empty(&self) -> bool {
        self.ops.is_empty() && self.subjects.is_empty()
    }

    /// The plain keys as one sled batch (a later change of a key wins, as
    /// in the log); the subject records are merged by the store.
    pub fn to_batch(&self) -> sled::Batch {
        let mut batch = sled::Batch::default();
        self.add_to(&mut batch);
        batch
    }

    /// Adds the plain keys to a sled batch.
    pub fn add_to(&self, batch: &mut sled::Batch) {
        for (key, value) in &self.ops {
            match value {
                Some(value) => batch.insert(key.as_slice(), value.as_slice()),
                None => batch.remove(key.as_slice()),
            }
        }
    }

    /// Appends the encoding: a count, then each change as a kind byte (1
    /// insert, 0 removal), the key and the value behind varint lengths;
    /// then a count of subject records, each its prefix length, key and
    /// record.
    pub fn encode(&self, out: &mut Vec<u8>) {
        prost::encoding::encode_varint(self.ops.len() as u64, out);
        for (key, value) in &self.ops {
            out.push(u8::from(value.is_some()));
            prost::encoding::encode_varint(key.len() as u64, out);
            out.extend_from_slice(key);
            if let Some(value) = value {
                prost::encoding::encode_varint(value.len() as u64, out);
                out.extend_from_slice(value);
            }
        }
        prost::encoding::encode_varint(self.subjects.len() as u64, out);
        for (key, prefix, record) in &self.subjects {
            prost::encoding::encode_varint(*prefix as u64, out);
            prost::encoding::encode_varint(key.len() as u64, out);
            out.extend_from_slice(key);
            prost::encoding::encode_varint(record.len() as u64, out);
            out.extend_from_slice(record);
        }
    }

    pub fn decode(mut bytes: &[u8]) -> Result<Self, StoreError> {
        let bad = || damaged("commit log record");
        let take = |bytes: &mut &[u8]| -> Result<Vec<u8>, StoreError> {
            let len = prost::encoding::decode_varint(bytes).map_err(|_| bad())?;
            let len = usize::try_from(len).map_err(|_| bad())?;
            if len > bytes.len() {
                return Err(bad());
            }
            let (head, rest) = bytes.split_at(len);
            *bytes = rest;
            Ok(head.to_vec())
        };
        let count = prost::encoding::decode_varint(&mut bytes).map_err(|_| bad())?;
        let mut ops = Vec::with_capacity(usize::try_from(count).unwrap_or(0).min(1 << 16));
        for _ in 0..count {
            let (&kind, rest) = bytes.split_first().ok_or_else(bad)?;
            bytes = rest;
            let key = take(&mut bytes)?;
            let value = match kind {
                1 => Some(take(&mut bytes)?),
                0 => None,
                _ => return Err(bad()),
            };
            ops.push((key, value));
        }
        let count = prost::encoding::decode_varint(&mut bytes).map_err(|_| bad())?;
        let mut subjects = Vec::with_capacity(usize::try_from(count).unwrap_or(0).min(1 << 16));
        for _ in 0..count {
            let prefix = prost::encoding::decode_varint(&mut bytes).map_err(|_| bad())?;
            let prefix = usize::try_from(prefix).map_err(|_| bad())?;
            let key = take(&mut bytes)?;
            if prefix > key.len() {
                return Err(bad());
            }
            subjects.push((key, prefix, take(&mut bytes)?));
        }
        if !bytes.is_empty() {
            return Err(bad());
        }
        Ok(Self { ops, subjects })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn changes_read_back_as_written() {
        let mut c = Changes::default();
        c.insert(b"L\0\0\0\0\0\0\0\x01".to_vec(), vec![7u8; 300]);
        c.remove(b"T-gone".to_vec());
        c.insert(b"empty".to_vec(), Vec::new());
        c.subject(b"Bagency\0x".to_vec(), 8, vec![1, 2, 3]);
        let mut bytes = Vec::new();
        c.encode(&mut bytes);
        assert_eq!(Changes::decode(&bytes).unwrap(), c);
        // Cut anywhere, it is refused rather than read short.
        for cut in 0..bytes.len() {
            assert!(Changes::decode(&bytes[..cut]).is_err(), "cut at {cut}");
        }
    }
}
