//! Headless subcommands of the `reintegra` binary. `reintegra` with no subcommand opens the window.

use std::ffi::OsString;
use std::process::ExitCode;

/// Whether `arg` (the first command-line argument) names a headless subcommand.
pub fn is_subcommand(arg: &str) -> bool {
    matches!(arg, "dedup" | "help" | "--help" | "-h")
}

/// Runs a headless subcommand; `args` includes the program name.
pub fn run(args: impl IntoIterator<Item = OsString>) -> ExitCode {
    let _ = args.into_iter().count();
    eprintln!("(being written)");
    ExitCode::FAILURE
}
