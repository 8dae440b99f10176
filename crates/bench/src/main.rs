//! `reintegra-bench <what>`: benchmarks that print numbers (recorded in docs/benchmarks.md).
//! Build with `--release`; timings of a debug build mean nothing. Also the dedup evaluation on
//! files (`dedup-generate`, `dedup-score`), kept out of the app binary.

use std::process::ExitCode;

use clap::{Parser, Subcommand};

mod dedup;
mod dedup_files;
mod import;
mod intake;
mod latency;
mod store;
mod supervision;
mod sync;
mod today;
mod unlock;

#[derive(Parser)]
#[command(
    name = "reintegra-bench",
    about = "Benchmarks de Reintegra (imprimen números)"
)]
struct Cli {
    #[command(subcommand)]
    bench: Bench,
}

#[derive(Subcommand)]
enum Bench {
    /// Encrypted sled store: save latency, open + unlock, lookups, size on disk.
    Store(store::Args),
    /// Duplicate detection: index build, query latency, recall, false matches.
    Dedup(dedup::Args),
    /// Synthetic Salvadoran records with labelled duplicates, written to
    /// DIR/records.jsonl, DIR/queries.jsonl, DIR/labels.jsonl (for `reintegra dedup`).
    DedupGenerate(dedup_files::GenerateArgs),
    /// Scores results (of `reintegra dedup`) against labels: recall@1, recall@10, top-1
    /// accepted, false-match rate.
    DedupScore(dedup_files::ScoreArgs),
    /// Reception intake and caseload through the api: save p50/p99, search latency.
    Intake(intake::Args),
    /// The "Hoy" worklist with 100k persons, 300k referrals, 300k follow-ups.
    Today(today::Args),
    /// Sync through the link simulator: push on 3g / 3g-lossy, bootstrap on 3g, vs the floor.
    Sync(sync::Args),
    /// Sign-in of a second user on a 100k-person store until the caseload is answered.
    Unlock(unlock::Args),
    /// Indicators with two filters, the office referral list's first page and the XLSX export
    /// of every case, on 100k persons / 300k referrals.
    Supervision(supervision::Args),
    /// Import throughput: a 50,000-row XLSX (validation, duplicate check, one batch) into a
    /// store of 10,000 persons.
    Import(import::Args),
}

fn main() -> ExitCode {
    let result = match Cli::parse().bench {
        Bench::Store(args) => store::run(args),
        Bench::Dedup(args) => dedup::run(args),
        Bench::DedupGenerate(args) => dedup_files::generate(args, &mut std::io::stdout().lock()),
        Bench::DedupScore(args) => dedup_files::score(args, &mut std::io::stdout().lock()),
        Bench::Intake(args) => intake::run(args),
        Bench::Today(args) => today::run(args),
        Bench::Sync(args) => sync::run(args),
        Bench::Unlock(args) => unlock::run(args),
        Bench::Supervision(args) => supervision::run(args),
        Bench::Import(args) => import::run(args),
    };
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("reintegra-bench: {e}");
            ExitCode::FAILURE
        }
    }
}
