//! The device's side of sync: what a pull may and may not change, acknowledgements,
//! quarantine, the cursor, and the sealed settings.
#![allow(clippy::unwrap_used)]

mod common;

use common::*;
use reintegra_core::hlc::Hlc;
use reintegra_core::ids::{DeviceId, UserId};
use reintegra_core::op::{Action, Change, EntityKind, Op};
use reintegra_store::SyncSettings;
use serde_json::json;
use uuid::Uuid;

/// An op from another device, as a pull hands it over.
fn remote(id: Uuid, action: Action) -> Op {
    Op {
        op_id: Uuid::from_u128(0xAB00 + id.as_u128() % 0xFF),
        author: UserId::new(Uuid::from_u128(77)),
        device: DeviceId::new(Uuid::from_u128(78)),
        hlc: Hlc {
            wall_ms: 1_700_000_000_000,
            counter: 0,
            node: 78,
        },
        base_seq: 0,
        change: Change {
            entity: EntityKind::Person,
            id,
            action,
        },
    }
}

fn fields(v: serde_json::Value) -> Action {
    Action::Update {
        fields: v.as_object().unwrap().clone(),
    }
}

#[test]
fn a_pull_keeps_fields_with_unsynced_local_edits_and_takes_the_rest() {
    let dir = tempfile::tempdir().unwrap();
    let store = create(dir.path());
    let mut p = person(1, "Ana", "López");
    store.save_person(&p).unwrap();
    store
        .ack(
            &store
                .outbox(10)
                .unwrap()
                .iter()
                .map(|e| e.op.op_id)
                .collect::<Vec<_>>(),
        )
        .unwrap();
    // A local edit of the phone, not pushed yet.
    p.phone = "7111-1111".into();
    store.save_person(&p).unwrap();

    let pulled = remote(
        p.id.as_uuid(),
        fields(json!({"phone": "7999-9999", "occupation": "panadera"})),
    );
    assert_eq!(store.apply_pulled(vec![pulled], 5).unwrap(), 1);
    let now = store.person(p.id).unwrap().unwrap();
    assert_eq!(now.phone, "7111-1111", "the unsynced edit stays");
    assert_eq!(now.occupation, "panadera", "the other field is taken");
    assert_eq!(store.pull_cursor(), 5);
    assert_eq!(store.outbox_len(), 1, "a pull writes no ops");

    // New local ops carry the cursor as their base; it survives a restart.
    p.household_notes = "con su madre".into();
    store.save_person(&p).unwrap();
    let last = store.outbox(10).unwrap().pop().unwrap().op;
    assert_eq!(last.base_seq, 5);
    drop(store);
    let store = reopen(dir.path());
    assert_eq!(store.pull_cursor(), 5);
}

#[test]
fn a_pull_never_deletes_or_recreates_a_record_with_a_pending_create() {
    let dir = tempfile::tempdir().unwrap();
    let store = create(dir.path());
    let p = person(2, "Berta", "Díaz");
    store.save_person(&p).unwrap();
    store
        .apply_pulled(vec![remote(p.id.as_uuid(), Action::Delete)], 1)
        .unwrap();
    assert_eq!(store.person(p.id).unwrap(), Some(p.clone()));
    // Fields of a record this device does not have are not a record.
    let stranger = Uuid::from_u128(999);
    store
        .apply_pulled(vec![remote(stranger, fields(json!({"phone": "1"})))], 2)
        .unwrap();
    assert_eq!(store.person(stranger.into()).unwrap(), None);
}

#[test]
fn acknowledged_ops_leave_the_outbox_and_refused_ones_wait_in_quarantine() {
    let dir = tempfile::tempdir().unwrap();
    let store = create(dir.path());
    for n in 10..13 {
        store.save_person(&person(n, "P", "Q")).unwrap();
    }
    let ops: Vec<_> = store
        .outbox(10)
        .unwrap()
        .into_iter()
        .map(|e| e.op)
        .collect();
    assert_eq!(
        store.ack(&[ops[0].op_id, ops[0].op_id]).unwrap(),
        1,
        "a re-ack is harmless"
    );
    store
        .quarantine(ops[1].op_id, "deleted", "borrado en el servidor")
        .unwrap();
    assert_eq!(store.outbox_len(), 1);
    let q = store.quarantined().unwrap();
    assert_eq!(q.len(), 1);
    assert_eq!(
        (q[0].op.op_id, q[0].code.as_str()),
        (ops[1].op_id, "deleted")
    );
    drop(store);
    assert_eq!(reopen(dir.path()).quarantined().unwrap().len(), 1);
}

#[test]
fn the_device_token_is_sealed_on_disk() {
    let dir = tempfile::tempdir().unwrap();
    let store = create(dir.path());
    let token = "f00dcafe".repeat(8);
    let settings = SyncSettings {
        endpoint: "https://servidor.example".into(),
        device_token: token.clone(),
        office: "*".into(),
        server_id: Uuid::from_u128(5),
    };
    store.set_sync_settings(Some(&settings)).unwrap();
    store.flush().unwrap();
    for (path, _) in snapshot(dir.path()) {
        let bytes = std::fs::read(&path).unwrap();
        assert!(
            !bytes.windows(token.len()).any(|w| w == token.as_bytes()),
            "{} holds the token in clear",
            path.display()
        );
    }
    drop(store);
    assert_eq!(reopen(dir.path()).sync_settings().unwrap(), Some(settings));
}
