//! The record engine: sealed records, keyed-hash indexes, the outbox, the change log and the
//! keyring, all in one sled tree so that a record and its outbox op commit in one transaction.
//! The key layout and the record codec are in `layout.rs`.

use std::path::{Path, PathBuf};
use std::sync::{Mutex, MutexGuard, RwLock, RwLockReadGuard, RwLockWriteGuard};

use reintegra_core::hlc::Hlc;
use reintegra_core::ids::{DeviceId, UserId};
use reintegra_core::op::{EntityKind, Op};
use serde::de::DeserializeOwned;
use serde::Serialize;
use uuid::Uuid;
use zeroize::Zeroizing;

use crate::batch::Batch;
use crate::crypto::{random_bytes, random_secret, KdfParams, KeySlot, Keys};
use crate::error::{guarded, Error, Result};
use crate::index::{self, Entry, IndexKey, MemIndex};
use crate::layout::{
    be_u64, change_seq, node_of, open_record, opid_key, outbox_key, parse_change_entry,
    parse_outbox_key, read_fixed, read_schema, record_key, record_prefix, slot_key as slot_key_of,
    summary_key, META_DEVICE, META_HLC, META_PULL, META_SCHEMA, META_SEQ, META_SLOT_SALT,
    META_STORE_ID, OUTBOX_END, P_CHANGE, P_OUTBOX, P_SLOT, SCHEMA_VERSION,
};

/// Below this many records, opening them on one thread is faster than starting others.
const PARALLEL_LOAD_MIN: usize = 256;

/// Shortest passphrase accepted for a user.
pub const MIN_PASSPHRASE: usize = 8;

/// A record the store can keep. Implemented for the domain types in [`crate::domain`].
pub trait Record: Serialize + DeserializeOwned + Send {
    const KIND: EntityKind;
    fn record_id(&self) -> Uuid;
    /// The secondary index entries of this record (recomputed at every save).
    fn index_keys(&self) -> Vec<IndexKey> {
        Vec::new()
    }
}

/// An operation waiting in the outbox.
#[derive(Clone, Debug, PartialEq)]
pub struct OutboxEntry {
    /// Position in the outbox (commit order).
    pub seq: u64,
    pub op: Op,
}

/// One entry of the "recent changes" list.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct RecentChange {
    pub seq: u64,
    pub entity: EntityKind,
    pub id: Uuid,
}

/// What a save did.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Saved {
    /// The op written to the outbox, or None if the record was unchanged (nothing written).
    pub op_id: Option<Uuid>,
    pub hlc: Hlc,
}

/// Whether a directory holds a sled database (its `db` file).
fn looks_like_store(dir: &Path) -> bool {
    dir.join("db").is_file() && dir.join("conf").is_file()
}

fn dir_is_empty(dir: &Path) -> Result<bool> {
    match std::fs::read_dir(dir) {
        Ok(mut entries) => Ok(entries.next().is_none()),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(true),
        Err(e) => Err(e.into()),
    }
}

/// Opens the sled database at `dir`, waiting briefly if it is still held: a handle that was just
/// dropped in this process releases its file lock only when sled's background flush ends.
pub(crate) fn open_sled(dir: &Path) -> Result<sled::Db> {
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(2);
    loop {
        match open_sled_once(dir) {
            Err(Error::InUse(_)) if std::time::Instant::now() < deadline => {
                std::thread::sleep(std::time::Duration::from_millis(25));
            }
            other => return other,
        }
    }
}

/// One try. sled may panic on some damaged files: that becomes an error.
fn open_sled_once(dir: &Path) -> Result<sled::Db> {
    let config = sled::Config::new()
        .path(dir)
        .mode(sled::Mode::LowSpace)
        .cache_capacity(64 * 1024 * 1024);
    let opened = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| config.open()));
    match opened {
        Ok(Ok(db)) => Ok(db),
        Ok(Err(e)) => Err(Error::from_sled(e, dir)),
        Err(_) => Err(Error::Corrupt(
            "the storage engine could not read its files".into(),
        )),
    }
}

fn normalize_login(login: &str) -> String {
    login.trim().to_lowercase()
}

