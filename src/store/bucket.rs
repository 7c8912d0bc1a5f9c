//! Subject buckets: how subject records are packed into sled values.
//!
//! sled 0.34 costs 5–10 µs per key written whatever the value's size (each
//! insert links a delta into a node, and nodes split at 16 entries), while
//! copying a few kilobytes costs well under a microsecond. One key per
//! subject therefore made a new application the dominant cost of an append
//! (BENCHMARKS.md). So an agency's subjects are kept in buckets of
//! consecutive subject ids, like the leaves of a B+-tree whose inner nodes
//! are sled's own: each bucket is stored under the smallest id it holds,
//! and holds every id from there up to the next bucket's. A group commit
//! rewrites each bucket it touches once, so a run of new applications costs
//! one key per bucket-full instead of one per application.
//!
//! A bucket is a count, then its entries in id order, each an id and a
//! subject record (postcard), both behind varint lengths: a lookup walks
//! the ids and decodes only the record it wants.

use crate::store::error::StoreError;

/// A bucket that grows past this many entries is split.
pub const MAX_ENTRIES: usize = 48;
/// Entries per bucket after a split: room to grow before the next one, so
/// that ids arriving in order do not split every group.
pub const FILL_ENTRIES: usize = 32;
/// A bucket is also split past this size, so that a subject with a long
/// history does not make its neighbours' rewrites expensive.
pub const MAX_BYTES: usize = 16 * 1024;

/// One entry of a bucket, borrowed: a subject id and its encoded record.
pub type Entry<'a> = (&'a [u8], &'a [u8]);
/// One entry, owned; also a whole bucket as its first id and its bytes.
pub type Owned = (Vec<u8>, Vec<u8>);

/// The entries of a bucket, in id order (none for no bytes: no bucket).
pub fn entries(bytes: &[u8]) -> impl Iterator<Item = Result<Entry<'_>, StoreError>> {
    let mut rest = bytes;
    let count = if bytes.is_empty() { Ok(0) } else { take_varint(&mut rest) };
    let mut remaining = count.as_ref().map_or(0, |n| *n);
    let mut failed = count.is_err();
    std::iter::from_fn(move || {
        if failed {
            failed = false;
            return Some(Err(damaged()));
        }
        if remaining == 0 {
            return None;
        }
        remaining -= 1;
        let entry = take_field(&mut rest).and_then(|id| Ok((id, take_field(&mut rest)?)));
        if entry.is_err() {
            remaining = 0;
        }
        Some(entry)
    })
}

/// The encoded record of `id` in a bucket, if the bucket holds it.
pub fn find<'a>(bytes: &'a [u8], id: &[u8]) -> Result<Option<&'a [u8]>, StoreError> {
    for entry in entries(bytes) {
        let (key, record) = entry?;
        match key.cmp(id) {
            std::cmp::Ordering::Less => continue,
            std::cmp::Ordering::Equal => return Ok(Some(record)),
            std::cmp::Ordering::Greater => return Ok(None),
        }
    }
    Ok(None)
}

/// Merges `updates` (in id order, each id once) into the entries of
/// `existing` (a stored bucket, or empty): an update replaces the entry of
/// the same id. Returns the buckets to store, each as its first id and its
/// bytes: one, unless the merged bucket outgrew the limits and was split.
pub fn merge(existing: &[u8], updates: &[Owned]) -> Result<Vec<Owned>, StoreError> {
    let mut merged: Vec<Entry<'_>> = Vec::with_capacity(updates.len() + FILL_ENTRIES);
    let mut updates = updates.iter().peekable();
    for entry in entries(existing) {
        let (id, record) = entry?;
        while let Some((new_id, new_record)) = updates.next_if(|(new_id, _)| new_id.as_slice() < id) {
            merged.push((new_id, new_record));
        }
        match updates.next_if(|(new_id, _)| new_id.as_slice() == id) {
            Some((new_id, new_record)) => merged.push((new_id, new_record)),
            None => merged.push((id, record)),
        }
    }
    merged.extend(updates.map(|(id, record)| (id.as_slice(), record.as_slice())));
    Ok(split(&merged).into_iter().map(|part| (part[0].0.to_vec(), encode(part))).collect())
}

