//! "Administración → Usuarios": the team on this device. Wiring only: every rule (who may,
//! key slots, audit) is in `reintegra-api`.

use reintegra_api::{NewUser, Passphrase, SessionState};
use reintegra_core::ids::UserId;
use reintegra_core::user::User;
use tauri::State;

use crate::error::CommandError;
use crate::session::AppSession;

#[tauri::command]
pub fn users_create(session: State<'_, AppSession>, user: NewUser) -> Result<User, CommandError> {
    Ok(session.get()?.create_user(&user, crate::clock::now())?)
}

#[tauri::command]
pub fn users_set_active(
    session: State<'_, AppSession>,
    user_id: UserId,
    active: bool,
    passphrase: Option<Passphrase>,
) -> Result<User, CommandError> {
    Ok(session.get()?.set_user_active(
        user_id,
        active,
        passphrase.as_ref().map(Passphrase::as_str),
        crate::clock::now(),
    )?)
}

#[tauri::command]
pub fn users_set_passphrase(
    session: State<'_, AppSession>,
    user_id: UserId,
    passphrase: Passphrase,
) -> Result<(), CommandError> {
    Ok(session
        .get()?
        .set_user_passphrase(user_id, &passphrase, crate::clock::now())?)
}

#[tauri::command]
pub fn session_change_passphrase(
    session: State<'_, AppSession>,
    old: Passphrase,
    new: Passphrase,
) -> Result<SessionState, CommandError> {
    Ok(session.get()?.change_own_passphrase(&old, &new)?)
}
