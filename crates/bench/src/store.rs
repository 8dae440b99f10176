//! `reintegra-bench store`: the encrypted sled store with `--persons` synthetic persons
//! (about 1 KB of JSON each, with return events, vulnerabilities, consents, a plan in some)
//! plus one referral for every fourth person. Prints durable save latency (each save is
//! flushed before it returns), open + unlock time (Argon2id at the recommended parameters),
//! lookup latencies and the size on disk against the raw JSON size.

use std::path::{Path, PathBuf};
use std::time::Instant;

use chrono::{NaiveDate, TimeZone, Utc};
use rand::rngs::StdRng;
use rand::{Rng, SeedableRng};
use reintegra_core::consent::{Consent, ConsentPurpose};
use reintegra_core::dui::Dui;
use reintegra_core::ids::{ConsentId, DeviceId, PersonId, ReferralId, ReturnEventId, UserId};
use reintegra_core::person::{BirthDate, Education, Person, Sex};
use reintegra_core::referral::{Referral, ReferralStatus, ServiceType};
use reintegra_core::return_event::{
    ImmediateAssistance, ReceptionCenter, ReturnEvent, ReturnModality, TravelCompanion,
};
use reintegra_core::territory::Territory;
use reintegra_core::vulnerability::Vulnerability;
use reintegra_dedup_eval::names::Names;
use reintegra_store::{KdfParams, LockedStore, NewStore};
use uuid::Uuid;

use crate::latency::{ms, Latencies};

#[derive(clap::Args)]
pub struct Args {
    /// Persons to save (each one a durable save; plus a referral for every fourth).
    #[arg(long, default_value_t = 100_000)]
    persons: usize,
    /// Lookups of each kind to time.
    #[arg(long, default_value_t = 2_000)]
    lookups: usize,
    /// Where to put the store (default: a temporary directory, removed at the end).
    #[arg(long)]
    dir: Option<PathBuf>,
    /// Use the cheap Argon2id parameters instead of the recommended ones (m=64 MiB, t=3, p=1).
    #[arg(long)]
    fast_kdf: bool,
    /// Seed of the synthetic data.
    #[arg(long, default_value_t = 7)]
    seed: u64,
    /// With --dir: reuse the store already there (skip the saves; measure open, lookups, size).
    #[arg(long)]
    reuse: bool,
}

const LOGIN: &str = "bench";
const PASS: &str = "bench passphrase 123";

fn uuid7(rng: &mut StdRng, n: u64) -> Uuid {
    // Time-ordered like UUIDv7 (deterministic for the benchmark).
    let ms = 1_700_000_000_000u64 + n;
    Uuid::from_u128(
        (u128::from(ms) << 80)
            | (0x7u128 << 76)
            | (rng.gen::<u128>() & ((1u128 << 62) - 1))
            | (0b10u128 << 62),
    )
}

