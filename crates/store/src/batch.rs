//! A unit of work: several record writes (saves and deletes, of any kinds) committed in one
//! atomic sled batch and flushed once, so a use case (a change and its audit entry, a merge of
//! two forms with their referrals) is either wholly on disk or not at all. The one-record
//! `Store::put` / `Store::delete` the domain methods use are batches of one, here too, so the
//! engine does not import this module.

use std::collections::HashMap;

use reintegra_core::op::{Action, Change, EntityKind, Op};
use uuid::Uuid;
use zeroize::Zeroizing;

use crate::engine::{Record, Saved, Store};
use crate::error::{guarded, Error, Result};
use crate::index::{self, Entry, IndexKey};
use crate::layout::{
    change_entry, change_key, now_ms, opid_key, outbox_key, record_key, seal_record, summary_key,
    META_HLC, META_SEQ,
};

enum Write {
    Put {
        kind: EntityKind,
        id: Uuid,
        json: serde_json::Value,
        index_keys: Vec<IndexKey>,
    },
    Delete {
        kind: EntityKind,
        id: Uuid,
    },
}

impl Write {
    fn target(&self) -> (EntityKind, Uuid) {
        match self {
            Write::Put { kind, id, .. } | Write::Delete { kind, id } => (*kind, *id),
        }
    }
}

/// Record writes to commit together with [`Store::commit`]. Writing the same record twice keeps
/// the last write (in the place of the first).
#[derive(Default)]
pub struct Batch {
    writes: Vec<Write>,
    /// Where each record's write is in `writes` (an import puts 100,000 of them).
    at: HashMap<(EntityKind, Uuid), usize>,
}

impl Batch {
    pub fn new() -> Batch {
        Batch::default()
    }

    /// Creates or updates `record`.
    pub fn put<R: Record>(&mut self, record: &R) -> Result<&mut Batch> {
        let json = serde_json::to_value(record).map_err(|e| Error::Invalid(e.to_string()))?;
        self.push(Write::Put {
            kind: R::KIND,
            id: record.record_id(),
            json,
            index_keys: record.index_keys(),
        });
        Ok(self)
    }

    /// Deletes the record of kind `R` with this id (nothing when it does not exist).
    pub fn delete<R: Record>(&mut self, id: Uuid) -> &mut Batch {
        self.push(Write::Delete { kind: R::KIND, id });
        self
    }

    pub fn is_empty(&self) -> bool {
        self.writes.is_empty()
    }

    fn push(&mut self, write: Write) {
        match self.at.entry(write.target()) {
            std::collections::hash_map::Entry::Occupied(earlier) => {
                self.writes[*earlier.get()] = write;
            }
            std::collections::hash_map::Entry::Vacant(slot) => {
                slot.insert(self.writes.len());
                self.writes.push(write);
            }
        }
    }
}

/// One write, sealed and ready for the transaction.
struct Prepared {
    id: Uuid,
    rkey: Vec<u8>,
    skey: Vec<u8>,
    /// The sealed record value ([`seal_record`]), or `None` for a delete.
    sealed_record: Option<Vec<u8>>,
    /// The new summary, when it must be written.
    summary: Option<Vec<u8>>,
    old_seq: Option<u64>,
    old_index: Vec<Entry>,
    new_index: Vec<Entry>,
    seq: u64,
    change_value: [u8; 17],
    okey: [u8; 25],
    sealed_op: Vec<u8>,
    op_id: Uuid,
}

impl Store {
    /// Saves a record (create or update). The record, its index entries, its change-log entry
    /// and its outbox op are committed in one atomic sled batch, flushed before returning.
    pub(crate) fn put<R: Record>(&self, record: &R) -> Result<Saved> {
        let mut batch = Batch::new();
        batch.put(record)?;
        Ok(self.commit(batch)?.pop().unwrap_or(Saved {
            op_id: None,
            hlc: self.write_lock().hlc,
        }))
    }

    /// Deletes a record (and its index entries), writing a delete op. `Ok(None)` when it did
    /// not exist.
    pub(crate) fn delete<R: Record>(&self, id: Uuid) -> Result<Option<Saved>> {
        let mut batch = Batch::new();
        batch.delete::<R>(id);
        let saved = self.commit(batch)?.pop();
        Ok(saved.filter(|s| s.op_id.is_some()))
    }

    /// Commits every write of `batch` in one atomic sled batch (records, index entries, change
    /// log, one outbox op per changed record), flushed before returning. Returns what each write
    /// did, in order; an unchanged record (or a delete of a missing one) writes nothing.
    pub fn commit(&self, batch: Batch) -> Result<Vec<Saved>> {
        guarded(|| self.commit_inner(batch, None))
    }

    /// [`Store::commit`], keeping what it replaced under `token` so that [`Store::undo`] can
    /// take the whole batch back while none of it has left the device (an import).
    pub fn commit_undoable(&self, batch: Batch, token: Uuid) -> Result<Vec<Saved>> {
        guarded(|| self.commit_inner(batch, Some(token)))
    }

