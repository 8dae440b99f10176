//! Taking back a whole batch while none of it has left the device (an import undone): what
//! [`Store::commit_undoable`] replaced is kept, one entry per record written — the record's
//! previous stored value and index summary (ciphertext and keyed hashes, as stored) or nothing
//! for a new one, and the op that went to the outbox. [`Store::undo`] puts every record back
//! and takes its op out of the outbox, in one atomic write, but only if every op is still
//! waiting there and no record has changed since (a later edit or a pull would be lost).

use serde::{Deserialize, Serialize};
use uuid::Uuid;

use crate::engine::Store;
use crate::error::{guarded, Error, Result, UndoRefused};
use crate::index;
use crate::layout::{change_entry, change_key, opid_key, parse_record_key};

/// Key prefix of the undo entries: `u` + token (16 bytes) + step number (u32 BE).
const P_UNDO: u8 = b'u';

fn prefix(token: Uuid) -> Vec<u8> {
    let mut key = vec![P_UNDO];
    key.extend_from_slice(token.as_bytes());
    key
}

/// A record's state before the batch.
#[derive(Serialize, Deserialize)]
pub(crate) struct Old {
    pub seq: u64,
    pub sealed: Vec<u8>,
    pub summary: Option<Vec<u8>>,
}

/// One record the batch wrote.
#[derive(Serialize, Deserialize)]
pub(crate) struct Step {
    pub rkey: Vec<u8>,
    pub skey: Vec<u8>,
    /// `None`: the batch created it.
    pub old: Option<Old>,
    /// The record's change sequence after the batch.
    pub seq: u64,
    pub okey: Vec<u8>,
    pub op_id: Uuid,
}

impl Step {
    pub(crate) fn entry(&self, token: Uuid, n: usize) -> Result<(Vec<u8>, Vec<u8>)> {
        let mut key = prefix(token);
        key.extend_from_slice(&u32::try_from(n).unwrap_or(u32::MAX).to_be_bytes());
        let value = serde_json::to_vec(self).map_err(|e| Error::Invalid(e.to_string()))?;
        Ok((key, value))
    }
}

impl Store {
    /// Takes back the batch committed with `token` (see the module). Returns how many records
    /// were put back; [`Error::CannotUndo`] when an op has left the device or a record has
    /// changed since, with nothing written.
    pub fn undo(&self, token: Uuid) -> Result<usize> {
        guarded(|| {
            let _w = self.write_lock();
            let mut steps = Vec::new();
            let mut keys = Vec::new();
            for item in self.db.scan_prefix(prefix(token)) {
                let (key, value) = item?;
                let step: Step = serde_json::from_slice(&value)
                    .map_err(|_| Error::Corrupt("an undo entry does not read back".into()))?;
                steps.push(step);
                keys.push(key);
            }
            if steps.is_empty() {
                return Err(Error::CannotUndo(UndoRefused::NothingToUndo));
            }
            for step in &steps {
                if !self.db.contains_key(&step.okey)? {
                    return Err(Error::CannotUndo(UndoRefused::AlreadySent));
                }
                let now = self.db.get(&step.rkey)?;
                let unchanged = match (&now, self.read_raw(&step.rkey)?) {
                    (Some(_), Some((seq, _))) => seq == step.seq,
                    _ => false,
                };
                if !unchanged {
                    return Err(Error::CannotUndo(UndoRefused::ChangedSince));
                }
            }
            let mut writes = sled::Batch::default();
            let mut reindex = Vec::with_capacity(steps.len());
            for step in &steps {
                let (kind, id) = parse_record_key(&step.rkey)?;
                let new_index = self.read_summary(&step.skey)?;
                writes.remove(change_key(step.seq).as_slice());
                writes.remove(step.okey.as_slice());
                writes.remove(opid_key(step.op_id).as_slice());
                let old_index = match &step.old {
                    Some(old) => {
                        writes.insert(step.rkey.as_slice(), old.sealed.as_slice());
                        match &old.summary {
                            Some(summary) => {
                                writes.insert(step.skey.as_slice(), summary.as_slice())
                            }
                            None => writes.remove(step.skey.as_slice()),
                        }
                        writes.insert(
                            change_key(old.seq).as_slice(),
                            change_entry(kind, id).as_slice(),
                        );
                        match &old.summary {
                            Some(summary) => index::decode(summary)?,
                            None => Vec::new(),
                        }
                    }
                    None => {
                        writes.remove(step.rkey.as_slice());
                        writes.remove(step.skey.as_slice());
                        Vec::new()
                    }
                };
                reindex.push((id, new_index, old_index));
            }
            for key in keys {
                writes.remove(key);
            }
            self.db.apply_batch(writes)?;
            self.db.flush()?;
            let mut ix = self.index_write();
            for (id, new_index, old_index) in &reindex {
                ix.remove(*id, new_index);
                ix.add(*id, old_index);
            }
            Ok(steps.len())
        })
    }

    /// Forgets the undo entries of batches that cannot be undone any more (an op of theirs has
    /// left the outbox): they only kept old versions. Returns how many batches were forgotten.
    pub fn forget_sent_undos(&self) -> Result<usize> {
        guarded(|| {
            let _w = self.write_lock();
            let mut stale: Vec<Vec<u8>> = Vec::new();
            let mut forget = sled::Batch::default();
            for item in self.db.scan_prefix([P_UNDO]) {
                let (key, value) = item?;
                let token = key.get(..17).unwrap_or(&key).to_vec();
                if !stale.contains(&token) {
                    let step: Step = serde_json::from_slice(&value)
                        .map_err(|_| Error::Corrupt("an undo entry does not read back".into()))?;
                    if self.db.contains_key(&step.okey)? {
                        continue;
                    }
                    stale.push(token);
                }
                forget.remove(key);
            }
            self.db.apply_batch(forget)?;
            Ok(stale.len())
        })
    }
}
