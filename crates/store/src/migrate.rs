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

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod fixture {
    //! Writes `tests/fixtures/schema-v0/`, a store in the schema-v0 layout, as the first
    //! prototype wrote it. Run once: `cargo test -p reintegra-store write_schema_v0_fixture -- --ignored`.
    //! Login `fixture`, passphrase `fixture-passphrase` (Argon2id parameters: INSECURE_FAST).

    use chrono::{NaiveDate, TimeZone, Utc};
    use reintegra_core::case_note::CaseNote;
    use reintegra_core::dui::Dui;
    use reintegra_core::follow_up::{FollowUp, FollowUpChannel};
    use reintegra_core::ids::*;
    use reintegra_core::person::Person;
    use reintegra_core::referral::{Referral, ServiceType};
    use uuid::Uuid;

    use crate::crypto::{random_secret, KdfParams, KeySlot, Keys};
    use crate::engine::Record;
    use crate::keyring::{open_sled, slot_aad_with, slot_key_with};
    use crate::layout::{record_key, META_DEVICE, META_SLOT_SALT, META_STORE_ID};

    fn put<R: Record>(db: &sled::Db, keys: &Keys, r: &R) {
        let key = record_key(R::KIND, r.record_id());
        let json = serde_json::to_vec(r).unwrap();
        db.insert(key.clone(), keys.seal_v0(&key, &json)).unwrap();
    }

    #[test]
    #[ignore = "writes the committed fixture; run by hand when the v0 fixture must be regenerated"]
    fn write_schema_v0_fixture() {
        let dir = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/schema-v0");
        let _ = std::fs::remove_dir_all(&dir);
        std::fs::create_dir_all(&dir).unwrap();
        let db = open_sled(&dir).unwrap();
        let data_key = random_secret();
        let keys = Keys::new(random_secret());
        drop(keys);
        let keys = Keys::new(data_key.clone());
        let store_id = [7u8; 16];
        let salt = [9u8; 32];
        db.insert(META_STORE_ID, &store_id).unwrap();
        db.insert(META_SLOT_SALT, &salt).unwrap();
        db.insert(
            META_DEVICE,
            Uuid::from_u128(0x0190_0000_0000_7000_8000_0000_0000_0d0d).as_bytes(),
        )
        .unwrap();
        let skey = slot_key_with(&salt, "fixture");
        let slot = KeySlot::wrap(
            &data_key,
            "fixture-passphrase",
            KdfParams::INSECURE_FAST,
            Uuid::from_u128(0x0190_0000_0000_7000_8000_0000_0000_0001),
            &slot_aad_with(&store_id, &skey),
        )
        .unwrap();
        db.insert(skey, serde_json::to_vec(&slot).unwrap()).unwrap();

        let at = Utc.with_ymd_and_hms(2024, 3, 1, 9, 0, 0).unwrap();
        let user = UserId::new(Uuid::from_u128(0x0190_0000_0000_7000_8000_0000_0000_0001));
        let pid = |n: u128| {
            PersonId::new(Uuid::from_u128(
                0x0190_0000_0000_7000_8000_0000_0000_1000 + n,
            ))
        };
        let mut a = Person::new(pid(1), "Rosa Amelia", "Martínez", at);
        a.second_surname = "Cruz".into();
        a.dui = Some(Dui::from_body("03456789").unwrap());
        a.phone = "7890-1234".into();
        a.destination_district = "SV-AH-atiquizaya".into();
        let mut b = Person::new(pid(2), "Kevin Alexander", "Rivas", at);
        b.destination_district = "SV-AH-el-refugio".into();
        let c = Person::new(pid(3), "Wendy", "Flores", at);
        for p in [&a, &b, &c] {
            put(&db, &keys, p);
        }
        let r = Referral::propose(
            ReferralId::new(Uuid::from_u128(0x2001)),
            pid(1),
            ServiceType::Vocational,
            at,
            user,
        );
        put(&db, &keys, &r);
        let f = FollowUp::new(
            FollowUpId::new(Uuid::from_u128(0x3001)),
            pid(1),
            NaiveDate::from_ymd_opt(2024, 4, 1).unwrap(),
            FollowUpChannel::Phone,
        );
        put(&db, &keys, &f);
        let n = CaseNote {
            id: CaseNoteId::new(Uuid::from_u128(0x4001)),
            person: pid(2),
            text: "Primera entrevista".into(),
            author: user,
            at,
            sensitive: false,
        };
        put(&db, &keys, &n);
        db.flush().unwrap();
    }
}
