//! Who is using the app: first run (create the first admin and the encrypted store), unlock,
//! lock, and the status bar. Locking drops the store's keys from memory (the store zeroizes them).

use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex, MutexGuard};

use chrono::{DateTime, Utc};
use reintegra_core::audit::{AuditAction, RecordKind};
use reintegra_core::ids::{DeviceId, UserId};
use reintegra_core::permission::Permission;
use reintegra_core::text::initials;
use reintegra_core::user::{Role, User};
use reintegra_store::{KdfParams, LockedStore, NewStore, Store};
use serde::Serialize;
use ts_rs::TS;
use uuid::Uuid;

use crate::access::require;
use crate::case_loading::{CaseMemory, CasesRead, PARTIAL_AFTER};
use crate::cases::{CaseSummary, Cases};
use crate::unit_of_work::{Audit, Work};
use crate::{ApiError, Result};

/// What the UI needs to decide which screen to show.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, TS)]
pub struct SessionState {
    /// No store on this device yet: show "create the first user".
    pub setup_needed: bool,
    /// The unlocked user; `None` while locked.
    pub user: Option<User>,
    /// What the user may do (core's table): the UI shows nothing else.
    pub permissions: Vec<Permission>,
    /// Signed in with a first passphrase an admin set: nothing works until it is changed.
    pub must_change_passphrase: bool,
}

impl SessionState {
    fn of(setup_needed: bool, user: Option<User>) -> SessionState {
        SessionState {
            setup_needed,
            permissions: user.as_ref().map(User::permissions).unwrap_or_default(),
            user,
            must_change_passphrase: false,
        }
    }

    fn signed_in(store: &Store, user: &User) -> SessionState {
        SessionState {
            must_change_passphrase: store.unlocked_with_first_passphrase(),
            ..SessionState::of(false, Some(user.clone()))
        }
    }
}

/// A user of this device as the locked sign-in screen lists them.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, TS)]
pub struct DeviceUser {
    /// Opaque: what [`Session::unlock_slot`] takes.
    pub slot: String,
    /// Empty for a slot made before initials were kept (until its user signs in once).
    pub initials: String,
}

/// The status bar: who is working, what is waiting to sync, when sync last worked.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, TS)]
pub struct StatusBar {
    pub user: User,
    pub pending_changes: u32,
    /// `None` until the device has synced once ("nunca").
    pub last_sync: Option<DateTime<Utc>>,
}

enum State {
    NoStore,
    Locked(LockedStore),
    // Shared: a sync runs on its own thread without holding the session.
    Unlocked {
        store: Arc<Store>,
        user: User,
        /// Every case in memory (caseload, returning-person check), read behind the screen
        /// after unlock; dropped at lock.
        cases: CaseMemory,
    },
}

pub struct Session {
    dir: PathBuf,
    kdf: KdfParams,
    state: Mutex<State>,
    sync: crate::sync::SyncStatus,
    idle: crate::idle::IdleClock,
}

impl Session {
    /// Opens (without unlocking) the store in `dir`, or notes that this device has none yet.
    pub fn open(dir: impl Into<PathBuf>, kdf: KdfParams) -> Result<Session> {
        let dir = dir.into();
        let state = if reintegra_store::erased_marker(&dir).is_some() {
            // Revoked and erased (revocation.rs): finish an erase that was cut; nothing to open.
            reintegra_store::finish_erase(&dir)?;
            State::NoStore
        } else if holds_anything(&dir) {
            State::Locked(LockedStore::open(&dir)?)
        } else {
            State::NoStore
        };
        Ok(Session {
            dir,
            kdf,
            state: Mutex::new(state),
            sync: Default::default(),
            idle: Default::default(),
        })
    }

