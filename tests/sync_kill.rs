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

fn sync_command(dir: &std::path::Path, endpoint: &str) -> Command {
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_reintegra"));
    cmd.args(["sync", "--user", "ana", "--endpoint", endpoint, "--data"])
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
        let ana = User {
            id: UserId::new(Uuid::now_v7()),
            name: "ana".into(),
            login: "ana".into(),
            role: Role::Caseworker,
            office_municipality: Some(place.municipality_code.clone()),
            active: true,
            also_supervisor: false,
        };
        let store = LockedStore::create(
            device_dir.path(),
            NewStore {
                device: DeviceId::new(Uuid::now_v7()),
                login: "ana",
                user_id: ana.id,
                passphrase: PASS,
                kdf: KdfParams::INSECURE_FAST,
            },
        )
        .unwrap();
        // `reintegra sync` signs in as the app does: the user must exist and be active.
        store.save_user(&ana).unwrap();
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

    let mut child = sync_command(device_dir.path(), &via_proxy).spawn().unwrap();
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
    let status = sync_command(device_dir.path(), &via_proxy)
        .status()
        .unwrap();
    assert!(status.success());
    assert_eq!(op_count(), PERSONS);

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