/// The entries as one bucket, or as several if they outgrow the limits:
/// each of the first parts is filled to [`FILL_ENTRIES`] (or as near
/// [`MAX_BYTES`] / 2 as whole entries allow), and the last takes the rest.
fn split<'e, 'a>(entries: &'e [Entry<'a>]) -> Vec<&'e [Entry<'a>]> {
    let size = |part: &[Entry<'_>]| part.iter().map(|(id, record)| id.len() + record.len() + 8).sum::<usize>();
    if entries.len() <= MAX_ENTRIES && size(entries) <= MAX_BYTES {
        return vec![entries];
    }
    let mut parts = Vec::new();
    let mut start = 0;
    let mut bytes = 0;
    for (i, (id, record)) in entries.iter().enumerate() {
        let len = id.len() + record.len() + 8;
        if i > start && (i - start == FILL_ENTRIES || bytes + len > MAX_BYTES / 2) {
            parts.push(&entries[start..i]);
            start = i;
            bytes = 0;
        }
        bytes += len;
    }
    parts.push(&entries[start..]);
    parts
}

/// A bucket's bytes.
pub fn encode(entries: &[Entry<'_>]) -> Vec<u8> {
    let size = entries.iter().map(|(id, record)| id.len() + record.len() + 4).sum::<usize>();
    let mut out = Vec::with_capacity(size + 4);
    prost::encoding::encode_varint(entries.len() as u64, &mut out);
    for (id, record) in entries {
        prost::encoding::encode_varint(id.len() as u64, &mut out);
        out.extend_from_slice(id);
        prost::encoding::encode_varint(record.len() as u64, &mut out);
        out.extend_from_slice(record);
    }
    out
}

fn take_varint(bytes: &mut &[u8]) -> Result<usize, StoreError> {
    prost::encoding::decode_varint(bytes).ok().and_then(|n| usize::try_from(n).ok()).ok_or_else(damaged)
}

fn take_field<'a>(bytes: &mut &'a [u8]) -> Result<&'a [u8], StoreError> {
    let len = take_varint(bytes)?;
    if len > bytes.len() {
        return Err(damaged());
    }
    let (field, rest) = bytes.split_at(len);
    *bytes = rest;
    Ok(field)
}

fn damaged() -> StoreError {
    StoreError::Damaged("truncated subject bucket".into())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn updates(ids: impl IntoIterator<Item = u32>) -> Vec<Owned> {
        let mut v: Vec<_> =
            ids.into_iter().map(|i| (format!("{i:06}").into_bytes(), format!("record {i}").into_bytes())).collect();
        v.sort();
        v
    }

    fn ids(bucket: &[u8]) -> Vec<String> {
        entries(bucket).map(|e| String::from_utf8(e.unwrap().0.to_vec()).unwrap()).collect()
    }

    #[test]
    fn merge_keeps_id_order_and_replaces_by_id() {
        let [(first, bucket)] = merge(&[], &updates([5, 1, 9])).unwrap().try_into().unwrap();
        assert_eq!(first, b"000001");
        let replaced = vec![(b"000005".to_vec(), b"new".to_vec()), (b"000007".to_vec(), b"seven".to_vec())];
        let [(first, bucket)] = merge(&bucket, &replaced).unwrap().try_into().unwrap();
        assert_eq!(first, b"000001");
        assert_eq!(ids(&bucket), ["000001", "000005", "000007", "000009"]);
        assert_eq!(find(&bucket, b"000005").unwrap(), Some(&b"new"[..]));
        assert_eq!(find(&bucket, b"000009").unwrap(), Some(&b"record 9"[..]));
        assert_eq!(find(&bucket, b"000006").unwrap(), None);
        assert_eq!(find(&bucket, b"999999").unwrap(), None);
    }

    #[test]
    fn an_overfull_bucket_splits_into_filled_parts_in_order() {
        let parts = merge(&[], &updates(0..100)).unwrap();
        let sizes: Vec<usize> = parts.iter().map(|(_, b)| entries(b).count()).collect();
        assert_eq!(sizes, [FILL_ENTRIES, FILL_ENTRIES, FILL_ENTRIES, 100 - 3 * FILL_ENTRIES]);
        let all: Vec<String> = parts.iter().flat_map(|(_, b)| ids(b)).collect();
        assert_eq!(all, (0..100).map(|i| format!("{i:06}")).collect::<Vec<_>>());
        for (first, bucket) in &parts {
            assert_eq!(ids(bucket)[0].as_bytes(), first.as_slice());
        }
    }

    #[test]
    fn a_large_record_is_split_off_by_size() {
        let mut u = updates(0..4);
        u[1].1 = vec![7; MAX_BYTES];
        let parts = merge(&[], &u).unwrap();
        assert!(parts.len() >= 2, "{} parts", parts.len());
        assert!(parts.iter().any(|(_, b)| ids(b) == ["000001"]));
    }

    #[test]
    fn a_damaged_bucket_is_an_error_not_a_panic() {
        let [(_, bucket)] = merge(&[], &updates([1, 2])).unwrap().try_into().unwrap();
        let cut = &bucket[..bucket.len() - 3];
        assert!(entries(cut).any(|e| e.is_err()));
        assert!(find(cut, b"000002").is_err());
        assert!(merge(cut, &updates([3])).is_err());
    }
}
