//! Migration from the committed schema-v0 fixture (`tests/fixtures/schema-v0`, written by
//! `write_schema_v0_fixture` in src/v0_fixture.rs): one atomic step at unlock.
#![allow(clippy::unwrap_used)] // tests may unwrap

mod common;

use std::path::{Path, PathBuf};

use common::files_under;
use reintegra_core::dui::Dui;
use reintegra_core::ids::PersonId;
use reintegra_core::op::{Action, EntityKind};
use reintegra_store::{Error, LockedStore, SCHEMA_VERSION};
use uuid::Uuid;

fn fixture_copy(tmp: &Path) -> PathBuf {
    let src = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/schema-v0");
    let dst = tmp.join("v0");
    for f in files_under(&src) {
        let to = dst.join(f.strip_prefix(&src).unwrap());
        std::fs::create_dir_all(to.parent().unwrap()).unwrap();
        std::fs::copy(&f, &to).unwrap();
    }
    dst
}

fn pid(n: u128) -> PersonId {
    PersonId::new(Uuid::from_u128(
        0x0190_0000_0000_7000_8000_0000_0000_1000 + n,
    ))
}

#[test]
fn a_schema_v0_store_is_migrated_at_unlock() {
    let tmp = tempfile::tempdir().unwrap();
    let dir = fixture_copy(tmp.path());
    let locked = LockedStore::open(&dir).unwrap();
    assert_eq!(locked.schema_version(), 0);
    assert!(matches!(
        locked.unlock("fixture", "wrong passphrase"),
        Err(Error::WrongPassphrase)
    ));
    let store = locked.unlock("fixture", "fixture-passphrase").unwrap();

    let persons = store.persons().unwrap();
    assert_eq!(persons.len(), 3);
    assert_eq!(persons[0].given_names, "Rosa Amelia");
    // v1 indexes were built.
    let dui = Dui::from_body("03456789").unwrap();
    assert_eq!(store.persons_by_dui(&dui).unwrap()[0].id, pid(1));
    assert_eq!(
        store
            .persons_by_destination_municipality("SV-AH-norte")
            .unwrap()
            .len(),
        2
    );
    assert_eq!(store.persons_by_name_word("martinez").unwrap().len(), 1);
    assert_eq!(store.referrals_of_person(pid(1)).unwrap().len(), 1);
    assert_eq!(store.follow_ups_of_person(pid(1)).unwrap().len(), 1);
    assert_eq!(
        store.case_notes_of_person(pid(2)).unwrap()[0].text,
        "Primera entrevista"
    );
    // v0 records were never synced: each is queued as a Create op, by the unlocking user.
    let outbox = store.outbox(100).unwrap();
    assert_eq!(outbox.len(), 6);
    assert!(outbox
        .iter()
        .all(|e| matches!(e.op.change.action, Action::Create { .. })));
    assert!(outbox.iter().all(|e| e.op.author == store.user()));
    assert_eq!(
        outbox
            .iter()
            .filter(|e| e.op.change.entity == EntityKind::Person)
            .count(),
        3
    );
    assert_eq!(store.recent_changes(10).unwrap().len(), 6);
    drop(store);
    drop(locked);

    let locked = LockedStore::open(&dir).unwrap();
    assert_eq!(locked.schema_version(), SCHEMA_VERSION);
    let store = locked.unlock("fixture", "fixture-passphrase").unwrap();
    assert_eq!(
        store.outbox_len(),
        6,
        "migrating twice must not queue twice"
    );
}

#[test]
fn a_failing_migration_leaves_the_store_untouched() {
    let tmp = tempfile::tempdir().unwrap();
    let dir = fixture_copy(tmp.path());
    // A damaged v0 record (the last one): the migration must fail as a whole.
    let mut bad_key = vec![b'r', EntityKind::Audit.code()];
    bad_key.extend_from_slice(&[0xff; 16]);
    let before = {
        let db = sled::open(&dir).unwrap();
        db.insert(&bad_key, vec![1u8; 60]).unwrap();
        db.flush().unwrap();
        db.iter().map(|kv| kv.unwrap()).collect::<Vec<_>>()
    };
    let locked = LockedStore::open(&dir).unwrap();
    let err = locked.unlock("fixture", "fixture-passphrase").unwrap_err();
    assert!(matches!(err, Error::Corrupt(_)), "{err:?}");
    drop(locked);
    let db = sled::open(&dir).unwrap();
    let after = db.iter().map(|kv| kv.unwrap()).collect::<Vec<_>>();
    assert_eq!(before, after, "nothing of the migration may be written");
}
