//! `reintegra sync`: the app's sync without the window, for office scripts and benchmarks.

use std::io::Write;
use std::path::Path;
use std::time::{SystemTime, UNIX_EPOCH};

use reintegra_store::LockedStore;
use reintegra_sync::{Options, Progress};

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

fn passphrase() -> Result<String, String> {
    match std::env::var(PASSPHRASE_ENV) {
        Ok(p) => Ok(p),
        Err(_) => rpassword::prompt_password("Frase de acceso: ")
            .map_err(|e| format!("no se pudo leer la frase de acceso ({e}); use {PASSPHRASE_ENV}")),
    }
}

fn now_ms() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| u64::try_from(d.as_millis()).unwrap_or(u64::MAX))
}

pub fn run(args: SyncArgs<'_>, out: &mut dyn Write) -> Result<(), String> {
    let store = LockedStore::open(args.data)
        .map_err(|e| e.to_string())?
        .unlock(args.user, &passphrase()?)
        .map_err(|e| e.to_string())?;
    match (args.enroll, args.endpoint) {
        (Some(code), Some(endpoint)) => {
            let s = reintegra_sync::enroll(&store, endpoint, code, args.device_name)
                .map_err(|e| e.to_string())?;
            writeln!(out, "inscrito en {} (oficina {})", s.endpoint, s.office)
                .map_err(|e| e.to_string())?;
        }
        (Some(_), None) => return Err("--enroll necesita --endpoint".into()),
        (None, Some(endpoint)) => {
            let mut s = store
                .sync_settings()
                .map_err(|e| e.to_string())?
                .ok_or("este dispositivo no está inscrito: use --enroll CÓDIGO")?;
            s.endpoint = endpoint.trim().trim_end_matches('/').to_string();
            store
                .set_sync_settings(Some(&s))
                .map_err(|e| e.to_string())?;
        }
        (None, None) => {}
    }
    let (transport, _) = reintegra_sync::http_for(&store).map_err(|e| e.to_string())?;
    let mut show = |p: &Progress| {
        eprint!(
            "\r{:<6} lotes {}/{} · páginas {} · ↑ {} KB · ↓ {} KB   ",
            p.phase,
            p.batches_sent,
            p.batches_to_send,
            p.pages_received,
            p.bytes_sent / 1024,
            p.bytes_received / 1024
        );
    };
    let report = reintegra_sync::sync(&store, &transport, &Options::default(), now_ms(), &mut show)
        .map_err(|e| e.to_string())?;
    eprintln!();
    let p = &report.progress;
    writeln!(
        out,
        "sincronizado: {} operaciones enviadas, {} cambios recibidos, {} en cuarentena, {} pendientes; {} B ↑, {} B ↓",
        p.ops_pushed,
        p.changes_pulled,
        report.quarantined,
        store.outbox_len(),
        p.bytes_sent,
        p.bytes_received
    )
    .map_err(|e| e.to_string())
}
