//! Helpers shared by the store's integration tests.
#![allow(clippy::unwrap_used)] // tests may unwrap
#![allow(dead_code, clippy::expect_used)]

use std::path::{Path, PathBuf};

use chrono::{DateTime, NaiveDate, TimeZone, Utc};
use reintegra_core::dui::Dui;
use reintegra_core::ids::{DeviceId, PersonId, UserId};
use reintegra_core::person::Person;
use reintegra_store::{KdfParams, LockedStore, NewStore, Store};
use uuid::Uuid;

pub const LOGIN: &str = "ana.caseworker";
pub const PASS: &str = "contraseña segura 1";
pub const USER: UserId = UserId::new(Uuid::from_u128(0x0190_0000_0000_7000_8000_0000_0000_00a1));
pub const DEVICE: DeviceId =
    DeviceId::new(Uuid::from_u128(0x0190_0000_0000_7000_8000_1234_5678_9abc));

pub fn create(dir: &Path) -> Store {
    LockedStore::create(
        dir,
        NewStore {
            device: DEVICE,
            login: LOGIN,
            user_id: USER,
            passphrase: PASS,
            kdf: KdfParams::INSECURE_FAST,
        },
    )
    .expect("create store")
}

pub fn reopen(dir: &Path) -> Store {
    LockedStore::open(dir)
        .expect("open")
        .unlock(LOGIN, PASS)
        .expect("unlock")
}

pub fn now() -> DateTime<Utc> {
    Utc.with_ymd_and_hms(2024, 11, 5, 15, 30, 0)
        .single()
        .expect("date")
}

pub fn day(y: i32, m: u32, d: u32) -> NaiveDate {
    NaiveDate::from_ymd_opt(y, m, d).expect("date")
}

/// A person id that sorts by `n` (like UUIDv7 made in sequence).
pub fn pid(n: u128) -> PersonId {
    PersonId::new(Uuid::from_u128(
        0x0190_0000_0000_7000_8000_0000_0000_0000 + n,
    ))
}

pub fn person(n: u128, given: &str, surname: &str) -> Person {
    Person::new(pid(n), given, surname, now())
}

pub fn person_with(
    n: u128,
    given: &str,
    s1: &str,
    s2: &str,
    dui: &str,
    phone: &str,
    district: &str,
) -> Person {
    let mut p = person(n, given, s1);
    p.second_surname = s2.into();
    p.dui = Some(Dui::parse(dui).expect("valid DUI"));
    p.phone = phone.into();
    p.destination_district = district.into();
    p
}

/// Every file under `dir`, recursively.
pub fn files_under(dir: &Path) -> Vec<PathBuf> {
    let mut out = Vec::new();
    let mut stack = vec![dir.to_path_buf()];
    while let Some(d) = stack.pop() {
        for entry in std::fs::read_dir(&d).expect("read dir") {
            let p = entry.expect("entry").path();
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

/// (path, content hash) of every file under `dir`.
pub fn snapshot(dir: &Path) -> Vec<(PathBuf, blake3::Hash)> {
    files_under(dir)
        .into_iter()
        .map(|p| {
            let h = blake3::hash(&std::fs::read(&p).expect("read"));
            (p, h)
        })
        .collect()
}
