//! `reintegra-bench supervision`: the supervisor's screens through `reintegra-api` on an
//! encrypted store of `--persons` persons (returns through 2025) and `--referrals` referrals
//! and `--follow-ups` follow-ups: the indicators of a quarter with two filters (sex and
//! department), the first page of the office-wide referral list, and the XLSX export of every
//! case. Signed in as a central supervisor (sees every office).

use std::path::PathBuf;
use std::time::Instant;

use chrono::{Duration, NaiveDate, Utc};
use rand::rngs::StdRng;
use rand::{Rng, SeedableRng};
use reintegra_api::{ExportFormat, ExportRequest, ExportWhat, KdfParams, ReferralQuery, Session};
use reintegra_core::follow_up::{FollowUp, FollowUpChannel};
use reintegra_core::ids::{FollowUpId, ProviderId, ReferralId, UserId};
use reintegra_core::indicators::{IndicatorFilter, Period};
use reintegra_core::person::Sex;
use reintegra_core::referral::{Referral, ReferralStatus, ReferralStep, ServiceType};
use reintegra_core::territory::Territory;
use reintegra_core::user::Role;
use reintegra_store::Batch;
use uuid::Uuid;

use crate::intake::{new_store, synthetic};
use crate::latency::Latencies;

#[derive(clap::Args)]
pub struct Args {
    #[arg(long, default_value_t = 100_000)]
    persons: usize,
    #[arg(long, default_value_t = 300_000)]
    referrals: usize,
    #[arg(long, default_value_t = 100_000)]
    follow_ups: usize,
    /// Timed indicator computations and list pages.
    #[arg(long, default_value_t = 30)]
    runs: usize,
    /// Timed XLSX exports of every case.
    #[arg(long, default_value_t = 3)]
    export_runs: usize,
    #[arg(long)]
    dir: Option<PathBuf>,
    #[arg(long, default_value_t = 7)]
    seed: u64,
}

const PATHS: [&[ReferralStatus]; 5] = {
    use ReferralStatus::*;
    [
        &[Sent, Accepted, InProgress, Completed],
        &[Sent, Accepted, InProgress],
        &[Sent, Declined],
        &[Cancelled],
        &[Sent],
    ]
};

