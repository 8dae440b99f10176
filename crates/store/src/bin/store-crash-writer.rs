//! Crash test for the store (see `tests/crash.rs` and `crates/store/README.md`).
//!
//! - `store-crash-writer --trials N [--dir DIR]`: the harness. N times: starts itself as a
//!   writer on DIR, kills it with SIGKILL at a random moment, reopens the store and checks that
//!   every save the writer reported as acknowledged is there, complete, and in the outbox
//!   exactly once. Now and then acknowledges part of the outbox (compaction) between trials.
//! - `store-crash-writer write DIR`: the writer. Saves persons (and updates the previous one)
//!   as fast as it can; after each save returns it prints `C|U <op id> <person id> <n>`.

use std::collections::{BTreeMap, BTreeSet, HashMap};
use std::io::{BufRead, BufReader, Write};
use std::path::{Path, PathBuf};
use std::process::{Command, ExitCode, Stdio};
use std::time::{Duration, Instant};

use chrono::{TimeZone, Utc};
use rand::Rng;
use reintegra_core::ids::{DeviceId, PersonId, UserId};
use reintegra_core::person::Person;
use reintegra_store::{KdfParams, LockedStore, NewStore, Store};
use uuid::Uuid;

const LOGIN: &str = "crash";
const PASSPHRASE: &str = "crash-test-passphrase";

fn open_or_create(dir: &Path) -> Result<Store, String> {
    match LockedStore::open(dir) {
        Ok(locked) => locked.unlock(LOGIN, PASSPHRASE).map_err(|e| e.to_string()),
        Err(reintegra_store::Error::NotFound(_)) => LockedStore::create(
            dir,
            NewStore {
                device: DeviceId::new(Uuid::from_u128(0xC0FFEE)),
                login: LOGIN,
                user_id: UserId::new(Uuid::from_u128(1)),
                passphrase: PASSPHRASE,
                kdf: KdfParams::INSECURE_FAST,
            },
        )
        .map_err(|e| e.to_string()),
        Err(e) => Err(e.to_string()),
    }
}

fn person(id: PersonId, n: u64) -> Person {
    let now = Utc
        .timestamp_opt(1_700_000_000, 0)
        .single()
        .unwrap_or_default();
    let mut p = Person::new(id, format!("Nombre{n}"), format!("Apellido{n}"), now);
    p.household_notes = format!("nota {n} ").repeat((n % 40) as usize + 1);
    p
}

fn write(dir: &Path) -> Result<(), String> {
    let store = open_or_create(dir)?;
    let mut n = store.person_count() as u64 * 10;
    let mut last: Option<Person> = None;
    let stdout = std::io::stdout();
    loop {
        n += 1;
        let (kind, p) = match last.take() {
            Some(mut prev) if n % 3 == 0 => {
                prev.occupation = format!("updated-{n}");
                ("U", prev)
            }
            _ => ("C", person(PersonId::new(Uuid::now_v7()), n)),
        };
        let saved = store.save_person(&p).map_err(|e| e.to_string())?;
        let op = saved.op_id.ok_or("a save wrote no op")?;
        let mut out = stdout.lock();
        writeln!(out, "{kind} {op} {} {n}", p.id).map_err(|e| e.to_string())?;
        out.flush().map_err(|e| e.to_string())?;
        last = Some(p);
    }
}

struct Acked {
    kind: char,
    op: Uuid,
    person: PersonId,
    n: u64,
}

fn parse(line: &str) -> Option<Acked> {
    let mut it = line.split(' ');
    let kind = it.next()?.chars().next()?;
    let op = it.next()?.parse().ok()?;
    let person = it.next()?.parse().ok()?;
    let n = it.next()?.parse().ok()?;
    Some(Acked {
        kind,
        op,
        person,
        n,
    })
}

#[derive(Default)]
struct Expect {
    /// person -> n of its creation
    created: HashMap<PersonId, u64>,
    /// person -> n of its last acknowledged update
    updated: HashMap<PersonId, u64>,
    /// acknowledged saves whose op must still be in the outbox
    pending: BTreeSet<Uuid>,
    /// ops acknowledged to the "server" (must be gone from the outbox)
    gone: BTreeSet<Uuid>,
    order: Vec<Uuid>,
}

