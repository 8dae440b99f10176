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
//! - [`generate`]: synthetic Salvadoran data with labelled duplicates (seeded).
//! - [`eval`]: recall@1, recall@10, top-1 accepted and false-match rate.

pub mod compare;
pub mod eval;
pub mod generate;
mod index;
pub mod normalize;
pub mod phonetic;
pub mod record;

pub use compare::Reason;
pub use index::{
    Candidate, Index, NotSamePerson, Pair, SearchOptions, MATCH_THRESHOLD, REVIEW_THRESHOLD,
};
pub use record::{BirthDate, Dui, Record, RecordError, Sex};
