//! Crypto-erase: what a revoked device does to its store (`docs/sync.md`, "Revocation").
//!
//! The data key exists on disk only wrapped in the key slots, so once every slot is destroyed
//! no remaining byte can be decrypted by anyone, with any passphrase. sled is log-structured:
//! a removed key's old bytes may still sit in an older segment, so the slots are first
//! overwritten in place, and then every file of the store is overwritten with zeros, synced,
//! and deleted. What stays is a marker (written before the files go, so a crash part-way
//! through is finished at the next start by [`finish_erase`]): a small JSON the caller gives,
//! which must hold no personal data (when, and which office to call).

use std::path::{Path, PathBuf};

use crate::engine::Store;
use crate::error::{guarded, Error, Result};
use crate::layout::{META_DEVICE, META_SLOT_SALT, META_STORE_ID, META_SYNC, P_SLOT};

/// The marker an erased store leaves in its directory.
pub const ERASED_MARKER: &str = "revocado.json";

/// The marker of an erased store in `dir`, if there is one (what the caller wrote).
pub fn erased_marker(dir: &Path) -> Option<Vec<u8>> {
    std::fs::read(dir.join(ERASED_MARKER)).ok()
}

/// Deletes (overwritten first) every file of `dir` but the marker: the end of an erase that
/// was cut, or nothing when there is nothing left. Does nothing without a marker.
pub fn finish_erase(dir: &Path) -> Result<()> {
    if erased_marker(dir).is_none() {
        return Ok(());
    }
    shred_dir(dir, true)
}

/// Removes the marker of an erased store (the device is set up again from nothing).
pub fn forget_erased(dir: &Path) -> Result<()> {
    finish_erase(dir)?;
    match std::fs::remove_file(dir.join(ERASED_MARKER)) {
        Err(e) if e.kind() != std::io::ErrorKind::NotFound => Err(e.into()),
        _ => Ok(()),
    }
}

impl Store {
    /// Crypto-erases this store: every key slot (overwritten, then removed), the slot salt,
    /// the store id, the sealed sync settings and the device id are destroyed and flushed,
    /// the marker is written, the keys leave memory, and every file is overwritten and
    /// deleted. Needs the only handle on the store (the files are deleted).
    pub fn erase(self, marker: &[u8]) -> Result<()> {
        let dir = self.dir.clone();
        self.begin_erase(marker)?;
        // The data and index keys are zeroized as the last handle drops.
        drop(self);
        shred_dir(&dir, true)
    }

    /// The part of [`Store::erase`] that works while other handles still hold the store: the
    /// keys on disk are destroyed and the marker written; the files are deleted by
    /// [`finish_erase`] (at the next start at the latest).
    pub fn begin_erase(&self, marker: &[u8]) -> Result<()> {
        self.destroy_keys()?;
        write_marker(&self.dir, marker)
    }

    /// Destroys what unlocks the store (slots, salt, store id) and the sealed token, flushed.
    /// After this no passphrase opens the store, even before its files are deleted.
    pub fn destroy_keys(&self) -> Result<()> {
        guarded(|| {
            let _w = self.write_lock();
            let slots: Vec<(sled::IVec, usize)> = self
                .db
                .scan_prefix([P_SLOT])
                .map(|item| item.map(|(k, v)| (k, v.len())))
                .collect::<std::result::Result<_, _>>()?;
            // Overwrite in place first: the newest version of each key is then noise.
            for (key, len) in &slots {
                self.db
                    .insert(key, crate::crypto::random_vec((*len).max(64)))?;
            }
            for meta in [META_SLOT_SALT, META_STORE_ID, META_SYNC, META_DEVICE] {
                if let Some(old) = self.db.get(meta)? {
                    self.db.insert(meta, crate::crypto::random_vec(old.len()))?;
                }
            }
            self.db.flush()?;
            for (key, _) in &slots {
                self.db.remove(key)?;
            }
            for meta in [META_SLOT_SALT, META_STORE_ID, META_SYNC, META_DEVICE] {
                self.db.remove(meta)?;
            }
            self.db.flush()?;
            Ok(())
        })
    }
}

fn write_marker(dir: &Path, marker: &[u8]) -> Result<()> {
    let tmp = dir.join(format!("{ERASED_MARKER}.tmp"));
    std::fs::write(&tmp, marker)?;
    std::fs::File::open(&tmp)?.sync_all()?;
    std::fs::rename(&tmp, dir.join(ERASED_MARKER))?;
    Ok(())
}

/// Overwrites every file under `dir` with zeros (synced) and deletes it, and its folders;
/// `keep_marker`: leaves the marker at the top.
fn shred_dir(dir: &Path, keep_marker: bool) -> Result<()> {
    let entries = match std::fs::read_dir(dir) {
        Ok(entries) => entries,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(()),
        Err(e) => return Err(e.into()),
    };
    let mut subdirs: Vec<PathBuf> = Vec::new();
    for entry in entries {
        let entry = entry?;
        let path = entry.path();
        if keep_marker && entry.file_name() == ERASED_MARKER {
            continue;
        }
        let kind = entry.file_type()?;
        if kind.is_dir() {
            subdirs.push(path);
        } else if kind.is_file() {
            shred_file(&path)?;
        } else {
            std::fs::remove_file(&path)?;
        }
    }
    for sub in subdirs {
        shred_dir(&sub, false)?;
        std::fs::remove_dir(&sub)?;
    }
    Ok(())
}

fn shred_file(path: &Path) -> Result<()> {
    use std::io::{Seek, Write};
    let len = std::fs::metadata(path)?.len();
    {
        let mut file = std::fs::OpenOptions::new().write(true).open(path)?;
        file.seek(std::io::SeekFrom::Start(0))?;
        let zeros = vec![0u8; 1 << 16];
        let mut left = len;
        while left > 0 {
            let n = left.min(zeros.len() as u64) as usize;
            file.write_all(&zeros[..n])?;
            left -= n as u64;
        }
        file.sync_all()?;
    }
    std::fs::remove_file(path).map_err(Error::from)
}
