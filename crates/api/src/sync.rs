//! "Sincronización": enroll this device, sync now (or when due), what is pending, what the
//! server refused (quarantine) and the conflict queue supervisors resolve. The engine is
//! `reintegra-sync`; this module keeps one sync at a time and the last error for the screen.

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};

use chrono::{DateTime, Utc};
use reintegra_core::audit::{AuditAction, RecordKind};
use reintegra_core::ids::{CaseNoteId, FollowUpId, PersonId, ReferralId};
use reintegra_core::op::EntityKind;
use reintegra_core::permission::Permission;
use reintegra_core::sync_state::ALL_OFFICES;
use reintegra_core::territory::Territory;
use reintegra_core::user::User;
use reintegra_store::Store;
use reintegra_sync::{Options, Progress, SyncError};
use serde::Serialize;
use ts_rs::TS;
use uuid::Uuid;

use crate::access::require;
use crate::unit_of_work::{Audit, Work};
use crate::{ApiError, Result, Session};

/// A device syncs by itself when something waits or the last sync is older than this.
const RESYNC_AFTER_MS: i64 = 5 * 60 * 1000;

/// Whether a sync runs and how the last one failed.
#[derive(Debug, Default)]
pub(crate) struct SyncStatus {
    running: AtomicBool,
    /// A sync of this session compared the state hashes already.
    verified: AtomicBool,
    last_error: Mutex<Option<SyncFailure>>,
    /// The running sync's stop flag: a lock sets it.
    cancel: Mutex<Option<Arc<AtomicBool>>>,
}

impl SyncStatus {
    /// Stops the running sync, if any (the session is being locked).
    pub(crate) fn cancel_running(&self) {
        if let Some(flag) = self.cancel.lock().unwrap_or_else(|p| p.into_inner()).take() {
            flag.store(true, Ordering::SeqCst);
        }
    }

    fn register(&self, flag: Arc<AtomicBool>) {
        *self.cancel.lock().unwrap_or_else(|p| p.into_inner()) = Some(flag);
    }
}

/// "A sync is running" for as long as this lives: cleared even if the sync panics.
struct Running<'a>(&'a AtomicBool);

impl<'a> Running<'a> {
    fn start(flag: &'a AtomicBool) -> Option<Running<'a>> {
        (!flag.swap(true, Ordering::SeqCst)).then_some(Running(flag))
    }
}

impl Drop for Running<'_> {
    fn drop(&mut self) {
        self.0.store(false, Ordering::SeqCst);
    }
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, TS)]
pub struct SyncFailure {
    /// `offline`, `network`, `certificate`, `refused`, `device_revoked`, `server_error`, …
    pub code: String,
    pub message: String,
    pub at: DateTime<Utc>,
}

/// An op the server refused, kept aside with the reason.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, TS)]
pub struct QuarantineItem {
    pub op_id: String,
    pub entity: EntityKind,
    pub record_id: String,
    /// Whose record it is: the person's name when this device has one; otherwise the UI words
    /// the `entity` kind.
    pub label: Option<String>,
    pub code: String,
    pub reason: String,
}

/// Everything the "Sincronización" screen shows.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, TS)]
pub struct SyncView {
    pub enrolled: bool,
    pub endpoint: Option<String>,
    pub office: Option<String>,
    /// The office's municipality by name; `None` for all offices (`*`, which the UI words) and
    /// when not enrolled.
    pub office_name: Option<String>,
    pub pending_changes: u32,
    pub last_sync: Option<DateTime<Utc>>,
    pub running: bool,
    pub last_error: Option<SyncFailure>,
    pub quarantined: Vec<QuarantineItem>,
    /// Records the server sent that this version cannot read, kept aside until it can (a
    /// newer version wrote them).
    pub held: u32,
    /// Whether this user may see and resolve conflicts (and retry or discard a quarantined
    /// change).
    pub can_resolve: bool,
}

/// One entry of the conflict queue.
#[derive(Debug, Clone, PartialEq, Serialize, TS)]
pub struct ConflictItem {
    pub id: String,
    pub entity: EntityKind,
    pub record_id: String,
    /// The person's name when this device has one; otherwise the UI words the `entity` kind.
    pub label: Option<String>,
    pub field: String,
    /// The value applied everywhere.
    #[ts(type = "unknown")]
    pub winner: serde_json::Value,
    /// The concurrent value that lost.
    #[ts(type = "unknown")]
    pub loser: serde_json::Value,
    #[ts(type = "unknown")]
    pub resolution: Option<serde_json::Value>,
}

