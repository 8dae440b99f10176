//! Acting on the quarantine (issue 20, item 6): an op the server refused is retried — put back
//! at the end of the outbox, re-stamped — or discarded. Who may do it and the audit entry are
//! the api's; this is what each does to the store.

use reintegra_core::op::{Action, Change, Op};
use serde_json::{Map, Value};
use uuid::Uuid;
use zeroize::Zeroizing;

use crate::engine::Store;
use crate::error::{guarded, Error, Result};
use crate::layout::{now_ms, opid_key, outbox_key, quarantine_key, record_key, META_HLC, META_SEQ};
use crate::sync::Quarantined;

impl Store {
    /// The quarantined op `op_id`, if there is one.
    pub fn quarantined_op(&self, op_id: Uuid) -> Result<Option<Quarantined>> {
        guarded(|| {
            let key = quarantine_key(op_id);
            let Some(sealed) = self.db.get(key)? else {
                return Ok(None);
            };
            let entry = serde_json::from_slice(&self.keys.open(&key, &sealed)?)
                .map_err(|_| Error::Corrupt("a quarantined op does not read back".into()))?;
            Ok(Some(entry))
        })
    }

    /// Retries a quarantined op: a new op (new id, this device's clock now, the current pull
    /// cursor as its base) goes to the end of the outbox with the **record as this device holds
    /// it now** for the fields the refused op changed (the whole record for a create) — not the
    /// refused values, which later local edits may have replaced — by the refused op's author.
    /// The quarantined entry leaves in the same batch. `None` when there is nothing left to
    /// send (the record is gone here); the entry leaves then too. `Ok(None)` also when there
    /// is no such entry.
    pub fn requeue_quarantined(&self, op_id: Uuid) -> Result<Option<Op>> {
        let Some(entry) = self.quarantined_op(op_id)? else {
            return Ok(None);
        };
        guarded(|| {
            let mut w = self.write_lock();
            let refused = &entry.op;
            let rkey = record_key(refused.change.entity, refused.change.id);
            let local = match self.read_raw(&rkey)? {
                Some((_, bytes)) => Some(
                    serde_json::from_slice::<Value>(&bytes)
                        .map_err(|_| Error::Corrupt("a stored record is not JSON".into()))?,
                ),
                None => None,
            };
            let action = match (&refused.change.action, local) {
                (Action::Delete, None) => Some(Action::Delete),
                // Not here any more: the refused record itself.
                (Action::Create { record }, None) => Some(Action::Create {
                    record: record.clone(),
                }),
                (Action::Update { .. }, None) => None,
                (Action::Update { fields }, Some(Value::Object(record))) => Some(Action::Update {
                    fields: fields
                        .keys()
                        .map(|f| (f.clone(), record.get(f).cloned().unwrap_or(Value::Null)))
                        .collect::<Map<String, Value>>(),
                }),
                (_, Some(record)) => Some(Action::Create { record }),
            };
            let mut batch = sled::Batch::default();
            batch.remove(&quarantine_key(op_id));
            let op = match action {
                None => None,
                Some(action) => {
                    let seq = w.seq + 1;
                    let mut clock = w.hlc;
                    let hlc = clock.tick(now_ms());
                    let op = Op {
                        op_id: Uuid::now_v7(),
                        author: refused.author,
                        device: self.device(),
                        hlc,
                        base_seq: w.pulled,
                        change: Change {
                            entity: refused.change.entity,
                            id: refused.change.id,
                            action,
                        },
                    };
                    let okey = outbox_key(seq, op.op_id);
                    let json = Zeroizing::new(
                        serde_json::to_vec(&op).map_err(|e| Error::Invalid(e.to_string()))?,
                    );
                    batch.insert(&okey, self.keys.seal(&okey, &json)?);
                    batch.insert(&opid_key(op.op_id), &seq.to_be_bytes());
                    batch.insert(META_SEQ, &seq.to_be_bytes());
                    batch.insert(META_HLC, &hlc.to_bytes());
                    Some((op, seq, hlc))
                }
            };
            self.db.apply_batch(batch)?;
            self.db.flush()?;
            Ok(op.map(|(op, seq, hlc)| {
                w.seq = seq;
                w.hlc = hlc;
                op
            }))
        })
    }

    /// Discards a quarantined op: it will not be sent. The local record keeps what the op
    /// wrote until the state-hash repair of a sync brings the server's version back (once the
    /// outbox is empty). Returns the entry, or `None` if there was none.
    pub fn discard_quarantined(&self, op_id: Uuid) -> Result<Option<Quarantined>> {
        let entry = self.quarantined_op(op_id)?;
        if entry.is_some() {
            guarded(|| {
                let _w = self.write_lock();
                self.db.remove(quarantine_key(op_id))?;
                self.db.flush()?;
                Ok(())
            })?;
        }
        Ok(entry)
    }
}
