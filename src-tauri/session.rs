//! Session commands: first run, unlock, lock, status bar. The session lives in Tauri's managed
//! state; it is opened at startup from the app's data directory.

use chrono::Utc;
use reintegra_api::{ApiError, KdfParams, Session, SessionState, StatusBar};
use tauri::State;

use crate::error::CommandError;

/// The session, or why the device's store could not be opened (shown by the UI).
pub struct AppSession(pub Result<Session, CommandError>);

impl AppSession {
    pub fn open(dir: std::path::PathBuf) -> AppSession {
        AppSession(Session::open(dir, KdfParams::RECOMMENDED).map_err(CommandError::from))
    }

    pub(crate) fn get(&self) -> Result<&Session, CommandError> {
        self.0.as_ref().map_err(Clone::clone)
    }
}

impl From<ApiError> for CommandError {
    fn from(e: ApiError) -> Self {
        let mut error = CommandError::new(e.code(), e.to_string());
        if let ApiError::Invalid(fields) = e {
            error.fields = Some(fields);
        }
        error
    }
}

#[tauri::command]
pub fn session_state(session: State<'_, AppSession>) -> Result<SessionState, CommandError> {
    Ok(session.get()?.current())
}

#[tauri::command]
pub fn session_create_first_admin(
    session: State<'_, AppSession>,
    name: String,
    passphrase: String,
) -> Result<SessionState, CommandError> {
    Ok(session
        .get()?
        .create_first_admin(&name, &passphrase, Utc::now())?)
}

#[tauri::command]
pub fn session_unlock(
    session: State<'_, AppSession>,
    name: String,
    passphrase: String,
) -> Result<SessionState, CommandError> {
    Ok(session.get()?.unlock(&name, &passphrase, Utc::now())?)
}

#[tauri::command]
pub fn session_lock(session: State<'_, AppSession>) -> Result<SessionState, CommandError> {
    Ok(session.get()?.lock())
}

#[tauri::command]
pub fn status_bar(session: State<'_, AppSession>) -> Result<StatusBar, CommandError> {
    Ok(session.get()?.status()?)
}
