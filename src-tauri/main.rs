// No console window on Windows release builds.
#![cfg_attr(not(debug_assertions), windows_subsystem = "windows")]

use std::process::ExitCode;

/// `reintegra` opens the window; `reintegra <subcommand> ...` (e.g. `dedup`) runs headless.
fn main() -> ExitCode {
    let first = std::env::args_os().nth(1);
    if first
        .as_deref()
        .and_then(|a| a.to_str())
        .is_some_and(reintegra_cli::is_subcommand)
    {
        return reintegra_cli::run(std::env::args_os());
    }
    reintegra_app::run();
    ExitCode::SUCCESS
}
