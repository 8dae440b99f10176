//! `reintegra-bench unlock`: how long a user waits between pressing Enter on the sign-in screen
//! and seeing the caseload, on a store of `--persons` persons (the store bench's ~1.2 KB
//! synthetic persons, names by frequency from the dedup generator, each with the audit entry of
//! its registration), signed in as a *second* user (a caseworker whose key slot is not the first
//! one). Times `Session::open`, `Session::unlock`, the first `caseload` page (default query;
//! unlock reads the cases behind the screen, so this page may hold only those read so far) and
//! the first page with every case (asking again as the Casos screen does), median of `--runs`
//! runs, plus a breakdown measured on the same store: Argon2id alone, the store's own unlock
//! (Argon2id overlapped with loading its in-memory indexes), and reading every person.
//!
//! The filled store is kept under `target/bench-cache/` (reused by later runs; `--refill`
//! makes a new one), since filling 100,000 persons takes a few minutes.

use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use chrono::Utc;
use rand::rngs::StdRng;
use rand::{Rng, SeedableRng};
use reintegra_api::{CaseQuery, KdfParams, Session};
use reintegra_core::audit::{AuditAction, AuditEntry, EntityRef, RecordKind};
use reintegra_core::ids::{AuditId, UserId};
use reintegra_core::territory::Territory;
use reintegra_core::user::{Role, User};
use reintegra_store::{Batch, LockedStore};
use uuid::Uuid;

use crate::latency::{ms, Latencies};
use crate::store::synthetic_person;

#[derive(clap::Args)]
pub struct Args {
    /// Persons in the store.
    #[arg(long, default_value_t = 100_000)]
    persons: usize,
    /// Timed unlocks (the median is reported).
    #[arg(long, default_value_t = 5)]
    runs: usize,
    /// Where the store is (default: target/bench-cache/unlock-<persons>-s<seed>-<kdf>, filled
    /// once and reused).
    #[arg(long)]
    dir: Option<PathBuf>,
    /// Fill a new store even if one is cached.
    #[arg(long)]
    refill: bool,
    /// Cheap Argon2id parameters instead of the recommended ones (m=64 MiB, t=3, p=1): leaves
    /// out the key derivation, for looking at the rest.
    #[arg(long)]
    fast_kdf: bool,
    /// Seed of the synthetic data.
    #[arg(long, default_value_t = 7)]
    seed: u64,
    /// Time at the sign-in screen between opening the store and Enter (the head start of the
    /// store's background index load). 0: Enter right after open, the worst case.
    #[arg(long, default_value_t = 0)]
    pause_ms: u64,
}

const ADMIN: &str = "Administración";
const ADMIN_PASS: &str = "clave del administrador 1";
/// The second user: a caseworker of no particular office (sees every case).
const LOGIN: &str = "beatriz";
const PASS: &str = "clave de beatriz 123";
/// The passphrase the admin gave the second user, changed at its first sign-in.
const FIRST_PASS: &str = "clave inicial de beatriz";
/// Persons (each with its audit entry) per store transaction while filling.
const FILL_BATCH: usize = 250;

/// The benchmark store's default place: under cargo's target directory (next to the binary).
fn default_dir(args: &Args) -> PathBuf {
    let target = std::env::var_os("CARGO_TARGET_DIR")
        .map(PathBuf::from)
        .or_else(|| {
            // target/release/reintegra-bench
            let exe = std::env::current_exe().ok()?;
            Some(exe.parent()?.parent()?.to_path_buf())
        })
        .unwrap_or_else(|| PathBuf::from("target"));
    let kdf = if args.fast_kdf { "fastkdf" } else { "kdf" };
    target
        .join("bench-cache")
        .join(format!("unlock-{}-s{}-{kdf}", args.persons, args.seed))
}

/// Marks a completely filled store (an interrupted fill is redone).
fn marker(dir: &Path) -> PathBuf {
    let mut name = dir.file_name().unwrap_or_default().to_os_string();
    name.push(".complete");
    dir.with_file_name(name)
}

