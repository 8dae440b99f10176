//! Sessions on real encrypted stores in temp dirs.
#![allow(clippy::unwrap_used)] // tests may unwrap

use chrono::{TimeZone, Utc};
use reintegra_api::{ApiError, KdfParams, Session};
use reintegra_core::audit::AuditAction;
use reintegra_core::user::Role;

fn now() -> chrono::DateTime<Utc> {
    Utc.with_ymd_and_hms(2026, 11, 23, 15, 0, 0).unwrap()
}

fn new_session(dir: &std::path::Path) -> Session {
    Session::open(dir.join("store"), KdfParams::INSECURE_FAST).unwrap()
}

#[test]
fn first_run_creates_an_admin_and_unlocks() {
    let dir = tempfile::tempdir().unwrap();
    let session = new_session(dir.path());
    assert!(session.current().setup_needed);
    assert_eq!(session.status().unwrap_err().code(), "not_set_up");

    let state = session
        .create_first_admin("  Ana Morales ", "clave-segura-1", now())
        .unwrap();
    let user = state.user.unwrap();
    assert_eq!(user.name, "Ana Morales");
    assert_eq!(user.role, Role::Admin);
    assert!(!state.setup_needed);

    let status = session.status().unwrap();
    assert_eq!(status.user.name, "Ana Morales");
    assert!(
        status.pending_changes >= 2,
        "user record and audit entry wait to sync"
    );
    assert_eq!(status.last_sync, None);

    let again = session.create_first_admin("Otra", "clave-segura-2", now());
    assert!(matches!(again, Err(ApiError::AlreadySetUp)));
}

#[test]
fn a_weak_passphrase_or_missing_name_creates_nothing() {
    let dir = tempfile::tempdir().unwrap();
    let session = new_session(dir.path());
    let weak = session
        .create_first_admin("Ana", "corta", now())
        .unwrap_err();
    assert_eq!(weak.code(), "weak_passphrase");
    let unnamed = session
        .create_first_admin("   ", "clave-segura-1", now())
        .unwrap_err();
    assert_eq!(unnamed.code(), "invalid");
    assert!(session.current().setup_needed);
    assert!(new_session(dir.path()).current().setup_needed);
}

#[test]
fn lock_then_unlock_after_a_restart() {
    let dir = tempfile::tempdir().unwrap();
    {
        let session = new_session(dir.path());
        session
            .create_first_admin("Ana", "clave-segura-1", now())
            .unwrap();
        let locked = session.lock(now());
        assert_eq!(locked.user, None);
        assert!(!locked.setup_needed);
        assert_eq!(session.status().unwrap_err().code(), "locked");
    }
    let session = new_session(dir.path());
    assert!(!session.current().setup_needed);
    assert_eq!(session.current().user, None);

    let wrong = session.unlock("Ana", "otra-clave-1", now()).unwrap_err();
    assert_eq!(wrong.code(), "wrong_credentials");
    let unknown = session.unlock("Beto", "clave-segura-1", now()).unwrap_err();
    assert_eq!(
        unknown.code(),
        "wrong_credentials",
        "does not reveal which part was wrong"
    );
    assert_eq!(session.current().user, None);

    let state = session.unlock("ana", "clave-segura-1", now()).unwrap();
    assert_eq!(state.user.unwrap().name, "Ana");
    assert!(session.status().is_ok());
}

#[test]
fn every_message_is_spanish_and_every_code_distinct() {
    let errors = [
        ApiError::AlreadySetUp,
        ApiError::NotSetUp,
        ApiError::Locked,
        ApiError::WrongCredentials,
        ApiError::WeakPassphrase { min: 8 },
        ApiError::NewerVersion,
        ApiError::InUse,
        ApiError::Damaged("x".into()),
        ApiError::Storage("x".into()),
    ];
    let mut codes: Vec<_> = errors.iter().map(|e| e.code()).collect();
    codes.sort_unstable();
    codes.dedup();
    assert_eq!(codes.len(), errors.len());
    assert!(errors.iter().all(|e| !e.to_string().is_empty()));
    assert!(ApiError::Locked.to_string().contains("bloqueada"));
}

#[test]
fn lock_and_unlock_again_without_restarting() {
    let dir = tempfile::tempdir().unwrap();
    let session = new_session(dir.path());
    session
        .create_first_admin("Carla", "clave-segura-1", now())
        .unwrap();
    session.lock(now());
    let state = session.unlock("Carla", "clave-segura-1", now()).unwrap();
    assert_eq!(state.user.unwrap().name, "Carla");
    session.lock(now());
    session.unlock("carla", "clave-segura-1", now()).unwrap();
}

