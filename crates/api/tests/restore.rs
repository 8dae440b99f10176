//! A server restored from an older copy (M6, `docs/sync.md`, "Restored server"): the devices
//! notice (the epoch went up, or their cursor is ahead of the server), pull from the start,
//! and repair without dropping anything — what the copy lacks is sent back — so that nothing
//! any device had is lost and a device enrolled afterwards gets everything.
//! Real parts: `reintegra-server` stopped and started again on the same address from a copy
//! of its data directory, stores in temp dirs.
#![allow(clippy::unwrap_used)] // tests may unwrap

use std::net::SocketAddr;
use std::path::Path;

use chrono::{DateTime, TimeZone, Utc};
use reintegra_api::{ArrivalInput, CaseQuery, KdfParams, Session};
use reintegra_core::person::Sex;
use reintegra_core::territory::Territory;
use reintegra_server::Background;

const PASS: &str = "clave-segura-1";

fn now() -> DateTime<Utc> {
    Utc.with_ymd_and_hms(2026, 12, 1, 15, 0, 0).unwrap()
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

fn device(dir: &Path, name: &str, server: &Background) -> Session {
    let s = Session::open(dir.join("store"), KdfParams::INSECURE_FAST).unwrap();
    s.create_first_admin(name, PASS, now()).unwrap();
    s.sync_enroll(&server.url(), &server.enroll_code("*").unwrap(), name)
        .unwrap();
    s
}

fn names(s: &Session) -> Vec<String> {
    let mut names: Vec<String> = s
        .caseload(&CaseQuery::default(), now().date_naive())
        .unwrap()
        .rows
        .into_iter()
        .map(|r| r.full_name)
        .collect();
    names.sort();
    names
}

fn copy_dir(from: &Path, to: &Path) {
    for f in std::fs::read_dir(from).unwrap() {
        let f = f.unwrap();
        std::fs::copy(f.path(), to.join(f.file_name())).unwrap();
    }
}

fn start(dir: &Path, addr: SocketAddr) -> Background {
    Background::start(dir, addr, None).unwrap()
}

/// Two devices sync "Primera" (Ana registers; Berta, a second first admin the server does not
/// let write, reads); the server's data is copied; "Segunda" is synced by both; the server is
/// restored from the copy (without "Segunda"). Returns the devices and the restored server.
fn restored_server(
    dirs: &[tempfile::TempDir; 4],
    announce: bool,
) -> (Session, Session, Background) {
    let [data, copy, dir_a, dir_b] = dirs;
    let server = start(data.path(), "127.0.0.1:0".parse().unwrap());
    let addr = server.local_addr();
    let a = device(dir_a.path(), "Ana", &server);
    let b = device(dir_b.path(), "Berta", &server);
    a.register_arrival(&arrival("Primera"), now()).unwrap();
    a.sync_now(now(), &mut |_| {}).unwrap();
    b.sync_now(now(), &mut |_| {}).unwrap();
    // The copy it is later restored from (taken with the server stopped).
    drop(server);
    copy_dir(data.path(), copy.path());
    let server = start(data.path(), addr);
    a.register_arrival(&arrival("Segunda"), now()).unwrap();
    a.sync_now(now(), &mut |_| {}).unwrap();
    b.sync_now(now(), &mut |_| {}).unwrap();
    assert_eq!(names(&b), ["Primera Pérez", "Segunda Pérez"]);
    drop(server);
    let restored = start(copy.path(), addr);
    if announce {
        let db = restored.db();
        assert_eq!(
            restored.run(async move { db.bump_epoch().await }).unwrap(),
            2
        );
    }
    (a, b, restored)
}

fn dirs() -> [tempfile::TempDir; 4] {
    std::array::from_fn(|_| tempfile::tempdir().unwrap())
}

/// The operator says the server was restored (`reintegra-server restored`): every device
/// notices by the epoch, even one that pushes enough first to take the server's sequence past
/// its cursor.
#[test]
fn a_restored_server_is_noticed_by_its_epoch_and_nothing_is_lost() {
    let dirs = dirs();
    let (a, b, restored) = restored_server(&dirs, true);
    // Ana has work of her own waiting when she meets the restored server: pushed first, it
    // takes the server's sequence past her cursor, so only the epoch tells her.
    for n in 0..3 {
        a.register_arrival(&arrival(&format!("Tercera{n}")), now())
            .unwrap();
    }
    a.sync_now(now(), &mut |_| {}).unwrap();
    b.sync_now(now(), &mut |_| {}).unwrap();
    let all = [
        "Primera Pérez",
        "Segunda Pérez",
        "Tercera0 Pérez",
        "Tercera1 Pérez",
        "Tercera2 Pérez",
    ];
    assert_eq!(names(&a), all);
    assert_eq!(names(&b), all);
    assert_eq!(a.sync_view().unwrap().pending_changes, 0);
    assert!(a.sync_view().unwrap().quarantined.is_empty());
    // The server has it all again: a device enrolled now gets every case.
    let dir_c = tempfile::tempdir().unwrap();
    let c = device(dir_c.path(), "Carla", &restored);
    c.sync_now(now(), &mut |_| {}).unwrap();
    assert_eq!(names(&c), all);
}

/// Nobody said so, but a device's cursor is ahead of the restored server: it notices, and
/// sends back what the copy lacks.
#[test]
fn a_cursor_ahead_of_the_server_is_noticed_and_what_the_copy_lacks_goes_back() {
    let dirs = dirs();
    let (a, b, restored) = restored_server(&dirs, false);
    a.sync_now(now(), &mut |_| {}).unwrap();
    b.sync_now(now(), &mut |_| {}).unwrap();
    let both = ["Primera Pérez", "Segunda Pérez"];
    assert_eq!(names(&a), both);
    assert_eq!(names(&b), both);
    let dir_c = tempfile::tempdir().unwrap();
    let c = device(dir_c.path(), "Carla", &restored);
    c.sync_now(now(), &mut |_| {}).unwrap();
    assert_eq!(names(&c), both, "Segunda came back from the devices");
}
