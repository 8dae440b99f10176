//! Session commands: first run, unlock, lock, status bar. The session lives in Tauri's managed
//! state; it is opened at startup from the app's data directory.

use reintegra_api::{
    ApiError, DeviceUser, KdfParams, Passphrase, Session, SessionState, StatusBar,
};
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
    passphrase: Passphrase,
) -> Result<SessionState, CommandError> {
    Ok(session
        .get()?
        .create_first_admin(&name, &passphrase, crate::clock::now())?)
}

/// A new laptop of an office that already works: set up with a code made for one user.
// Off the window's thread: deriving the key takes about a second.
#[tauri::command(async)]
pub fn session_join_office(
    session: State<'_, AppSession>,
    endpoint: String,
    code: String,
    passphrase: Passphrase,
    device_name: String,
) -> Result<SessionState, CommandError> {
    Ok(session.get()?.join_office(
        &endpoint,
        &code,
        &passphrase,
        &device_name,
        crate::clock::now(),
    )?)
}

/// The users of this device as the locked screen shows them (initials only).
#[tauri::command]
pub fn session_device_users(
    session: State<'_, AppSession>,
) -> Result<Vec<DeviceUser>, CommandError> {
    Ok(session.get()?.device_users())
}

// Off the window's thread: deriving the key takes about a second.
#[tauri::command(async)]
pub fn session_unlock(
    session: State<'_, AppSession>,
    name: String,
    passphrase: Passphrase,
) -> Result<SessionState, CommandError> {
    Ok(session
        .get()?
        .unlock(&name, &passphrase, crate::clock::now())?)
}

/// Signs in as the user chosen from the list (their slot), without typing a login.
// Off the window's thread: deriving the key takes about a second.
#[tauri::command(async)]
pub fn session_unlock_slot(
    session: State<'_, AppSession>,
    slot: String,
    passphrase: Passphrase,
) -> Result<SessionState, CommandError> {
    Ok(session
        .get()?
        .unlock_slot(&slot, &passphrase, crate::clock::now())?)
}

// Off the window's thread: it may wait for the cases read behind the screen.
#[tauri::command(async)]
pub fn session_lock(session: State<'_, AppSession>) -> Result<SessionState, CommandError> {
    Ok(session.get()?.lock(crate::clock::now()))
}

#[tauri::command]
pub fn status_bar(session: State<'_, AppSession>) -> Result<StatusBar, CommandError> {
    Ok(session.get()?.status()?)
}

/// Runs `work` on the session on a thread of its own and waits for it without blocking the
/// window (a sync over a slow link, a big import); `interrupted` is the Spanish message if that
/// thread dies.
pub(crate) async fn off_the_window<R: tauri::Runtime, T: Send + 'static>(
    app: tauri::AppHandle<R>,
    interrupted: &'static str,
    work: impl FnOnce(&Session) -> Result<T, CommandError> + Send + 'static,
) -> Result<T, CommandError> {
    use tauri::Manager;
    let (tx, rx) = tokio::sync::oneshot::channel();
    std::thread::spawn(move || {
        let state = app.state::<AppSession>();
        let _ = tx.send(state.get().and_then(work));
    });
    rx.await
        .map_err(|_| CommandError::new("internal", interrupted))?
}
