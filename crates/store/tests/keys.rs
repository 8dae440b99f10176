//! Passphrases and users: wrong passphrase, second user, passphrase change, lock.
#![allow(clippy::unwrap_used)] // tests may unwrap

mod common;

use common::*;
use reintegra_core::ids::UserId;
use reintegra_store::{Error, KdfParams, LockedStore};
use uuid::Uuid;

#[test]
fn wrong_passphrase_is_a_clear_error_and_writes_only_the_attempt_count() {
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path().join("store");
    let store = create(&dir);
    store.save_person(&person(1, "Ana", "López")).unwrap();
    let outbox_before = store.outbox_len();
    drop(store);

    let locked = LockedStore::open(&dir).unwrap();
    let err = locked.unlock(LOGIN, "not the passphrase").unwrap_err();
    assert!(matches!(err, Error::WrongPassphrase), "{err:?}");
    assert_eq!(err.to_string(), "wrong passphrase");
    let err = locked.unlock("nobody", PASS).unwrap_err();
    assert!(matches!(err, Error::UnknownUser(_)), "{err:?}");
    // The right one still works, nothing else changed, and it knows about the two failures.
    let store = locked.unlock(LOGIN, PASS).unwrap();
    assert_eq!(store.person_count(), 1);
    assert_eq!(store.outbox_len(), outbox_before);
    assert_eq!(store.failed_unlocks_before(), 2);
}

#[test]
fn after_three_failures_the_next_attempt_waits_even_after_a_restart() {
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path().join("store");
    drop(create(&dir));
    let locked = LockedStore::open(&dir).unwrap();
    for _ in 0..3 {
        assert!(matches!(
            locked.unlock(LOGIN, "wrong one"),
            Err(Error::WrongPassphrase)
        ));
    }
    drop(locked);
    let locked = LockedStore::open(&dir).unwrap();
    let err = locked.unlock(LOGIN, PASS).unwrap_err();
    assert!(
        matches!(err, Error::TooManyAttempts { wait_secs: 1 }),
        "{err:?}"
    );
    std::thread::sleep(std::time::Duration::from_millis(1100));
    let store = locked.unlock(LOGIN, PASS).unwrap();
    assert_eq!(store.failed_unlocks_before(), 3);
    drop(store);
    drop(locked);
    // A success resets the count.
    let locked = LockedStore::open(&dir).unwrap();
    assert_eq!(
        locked.unlock(LOGIN, PASS).unwrap().failed_unlocks_before(),
        0
    );
}

#[test]
fn a_second_user_unlocks_the_same_data_with_their_own_passphrase() {
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path().join("store");
    let store = create(&dir);
    store.save_person(&person(1, "Ana", "López")).unwrap();
    let bea = UserId::new(Uuid::from_u128(0xbea));
    store
        .add_user(
            "Bea.Supervisora",
            bea,
            "otra contraseña",
            KdfParams::INSECURE_FAST,
        )
        .unwrap();
    assert!(matches!(
        store.add_user(
            "bea.supervisora",
            bea,
            "otra contraseña",
            KdfParams::INSECURE_FAST
        ),
        Err(Error::UserExists(_))
    ));
    assert!(matches!(
        store.add_user("corto", bea, "short", KdfParams::INSECURE_FAST),
        Err(Error::WeakPassphrase { .. })
    ));
    let locked = store.lock();
    assert_eq!(locked.user_count(), 2);

    // Login names ignore case and surrounding spaces.
    let as_bea = locked
        .unlock("  bea.supervisora ", "otra contraseña")
        .unwrap();
    assert_eq!(as_bea.user(), bea);
    assert_eq!(as_bea.persons().unwrap()[0].given_names, "Ana");
    // Bea's saves are authored by Bea.
    let saved = as_bea.save_person(&person(2, "Beto", "Ruiz")).unwrap();
    let ops = as_bea.outbox(10).unwrap();
    let last = ops.last().unwrap();
    assert_eq!(Some(last.op.op_id), saved.op_id);
    assert_eq!(last.op.author, bea);
    assert_eq!(ops[0].op.author, USER);

    as_bea.remove_user(LOGIN).unwrap();
    assert!(matches!(
        as_bea.remove_user("bea.supervisora"),
        Err(Error::LastUser)
    ));
    let locked = as_bea.lock();
    assert!(matches!(
        locked.unlock(LOGIN, PASS),
        Err(Error::UnknownUser(_))
    ));
}

#[test]
fn changing_a_passphrase_rewraps_only_the_key() {
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path().join("store");
    let store = create(&dir);
    for n in 0..20 {
        store.save_person(&person(n, "Nombre", "Apellido")).unwrap();
    }
    let outbox_before = store.outbox(100).unwrap();
    assert!(matches!(
        store.change_passphrase(
            LOGIN,
            "wrong old one",
            "nueva contraseña",
            KdfParams::INSECURE_FAST
        ),
        Err(Error::WrongPassphrase)
    ));
    store
        .change_passphrase(LOGIN, PASS, "nueva contraseña", KdfParams::INSECURE_FAST)
        .unwrap();
    let locked = store.lock();
    assert!(matches!(
        locked.unlock(LOGIN, PASS),
        Err(Error::WrongPassphrase)
    ));
    let store = locked.unlock(LOGIN, "nueva contraseña").unwrap();
    assert_eq!(store.person_count(), 20);
    // No op was written: the data did not change, only the wrapped key.
    assert_eq!(store.outbox(100).unwrap(), outbox_before);
    // Also from a locked store.
    let locked = store.lock();
    locked
        .change_passphrase(
            LOGIN,
            "nueva contraseña",
            "tercera contraseña",
            KdfParams::INSECURE_FAST,
        )
        .unwrap();
    assert_eq!(
        locked
            .unlock(LOGIN, "tercera contraseña")
            .unwrap()
            .person_count(),
        20
    );
}

#[test]
fn kdf_parameters_are_checked() {
    let tmp = tempfile::tempdir().unwrap();
    let store = create(&tmp.path().join("s"));
    let bad = KdfParams {
        m_kib: 1,
        t: 0,
        p: 0,
    };
    assert!(matches!(
        store.add_user("x", UserId::new(Uuid::nil()), "123456789012", bad),
        Err(Error::BadKdfParams(_))
    ));
}

#[test]
fn create_refuses_an_existing_store_and_a_foreign_directory() {
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path().join("store");
    drop(create(&dir));
    let again = reintegra_store::LockedStore::create(
        &dir,
        reintegra_store::NewStore {
            device: DEVICE,
            login: LOGIN,
            user_id: USER,
            passphrase: PASS,
            kdf: KdfParams::INSECURE_FAST,
        },
    );
    assert!(matches!(again, Err(Error::AlreadyExists(_))));
    let foreign = tmp.path().join("foreign");
    std::fs::create_dir(&foreign).unwrap();
    std::fs::write(foreign.join("notes.txt"), "hola").unwrap();
    assert!(matches!(
        LockedStore::open(&foreign),
        Err(Error::NotAStore(_))
    ));
    assert!(matches!(
        LockedStore::open(tmp.path().join("absent")),
        Err(Error::NotFound(_))
    ));
    assert_eq!(
        std::fs::read_to_string(foreign.join("notes.txt")).unwrap(),
        "hola"
    );
}