    fn state(&self) -> MutexGuard<'_, State> {
        // A panic elsewhere must not lock everyone out; the state itself is always consistent.
        self.state
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
    }

    pub fn current(&self) -> SessionState {
        match &*self.state() {
            State::NoStore => SessionState::of(true, None),
            State::Locked(_) => SessionState::of(false, None),
            State::Unlocked { store, user, .. } => SessionState::signed_in(store, user),
        }
    }

    /// First run: creates the encrypted store with its first user, an admin, and unlocks it.
    /// The user's name is also the login.
    pub fn create_first_admin(
        &self,
        name: &str,
        passphrase: &str,
        now: DateTime<Utc>,
    ) -> Result<SessionState> {
        let mut state = self.state();
        if !matches!(*state, State::NoStore) {
            return Err(ApiError::AlreadySetUp);
        }
        let user = User {
            id: UserId::new(Uuid::now_v7()),
            name: name.trim().to_string(),
            login: name.trim().to_string(),
            role: Role::Admin,
            office_municipality: None,
            active: true,
            also_supervisor: true,
        };
        user.validate().map_err(ApiError::Invalid)?;
        let store = LockedStore::create(
            &self.dir,
            NewStore {
                device: DeviceId::new(Uuid::now_v7()),
                login: &user.name,
                user_id: user.id,
                passphrase,
                kdf: self.kdf,
            },
        )?;
        store.label_slot(user.login(), &initials(&user.name))?;
        let mut cases = Box::<Cases>::default();
        let mut work = Work::new(&store, &user, now);
        work.save(
            &user,
            Audit::new(AuditAction::Create, "Primer usuario (administrador)"),
        )?;
        work.commit(&mut cases)?;
        crate::directory::seed_examples(&store)?;
        *state = State::Unlocked {
            store: Arc::new(store),
            user: user.clone(),
            cases: CaseMemory::Ready(cases),
        };
        Ok(SessionState::of(false, Some(user)))
    }

    /// Sets up a device of an office that already works with Reintegra: enrolls it with a code
    /// made for one user (`reintegra-server enroll-code --login`), creates the store with that
    /// user's key slot and the passphrase they choose now, pulls what the office holds, and
    /// signs them in. If a step fails, nothing stays on the device and the code is spent only
    /// if the server enrolled it.
    pub fn join_office(
        &self,
        endpoint: &str,
        code: &str,
        passphrase: &str,
        device_name: &str,
        now: DateTime<Utc>,
    ) -> Result<SessionState> {
        let mut state = self.state();
        if !matches!(*state, State::NoStore) {
            return Err(ApiError::AlreadySetUp);
        }
        reintegra_store::check_passphrase(passphrase)?;
        let device = DeviceId::new(Uuid::now_v7());
        let (settings, user) = reintegra_sync::join(endpoint, code, device, device_name)
            .map_err(crate::sync::sync_error)?;
        let joined = self.set_up_joined(device, &settings, &user, passphrase, now);
        match joined {
            Ok((store, user)) => {
                let signed_in = SessionState::signed_in(&store, &user);
                let store = Arc::new(store);
                *state = State::Unlocked {
                    cases: CaseMemory::read_in_background(store.clone()),
                    store,
                    user,
                };
                Ok(signed_in)
            }
            Err(e) => {
                // Half a setup must not look like a store to sign in to.
                let _ = std::fs::remove_dir_all(&self.dir);
                Err(e)
            }
        }
    }

    fn set_up_joined(
        &self,
        device: DeviceId,
        settings: &reintegra_store::SyncSettings,
        user: &User,
        passphrase: &str,
        now: DateTime<Utc>,
    ) -> Result<(Store, User)> {
        let store = LockedStore::create(
            &self.dir,
            NewStore {
                device,
                login: user.login(),
                user_id: user.id,
                passphrase,
                kdf: self.kdf,
            },
        )?;
        store.label_slot(user.login(), &initials(&user.name))?;
        store.set_sync_settings(Some(settings))?;
        let transport =
            reintegra_sync::Http::new(&settings.endpoint, Some(settings.device_token.clone()))
                .map_err(crate::sync::sync_error)?;
        reintegra_sync::pull(&store, &transport, &Default::default(), &mut |_| {})
            .map_err(crate::sync::sync_error)?;
        // The user's own record came with the pull: what they may do is read from it.
        let user = match store.user_record(user.id)? {
            Some(user) if user.active => user,
            _ => return Err(ApiError::WrongCredentials),
        };
        audit_session(
            &store,
            &user,
            now,
            AuditAction::SignIn,
            "Equipo unido a la oficina; primer inicio de sesión",
        )?;
        Ok((store, user))
    }

    /// The users who can sign in here, as the locked screen may show them: initials and an
    /// opaque slot reference (no login or name is readable before unlocking).
    pub fn device_users(&self) -> Vec<DeviceUser> {
        match &*self.state() {
            State::Locked(locked) => locked
                .slots()
                .into_iter()
                .map(|s| DeviceUser {
                    slot: s.slot,
                    initials: s.label,
                })
                .collect(),
            _ => Vec::new(),
        }
    }

    /// Unlocks with a user's login and passphrase. A wrong one changes nothing.
    pub fn unlock(
        &self,
        login: &str,
        passphrase: &str,
        now: DateTime<Utc>,
    ) -> Result<SessionState> {
        self.unlock_with(|locked| locked.unlock(login.trim(), passphrase), now)
    }

    /// Unlocks the key slot chosen on the sign-in screen ([`DeviceUser::slot`]), like
    /// [`Session::unlock`].
    pub fn unlock_slot(
        &self,
        slot: &str,
        passphrase: &str,
        now: DateTime<Utc>,
    ) -> Result<SessionState> {
        self.unlock_with(|locked| locked.unlock_slot(slot.trim(), passphrase), now)
    }

    fn unlock_with(
        &self,
        open: impl FnOnce(&LockedStore) -> reintegra_store::Result<Store>,
        now: DateTime<Utc>,
    ) -> Result<SessionState> {
        let mut state = self.state();
        let store = match &*state {
            State::NoStore => return Err(ApiError::NotSetUp),
            State::Locked(locked) => open(locked)?,
            State::Unlocked { user, .. } => return Ok(SessionState::of(false, Some(user.clone()))),
        };
        let user = match store.user_record(store.user())? {
            Some(user) if user.active => user,
            // A deactivated user (or a key slot with no user record) may not work here.
            _ => return Err(ApiError::WrongCredentials),
        };
        // Slots made before the sign-in screen showed initials get theirs now.
        store.label_slot(user.login(), &initials(&user.name))?;
        store.upgrade_indexes()?;
        let summary = match store.failed_unlocks_before() {
            0 => "Inicio de sesión".to_string(),
            n => format!("Inicio de sesión tras {n} intentos fallidos en este equipo"),
        };
        audit_session(&store, &user, now, AuditAction::SignIn, &summary)?;
        let signed_in = SessionState::signed_in(&store, &user);
        // The screen is usable now; the cases are read behind it (case_loading.rs).
        let store = Arc::new(store);
        *state = State::Unlocked {
            cases: CaseMemory::read_in_background(store.clone()),
            store,
            user,
        };
        Ok(signed_in)
    }

    /// Locks: the store's keys leave memory (after an audit entry saying so). Locking a locked
    /// session is harmless.
    pub fn lock(&self, now: DateTime<Utc>) -> SessionState {
        // A sync in flight stops before its next request and lets go of the store (its keys).
        self.sync.cancel_running();
        self.idle.reset();
        let mut state = self.state();
        if let State::Unlocked { store, user, .. } = &*state {
            // Locking must never fail: an entry that cannot be written is not worth staying open.
            let _ = audit_session(store, user, now, AuditAction::Lock, "Sesión bloqueada");
        }
        relock(&mut state);
        SessionState::of(matches!(*state, State::NoStore), None)
    }

    pub fn status(&self) -> Result<StatusBar> {
        match &*self.state() {
            State::Unlocked { store, user, .. } => Ok(StatusBar {
                user: user.clone(),
                pending_changes: u32::try_from(store.outbox_len()).unwrap_or(u32::MAX),
                last_sync: store
                    .last_sync_ms()?
                    .and_then(|ms| DateTime::from_timestamp_millis(i64::try_from(ms).ok()?)),
            }),
            State::NoStore => Err(ApiError::NotSetUp),
            State::Locked(_) => Err(ApiError::Locked),
        }
    }

    pub(crate) fn kdf(&self) -> KdfParams {
        self.kdf
    }

    pub fn dir(&self) -> &Path {
        &self.dir
    }

    /// The unlocked store, shared (for work that must not hold the session, like a sync), and
    /// its user.
    pub(crate) fn shared_store(&self) -> Result<(Arc<Store>, User)> {
        match &*self.state() {
            State::Unlocked { store, .. } if store.unlocked_with_first_passphrase() => {
                Err(ApiError::PassphraseChangeRequired)
            }
            State::Unlocked { store, user, .. } => Ok((store.clone(), user.clone())),
            State::NoStore => Err(ApiError::NotSetUp),
            State::Locked(_) => Err(ApiError::Locked),
        }
    }

    pub(crate) fn idle_clock(&self) -> &crate::idle::IdleClock {
        &self.idle
    }

    pub(crate) fn sync_status(&self) -> &crate::sync::SyncStatus {
        &self.sync
    }

    /// Reads the in-memory cases again from the store (after a sync wrote records), behind
    /// the screen as at unlock.
    pub(crate) fn reload_cases(&self) -> Result<()> {
        match &mut *self.state() {
            State::Unlocked { store, cases, .. } => {
                *cases = CaseMemory::read_in_background(store.clone());
                Ok(())
            }
            State::NoStore => Err(ApiError::NotSetUp),
            State::Locked(_) => Err(ApiError::Locked),
        }
    }

    /// Runs `f` on the unlocked store, its user and the in-memory cases (one at a time).
    /// Nothing but changing it works while the user holds a first passphrase an admin set.
    pub(crate) fn with_unlocked<T>(
        &self,
        f: impl FnOnce(&Store, &User, &mut Cases) -> Result<T>,
    ) -> Result<T> {
        self.with_unlocked_even_first_passphrase(|store, user, cases| {
            if store.unlocked_with_first_passphrase() {
                return Err(ApiError::PassphraseChangeRequired);
            }
            f(store, user, cases)
        })
    }

    /// Runs `f`, if the signed-in user has `permission`, on the cases there are now: all of
    /// them, or while unlock's read still runs those read so far and how far it got.
    pub(crate) fn with_cases_so_far<T>(
        &self,
        permission: Permission,
        f: impl FnOnce(&Store, &User, &[CaseSummary], Option<CasesRead>) -> Result<T>,
    ) -> Result<T> {
        let reading = match &*self.state() {
            State::Unlocked { cases, .. } => cases.still_reading(),
            _ => None,
        };
        if let Some(end) = reading {
            end.wait_at_most(PARTIAL_AFTER);
        }
        let mut state = self.state();
        let State::Unlocked { store, user, cases } = &mut *state else {
            return Err(not_unlocked(&state));
        };
        if store.unlocked_with_first_passphrase() {
            return Err(ApiError::PassphraseChangeRequired);
        }
        require(user, permission)?;
        match cases.so_far(|summaries, read| f(store, user, summaries, read)) {
            Ok(answer) => answer,
            Err(e) => {
                relock(&mut state);
                Err(e)
            }
        }
    }

    /// Like [`Session::with_unlocked`], also for a user who must still change a first
    /// passphrase. Waits (without holding the session) for the cases read at unlock.
    pub(crate) fn with_unlocked_even_first_passphrase<T>(
        &self,
        f: impl FnOnce(&Store, &User, &mut Cases) -> Result<T>,
    ) -> Result<T> {
        loop {
            let mut state = self.state();
            let State::Unlocked { cases, .. } = &*state else {
                return Err(not_unlocked(&state));
            };
            if let Some(end) = cases.still_reading() {
                drop(state);
                end.wait();
                continue;
            }
            let State::Unlocked { store, user, cases } = &mut *state else {
                unreachable!("matched just above");
            };
            match cases.settle() {
                Ok(cases) => return f(store, user, cases),
                Err(e) => {
                    relock(&mut state);
                    return Err(e);
                }
            }
        }
    }
}