pub(crate) fn synthetic_person(rng: &mut StdRng, n: u64, districts: &[String]) -> Person {
    let now = Utc
        .timestamp_opt(1_700_000_000 + n as i64, 0)
        .single()
        .unwrap_or_default();
    // Salvadoran names by frequency, shared with the dedup benchmark.
    let names = Names::salvadoran();
    let female = rng.gen_bool(0.5);
    let mut p = Person::new(
        PersonId::new(uuid7(rng, n)),
        names.given(rng, female),
        names.surname(rng),
        now,
    );
    p.second_surname = names.surname(rng).into();
    p.sex = Some(if female { Sex::Female } else { Sex::Male });
    p.birth_date = Some(BirthDate::Exact {
        date: NaiveDate::from_ymd_opt(
            rng.gen_range(1960..2008),
            rng.gen_range(1..13),
            rng.gen_range(1..29),
        )
        .unwrap_or_default(),
    });
    p.dui = Dui::from_body(&format!("{:08}", n));
    p.phone = format!(
        "{}{:03}-{:04}",
        [6, 7][rng.gen_range(0..2)],
        rng.gen_range(0..1000),
        rng.gen_range(0..10_000)
    );
    p.origin_district = districts[rng.gen_range(0..districts.len())].clone();
    p.destination_district = districts[rng.gen_range(0..districts.len())].clone();
    p.education = Some(Education::Primary);
    p.occupation =
        ["albañil", "agricultor", "cocinera", "mecánico", "costurera"][rng.gen_range(0..5)].into();
    p.skills = vec!["construcción".into(), "inglés básico".into()];
    p.household_notes = format!(
        "Vive con {} familiares; {} hijos en edad escolar.",
        rng.gen_range(1..8),
        rng.gen_range(0..4)
    );
    let events = rng.gen_range(1..3);
    for e in 0..events {
        p.return_events.push(ReturnEvent {
            id: ReturnEventId::new(uuid7(rng, n)),
            date: NaiveDate::from_ymd_opt(2022 + e, rng.gen_range(1..13), rng.gen_range(1..29))
                .unwrap_or_default(),
            modality: if rng.gen_bool(0.7) {
                ReturnModality::Air
            } else {
                ReturnModality::Land
            },
            country_from: ["US", "MX", "GT"][rng.gen_range(0..3)].into(),
            reception_center: ReceptionCenter::Gami,
            custody_days: Some(rng.gen_range(1..200)),
            travelled: TravelCompanion::Alone,
            assistance: vec![
                ImmediateAssistance::Food,
                ImmediateAssistance::HygieneKit,
                ImmediateAssistance::Transport,
            ],
            assistance_notes: "Kit de higiene y transporte al municipio de destino.".into(),
        });
    }
    if rng.gen_bool(0.3) {
        p.vulnerabilities
            .push(Vulnerability::ALL[rng.gen_range(0..Vulnerability::ALL.len())]);
    }
    let user = UserId::new(Uuid::from_u128(1));
    p.consents.push(Consent::new(
        ConsentId::new(uuid7(rng, n)),
        ConsentPurpose::Registration,
        NaiveDate::from_ymd_opt(2024, 1, 1).unwrap_or_default(),
        user,
    ));
    p
}

/// (apparent bytes, allocated bytes) of the files under `dir`.
fn dir_size(dir: &Path) -> (u64, u64) {
    use std::os::unix::fs::MetadataExt;
    let mut total = (0, 0);
    let mut stack = vec![dir.to_path_buf()];
    while let Some(d) = stack.pop() {
        let Ok(entries) = std::fs::read_dir(&d) else {
            continue;
        };
        for e in entries.flatten() {
            let Ok(m) = e.metadata() else { continue };
            if m.is_dir() {
                stack.push(e.path());
            } else {
                total.0 += m.len();
                total.1 += m.blocks() * 512;
            }
        }
    }
    total
}

fn mib(b: u64) -> f64 {
    b as f64 / (1024.0 * 1024.0)
}

