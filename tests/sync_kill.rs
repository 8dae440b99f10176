//! kill -9 of `reintegra sync` in the middle of a push over a slow link, then sync again:
//! nothing lost, nothing applied twice.
#![allow(clippy::unwrap_used)]

use std::process::Command;
use std::time::{Duration, Instant};

use chrono::{TimeZone, Utc};
use reintegra_core::ids::{DeviceId, PersonId, UserId};
use reintegra_core::person::Person;
use reintegra_core::territory::Territory;
use reintegra_core::user::{Role, User};
use reintegra_linksim::{Preset, Proxy};
use reintegra_server::Background;
use reintegra_store::{KdfParams, LockedStore, NewStore};
use uuid::Uuid;

const PERSONS: u64 = 1500;
const PASS: &str = "contraseña segura 1";

/// `reintegra sync` as ana, a caseworker: she syncs through the endpoint the device was enrolled
/// with (changing it is an admin's).
fn sync_command(dir: &std::path::Path) -> Command {
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_reintegra"));
    cmd.args(["sync", "--user", "ana", "--data"])
        .arg(dir)
        .env("REINTEGRA_PASSPHRASE", PASS);
    cmd
}

#[test]
fn killing_sync_midway_loses_nothing_and_duplicates_nothing() {
    let server_dir = tempfile::TempDir::new().unwrap();
    let server =
        Background::start(server_dir.path(), "127.0.0.1:0".parse().unwrap(), None).unwrap();
    let op_count = || {
        let db = server.db();
        server.run(async move { db.op_count().await }).unwrap()
    };
    let slow = Preset {
        up_bps: 200_000,
        ..Preset::EDGE
    };
    let proxy = server
        .run(Proxy::start(server.local_addr(), slow, 7))
        .unwrap();
    let via_proxy = format!("http://{}", proxy.local_addr());

    let place = Territory::el_salvador()
        .prioritized()
        .next()
        .unwrap()
        .clone();
    let device_dir = tempfile::TempDir::new().unwrap();
    {
        // The server knows who acts: the office's first admin (its own user record goes up
        // first: the server's bootstrap) makes ana, an active caseworker of the office, and
        // ana registers the persons.
        let user = |name: &str, role| User {
            id: UserId::new(Uuid::now_v7()),
            name: name.into(),
            login: name.into(),
            role,
            office_municipality: Some(place.municipality_code.clone()),
            active: true,
            also_supervisor: false,
        };
        let (admin, ana) = (user("jefa", Role::Admin), user("ana", Role::Caseworker));
        let store = LockedStore::create(
            device_dir.path(),
            NewStore {
                device: DeviceId::new(Uuid::now_v7()),
                login: "jefa",
                user_id: admin.id,
                passphrase: PASS,
                kdf: KdfParams::INSECURE_FAST,
            },
        )
        .unwrap();
        store.save_user(&admin).unwrap();
        // `reintegra sync` signs in as the app does: the user must exist and be active.
        store.save_user(&ana).unwrap();
        store
            .add_user("ana", ana.id, PASS, KdfParams::INSECURE_FAST)
            .unwrap();
        // Ana has chosen her own passphrase (the one the admin gave her must be changed first).
        store
            .change_passphrase("ana", PASS, PASS, KdfParams::INSECURE_FAST)
            .unwrap();
        let store = store.lock().unlock("ana", PASS).unwrap();
        let now = Utc.with_ymd_and_hms(2026, 2, 1, 9, 0, 0).single().unwrap();
        for i in 0..PERSONS {
            let mut p = Person::new(
                PersonId::new(Uuid::now_v7()),
                format!("Persona {i}"),
                "López",
                now,
            );
            p.destination_district = place.district_code.clone();
            p.phone = format!("7{:03}-{:04}", i % 1000, i);
            p.occupation = format!("oficio número {i} con una descripción algo más larga");
            p.household_notes = format!("hogar de {} personas; notas {i} {}", i % 7, i * 31);
            store.save_person(&p).unwrap();
        }
        let code = server.enroll_code(&place.municipality_code).unwrap();
        reintegra_sync::enroll(&store, &via_proxy, &code, "caja").unwrap();
    }

    let mut child = sync_command(device_dir.path()).spawn().unwrap();
    let started = Instant::now();
    loop {
        let applied = op_count();
        if applied > 0 {
            break;
        }
        assert!(
            started.elapsed() < Duration::from_secs(60),
            "nothing reached the server"
        );
        assert!(
            child.try_wait().unwrap().is_none(),
            "sync ended before the kill"
        );
        std::thread::sleep(Duration::from_millis(50));
    }
    std::thread::sleep(Duration::from_millis(300));
    child.kill().unwrap(); // SIGKILL
    child.wait().unwrap();
    let after_kill = op_count();
    assert!(
        after_kill < PERSONS,
        "the kill came too late to test anything ({after_kill})"
    );

    // Again, on a good link: everything arrives once.
    proxy.set_preset(Preset {
        down_bps: 50_000_000,
        up_bps: 50_000_000,
        rtt: Duration::from_millis(2),
        ..Preset::EDGE
    });
    let status = sync_command(device_dir.path()).status().unwrap();
    assert!(status.success());
    // Every op once: the persons, the two user records, and the audited sign-in of each of the
    // two runs of `reintegra sync`.
    assert_eq!(op_count(), PERSONS + 2 + 2);

    let store = LockedStore::open(device_dir.path())
        .unwrap()
        .unlock("ana", PASS)
        .unwrap();
    assert_eq!(store.outbox_len(), 0);
    assert_eq!(store.person_count(), PERSONS as usize);
    let db = server.db();
    let office = place.municipality_code.clone();
    let (_, hasher) = server.run(async move { db.state(&office).await }).unwrap();
    assert_eq!(
        store
            .state_hasher(&place.municipality_code)
            .unwrap()
            .state_hash(),
        hasher.state_hash()
    );
}
