//! Taking back a whole batch while none of it has left the device (an import undone): what
//! [`Store::commit_undoable`] replaced is kept, one entry per record written — the record's
//! previous stored value and index summary (ciphertext and keyed hashes, as stored) or nothing
//! for a new one, and the op that went to the outbox. [`Store::undo`] puts every record back
//! and takes its op out of the outbox, in one atomic write, but only if every op is still
//! waiting there and no record has changed since (a later edit or a pull would be lost).

use reintegra_core::op::EntityKind;
use uuid::Uuid;

use crate::engine::Store;
use crate::error::{guarded, Error, Result, UndoRefused};
use crate::index;
use crate::layout::{change_entry, change_key, opid_key, outbox_key, record_key, summary_key};

/// Key prefix of the undo entries: `u` + token (16 bytes) + step number (u32 BE).
const P_UNDO: u8 = b'u';

fn prefix(token: Uuid) -> Vec<u8> {
    let mut key = vec![P_UNDO];
    key.extend_from_slice(token.as_bytes());
    key
}

/// A record's state before the batch.
pub(crate) struct Old {
    pub seq: u64,
    pub sealed: Vec<u8>,
    pub summary: Option<Vec<u8>>,
}

/// One record the batch wrote.
pub(crate) struct Step {
    pub kind: EntityKind,
    pub id: Uuid,
    /// `None`: the batch created it.
    pub old: Option<Old>,
    /// The record's change sequence after the batch.
    pub seq: u64,
    pub op_id: Uuid,
}

impl Step {
    fn rkey(&self) -> Vec<u8> {
        record_key(self.kind, self.id)
    }

    fn skey(&self) -> Vec<u8> {
        summary_key(self.kind, self.id)
    }

    fn okey(&self) -> [u8; 25] {
        outbox_key(self.seq, self.op_id)
    }

    /// The entry's key and value: kind, id, seq, op id, then the old state if any (a compact
    /// binary form: an import keeps one per record).
    pub(crate) fn entry(&self, token: Uuid, n: usize) -> (Vec<u8>, Vec<u8>) {
        let mut key = prefix(token);
        key.extend_from_slice(&u32::try_from(n).unwrap_or(u32::MAX).to_be_bytes());
        let mut v = Vec::with_capacity(42);
        v.push(self.kind.code());
        v.extend_from_slice(self.id.as_bytes());
        v.extend_from_slice(&self.seq.to_be_bytes());
        v.extend_from_slice(self.op_id.as_bytes());
        if let Some(old) = &self.old {
            v.extend_from_slice(&old.seq.to_be_bytes());
            put_bytes(&mut v, &old.sealed);
            if let Some(summary) = &old.summary {
                put_bytes(&mut v, summary);
            }
        }
        (key, v)
    }

    fn read(value: &[u8]) -> Result<Step> {
        let bad = || Error::Corrupt("an undo entry does not read back".into());
        let mut r = value;
        let kind = EntityKind::from_code(take(&mut r, 1).ok_or_else(bad)?[0]).ok_or_else(bad)?;
        let id = Uuid::from_slice(take(&mut r, 16).ok_or_else(bad)?).map_err(|_| bad())?;
        let seq = u64::from_be_bytes(
            take(&mut r, 8)
                .ok_or_else(bad)?
                .try_into()
                .map_err(|_| bad())?,
        );
        let op_id = Uuid::from_slice(take(&mut r, 16).ok_or_else(bad)?).map_err(|_| bad())?;
        let old = if r.is_empty() {
            None
        } else {
            let old_seq = u64::from_be_bytes(
                take(&mut r, 8)
                    .ok_or_else(bad)?
                    .try_into()
                    .map_err(|_| bad())?,
            );
            let sealed = get_bytes(&mut r).ok_or_else(bad)?;
            let summary = if r.is_empty() {
                None
            } else {
                Some(get_bytes(&mut r).ok_or_else(bad)?)
            };
            Some(Old {
                seq: old_seq,
                sealed,
                summary,
            })
        };
        Ok(Step {
            kind,
            id,
            old,
            seq,
            op_id,
        })
    }
}

fn put_bytes(v: &mut Vec<u8>, bytes: &[u8]) {
    v.extend_from_slice(&u32::try_from(bytes.len()).unwrap_or(u32::MAX).to_be_bytes());
    v.extend_from_slice(bytes);
}

fn take<'a>(r: &mut &'a [u8], n: usize) -> Option<&'a [u8]> {
    if r.len() < n {
        return None;
    }
    let (head, rest) = r.split_at(n);
    *r = rest;
    Some(head)
}

fn get_bytes(r: &mut &[u8]) -> Option<Vec<u8>> {
    let len = u32::from_be_bytes(take(r, 4)?.try_into().ok()?) as usize;
    take(r, len).map(<[u8]>::to_vec)
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
                steps.push(Step::read(&value)?);
                keys.push(key);
            }
            if steps.is_empty() {
                return Err(Error::CannotUndo(UndoRefused::NothingToUndo));
            }
            for step in &steps {
                if !self.db.contains_key(step.okey())? {
                    return Err(Error::CannotUndo(UndoRefused::AlreadySent));
                }
                let unchanged =
                    matches!(self.read_raw(&step.rkey())?, Some((seq, _)) if seq == step.seq);
                if !unchanged {
                    return Err(Error::CannotUndo(UndoRefused::ChangedSince));
                }
            }
            let mut writes = sled::Batch::default();
            let mut reindex = Vec::with_capacity(steps.len());
            for step in &steps {
                let (kind, id) = (step.kind, step.id);
                let (rkey, skey) = (step.rkey(), step.skey());
                let new_index = self.read_summary(&skey)?;
                writes.remove(change_key(step.seq).as_slice());
                writes.remove(step.okey().as_slice());
                writes.remove(opid_key(step.op_id).as_slice());
                let old_index = match &step.old {
                    Some(old) => {
                        writes.insert(rkey.as_slice(), old.sealed.as_slice());
                        match &old.summary {
                            Some(summary) => writes.insert(skey.as_slice(), summary.as_slice()),
                            None => writes.remove(skey.as_slice()),
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
                        writes.remove(rkey.as_slice());
                        writes.remove(skey.as_slice());
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
                    let step = Step::read(&value)?;
                    if self.db.contains_key(step.okey())? {
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
