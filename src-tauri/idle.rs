//! The idle lock in Rust: the window reports that someone is working (`session_touch`, at most
//! every few seconds), and a thread asks the session twice a minute to lock itself when nobody
//! has for the device's idle minutes (`Session::lock_if_idle`). The window's own timer locks
//! first in the normal case; this one holds even if the window stops counting.

use std::time::Duration;

use tauri::{AppHandle, Manager, Runtime, State};

use crate::error::CommandError;
use crate::session::AppSession;

/// How often the session is asked whether it has been idle too long.
const CHECK_EVERY: Duration = Duration::from_secs(30);

/// Someone is working at the window (a key, the pointer).
#[tauri::command]
pub fn session_touch(session: State<'_, AppSession>) -> Result<(), CommandError> {
    session.get()?.touch(crate::clock::now());
    Ok(())
}

pub fn start_idle_lock<R: Runtime>(app: AppHandle<R>) {
    std::thread::spawn(move || loop {
        std::thread::sleep(CHECK_EVERY);
        let minutes = crate::commands::config_dir(&app)
            .map(|dir| crate::preferences::load(&dir).idle_lock_minutes)
            .unwrap_or(crate::preferences::DEFAULT_IDLE_LOCK_MINUTES);
        let state = app.state::<AppSession>();
        let Ok(session) = state.get() else { return };
        session.lock_if_idle(crate::clock::now(), minutes);
    });
}
