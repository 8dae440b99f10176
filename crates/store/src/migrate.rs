//! Schema migrations, run at unlock (they need the data key), each in one atomic sled batch:
//! either the whole store is at the new version or nothing changed.
//!
//! - **v0** (the first prototype): records at `r` + kind + id sealed as `nonce ‖ ciphertext` of
//!   their JSON (no format byte, no compression, no change sequence); no indexes, no change
//!   log, no outbox, no schema key.
//! - **v1**: the layout described in `layout.rs`. Migrating v0 rewrites every record in the v1
//!   format, builds its indexes and change-log entry, and queues a `Create` op for it (v0
//!   records were never synced), authored by the user who unlocked.

use reintegra_core::hlc::Hlc;
use reintegra_core::ids::{DeviceId, UserId};
use reintegra_core::op::{Action, Change, Op};
use uuid::Uuid;
use zeroize::Zeroizing;

use crate::crypto::Keys;
use crate::error::{guarded, Error, Result};
use crate::index;
use crate::layout::{
    change_entry, change_key, node_of, now_ms, opid_key, outbox_key, parse_record_key, read_fixed,
    read_schema, seal_record, summary_key, META_DEVICE, META_HLC, META_SCHEMA, META_SEQ, P_RECORD,
    SCHEMA_VERSION,
};

pub(crate) fn migrate(db: &sled::Db, keys: &Keys, from: u32, user: UserId) -> Result<()> {
    guarded(|| {
        // Re-read under the same handle: another unlock may have migrated already.
        let found = read_schema(db)?;
        if found != from || found >= SCHEMA_VERSION {
            return Ok(());
        }
        match found {
            0 => v0_to_v1(db, keys, user),
            other => Err(Error::Corrupt(format!("unknown schema version {other}"))),
        }
    })
}

fn v0_to_v1(db: &sled::Db, keys: &Keys, user: UserId) -> Result<()> {
    let device = DeviceId::new(Uuid::from_bytes(read_fixed(db, META_DEVICE, "device id")?));
    let mut hlc = Hlc::zero(node_of(device));
    let mut seq = 0u64;
    let mut batch = sled::Batch::default();
    for item in db.scan_prefix([P_RECORD]) {
        let (key, sealed) = item?;
        let (kind, id) = parse_record_key(&key)?;
        let json = keys.open_v0(&key, &sealed)?;
        let value: serde_json::Value = serde_json::from_slice(&json)
            .map_err(|_| Error::Corrupt("a schema-v0 record is not JSON".into()))?;
        let index = crate::domain::index_keys_of(kind, &value)?;
        seq += 1;
        let hlc_now = hlc.tick(now_ms());
        batch.insert(key.clone(), seal_record(keys, &key, seq, &json)?);
        let summary = index::encode(&index::entries(keys, &index));
        batch.insert(summary_key(kind, id), summary);
        batch.insert(&change_key(seq), change_entry(kind, id).as_slice());
        let op = Op {
            op_id: Uuid::now_v7(),
            author: user,
            device,
            hlc: hlc_now,
            base_seq: 0,
            change: Change {
                entity: kind,
                id,
                action: Action::Create { record: value },
            },
        };
        let okey = outbox_key(seq, op.op_id);
        let op_json =
            Zeroizing::new(serde_json::to_vec(&op).map_err(|e| Error::Engine(e.to_string()))?);
        batch.insert(&okey, keys.seal(&okey, &op_json)?);
        batch.insert(&opid_key(op.op_id), &seq.to_be_bytes());
    }
    batch.insert(META_SEQ, &seq.to_be_bytes());
    batch.insert(META_HLC, &hlc.to_bytes());
    batch.insert(META_SCHEMA, &SCHEMA_VERSION.to_be_bytes());
    db.apply_batch(batch)?;
    db.flush()?;
    Ok(())
}
