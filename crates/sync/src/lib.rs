//! The device's sync engine (`docs/sync.md`).
//!
//! [`planner`] is pure (outbox in → batches out; results in → what to ack, quarantine,
//! apply); [`sync`] does the IO through a [`Transport`]: push every batch (a retry after a lost
//! answer is acknowledged as `duplicate`, never applied twice), pull pages after the cursor,
//! then compare state hashes and repair only the buckets that differ. Every step is
//! idempotent: a sync cut at any point resumes where the store says it stopped (acknowledged
//! ops have left the outbox; the cursor moves with each applied page).
//!
//! Invariant: nothing here deletes or overwrites a local edit still in the outbox — the store
//! enforces it, the engine never asks otherwise.

pub mod planner;
pub mod transport;

use reintegra_core::ids::{DeviceId, UserId};
use reintegra_core::user::User;
use reintegra_proto::{
    EnrollRequest, ProtoError, PullResponse, RemoteRecord, ResolveRequest, Version, BATCH_BYTES,
};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;

use uuid::Uuid;

pub use reintegra_proto::Conflict;
use reintegra_store::{Store, SyncSettings};
use serde::Serialize;
use ts_rs::TS;

pub use transport::{normalize_endpoint, Exchange, Http, Transport};

/// Most ops read from the outbox per planning round.
const OUTBOX_ROUND: usize = 4000;

#[derive(Debug, thiserror::Error)]
pub enum SyncError {
    #[error("sin conexión con el servidor ({0})")]
    Offline(String),
    #[error("la conexión con el servidor se cortó ({0})")]
    Network(String),
    #[error("problema con el certificado del servidor ({0})")]
    Certificate(String),
    #[error("el servidor rechazó la solicitud: {message}")]
    Refused {
        status: u16,
        code: String,
        message: String,
        op_ids: Vec<uuid::Uuid>,
    },
    #[error("el servidor tuvo un error (HTTP {0}); se reintentará")]
    ServerError(u16),
    #[error("respuesta del servidor ilegible: {0}")]
    Protocol(#[from] ProtoError),
    #[error("«{0}» no es una dirección de servidor válida (https://…)")]
    BadEndpoint(String),
    #[error("«{0}» usa http:// sin cifrar: solo se permite para un servidor en este mismo equipo (127.0.0.1, localhost); use https://")]
    PlainHttp(String),
    #[error("este dispositivo no está inscrito: configure el servidor e inscríbalo con un código")]
    NotEnrolled,
    #[error(
        "el servidor no confirmó ninguno de los {0} cambios enviados; avise a la administración"
    )]
    Stuck(usize),
    #[error("la sincronización se detuvo porque la sesión se bloqueó; seguirá en la próxima")]
    Cancelled,
    #[error(transparent)]
    Store(#[from] reintegra_store::Error),
}

impl SyncError {
    /// Stable code for the UI.
    pub fn code(&self) -> &'static str {
        match self {
            SyncError::Offline(_) => "offline",
            SyncError::Network(_) => "network",
            SyncError::Certificate(_) => "certificate",
            // Only the server's explicit answer to this device's own token: `unknown_device`
            // (a restored server, another server at the address) never erases anything.
            SyncError::Refused { .. } if self.is_revocation() => "device_revoked",
            SyncError::Refused { code, .. } if code == "unknown_device" => "unknown_device",
            SyncError::Refused { .. } => "refused",
            SyncError::ServerError(_) => "server_error",
            SyncError::Protocol(_) => "protocol",
            SyncError::BadEndpoint(_) => "bad_endpoint",
            SyncError::PlainHttp(_) => "plain_http",
            SyncError::NotEnrolled => "not_enrolled",
            SyncError::Stuck(_) => "stuck",
            SyncError::Cancelled => "cancelled",
            SyncError::Store(_) => "store",
        }
    }

    /// The server said, answering this device's token, that the device was revoked: it must
    /// push nothing more and erase its store (`docs/sync.md`, "Revocation").
    pub fn is_revocation(&self) -> bool {
        matches!(self, SyncError::Refused { status: 401, code, .. } if code == "device_revoked")
    }

    /// Worth retrying after a pause (the link or the server may come back).
    pub fn is_transient(&self) -> bool {
        matches!(
            self,
            SyncError::Offline(_)
                | SyncError::Network(_)
                | SyncError::ServerError(_)
                | SyncError::Protocol(ProtoError::BadCompression | ProtoError::BadJson(_))
        )
    }
}