fn fill(dir: &Path, args: &Args, kdf: KdfParams) -> Result<(), String> {
    let e = |e: reintegra_store::Error| e.to_string();
    let a = |e: reintegra_api::ApiError| e.to_string();
    if dir.exists() {
        std::fs::remove_dir_all(dir).map_err(|e| e.to_string())?;
    }
    std::fs::create_dir_all(dir).map_err(|e| e.to_string())?;
    let t = Instant::now();
    let now = Utc::now();
    // The office's first admin sets the device up, as in the app.
    let session = Session::open(dir, kdf).map_err(a)?;
    session
        .create_first_admin(ADMIN, ADMIN_PASS, now)
        .map_err(a)?;
    session.lock(now);
    drop(session);

    let store = LockedStore::open(dir)
        .map_err(e)?
        .unlock(ADMIN, ADMIN_PASS)
        .map_err(e)?;
    let admin = store.user();
    let worker = UserId::new(Uuid::now_v7());
    let districts: Vec<String> = Territory::el_salvador()
        .places()
        .map(|p| p.district_code.clone())
        .collect();
    let mut rng = StdRng::seed_from_u64(args.seed);
    let mut n = 0u64;
    while (n as usize) < args.persons {
        let mut batch = Batch::new();
        for _ in 0..FILL_BATCH.min(args.persons - n as usize) {
            let mut p = synthetic_person(&mut rng, n, &districts);
            if rng.gen_bool(0.2) {
                p.caseworker = Some(worker);
            }
            batch.put(&p).map_err(e)?;
            // Registering a person writes its audit entry with it (as the api's intake does).
            let entry = AuditEntry::new(
                AuditId::new(Uuid::now_v7()),
                p.created_at,
                admin,
                AuditAction::Create,
                EntityRef::new(RecordKind::Person, p.id.as_uuid()),
            )
            .on_device(store.device())
            .with_summary("Nuevo ingreso");
            batch.put(&entry).map_err(e)?;
            n += 1;
        }
        store.commit(batch).map_err(e)?;
        if n % 20_000 == 0 {
            println!("  … {n} persons saved ({:.0} s)", t.elapsed().as_secs_f64());
        }
    }
    // The second user: a key slot of its own (with the passphrase the admin gave, changed by
    // the user at the first sign-in) and its user record.
    store.add_user(LOGIN, worker, FIRST_PASS, kdf).map_err(e)?;
    store
        .change_passphrase(LOGIN, FIRST_PASS, PASS, kdf)
        .map_err(e)?;
    store
        .save_user(&User {
            id: worker,
            name: "Beatriz Ramos".into(),
            login: LOGIN.into(),
            role: Role::Caseworker,
            office_municipality: None,
            active: true,
            also_supervisor: false,
        })
        .map_err(e)?;
    store.flush().map_err(e)?;
    drop(store);
    std::fs::write(
        marker(dir),
        format!("{} persons, seed {}\n", args.persons, args.seed),
    )
    .map_err(|e| e.to_string())?;
    println!(
        "filled {} persons (+ their audit entries) and a second user in {:.1} s",
        args.persons,
        t.elapsed().as_secs_f64()
    );
    Ok(())
}

fn median(samples: &[Duration]) -> Duration {
    let mut l = Latencies(samples.to_vec());
    l.percentile(0.5)
}

fn list(samples: &[Duration]) -> String {
    samples
        .iter()
        .map(|d| format!("{:.0}", ms(*d)))
        .collect::<Vec<_>>()
        .join(", ")
}

/// CPU time (user + system, every thread) this process has used so far, from /proc (Linux);
/// zero where that cannot be read.
fn cpu_time() -> Duration {
    let ticks = std::fs::read_to_string("/proc/self/stat")
        .ok()
        .and_then(|stat| {
            // Fields after the command name (which is in parentheses): utime is the 12th, stime
            // the 13th, in clock ticks (100 per second on Linux).
            let rest = stat.rsplit_once(')')?.1;
            let fields: Vec<&str> = rest.split_whitespace().collect();
            Some(fields.get(11)?.parse::<u64>().ok()? + fields.get(12)?.parse::<u64>().ok()?)
        })
        .unwrap_or(0);
    Duration::from_millis(ticks * 10)
}

