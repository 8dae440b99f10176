//! Crash test: a child process saves as fast as it can and is SIGKILLed at random moments;
//! every save it acknowledged must survive, complete, once in the outbox; in the units mode,
//! every unit of work (a change with its audit entries, a merge) is whole.
//! 50 kills by default; `STORE_CRASH_TRIALS=500 cargo test -p reintegra-store --test crash`
//! (or `store-crash-writer --trials 500`) for more.
#![allow(clippy::unwrap_used)] // tests may unwrap

use std::process::Command;

fn run(units: bool) -> (u32, String) {
    let trials: u32 = std::env::var("STORE_CRASH_TRIALS")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(50);
    let dir = tempfile::tempdir().unwrap();
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_store-crash-writer"));
    cmd.arg("--trials")
        .arg(trials.to_string())
        .arg("--dir")
        .arg(dir.path().join("store"));
    if units {
        cmd.arg("--units");
    }
    let out = cmd.output().unwrap();
    let stdout = String::from_utf8_lossy(&out.stdout);
    let stderr = String::from_utf8_lossy(&out.stderr);
    println!("{stdout}");
    assert!(
        out.status.success(),
        "crash test failed:\n{stdout}\n{stderr}"
    );
    assert!(
        stdout.contains(&format!("{trials} crash trials")),
        "{stdout}"
    );
    (trials, stdout.into_owned())
}

#[test]
fn acknowledged_saves_survive_sigkill() {
    let (_, stdout) = run(false);
    assert!(stdout.contains("all present"), "{stdout}");
}

/// Person edits and merges as units of work (record + audit entries, or a whole merge):
/// SIGKILL never leaves a change without its audit entry or half a merge.
#[test]
fn units_of_work_are_whole_after_sigkill() {
    let (_, stdout) = run(true);
    assert!(stdout.contains("all present and whole"), "{stdout}");
}
