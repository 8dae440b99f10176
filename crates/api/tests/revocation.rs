//! A lost laptop (`docs/sync.md`, "Revocation"): revoked on the server, at its next contact
//! it pushes nothing more, its session ends and its store is crypto-erased — no file of the
//! data directory opens with the old passphrase and no byte holds a name, DUI or phone — and
//! the next start shows that it was revoked. A server that merely does not know the device
//! (`unknown_device`: restored from an older copy) erases nothing.
//! Real parts: `reintegra-server` on port 0, stores in temp dirs.
#![allow(clippy::unwrap_used)] // tests may unwrap

use std::path::{Path, PathBuf};

use chrono::{DateTime, TimeZone, Utc};
use reintegra_api::{ArrivalInput, CaseQuery, KdfParams, Session};
use reintegra_core::dui::Dui;
use reintegra_core::person::Sex;
use reintegra_core::territory::Territory;
use reintegra_server::Background;

const PASS: &str = "clave-segura-1";

fn now() -> DateTime<Utc> {
    Utc.with_ymd_and_hms(2026, 12, 1, 15, 0, 0).unwrap()
}

/// Three people with known names, DUIs and phones.
const PEOPLE: [(&str, &str, &str, &str); 3] = [
    ("Josefina Guadalupe", "Hernández", "04567890", "7123-4567"),
    ("Maximiliano", "Quintanilla", "01234567", "6012-3344"),
    ("Rosaura", "Zelaya", "09876543", "2222-9876"),
];

fn arrival((given, surname, dui, phone): (&str, &str, &str, &str)) -> ArrivalInput {
    ArrivalInput {
        beneficiary_type: Default::default(),
        first_contact: Default::default(),
        given_names: given.into(),
        first_surname: surname.into(),
        second_surname: String::new(),
        sex: Some(Sex::Female),
        birth_date: None,
        dui: Dui::from_body(dui).unwrap().as_str().to_string(),
        other_document: None,
        phone: phone.into(),
        origin_district: String::new(),
        destination_district: Territory::el_salvador()
            .prioritized()
            .next()
            .unwrap()
            .district_code
            .clone(),
        education: None,
        occupation: String::new(),
        return_event: None,
        vulnerabilities: vec![],
        consent_registration: true,
        consent_referral_sharing: false,
        family_of: None,
        caseworker: None,
    }
}

/// Everything that must not survive, as typed and without punctuation.
fn secrets() -> Vec<Vec<u8>> {
    let mut out = Vec::new();
    for (given, surname, dui, phone) in PEOPLE {
        let dui = Dui::from_body(dui).unwrap().as_str().to_string();
        for s in [
            given.to_string(),
            surname.to_string(),
            surname.to_uppercase(),
            dui.clone(),
            dui.replace('-', ""),
            phone.to_string(),
            phone.replace('-', ""),
        ] {
            out.push(s.into_bytes());
        }
    }
    out
}

fn files_under(dir: &Path) -> Vec<PathBuf> {
    let mut out = Vec::new();
    let mut stack = vec![dir.to_path_buf()];
    while let Some(d) = stack.pop() {
        for entry in std::fs::read_dir(&d).unwrap() {
            let p = entry.unwrap().path();
            if p.is_dir() {
                stack.push(p);
            } else {
                out.push(p);
            }
        }
    }
    out.sort();
    out
}

fn found_in(dir: &Path, secrets: &[Vec<u8>]) -> Vec<String> {
    let mut found = Vec::new();
    for file in files_under(dir) {
        let bytes = std::fs::read(&file).unwrap();
        for s in secrets {
            if bytes.windows(s.len()).any(|w| w == s.as_slice()) {
                found.push(format!(
                    "{}: {}",
                    file.display(),
                    String::from_utf8_lossy(s)
                ));
            }
        }
    }
    found
}

/// A device of every office with the three people registered, enrolled and synced.
fn enrolled_device(server: &Background, store_dir: &Path) -> Session {
    let s = Session::open(store_dir, KdfParams::INSECURE_FAST).unwrap();
    s.create_first_admin("Ana", PASS, now()).unwrap();
    for p in PEOPLE {
        s.register_arrival(&arrival(p), now()).unwrap();
    }
    s.sync_enroll(
        &server.url(),
        &server.enroll_code("*").unwrap(),
        "Laptop perdida",
    )
    .unwrap();
    s.sync_now(now(), &mut |_| {}).unwrap();
    s
}

fn device_ids(server: &Background) -> Vec<String> {
    let db = server.db();
    server
        .run(async move { db.devices().await })
        .unwrap()
        .into_iter()
        .map(|d| d.id)
        .collect()
}

