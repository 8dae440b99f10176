//! "Sincronización" through the api: enroll, sync, what the screen shows, errors in words —
//! against a real `reintegra-server` on port 0, with real stores in temp dirs.
#![allow(clippy::unwrap_used)] // tests may unwrap

use chrono::{DateTime, TimeZone, Utc};
use reintegra_api::{today_in_el_salvador, ArrivalInput, CaseQuery, KdfParams, Session};
use reintegra_core::person::Sex;
use reintegra_core::territory::Territory;
use reintegra_server::Background;

fn now() -> DateTime<Utc> {
    Utc.with_ymd_and_hms(2026, 11, 24, 15, 0, 0).unwrap()
}

fn unlocked(dir: &std::path::Path, name: &str) -> Session {
    let session = Session::open(dir.join("store"), KdfParams::INSECURE_FAST).unwrap();
    session
        .create_first_admin(name, "clave-segura-1", now())
        .unwrap();
    session
}

fn arrival(given: &str) -> ArrivalInput {
    ArrivalInput {
        beneficiary_type: Default::default(),
        first_contact: Default::default(),
        given_names: given.into(),
        first_surname: "Pérez".into(),
        second_surname: String::new(),
        sex: Some(Sex::Female),
        birth_date: None,
        dui: String::new(),
        other_document: None,
        phone: "7123-4567".into(),
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

/// A real server on port 0 with its data in a temp dir.
fn server() -> (Background, tempfile::TempDir) {
    let dir = tempfile::tempdir().unwrap();
    let server = Background::start(dir.path(), "127.0.0.1:0".parse().unwrap(), None).unwrap();
    (server, dir)
}

#[test]
fn a_registration_syncs_to_another_device_and_shows_up_in_its_caseload() {
    let (server, _data) = server();
    let (dir_a, dir_b) = (tempfile::tempdir().unwrap(), tempfile::tempdir().unwrap());
    let a = unlocked(dir_a.path(), "Ana");
    let b = unlocked(dir_b.path(), "Berta");

    let view = a.sync_view().unwrap();
    assert!(!view.enrolled);
    assert_eq!(
        a.sync_now(now(), &mut |_| {}).unwrap_err().code(),
        "not_enrolled"
    );
    assert!(!a.sync_due(now()));

    a.register_arrival(&arrival("Rosa"), now()).unwrap();
    let view = a
        .sync_enroll(&server.url(), &server.enroll_code("*").unwrap(), "Laptop A")
        .unwrap();
    assert!(view.enrolled);
    assert_eq!(view.office, Some("*".to_string()));
    assert_eq!(view.office_name, None, "all offices: the UI words it");
    assert!(view.pending_changes > 0);
    assert!(a.sync_due(now()), "something waits: a sync is due");

    let mut phases = Vec::new();
    let view = a
        .sync_now(now(), &mut |p| phases.push(p.phase.clone()))
        .unwrap();
    assert_eq!(view.pending_changes, 0);
    assert_eq!(view.last_sync, Some(now()));
    assert_eq!(view.last_error, None);
    assert_eq!(phases.last().map(String::as_str), Some("done"));
    assert!(phases.iter().any(|p| p == "push"));
    assert_eq!(a.status().unwrap().last_sync, Some(now()));
    assert!(!a.sync_due(now()), "just synced, nothing waits");

    b.sync_enroll(&server.url(), &server.enroll_code("*").unwrap(), "Laptop B")
        .unwrap();
    b.sync_now(now(), &mut |_| {}).unwrap();
    let page = b
        .caseload(
            &CaseQuery {
                text: "rosa".into(),
                ..Default::default()
            },
            today_in_el_salvador(now()),
        )
        .unwrap();
    assert_eq!(page.rows.len(), 1, "the pulled person is in B's caseload");
    assert_eq!(
        b.providers().unwrap().len(),
        3,
        "both devices seeded the same sample providers: sync does not multiply them"
    );
    assert!(
        a.sync_conflicts().unwrap().is_empty(),
        "read by a supervisor the server knows"
    );
}

#[test]
fn failures_are_explained_and_remembered_for_the_screen() {
    let (server, _data) = server();
    let dir = tempfile::tempdir().unwrap();
    let s = unlocked(dir.path(), "Ana");
    let bad = s.sync_enroll("no es una dirección", "X", "d").unwrap_err();
    assert_eq!(bad.code(), "bad_endpoint");
    let refused = s.sync_enroll(&server.url(), "NOPE-NOPE", "d").unwrap_err();
    assert_eq!(refused.code(), "refused");
    assert!(refused.to_string().contains("código"), "{refused}");

    s.sync_enroll(&server.url(), &server.enroll_code("*").unwrap(), "d")
        .unwrap();
    let url = server.url();
    drop(server); // the server goes away: the next sync finds no one
    let offline = s.sync_now(now(), &mut |_| {}).unwrap_err();
    assert_eq!(offline.code(), "offline", "{offline} ({url})");
    let view = s.sync_view().unwrap();
    assert_eq!(view.last_error.map(|e| e.code), Some("offline".to_string()));
    assert!(!view.running);
}

#[test]
fn a_refused_change_is_listed_with_whose_it_is_and_why() {
    let (server, _data) = server();
    let dir = tempfile::tempdir().unwrap();
    let s = unlocked(dir.path(), "Ana");
    // This device serves another municipality than the arrival's destination.
    let destination = Territory::el_salvador().prioritized().next().unwrap();
    let other_office = Territory::el_salvador()
        .prioritized()
        .find(|p| p.municipality_code != destination.municipality_code)
        .unwrap()
        .municipality_code
        .clone();
    s.register_arrival(&arrival("Rosa"), now()).unwrap();
    let code = server.enroll_code(&other_office).unwrap();
    let enrolled = s.sync_enroll(&server.url(), &code, "Oficina").unwrap();
    let municipality = Territory::el_salvador()
        .municipality(&other_office)
        .unwrap()
        .name
        .clone();
    assert_eq!(enrolled.office_name, Some(municipality), "a proper noun");
    let view = s.sync_now(now(), &mut |_| {}).unwrap();
    assert_eq!(view.pending_changes, 0, "the rest kept flowing");
    // Only the form is refused: the audit trail of its registration goes up like any other.
    assert_eq!(view.quarantined.len(), 1, "{:?}", view.quarantined);
    let refused = &view.quarantined[0];
    assert_eq!(refused.label.as_deref(), Some("Rosa Pérez"));
    assert_eq!(refused.code, "out_of_scope");
    assert!(
        refused.reason.contains("fuera de la oficina"),
        "{}",
        refused.reason
    );
}

/// The second laptop of an office: the server makes a code for one user (`--login`), the
/// laptop joins with it, pulls the office and that user works there; when an admin elsewhere
/// deactivates them, the laptop's next sync destroys their key slot and signs them out.
#[test]
fn a_second_device_joins_the_office_with_a_user_and_loses_them_when_deactivated_elsewhere() {
    use reintegra_api::NewUser;
    use reintegra_core::user::Role;
    let (server, _data) = server();
    let place = Territory::el_salvador()
        .prioritized()
        .next()
        .unwrap()
        .clone();
    let office = place.municipality_code.clone();
    let (dir_a, dir_b) = (tempfile::tempdir().unwrap(), tempfile::tempdir().unwrap());
    let a = unlocked(dir_a.path(), "Admin Oficina");
    let ana = a
        .create_user(
            &NewUser {
                name: "Ana Morales".into(),
                login: "ana".into(),
                role: Role::Caseworker,
                office_municipality: Some(office.clone()),
                also_supervisor: false,
                passphrase: "primera-frase-ana".into(),
            },
            now(),
        )
        .unwrap();
    a.register_arrival(&arrival("Rosa"), now()).unwrap();
    a.sync_enroll(
        &server.url(),
        &server.enroll_code(&office).unwrap(),
        "Laptop A",
    )
    .unwrap();
    assert!(a
        .sync_now(now(), &mut |_| {})
        .unwrap()
        .quarantined
        .is_empty());

    // A first-device code cannot be used to join, and trying leaves nothing behind.
    let b = Session::open(dir_b.path().join("store"), KdfParams::INSECURE_FAST).unwrap();
    let first_device_code = server.enroll_code(&office).unwrap();
    let refused = b
        .join_office(
            &server.url(),
            &first_device_code,
            "frase-propia-de-ana",
            "Laptop B",
            now(),
        )
        .unwrap_err();
    assert!(refused.to_string().contains("primer equipo"), "{refused}");
    assert!(b.current().setup_needed);
    assert!(!dir_b.path().join("store").exists(), "nothing half set up");
    // A code for a login nobody has is refused when it is made.
    assert!(server.join_code(&office, "nadie").is_err());

    let code = server.join_code(&office, "ANA").unwrap();
    let weak = b.join_office(&server.url(), &code, "corta", "Laptop B", now());
    assert_eq!(
        weak.unwrap_err().code(),
        "weak_passphrase",
        "checked before the code is spent"
    );
    let joined = b
        .join_office(
            &server.url(),
            &code,
            "frase-propia-de-ana",
            "Laptop B",
            now(),
        )
        .unwrap();
    assert_eq!(joined.user.as_ref().map(|u| u.id), Some(ana.id));
    assert!(!joined.must_change_passphrase, "she chose it herself");
    let rows = b
        .caseload(&CaseQuery::default(), today_in_el_salvador(now()))
        .unwrap()
        .rows;
    assert_eq!(rows.len(), 1, "the office's case came with the join");
    // Her own work from the new laptop is accepted by the server.
    b.add_note(rows[0].id, "Llamada de seguimiento", false, now())
        .unwrap();
    let view = b.sync_now(now(), &mut |_| {}).unwrap();
    assert!(view.quarantined.is_empty(), "{:?}", view.quarantined);
    assert_eq!(view.pending_changes, 0);
    // The code was for one device: a second use is refused.
    let again = Session::open(dir_b.path().join("other"), KdfParams::INSECURE_FAST).unwrap();
    assert!(again
        .join_office(
            &server.url(),
            &code,
            "frase-propia-de-ana",
            "Laptop C",
            now()
        )
        .is_err());

    // Deactivated on laptop A: laptop B's next sync signs her out and her slot is gone.
    a.set_user_active(ana.id, false, None, now()).unwrap();
    a.sync_now(now(), &mut |_| {}).unwrap();
    assert_eq!(b.sync_now(now(), &mut |_| {}).unwrap_err().code(), "locked");
    assert!(b.current().user.is_none(), "signed out at once");
    let unlock = b.unlock("ana", "frase-propia-de-ana", now()).unwrap_err();
    assert_eq!(unlock.code(), "wrong_credentials");
}