fn verify(dir: &Path, expect: &Expect) -> Result<Store, String> {
    let store = LockedStore::open(dir)
        .and_then(|l| l.unlock(LOGIN, PASSPHRASE))
        .map_err(|e| format!("reopen after crash: {e}"))?;
    for (id, n) in &expect.created {
        let p = store
            .person(*id)
            .map_err(|e| e.to_string())?
            .ok_or_else(|| format!("acknowledged person {id} (save {n}) is missing"))?;
        let fresh = person(*id, *n);
        if p.given_names != fresh.given_names || p.household_notes != fresh.household_notes {
            return Err(format!("person {id} is not complete"));
        }
        if let Some(u) = expect.updated.get(id) {
            let got: u64 = p
                .occupation
                .strip_prefix("updated-")
                .and_then(|s| s.parse().ok())
                .ok_or_else(|| format!("acknowledged update {u} of {id} is missing"))?;
            if got < *u {
                return Err(format!(
                    "person {id} lost acknowledged update {u} (has {got})"
                ));
            }
        }
    }
    let outbox = store.outbox(usize::MAX).map_err(|e| e.to_string())?;
    let mut seen: BTreeMap<Uuid, u64> = BTreeMap::new();
    let mut last_seq = 0;
    for entry in &outbox {
        if entry.seq <= last_seq {
            return Err("outbox out of order".into());
        }
        last_seq = entry.seq;
        if seen.insert(entry.op.op_id, entry.seq).is_some() {
            return Err(format!("op {} is in the outbox twice", entry.op.op_id));
        }
    }
    for op in &expect.pending {
        if !seen.contains_key(op) {
            return Err(format!("acknowledged op {op} is missing from the outbox"));
        }
    }
    for op in &expect.gone {
        if seen.contains_key(op) {
            return Err(format!(
                "op {op} was acknowledged to the server but is still in the outbox"
            ));
        }
    }
    Ok(store)
}

fn harness(trials: u32, dir: &Path) -> Result<(), String> {
    let exe = std::env::current_exe().map_err(|e| e.to_string())?;
    let mut rng = rand::thread_rng();
    let mut expect = Expect::default();
    let started = Instant::now();
    let mut total_acked = 0usize;
    for trial in 0..trials {
        let mut child = Command::new(&exe)
            .arg("write")
            .arg(dir)
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .map_err(|e| format!("spawn writer: {e}"))?;
        let stdout = child.stdout.take().ok_or("no stdout")?;
        let (tx, rx) = std::sync::mpsc::channel::<String>();
        let reader = std::thread::spawn(move || {
            for line in BufReader::new(stdout).lines() {
                match line {
                    Ok(l) => {
                        if tx.send(l).is_err() {
                            break;
                        }
                    }
                    Err(_) => break,
                }
            }
        });
        let mut lines = Vec::new();
        if trial % 5 == 4 {
            // Kill at any moment, possibly while the store is opening or recovering.
            std::thread::sleep(Duration::from_millis(rng.gen_range(0..150)));
        } else {
            // Kill in the middle of the writes: after the first acknowledged save.
            if let Ok(first) = rx.recv_timeout(Duration::from_secs(20)) {
                lines.push(first);
            }
            std::thread::sleep(Duration::from_millis(rng.gen_range(0..60)));
        }
        // Child::kill sends SIGKILL on Unix.
        let _ = child.kill();
        let status = child.wait().map_err(|e| e.to_string())?;
        let _ = reader.join();
        lines.extend(rx.try_iter());
        if status.success() {
            return Err("the writer exited by itself".into());
        }
        let mut acked_now = 0;
        for line in &lines {
            let Some(a) = parse(line) else { continue };
            acked_now += 1;
            match a.kind {
                'C' => {
                    expect.created.insert(a.person, a.n);
                }
                _ => {
                    expect.updated.insert(a.person, a.n);
                }
            }
            expect.pending.insert(a.op);
            expect.order.push(a.op);
        }
        if acked_now == 0 {
            let mut err = String::new();
            if let Some(mut e) = child.stderr.take() {
                let _ = std::io::Read::read_to_string(&mut e, &mut err);
            }
            if !err.trim().is_empty() {
                return Err(format!("writer failed: {err}"));
            }
        }
        total_acked += acked_now;
        let store = verify(dir, &expect).map_err(|e| format!("trial {trial}: {e}"))?;
        // Now and then the "server" acknowledges part of the outbox: it must be compacted away.
        if trial % 4 == 3 && !expect.order.is_empty() {
            let cut = rng.gen_range(0..expect.order.len());
            let through = expect.order[cut];
            if expect.pending.contains(&through) {
                store
                    .ack_through(through)
                    .map_err(|e| format!("ack: {e}"))?;
                for op in expect.order.drain(..=cut) {
                    expect.pending.remove(&op);
                    expect.gone.insert(op);
                }
            }
        }
        drop(store);
    }
    println!(
        "{trials} crash trials, {total_acked} acknowledged saves, {} persons, all present; {:.1}s",
        expect.created.len(),
        started.elapsed().as_secs_f64()
    );
    Ok(())
}

fn main() -> ExitCode {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let result = match args.first().map(String::as_str) {
        Some("write") => match args.get(1) {
            Some(dir) => write(Path::new(dir)),
            None => Err("usage: store-crash-writer write DIR".into()),
        },
        Some("--trials") => {
            let trials = args.get(1).and_then(|n| n.parse().ok()).unwrap_or(50);
            let (dir, _tmp) = match args
                .iter()
                .position(|a| a == "--dir")
                .and_then(|i| args.get(i + 1))
            {
                Some(d) => (PathBuf::from(d), None),
                None => match tempfile::tempdir() {
                    Ok(t) => (t.path().join("store"), Some(t)),
                    Err(e) => {
                        eprintln!("temp dir: {e}");
                        return ExitCode::FAILURE;
                    }
                },
            };
            harness(trials, &dir)
        }
        _ => Err("usage: store-crash-writer --trials N [--dir DIR] | write DIR".into()),
    };
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("store-crash-writer: {e}");
            ExitCode::FAILURE
        }
    }
}
