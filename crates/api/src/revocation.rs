//! A revoked device (`docs/sync.md`, "Revocation"): when the server answers this device's own
//! token with `device_revoked` (never on `unknown_device`), the sync pushes nothing more, the
//! session ends (keys and cases leave memory), and the store is crypto-erased
//! (`reintegra_store::Store::erase`). What stays is a marker without personal data — when,
//! and the office to call — that the next start shows as the "dado de baja" screen until
//! someone sets the device up again from nothing.

use std::sync::Arc;
use std::time::{Duration, Instant};

use chrono::{DateTime, Utc};
use reintegra_core::sync_state::ALL_OFFICES;
use reintegra_core::territory::Territory;
use reintegra_store::Store;
use serde::{Deserialize, Serialize};
use ts_rs::TS;

use crate::{ApiError, Result, Session, SessionState};

/// How long an erase waits for other work on the store (a screen reading it, the cases being
/// read) to let go before it leaves the files to the next start.
const WAIT_ALONE: Duration = Duration::from_secs(10);

/// What the "dado de baja" screen says: when, and which office the device worked for.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, TS)]
pub struct RevokedNotice {
    pub revoked_at: DateTime<Utc>,
    /// The office the device was enrolled for (`*`: every office), if known.
    pub office: Option<String>,
    /// That office's municipality by name (`None` for `*` and when unknown).
    pub office_name: Option<String>,
}

impl Session {
    /// Whether this device's store was erased because the server revoked the device.
    pub fn revoked(&self) -> Option<RevokedNotice> {
        let raw = reintegra_store::erased_marker(self.dir())?;
        Some(serde_json::from_slice(&raw).unwrap_or(RevokedNotice {
            revoked_at: DateTime::<Utc>::UNIX_EPOCH,
            office: None,
            office_name: None,
        }))
    }

    /// Leaves the "dado de baja" screen to set this device up again from nothing (a first
    /// user, or joining an office with a new code): the marker goes. No data comes back.
    pub fn forget_revocation(&self) -> Result<SessionState> {
        reintegra_store::forget_erased(self.dir())?;
        Ok(self.current())
    }
}

/// The server revoked this device: the session ends and the store is erased. `store` is the
/// caller's handle (the sync's). Returns the error the caller reports.
pub(crate) fn erase_revoked(session: &Session, store: Arc<Store>, now: DateTime<Utc>) -> ApiError {
    let office = store.sync_settings().ok().flatten().map(|s| s.office);
    let notice = RevokedNotice {
        revoked_at: now,
        office_name: office.as_deref().and_then(office_name),
        office,
    };
    let marker = serde_json::to_vec(&notice).unwrap_or_default();
    // The session lets go of its handle, its keys and its cases first.
    drop(session.close_for_erase());
    match erase_when_alone(store, &marker) {
        Ok(()) => ApiError::Sync {
            code: "device_revoked",
            message: "Este equipo fue dado de baja en el servidor: sus datos se borraron.".into(),
        },
        Err(e) => e.into(),
    }
}

/// Destroys the keys on disk at once (nothing opens the store again, whoever still holds it),
/// then deletes the files as soon as this is the only handle; past [`WAIT_ALONE`] the files
/// are left to the next start (`finish_erase`).
fn erase_when_alone(store: Arc<Store>, marker: &[u8]) -> reintegra_store::Result<()> {
    store.begin_erase(marker)?;
    let deadline = Instant::now() + WAIT_ALONE;
    let mut store = store;
    loop {
        match Arc::try_unwrap(store) {
            Ok(alone) => return alone.erase(marker),
            Err(shared) if Instant::now() < deadline => {
                store = shared;
                std::thread::sleep(Duration::from_millis(25));
            }
            Err(_) => return Ok(()),
        }
    }
}

fn office_name(office: &str) -> Option<String> {
    if office == ALL_OFFICES {
        return None;
    }
    Territory::el_salvador()
        .municipality(office)
        .map(|m| m.name.clone())
}
