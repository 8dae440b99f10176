//! Who this store is to its server: a re-enrollment makes it a new device (a server never lets
//! a device id be taken over, so a device moving to another server address, or enrolled again,
//! gets a new id), and a cursor that no longer matches the server is forgotten.

use reintegra_core::hlc::node_of;
use reintegra_core::ids::DeviceId;
use reintegra_core::op::Op;

use crate::engine::Store;
use crate::error::{guarded, Error, Result};
use crate::layout::{META_DEVICE, META_HLC, META_PULL, META_SYNC, P_OUTBOX};

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
                batch.insert(META_PULL, &0u64.to_be_bytes());
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
