//! Errors of the store, in words a person can act on. No sled type leaks out of this crate.

use std::path::PathBuf;

/// Everything that can go wrong in the store.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    #[error("no store exists at {0}")]
    NotFound(PathBuf),
    #[error("{0} is not an empty directory and holds no Reintegra store (refusing to touch it)")]
    NotAStore(PathBuf),
    #[error("a store already exists at {0}")]
    AlreadyExists(PathBuf),
    #[error("restore refused: {0} is not empty (a backup is only restored into an empty directory, never merged)")]
    RestoreTargetNotEmpty(PathBuf),
    #[error("the store at {0} is in use by another program (close it and try again)")]
    InUse(PathBuf),
    #[error("wrong passphrase")]
    WrongPassphrase,
    #[error("no user named {0:?} can unlock this store")]
    UnknownUser(String),
    #[error("too many failed attempts: wait {wait_secs} s")]
    TooManyAttempts { wait_secs: u64 },
    #[error("a user named {0:?} can already unlock this store")]
    UserExists(String),
    #[error("the last user cannot be removed (nobody could unlock the store)")]
    LastUser,
    #[error("the passphrase must have at least {min} characters")]
    WeakPassphrase { min: usize },
    #[error("invalid key derivation parameters: {0}")]
    BadKdfParams(String),
    #[error(
        "this store was written by a newer version of Reintegra (schema {found}, this version reads up to {supported}); update the app"
    )]
    NewerSchema { found: u32, supported: u32 },
    #[error("the store is damaged ({0}); restore it from a backup")]
    Corrupt(String),
    #[error("the backup file is damaged or incomplete ({0})")]
    CorruptBackup(String),
    #[error(
        "the backup was made by a newer version of Reintegra (format {found}); update the app"
    )]
    NewerBackup { found: u32 },
    #[error("operation {0} is not in the outbox")]
    UnknownOp(uuid::Uuid),
    #[error("cannot undo: {0}")]
    CannotUndo(UndoRefused),
    #[error("{entity} {id} does not exist")]
    NotFoundRecord {
        entity: &'static str,
        id: uuid::Uuid,
    },
    #[error("invalid record: {0}")]
    Invalid(String),
    #[error("disk error: {0}")]
    Io(#[from] std::io::Error),
    #[error("storage engine error: {0}")]
    Engine(String),
}

pub type Result<T, E = Error> = std::result::Result<T, E>;

impl Error {
    pub(crate) fn from_sled(e: sled::Error, path: &std::path::Path) -> Error {
        match e {
            sled::Error::Io(io) if io.kind() == std::io::ErrorKind::WouldBlock => {
                Error::InUse(path.to_path_buf())
            }
            sled::Error::Io(io) if io.to_string().contains("could not acquire lock") => {
                Error::InUse(path.to_path_buf())
            }
            sled::Error::Io(io) => Error::Io(io),
            sled::Error::Corruption { at, .. } => {
                Error::Corrupt(format!("storage engine found corruption at {at:?}"))
            }
            sled::Error::ReportableBug(b) => Error::Engine(b),
            sled::Error::Unsupported(u) => Error::Corrupt(format!("unsupported file: {u}")),
            sled::Error::CollectionNotFound(_) => Error::Corrupt("missing tree".into()),
        }
    }
}

impl From<sled::Error> for Error {
    fn from(e: sled::Error) -> Self {
        Error::from_sled(e, std::path::Path::new("?"))
    }
}

/// Runs a read of sled that might panic on a damaged file: the panic becomes an error.
pub(crate) fn guarded<T>(f: impl FnOnce() -> Result<T>) -> Result<T> {
    std::panic::catch_unwind(std::panic::AssertUnwindSafe(f))
        .unwrap_or_else(|_| Err(Error::Corrupt("the storage engine hit damaged data".into())))
}

/// Why [`crate::Store::undo`] took nothing back.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum UndoRefused {
    #[error("there is nothing to undo")]
    NothingToUndo,
    #[error("part of it has already been sent to the server")]
    AlreadySent,
    #[error("a record it wrote has changed since")]
    ChangedSince,
}