/// Knobs of a sync run.
#[derive(Debug, Clone)]
pub struct Options {
    /// Push batch and pull page size, compressed.
    pub batch_bytes: usize,
    /// Tries per request before giving up on this run.
    pub attempts: u32,
    pub backoff_base_ms: u64,
    pub backoff_max_ms: u64,
    /// Compare state hashes even when the pull brought nothing (hashing opens every record:
    /// a background sync does it once per session, a sync by hand always).
    pub verify: bool,
    /// Set by whoever ends the session (a lock): the run stops before its next request or
    /// write, and lets go of the store (and its keys). A request already on the wire finishes
    /// or times out first.
    pub cancel: Option<Arc<AtomicBool>>,
}

impl Default for Options {
    fn default() -> Self {
        Options {
            batch_bytes: BATCH_BYTES,
            attempts: 6,
            backoff_base_ms: 500,
            backoff_max_ms: 30_000,
            verify: true,
            cancel: None,
        }
    }
}

/// Where a sync is, for a progress bar.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, TS)]
pub struct Progress {
    /// `push`, `pull`, `repair` or `done`.
    pub phase: String,
    pub batches_sent: u32,
    pub batches_to_send: u32,
    pub pages_received: u32,
    #[ts(type = "number")]
    pub bytes_sent: u64,
    #[ts(type = "number")]
    pub bytes_received: u64,
    pub ops_pushed: u32,
    pub changes_pulled: u32,
}

/// What a sync did.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, TS)]
pub struct Report {
    pub progress: Progress,
    pub quarantined: u32,
    /// Local records written from the server (pulls, lost fields, repair).
    pub records_changed: u32,
    pub buckets_repaired: u32,
    pub retries: u32,
    /// Time spent writing pulled pages into the store.
    #[ts(type = "number")]
    pub apply_micros: u64,
}

/// Enrolls this device with a one-time code and keeps the settings (token sealed) in the store.
///
/// A store already enrolled (another address of its server, another server, another office)
/// enrolls as a new device: a server never lets an enrolled id be taken over, and the old token
/// is never sent to the new address. Its waiting ops become the new device's; its pull cursor
/// stays for the same server (`server_id`) and starts again from 0 for another.
pub fn enroll(
    store: &Store,
    endpoint: &str,
    code: &str,
    device_name: &str,
) -> Result<SyncSettings, SyncError> {
    let Some(previous) = store.sync_settings()? else {
        let (settings, _) = request_enrollment(endpoint, code, store.device(), device_name, false)?;
        store.set_sync_settings(Some(&settings))?;
        return Ok(settings);
    };
    let device = DeviceId::new(Uuid::now_v7());
    let (settings, _) = request_enrollment(endpoint, code, device, device_name, false)?;
    store.reenrolled(device, &settings, settings.server_id != previous.server_id)?;
    Ok(settings)
}

/// Enrolls a device that has no store yet with a code made for one user of an office that
/// already works: the settings to keep in the store it creates, and that user's record.
pub fn join(
    endpoint: &str,
    code: &str,
    device: DeviceId,
    device_name: &str,
) -> Result<(SyncSettings, User), SyncError> {
    match request_enrollment(endpoint, code, device, device_name, true)? {
        (settings, Some(user)) => Ok((settings, user)),
        (_, None) => Err(SyncError::Protocol(ProtoError::BadJson(
            "la inscripción para unirse no trajo el usuario".into(),
        ))),
    }
}

