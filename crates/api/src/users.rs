//! "Administración → Usuarios": the team on this device. An admin creates users (name, login,
//! role, office, a first passphrase: their own key slot), deactivates and reactivates them; a
//! user changes their own passphrase. User records sync (never a secret or a key slot).

use chrono::{DateTime, Utc};
use reintegra_core::audit::AuditAction;
use reintegra_core::ids::UserId;
use reintegra_core::permission::Permission;
use reintegra_core::text::{fold, initials};
use reintegra_core::user::{Role, User};
use serde::Deserialize;
use ts_rs::TS;
use uuid::Uuid;

use crate::unit_of_work::{save_one, Audit};
use crate::{ApiError, Result, Session, SessionState};

/// A user as an admin types them in.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize, TS)]
pub struct NewUser {
    pub name: String,
    pub login: String,
    pub role: Role,
    /// A municipality code; `None` for central staff (every office) and reception centers.
    pub office_municipality: Option<String>,
    pub also_supervisor: bool,
    /// The first passphrase, given to the user in person.
    pub passphrase: String,
}

impl Drop for NewUser {
    /// The first passphrase does not outlive the request (see `Passphrase`).
    fn drop(&mut self) {
        zeroize::Zeroize::zeroize(&mut self.passphrase);
    }
}

/// Destroys the key slots of users deactivated anywhere (after a sync brought the change): they
/// cannot unlock this device any more. Returns whose slots went.
pub(crate) fn drop_deactivated_slots(store: &reintegra_store::Store) -> Result<Vec<User>> {
    let mut dropped = Vec::new();
    for user in store.user_records()?.into_iter().filter(|u| !u.active) {
        if store.remove_user(user.login()).is_ok() {
            dropped.push(user);
        }
    }
    Ok(dropped)
}

/// Gives `user` a key slot on this device, with a first passphrase an admin set, labelled with
/// their initials for the locked sign-in screen.
fn add_slot(
    store: &reintegra_store::Store,
    user: &User,
    passphrase: &str,
    kdf: reintegra_store::KdfParams,
) -> Result<()> {
    store.add_user(user.login(), user.id, passphrase, kdf)?;
    store.label_slot(user.login(), &initials(&user.name))?;
    Ok(())
}

impl Session {
    /// Every user known here (for the caseworker filter, assignment and the users screen).
    pub fn users(&self) -> Result<Vec<User>> {
        self.with_unlocked(|store, _, _| {
            let mut users = store.user_records()?;
            users.sort_by_key(|u| fold(&u.name));
            Ok(users)
        })
    }

    /// Creates a user with their own key slot on this device.
    pub fn create_user(&self, input: &NewUser, now: DateTime<Utc>) -> Result<User> {
        self.with_permission(Permission::ManageUsers, |store, admin, cases| {
            let user = User {
                id: UserId::new(Uuid::now_v7()),
                name: input.name.trim().to_string(),
                login: input.login.trim().to_string(),
                role: input.role,
                office_municipality: input
                    .office_municipality
                    .as_deref()
                    .map(str::trim)
                    .filter(|o| !o.is_empty())
                    .map(String::from),
                active: true,
                also_supervisor: input.also_supervisor && input.role == Role::Admin,
            };
            user.validate().map_err(ApiError::Invalid)?;
            if user.login.is_empty() {
                let mut e = reintegra_core::validation::ValidationErrors::new();
                e.push("login", reintegra_core::validation::Problem::Required);
                return Err(ApiError::Invalid(e));
            }
            if store
                .user_records()?
                .iter()
                .any(|u| fold(u.login()) == fold(&user.login))
            {
                return Err(ApiError::LoginTaken);
            }
            add_slot(store, &user, &input.passphrase, self.kdf())?;
            let saved = save_one(
                (store, admin, cases),
                now,
                &user,
                Audit::new(AuditAction::Create, "Usuario creado"),
            );
            if let Err(e) = saved {
                // No key slot without its user record.
                let _ = store.remove_user(&user.login);
                return Err(e);
            }
            Ok(user)
        })
    }

    /// Deactivates (the user cannot sign in here any more: their key slot is destroyed) or
    /// reactivates (with a new first passphrase) a user.
    pub fn set_user_active(
        &self,
        id: UserId,
        active: bool,
        passphrase: Option<&str>,
        now: DateTime<Utc>,
    ) -> Result<User> {
        self.with_permission(Permission::ManageUsers, |store, admin, cases| {
            if id == admin.id {
                return Err(ApiError::OwnAccount);
            }
            let mut user = store.user_record(id)?.ok_or(ApiError::NotFound)?;
            if user.active == active {
                return Ok(user);
            }
            user.active = active;
            if active {
                add_slot(store, &user, passphrase.unwrap_or_default(), self.kdf())?;
            } else {
                // A slot may be missing (the user never had one here): nothing to destroy.
                let _ = store.remove_user(user.login());
            }
            let summary = if active {
                "Usuario reactivado"
            } else {
                "Usuario desactivado"
            };
            save_one(
                (store, admin, cases),
                now,
                &user,
                Audit::new(AuditAction::Update, summary).fields(["active"]),
            )?;
            Ok(user)
        })
    }

    /// Sets a user's passphrase on this device: a reset (the old slot is re-made with the new
    /// passphrase) or, for a user who arrived by sync, their first key slot here.
    pub fn set_user_passphrase(
        &self,
        id: UserId,
        passphrase: &str,
        now: DateTime<Utc>,
    ) -> Result<()> {
        self.with_permission(Permission::ManageUsers, |store, admin, cases| {
            let user = store.user_record(id)?.ok_or(ApiError::NotFound)?;
            if !user.active {
                return Err(ApiError::Forbidden);
            }
            // Checked before the old slot goes, so a weak one never leaves the user without one.
            reintegra_store::check_passphrase(passphrase)?;
            let _ = store.remove_user(user.login());
            add_slot(store, &user, passphrase, self.kdf())?;
            let mut work = crate::unit_of_work::Work::new(store, admin, now);
            work.audit(
                reintegra_core::audit::RecordKind::User,
                user.id.into(),
                Audit::new(
                    AuditAction::Update,
                    "Frase de acceso asignada en este equipo",
                ),
            )?;
            work.commit(cases)
        })
    }

    /// The signed-in user changes their own passphrase (the old one is checked).
    pub fn change_own_passphrase(&self, old: &str, new: &str) -> Result<SessionState> {
        self.with_unlocked_even_first_passphrase(|store, user, _| {
            if old == new {
                return Err(ApiError::SamePassphrase);
            }
            store.change_passphrase(user.login(), old, new, self.kdf())?;
            Ok(())
        })?;
        Ok(self.current())
    }
}
