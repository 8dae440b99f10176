//! Writes `tests/fixtures/schema-v0/`, a store in the schema-v0 layout (see `migrate.rs`), as
//! the first prototype wrote it. Test-only. Run once:
//! `cargo test -p reintegra-store write_schema_v0_fixture -- --ignored`.
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
use crate::keyring::{open_sled, slot_aad_with, slot_key_with};
use crate::layout::{record_key, META_DEVICE, META_SLOT_SALT, META_STORE_ID};
use crate::Record;

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
