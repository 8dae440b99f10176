//! `reintegra-bench today`: the "Hoy" worklist through `reintegra-api` on an encrypted store
//! holding `--persons` persons, `--referrals` referrals and `--follow-ups` follow-ups spread
//! over `--caseworkers` caseworkers (the signed-in user is one of them). Times building the
//! worklist (its follow-ups due or overdue, its referrals waiting for an answer).

use std::path::PathBuf;
use std::time::Instant;

use chrono::{Duration, Utc};
use rand::rngs::StdRng;
use rand::{Rng, SeedableRng};
use reintegra_api::{KdfParams, Session, DEFAULT_WAITING_DAYS};
use reintegra_core::follow_up::{FollowUp, FollowUpChannel};
use reintegra_core::ids::{FollowUpId, ProviderId, ReferralId, UserId};
use reintegra_core::referral::{Referral, ReferralStatus, ServiceType};
use reintegra_core::territory::Territory;
use reintegra_core::user::Role;
use uuid::Uuid;

use crate::intake::{new_store, synthetic};
use crate::latency::Latencies;

#[derive(clap::Args)]
pub struct Args {
    #[arg(long, default_value_t = 100_000)]
    persons: usize,
    #[arg(long, default_value_t = 300_000)]
    referrals: usize,
    #[arg(long, default_value_t = 300_000)]
    follow_ups: usize,
    /// Caseworkers the referrals and follow-ups are spread over (one is the signed-in user).
    #[arg(long, default_value_t = 20)]
    caseworkers: usize,
    /// Timed worklist builds.
    #[arg(long, default_value_t = 100)]
    runs: usize,
    /// Where to put the store (default: a temporary directory, removed at the end).
    #[arg(long)]
    dir: Option<PathBuf>,
    #[arg(long, default_value_t = 7)]
    seed: u64,
}

/// Where a referral stands after some months of work: most are answered or closed.
fn status(rng: &mut StdRng) -> &'static [ReferralStatus] {
    use ReferralStatus::*;
    const PATHS: [&[ReferralStatus]; 6] = [
        &[Sent, Accepted, InProgress, Completed],
        &[Sent, Accepted, InProgress],
        &[Sent, Accepted],
        &[Sent, Declined],
        &[Cancelled],
        &[Sent],
    ];
    PATHS[rng.gen_range(0..PATHS.len())]
}

pub fn run(args: Args) -> Result<(), String> {
    let tmp = tempfile::tempdir().map_err(|e| e.to_string())?;
    let dir = args.dir.clone().unwrap_or_else(|| tmp.path().join("store"));
    let districts: Vec<String> = Territory::el_salvador()
        .places()
        .map(|p| p.district_code.clone())
        .collect();
    let mut rng = StdRng::seed_from_u64(args.seed);
    let now = Utc::now();
    let (login, pass) = ("Ana Morales", "clave-segura-bench");
    let me = UserId::new(Uuid::now_v7());
    let caseworkers: Vec<UserId> = std::iter::once(me)
        .chain((1..args.caseworkers.max(1)).map(|_| UserId::new(Uuid::now_v7())))
        .collect();
    let provider = ProviderId::new(Uuid::now_v7());

    let t = Instant::now();
    {
        let store = new_store(&dir, login, pass, me, Role::Caseworker)?;
        let mut persons = Vec::with_capacity(args.persons);
        for _ in 0..args.persons {
            let p = synthetic(&mut rng, &districts, me);
            store.save_person(&p).map_err(|e| e.to_string())?;
            persons.push(p.id);
        }
        let person = |rng: &mut StdRng| persons[rng.gen_range(0..persons.len())];
        let worker = |rng: &mut StdRng| caseworkers[rng.gen_range(0..caseworkers.len())];
        for _ in 0..args.referrals {
            let by = worker(&mut rng);
            let start = now - Duration::days(rng.gen_range(1..240));
            let mut r = Referral::propose(
                ReferralId::new(Uuid::now_v7()),
                person(&mut rng),
                ServiceType::ALL[rng.gen_range(0..ServiceType::ALL.len())],
                start,
                by,
            );
            r.provider = Some(provider);
            r.reason = "Referencia de prueba".into();
            for (i, step) in status(&mut rng).iter().enumerate() {
                let at = start + Duration::days(i64::try_from(i).unwrap_or(0));
                r.transition(*step, at, by).map_err(|e| e.to_string())?;
            }
            store.save_referral(&r).map_err(|e| e.to_string())?;
        }
        let today = reintegra_api::today_in_el_salvador(now);
        for _ in 0..args.follow_ups {
            let due = today + Duration::days(rng.gen_range(-180..60));
            let mut f = FollowUp::new(
                FollowUpId::new(Uuid::now_v7()),
                person(&mut rng),
                due,
                FollowUpChannel::Phone,
            );
            f.assigned_to = Some(worker(&mut rng));
            // Past ones are mostly done; a few are forgotten (overdue).
            if due < today && rng.gen_bool(0.9) {
                f.complete(due, "Hecho");
            }
            store.save_follow_up(&f).map_err(|e| e.to_string())?;
        }
    }
    println!(
        "filled {} persons, {} referrals, {} follow-ups ({} caseworkers) in {:.1} s",
        args.persons,
        args.referrals,
        args.follow_ups,
        caseworkers.len(),
        t.elapsed().as_secs_f64()
    );

    let t = Instant::now();
    let session = Session::open(&dir, KdfParams::RECOMMENDED).map_err(|e| e.to_string())?;
    session
        .unlock(login, pass, now)
        .map_err(|e| e.to_string())?;
    println!(
        "open + unlock (incl. first-unlock index upgrade) : {:.2} s",
        t.elapsed().as_secs_f64()
    );

    let mut builds = Latencies(Vec::with_capacity(args.runs));
    let mut last = None;
    for _ in 0..args.runs {
        let t = Instant::now();
        let today = session
            .today(DEFAULT_WAITING_DAYS, now)
            .map_err(|e| e.to_string())?;
        builds.0.push(t.elapsed());
        last = Some(today);
    }
    if let Some(today) = last {
        println!(
            "worklist of one caseworker: {} follow-ups due or overdue, {} referrals waiting",
            today.follow_ups.len(),
            today.waiting_referrals.len()
        );
    }
    builds.print("\"Hoy\" worklist build (target p99 <= 100 ms)");
    Ok(())
}