fn slot_key(db: &sled::Db, login: &str) -> Result<Vec<u8>> {
    let salt: [u8; 32] = read_fixed(db, META_SLOT_SALT, "key slot salt")?;
    Ok(slot_key_with(&salt, login))
}

/// The key of a login's slot: a keyed hash (random per-store salt) of the normalized login.
pub(crate) fn slot_key_with(salt: &[u8; 32], login: &str) -> Vec<u8> {
    slot_key_of(blake3::keyed_hash(salt, normalize_login(login).as_bytes()).as_bytes())
}

fn slot_aad(db: &sled::Db, slot_key: &[u8]) -> Result<Vec<u8>> {
    let store_id: [u8; 16] = read_fixed(db, META_STORE_ID, "store id")?;
    Ok(slot_aad_with(&store_id, slot_key))
}

pub(crate) fn slot_aad_with(store_id: &[u8; 16], slot_key: &[u8]) -> Vec<u8> {
    let mut aad = b"reintegra key slot v1".to_vec();
    aad.extend_from_slice(store_id);
    aad.extend_from_slice(slot_key);
    aad
}

fn read_slot(db: &sled::Db, key: &[u8], login: &str) -> Result<KeySlot> {
    let raw = db
        .get(key)?
        .ok_or_else(|| Error::UnknownUser(login.trim().to_string()))?;
    serde_json::from_slice(&raw).map_err(|_| Error::Corrupt("a key slot is damaged".into()))
}

fn check_passphrase(passphrase: &str) -> Result<()> {
    if passphrase.chars().count() < MIN_PASSPHRASE {
        return Err(Error::WeakPassphrase {
            min: MIN_PASSPHRASE,
        });
    }
    Ok(())
}

/// What a new store needs.
#[derive(Clone, Debug)]
pub struct NewStore<'a> {
    /// This device (made by the app at enrollment).
    pub device: DeviceId,
    /// The first user's login and domain id.
    pub login: &'a str,
    pub user_id: UserId,
    pub passphrase: &'a str,
    /// Use [`KdfParams::RECOMMENDED`] for real users.
    pub kdf: KdfParams,
}

/// An opened store whose data key is not available yet: only unlocking and user management
/// that needs a passphrase are possible.
pub struct LockedStore {
    db: sled::Db,
    dir: PathBuf,
    schema: u32,
    /// The indexes, loaded in the background from the moment the store is opened (they are
    /// keyed hashes: no key is needed to load them), so unlocking only waits for Argon2id.
    preload: Mutex<Option<std::thread::JoinHandle<Result<MemIndex>>>>,
}

impl Drop for LockedStore {
    fn drop(&mut self) {
        // Let the background load finish so the files are released when this returns.
        if let Some(h) = self
            .preload
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .take()
        {
            let _ = h.join();
        }
    }
}

impl std::fmt::Debug for LockedStore {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("LockedStore")
            .field("dir", &self.dir)
            .field("schema", &self.schema)
            .finish()
    }
}

impl LockedStore {
    /// Opens the store in `dir` (without unlocking it). Refuses a store of a newer schema, a
    /// directory that holds something else, and damaged files, with a clear error.
    pub fn open(dir: impl AsRef<Path>) -> Result<LockedStore> {
        let dir = dir.as_ref().to_path_buf();
        if !dir.exists() || dir_is_empty(&dir)? {
            return Err(Error::NotFound(dir));
        }
        if dir.join("db").is_file() && !dir.join("conf").is_file() {
            return Err(Error::Corrupt(
                "the storage engine's configuration file is missing".into(),
            ));
        }
        if !looks_like_store(&dir) {
            return Err(Error::NotAStore(dir));
        }
        let db = open_sled(&dir)?;
        let schema = guarded(|| {
            if db.get(META_STORE_ID)?.is_none() {
                return Err(Error::NotAStore(dir.clone()));
            }
            read_schema(&db)
        })?;
        if schema > SCHEMA_VERSION {
            return Err(Error::NewerSchema {
                found: schema,
                supported: SCHEMA_VERSION,
            });
        }
        Ok(LockedStore::new(db, dir, schema))
    }

