//! Files in and out: saving an export or an import's error report in the folder the user
//! chose, and importing an office's spreadsheet (preview, then one batch).
//! Wiring only: the rules, including who may do this, are in `reintegra-api`.

use std::path::Path;

use reintegra_api::{
    save_in, ExportRequest, ImportMapping, ImportPreview, ImportProgress, ImportSource, SavedFile,
};
use tauri::ipc::Channel;
use tauri::{AppHandle, Manager, Runtime, State};

use crate::error::CommandError;
use crate::session::{off_the_window, AppSession};

/// The folder offered first: the user's Downloads folder (else their home, else nothing).
#[tauri::command]
pub fn files_default_dir<R: Runtime>(app: AppHandle<R>) -> String {
    app.path()
        .download_dir()
        .ok()
        .filter(|d| d.is_dir())
        .or_else(|| app.path().home_dir().ok())
        .map(|d| d.to_string_lossy().into_owned())
        .unwrap_or_default()
}

/// Makes the export (permission, scope and audit entry in the api) and saves it in `directory`.
#[tauri::command]
pub fn export_save(
    session: State<'_, AppSession>,
    request: ExportRequest,
    directory: String,
) -> Result<SavedFile, CommandError> {
    let file = session.get()?.export(&request, crate::clock::now())?;
    Ok(save_in(Path::new(directory.trim()), &file)?)
}

#[tauri::command]
pub async fn import_preview<R: Runtime>(
    app: AppHandle<R>,
    source: ImportSource,
    mapping: ImportMapping,
    on_progress: Channel<ImportProgress>,
) -> Result<ImportPreview, CommandError> {
    off_the_window(app, "La importación se interrumpió.", move |s| {
        Ok(
            s.import_preview_with_progress(&source, &mapping, crate::clock::now(), &mut |p| {
                let _ = on_progress.send(p);
            })?,
        )
    })
    .await
}

#[tauri::command]
pub async fn import_commit<R: Runtime>(
    app: AppHandle<R>,
    source: ImportSource,
    mapping: ImportMapping,
    on_progress: Channel<ImportProgress>,
) -> Result<ImportPreview, CommandError> {
    off_the_window(app, "La importación se interrumpió.", move |s| {
        Ok(
            s.import_commit_with_progress(&source, &mapping, crate::clock::now(), &mut |p| {
                let _ = on_progress.send(p);
            })?,
        )
    })
    .await
}

/// Takes a whole import back while none of it has synced (audited in the api).
#[tauri::command(async)]
pub fn import_undo(session: State<'_, AppSession>, import_id: String) -> Result<u32, CommandError> {
    Ok(session
        .get()?
        .import_undo(&import_id, crate::clock::now())?)
}

/// The refused rows of the import as XLSX, saved in `directory`.
#[tauri::command]
pub fn import_save_errors(
    session: State<'_, AppSession>,
    source: ImportSource,
    mapping: ImportMapping,
    directory: String,
) -> Result<SavedFile, CommandError> {
    let file = session
        .get()?
        .import_error_report(&source, &mapping, crate::clock::now())?;
    Ok(save_in(Path::new(directory.trim()), &file)?)
}
