//! The application layer the Tauri commands call (and, later, the CLI and sync): Tauri-free, so
//! every flow can be tested with real stores in temp dirs.
//!
//! Invariant: no Tauri, no sled (the store is reached through `reintegra-store`'s domain API).
//! Time comes in as a parameter; ids are made here (UUIDv7).

mod error;
mod session;

pub use error::ApiError;
pub use reintegra_store::{KdfParams, MIN_PASSPHRASE};
pub use session::{Session, SessionState, StatusBar};

pub type Result<T, E = ApiError> = std::result::Result<T, E>;