#[test]
fn wrong_passphrases_wait_longer_across_restarts_and_the_next_sign_in_says_so() {
    let dir = tempfile::tempdir().unwrap();
    let store_dir = dir.path().join("store");
    let session = Session::open(&store_dir, KdfParams::INSECURE_FAST).unwrap();
    session
        .create_first_admin("Ana Morales", "clave-segura-1", now())
        .unwrap();
    session.lock(now());
    let mut refused = 0;
    for _ in 0..10 {
        match session.unlock("Ana Morales", "no-es-la-clave", now()) {
            Err(ApiError::WrongCredentials) => {}
            Err(ApiError::TooManyAttempts { wait_secs }) => {
                assert!(wait_secs >= 1);
                refused += 1;
            }
            other => panic!("{other:?}"),
        }
    }
    assert!(refused > 0, "after three wrong ones the next must wait");
    // An unknown login counts too, and a restart does not reset the count.
    drop(session);
    let session = Session::open(&store_dir, KdfParams::INSECURE_FAST).unwrap();
    let wait = match session.unlock("Ana Morales", "clave-segura-1", now()) {
        Err(ApiError::TooManyAttempts { wait_secs }) => wait_secs,
        other => panic!("the right passphrase must wait too: {other:?}"),
    };
    assert!(wait >= 1);
    std::thread::sleep(std::time::Duration::from_secs(wait + 1));
    session
        .unlock("Ana Morales", "clave-segura-1", now())
        .unwrap();
    session.lock(now());
    drop(session);
    let store = reintegra_store::LockedStore::open(&store_dir)
        .unwrap()
        .unlock("Ana Morales", "clave-segura-1")
        .unwrap();
    let entries = store.audit_entries().unwrap();
    assert!(entries
        .iter()
        .any(|e| e.action == AuditAction::SignIn && e.summary.contains("3 intentos fallidos")));
    assert!(entries.iter().any(|e| e.action == AuditAction::Lock));
}

/// M11: the locked screen lists this device's users by initials and signs in by the chosen
/// slot; no login or name of a user can be read from the store's files.
#[test]
fn the_locked_screen_lists_initials_and_signs_in_by_slot_without_readable_logins() {
    use reintegra_api::NewUser;
    let dir = tempfile::tempdir().unwrap();
    let session = new_session(dir.path());
    session
        .create_first_admin("Ana Morales", "clave-segura-1", now())
        .unwrap();
    assert!(
        session.device_users().is_empty(),
        "listed only while locked"
    );
    let berta = session
        .create_user(
            &NewUser {
                name: "Berta Quintanilla".into(),
                login: "bquintanilla".into(),
                role: Role::Reception,
                office_municipality: None,
                also_supervisor: false,
                passphrase: "primera-de-berta".into(),
            },
            now(),
        )
        .unwrap();
    session.lock(now());
    let mut listed = session.device_users();
    listed.sort_by(|a, b| a.initials.cmp(&b.initials));
    let initials: Vec<&str> = listed.iter().map(|u| u.initials.as_str()).collect();
    assert_eq!(initials, ["AM", "BQ"]);

    let wrong = session.unlock_slot(&listed[1].slot, "clave-segura-1", now());
    assert_eq!(
        wrong.unwrap_err().code(),
        "wrong_credentials",
        "Ana's passphrase is not Berta's"
    );
    let unknown = session.unlock_slot("00ff", "primera-de-berta", now());
    assert_eq!(unknown.unwrap_err().code(), "wrong_credentials");
    let state = session
        .unlock_slot(&listed[1].slot, "primera-de-berta", now())
        .unwrap();
    assert_eq!(state.user.map(|u| u.id), Some(berta.id));
    session.lock(now());

    // Nothing in the store's files spells a login or a name.
    for entry in walk(&dir.path().join("store")) {
        let bytes = std::fs::read(&entry).unwrap();
        for secret in ["bquintanilla", "Quintanilla", "Morales", "Ana Morales"] {
            assert!(
                !bytes.windows(secret.len()).any(|w| w == secret.as_bytes()),
                "{secret} readable in {}",
                entry.display()
            );
        }
    }
}

fn walk(dir: &std::path::Path) -> Vec<std::path::PathBuf> {
    let mut files = Vec::new();
    for entry in std::fs::read_dir(dir).unwrap() {
        let path = entry.unwrap().path();
        if path.is_dir() {
            files.extend(walk(&path));
        } else {
            files.push(path);
        }
    }
    files
}