pub fn run(args: Args) -> Result<(), String> {
    let e = |e: reintegra_store::Error| e.to_string();
    let tmp = tempfile::tempdir().map_err(|e| e.to_string())?;
    let dir = args.dir.clone().unwrap_or_else(|| tmp.path().join("store"));
    let kdf = if args.fast_kdf {
        KdfParams::INSECURE_FAST
    } else {
        KdfParams::RECOMMENDED
    };
    let mut rng = StdRng::seed_from_u64(args.seed);
    let districts: Vec<String> = Territory::el_salvador()
        .places()
        .map(|p| p.district_code.clone())
        .collect();
    println!(
        "store bench: {} persons (+{} referrals), Argon2id m={} KiB t={} p={}, dir {}",
        args.persons,
        args.persons / 4,
        kdf.m_kib,
        kdf.t,
        kdf.p,
        dir.display()
    );

    let mut raw_json = 0u64;
    let mut sample = Vec::new();
    if !(args.reuse && dir.exists()) {
        fill(
            &args,
            &dir,
            kdf,
            &mut rng,
            &districts,
            &mut raw_json,
            &mut sample,
        )?;
    }
    // Open + unlock (Argon2id), then lookups.
    let t = Instant::now();
    let locked = LockedStore::open(&dir).map_err(e)?;
    let opened = t.elapsed();
    let store = locked.unlock(LOGIN, PASS).map_err(e)?;
    let unlocked = t.elapsed();
    println!(
        "open {:.1} ms + unlock {:.1} ms = open+unlock {:.1} ms",
        ms(opened),
        ms(unlocked - opened),
        ms(unlocked)
    );

    if sample.is_empty() {
        let persons = store.persons().map_err(e)?;
        raw_json = persons
            .iter()
            .map(|p| serde_json::to_vec(p).map(|v| v.len() as u64).unwrap_or(0))
            .sum::<u64>()
            + store
                .referrals()
                .map_err(e)?
                .iter()
                .map(|r| serde_json::to_vec(r).map(|v| v.len() as u64).unwrap_or(0))
                .sum::<u64>();
        let step = (persons.len() / args.lookups.max(1)).max(1);
        sample = persons.into_iter().step_by(step).collect();
        let (apparent, _) = dir_size(&dir);
        println!(
            "reused store: raw JSON {:.1} MiB, on disk {:.1} MiB = {:.2}×",
            mib(raw_json),
            mib(apparent),
            apparent as f64 / raw_json as f64
        );
    }
    let mut by_id = Latencies(Vec::new());
    let mut by_dui = Latencies(Vec::new());
    let mut by_name = Latencies(Vec::new());
    let mut by_district = Latencies(Vec::new());
    let mut found_district = 0usize;
    let mut found_name = 0usize;
    for p in &sample {
        let t = Instant::now();
        let got = store.person(p.id).map_err(e)?;
        by_id.0.push(t.elapsed());
        if got.as_ref() != Some(p) {
            return Err(format!("person {} did not read back", p.id));
        }
        if let Some(dui) = &p.dui {
            let t = Instant::now();
            let hits = store.persons_by_dui(dui).map_err(e)?;
            by_dui.0.push(t.elapsed());
            if hits.len() != 1 {
                return Err(format!("DUI lookup found {}", hits.len()));
            }
        }
        if by_name.0.len() < 100 {
            // One word: "Cruz" of "de la Cruz".
            let word = p.first_surname.rsplit(' ').next().unwrap_or_default();
            let t = Instant::now();
            found_name += store.persons_by_name_word(word).map_err(e)?.len();
            by_name.0.push(t.elapsed());
        }
        if by_district.0.len() < 200 {
            let t = Instant::now();
            found_district += store
                .persons_by_destination_district(&p.destination_district)
                .map_err(e)?
                .len();
            by_district.0.push(t.elapsed());
        }
    }
    by_id.print("get person by id (cold cache)");
    by_dui.print("persons by DUI (keyed hash)");
    by_district.print(&format!(
        "persons by district (~{} each)",
        found_district / by_district.0.len().max(1)
    ));
    by_name.print(&format!(
        "persons by surname word (~{} each)",
        found_name / by_name.0.len().max(1)
    ));
    let t = Instant::now();
    let proposed = store
        .referrals_by_status(ReferralStatus::Proposed)
        .map_err(e)?
        .len();
    println!(
        "referrals by status (proposed: {proposed})     {:>8.1} ms",
        ms(t.elapsed())
    );
    let t = Instant::now();
    let recent = store.recent(50).map_err(e)?.len();
    println!(
        "recent changes (50 loaded: {recent})          {:>8.3} ms",
        ms(t.elapsed())
    );

    // The server acknowledges everything: the outbox is compacted away.
    let t = Instant::now();
    let pending = store.outbox_len();
    let last = store
        .outbox(usize::MAX)
        .map_err(e)?
        .pop()
        .map(|o| o.op.op_id);
    if let Some(last) = last {
        store.ack_through(last).map_err(e)?;
    }
    println!(
        "ack {pending} outbox ops: {:.1} s",
        t.elapsed().as_secs_f64()
    );
    // sled reclaims dead space lazily; a backup restored into a fresh directory is compact.
    let t = Instant::now();
    let copy_dir = tmp.path().join("compacted");
    let backup = tmp.path().join("store.rbk");
    let info = store.backup(&backup).map_err(e)?;
    let backed_up = t.elapsed();
    let restored = reintegra_store::restore(
        &backup,
        &copy_dir,
        LOGIN,
        PASS,
        DeviceId::new(Uuid::from_u128(0xc0b1)),
    )
    .map_err(e)?;
    drop(restored);
    println!(
        "backup {:.1} MiB in {:.1} s, restore into a fresh dir {:.1} s",
        mib(info.bytes),
        backed_up.as_secs_f64(),
        (t.elapsed() - backed_up).as_secs_f64()
    );
    let (apparent, _) = dir_size(&copy_dir);
    println!(
        "on disk, compacted copy:  {:.1} MiB = {:.2}× raw JSON",
        mib(apparent),
        apparent as f64 / raw_json as f64
    );
    drop(store);
    let (apparent, allocated) = dir_size(&dir);
    println!(
        "on disk, outbox acked:    {:.1} MiB apparent, {:.1} MiB allocated = {:.2}× / {:.2}× raw JSON",
        mib(apparent),
        mib(allocated),
        apparent as f64 / raw_json as f64,
        allocated as f64 / raw_json as f64
    );
    Ok(())
}

