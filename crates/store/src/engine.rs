//! The record engine: an unlocked [`Store`] and the generic record layer over it (get, list,
//! index lookups and ranges, re-indexing) for any [`Record`]. Writes (`put`, `delete`,
//! [`Store::commit`]) are in `batch.rs`: a record, its index summary, its change-log entry and
//! its outbox op commit in one atomic sled batch. The key layout and the record codec are in `layout.rs`; the
//! keyring (create, open, unlock, users) in `keyring.rs`; the outbox reads in `outbox.rs`.

use std::path::{Path, PathBuf};
use std::sync::{Mutex, MutexGuard, RwLock, RwLockReadGuard, RwLockWriteGuard};

use reintegra_core::hlc::Hlc;
use reintegra_core::ids::{DeviceId, UserId};
use reintegra_core::op::EntityKind;
use serde::de::DeserializeOwned;
use serde::Serialize;
use uuid::Uuid;
use zeroize::Zeroizing;

use crate::crypto::Keys;
use crate::error::{guarded, Error, Result};
use crate::index::{self, Entry, IndexKey, Indexed, MemIndex};
use crate::layout::{
    be_u64, node_of, open_record, read_fixed, record_key, record_prefix, summary_key, META_DEVICE,
    META_HLC, META_PULL, META_SEQ,
};

/// Below this many records, opening them on one thread is faster than starting others.
const PARALLEL_LOAD_MIN: usize = 256;

/// A record the store can keep: the domain types in `domain.rs` (the trait is sealed:
/// its index entries are the crate's business). Other crates write records through a
/// [`crate::Batch`] and [`Store::commit`].
pub trait Record: Indexed + Serialize + DeserializeOwned + Send {
    const KIND: EntityKind;
    fn record_id(&self) -> Uuid;
}

/// What a save did.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Saved {
    /// The op written to the outbox, or None if the record was unchanged (nothing written).
    pub op_id: Option<Uuid>,
    pub hlc: Hlc,
}

pub(crate) struct WriteState {
    pub(crate) hlc: Hlc,
    /// The last local sequence number (outbox and change log).
    pub(crate) seq: u64,
    /// The server sequence pulled up to: the `base_seq` of new ops.
    pub(crate) pulled: u64,
}

/// An unlocked store. Dropping it (or [`Store::lock`]) zeroizes the keys.
pub struct Store {
    pub(crate) db: sled::Db,
    pub(crate) dir: PathBuf,
    pub(crate) keys: Keys,
    index: RwLock<MemIndex>,
    user: UserId,
    /// Changes only at a re-enrollment (`identity.rs`), under the write lock.
    device: RwLock<DeviceId>,
    write: Mutex<WriteState>,
    /// Wrong passphrases in a row before this unlock (for the sign-in audit entry).
    failed_unlocks_before: std::sync::atomic::AtomicU32,
    /// Unlocked with a passphrase an admin set, which the user must now change.
    first_passphrase: std::sync::atomic::AtomicBool,
}

impl std::fmt::Debug for Store {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Store")
            .field("dir", &self.dir)
            .field("user", &self.user)
            .finish()
    }
}

impl Store {
    /// The unlocked store on `db`, once the keyring has given `user`'s keys and the indexes are
    /// loaded: reads the device, the clock and the sequences.
    pub(crate) fn unlocked(
        db: sled::Db,
        dir: PathBuf,
        keys: Keys,
        index: MemIndex,
        user: UserId,
    ) -> Result<Store> {
        let (device, hlc, seq, pulled) = guarded(|| {
            let device =
                DeviceId::new(Uuid::from_bytes(read_fixed(&db, META_DEVICE, "device id")?));
            let hlc = match db.get(META_HLC)? {
                // The node is this device's even if the clock came from a restored backup.
                Some(b) => Hlc {
                    node: node_of(device),
                    ..Hlc::from_bytes(
                        b.as_ref()
                            .try_into()
                            .map_err(|_| Error::Corrupt("bad clock".into()))?,
                    )
                },
                None => Hlc::zero(node_of(device)),
            };
            let seq = match db.get(META_SEQ)? {
                Some(b) => be_u64(&b)?,
                None => 0,
            };
            let pulled = match db.get(META_PULL)? {
                Some(b) => be_u64(&b)?,
                None => 0,
            };
            Ok((device, hlc, seq, pulled))
        })?;
        Ok(Store {
            db,
            dir,
            index: RwLock::new(index),
            keys,
            user,
            device: RwLock::new(device),
            write: Mutex::new(WriteState { hlc, seq, pulled }),
            failed_unlocks_before: Default::default(),
            first_passphrase: Default::default(),
        })
    }

