//! Who this store is to its server: a re-enrollment makes it a new device (a server never lets
//! a device id be taken over, so a device moving to another server address, or enrolled again,
//! gets a new id), and a cursor that no longer matches the server is forgotten.

use std::collections::{HashMap, HashSet};

use reintegra_core::hlc::node_of;
use reintegra_core::ids::DeviceId;
use reintegra_core::op::{Action, Change, EntityKind, Op};
use reintegra_core::sync_state;
use serde_json::Value;
use uuid::Uuid;

use crate::engine::Store;
use crate::error::{guarded, Error, Result};
use crate::layout::{
    be_u64, now_ms, opid_key, outbox_key, META_DEVICE, META_HLC, META_PULL, META_SEQ, META_SERVER,
    META_SYNC, P_OUTBOX,
};

impl Store {
    /// Forgets how far this device has pulled (another server, or its server restored from an
    /// older copy): the next pull starts from the beginning. Local records and the outbox stay.
    pub fn reset_pull_cursor(&self) -> Result<()> {
        guarded(|| {
            let mut w = self.write_lock();
            self.db.insert(META_PULL, &0u64.to_be_bytes())?;
            self.db.flush()?;
            w.pulled = 0;
            Ok(())
        })
    }

    /// Adds to `batch` every outbox op not yet `device`'s, re-sealed as that device's (its id
    /// and clock node). The caller holds the write lock.
    pub(crate) fn restamp_outbox(&self, device: DeviceId, batch: &mut sled::Batch) -> Result<()> {
        for item in self.db.scan_prefix([P_OUTBOX]) {
            let (key, sealed) = item?;
            let plain = self.keys.open(&key, &sealed)?;
            let mut op: Op = serde_json::from_slice(&plain)
                .map_err(|_| Error::Corrupt("an outbox entry does not read back".into()))?;
            if op.device == device {
                continue;
            }
            op.device = device;
            op.hlc.node = node_of(device);
            let plain = zeroize::Zeroizing::new(
                serde_json::to_vec(&op).map_err(|e| Error::Engine(e.to_string()))?,
            );
            batch.insert(key.as_ref(), self.keys.seal(&key, &plain)?);
        }
        Ok(())
    }
}

impl Store {
    /// A re-enrollment in one step: this store becomes `device` — the id is written, the clock's
    /// node is the new device's, and the ops still in the outbox become its (same op ids, so one
    /// the old id had already sent is a `duplicate` on the server, never applied twice) —, keeps `settings` (the new token, sealed), and with `reset_cursor` (another server)
    /// forgets how far it pulled. A crash leaves either the old enrollment or the new one.
    pub fn reenrolled(
        &self,
        device: DeviceId,
        settings: &crate::sync::SyncSettings,
        reset_cursor: bool,
    ) -> Result<()> {
        guarded(|| {
            let mut w = self.write_lock();
            let mut batch = sled::Batch::default();
            self.restamp_outbox(device, &mut batch)?;
            let mut hlc = w.hlc;
            hlc.node = node_of(device);
            batch.insert(META_HLC, &hlc.to_bytes());
            batch.insert(META_DEVICE, device.as_uuid().as_bytes());
            let plain = zeroize::Zeroizing::new(
                serde_json::to_vec(settings).map_err(|e| Error::Invalid(e.to_string()))?,
            );
            batch.insert(META_SYNC, self.keys.seal(META_SYNC, &plain)?);
            if reset_cursor {
                // Another server: learnt afresh, not taken for this one restored.
                batch.insert(META_PULL, &0u64.to_be_bytes());
                batch.remove(META_SERVER);
            }
            self.db.apply_batch(batch)?;
            self.db.flush()?;
            w.hlc = hlc;
            if reset_cursor {
                w.pulled = 0;
            }
            self.set_device(device);
            Ok(())
        })
    }
}

impl Store {
    /// The server's id and epoch as of the last pull, if known.
    pub fn server_mark(&self) -> Result<Option<(Uuid, u64)>> {
        let Some(raw) = self.db.get(META_SERVER)? else {
            return Ok(None);
        };
        let (id, epoch) = raw
            .split_at_checked(16)
            .ok_or_else(|| Error::Corrupt("the server's mark is damaged".into()))?;
        let id = Uuid::from_slice(id).map_err(|_| Error::Corrupt("the server's mark".into()))?;
        Ok(Some((id, be_u64(epoch)?)))
    }