    /// Creates a new store in `dir` (absent or empty) with its first user, and unlocks it.
    pub fn create(dir: impl AsRef<Path>, new: NewStore<'_>) -> Result<Store> {
        let dir = dir.as_ref().to_path_buf();
        if !dir_is_empty(&dir)? {
            return Err(if looks_like_store(&dir) {
                Error::AlreadyExists(dir)
            } else {
                Error::NotAStore(dir)
            });
        }
        check_passphrase(new.passphrase)?;
        let data_key = random_secret();
        std::fs::create_dir_all(&dir)?;
        let db = open_sled(&dir)?;
        let store_id: [u8; 16] = random_bytes();
        let salt: [u8; 32] = random_bytes();
        let mut batch = sled::Batch::default();
        batch.insert(META_STORE_ID, &store_id);
        batch.insert(META_SLOT_SALT, &salt);
        batch.insert(META_SCHEMA, &SCHEMA_VERSION.to_be_bytes());
        batch.insert(META_DEVICE, new.device.as_uuid().as_bytes());
        batch.insert(META_SEQ, &0u64.to_be_bytes());
        let skey = slot_key_with(&salt, new.login);
        let aad = slot_aad_with(&store_id, &skey);
        let slot = KeySlot::wrap(
            &data_key,
            new.passphrase,
            new.kdf,
            new.user_id.as_uuid(),
            &aad,
        )?;
        batch.insert(
            skey,
            serde_json::to_vec(&slot).map_err(|e| Error::Engine(e.to_string()))?,
        );
        db.apply_batch(batch)?;
        db.flush()?;
        LockedStore::new(db, dir, SCHEMA_VERSION).unlock(new.login, new.passphrase)
    }

    fn new(db: sled::Db, dir: PathBuf, schema: u32) -> LockedStore {
        let preload = (schema == SCHEMA_VERSION).then(|| {
            let db = db.clone();
            std::thread::spawn(move || guarded(|| MemIndex::load(&db)))
        });
        LockedStore {
            db,
            dir,
            schema,
            preload: Mutex::new(preload),
        }
    }

    fn without_preload(db: sled::Db, dir: PathBuf) -> LockedStore {
        LockedStore {
            db,
            dir,
            schema: SCHEMA_VERSION,
            preload: Mutex::new(None),
        }
    }

    /// The indexes: the background load if there is one, else loaded now.
    fn take_index(&self) -> Result<MemIndex> {
        let handle = self
            .preload
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .take();
        match handle {
            Some(h) => h
                .join()
                .unwrap_or_else(|_| Err(Error::Corrupt("the indexes could not be read".into()))),
            None => guarded(|| MemIndex::load(&self.db)),
        }
    }

    /// The schema version found on disk (before any migration).
    pub fn schema_version(&self) -> u32 {
        self.schema
    }

    pub fn dir(&self) -> &Path {
        &self.dir
    }

