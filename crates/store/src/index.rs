//! Secondary indexes, kept in memory after unlock.
//!
//! On disk each record has one *index summary* next to it (`s` + kind + id, written in the
//! same transaction as the record): its index entries, where an equality entry is a 16-byte
//! BLAKE3 keyed hash (key derived from the data key) of the indexed value, never the value,
//! and a range entry (a follow-up's due date) is the raw, non-personal value. Unlock scans the
//! summaries (keys in id order, UUIDv7: appended, cheap to write) and builds the in-memory
//! maps; lookups never touch plaintext on disk. One key per record instead of one key per
//! (indexed value, record) matters with sled: scattered small keys rewrite many tree nodes
//! and tripled the store's size on disk.

use std::collections::{BTreeSet, HashMap};
use std::hash::{BuildHasherDefault, Hasher};

use uuid::Uuid;

use crate::crypto::Keys;
use crate::error::{Error, Result};
use crate::layout::{summary_id, P_SUMMARY};

const TAG_HASHED: u8 = 0;
const TAG_ORDERED: u8 = 1;

/// The index entries of a record: the supertrait of [`crate::Record`]. It and [`IndexKey`] are
/// `pub` in this private module and not re-exported, so other crates can use `Record` as a
/// bound but cannot name them, implement `Record` or build index keys (a sealed trait; a
/// `pub(crate)` type here would trip `private_interfaces`, since `Record` is public).
pub trait Indexed {
    /// The secondary index entries of this record (recomputed at every save).
    fn index_keys(&self) -> Vec<IndexKey> {
        Vec::new()
    }
}

/// A secondary index entry of a record, as [`Indexed`] implementations declare it.
#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord)]
pub enum IndexKey {
    /// Looked up by equality; stored as a keyed hash (use for anything personal).
    Hashed { index: u8, value: Vec<u8> },
    /// Scanned by range; stored as is, so it must carry no personal data (e.g. a due date) and
    /// have the same width for every entry of the index.
    Ordered { index: u8, value: Vec<u8> },
    /// Scanned by range within a group (e.g. a user's follow-ups by due date): stored as the
    /// group's keyed hash followed by `value`, so the group stays opaque on disk.
    Grouped {
        index: u8,
        group: Vec<u8>,
        value: Vec<u8>,
    },
}

/// One stored index entry.
#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub(crate) enum Entry {
    Hashed(u8, [u8; 16]),
    Ordered(u8, Vec<u8>),
}

/// The stored entries of a record's index keys (sorted, without duplicates).
pub(crate) fn entries(keys: &Keys, index_keys: &[IndexKey]) -> Vec<Entry> {
    let mut out: Vec<Entry> = index_keys
        .iter()
        .map(|k| match k {
            IndexKey::Hashed { index, value } => {
                Entry::Hashed(*index, keys.index_hash(*index, value))
            }
            IndexKey::Ordered { index, value } => Entry::Ordered(*index, value.clone()),
            IndexKey::Grouped {
                index,
                group,
                value,
            } => Entry::Ordered(*index, keys.grouped_value(*index, group, value)),
        })
        .collect();
    out.sort();
    out.dedup();
    out
}

pub(crate) fn encode(entries: &[Entry]) -> Vec<u8> {
    let mut out = Vec::with_capacity(entries.len() * 18);
    for e in entries {
        match e {
            Entry::Hashed(index, hash) => {
                out.extend_from_slice(&[TAG_HASHED, *index]);
                out.extend_from_slice(hash);
            }
            Entry::Ordered(index, value) => {
                let len = u8::try_from(value.len()).unwrap_or(u8::MAX);
                out.extend_from_slice(&[TAG_ORDERED, *index, len]);
                out.extend_from_slice(&value[..usize::from(len)]);
            }
        }
    }
    out
}

pub(crate) fn decode(mut bytes: &[u8]) -> Result<Vec<Entry>> {
    let bad = || Error::Corrupt("a damaged index summary".into());
    let mut out = Vec::new();
    while let Some((&tag, rest)) = bytes.split_first() {
        let (&index, rest) = rest.split_first().ok_or_else(bad)?;
        match tag {
            TAG_HASHED => {
                let hash: [u8; 16] = rest
                    .get(..16)
                    .ok_or_else(bad)?
                    .try_into()
                    .map_err(|_| bad())?;
                out.push(Entry::Hashed(index, hash));
                bytes = &rest[16..];
            }
            TAG_ORDERED => {
                let (&len, rest) = rest.split_first().ok_or_else(bad)?;
                let value = rest.get(..usize::from(len)).ok_or_else(bad)?;
                out.push(Entry::Ordered(index, value.to_vec()));
                bytes = &rest[usize::from(len)..];
            }
            _ => return Err(bad()),
        }
    }
    Ok(out)
}