fn request_enrollment(
    endpoint: &str,
    code: &str,
    device: DeviceId,
    device_name: &str,
    join: bool,
) -> Result<(SyncSettings, Option<User>), SyncError> {
    let http = Http::new(endpoint, None)?;
    let answer = http.enroll(&EnrollRequest {
        v: Version::default(),
        code: code.trim().to_string(),
        device_id: device,
        device_name: device_name.to_string(),
        join,
    })?;
    let settings = SyncSettings {
        endpoint: normalize_endpoint(endpoint),
        device_token: answer.device_token,
        office: answer.office,
        server_id: answer.server_id,
    };
    Ok((settings, answer.user))
}

/// Most pages of conflicts read in one listing (200 each by default).
const MAX_CONFLICT_PAGES: usize = 50;

/// The server's unresolved conflicts for this device's office, page after page, read by the
/// store's signed-in user (the server lists them to supervisors only).
pub fn conflicts(store: &Store) -> Result<Vec<Conflict>, SyncError> {
    let (transport, _) = http_for(store)?;
    all_conflicts(&transport, store.user(), false)
}

/// Every page of the conflict queue (unresolved only unless `all`). A page must move forward:
/// a server that sends the same page again, or pages without end, is not followed forever.
pub fn all_conflicts<T: Transport>(
    transport: &T,
    user: UserId,
    all: bool,
) -> Result<Vec<Conflict>, SyncError> {
    let mut out = Vec::new();
    let mut after = None;
    for _ in 0..MAX_CONFLICT_PAGES {
        let page = transport.conflicts(user, after, all)?;
        out.extend(page.conflicts);
        match page.next {
            Some(next) if Some(next) > after => after = Some(next),
            _ => break,
        }
    }
    Ok(out)
}

/// Resolves conflict `id` on the server with `value`, chosen by `author`.
pub fn resolve_conflict(
    store: &Store,
    id: Uuid,
    value: serde_json::Value,
    author: UserId,
) -> Result<(), SyncError> {
    let (transport, _) = http_for(store)?;
    transport.resolve(
        id,
        &ResolveRequest {
            v: Version::default(),
            value,
            author,
        },
    )?;
    Ok(())
}

/// The HTTP transport of an enrolled store.
pub fn http_for(store: &Store) -> Result<(Http, SyncSettings), SyncError> {
    let settings = store.sync_settings()?.ok_or(SyncError::NotEnrolled)?;
    Ok((
        Http::new(&settings.endpoint, Some(settings.device_token.clone()))?,
        settings,
    ))
}

struct Run<'a, T: Transport> {
    store: &'a Store,
    transport: &'a T,
    options: &'a Options,
    report: Report,
    on_progress: &'a mut dyn FnMut(&Progress),
    /// The server was restored from an older copy (or is another one): the cursor started
    /// again and repair sends back what the server lacks.
    restored: bool,
    server_id: Uuid,
}

impl<'a, T: Transport + Sync> Run<'a, T> {
    /// A run for an enrolled store.
    fn new(
        store: &'a Store,
        transport: &'a T,
        options: &'a Options,
        on_progress: &'a mut dyn FnMut(&Progress),
    ) -> Result<(Run<'a, T>, SyncSettings), SyncError> {
        let settings = store.sync_settings()?.ok_or(SyncError::NotEnrolled)?;
        let run = Run {
            store,
            transport,
            options,
            report: Report::default(),
            on_progress,
            restored: false,
            server_id: settings.server_id,
        };
        Ok((run, settings))
    }

    /// `Cancelled` once the session that started this run has ended.
    fn go_on(&self) -> Result<(), SyncError> {
        match &self.options.cancel {
            Some(flag) if flag.load(Ordering::SeqCst) => Err(SyncError::Cancelled),
            _ => Ok(()),
        }
    }

    /// Sleeps `ms`, waking early (with `Cancelled`) when the run is cancelled.
    fn pause(&self, ms: u64) -> Result<(), SyncError> {
        let until = std::time::Instant::now() + std::time::Duration::from_millis(ms);
        loop {
            self.go_on()?;
            let left = until.saturating_duration_since(std::time::Instant::now());
            if left.is_zero() {
                return Ok(());
            }
            std::thread::sleep(left.min(std::time::Duration::from_millis(50)));
        }
    }