impl Session {
    /// Ends the session for an erase (revocation.rs): the store handle, its keys and the cases
    /// leave the session; the handle is returned so the caller can wait for it to be the last.
    pub(crate) fn close_for_erase(&self) -> Option<Arc<Store>> {
        match std::mem::replace(&mut *self.state(), State::NoStore) {
            State::Unlocked { store, .. } => Some(store),
            _ => None,
        }
    }
}

fn holds_anything(dir: &Path) -> bool {
    std::fs::read_dir(dir).is_ok_and(|mut entries| entries.next().is_some())
}

/// `locked` or `not_set_up`, for a command that needs the session unlocked.
fn not_unlocked(state: &State) -> ApiError {
    match state {
        State::NoStore => ApiError::NotSetUp,
        _ => ApiError::Locked,
    }
}

/// Locks an unlocked session: the cases (waiting for their read) and the keys leave memory.
fn relock(state: &mut State) {
    if let State::Unlocked { .. } = state {
        if let State::Unlocked { store, cases, .. } = std::mem::replace(state, State::NoStore) {
            // The read behind the screen holds the store too: it ends first.
            drop(cases);
            // A sync in flight keeps its handle (and the keys) until it ends.
            *state = State::Locked(match Arc::try_unwrap(store) {
                Ok(store) => store.lock(),
                Err(shared) => shared.relock(),
            });
        }
    }
}

/// Writes one audit entry about the session itself (sign-in, lock).
fn audit_session(
    store: &Store,
    user: &User,
    now: DateTime<Utc>,
    action: AuditAction,
    summary: &str,
) -> Result<()> {
    let mut work = Work::new(store, user, now);
    work.audit(
        RecordKind::User,
        user.id.into(),
        Audit::new(action, summary),
    )?;
    // No person is saved here, so no case changes.
    work.commit(&mut Cases::default())
}
