//! One-file encrypted backups.
//!
//! Layout: `REINTEGRA-BACKUP` (16 bytes) ‖ format (u32 BE) ‖ header length (u32 BE) ‖ header
//! JSON (schema version, store id, the users' *wrapped* keys — never a usable key) ‖ chunks ‖
//! BLAKE3 checksum (32 bytes) of everything before it. Each chunk is `length (u32 BE) ‖ sealed`,
//! sealed with the store's data key (XChaCha20-Poly1305, random nonce) over a run of
//! `key length ‖ key ‖ value length ‖ value` entries — the store's own entries, whose values are
//! already encrypted. The chunk's position and whether it is the last one are its associated
//! data, so chunks cannot be dropped, reordered or cut off unnoticed.
//! Restoring needs a user's passphrase and an empty target directory. A backup never holds the
//! device's id nor its sync settings (the device token): the restored copy is a new device that
//! enrolls anew, and the ops still in its outbox become that device's.

use std::fs::File;
use std::io::{BufReader, BufWriter, Read, Write};
use std::path::{Path, PathBuf};

use reintegra_core::ids::DeviceId;
use serde::{Deserialize, Serialize};

use crate::crypto::{KeySlot, Keys};
use crate::engine::Store;
use crate::error::{guarded, Error, Result};
use crate::keyring::{dir_is_empty, open_sled, slot_aad_with, slot_key_with, LockedStore};
use crate::layout::{
    META_DEVICE, META_SCHEMA, META_SLOT_SALT, META_STORE_ID, META_SYNC, P_SLOT, SCHEMA_VERSION,
};

const MAGIC: &[u8; 16] = b"REINTEGRA-BACKUP";
const FORMAT: u32 = 1;
const CHUNK_BYTES: usize = 1 << 20;
const MAX_HEADER: u32 = 16 << 20;
const MAX_CHUNK: u32 = 64 << 20;

#[derive(Serialize, Deserialize)]
struct Header {
    schema: u32,
    store_id: Vec<u8>,
    slot_salt: Vec<u8>,
    /// (slot key, wrapped key slot JSON)
    slots: Vec<(Vec<u8>, String)>,
}

/// What [`Store::backup`] wrote.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct BackupInfo {
    pub bytes: u64,
    pub entries: u64,
    /// BLAKE3 checksum (hex) stored at the end of the file.
    pub checksum: String,
}

fn chunk_aad(store_id: &[u8], index: u64, last: bool) -> Vec<u8> {
    let mut aad = b"reintegra backup chunk v1".to_vec();
    aad.extend_from_slice(store_id);
    aad.extend_from_slice(&index.to_be_bytes());
    aad.push(u8::from(last));
    aad
}

struct HashingWriter<W: Write> {
    inner: W,
    hasher: blake3::Hasher,
    bytes: u64,
}

impl<W: Write> Write for HashingWriter<W> {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        let n = self.inner.write(buf)?;
        self.hasher.update(&buf[..n]);
        self.bytes += n as u64;
        Ok(n)
    }
    fn flush(&mut self) -> std::io::Result<()> {
        self.inner.flush()
    }
}

fn len_u32(n: usize) -> Result<[u8; 4]> {
    u32::try_from(n)
        .map(u32::to_be_bytes)
        .map_err(|_| Error::Engine("entry too large for a backup".into()))
}

impl Store {
    /// Writes the whole store to one encrypted backup file at `path` (which must not exist).
    /// It restores with any current user's passphrase.
    pub fn backup(&self, path: impl AsRef<Path>) -> Result<BackupInfo> {
        let path = path.as_ref();
        if path.exists() {
            return Err(Error::AlreadyExists(path.to_path_buf()));
        }
        let tmp = path.with_extension("partial");
        let result = self.write_backup(&tmp);
        match result {
            Ok(info) => {
                std::fs::rename(&tmp, path)?;
                Ok(info)
            }
            Err(e) => {
                let _ = std::fs::remove_file(&tmp);
                Err(e)
            }
        }
    }