/// The municipality's name (a proper noun, the same in every language); `None` for all offices.
fn office_name(office: &str) -> Option<String> {
    if office == ALL_OFFICES {
        return None;
    }
    Some(
        Territory::el_salvador()
            .municipality(office)
            .map_or_else(|| office.to_string(), |m| m.name.clone()),
    )
}

/// The name of the person a record is about, when this device has that person.
fn label_of(store: &Store, entity: EntityKind, id: Uuid) -> Option<String> {
    let person = match entity {
        EntityKind::Person => store.person(PersonId::new(id)).ok().flatten(),
        EntityKind::Referral => store
            .referral(ReferralId::new(id))
            .ok()
            .flatten()
            .and_then(|r| store.person(r.person).ok().flatten()),
        EntityKind::FollowUp => store
            .follow_up(FollowUpId::new(id))
            .ok()
            .flatten()
            .and_then(|f| store.person(f.person).ok().flatten()),
        EntityKind::CaseNote => store
            .case_note(CaseNoteId::new(id))
            .ok()
            .flatten()
            .and_then(|n| store.person(n.person).ok().flatten()),
        _ => None,
    };
    person.map(|p| p.full_name())
}

pub(crate) fn sync_error(e: SyncError) -> ApiError {
    ApiError::Sync {
        code: e.code(),
        message: e.to_string(),
    }
}

fn now_ms(now: DateTime<Utc>) -> u64 {
    u64::try_from(now.timestamp_millis()).unwrap_or_default()
}

impl Session {
    /// The shared store, if the signed-in user has `permission`.
    fn store_for(&self, permission: Permission) -> Result<(Arc<Store>, User)> {
        let (store, user) = self.shared_store()?;
        require(&user, permission)?;
        Ok((store, user))
    }

    pub fn sync_view(&self) -> Result<SyncView> {
        let (store, user) = self.store_for(Permission::Sync)?;
        let settings = store.sync_settings()?;
        let quarantined = store
            .quarantined()?
            .into_iter()
            .map(|q| QuarantineItem {
                op_id: q.op.op_id.to_string(),
                entity: q.op.change.entity,
                record_id: q.op.change.id.to_string(),
                label: label_of(&store, q.op.change.entity, q.op.change.id),
                code: q.code,
                reason: q.reason,
            })
            .collect();
        Ok(SyncView {
            enrolled: settings.is_some(),
            endpoint: settings.as_ref().map(|s| s.endpoint.clone()),
            office_name: settings.as_ref().and_then(|s| office_name(&s.office)),
            office: settings.map(|s| s.office),
            pending_changes: u32::try_from(store.outbox_len()).unwrap_or(u32::MAX),
            last_sync: store
                .last_sync_ms()?
                .and_then(|ms| DateTime::from_timestamp_millis(i64::try_from(ms).ok()?)),
            running: self.sync_status().running.load(Ordering::SeqCst),
            last_error: self.last_sync_error(),
            quarantined,
            held: u32::try_from(store.held_len()).unwrap_or(u32::MAX),
            can_resolve: user.may(Permission::ResolveConflicts),
        })
    }

    fn last_sync_error(&self) -> Option<SyncFailure> {
        self.sync_status()
            .last_error
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .clone()
    }

    fn set_sync_error(&self, error: Option<SyncFailure>) {
        *self
            .sync_status()
            .last_error
            .lock()
            .unwrap_or_else(|p| p.into_inner()) = error;
    }

    /// Enrolls this device with the server at `endpoint` using a one-time code. Enrolled
    /// already, it enrolls anew as another device (another address, server or office: the
    /// token is never sent to a new address; see `reintegra_sync::enroll`).
    pub fn sync_enroll(&self, endpoint: &str, code: &str, device_name: &str) -> Result<SyncView> {
        let (store, _) = self.store_for(Permission::ManageDevice)?;
        let name = device_name.trim();
        let name = if name.is_empty() { "Reintegra" } else { name };
        reintegra_sync::enroll(&store, endpoint, code, name).map_err(sync_error)?;
        self.set_sync_error(None);
        self.sync_view()
    }