    /// Calls `f` until it works, a non-transient error, or the attempts run out.
    fn retry<R>(&mut self, mut f: impl FnMut(&T) -> Result<R, SyncError>) -> Result<R, SyncError> {
        let mut attempt = 0;
        loop {
            self.go_on()?;
            match f(self.transport) {
                Err(e) if e.is_transient() && attempt + 1 < self.attempts_for(&e) => {
                    let wait = planner::backoff_ms(
                        attempt,
                        self.options.backoff_base_ms,
                        self.options.backoff_max_ms,
                        rand::random::<f64>(),
                    );
                    self.pause(wait)?;
                    attempt += 1;
                    self.report.retries += 1;
                }
                other => return other,
            }
        }
    }

    /// No server at all is not worth many tries now (the next sync comes soon and the person
    /// waiting should hear it quickly); a cut mid-transfer is.
    fn attempts_for(&self, e: &SyncError) -> u32 {
        match e {
            SyncError::Offline(_) => self.options.attempts.min(2),
            _ => self.options.attempts,
        }
    }

    fn progress(&mut self, phase: &str) {
        self.report.progress.phase = phase.to_string();
        (self.on_progress)(&self.report.progress);
    }

    /// A push cut before: asks which of the ops sent then the server applied, and
    /// acknowledges those without sending them again. A server that cannot answer (an older
    /// one) costs nothing but the resend.
    fn resume(&mut self) -> Result<(), SyncError> {
        let sent = self.store.sent_unacknowledged()?;
        for chunk in sent.chunks(reintegra_proto::MAX_PROBE_IDS) {
            let asked: Vec<Uuid> = chunk.iter().map(|e| e.op.op_id).collect();
            let body = reintegra_proto::encode(&reintegra_proto::AppliedRequest {
                v: Version::default(),
                op_ids: asked.clone(),
            });
            let answer = match self.retry(|t| t.applied(body.clone())) {
                Ok(answer) => answer,
                // A server without this question: send them again (answered `duplicate`).
                Err(SyncError::Refused { code, .. }) if code == "not_found" => return Ok(()),
                Err(e) => return Err(e),
            };
            let asked: std::collections::HashSet<Uuid> = asked.into_iter().collect();
            let applied: Vec<Uuid> = answer
                .message
                .applied
                .into_iter()
                .filter(|id| asked.contains(id))
                .collect();
            self.store.ack(&applied)?;
            let p = &mut self.report.progress;
            p.ops_pushed += applied.len() as u32;
            p.bytes_sent += answer.sent as u64;
            p.bytes_received += answer.received as u64;
        }
        Ok(())
    }

    fn push(&mut self) -> Result<(), SyncError> {
        self.resume()?;
        let mut waiting = usize::MAX;
        loop {
            let outbox = self.store.outbox(OUTBOX_ROUND)?;
            if outbox.is_empty() {
                return Ok(());
            }
            // Every round acknowledges or quarantines something, or the server is not
            // answering for the ops it gets: stop rather than send them forever.
            let left = self.store.outbox_len();
            if left >= waiting {
                return Err(SyncError::Stuck(left));
            }
            waiting = left;
            let seqs: Vec<u64> = outbox.iter().map(|e| e.seq).collect();
            let ops: Vec<_> = outbox.into_iter().map(|e| e.op).collect();
            let batches = planner::push_batches(&ops, self.options.batch_bytes);
            self.report.progress.batches_to_send += batches.len() as u32;
            self.progress("push");
            for batch in batches {
                self.go_on()?;
                // Before it goes: a cut from here on leaves the device asking, not resending.
                if let Some(&last) = batch.ops.end.checked_sub(1).and_then(|i| seqs.get(i)) {
                    self.store.mark_sent(last)?;
                }
                let body = batch.body;
                let answer = match self.retry(|t| t.push(body.clone())) {
                    Ok(answer) => answer,
                    Err(SyncError::Refused {
                        code,
                        op_ids,
                        message,
                        ..
                    }) if code == "out_of_scope" && !op_ids.is_empty() => {
                        for id in op_ids {
                            self.store.quarantine(id, &code, &message)?;
                            self.report.quarantined += 1;
                        }
                        // Plan again without them.
                        break;
                    }
                    Err(e) => return Err(e),
                };
                let outcome = planner::read_push_results(&answer.message.results);
                for (id, fields) in &outcome.superseded {
                    if let Some(op) = ops.iter().find(|op| op.op_id == *id) {
                        self.report.records_changed +=
                            self.store.apply_superseded(op, fields)? as u32;
                    }
                }
                for (id, code, reason) in &outcome.rejected {
                    self.store.quarantine(*id, code, reason)?;
                    self.report.quarantined += 1;
                }
                self.store.ack(&outcome.done)?;
                let p = &mut self.report.progress;
                p.batches_sent += 1;
                p.ops_pushed += outcome.done.len() as u32;
                p.bytes_sent += answer.sent as u64;
                p.bytes_received += answer.received as u64;
                self.progress("push");
            }
        }
    }

