//! Backup → restore round trip; refusals; damaged backups.
#![allow(clippy::unwrap_used)] // tests may unwrap

mod common;

use common::*;
use reintegra_core::ids::{DeviceId, UserId};
use reintegra_store::{restore, Error, KdfParams};
use uuid::Uuid;

const NEW_DEVICE: DeviceId = DeviceId::new(Uuid::from_u128(0xdead_beef));

fn filled_store(dir: &std::path::Path) -> reintegra_store::Store {
    let store = create(dir);
    store
        .set_sync_settings(Some(&reintegra_store::SyncSettings {
            endpoint: "https://reintegra.example".into(),
            device_token: "a1b2c3d4e5f6a7b8c9d0".repeat(3),
            office: "*".into(),
            server_id: Uuid::from_u128(7),
        }))
        .unwrap();
    for n in 0..300u128 {
        let mut p = person(n, &format!("Persona{n}"), "Apellido");
        p.household_notes = "nota ".repeat(n as usize % 50);
        store.save_person(&p).unwrap();
    }
    store
        .add_user(
            "bea",
            UserId::new(Uuid::from_u128(0xbea)),
            "contraseña de bea",
            KdfParams::INSECURE_FAST,
        )
        .unwrap();
    store
}

#[test]
fn backup_restores_everything_on_a_new_device() {
    let tmp = tempfile::tempdir().unwrap();
    let store = filled_store(&tmp.path().join("a"));
    let ops = store.outbox(1000).unwrap();
    store.ack_through(ops[99].op.op_id).unwrap();
    let file = tmp.path().join("copia.rbk");
    let info = store.backup(&file).unwrap();
    assert_eq!(info.bytes, std::fs::metadata(&file).unwrap().len());
    assert!(matches!(store.backup(&file), Err(Error::AlreadyExists(_))));
    let persons = store.persons().unwrap();
    let outbox = store.outbox(1000).unwrap();

    // Restored with another user's passphrase, onto another device.
    let restored = restore(
        &file,
        tmp.path().join("b"),
        "bea",
        "contraseña de bea",
        NEW_DEVICE,
    )
    .unwrap();
    assert_eq!(restored.persons().unwrap(), persons);
    // The waiting ops, now this device's (the server takes a device's ops only with its id
    // and clock node); the same op ids, so one already sent is a duplicate, not a second op.
    let waiting = restored.outbox(1000).unwrap();
    assert_eq!(waiting.len(), outbox.len());
    for (got, was) in waiting.iter().zip(&outbox) {
        assert_eq!((got.seq, got.op.op_id), (was.seq, was.op.op_id));
        assert_eq!(got.op.change, was.op.change);
        assert_eq!(got.op.device, NEW_DEVICE);
        assert_eq!(got.op.hlc.node, reintegra_core::hlc::node_of(NEW_DEVICE));
        assert_eq!(got.op.hlc.wall_ms, was.op.hlc.wall_ms);
    }
    assert_eq!(restored.device(), NEW_DEVICE);
    assert_eq!(restored.persons_by_name_word("persona7").unwrap().len(), 1);
    // The restored store goes on: new ops come after the restored ones, by this device.
    let saved = restored
        .save_person(&person(1000, "Nueva", "Persona"))
        .unwrap();
    let last = restored.outbox(1000).unwrap().pop().unwrap();
    assert_eq!(Some(last.op.op_id), saved.op_id);
    assert_eq!(last.op.device, NEW_DEVICE);
    assert!(last.op.hlc > outbox.last().unwrap().op.hlc);
    // No device token came along: the copy must enroll anew.
    assert_eq!(restored.sync_settings().unwrap(), None);
    drop(restored);
    // And it reopens with the original user's passphrase too.
    let again = reintegra_store::LockedStore::open(tmp.path().join("b"))
        .unwrap()
        .unlock(LOGIN, PASS)
        .unwrap();
    assert_eq!(again.person_count(), 301);
}

#[test]
fn restore_never_merges_into_a_non_empty_directory() {
    let tmp = tempfile::tempdir().unwrap();
    let store = filled_store(&tmp.path().join("a"));
    let file = tmp.path().join("copia.rbk");
    store.backup(&file).unwrap();
    // Into an existing store: refused, the store untouched.
    let other = tmp.path().join("other");
    drop(create(&other));
    let before = snapshot(&other);
    let err = restore(&file, &other, LOGIN, PASS, NEW_DEVICE).unwrap_err();
    assert!(matches!(err, Error::RestoreTargetNotEmpty(_)), "{err}");
    assert_eq!(snapshot(&other), before);
    // Into the live store itself: refused too.
    assert!(matches!(
        restore(&file, tmp.path().join("a"), LOGIN, PASS, NEW_DEVICE),
        Err(Error::RestoreTargetNotEmpty(_))
    ));
    // Wrong passphrase / unknown user: nothing created.
    let target = tmp.path().join("c");
    assert!(matches!(
        restore(&file, &target, LOGIN, "no es", NEW_DEVICE),
        Err(Error::WrongPassphrase)
    ));
    assert!(matches!(
        restore(&file, &target, "nadie", PASS, NEW_DEVICE),
        Err(Error::UnknownUser(_))
    ));
    assert!(!target.exists());
}

#[test]
fn damaged_or_truncated_backups_are_refused_without_panic() {
    let tmp = tempfile::tempdir().unwrap();
    let store = filled_store(&tmp.path().join("a"));
    let file = tmp.path().join("copia.rbk");
    store.backup(&file).unwrap();
    let good = std::fs::read(&file).unwrap();
    let target = tmp.path().join("target");

    let mut cases: Vec<(String, Vec<u8>)> = vec![
        ("empty".into(), Vec::new()),
        ("garbage".into(), b"hola, esto no es una copia".repeat(10)),
    ];
    for cut in [1, 16, 30, good.len() / 2, good.len() - 33, good.len() - 1] {
        cases.push((format!("truncated at {cut}"), good[..cut].to_vec()));
    }
    for at in [0, 20, 40, good.len() / 3, good.len() - 40, good.len() - 5] {
        let mut bad = good.clone();
        bad[at] ^= 0x40;
        cases.push((format!("flipped byte {at}"), bad));
    }
    for (what, bytes) in cases {
        let path = tmp.path().join("bad.rbk");
        std::fs::write(&path, &bytes).unwrap();
        let err = restore(&path, &target, LOGIN, PASS, NEW_DEVICE)
            .err()
            .unwrap_or_else(|| panic!("{what}: accepted"));
        assert!(matches!(err, Error::CorruptBackup(_)), "{what}: {err:?}");
        assert!(!target.exists(), "{what}: left files behind");
    }
    // Recomputing the checksum does not help a forger: the chunks are authenticated.
    let mut forged = good.clone();
    let body = forged.len() - 32;
    forged[body - 10] ^= 1;
    let sum = blake3::hash(&forged[..body]);
    forged[body..].copy_from_slice(sum.as_bytes());
    let path = tmp.path().join("forged.rbk");
    std::fs::write(&path, &forged).unwrap();
    assert!(matches!(
        restore(&path, &target, LOGIN, PASS, NEW_DEVICE),
        Err(Error::CorruptBackup(_))
    ));
    assert!(!target.exists());
}
