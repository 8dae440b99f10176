//! Session commands: first run, unlock, lock, status bar. The session lives in Tauri's managed
//! state; it is opened at startup from the app's data directory.

use reintegra_api::{ApiError, KdfParams, Session, SessionState, StatusBar};
use tauri::{AppHandle, Runtime, State};

use crate::commands::update_preferences;
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

/// The sign-in screen offers the names that signed in here. Not being able to write that down
/// must not keep anyone out, so a failure is ignored.
fn remember_user<R: Runtime>(app: &AppHandle<R>, name: &str) {
    let _ = update_preferences(app, |p| p.remember_user(name));
}

#[tauri::command]
pub fn session_create_first_admin<R: Runtime>(
    app: AppHandle<R>,
    session: State<'_, AppSession>,
    name: String,
    passphrase: String,
) -> Result<SessionState, CommandError> {
    let state = session
        .get()?
        .create_first_admin(&name, &passphrase, crate::clock::now())?;
    remember_user(&app, &name);
    Ok(state)
}

#[tauri::command]
pub fn session_unlock<R: Runtime>(
    app: AppHandle<R>,
    session: State<'_, AppSession>,
    name: String,
    passphrase: String,
) -> Result<SessionState, CommandError> {
    let state = session
        .get()?
        .unlock(&name, &passphrase, crate::clock::now())?;
    remember_user(&app, &name);
    Ok(state)
}

#[tauri::command]
pub fn session_lock(session: State<'_, AppSession>) -> Result<SessionState, CommandError> {
    Ok(session.get()?.lock(crate::clock::now()))
}

#[tauri::command]
pub fn status_bar(session: State<'_, AppSession>) -> Result<StatusBar, CommandError> {
    Ok(session.get()?.status()?)
}