    /// Fetches a page, asking for small ones again after a cut (a lost page costs little).
    fn fetch(
        &mut self,
        after: u64,
        page_bytes: &mut usize,
    ) -> Result<Exchange<PullResponse>, SyncError> {
        let base = self.options.batch_bytes;
        self.go_on()?;
        match self.transport.pull(after, *page_bytes) {
            Ok(page) => Ok(page),
            Err(e) if e.is_transient() => {
                *page_bytes = planner::next_page_bytes(*page_bytes, false, base);
                self.report.retries += 1;
                let size = *page_bytes;
                self.retry(|t| t.pull(after, size))
            }
            Err(e) => Err(e),
        }
    }

    /// Pulls pages after the cursor. While one page is written to the store the next is
    /// already on its way (its cursor is known), so the link never waits for the disk.
    fn pull(&mut self) -> Result<(), SyncError> {
        let base = self.options.batch_bytes;
        let mut page_bytes = base;
        let cursor = self.store.pull_cursor();
        let mut page = self.fetch(cursor, &mut page_bytes)?;
        if self.server_changed(&page.message, cursor)? {
            // Restored from an older copy, or another server: what this device pulled is no
            // measure of what it holds; pull from the start, then repair without dropping.
            self.store.reset_pull_cursor()?;
            self.restored = true;
            page = self.fetch(0, &mut page_bytes)?;
        }
        if let Some(mark) = page.message.server {
            self.store.set_server_mark(mark.id, mark.epoch)?;
        }
        loop {
            let PullResponse {
                changes,
                next,
                more,
                ..
            } = page.message;
            let received = page.received;
            // Nothing more is written once the session has ended.
            self.go_on()?;
            let ops: Vec<_> = changes.into_iter().map(|c| c.op).collect();
            let count = ops.len();
            page_bytes = planner::next_page_bytes(page_bytes, true, base);
            let (store, transport, ask) = (self.store, self.transport, page_bytes);
            let (applied, apply_time, prefetched) = std::thread::scope(|scope| {
                let prefetch = more.then(|| scope.spawn(move || transport.pull(next, ask)));
                let started = std::time::Instant::now();
                let applied = store.apply_pulled(ops, next);
                (applied, started.elapsed(), prefetch.map(|h| h.join()))
            });
            self.report.apply_micros += apply_time.as_micros() as u64;
            self.report.records_changed += applied? as u32;
            let p = &mut self.report.progress;
            p.pages_received += 1;
            p.changes_pulled += count as u32;
            p.bytes_received += received as u64;
            self.progress("pull");
            page = match prefetched {
                None => return Ok(()),
                Some(Ok(Ok(page))) => page,
                Some(Ok(Err(e))) if !e.is_transient() => return Err(e),
                // A cut prefetch (or a panicked thread): fetch again, smaller.
                Some(_) => {
                    page_bytes = planner::next_page_bytes(page_bytes, false, base);
                    self.fetch(next, &mut page_bytes)?
                }
            };
        }
    }

