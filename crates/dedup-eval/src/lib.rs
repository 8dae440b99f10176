//! Evaluating the duplicate-detection engine (`reintegra-dedup`) on synthetic data. Not linked
//! into the app: `reintegra-bench` uses it (`dedup`, `dedup-generate`, `dedup-score`), and so
//! do its own tests.
//!
//! - [`names`]: Salvadoran given names and surnames by frequency (`data/names.json`), also the
//!   names of the other benchmarks' synthetic persons.
//! - [`generate`]: synthetic Salvadoran records with labelled duplicates (seeded).
//! - [`eval`]: recall@1, recall@10, top-1 accepted and false-match rate.

pub mod eval;
pub mod generate;
pub mod names;
