//! Sync commands ("Sincronización") and the background sync. The network work runs on its own
//! thread so the window never waits on a slow link; progress reaches the UI through a channel.

use std::time::Duration;

use reintegra_api::{ConflictItem, SyncProgress, SyncView};
use tauri::ipc::Channel;
use tauri::{AppHandle, Manager, Runtime, State};

use crate::error::CommandError;
use crate::session::{off_the_window, AppSession};

/// How often the background sync checks whether a sync is due.
const AUTO_SYNC_EVERY: Duration = Duration::from_secs(20);
/// The first check waits a little longer: the user is signing in, and a sync started by hand
/// right away should not find one already running.
const AUTO_SYNC_FIRST: Duration = Duration::from_secs(60);

#[tauri::command]
pub fn sync_view(session: State<'_, AppSession>) -> Result<SyncView, CommandError> {
    Ok(session.get()?.sync_view()?)
}

#[tauri::command]
pub async fn sync_enroll<R: Runtime>(
    app: AppHandle<R>,
    endpoint: String,
    code: String,
    device_name: String,
) -> Result<SyncView, CommandError> {
    off_the_window(app, "La sincronización se interrumpió.", move |s| {
        Ok(s.sync_enroll(&endpoint, &code, &device_name)?)
    })
    .await
}

#[tauri::command]
pub async fn sync_now<R: Runtime>(
    app: AppHandle<R>,
    on_progress: Channel<SyncProgress>,
) -> Result<SyncView, CommandError> {
    off_the_window(app, "La sincronización se interrumpió.", move |s| {
        Ok(s.sync_now(crate::clock::now(), &mut |p| {
            let _ = on_progress.send(p.clone());
        })?)
    })
    .await
}

#[tauri::command]
pub async fn sync_conflicts<R: Runtime>(
    app: AppHandle<R>,
) -> Result<Vec<ConflictItem>, CommandError> {
    off_the_window(app, "La sincronización se interrumpió.", |s| {
        Ok(s.sync_conflicts()?)
    })
    .await
}

#[tauri::command]
pub async fn sync_resolve_conflict<R: Runtime>(
    app: AppHandle<R>,
    id: String,
    value: serde_json::Value,
) -> Result<SyncView, CommandError> {
    off_the_window(app, "La sincronización se interrumpió.", move |s| {
        Ok(s.sync_resolve_conflict(&id, value, crate::clock::now())?)
    })
    .await
}

#[tauri::command]
pub async fn sync_retry_quarantined<R: Runtime>(
    app: AppHandle<R>,
    op_id: String,
) -> Result<SyncView, CommandError> {
    off_the_window(app, "La sincronización se interrumpió.", move |s| {
        Ok(s.sync_retry_quarantined(&op_id, crate::clock::now())?)
    })
    .await
}

#[tauri::command]
pub async fn sync_discard_quarantined<R: Runtime>(
    app: AppHandle<R>,
    op_id: String,
    reason: String,
) -> Result<SyncView, CommandError> {
    off_the_window(app, "La sincronización se interrumpió.", move |s| {
        Ok(s.sync_discard_quarantined(&op_id, &reason, crate::clock::now())?)
    })
    .await
}

/// Syncs by itself whenever a sync is due (something waits, or the last one is old) and the
/// server answers; a failed try is shown on the screen and retried at the next tick.
pub fn start_background_sync<R: Runtime>(app: AppHandle<R>) {
    std::thread::spawn(move || {
        std::thread::sleep(AUTO_SYNC_FIRST);
        loop {
            let state = app.state::<AppSession>();
            let Ok(session) = state.get() else { return };
            if session.sync_due(crate::clock::now()) {
                // The outcome (or the error) is on the screen and the status bar, which poll.
                let _ = session.sync_in_background(crate::clock::now());
            }
            std::thread::sleep(AUTO_SYNC_EVERY);
        }
    });
}