#[test]
fn a_revoked_laptop_erases_its_store_at_its_next_contact_and_says_so_at_the_next_start() {
    let data = tempfile::tempdir().unwrap();
    let server = Background::start(data.path(), "127.0.0.1:0".parse().unwrap(), None).unwrap();
    let dir = tempfile::tempdir().unwrap();
    let store_dir = dir.path().join("store");
    let s = enrolled_device(&server, &store_dir);
    assert!(
        s.caseload(&CaseQuery::default(), now().date_naive())
            .unwrap()
            .rows
            .len()
            >= 3
    );
    // The encrypted store holds no plaintext even before (the check below can only fail
    // through what the erase leaves behind — so look for what would betray a live store too).
    assert!(found_in(&store_dir, &secrets()).is_empty());
    assert!(files_under(&store_dir).len() > 1, "a live sled store");
    // One more registration that the laptop has not sent yet.
    s.register_arrival(
        &arrival(("Nicolasa", "Ávalos", "05555555", "7777-1234")),
        now(),
    )
    .unwrap();

    let [id] = &device_ids(&server)[..] else {
        panic!("one device")
    };
    let db = server.db();
    let id2 = id.clone();
    assert!(server
        .run(async move { db.revoke_device(&id2).await })
        .unwrap());
    let db = server.db();
    let ops_before = server.run(async move { db.op_count().await }).unwrap();

    let err = s.sync_now(now(), &mut |_| {}).unwrap_err();
    assert_eq!(err.code(), "device_revoked");
    let db = server.db();
    assert_eq!(
        server.run(async move { db.op_count().await }).unwrap(),
        ops_before,
        "nothing more was pushed"
    );

    // Signed out, the keys and the cases gone.
    let state = s.current();
    assert!(state.user.is_none());
    assert_eq!(s.status().unwrap_err().code(), "not_set_up");
    assert!(s.unlock("Ana", PASS, now()).is_err());
    let notice = s.revoked().unwrap();
    assert_eq!(notice.office.as_deref(), Some("*"));
    assert_eq!(notice.revoked_at, now());

    // Only the marker is left, and it holds no personal data; nothing opens.
    let left = files_under(&store_dir);
    assert_eq!(left, vec![store_dir.join(reintegra_store::ERASED_MARKER)]);
    let marker = std::fs::read_to_string(&left[0]).unwrap();
    assert!(!marker.contains("Ana"), "{marker}");
    assert!(reintegra_store::LockedStore::open(&store_dir).is_err());
    let mut all = secrets();
    all.push(b"Nicolasa".to_vec());
    all.push(b"Laptop perdida".to_vec());
    assert_eq!(found_in(dir.path(), &all), Vec::<String>::new());

    // On the server: revoked, and the revocation is in the security log.
    let db = server.db();
    let events = server
        .run(async move { db.security_events(None).await })
        .unwrap();
    assert!(
        events
            .iter()
            .any(|e| e.kind == "revoke_device" && e.device.as_deref() == Some(id.as_str())),
        "{events:?}"
    );

    // The next start shows the revoked screen; nothing can be signed into.
    drop(s);
    let again = Session::open(&store_dir, KdfParams::INSECURE_FAST).unwrap();
    assert_eq!(again.revoked(), Some(notice));
    assert!(again.unlock("Ana", PASS, now()).is_err());
    assert!(
        again.create_first_admin("Otra", PASS, now()).is_err(),
        "not set up again behind the notice"
    );
    // Set up again from nothing, deliberately: no data comes back.
    let fresh = again.forget_revocation().unwrap();
    assert!(fresh.setup_needed);
    assert_eq!(again.revoked(), None);
    again.create_first_admin("Otra", PASS, now()).unwrap();
    assert!(again
        .caseload(&CaseQuery::default(), now().date_naive())
        .unwrap()
        .rows
        .is_empty());
}

/// The server is restored from a copy made before the laptop enrolled: it answers the
/// laptop's token with `unknown_device`. The laptop keeps everything and says why it cannot
/// sync.
#[test]
fn unknown_device_from_a_restored_server_erases_nothing() {
    let data = tempfile::tempdir().unwrap();
    let backup = tempfile::tempdir().unwrap();
    // The server's state before any device: the copy it is later restored from.
    drop(Background::start(data.path(), "127.0.0.1:0".parse().unwrap(), None).unwrap());
    for f in std::fs::read_dir(data.path()).unwrap() {
        let f = f.unwrap();
        std::fs::copy(f.path(), backup.path().join(f.file_name())).unwrap();
    }
    let server = Background::start(data.path(), "127.0.0.1:0".parse().unwrap(), None).unwrap();
    let addr = server.local_addr();
    let dir = tempfile::tempdir().unwrap();
    let store_dir = dir.path().join("store");
    let s = enrolled_device(&server, &store_dir);
    drop(server);
    let restored = Background::start(backup.path(), addr, None).unwrap();

    let err = s.sync_now(now(), &mut |_| {}).unwrap_err();
    assert_eq!(err.code(), "unknown_device");
    assert_eq!(s.revoked(), None);
    let rows = s
        .caseload(&CaseQuery::default(), now().date_naive())
        .unwrap()
        .rows;
    assert_eq!(rows.len(), 3, "every case still here");
    s.lock(now());
    s.unlock("Ana", PASS, now()).unwrap();
    assert_eq!(
        s.sync_view().unwrap().last_error.map(|e| e.code),
        Some("unknown_device".into())
    );
    drop(restored);
}