pub fn run(args: Args) -> Result<(), String> {
    let e = |e: reintegra_store::Error| e.to_string();
    let a = |e: reintegra_api::ApiError| e.to_string();
    let tmp = tempfile::tempdir().map_err(|e| e.to_string())?;
    let dir = args.dir.clone().unwrap_or_else(|| tmp.path().join("store"));
    let districts: Vec<String> = Territory::el_salvador()
        .places()
        .map(|p| p.district_code.clone())
        .collect();
    let mut rng = StdRng::seed_from_u64(args.seed);
    let now = Utc::now();
    let (login, pass) = ("Sara Supervisora", "clave-segura-bench");
    let me = UserId::new(Uuid::now_v7());
    let provider = ProviderId::new(Uuid::now_v7());
    let t = Instant::now();
    {
        let store = new_store(&dir, login, pass, me, Role::Supervisor)?;
        let mut persons = Vec::with_capacity(args.persons);
        let mut returned = Vec::with_capacity(args.persons);
        let mut batch = Batch::new();
        for n in 0..args.persons {
            let p = synthetic(&mut rng, &districts, me);
            persons.push(p.id);
            returned.push(p.return_events[0].date);
            batch.put(&p).map_err(e)?;
            if n % 500 == 499 {
                store.commit(std::mem::take(&mut batch)).map_err(e)?;
            }
        }
        for n in 0..args.referrals {
            let i = rng.gen_range(0..persons.len());
            let start_day = returned[i] + Duration::days(rng.gen_range(0..60));
            let at = start_day
                .and_hms_opt(16, 0, 0)
                .map(|d| d.and_utc())
                .unwrap_or(now);
            let mut r = Referral::propose(
                ReferralId::new(Uuid::now_v7()),
                persons[i],
                ServiceType::ALL[rng.gen_range(0..ServiceType::ALL.len())],
                at,
                me,
            );
            r.provider = Some(provider);
            for (k, step) in PATHS[rng.gen_range(0..PATHS.len())].iter().enumerate() {
                let when = at + Duration::days(7 * i64::try_from(k).unwrap_or(0));
                // Written as stored history: the consent gate of `send` is not what is timed.
                r.history.push(ReferralStep {
                    status: *step,
                    at: when,
                    by: me,
                    note: None,
                });
            }
            batch.put(&r).map_err(e)?;
            if n % 500 == 499 {
                store.commit(std::mem::take(&mut batch)).map_err(e)?;
            }
        }
        for n in 0..args.follow_ups {
            let i = rng.gen_range(0..persons.len());
            let due = returned[i] + Duration::days(rng.gen_range(7..120));
            let mut f = FollowUp::new(
                FollowUpId::new(Uuid::now_v7()),
                persons[i],
                due,
                FollowUpChannel::Phone,
            );
            f.assigned_to = Some(me);
            if rng.gen_bool(0.85) {
                f.complete(due, "Hecho");
            }
            batch.put(&f).map_err(e)?;
            if n % 500 == 499 {
                store.commit(std::mem::take(&mut batch)).map_err(e)?;
            }
        }
        store.commit(batch).map_err(e)?;
    }
    println!(
        "filled {} persons, {} referrals, {} follow-ups in {:.1} s",
        args.persons,
        args.referrals,
        args.follow_ups,
        t.elapsed().as_secs_f64()
    );

    let t = Instant::now();
    let session = Session::open(&dir, KdfParams::RECOMMENDED).map_err(a)?;
    session.unlock(login, pass, now).map_err(a)?;
    println!("open + unlock: {:.2} s", t.elapsed().as_secs_f64());

    let mut filter = IndicatorFilter::period(Period::Quarter {
        year: 2025,
        quarter: 3,
    });
    filter.sex = Some(Sex::Female);
    filter.department = Some("SV-SS".into());
    // Unlock reads the cases, then the referrals and follow-ups, behind the screen: the first
    // report waits for that read; the timed ones below are what a supervisor gets after it.
    let t = Instant::now();
    session.indicators(&filter, now).map_err(a)?;
    println!(
        "first indicators right after unlock (waits for the read of cases, referrals, follow-ups): {:.2} s",
        t.elapsed().as_secs_f64()
    );
    let mut ind = Latencies(Vec::with_capacity(args.runs));
    let mut shown = None;
    for _ in 0..args.runs {
        let t = Instant::now();
        let i = session.indicators(&filter, now).map_err(a)?;
        ind.0.push(t.elapsed());
        shown = Some(i);
    }
    if let Some(i) = shown {
        println!(
            "2025-Q3, women, San Salvador: {} assisted, {} referrals, {} completed, median {:?} days to a referral",
            i.assisted_people, i.referrals, i.completed_services, i.median_days_to_first_referral
        );
    }
    ind.print("indicators, a quarter, two filters (target p99 <= 200 ms)");
    let mut unfiltered = Latencies(Vec::new());
    let all = IndicatorFilter::period(Period::Year { year: 2025 });
    for _ in 0..args.runs.min(10) {
        let t = Instant::now();
        session.indicators(&all, now).map_err(a)?;
        unfiltered.0.push(t.elapsed());
    }
    unfiltered.print("indicators, a year, no filter");

    let mut page = Latencies(Vec::with_capacity(args.runs));
    for _ in 0..args.runs {
        let t = Instant::now();
        let p = session
            .office_referrals(
                &ReferralQuery {
                    open_only: true,
                    limit: 50,
                    ..Default::default()
                },
                now,
            )
            .map_err(a)?;
        page.0.push(t.elapsed());
        if p.rows.len() != 50 {
            return Err(format!("first page has {} rows", p.rows.len()));
        }
    }
    page.print("office referral list, first page of 50 (target <= 50 ms)");

    let request = ExportRequest {
        what: ExportWhat::Cases {
            filter: IndicatorFilter::period(Period::Custom {
                from: NaiveDate::from_ymd_opt(2000, 1, 1).unwrap_or_default(),
                to: NaiveDate::from_ymd_opt(2030, 12, 31).unwrap_or_default(),
            }),
        },
        format: ExportFormat::Xlsx,
        deidentified: false,
    };
    let mut export = Latencies(Vec::new());
    let mut size = 0;
    for _ in 0..args.export_runs {
        let t = Instant::now();
        let file = session.export(&request, now).map_err(a)?;
        export.0.push(t.elapsed());
        if file.rows as usize != args.persons {
            return Err(format!("exported {} of {} cases", file.rows, args.persons));
        }
        size = file.bytes.len();
    }
    export.print("XLSX export of every case (target <= 10 s)");
    println!("XLSX size: {:.1} MB", size as f64 / 1e6);
    Ok(())
}