    fn write_backup(&self, tmp: &Path) -> Result<BackupInfo> {
        guarded(|| {
            let store_id: Vec<u8> = self
                .db
                .get(META_STORE_ID)?
                .ok_or_else(|| Error::Corrupt("missing store id".into()))?
                .to_vec();
            let slot_salt = self
                .db
                .get(META_SLOT_SALT)?
                .ok_or_else(|| Error::Corrupt("missing key slot salt".into()))?
                .to_vec();
            let mut slots = Vec::new();
            for item in self.db.scan_prefix([P_SLOT]) {
                let (k, v) = item?;
                slots.push((k.to_vec(), String::from_utf8_lossy(&v).into_owned()));
            }
            let header = Header {
                schema: SCHEMA_VERSION,
                store_id: store_id.clone(),
                slot_salt,
                slots,
            };
            let header = serde_json::to_vec(&header).map_err(|e| Error::Engine(e.to_string()))?;

            let file = File::create(tmp)?;
            let mut out = HashingWriter {
                inner: BufWriter::new(file),
                hasher: blake3::Hasher::new(),
                bytes: 0,
            };
            out.write_all(MAGIC)?;
            out.write_all(&FORMAT.to_be_bytes())?;
            out.write_all(&len_u32(header.len())?)?;
            out.write_all(&header)?;

            // Hold the writer lock: the snapshot is consistent (no save in between).
            let _w = self.write_lock();
            let mut chunk: zeroize::Zeroizing<Vec<u8>> = zeroize::Zeroizing::new(Vec::new());
            let mut index = 0u64;
            let mut entries = 0u64;
            let mut emit = |chunk: &mut Vec<u8>,
                            last: bool,
                            out: &mut HashingWriter<BufWriter<File>>|
             -> Result<()> {
                let sealed = self.keys.seal(&chunk_aad(&store_id, index, last), chunk)?;
                out.write_all(&len_u32(sealed.len())?)?;
                out.write_all(&sealed)?;
                chunk.clear();
                index += 1;
                Ok(())
            };
            for item in self.db.iter() {
                let (k, v) = item?;
                // The restored copy is another device: not this one's id, and not its sync
                // settings (the device token): it enrolls anew.
                if k.as_ref() == META_DEVICE || k.as_ref() == META_SYNC {
                    continue;
                }
                chunk.extend_from_slice(&len_u32(k.len())?);
                chunk.extend_from_slice(&k);
                chunk.extend_from_slice(&len_u32(v.len())?);
                chunk.extend_from_slice(&v);
                entries += 1;
                if chunk.len() >= CHUNK_BYTES {
                    emit(&mut chunk, false, &mut out)?;
                }
            }
            emit(&mut chunk, true, &mut out)?;
            let checksum = out.hasher.finalize();
            out.inner.write_all(checksum.as_bytes())?;
            let bytes = out.bytes + 32;
            let file = out
                .inner
                .into_inner()
                .map_err(|e| Error::Io(e.into_error()))?;
            file.sync_all()?;
            Ok(BackupInfo {
                bytes,
                entries,
                checksum: checksum.to_hex().to_string(),
            })
        })
    }
}

fn read_u32(r: &mut impl Read) -> Result<u32> {
    let mut b = [0u8; 4];
    r.read_exact(&mut b)
        .map_err(|_| Error::CorruptBackup("unexpected end of file".into()))?;
    Ok(u32::from_be_bytes(b))
}

fn read_vec(r: &mut impl Read, n: u32, max: u32) -> Result<Vec<u8>> {
    if n > max {
        return Err(Error::CorruptBackup(
            "a length field is out of range".into(),
        ));
    }
    let mut v = vec![0u8; n as usize];
    r.read_exact(&mut v)
        .map_err(|_| Error::CorruptBackup("unexpected end of file".into()))?;
    Ok(v)
}

/// Verifies the checksum at the end of the file; returns the length of the covered part.
fn verify_checksum(path: &Path) -> Result<u64> {
    let file = File::open(path)?;
    let len = file.metadata()?.len();
    if len < (MAGIC.len() + 8 + 32) as u64 {
        return Err(Error::CorruptBackup(
            "the file is too short to be a backup".into(),
        ));
    }
    let body = len - 32;
    let mut reader = BufReader::new(file);
    let mut hasher = blake3::Hasher::new();
    std::io::copy(&mut (&mut reader).take(body), &mut hasher)?;
    let mut stored = [0u8; 32];
    reader.read_exact(&mut stored)?;
    if hasher.finalize() != blake3::Hash::from(stored) {
        return Err(Error::CorruptBackup("checksum mismatch".into()));
    }
    Ok(body)
}

