//! Crash test: a child process saves as fast as it can and is SIGKILLed at random moments;
//! every save it acknowledged must survive, complete, once in the outbox.
//! 50 kills by default; `STORE_CRASH_TRIALS=500 cargo test -p reintegra-store --test crash`
//! (or `store-crash-writer --trials 500`) for more.
#![allow(clippy::unwrap_used)] // tests may unwrap

use std::process::Command;

#[test]
fn acknowledged_saves_survive_sigkill() {
    let trials: u32 = std::env::var("STORE_CRASH_TRIALS")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(50);
    let dir = tempfile::tempdir().unwrap();
    let out = Command::new(env!("CARGO_BIN_EXE_store-crash-writer"))
        .arg("--trials")
        .arg(trials.to_string())
        .arg("--dir")
        .arg(dir.path().join("store"))
        .output()
        .unwrap();
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
}