    pub fn dir(&self) -> &Path {
        &self.dir
    }

    /// The user whose passphrase unlocked the store: the author of every op of this session.
    pub fn user(&self) -> UserId {
        self.user
    }

    pub fn device(&self) -> DeviceId {
        *self.device.read().unwrap_or_else(|p| p.into_inner())
    }

    pub(crate) fn set_device(&self, device: DeviceId) {
        *self.device.write().unwrap_or_else(|p| p.into_inner()) = device;
    }

    /// How many wrong passphrases (any login) were typed since the last successful unlock.
    pub fn failed_unlocks_before(&self) -> u32 {
        self.failed_unlocks_before
            .load(std::sync::atomic::Ordering::Relaxed)
    }

    /// Whether this session was opened with a first passphrase set by an admin.
    pub fn unlocked_with_first_passphrase(&self) -> bool {
        self.first_passphrase
            .load(std::sync::atomic::Ordering::Relaxed)
    }

    pub(crate) fn set_first_passphrase(&self, first: bool) {
        self.first_passphrase
            .store(first, std::sync::atomic::Ordering::Relaxed);
    }

    pub(crate) fn set_failed_unlocks_before(&self, failures: u32) {
        self.failed_unlocks_before
            .store(failures, std::sync::atomic::Ordering::Relaxed);
    }