/// Restores a backup into `dir` (absent or empty) for a new `device`, and unlocks it with
/// `login`'s passphrase. Refuses a non-empty target, a damaged file (checksum) and a wrong
/// passphrase before writing anything; if writing fails midway, what it wrote is removed.
pub fn restore(
    backup: impl AsRef<Path>,
    dir: impl AsRef<Path>,
    login: &str,
    passphrase: &str,
    device: DeviceId,
) -> Result<Store> {
    let (backup, dir) = (backup.as_ref(), dir.as_ref());
    if !dir_is_empty(dir)? {
        return Err(Error::RestoreTargetNotEmpty(dir.to_path_buf()));
    }
    let body = verify_checksum(backup)?;
    let mut r = BufReader::new(File::open(backup)?).take(body);
    let mut magic = [0u8; 16];
    r.read_exact(&mut magic)
        .map_err(|_| Error::CorruptBackup("not a backup file".into()))?;
    if &magic != MAGIC {
        return Err(Error::CorruptBackup("not a Reintegra backup file".into()));
    }
    let format = read_u32(&mut r)?;
    if format > FORMAT {
        return Err(Error::NewerBackup { found: format });
    }
    let header_len = read_u32(&mut r)?;
    let header: Header = serde_json::from_slice(&read_vec(&mut r, header_len, MAX_HEADER)?)
        .map_err(|_| Error::CorruptBackup("bad header".into()))?;
    if header.schema > SCHEMA_VERSION {
        return Err(Error::NewerSchema {
            found: header.schema,
            supported: SCHEMA_VERSION,
        });
    }
    let salt: [u8; 32] = header
        .slot_salt
        .as_slice()
        .try_into()
        .map_err(|_| Error::CorruptBackup("bad header".into()))?;
    let store_id: [u8; 16] = header
        .store_id
        .as_slice()
        .try_into()
        .map_err(|_| Error::CorruptBackup("bad header".into()))?;
    let skey = slot_key_with(&salt, login);
    let slot_json = header
        .slots
        .iter()
        .find(|(k, _)| *k == skey)
        .map(|(_, v)| v)
        .ok_or_else(|| Error::UnknownUser(login.trim().to_string()))?;
    let slot: KeySlot =
        serde_json::from_str(slot_json).map_err(|_| Error::CorruptBackup("bad key slot".into()))?;
    let keys = Keys::new(slot.unwrap_key(passphrase, &slot_aad_with(&store_id, &skey))?);

    let created = !dir.exists();
    let written = write_restore(&mut r, &keys, &store_id, dir, device);
    if let Err(e) = written {
        cleanup(dir, created);
        return Err(e);
    }
    let opened = LockedStore::open(dir)
        .and_then(|l| l.unlock(login, passphrase))
        .and_then(|store| store.restamp_restored_outbox().map(|()| store));
    match opened {
        Ok(store) => Ok(store),
        Err(e) => {
            cleanup(dir, created);
            Err(e)
        }
    }
}

impl Store {
    /// The ops still waiting in a restored outbox become this device's (`identity.rs`): the
    /// server takes a device's ops only with its own id and clock node.
    fn restamp_restored_outbox(&self) -> Result<()> {
        guarded(|| {
            let _w = self.write_lock();
            let mut batch = sled::Batch::default();
            self.restamp_outbox(self.device(), &mut batch)?;
            self.db.apply_batch(batch)?;
            self.db.flush()?;
            Ok(())
        })
    }
}

/// Removes what a failed restore wrote (the target was empty or absent before).
fn cleanup(dir: &Path, created: bool) {
    if created {
        let _ = std::fs::remove_dir_all(dir);
    } else if let Ok(entries) = std::fs::read_dir(dir) {
        for entry in entries.flatten() {
            let p: PathBuf = entry.path();
            let _ = if p.is_dir() {
                std::fs::remove_dir_all(&p)
            } else {
                std::fs::remove_file(&p)
            };
        }
    }
}

fn write_restore(
    r: &mut impl Read,
    keys: &Keys,
    store_id: &[u8; 16],
    dir: &Path,
    device: DeviceId,
) -> Result<()> {
    std::fs::create_dir_all(dir)?;
    let db = open_sled(dir)?;
    let mut index = 0u64;
    loop {
        let len = read_u32(r)?;
        let sealed = read_vec(r, len, MAX_CHUNK)?;
        let (plain, last) = match keys.open(&chunk_aad(store_id, index, true), &sealed) {
            Ok(p) => (p, true),
            Err(_) => (
                keys.open(&chunk_aad(store_id, index, false), &sealed)
                    .map_err(|_| Error::CorruptBackup(format!("chunk {index} does not decrypt")))?,
                false,
            ),
        };
        let mut batch = sled::Batch::default();
        let mut rest: &[u8] = &plain;
        while !rest.is_empty() {
            let klen = read_u32(&mut rest)?;
            let k = read_vec(&mut rest, klen, MAX_CHUNK)?;
            let vlen = read_u32(&mut rest)?;
            let v = read_vec(&mut rest, vlen, MAX_CHUNK)?;
            batch.insert(k, v);
        }
        db.apply_batch(batch)?;
        index += 1;
        if last {
            break;
        }
    }
    let mut trailing = [0u8; 1];
    if r.read(&mut trailing)? != 0 {
        return Err(Error::CorruptBackup(
            "unexpected data after the last chunk".into(),
        ));
    }
    if db.get(META_SCHEMA)?.is_none() && db.get(META_STORE_ID)?.is_none() {
        return Err(Error::CorruptBackup("the backup holds no store".into()));
    }
    db.insert(META_DEVICE, device.as_uuid().as_bytes())?;
    db.flush()?;
    Ok(())
}