#[derive(Default)]
struct Samples {
    open: Vec<Duration>,
    cpu: Vec<Duration>,
    unlock: Vec<Duration>,
    caseload: Vec<Duration>,
    usable: Vec<Duration>,
    /// Cases read when the first caseload page was answered.
    first_read: Vec<u32>,
    /// Unlock → a caseload page with every case.
    complete: Vec<Duration>,
    kdf: Vec<Duration>,
    store_unlock: Vec<Duration>,
    read: Vec<Duration>,
    read_parallel: Vec<Duration>,
    read_parallel_cpu: Vec<Duration>,
}

/// One sign-in as the second user, timed: open, unlock, first caseload page.
fn sign_in(dir: &Path, kdf: KdfParams, args: &Args, s: &mut Samples) -> Result<(), String> {
    let a = |e: reintegra_api::ApiError| e.to_string();
    let now = Utc::now();
    let today = reintegra_api::today_in_el_salvador(now);
    let t = Instant::now();
    let session = Session::open(dir, kdf).map_err(a)?;
    s.open.push(t.elapsed());
    std::thread::sleep(Duration::from_millis(args.pause_ms));
    let cpu = cpu_time();
    let t = Instant::now();
    let state = session.unlock(LOGIN, PASS, now).map_err(a)?;
    let unlocked = t.elapsed();
    let first = session.caseload(&CaseQuery::default(), today).map_err(a)?;
    let usable = t.elapsed();
    // Then as the Casos screen does while the cases are still being read: ask again.
    let mut page = first.clone();
    while page.still_reading.is_some() {
        std::thread::sleep(Duration::from_millis(50));
        page = session.caseload(&CaseQuery::default(), today).map_err(a)?;
    }
    s.complete.push(t.elapsed());
    s.cpu.push(cpu_time().saturating_sub(cpu));
    let persons = args.persons;
    if state.user.map(|u| u.login).as_deref() != Some(LOGIN) {
        return Err("signed in as someone else".into());
    }
    if page.total as usize != persons || page.rows.is_empty() || first.rows.is_empty() {
        return Err(format!(
            "the caseload shows {} of {persons} cases (first page: {} rows)",
            page.total,
            first.rows.len()
        ));
    }
    s.first_read
        .push(first.still_reading.map_or(page.total, |r| r.read));
    s.unlock.push(unlocked);
    s.caseload.push(usable - unlocked);
    s.usable.push(usable);
    session.lock(now);
    Ok(())
}

/// The parts, measured on the store directly.
fn breakdown(dir: &Path, s: &mut Samples) -> Result<(), String> {
    let e = |e: reintegra_store::Error| e.to_string();
    // Argon2id alone: unlock once the indexes' background load (started at open) is done.
    let locked = LockedStore::open(dir).map_err(e)?;
    std::thread::sleep(Duration::from_secs(3));
    let t = Instant::now();
    drop(locked.unlock(LOGIN, PASS).map_err(e)?);
    s.kdf.push(t.elapsed());
    drop(locked);
    // The store's own unlock right after open, then reading every person.
    let locked = LockedStore::open(dir).map_err(e)?;
    let t = Instant::now();
    let store = locked.unlock(LOGIN, PASS).map_err(e)?;
    s.store_unlock.push(t.elapsed());
    let t = Instant::now();
    let persons = store.persons().map_err(e)?;
    s.read.push(t.elapsed());
    drop(persons);
    // … and on every core, each person dropped where it was opened (what unlock does now, less
    // the summaries it makes there).
    let (t, cpu) = (Instant::now(), cpu_time());
    let n = store.map_persons(drop).map_err(e)?.len();
    s.read_parallel.push(t.elapsed());
    s.read_parallel_cpu.push(cpu_time().saturating_sub(cpu));
    if n != store.person_count() {
        return Err(format!("map_persons read {n} persons"));
    }
    Ok(())
}