    pub(crate) fn write_lock(&self) -> MutexGuard<'_, WriteState> {
        self.write.lock().unwrap_or_else(|p| p.into_inner())
    }

    pub(crate) fn index_read(&self) -> RwLockReadGuard<'_, MemIndex> {
        self.index.read().unwrap_or_else(|p| p.into_inner())
    }

    pub(crate) fn index_write(&self) -> RwLockWriteGuard<'_, MemIndex> {
        self.index.write().unwrap_or_else(|p| p.into_inner())
    }

    /// The stored index entries of a record (empty if it has none).
    pub(crate) fn read_summary(&self, key: &[u8]) -> Result<Vec<Entry>> {
        match self.db.get(key)? {
            Some(v) => index::decode(&v),
            None => Ok(Vec::new()),
        }
    }

    /// Reads and opens a record: its change sequence and JSON bytes.
    pub(crate) fn read_raw(&self, key: &[u8]) -> Result<Option<(u64, Zeroizing<Vec<u8>>)>> {
        match self.db.get(key)? {
            Some(sealed) => Ok(Some(open_record(&self.keys, key, &sealed)?)),
            None => Ok(None),
        }
    }

    fn decode<R: Record>(json: &[u8]) -> Result<R> {
        serde_json::from_slice(json)
            .map_err(|e| Error::Corrupt(format!("a stored record does not read back: {e}")))
    }

    /// Recomputes the index entries of every record of a kind (after a release adds an index),
    /// without touching the records or writing ops. Returns how many records changed entries.
    pub(crate) fn reindex<R: Record>(&self) -> Result<usize> {
        guarded(|| {
            let _writer = self.write_lock();
            let mut changed = 0;
            for record in self.list::<R>()? {
                let id = record.record_id();
                let skey = summary_key(R::KIND, id);
                let old = self.read_summary(&skey)?;
                let new = index::entries(&self.keys, &record.index_keys());
                if old != new {
                    self.db.insert(skey, index::encode(&new))?;
                    let mut ix = self.index_write();
                    ix.remove(id, &old);
                    ix.add(id, &new);
                    changed += 1;
                }
            }
            self.db.flush()?;
            Ok(changed)
        })
    }

    /// A small meta value of the store (None when unset).
    pub(crate) fn meta(&self, key: &[u8]) -> Result<Option<Vec<u8>>> {
        Ok(self.db.get(key)?.map(|v| v.to_vec()))
    }

    pub(crate) fn set_meta(&self, key: &[u8], value: &[u8]) -> Result<()> {
        self.db.insert(key, value)?;
        self.db.flush()?;
        Ok(())
    }

    /// A record by id.
    pub(crate) fn get<R: Record>(&self, id: Uuid) -> Result<Option<R>> {
        guarded(|| match self.read_raw(&record_key(R::KIND, id))? {
            Some((_, bytes)) => Ok(Some(Self::decode(&bytes)?)),
            None => Ok(None),
        })
    }

    /// Every record of a kind, by id (UUIDv7: creation order).
    pub(crate) fn list<R: Record>(&self) -> Result<Vec<R>> {
        guarded(|| {
            let mut out = Vec::new();
            for item in self.db.scan_prefix(record_prefix(R::KIND)) {
                let (key, sealed) = item?;
                let (_, json) = open_record(&self.keys, &key, &sealed)?;
                out.push(Self::decode(&json)?);
            }
            Ok(out)
        })
    }

    /// How many records of a kind exist.
    pub(crate) fn count<R: Record>(&self) -> usize {
        self.db.scan_prefix(record_prefix(R::KIND)).count()
    }

    /// Records whose index entry equals `key` (a hashed or ordered index key), in id order
    /// (ordered: in value order).
    pub(crate) fn lookup<R: Record>(&self, key: &IndexKey) -> Result<Vec<R>> {
        let ids = match key {
            IndexKey::Hashed { index, value } => self
                .index_read()
                .hashed(*index, self.keys.index_hash(*index, value)),
            IndexKey::Ordered { index, value } => self.index_read().range(*index, value, value),
            IndexKey::Grouped {
                index,
                group,
                value,
            } => {
                let at = self.keys.grouped_value(*index, group, value);
                self.index_read().range(*index, &at, &at)
            }
        };
        guarded(|| self.load_all(ids))
    }

    /// Records of `group` whose grouped index value lies in `from..=to`, in value order.
    pub(crate) fn range_in_group<R: Record>(
        &self,
        index: u8,
        group: &[u8],
        from: &[u8],
        to: &[u8],
    ) -> Result<Vec<R>> {
        let (from, to) = (
            self.keys.grouped_value(index, group, from),
            self.keys.grouped_value(index, group, to),
        );
        let ids = self.index_read().range(index, &from, &to);
        guarded(|| self.load_all(ids))
    }

    /// Records whose ordered index value lies in `from..=to`, in index order.
    pub(crate) fn range<R: Record>(&self, index: u8, from: &[u8], to: &[u8]) -> Result<Vec<R>> {
        let ids = self.index_read().range(index, from, to);
        guarded(|| self.load_all(ids))
    }

    /// Reads the records of `ids` in order. Many records are opened (decrypted, inflated,
    /// decoded) on every core: that is where the time of a large lookup goes.
    fn load_all<R: Record>(&self, ids: Vec<Uuid>) -> Result<Vec<R>> {
        let threads = std::thread::available_parallelism().map_or(1, |n| n.get().min(4));
        if threads < 2 || ids.len() < PARALLEL_LOAD_MIN {
            return self.load_some(&ids);
        }
        let per_thread = ids.len().div_ceil(threads);
        std::thread::scope(|scope| {
            let parts: Vec<_> = ids
                .chunks(per_thread)
                .map(|part| scope.spawn(move || self.load_some::<R>(part)))
                .collect();
            let mut out = Vec::with_capacity(ids.len());
            for part in parts {
                let records = part
                    .join()
                    .map_err(|_| Error::Corrupt("a record could not be read".into()))??;
                out.extend(records);
            }
            Ok(out)
        })
    }

    fn load_some<R: Record>(&self, ids: &[Uuid]) -> Result<Vec<R>> {
        let mut out = Vec::with_capacity(ids.len());
        for id in ids {
            // An index entry without its record would be a bug; skip rather than fail reads.
            if let Some((_, bytes)) = self.read_raw(&record_key(R::KIND, *id))? {
                out.push(Self::decode(&bytes)?);
            }
        }
        Ok(out)
    }

    /// Bytes the store takes on disk.
    pub fn size_on_disk(&self) -> Result<u64> {
        Ok(self.db.size_on_disk()?)
    }

    /// Flushes everything to disk (saves already do; this is for tests and shutdown).
    pub fn flush(&self) -> Result<()> {
        self.db.flush()?;
        Ok(())
    }
}
