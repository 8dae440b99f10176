//! `reintegra sync`: the app's sync without the window, for office scripts and benchmarks.

use std::io::Write;
use std::path::Path;

use chrono::Utc;
use reintegra_api::{KdfParams, Session, SyncProgress};

/// Where the passphrase comes from when there is no terminal to ask.
pub const PASSPHRASE_ENV: &str = "REINTEGRA_PASSPHRASE";
/// The user, when `--user` is not given.
pub const USER_ENV: &str = "REINTEGRA_USER";

pub struct SyncArgs<'a> {
    pub data: &'a Path,
    pub user: &'a str,
    pub endpoint: Option<&'a str>,
    pub enroll: Option<&'a str>,
    pub device_name: &'a str,
}

pub(crate) fn passphrase() -> Result<reintegra_api::Passphrase, String> {
    match std::env::var(PASSPHRASE_ENV) {
        Ok(p) => Ok(reintegra_api::Passphrase::new(p)),
        Err(_) => rpassword::prompt_password("Frase de acceso: ")
            .map(reintegra_api::Passphrase::new)
            .map_err(|e| format!("no se pudo leer la frase de acceso ({e}); use {PASSPHRASE_ENV}")),
    }
}

/// Signs in as the app does (the user must be active; the sign-in is audited; indexes are
/// brought up to date), then enrolls or changes the endpoint if asked, then syncs.
pub fn run(args: SyncArgs<'_>, out: &mut dyn Write) -> Result<(), String> {
    let session = Session::open(args.data, KdfParams::RECOMMENDED).map_err(|e| e.to_string())?;
    session
        .unlock(args.user, &passphrase()?, Utc::now())
        .map_err(|e| e.to_string())?;
    match (args.enroll, args.endpoint) {
        (Some(code), Some(endpoint)) => {
            let view = session
                .sync_enroll(endpoint, code, args.device_name)
                .map_err(|e| e.to_string())?;
            writeln!(
                out,
                "inscrito en {} (oficina {})",
                view.endpoint.unwrap_or_default(),
                view.office.unwrap_or_default()
            )
            .map_err(|e| e.to_string())?;
        }
        (Some(_), None) => return Err("--enroll necesita --endpoint".into()),
        // The token is never sent to a new address: another address is a new enrollment.
        (None, Some(_)) => {
            return Err(
                "cambiar la dirección del servidor necesita un código nuevo: use --enroll CÓDIGO --endpoint URL"
                    .into(),
            )
        }
        (None, None) => {}
    }
    let mut last = SyncProgress::default();
    let mut show = |p: &SyncProgress| {
        eprint!(
            "\r{:<6} lotes {}/{} · páginas {} · ↑ {} KB · ↓ {} KB   ",
            p.phase,
            p.batches_sent,
            p.batches_to_send,
            p.pages_received,
            p.bytes_sent / 1024,
            p.bytes_received / 1024
        );
        last = p.clone();
    };
    let view = session
        .sync_now(Utc::now(), &mut show)
        .map_err(|e| e.to_string())?;
    // No lock here: the process ends and the keys with it, and a lock entry written after the
    // sync would wait in the outbox until the next one.
    eprintln!();
    writeln!(
        out,
        "sincronizado: {} operaciones enviadas, {} cambios recibidos, {} en cuarentena, {} pendientes; {} B ↑, {} B ↓",
        last.ops_pushed,
        last.changes_pulled,
        view.quarantined.len(),
        view.pending_changes,
        last.bytes_sent,
        last.bytes_received
    )
    .map_err(|e| e.to_string())
}