    /// Whether a sync should start by itself now: enrolled, none running, and something
    /// waits or the last one is old.
    pub fn sync_due(&self, now: DateTime<Utc>) -> bool {
        let Ok((store, _)) = self.shared_store() else {
            return false;
        };
        if self.sync_status().running.load(Ordering::SeqCst)
            || !matches!(store.sync_settings(), Ok(Some(_)))
        {
            return false;
        }
        let last = store.last_sync_ms().ok().flatten().map(|ms| ms as i64);
        store.outbox_len() > 0
            || last.is_none_or(|ms| now.timestamp_millis() - ms > RESYNC_AFTER_MS)
    }

    /// Syncs now: push, pull, check and repair. One at a time; the session stays usable
    /// meanwhile. `on_progress` sees batches and bytes as they go.
    pub fn sync_now(
        &self,
        now: DateTime<Utc>,
        on_progress: &mut dyn FnMut(&Progress),
    ) -> Result<SyncView> {
        self.sync_with(now, true, on_progress)
    }

    /// The sync the app starts by itself: like [`Session::sync_now`], but the copies are
    /// compared (every record hashed) only once per session or when the pull brought changes.
    pub fn sync_in_background(&self, now: DateTime<Utc>) -> Result<SyncView> {
        let verify = !self.sync_status().verified.load(Ordering::SeqCst);
        self.sync_with(now, verify, &mut |_| {})
    }

    fn sync_with(
        &self,
        now: DateTime<Utc>,
        verify: bool,
        on_progress: &mut dyn FnMut(&Progress),
    ) -> Result<SyncView> {
        let (store, user) = self.store_for(Permission::Sync)?;
        let status = self.sync_status();
        let Some(running) = Running::start(&status.running) else {
            return Err(ApiError::SyncRunning);
        };
        let cancel = Arc::new(AtomicBool::new(false));
        status.register(cancel.clone());
        if self.shared_store().is_err() {
            // Locked between taking the store and registering: do not start.
            cancel.store(true, Ordering::SeqCst);
        }
        let options = Options {
            verify,
            cancel: Some(cancel),
            ..Options::default()
        };
        let result = reintegra_sync::http_for(&store).and_then(|(transport, _)| {
            reintegra_sync::sync(&store, &transport, &options, now_ms(now), on_progress)
        });
        if result.is_ok() && verify {
            status.verified.store(true, Ordering::SeqCst);
        }
        drop(running);
        match result {
            Ok(report) => {
                self.set_sync_error(None);
                let dropped = crate::users::drop_deactivated_slots(&store)?;
                // An import that went to the server cannot be undone any more: forget how.
                store.forget_sent_undos()?;
                if report.records_changed > 0 {
                    self.reload_cases()?;
                }
                self.audit_dropped_slots(&dropped, now)?;
                if store.user_record(user.id)?.is_some_and(|u| !u.active) {
                    // Deactivated elsewhere: not one more minute on this device.
                    self.lock(now);
                    return Err(ApiError::Locked);
                }
                self.sync_view()
            }
            // The server revoked this device: nothing more is pushed, the store is erased.
            Err(e) if e.is_revocation() => Err(crate::revocation::erase_revoked(self, store, now)),
            // Locked while it ran: it stopped, nothing to report to the next user.
            Err(e @ SyncError::Cancelled) => Err(sync_error(e)),
            Err(e) => {
                self.set_sync_error(Some(SyncFailure {
                    code: e.code().to_string(),
                    message: e.to_string(),
                    at: now,
                }));
                Err(sync_error(e))
            }
        }
    }

    /// The server's conflict queue for this device's office (supervisors).
    pub fn sync_conflicts(&self) -> Result<Vec<ConflictItem>> {
        let (store, _) = self.store_for(Permission::ResolveConflicts)?;
        let conflicts = reintegra_sync::conflicts(&store).map_err(sync_error)?;
        Ok(conflicts
            .into_iter()
            .map(|c| ConflictItem {
                id: c.id.to_string(),
                entity: c.entity,
                record_id: c.record_id.to_string(),
                label: label_of(&store, c.entity, c.record_id),
                field: c.field,
                winner: c.winner,
                loser: c.loser,
                resolution: c.resolution,
            })
            .collect())
    }

