//! For unit tests: a new encrypted store in a temporary directory (kept alive with it).

use reintegra_core::ids::{DeviceId, UserId};
use reintegra_store::{KdfParams, LockedStore, NewStore, Store};
use uuid::Uuid;

pub(crate) fn new_store() -> (tempfile::TempDir, Store) {
    let dir = tempfile::tempdir().expect("temp dir");
    let store = LockedStore::create(
        dir.path(),
        NewStore {
            device: DeviceId::new(Uuid::now_v7()),
            login: "ana",
            user_id: UserId::new(Uuid::now_v7()),
            passphrase: "clave de prueba 123",
            kdf: KdfParams::INSECURE_FAST,
        },
    )
    .expect("a new store");
    (dir, store)
}