/// The map keys are already uniform keyed hashes: use their first bytes, no rehashing.
#[derive(Default)]
struct PassThrough(u64);

impl Hasher for PassThrough {
    fn finish(&self) -> u64 {
        self.0
    }
    fn write(&mut self, bytes: &[u8]) {
        for chunk in bytes.chunks(8) {
            let mut b = [0u8; 8];
            b[..chunk.len()].copy_from_slice(chunk);
            self.0 = self.0.rotate_left(5) ^ u64::from_le_bytes(b);
        }
    }
    fn write_u8(&mut self, n: u8) {
        self.0 = self.0.rotate_left(5) ^ u64::from(n);
    }
}

type FastMap<K, V> = HashMap<K, V, BuildHasherDefault<PassThrough>>;

/// The indexes of an unlocked store.
#[derive(Default)]
pub(crate) struct MemIndex {
    /// (index, keyed hash) → ids, sorted.
    hashed: FastMap<(u8, [u8; 16]), Vec<Uuid>>,
    /// (index, value, id), in order.
    ordered: BTreeSet<(u8, Vec<u8>, Uuid)>,
}

impl MemIndex {
    /// Builds the indexes from the summaries on disk.
    pub(crate) fn load(db: &sled::Db) -> Result<MemIndex> {
        let mut ix = MemIndex::default();
        for item in db.scan_prefix([P_SUMMARY]) {
            let (key, value) = item?;
            let id = summary_id(&key)?;
            // Summaries come in (kind, id) order and an index holds one kind: ids arrive sorted.
            for e in decode(&value)? {
                match e {
                    Entry::Hashed(index, hash) => {
                        let ids = ix.hashed.entry((index, hash)).or_default();
                        if ids.last().is_some_and(|last| *last >= id) {
                            if let Err(at) = ids.binary_search(&id) {
                                ids.insert(at, id);
                            }
                        } else {
                            ids.push(id);
                        }
                    }
                    Entry::Ordered(index, value) => {
                        ix.ordered.insert((index, value, id));
                    }
                }
            }
        }
        Ok(ix)
    }

    pub(crate) fn add(&mut self, id: Uuid, entries: &[Entry]) {
        for e in entries {
            match e {
                Entry::Hashed(index, hash) => {
                    let ids = self.hashed.entry((*index, *hash)).or_default();
                    if let Err(at) = ids.binary_search(&id) {
                        ids.insert(at, id);
                    }
                }
                Entry::Ordered(index, value) => {
                    self.ordered.insert((*index, value.clone(), id));
                }
            }
        }
    }

    pub(crate) fn remove(&mut self, id: Uuid, entries: &[Entry]) {
        for e in entries {
            match e {
                Entry::Hashed(index, hash) => {
                    if let Some(ids) = self.hashed.get_mut(&(*index, *hash)) {
                        if let Ok(at) = ids.binary_search(&id) {
                            ids.remove(at);
                        }
                        if ids.is_empty() {
                            self.hashed.remove(&(*index, *hash));
                        }
                    }
                }
                Entry::Ordered(index, value) => {
                    self.ordered.remove(&(*index, value.clone(), id));
                }
            }
        }
    }

    pub(crate) fn hashed(&self, index: u8, hash: [u8; 16]) -> Vec<Uuid> {
        self.hashed.get(&(index, hash)).cloned().unwrap_or_default()
    }

    /// Ids whose value of an ordered index lies in `from..=to`, in (value, id) order.
    pub(crate) fn range(&self, index: u8, from: &[u8], to: &[u8]) -> Vec<Uuid> {
        if from > to {
            return Vec::new();
        }
        self.ordered
            .range((index, from.to_vec(), Uuid::nil())..=(index, to.to_vec(), Uuid::max()))
            .map(|(_, _, id)| *id)
            .collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn summaries_round_trip_and_reject_damage() {
        let e = vec![
            Entry::Hashed(1, [7; 16]),
            Entry::Ordered(7, vec![1, 2, 3, 4]),
            Entry::Hashed(4, [0; 16]),
        ];
        let bytes = encode(&e);
        assert_eq!(decode(&bytes).unwrap(), e);
        for cut in 1..bytes.len() {
            let _ = decode(&bytes[..cut]); // never panics
        }
        assert!(decode(&[9, 1]).is_err());
    }
}
