//! Crash test for the store (see `tests/crash.rs` and `crates/store/README.md`).
//!
//! - `store-crash-writer --trials N [--dir DIR]`: the harness. N times: starts itself as a
//!   writer on DIR, kills it with SIGKILL at a random moment, reopens the store and checks that
//!   every save the writer reported as acknowledged is there, complete, and in the outbox
//!   exactly once. Now and then acknowledges part of the outbox (compaction) between trials.
//! - `store-crash-writer write DIR`: the writer. Saves persons (and updates the previous one)
//!   as fast as it can; after each save returns it prints `C|U <op id> <person id> <n>`.
//! - `store-crash-writer --trials N --units [--dir DIR]`: the same harness over units of work
//!   (`write-units DIR`): each committed [`Batch`] is a person edit with its audit entry, or a
//!   merge (two persons, the absorbed one's referrals re-pointed, two audit entries). After a
//!   kill, every acknowledged unit is there, and every unit on disk is whole: each change has
//!   its audit entry and no merge is half-applied.

use std::collections::{BTreeMap, BTreeSet, HashMap};
use std::io::{BufRead, BufReader, Write};
use std::path::{Path, PathBuf};
use std::process::{Command, ExitCode, Stdio};
use std::time::{Duration, Instant};

use chrono::{TimeZone, Utc};
use rand::Rng;
use reintegra_core::audit::{AuditAction, AuditEntry, EntityRef, RecordKind};
use reintegra_core::ids::{AuditId, ReferralId};
use reintegra_core::ids::{DeviceId, PersonId, UserId};
use reintegra_core::person::Person;
use reintegra_core::referral::{Referral, ServiceType};
use reintegra_store::{Batch, KdfParams, LockedStore, NewStore, Store};
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

fn fixed_now() -> chrono::DateTime<Utc> {
    Utc.timestamp_opt(1_700_000_000, 0)
        .single()
        .unwrap_or_default()
}

/// The audit entry of change `n` to `person` (its summary names the unit, for the checker).
fn audit_entry(person: PersonId, summary: String) -> AuditEntry {
    AuditEntry::new(
        AuditId::new(Uuid::now_v7()),
        fixed_now(),
        UserId::new(Uuid::from_u128(1)),
        AuditAction::Update,
        EntityRef::new(RecordKind::Person, person),
    )
    .with_summary(summary)
}

fn commit(store: &Store, batch: Batch) -> Result<(), String> {
    store.commit(batch).map(drop).map_err(|e| e.to_string())
}

/// The units-of-work writer: creates a person with a referral, edits persons, merges pairs;
/// prints `C|E|M <person> <other or -> <n>` after each commit returns.
fn write_units(dir: &Path) -> Result<(), String> {
    let store = open_or_create(dir)?;
    let mut n = store.person_count() as u64 * 10;
    let mut open: Vec<Person> = store
        .persons()
        .map_err(|e| e.to_string())?
        .into_iter()
        .filter(|p| p.merged_into.is_none())
        .collect();
    let stdout = std::io::stdout();
    let say = |line: String| -> Result<(), String> {
        let mut out = stdout.lock();
        writeln!(out, "{line}").map_err(|e| e.to_string())?;
        out.flush().map_err(|e| e.to_string())
    };
    loop {
        n += 1;
        let mut batch = Batch::new();
        let (line, touched) = if n % 5 == 0 && open.len() >= 2 {
            let mut gone = open.remove(open.len() - 1);
            let mut kept = open.remove(open.len() - 1);
            kept.skills.push(format!("merged-{n}"));
            gone.occupation = format!("absorbed-{n}");
            gone.merged_into = Some(kept.id);
            for mut r in store
                .referrals_of_person(gone.id)
                .map_err(|e| e.to_string())?
            {
                r.person = kept.id;
                batch.put(&r).map_err(|e| e.to_string())?;
            }
            batch.put(&kept).map_err(|e| e.to_string())?;
            batch.put(&gone).map_err(|e| e.to_string())?;
            batch
                .put(&audit_entry(kept.id, format!("merge {n}")))
                .map_err(|e| e.to_string())?;
            batch
                .put(&audit_entry(gone.id, format!("merge {n}")))
                .map_err(|e| e.to_string())?;
            (format!("M {} {} {n}", kept.id, gone.id), vec![kept])
        } else if n % 2 == 0 && !open.is_empty() {
            let mut p = open.remove(0);
            p.household_notes = format!("edit-{n}");
            batch.put(&p).map_err(|e| e.to_string())?;
            batch
                .put(&audit_entry(p.id, format!("edit {n}")))
                .map_err(|e| e.to_string())?;
            (format!("E {} - {n}", p.id), vec![p])
        } else {
            let p = person(PersonId::new(Uuid::now_v7()), n);
            let referral = Referral::propose(
                ReferralId::new(Uuid::now_v7()),
                p.id,
                ServiceType::Psychosocial,
                fixed_now(),
                UserId::new(Uuid::from_u128(1)),
            );
            batch.put(&p).map_err(|e| e.to_string())?;
            batch.put(&referral).map_err(|e| e.to_string())?;
            batch
                .put(&audit_entry(p.id, format!("create {n}")))
                .map_err(|e| e.to_string())?;
            (format!("C {} - {n}", p.id), vec![p])
        };
        commit(&store, batch)?;
        say(line)?;
        open.extend(touched);
    }
}

