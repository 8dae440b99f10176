//! The keyring and the opening of a store: creating it with its first user, opening it
//! locked, unlocking it with a user's passphrase (which runs the schema migrations), and the
//! users' key slots (add, remove, change a passphrase). Each slot is the data key wrapped by an
//! Argon2id key from that user's passphrase; its storage key is a keyed hash of the login.

use std::path::{Path, PathBuf};
use std::sync::Mutex;

use reintegra_core::ids::{DeviceId, UserId};

use crate::attempts;
use crate::crypto::{hex, random_bytes, random_secret, KdfParams, KeySlot, Keys};
use crate::engine::Store;
use crate::error::{guarded, Error, Result};
use crate::index::MemIndex;
use crate::layout::{
    read_fixed, read_schema, slot_key as slot_key_of, META_DEVICE, META_SCHEMA, META_SEQ,
    META_SLOT_SALT, META_STORE_ID, P_SLOT, SCHEMA_VERSION,
};

/// Shortest passphrase accepted for a user.
pub const MIN_PASSPHRASE: usize = 12;

/// Whether a directory holds a sled database (its `db` file).
fn looks_like_store(dir: &Path) -> bool {
    dir.join("db").is_file() && dir.join("conf").is_file()
}

pub(crate) fn dir_is_empty(dir: &Path) -> Result<bool> {
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

/// Refuses a passphrase too weak to be a key slot's (checked before anything is changed).
pub fn check_passphrase(passphrase: &str) -> Result<()> {
    if passphrase.chars().count() < MIN_PASSPHRASE {
        return Err(Error::WeakPassphrase {
            min: MIN_PASSPHRASE,
        });
    }
    Ok(())
}

/// A key slot as the locked sign-in screen offers it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct SlotChoice {
    /// Opaque: the slot's keyed login hash, in hex (the login cannot be read back from it).
    pub slot: String,
    /// The user's initials (empty for slots made before labels).
    pub label: String,
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
    ///
    /// After a few wrong attempts each next one must wait longer (`TooManyAttempts`), counted on
    /// disk across restarts; an unknown login costs the same key derivation as a wrong passphrase,
    /// so timing does not tell which logins exist.
    pub fn unlock(&self, login: &str, passphrase: &str) -> Result<Store> {
        let skey = guarded(|| slot_key(&self.db, login))?;
        self.unlock_at(&skey, login.trim(), passphrase)
    }

    /// Unlocks the slot the sign-in screen offered (a [`SlotChoice::slot`]), like [`unlock`].
    ///
    /// [`unlock`]: LockedStore::unlock
    pub fn unlock_slot(&self, slot: &str, passphrase: &str) -> Result<Store> {
        let skey = hex::decode(slot)
            .filter(|bytes| bytes.len() == 32)
            .map(|bytes| [vec![P_SLOT], bytes].concat())
            .ok_or_else(|| Error::UnknownUser(String::new()))?;
        self.unlock_at(&skey, "", passphrase)
    }

    /// The key slots, as the locked sign-in screen lists them: an opaque reference and the
    /// initials of whose it is.
    pub fn slots(&self) -> Vec<SlotChoice> {
        self.db
            .scan_prefix([P_SLOT])
            .filter_map(|entry| entry.ok())
            .filter_map(|(key, raw)| {
                let slot = serde_json::from_slice::<KeySlot>(&raw).ok()?;
                Some(SlotChoice {
                    slot: hex::encode(key.get(1..)?),
                    label: slot.label,
                })
            })
            .collect()
    }

    fn unlock_at(&self, skey: &[u8], who: &str, passphrase: &str) -> Result<Store> {
        let failures = guarded(|| attempts::check(&self.db))?;
        let opened = guarded(|| {
            let aad = slot_aad(&self.db, skey)?;
            let slot = match read_slot(&self.db, skey, who) {
                Err(Error::UnknownUser(who)) => {
                    self.spend_a_derivation(passphrase, &aad);
                    return Err(Error::UnknownUser(who));
                }
                other => other?,
            };
            Ok((
                slot.unwrap_key(passphrase, &aad)?,
                (slot.user_id, slot.first_passphrase),
            ))
        });
        let (data_key, (user_id, first_passphrase)) = match opened {
            Err(e @ (Error::WrongPassphrase | Error::UnknownUser(_))) => {
                guarded(|| attempts::record_failure(&self.db, failures))?;
                return Err(e);
            }
            other => other?,
        };
        guarded(|| attempts::reset(&self.db))?;
        let keys = Keys::new(data_key);
        let schema = guarded(|| read_schema(&self.db))?;
        if schema < SCHEMA_VERSION {
            crate::migrate::migrate(&self.db, &keys, schema, UserId::new(user_id))?;
        }
        let index = self.take_index()?;
        let store = Store::unlocked(
            self.db.clone(),
            self.dir.clone(),
            keys,
            index,
            UserId::new(user_id),
        )?;
        store.set_failed_unlocks_before(failures);
        store.set_first_passphrase(first_passphrase);
        Ok(store)
    }

    /// Runs one key derivation with the parameters of an existing slot, to fail as slowly as
    /// a wrong passphrase does.
    fn spend_a_derivation(&self, passphrase: &str, aad: &[u8]) {
        let any_slot = self
            .db
            .scan_prefix([P_SLOT])
            .filter_map(|entry| entry.ok())
            .find_map(|(_, raw)| serde_json::from_slice::<KeySlot>(&raw).ok());
        if let Some(slot) = any_slot {
            let _ = slot.unwrap_key(passphrase, aad);
        }
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
        let new_slot = KeySlot {
            label: slot.label,
            ..KeySlot::wrap(&key, new, kdf, slot.user_id, &aad)?
        };
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

impl Store {
    /// Forgets the keys (zeroized) and returns the store locked.
    pub fn lock(self) -> LockedStore {
        LockedStore::without_preload(self.db.clone(), self.dir.clone())
    }

    /// A locked handle on the same database, for when this store is still shared (its keys
    /// are zeroized when the last handle drops).
    pub fn relock(&self) -> LockedStore {
        LockedStore::without_preload(self.db.clone(), self.dir.clone())
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
        let slot = KeySlot {
            first_passphrase: true,
            ..KeySlot::wrap(
                self.keys.data_key(),
                passphrase,
                kdf,
                user_id.as_uuid(),
                &aad,
            )?
        };
        self.db.insert(
            skey,
            serde_json::to_vec(&slot).map_err(|e| Error::Engine(e.to_string()))?,
        )?;
        self.db.flush()?;
        Ok(())
    }

    /// Sets what the locked sign-in screen shows for a login's slot (see [`SlotChoice`]).
    pub fn label_slot(&self, login: &str, label: &str) -> Result<()> {
        let skey = slot_key(&self.db, login)?;
        let mut slot = read_slot(&self.db, &skey, login)?;
        if slot.label == label {
            return Ok(());
        }
        slot.label = label.to_string();
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
            .change_passphrase(login, old, new, kdf)?;
        self.set_first_passphrase(false);
        Ok(())
    }
}
