//! The cleaner's key -> latest offset map (Kafka's `SkimpyOffsetMap`): keys
//! are stored as 128-bit hashes, never as bytes, and the number of entries is
//! bounded by `log.cleaner.dedupe.buffer.size` (24 bytes per entry, as Kafka
//! counts a 16-byte digest plus an 8-byte offset, times a 0.9 load factor).
//! A full map makes the cleaner stop early and clean the rest next time.

use std::collections::HashMap;
use std::hash::{BuildHasher, Hasher, RandomState};

use crate::model::Offset;

/// Bytes Kafka charges per entry: a 16-byte hash and an 8-byte offset.
const BYTES_PER_ENTRY: u64 = 24;
/// Kafka's `log.cleaner.io.buffer.load.factor` default.
const LOAD_FACTOR: f64 = 0.9;

#[derive(Debug)]
pub struct OffsetMap {
    entries: HashMap<u128, Offset>,
    max_entries: usize,
    first_hasher: RandomState,
    second_hasher: RandomState,
    /// The last offset of the last batch added (-1 when none).
    latest_offset: Offset,
}

impl OffsetMap {
    /// A map that may use about `buffer_bytes` bytes of entries.
    pub fn new(buffer_bytes: u64) -> OffsetMap {
        let slots = buffer_bytes / BYTES_PER_ENTRY;
        let max_entries = ((slots as f64 * LOAD_FACTOR) as usize).max(1);
        OffsetMap {
            entries: HashMap::new(),
            max_entries,
            first_hasher: RandomState::new(),
            second_hasher: RandomState::new(),
            latest_offset: Offset::UNKNOWN,
        }
    }

    fn digest(&self, key: &[u8]) -> u128 {
        let hash = |state: &RandomState| {
            let mut h = state.build_hasher();
            h.write(key);
            h.finish()
        };
        (u128::from(hash(&self.first_hasher)) << 64) | u128::from(hash(&self.second_hasher))
    }

    /// Records `offset` as the latest for `key` (offsets come in increasing order).
    pub fn put(&mut self, key: &[u8], offset: Offset) {
        let digest = self.digest(key);
        self.entries.insert(digest, offset);
    }

    /// The latest offset seen for `key`.
    pub fn get(&self, key: &[u8]) -> Option<Offset> {
        self.entries.get(&self.digest(key)).copied()
    }

    /// Whether `more` new keys would still fit.
    pub fn has_room_for(&self, more: usize) -> bool {
        self.entries.len().saturating_add(more) <= self.max_entries
    }

    /// Forgets every key, keeping the bound.
    pub fn clear(&mut self) {
        self.entries.clear();
        self.latest_offset = Offset::UNKNOWN;
    }

    pub fn is_empty(&self) -> bool {
        self.entries.is_empty()
    }

    pub fn len(&self) -> usize {
        self.entries.len()
    }

    pub fn max_entries(&self) -> usize {
        self.max_entries
    }

    pub fn latest_offset(&self) -> Offset {
        self.latest_offset
    }

    pub fn update_latest_offset(&mut self, offset: Offset) {
        self.latest_offset = self.latest_offset.max(offset);
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::off;

    #[test]
    fn keeps_the_latest_offset_per_key() {
        let mut map = OffsetMap::new(1024 * 1024);
        map.put(b"a", off(1));
        map.put(b"b", off(2));
        map.put(b"a", off(7));
        assert_eq!(map.get(b"a"), Some(off(7)));
        assert_eq!(map.get(b"b"), Some(off(2)));
        assert_eq!(map.get(b"c"), None);
        assert_eq!(map.len(), 2);
        map.update_latest_offset(off(9));
        map.update_latest_offset(off(3));
        assert_eq!(map.latest_offset(), off(9));
    }

    #[test]
    fn is_bounded_by_the_buffer_size() {
        // 240 bytes = 10 slots, 9 entries at load factor 0.9.
        let map = OffsetMap::new(240);
        assert_eq!(map.max_entries(), 9);
        assert!(map.has_room_for(9));
        assert!(!map.has_room_for(10));
        assert_eq!(OffsetMap::new(0).max_entries(), 1, "always room for one");
    }
}