/// Checks the units on disk: every acknowledged one is there, and every one is whole.
fn verify_units(dir: &Path, acked: &[String]) -> Result<usize, String> {
    let store = LockedStore::open(dir)
        .and_then(|l| l.unlock(LOGIN, PASSPHRASE))
        .map_err(|e| format!("reopen after crash: {e}"))?;
    let audited = |person: PersonId, summary: &str| -> Result<bool, String> {
        Ok(store
            .audit_of(person.as_uuid())
            .map_err(|e| e.to_string())?
            .iter()
            .any(|a| a.summary == summary))
    };
    let persons = store.persons().map_err(|e| e.to_string())?;
    let by_id: HashMap<PersonId, &Person> = persons.iter().map(|p| (p.id, p)).collect();
    for line in acked {
        let mut it = line.split(' ');
        let (Some(kind), Some(id), Some(other), Some(n)) =
            (it.next(), it.next(), it.next(), it.next())
        else {
            continue;
        };
        let id: PersonId = id.parse().map_err(|_| format!("bad line {line}"))?;
        let word = match kind {
            "C" => "create",
            "E" => "edit",
            _ => "merge",
        };
        if !by_id.contains_key(&id) || !audited(id, &format!("{word} {n}"))? {
            return Err(format!(
                "acknowledged unit `{line}` is missing or unaudited"
            ));
        }
        if kind == "M" {
            let gone: PersonId = other.parse().map_err(|_| format!("bad line {line}"))?;
            if by_id.get(&gone).and_then(|p| p.merged_into) != Some(id) {
                return Err(format!("acknowledged merge `{line}` is not on disk"));
            }
        }
    }
    // Whole units only, acknowledged or not.
    for p in &persons {
        if let Some(n) = p.household_notes.strip_prefix("edit-") {
            if !audited(p.id, &format!("edit {n}"))? {
                return Err(format!("edit {n} of {} has no audit entry", p.id));
            }
        }
        let Some(kept) = p.merged_into else { continue };
        let n = p.occupation.strip_prefix("absorbed-").unwrap_or("?");
        let kept_whole = by_id
            .get(&kept)
            .is_some_and(|k| k.skills.contains(&format!("merged-{n}")));
        let left_behind = store
            .referrals_of_person(p.id)
            .map_err(|e| e.to_string())?
            .len();
        if !kept_whole
            || left_behind > 0
            || !audited(p.id, &format!("merge {n}"))?
            || !audited(kept, &format!("merge {n}"))?
        {
            return Err(format!("merge {n} is half-applied"));
        }
    }
    Ok(persons.len())
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

fn harness(trials: u32, dir: &Path, units: bool) -> Result<(), String> {
    let exe = std::env::current_exe().map_err(|e| e.to_string())?;
    let mut rng = rand::thread_rng();
    let mut expect = Expect::default();
    let started = Instant::now();
    let mut total_acked = 0usize;
    let mut acked_units: Vec<String> = Vec::new();
    for trial in 0..trials {
        let mut child = Command::new(&exe)
            .arg(if units { "write-units" } else { "write" })
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
        if units {
            acked_units.extend(lines.iter().cloned());
            total_acked += lines.len();
            verify_units(dir, &acked_units).map_err(|e| format!("trial {trial}: {e}"))?;
            continue;
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
    if units {
        println!(
            "{trials} crash trials, {total_acked} acknowledged units of work, all present and whole; {:.1}s",
            started.elapsed().as_secs_f64()
        );
        return Ok(());
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
        Some("write-units") => match args.get(1) {
            Some(dir) => write_units(Path::new(dir)),
            None => Err("usage: store-crash-writer write-units DIR".into()),
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
            harness(trials, &dir, args.iter().any(|a| a == "--units"))
        }
        _ => Err("usage: store-crash-writer --trials N [--units] [--dir DIR] | write DIR | write-units DIR".into()),
    };
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("store-crash-writer: {e}");
            ExitCode::FAILURE
        }
    }
}
