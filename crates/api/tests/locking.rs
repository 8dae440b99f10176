//! Locking means locked (`docs/sync.md`, "Locking"): the idle lock is enforced in Rust, and a
//! lock stops a running sync before its next request (it lets go of the store and its keys).
//! Real parts: a store in a temp dir, a real server on port 0, a real socket that fails.
#![allow(clippy::unwrap_used)] // tests may unwrap

use std::net::TcpListener;
use std::sync::Arc;
use std::time::{Duration, Instant};

use chrono::{DateTime, TimeZone, Utc};
use reintegra_api::{KdfParams, Session};
use reintegra_server::Background;

const PASS: &str = "clave-segura-1";

fn t(minutes: i64) -> DateTime<Utc> {
    Utc.with_ymd_and_hms(2026, 12, 1, 15, 0, 0).unwrap() + chrono::Duration::minutes(minutes)
}

fn unlocked(dir: &std::path::Path) -> Session {
    let s = Session::open(dir.join("store"), KdfParams::INSECURE_FAST).unwrap();
    s.create_first_admin("Ana", PASS, t(0)).unwrap();
    s
}

#[test]
fn nobody_at_the_screen_for_the_idle_minutes_locks_the_session() {
    let dir = tempfile::tempdir().unwrap();
    let s = unlocked(dir.path());
    assert!(
        !s.lock_if_idle(t(0), 10),
        "the first check starts the count"
    );
    s.touch(t(5));
    assert!(!s.lock_if_idle(t(14), 10), "touched 9 minutes ago");
    assert!(s.current().user.is_some());
    assert!(s.lock_if_idle(t(15), 10), "10 minutes without a touch");
    assert!(s.current().user.is_none(), "locked: the keys left memory");
    assert_eq!(s.status().unwrap_err().code(), "locked");
    // Locked, touching does nothing; the next person starts a count of their own.
    s.touch(t(16));
    assert!(!s.lock_if_idle(t(30), 10));
    s.unlock("Ana", PASS, t(40)).unwrap();
    assert!(
        !s.lock_if_idle(t(41), 10),
        "not the old count: a new session"
    );
    assert!(!s.lock_if_idle(t(50), 10));
    assert!(s.lock_if_idle(t(51), 10));
}

/// From now on the connections to `addr` are cut as soon as they open: every request fails
/// as a cut link (worth retrying), so a sync waits between tries.
fn cut_the_link(addr: std::net::SocketAddr) {
    let listener = TcpListener::bind(addr).unwrap();
    std::thread::spawn(move || {
        for conn in listener.incoming() {
            drop(conn);
        }
    });
}

#[test]
fn locking_stops_a_running_sync() {
    let (data, dir) = (tempfile::tempdir().unwrap(), tempfile::tempdir().unwrap());
    let server = Background::start(data.path(), "127.0.0.1:0".parse().unwrap(), None).unwrap();
    let s = Arc::new(unlocked(dir.path()));
    s.sync_enroll(&server.url(), &server.enroll_code("*").unwrap(), "Laptop")
        .unwrap();
    // The link goes bad: the sync retries with pauses that add up to many seconds.
    let addr = server.local_addr();
    drop(server);
    cut_the_link(addr);
    let running = {
        let s = s.clone();
        std::thread::spawn(move || {
            let started = Instant::now();
            (s.sync_now(t(1), &mut |_| {}), started.elapsed())
        })
    };
    std::thread::sleep(Duration::from_millis(300));
    let locked_at = Instant::now();
    s.lock(t(2));
    let (result, _) = running.join().unwrap();
    let stopped_after = locked_at.elapsed();
    let err = result.unwrap_err();
    assert_eq!(err.code(), "cancelled", "stopped by the lock: {err}");
    assert!(
        stopped_after < Duration::from_secs(2),
        "it stopped at once, not after its retries ({stopped_after:?})"
    );
    assert!(s.current().user.is_none());
    // Nothing of it is shown to the next person as a failure of theirs.
    s.unlock("Ana", PASS, t(3)).unwrap();
    assert_eq!(s.sync_view().unwrap().last_error, None);
}