#[allow(clippy::too_many_arguments)]
fn fill(
    args: &Args,
    dir: &Path,
    kdf: KdfParams,
    rng: &mut StdRng,
    districts: &[String],
    raw_json: &mut u64,
    sample: &mut Vec<Person>,
) -> Result<(), String> {
    let e = |e: reintegra_store::Error| e.to_string();
    let t = Instant::now();
    let store = LockedStore::create(
        dir,
        NewStore {
            device: DeviceId::new(Uuid::from_u128(0xbe7c4)),
            login: LOGIN,
            user_id: UserId::new(Uuid::from_u128(1)),
            passphrase: PASS,
            kdf,
        },
    )
    .map_err(e)?;
    println!(
        "create (incl. Argon2id)                 {:>8.1} ms",
        ms(t.elapsed())
    );

    let mut person_saves = Latencies(Vec::with_capacity(args.persons));
    let mut referral_saves = Latencies(Vec::new());
    let user = store.user();
    let started = Instant::now();
    for n in 0..args.persons as u64 {
        let p = synthetic_person(rng, n, districts);
        *raw_json += serde_json::to_vec(&p).map_err(|e| e.to_string())?.len() as u64;
        let t = Instant::now();
        store.save_person(&p).map_err(e)?;
        person_saves.0.push(t.elapsed());
        if n % 4 == 0 {
            let mut r = Referral::propose(
                ReferralId::new(uuid7(rng, n)),
                p.id,
                ServiceType::Vocational,
                p.created_at,
                user,
            );
            r.reason = "Interés en curso de soldadura del INSAFORP.".into();
            if n % 8 == 0 {
                r.provider = Some(reintegra_core::ids::ProviderId::new(Uuid::from_u128(5)));
                let _ = r.send(&p.consents, p.created_at, user, None);
            }
            *raw_json += serde_json::to_vec(&r).map_err(|e| e.to_string())?.len() as u64;
            let t = Instant::now();
            store.save_referral(&r).map_err(e)?;
            referral_saves.0.push(t.elapsed());
        }
        if n % (args.persons as u64 / args.lookups.max(1) as u64).max(1) == 0 {
            sample.push(p);
        }
        if n > 0 && n % 20_000 == 0 {
            println!(
                "  … {n} persons saved ({:.0} s)",
                started.elapsed().as_secs_f64()
            );
        }
    }
    let total = started.elapsed();
    let saves = person_saves.0.len() + referral_saves.0.len();
    println!(
        "saved {saves} records in {:.1} s ({:.0} durable saves/s)",
        total.as_secs_f64(),
        saves as f64 / total.as_secs_f64()
    );
    person_saves.print("durable save, person (~1 KB)");
    referral_saves.print("durable save, referral");
    let mut all = Latencies(
        person_saves
            .0
            .iter()
            .chain(referral_saves.0.iter())
            .copied()
            .collect(),
    );
    all.print("durable save, all");

    let avg = *raw_json / (saves as u64).max(1);
    println!(
        "raw JSON of the records: {:.1} MiB ({} B per record on average)",
        mib(*raw_json),
        avg
    );
    drop(store);
    let (apparent, allocated) = dir_size(dir);
    println!(
        "on disk, outbox pending:  {:.1} MiB apparent, {:.1} MiB allocated = {:.2}× / {:.2}× raw JSON",
        mib(apparent),
        mib(allocated),
        apparent as f64 / *raw_json as f64,
        allocated as f64 / *raw_json as f64
    );

    Ok(())
}