    fn commit_inner(&self, batch: Batch, undo: Option<Uuid>) -> Result<Vec<Saved>> {
        let mut w = self.write_lock();
        let mut seq = w.seq;
        let mut hlc = w.hlc;
        let mut saved = Vec::with_capacity(batch.writes.len());
        let mut prepared = Vec::with_capacity(batch.writes.len());
        for write in &batch.writes {
            let (kind, id) = write.target();
            let rkey = record_key(kind, id);
            let skey = summary_key(kind, id);
            let old = self.read_raw(&rkey)?;
            let (change, new_json, index_keys) = match (write, &old) {
                (
                    Write::Put {
                        json, index_keys, ..
                    },
                    _,
                ) => {
                    let old_json = match &old {
                        Some((_, bytes)) => {
                            Some(serde_json::from_slice::<serde_json::Value>(bytes).map_err(
                                |_| Error::Corrupt("a stored record is not JSON".into()),
                            )?)
                        }
                        None => None,
                    };
                    (
                        Change::between(kind, id, old_json.as_ref(), json),
                        Some(json),
                        index_keys.as_slice(),
                    )
                }
                (Write::Delete { .. }, Some(_)) => (
                    Some(Change {
                        entity: kind,
                        id,
                        action: Action::Delete,
                    }),
                    None,
                    [].as_slice(),
                ),
                (Write::Delete { .. }, None) => (None, None, [].as_slice()),
            };
            let Some(change) = change else {
                saved.push(Saved { op_id: None, hlc });
                continue;
            };
            let old_seq = old.as_ref().map(|(s, _)| *s);
            let old_index = match old_seq {
                Some(_) => self.read_summary(&skey)?,
                None => Vec::new(),
            };
            seq += 1;
            hlc = hlc.tick(now_ms());
            let op = Op {
                op_id: Uuid::now_v7(),
                author: self.user(),
                device: self.device(),
                hlc,
                base_seq: w.pulled,
                change,
            };
            let (sealed_record, new_index, summary) = match new_json {
                Some(json) => {
                    let json = Zeroizing::new(
                        serde_json::to_vec(json).map_err(|e| Error::Invalid(e.to_string()))?,
                    );
                    let new_index = index::entries(&self.keys, index_keys);
                    let summary = (old_index != new_index || old_seq.is_none())
                        .then(|| index::encode(&new_index));
                    let sealed = seal_record(&self.keys, &rkey, seq, &json)?;
                    (Some(sealed), new_index, summary)
                }
                None => (None, Vec::new(), None),
            };
            let okey = outbox_key(seq, op.op_id);
            let op_json =
                Zeroizing::new(serde_json::to_vec(&op).map_err(|e| Error::Invalid(e.to_string()))?);
            let sealed_op = self.keys.seal(&okey, &op_json)?;
            let change_value = change_entry(kind, id);
            saved.push(Saved {
                op_id: Some(op.op_id),
                hlc,
            });
            prepared.push(Prepared {
                id,
                rkey,
                skey,
                sealed_record,
                summary,
                old_seq,
                old_index,
                new_index,
                seq,
                change_value,
                okey,
                sealed_op,
                op_id: op.op_id,
            });
        }
        if prepared.is_empty() {
            return Ok(saved);
        }

        // One atomic sled batch (the writes touch one tree and read nothing back, so a
        // transaction's conflict tracking buys nothing and costs a lot on an import).
        let mut writes = sled::Batch::default();
        for p in &prepared {
            match &p.sealed_record {
                Some(sealed) => {
                    writes.insert(p.rkey.as_slice(), sealed.as_slice());
                    if let Some(summary) = &p.summary {
                        writes.insert(p.skey.as_slice(), summary.as_slice());
                    }
                    writes.insert(&change_key(p.seq), p.change_value.as_slice());
                }
                None => {
                    writes.remove(p.rkey.as_slice());
                    writes.remove(p.skey.as_slice());
                }
            }
            if let Some(old_seq) = p.old_seq {
                writes.remove(&change_key(old_seq));
            }
            writes.insert(&p.okey, p.sealed_op.as_slice());
            writes.insert(&opid_key(p.op_id), &p.seq.to_be_bytes());
        }
        writes.insert(META_SEQ, &seq.to_be_bytes());
        writes.insert(META_HLC, &hlc.to_bytes());
        if let Some(token) = undo {
            for (n, p) in prepared.iter().enumerate() {
                let (kind, id) = crate::layout::parse_record_key(&p.rkey)?;
                let step = crate::undo::Step {
                    kind,
                    id,
                    old: match p.old_seq {
                        Some(old_seq) => Some(crate::undo::Old {
                            seq: old_seq,
                            sealed: self
                                .db
                                .get(&p.rkey)?
                                .map(|v| v.to_vec())
                                .unwrap_or_default(),
                            summary: self.db.get(&p.skey)?.map(|v| v.to_vec()),
                        }),
                        None => None,
                    },
                    seq: p.seq,
                    op_id: p.op_id,
                };
                let (key, value) = step.entry(token, n);
                writes.insert(key, value);
            }
        }
        self.db.apply_batch(writes)?;
        self.db.flush()?;
        w.seq = seq;
        w.hlc = hlc;
        let mut ix = self.index_write();
        for p in &prepared {
            if p.old_index != p.new_index {
                ix.remove(p.id, &p.old_index);
                ix.add(p.id, &p.new_index);
            }
        }
        Ok(saved)
    }
}