pub fn run(args: Args) -> Result<(), String> {
    let kdf = if args.fast_kdf {
        KdfParams::INSECURE_FAST
    } else {
        KdfParams::RECOMMENDED
    };
    let dir = args.dir.clone().unwrap_or_else(|| default_dir(&args));
    println!(
        "unlock bench: {} persons, second user (caseworker), Enter {} ms after open, Argon2id m={} KiB t={} p={}, {} cores, dir {}",
        args.persons,
        args.pause_ms,
        kdf.m_kib,
        kdf.t,
        kdf.p,
        std::thread::available_parallelism().map_or(1, |n| n.get()),
        dir.display()
    );
    if args.refill || !marker(&dir).exists() {
        fill(&dir, &args, kdf)?;
    } else {
        println!("reusing the store filled earlier (--refill for a new one)");
    }

    let mut s = Samples::default();
    for run in 0..args.runs.max(1) {
        sign_in(&dir, kdf, &args, &mut s)?;
        breakdown(&dir, &mut s)?;
        println!(
            "run {}: unlock → first caseload page {:.0} ms (unlock {:.0} + caseload {:.0}, {} cases read by then); all cases {:.0} ms; open {:.0} ms",
            run + 1,
            ms(s.usable[run]),
            ms(s.unlock[run]),
            ms(s.caseload[run]),
            s.first_read[run],
            ms(s.complete[run]),
            ms(s.open[run])
        );
    }
    let (unlock, store_unlock, read) = (
        median(&s.unlock),
        median(&s.store_unlock),
        median(&s.read_parallel),
    );
    println!(
        "median of {} runs (ms; every run in brackets):",
        s.usable.len()
    );
    println!(
        "  unlock → first caseload page       {:>7.0}   [{}]   target ≤ 1500",
        ms(median(&s.usable)),
        list(&s.usable)
    );
    let mut first_read = s.first_read.clone();
    first_read.sort_unstable();
    println!(
        "    cases read by then               {:>7}   [{}]   (of {})",
        first_read[first_read.len() / 2],
        s.first_read
            .iter()
            .map(u32::to_string)
            .collect::<Vec<_>>()
            .join(", "),
        args.persons
    );
    println!(
        "  unlock → caseload with every case  {:>7.0}   [{}]",
        ms(median(&s.complete)),
        list(&s.complete)
    );
    println!(
        "    best run                         {:>7.0}",
        ms(s.usable.iter().min().copied().unwrap_or_default())
    );
    println!(
        "    Session::unlock                  {:>7.0}   [{}]",
        ms(unlock),
        list(&s.unlock)
    );
    println!(
        "    first caseload (200 rows)        {:>7.0}   [{}]",
        ms(median(&s.caseload)),
        list(&s.caseload)
    );
    println!(
        "  CPU time of it (all threads)       {:>7.0}   [{}]",
        ms(median(&s.cpu)),
        list(&s.cpu)
    );
    println!(
        "  Session::open (before sign-in)     {:>7.0}   [{}]",
        ms(median(&s.open)),
        list(&s.open)
    );
    println!("breakdown, measured on the store:");
    println!(
        "  key derivation (Argon2id + slot)   {:>7.0}   [{}]",
        ms(median(&s.kdf)),
        list(&s.kdf)
    );
    println!(
        "  store unlock right after open      {:>7.0}   [{}]   (Argon2id ∥ index load)",
        ms(store_unlock),
        list(&s.store_unlock)
    );
    println!(
        "  reading every person, one thread   {:>7.0}   [{}]   (Store::persons)",
        ms(median(&s.read)),
        list(&s.read)
    );
    println!(
        "  reading every person, every core   {:>7.0}   [{}]   (Store::map_persons)",
        ms(read),
        list(&s.read_parallel)
    );
    println!(
        "    CPU time of it                   {:>7.0}   [{}]",
        ms(median(&s.read_parallel_cpu)),
        list(&s.read_parallel_cpu)
    );
    println!(
        "  rest of Session::unlock            {:>7.0}   (unlock − store unlock − reading on every core: the summaries, the sign-in audit)",
        ms(unlock.saturating_sub(store_unlock + read))
    );
    Ok(())
}
