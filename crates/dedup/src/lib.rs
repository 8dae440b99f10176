//! Finding the same person again: Spanish-aware duplicate detection for Reintegra. No IO.
//!
//! The app builds an [`Index`] from every person when the store is unlocked (in memory only),
//! calls [`Index::upsert`] on every save and [`Index::remove`] on delete or merge, and asks
//! [`Index::search`] for the best candidates of the person being registered: each
//! [`Candidate`] has a score in (0, 1) and the reasons in words. A score at or above
//! [`MATCH_THRESHOLD`] is proposed as the same person; [`NotSamePerson`] pairs are never
//! proposed. [`Index::likely_pairs`] lists likely duplicates across the whole store.
//!
//! - [`normalize`]: names (case, accents, spacing, particles, nicknames, married names).
//! - [`phonetic`]: Spanish sound-alike keys used for blocking.
//! - [`compare`]: field comparisons, points and reasons.
//! - [`record`]: the record the engine reads, and the parsing of its dates, DUIs and sex.
//!
//! Synthetic data with labelled duplicates and the evaluation metrics are in
//! `reintegra-dedup-eval` (crates/dedup-eval), which is not linked into the app.

pub mod compare;
mod index;
pub mod normalize;
pub mod phonetic;
pub mod record;

pub use compare::Reason;
pub use index::{
    Candidate, Index, NotSamePerson, Pair, SearchOptions, MATCH_THRESHOLD, REVIEW_THRESHOLD,
};
pub use record::{BirthDate, Dui, Record, RecordError, Sex};
