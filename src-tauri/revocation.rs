//! The "dado de baja" screen: whether the server revoked this device (its store was erased),
//! and setting the device up again from nothing.

use reintegra_api::{RevokedNotice, SessionState};
use tauri::State;

use crate::error::CommandError;
use crate::session::AppSession;

#[tauri::command]
pub fn session_revoked(
    session: State<'_, AppSession>,
) -> Result<Option<RevokedNotice>, CommandError> {
    Ok(session.get()?.revoked())
}

#[tauri::command]
pub fn session_forget_revocation(
    session: State<'_, AppSession>,
) -> Result<SessionState, CommandError> {
    Ok(session.get()?.forget_revocation()?)
}
