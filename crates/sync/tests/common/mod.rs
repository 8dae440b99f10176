//! A real server on port 0 and real device stores in temp dirs. The server knows who acts:
//! every net starts with an admin (a store of its own, enrolled for every office) whose user
//! record bootstraps the server, and every device's user is an active user that admin created,
//! with a role and the device's office, before the device pushes anything.
#![allow(clippy::unwrap_used, dead_code)]

use std::net::SocketAddr;

use chrono::{TimeZone, Utc};
use reintegra_core::ids::{DeviceId, PersonId, UserId};
use reintegra_core::person::Person;
use reintegra_core::territory::Territory;
use reintegra_core::user::{Role, User};
use reintegra_server::Background;
use reintegra_store::{KdfParams, LockedStore, NewStore, Store};
use reintegra_sync::{Http, Options, Report, SyncError};
use tempfile::TempDir;
use uuid::Uuid;

pub const LOGIN: &str = "ana";
pub const PASS: &str = "contraseña segura 1";

pub struct Net {
    pub server: Background,
    /// The admin's store: it makes the users of the devices and syncs them up.
    admin: Device,
    _dir: TempDir,
}

pub struct Device {
    pub store: Store,
    pub dir: TempDir,
}

/// A prioritized district and its municipality (an office).
pub fn office_place(n: usize) -> (String, String) {
    let p = Territory::el_salvador().prioritized().nth(n).unwrap();
    (p.district_code.clone(), p.municipality_code.clone())
}

/// A user record as the app makes it.
pub fn user(id: UserId, role: Role, office: Option<&str>) -> User {
    // From JSON, as records travel: fields the app adds later keep their defaults.
    serde_json::from_value(serde_json::json!({
        "id": id, "name": format!("{role:?} {id}"), "login": format!("u{}", id.as_uuid().simple()),
        "role": role, "office_municipality": office, "active": true,
    }))
    .unwrap()
}

pub fn net() -> Net {
    let dir = TempDir::new().unwrap();
    let server = Background::start(dir.path(), "127.0.0.1:0".parse().unwrap(), None).unwrap();
    // The first admin: central, its own user record authored by itself (the server's
    // bootstrap), on a store enrolled for every office.
    let admin_id = UserId::new(Uuid::now_v7());
    let admin_dir = TempDir::new().unwrap();
    let store = LockedStore::create(
        admin_dir.path(),
        NewStore {
            device: DeviceId::new(Uuid::now_v7()),
            login: "admin",
            user_id: admin_id,
            passphrase: PASS,
            kdf: KdfParams::INSECURE_FAST,
        },
    )
    .unwrap();
    store.save_user(&user(admin_id, Role::Admin, None)).unwrap();
    let code = server.enroll_code("*").unwrap();
    reintegra_sync::enroll(&store, &server.url(), &code, "admin").unwrap();
    let admin = Device {
        store,
        dir: admin_dir,
    };
    sync(&admin).unwrap();
    assert!(admin.store.quarantined().unwrap().is_empty(), "bootstrap");
    Net {
        server,
        admin,
        _dir: dir,
    }
}

impl Net {
    pub fn addr(&self) -> SocketAddr {
        self.server.local_addr()
    }

    pub fn url(&self) -> String {
        self.server.url()
    }

    pub fn code(&self, office: &str) -> String {
        self.server.enroll_code(office).unwrap()
    }

    pub fn op_count(&self) -> u64 {
        let db = self.server.db();
        self.server.run(async move { db.op_count().await }).unwrap()
    }

    /// Runs async work (a link simulator) on the server's runtime.
    pub fn block_on<F: std::future::Future + Send>(&self, f: F) -> F::Output
    where
        F::Output: Send,
    {
        self.server.run(f)
    }

    /// A user the admin creates (and syncs up), of `role` and `office` (`None`: central).
    pub fn add_user(&self, id: UserId, role: Role, office: Option<&str>) -> UserId {
        self.admin.store.save_user(&user(id, role, office)).unwrap();
        sync(&self.admin).unwrap();
        assert!(self.admin.store.quarantined().unwrap().is_empty());
        id
    }

    /// A new user of `role` and `office`.
    pub fn new_user(&self, role: Role, office: Option<&str>) -> UserId {
        self.add_user(UserId::new(Uuid::now_v7()), role, office)
    }

    /// A new device store enrolled for `office` at `endpoint` (the server or a proxy), used by
    /// a caseworker of that office (central for `*`).
    pub fn device(&self, n: u8, office: &str, endpoint: &str) -> Device {
        self.device_as(n, office, endpoint, Role::Caseworker)
    }

    /// A new device store enrolled for `office`, used by a user of `role` of that office.
    pub fn device_as(&self, n: u8, office: &str, endpoint: &str, role: Role) -> Device {
        let user_id = UserId::new(Uuid::from_u128(u128::from(n) + 1));
        let user_office = (office != reintegra_core::sync_state::ALL_OFFICES).then_some(office);
        self.add_user(user_id, role, user_office);
        let dir = TempDir::new().unwrap();
        let store = LockedStore::create(
            dir.path(),
            NewStore {
                device: DeviceId::new(Uuid::now_v7()),
                login: LOGIN,
                user_id,
                passphrase: PASS,
                kdf: KdfParams::INSECURE_FAST,
            },
        )
        .unwrap();
        reintegra_sync::enroll(&store, endpoint, &self.code(office), &format!("d{n}")).unwrap();
        Device { store, dir }
    }

    /// The server's state hash as a device of `office` sees it.
    pub fn server_hash(&self, device: &Device) -> String {
        use reintegra_sync::Transport;
        transport(device).state().unwrap().hash
    }
}

pub fn fast() -> Options {
    Options {
        attempts: 8,
        backoff_base_ms: 5,
        backoff_max_ms: 100,
        ..Options::default()
    }
}

pub fn transport(device: &Device) -> Http {
    reintegra_sync::http_for(&device.store).unwrap().0
}

pub fn sync(device: &Device) -> Result<Report, SyncError> {
    reintegra_sync::sync(&device.store, &transport(device), &fast(), 1, &mut |_| {})
}

pub fn local_hash(device: &Device) -> String {
    let office = device.store.sync_settings().unwrap().unwrap().office;
    device.store.state_hasher(&office).unwrap().state_hash()
}

pub fn new_person(given: &str, district: &str) -> Person {
    let now = Utc.with_ymd_and_hms(2026, 3, 1, 12, 0, 0).single().unwrap();
    let mut p = Person::new(PersonId::new(Uuid::now_v7()), given, "Pérez", now);
    p.destination_district = district.to_string();
    p.phone = "7000-0000".into();
    p
}
