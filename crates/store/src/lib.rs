//! Reintegra's encrypted local store: the only crate that uses sled.
//!
//! - [`LockedStore::open`] / [`LockedStore::create`] / [`LockedStore::unlock`] → [`Store`].
//! - Records are sealed with XChaCha20-Poly1305 under a random data key, wrapped per user by an
//!   Argon2id key from the passphrase ([`KdfParams`], recorded with each user).
//! - Every save writes the record and its outbox [`Op`](reintegra_core::op::Op) in one sled
//!   transaction and flushes before returning; a [`Batch`] ([`Store::commit`]) does so for
//!   several records at once (a use case: a change and its audit entry, a merge).
//! - Schema versions: older stores are migrated at unlock in one atomic batch; newer ones are
//!   refused. Backups: [`Store::backup`] / [`restore`].
//! - Modules by job (see the README): `layout` (the on-disk layout and the record codec),
//!   `index`, `engine` (the record layer), `batch` (writes), `outbox`, `domain`, `sync`,
//!   `held` (pulled records this build cannot read, kept aside verbatim), `quarantine`
//!   (retrying or discarding an op the server refused), `resume` (how far the outbox was
//!   sent, for a cut push), `migrate`, `keyring` (create / open /
//!   unlock, users), `backup`, `erase` (crypto-erase of a revoked device's store).

mod attempts;
mod backup;
mod batch;
mod crypto;
pub mod domain;
mod engine;
mod erase;
pub mod error;
mod held;
mod identity;
mod index;
mod keyring;
mod layout;
mod migrate;
mod outbox;
mod quarantine;
mod resume;
mod sync;
mod undo;
#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod v0_fixture;

pub use backup::{restore, BackupInfo};
pub use batch::Batch;
pub use crypto::KdfParams;
pub use engine::{Record, Saved, Store};
pub use erase::{erased_marker, finish_erase, forget_erased, ERASED_MARKER};
pub use error::{Error, Result};
pub use held::Held;
pub use keyring::{check_passphrase, LockedStore, NewStore, SlotChoice, MIN_PASSPHRASE};
pub use layout::SCHEMA_VERSION;
pub use outbox::{OutboxEntry, RecentChange};
pub use sync::{Quarantined, RemoteRecord, SyncSettings};
