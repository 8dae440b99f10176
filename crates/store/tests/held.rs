//! H5, the device's half: a pulled record this build cannot read (an enum value of a newer
//! version, a broken record) is held aside verbatim and the page goes on — the cursor moves,
//! the other records of the page are written, the local copy stays readable, the state hash
//! counts what the server has — and it becomes a record again once it reads.
#![allow(clippy::unwrap_used)]

mod common;

use common::*;
use reintegra_core::hlc::Hlc;
use reintegra_core::ids::{DeviceId, UserId};
use reintegra_core::op::{Action, Change, EntityKind, Op};
use reintegra_core::sync_state;
use serde_json::{json, Value};
use uuid::Uuid;

fn remote(n: u128, id: Uuid, action: Action) -> Op {
    Op {
        op_id: Uuid::from_u128(0xAB00 + n),
        author: UserId::new(Uuid::from_u128(77)),
        device: DeviceId::new(Uuid::from_u128(78)),
        hlc: Hlc {
            wall_ms: 1_700_000_000_000,
            counter: n as u32,
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

fn json_of(n: u128, given: &str) -> Value {
    serde_json::to_value(person(n, given, "López")).unwrap()
}

#[test]
fn an_unreadable_pulled_record_is_held_and_the_pull_goes_on() {
    let dir = tempfile::tempdir().unwrap();
    let store = create(dir.path());
    let (a, b, c) = (pid(1), pid(2), pid(3));
    // The device has b already, readable.
    store
        .apply_pulled(
            vec![remote(
                1,
                b.as_uuid(),
                Action::Create {
                    record: json_of(2, "Berta"),
                },
            )],
            1,
        )
        .unwrap();

    // A page: a newer version's value on a new person, a broken edit of b, and a good person.
    let mut newer = json_of(1, "Ana");
    newer["sex"] = json!("intersex");
    let page = vec![
        remote(
            2,
            a.as_uuid(),
            Action::Create {
                record: newer.clone(),
            },
        ),
        remote(
            3,
            b.as_uuid(),
            Action::Update {
                fields: json!({"skills": 5}).as_object().unwrap().clone(),
            },
        ),
        remote(
            4,
            c.as_uuid(),
            Action::Create {
                record: json_of(3, "Carla"),
            },
        ),
    ];
    store.apply_pulled(page, 4).unwrap();
    assert_eq!(store.pull_cursor(), 4, "the cursor moved past the page");
    assert_eq!(store.person(c).unwrap().unwrap().given_names, "Carla");
    assert_eq!(
        store.person(a).unwrap(),
        None,
        "not a record it cannot read"
    );
    assert_eq!(
        store.person(b).unwrap().unwrap().given_names,
        "Berta",
        "the local copy stays readable"
    );
    let held = store.held().unwrap();
    let mut ids: Vec<Uuid> = held.iter().map(|h| h.id).collect();
    ids.sort();
    assert_eq!(ids, [a.as_uuid(), b.as_uuid()]);
    let a_held = held.iter().find(|h| h.id == a.as_uuid()).unwrap();
    assert_eq!(a_held.record, newer, "kept verbatim");
    assert!(a_held.reason.contains("intersex"), "{}", a_held.reason);

    // The state hash counts the held JSON, as the server has it.
    let mut b_held = json_of(2, "Berta");
    b_held["skills"] = json!(5);
    let mut server = sync_state::StateHasher::default();
    for (id, value) in [
        (a.as_uuid(), &newer),
        (b.as_uuid(), &b_held),
        (c.as_uuid(), &json_of(3, "Carla")),
    ] {
        server.add(id, sync_state::record_hash(EntityKind::Person, id, value));
    }
    assert_eq!(
        store.state_hasher("*").unwrap().state_hash(),
        server.state_hash()
    );

    // A later change applies to the held JSON; once it reads, it is a record again.
    store
        .apply_pulled(
            vec![remote(
                5,
                b.as_uuid(),
                Action::Update {
                    fields: json!({"skills": ["carpintería"], "given_names": "Berta M."})
                        .as_object()
                        .unwrap()
                        .clone(),
                },
            )],
            5,
        )
        .unwrap();
    let b_now = store.person(b).unwrap().unwrap();
    assert_eq!(
        (b_now.given_names.as_str(), b_now.skills.clone()),
        ("Berta M.", vec!["carpintería".to_string()])
    );
    assert_eq!(store.held().unwrap().len(), 1);
    // Retrying what is still unreadable keeps it held; a restart keeps the hold.
    assert_eq!(store.retry_held().unwrap(), 0);
    drop(store);
    let store = reopen(dir.path());
    assert_eq!(store.held().unwrap().len(), 1);
    assert_eq!(store.pull_cursor(), 5);
}