    pub fn set_server_mark(&self, id: Uuid, epoch: u64) -> Result<()> {
        if self.server_mark()? == Some((id, epoch)) {
            return Ok(());
        }
        let mut raw = id.as_bytes().to_vec();
        raw.extend_from_slice(&epoch.to_be_bytes());
        self.db.insert(META_SERVER, raw)?;
        self.db.flush()?;
        Ok(())
    }

    /// Repair after the server was restored from an older copy (`docs/sync.md`): the server
    /// may have lost what this device had sent, so nothing here is dropped or overwritten.
    /// For one bucket: a record of the server's this device lacks is taken; a record of this
    /// device's scope the server lacks, or holds otherwise, is sent again whole (an outbox
    /// Create of this device's copy — which already holds what the restored server had, pulled
    /// from its start). Returns (records taken, records sent again).
    pub fn reconcile_after_restore(
        &self,
        office: &str,
        bucket: u8,
        remote: &[crate::sync::RemoteRecord],
    ) -> Result<(usize, usize)> {
        let local: HashMap<(EntityKind, Uuid), Value> = self
            .scoped_records(office)?
            .into_iter()
            .filter(|(_, id, _)| sync_state::bucket_of(*id) == bucket)
            .map(|(entity, id, value)| ((entity, id), value))
            .collect();
        let mut take = Vec::new();
        let mut send = Vec::new();
        let mut on_server = HashSet::new();
        for r in remote {
            on_server.insert((r.entity, r.id));
            match local.get(&(r.entity, r.id)) {
                None => take.push(Change {
                    entity: r.entity,
                    id: r.id,
                    action: Action::Create {
                        record: r.record.clone(),
                    },
                }),
                Some(mine)
                    if sync_state::record_hash(r.entity, r.id, mine)
                        != sync_state::record_hash(r.entity, r.id, &r.record) =>
                {
                    send.push((r.entity, r.id, mine.clone()));
                }
                Some(_) => {}
            }
        }
        for ((entity, id), value) in &local {
            if !on_server.contains(&(*entity, *id)) {
                send.push((*entity, *id, value.clone()));
            }
        }
        let taken = if take.is_empty() {
            0
        } else {
            self.apply_remote(take, None, None)?
        };
        let sent = self.send_again(send)?;
        Ok((taken, sent))
    }

    /// Puts a Create op of each record, as this device holds it, in the outbox (the record
    /// itself is unchanged).
    fn send_again(&self, records: Vec<(EntityKind, Uuid, Value)>) -> Result<usize> {
        if records.is_empty() {
            return Ok(0);
        }
        guarded(|| {
            let mut w = self.write_lock();
            let (mut seq, mut hlc) = (w.seq, w.hlc);
            let mut batch = sled::Batch::default();
            let n = records.len();
            for (entity, id, record) in records {
                seq += 1;
                hlc = hlc.tick(now_ms());
                let op = Op {
                    op_id: Uuid::now_v7(),
                    author: self.user(),
                    device: self.device(),
                    hlc,
                    base_seq: w.pulled,
                    change: Change {
                        entity,
                        id,
                        action: Action::Create { record },
                    },
                };
                let okey = outbox_key(seq, op.op_id);
                let plain = zeroize::Zeroizing::new(
                    serde_json::to_vec(&op).map_err(|e| Error::Invalid(e.to_string()))?,
                );
                batch.insert(okey.as_slice(), self.keys.seal(&okey, &plain)?);
                batch.insert(opid_key(op.op_id).as_slice(), &seq.to_be_bytes());
            }
            batch.insert(META_SEQ, &seq.to_be_bytes());
            batch.insert(META_HLC, &hlc.to_bytes());
            self.db.apply_batch(batch)?;
            self.db.flush()?;
            w.seq = seq;
            w.hlc = hlc;
            Ok(n)
        })
    }
}