    /// Unlocks with a user's passphrase. A wrong passphrase or unknown login is an error and
    /// writes nothing. An older schema is migrated here, in one atomic step.
    pub fn unlock(&self, login: &str, passphrase: &str) -> Result<Store> {
        let (data_key, user_id) = guarded(|| {
            let skey = slot_key(&self.db, login)?;
            let slot = read_slot(&self.db, &skey, login)?;
            let aad = slot_aad(&self.db, &skey)?;
            Ok((slot.unwrap_key(passphrase, &aad)?, slot.user_id))
        })?;
        let keys = Keys::new(data_key);
        let schema = guarded(|| read_schema(&self.db))?;
        if schema < SCHEMA_VERSION {
            crate::migrate::migrate(&self.db, &keys, schema, UserId::new(user_id))?;
        }
        let index = self.take_index()?;
        let (device, hlc, seq, pulled) = guarded(|| {
            let device = DeviceId::new(Uuid::from_bytes(read_fixed(
                &self.db,
                META_DEVICE,
                "device id",
            )?));
            let hlc = match self.db.get(META_HLC)? {
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
            let seq = match self.db.get(META_SEQ)? {
                Some(b) => be_u64(&b)?,
                None => 0,
            };
            let pulled = match self.db.get(META_PULL)? {
                Some(b) => be_u64(&b)?,
                None => 0,
            };
            Ok((device, hlc, seq, pulled))
        })?;
        Ok(Store {
            db: self.db.clone(),
            dir: self.dir.clone(),
            index: RwLock::new(index),
            keys,
            user: UserId::new(user_id),
            device,
            write: Mutex::new(WriteState { hlc, seq, pulled }),
        })
    }

    /// Changes a user's passphrase: only that user's wrapped key is rewritten (no data is
    /// re-encrypted). The old passphrase must be right.
    pub fn change_passphrase(
        &self,
        login: &str,
        old: &str,
        new: &str,
        kdf: KdfParams,
    ) -> Result<()> {
        check_passphrase(new)?;
        let skey = slot_key(&self.db, login)?;
        let slot = read_slot(&self.db, &skey, login)?;
        let aad = slot_aad(&self.db, &skey)?;
        let key = slot.unwrap_key(old, &aad)?;
        let new_slot = KeySlot::wrap(&key, new, kdf, slot.user_id, &aad)?;
        self.db.insert(
            skey,
            serde_json::to_vec(&new_slot).map_err(|e| Error::Engine(e.to_string()))?,
        )?;
        self.db.flush()?;
        Ok(())
    }

    /// How many logins can unlock this store.
    pub fn user_count(&self) -> usize {
        self.db.scan_prefix([P_SLOT]).count()
    }
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
    device: DeviceId,
    write: Mutex<WriteState>,
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
    /// Forgets the keys (zeroized) and returns the store locked.
    pub fn lock(self) -> LockedStore {
        LockedStore::without_preload(self.db.clone(), self.dir.clone())
    }

    pub fn dir(&self) -> &Path {
        &self.dir
    }

    /// A locked handle on the same database, for when this store is still shared (its keys
    /// are zeroized when the last handle drops).
    pub fn relock(&self) -> LockedStore {
        LockedStore::without_preload(self.db.clone(), self.dir.clone())
    }

    /// The user whose passphrase unlocked the store: the author of every op of this session.
    pub fn user(&self) -> UserId {
        self.user
    }

    pub fn device(&self) -> DeviceId {
        self.device
    }

    pub(crate) fn write_lock(&self) -> MutexGuard<'_, WriteState> {
        self.write.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// Lets another login unlock this store with its own passphrase.
    pub fn add_user(
        &self,
        login: &str,
        user_id: UserId,
        passphrase: &str,
        kdf: KdfParams,
    ) -> Result<()> {
        check_passphrase(passphrase)?;
        let skey = slot_key(&self.db, login)?;
        if self.db.get(&skey)?.is_some() {
            return Err(Error::UserExists(login.trim().to_string()));
        }
        let aad = slot_aad(&self.db, &skey)?;
        let slot = KeySlot::wrap(
            self.keys.data_key(),
            passphrase,
            kdf,
            user_id.as_uuid(),
            &aad,
        )?;
        self.db.insert(
            skey,
            serde_json::to_vec(&slot).map_err(|e| Error::Engine(e.to_string()))?,
        )?;
        self.db.flush()?;
        Ok(())
    }

    /// Removes a login's key slot (it can no longer unlock the store). The last one stays.
    pub fn remove_user(&self, login: &str) -> Result<()> {
        let skey = slot_key(&self.db, login)?;
        if self.db.get(&skey)?.is_none() {
            return Err(Error::UnknownUser(login.trim().to_string()));
        }
        if self.db.scan_prefix([P_SLOT]).count() <= 1 {
            return Err(Error::LastUser);
        }
        self.db.remove(skey)?;
        self.db.flush()?;
        Ok(())
    }

    /// See [`LockedStore::change_passphrase`].
    pub fn change_passphrase(
        &self,
        login: &str,
        old: &str,
        new: &str,
        kdf: KdfParams,
    ) -> Result<()> {
        LockedStore::without_preload(self.db.clone(), self.dir.clone())
            .change_passphrase(login, old, new, kdf)
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

    /// Saves a record (create or update). The record, its index entries, its change-log entry
    /// and its outbox op are committed in one sled transaction, flushed before returning.
    pub fn put<R: Record>(&self, record: &R) -> Result<Saved> {
        let mut batch = Batch::new();
        batch.put(record)?;
        Ok(self.commit(batch)?.pop().unwrap_or(Saved {
            op_id: None,
            hlc: self.write_lock().hlc,
        }))
    }

    /// Deletes a record (and its index entries), writing a delete op. `Ok(None)` when it did
    /// not exist.
    pub fn delete<R: Record>(&self, id: Uuid) -> Result<Option<Saved>> {
        let mut batch = Batch::new();
        batch.delete::<R>(id);
        let saved = self.commit(batch)?.pop();
        Ok(saved.filter(|s| s.op_id.is_some()))
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
    pub fn get<R: Record>(&self, id: Uuid) -> Result<Option<R>> {
        guarded(|| match self.read_raw(&record_key(R::KIND, id))? {
            Some((_, bytes)) => Ok(Some(Self::decode(&bytes)?)),
            None => Ok(None),
        })
    }

    /// Every record of a kind, by id (UUIDv7: creation order).
    pub fn list<R: Record>(&self) -> Result<Vec<R>> {
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
    pub fn count<R: Record>(&self) -> usize {
        self.db.scan_prefix(record_prefix(R::KIND)).count()
    }

    /// Records whose index entry equals `key` (a hashed or ordered index key), in id order
    /// (ordered: in value order).
    pub fn lookup<R: Record>(&self, key: &IndexKey) -> Result<Vec<R>> {
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
    pub fn range_in_group<R: Record>(
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
    pub fn range<R: Record>(&self, index: u8, from: &[u8], to: &[u8]) -> Result<Vec<R>> {
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

    /// The most recently changed records (newest first), at most `limit`.
    pub fn recent_changes(&self, limit: usize) -> Result<Vec<RecentChange>> {
        guarded(|| {
            let mut out = Vec::new();
            for item in self.db.scan_prefix([P_CHANGE]).rev().take(limit) {
                let (key, value) = item?;
                let seq = change_seq(&key)?;
                let (entity, id) = parse_change_entry(&value)?;
                out.push(RecentChange { seq, entity, id });
            }
            Ok(out)
        })
    }

    /// The first `limit` ops of the outbox, oldest first.
    pub fn outbox(&self, limit: usize) -> Result<Vec<OutboxEntry>> {
        self.outbox_after(0, limit)
    }

    /// The next `limit` ops of the outbox after position `seq` (exclusive), oldest first: to
    /// push in batches before the previous one is acknowledged.
    pub fn outbox_after(&self, seq: u64, limit: usize) -> Result<Vec<OutboxEntry>> {
        guarded(|| {
            let mut out = Vec::new();
            let from = outbox_key(seq.saturating_add(1), Uuid::nil());
            for item in self
                .db
                .range(from.as_slice()..OUTBOX_END.as_slice())
                .take(limit)
            {
                let (key, sealed) = item?;
                let (seq, _) = parse_outbox_key(&key)?;
                let plain = self.keys.open(&key, &sealed)?;
                let op: Op = serde_json::from_slice(&plain)
                    .map_err(|_| Error::Corrupt("an outbox entry does not read back".into()))?;
                out.push(OutboxEntry { seq, op });
            }
            Ok(out)
        })
    }

    /// How many ops wait in the outbox.
    pub fn outbox_len(&self) -> usize {
        self.db.scan_prefix([P_OUTBOX]).count()
    }

    /// Acknowledges every op up to and including `op_id` (the server has them): they are
    /// removed from the outbox. Returns how many were removed.
    pub fn ack_through(&self, op_id: Uuid) -> Result<usize> {
        guarded(|| {
            let _w = self.write_lock();
            let seq = match self.db.get(opid_key(op_id))? {
                Some(v) => be_u64(&v)?,
                None => return Err(Error::UnknownOp(op_id)),
            };
            let mut batch = sled::Batch::default();
            let mut n = 0;
            let hi = outbox_key(seq, Uuid::max());
            for item in self.db.range([P_OUTBOX].as_slice()..=hi.as_slice()) {
                let (key, _) = item?;
                let (_, id) = parse_outbox_key(&key)?;
                batch.remove(key);
                batch.remove(&opid_key(id));
                n += 1;
            }
            self.db.apply_batch(batch)?;
            self.db.flush()?;
            Ok(n)
        })
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