    /// Whether the server is not the one, or not the life of it, this device pulled from: its
    /// cursor is ahead of the server's sequence (a smaller `next`), or the answer's id or epoch
    /// differ from those last seen (the id from enrollment the first time).
    fn server_changed(&self, page: &PullResponse, cursor: u64) -> Result<bool, SyncError> {
        if page.next < cursor {
            return Ok(true);
        }
        let Some(mark) = page.server else {
            return Ok(false);
        };
        Ok(match self.store.server_mark()? {
            Some(known) => known != (mark.id, mark.epoch),
            None => mark.id != self.server_id,
        })
    }

    fn repair(&mut self, office: &str) -> Result<(), SyncError> {
        let state = self.retry(|t| t.state())?;
        // Hashing opens every record: only when the two copies should be equal.
        if !planner::comparable(self.store.outbox_len(), self.store.pull_cursor(), state.seq) {
            return Ok(());
        }
        let local = self.store.state_hasher(office)?;
        if local.state_hash() == state.hash {
            return Ok(());
        }
        self.progress("repair");
        let remote = self.retry(|t| t.buckets())?;
        for bucket in planner::differing_buckets(&local.bucket_hashes(), &remote.buckets) {
            self.go_on()?;
            let records = self.retry(|t| t.records(bucket))?;
            self.report.progress.bytes_received += records.received as u64;
            let records: Vec<_> = records
                .message
                .records
                .into_iter()
                .map(
                    |RemoteRecord { entity, id, record }| reintegra_store::RemoteRecord {
                        entity,
                        id,
                        record,
                    },
                )
                .collect();
            if self.restored {
                let (taken, _sent) = self
                    .store
                    .reconcile_after_restore(office, bucket, &records)?;
                self.report.records_changed += taken as u32;
            } else {
                self.report.records_changed +=
                    self.store.replace_bucket(office, bucket, &records)? as u32;
            }
            self.report.buckets_repaired += 1;
        }
        Ok(())
    }
}

/// One full sync: push, pull, check and repair. `now_ms` is recorded as the last good sync.
pub fn sync<T: Transport + Sync>(
    store: &Store,
    transport: &T,
    options: &Options,
    now_ms: u64,
    on_progress: &mut dyn FnMut(&Progress),
) -> Result<Report, SyncError> {
    let (mut run, settings) = Run::new(store, transport, options, on_progress)?;
    // Records held because this build could not read them: it may now (an upgrade).
    run.report.records_changed += store.retry_held()? as u32;
    run.push()?;
    run.pull()?;
    if options.verify || run.report.progress.changes_pulled > 0 || run.restored {
        run.repair(&settings.office)?;
    }
    if run.restored && store.outbox_len() > 0 {
        // What the restored server lacked goes back now, and its answer comes down.
        run.push()?;
        run.pull()?;
    }
    // What this device no longer serves (a case re-routed elsewhere, a new office) leaves it
    // once its own changes for it have gone up.
    // It opens every record, like a state hash: only when something moved or was checked.
    let moved = run.report.progress.changes_pulled > 0 || run.report.progress.ops_pushed > 0;
    if options.verify || moved || run.restored {
        run.go_on()?;
        run.report.records_changed += store.drop_out_of_scope(&settings.office)? as u32;
    }
    store.set_last_sync_ms(now_ms)?;
    run.progress("done");
    Ok(run.report)
}

/// Only the push half of [`sync`] (benchmarks; scripts that must not download).
pub fn push<T: Transport + Sync>(
    store: &Store,
    transport: &T,
    options: &Options,
    on_progress: &mut dyn FnMut(&Progress),
) -> Result<Report, SyncError> {
    let (mut run, _) = Run::new(store, transport, options, on_progress)?;
    run.push()?;
    Ok(run.report)
}

/// Only the pull half of [`sync`] (a new device's bootstrap in benchmarks).
pub fn pull<T: Transport + Sync>(
    store: &Store,
    transport: &T,
    options: &Options,
    on_progress: &mut dyn FnMut(&Progress),
) -> Result<Report, SyncError> {
    let (mut run, _) = Run::new(store, transport, options, on_progress)?;
    run.pull()?;
    Ok(run.report)
}