    /// Resolves a conflict with the value to keep, then syncs so this device has it too.
    pub fn sync_resolve_conflict(
        &self,
        id: &str,
        value: serde_json::Value,
        now: DateTime<Utc>,
    ) -> Result<SyncView> {
        let (store, user) = self.store_for(Permission::ResolveConflicts)?;
        let id = Uuid::parse_str(id).map_err(|_| ApiError::NotFound)?;
        let conflict = reintegra_sync::conflicts(&store)
            .map_err(sync_error)?
            .into_iter()
            .find(|c| c.id == id)
            .ok_or(ApiError::NotFound)?;
        reintegra_sync::resolve_conflict(&store, id, value, user.id).map_err(sync_error)?;
        self.with_permission(Permission::ResolveConflicts, |store, user, cases| {
            let summary = format!(
                "Resolvió un conflicto de sincronización ({})",
                conflict.field
            );
            let mut work = Work::new(store, user, now);
            work.audit(
                RecordKind::from(conflict.entity),
                conflict.record_id,
                Audit::new(AuditAction::ResolveConflict, &summary)
                    .fields([conflict.field.as_str()]),
            )?;
            work.commit(cases)
        })?;
        self.sync_now(now, &mut |_| {})
    }

    /// Retries a change the server refused, once its cause is fixed (e.g. the clock after
    /// `clock_ahead`): it goes back to the outbox re-stamped — a new op with this device's
    /// clock now, carrying the record as this device holds it now — and is sent at the next
    /// sync. Supervisors only; audited.
    pub fn sync_retry_quarantined(&self, op_id: &str, now: DateTime<Utc>) -> Result<SyncView> {
        let id = Uuid::parse_str(op_id).map_err(|_| ApiError::NotFound)?;
        self.with_permission(Permission::ResolveConflicts, |store, user, cases| {
            let entry = store.quarantined_op(id)?.ok_or(ApiError::NotFound)?;
            store.requeue_quarantined(id)?;
            let summary = format!(
                "Reintentó un cambio que el servidor rechazó ({}): se enviará de nuevo",
                entry.code
            );
            let mut work = Work::new(store, user, now);
            work.audit(
                RecordKind::from(entry.op.change.entity),
                entry.op.change.id,
                Audit::new(AuditAction::Update, &summary),
            )?;
            work.commit(cases)
        })?;
        self.sync_view()
    }

    /// Discards a change the server refused, with the reason: it is never sent, and this
    /// device takes the server's version of the record back at its next full sync.
    /// Supervisors only; audited with the reason.
    pub fn sync_discard_quarantined(
        &self,
        op_id: &str,
        reason: &str,
        now: DateTime<Utc>,
    ) -> Result<SyncView> {
        let id = Uuid::parse_str(op_id).map_err(|_| ApiError::NotFound)?;
        let reason = reason.trim();
        self.with_permission(Permission::ResolveConflicts, |store, user, cases| {
            if reason.is_empty() {
                let mut errors = reintegra_core::validation::ValidationErrors::new();
                errors.push("reason", reintegra_core::validation::Problem::Required);
                return Err(ApiError::Invalid(errors));
            }
            let entry = store.discard_quarantined(id)?.ok_or(ApiError::NotFound)?;
            let summary = format!(
                "Descartó un cambio que el servidor rechazó ({}): {reason}",
                entry.code
            );
            let mut work = Work::new(store, user, now);
            work.audit(
                RecordKind::from(entry.op.change.entity),
                entry.op.change.id,
                Audit::new(AuditAction::Update, &summary),
            )?;
            work.commit(cases)
        })?;
        self.sync_view()
    }

    /// Audits, as the signed-in user, the key slots a sync destroyed.
    fn audit_dropped_slots(&self, dropped: &[User], now: DateTime<Utc>) -> Result<()> {
        if dropped.is_empty() {
            return Ok(());
        }
        self.with_unlocked(|store, user, cases| {
            let mut work = Work::new(store, user, now);
            for gone in dropped {
                work.audit(
                    RecordKind::User,
                    gone.id.into(),
                    Audit::new(
                        AuditAction::Update,
                        "Usuario desactivado: su llave de acceso a este equipo fue destruida",
                    ),
                )?;
            }
            work.commit(cases)
        })
    }
}
