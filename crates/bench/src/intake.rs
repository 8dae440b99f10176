//! `reintegra-bench intake`: reception intake and the caseload through `reintegra-api` on an
//! encrypted store already holding `--persons` persons. Times what happens between pressing Enter
//! on "Nuevo ingreso" and the saved confirmation (validation, durable save of the person and of
//! its audit entry, in-memory caseload + duplicate index update), the returning-person check
//! run while typing, and caseload searches (name without accents, DUI, municipality filter).
//! Not included: the IPC hop and the UI render (a few ms on this machine).

use std::path::PathBuf;
use std::time::Instant;

use chrono::{NaiveDate, TimeZone, Utc};
use rand::rngs::StdRng;
use rand::{Rng, SeedableRng};
use reintegra_api::{ArrivalInput, CaseQuery, KdfParams, ReturnInput, Session, SuggestionQuery};
use reintegra_core::consent::{Consent, ConsentPurpose};
use reintegra_core::dui::Dui;
use reintegra_core::ids::{ConsentId, DeviceId, PersonId, ReturnEventId, UserId};
use reintegra_core::person::{BirthDate, Person, Sex};
use reintegra_core::return_event::{ReceptionCenter, ReturnEvent, ReturnModality, TravelCompanion};
use reintegra_core::territory::Territory;
use reintegra_core::text::fold;
use reintegra_core::user::{Role, User};
use reintegra_core::vulnerability::Vulnerability;
use reintegra_dedup_eval::names::Names;
use reintegra_store::{LockedStore, NewStore, Store};
use uuid::Uuid;

use crate::latency::Latencies;

#[derive(clap::Args)]
pub struct Args {
    /// Persons already stored before the timed saves.
    #[arg(long, default_value_t = 100_000)]
    persons: usize,
    /// Timed intake saves.
    #[arg(long, default_value_t = 200)]
    saves: usize,
    /// Timed searches of each kind.
    #[arg(long, default_value_t = 200)]
    searches: usize,
    /// Where to put the store (default: a temporary directory, removed at the end).
    #[arg(long)]
    dir: Option<PathBuf>,
    #[arg(long, default_value_t = 11)]
    seed: u64,
}

fn dui(rng: &mut StdRng) -> Dui {
    let body = format!("{:08}", rng.gen_range(0..100_000_000u32));
    Dui::from_body(&body).unwrap_or_else(|| unreachable!("eight digits"))
}

/// A synthetic returnee: Salvadoran names by frequency (shared with the dedup benchmark, so
/// namesakes abound), a DUI for most, one return event, the registration consent.
pub(crate) fn synthetic(rng: &mut StdRng, districts: &[String], user: UserId) -> Person {
    let now = Utc
        .with_ymd_and_hms(2026, 1, 1, 12, 0, 0)
        .single()
        .unwrap_or_default();
    let names = Names::salvadoran();
    let female = rng.gen_bool(0.5);
    let mut p = Person::new(
        PersonId::new(Uuid::now_v7()),
        names.given(rng, female),
        names.surname(rng),
        now,
    );
    p.second_surname = names.surname(rng).into();
    p.sex = Some(if female { Sex::Female } else { Sex::Male });
    p.birth_date = NaiveDate::from_ymd_opt(
        rng.gen_range(1960..2010),
        rng.gen_range(1..13),
        rng.gen_range(1..29),
    )
    .map(|date| BirthDate::Exact { date });
    if rng.gen_bool(0.7) {
        p.dui = Some(dui(rng));
    }
    p.phone = format!(
        "7{:03}-{:04}",
        rng.gen_range(0..1000),
        rng.gen_range(0..10000)
    );
    p.destination_district = districts[rng.gen_range(0..districts.len())].clone();
    let day = NaiveDate::from_ymd_opt(2025, 1, 1).unwrap_or_default()
        + chrono::Days::new(rng.gen_range(0..360));
    p.return_events.push(ReturnEvent {
        id: ReturnEventId::new(Uuid::now_v7()),
        date: day,
        modality: ReturnModality::Air,
        country_from: "US".into(),
        reception_center: ReceptionCenter::Gami,
        custody_days: None,
        travelled: TravelCompanion::Alone,
        assistance: vec![],
        assistance_notes: String::new(),
    });
    if rng.gen_bool(0.1) {
        p.add_vulnerability(Vulnerability::ALL[rng.gen_range(0..Vulnerability::ALL.len())]);
    }
    p.consents.push(Consent::new(
        ConsentId::new(Uuid::now_v7()),
        ConsentPurpose::Registration,
        day,
        user,
    ));
    p
}

/// A new encrypted store (recommended Argon2id) whose one user is `user_id`, named `login`.
pub(crate) fn new_store(
    dir: &std::path::Path,
    login: &str,
    passphrase: &str,
    user_id: UserId,
    role: Role,
) -> Result<Store, String> {
    let store = LockedStore::create(
        dir,
        NewStore {
            device: DeviceId::new(Uuid::now_v7()),
            login,
            user_id,
            passphrase,
            kdf: KdfParams::RECOMMENDED,
        },
    )
    .map_err(|e| e.to_string())?;
    store
        .save_user(&User {
            id: user_id,
            name: login.into(),
            login: login.into(),
            role,
            office_municipality: None,
            active: true,
            also_supervisor: false,
        })
        .map_err(|e| e.to_string())?;
    Ok(store)
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

    // Fill: the persons a reception center has after years of work (store API, durable saves).
    let t = Instant::now();
    let user_id = UserId::new(Uuid::now_v7());
    {
        let store = new_store(&dir, login, pass, user_id, Role::Admin)?;
        for _ in 0..args.persons {
            store
                .save_person(&synthetic(&mut rng, &districts, user_id))
                .map_err(|e| e.to_string())?;
        }
    }
    println!(
        "filled {} persons in {:.1} s",
        args.persons,
        t.elapsed().as_secs_f64()
    );

    let t = Instant::now();
    let session = Session::open(&dir, KdfParams::RECOMMENDED).map_err(|e| e.to_string())?;
    session
        .unlock(login, pass, now)
        .map_err(|e| e.to_string())?;
    println!(
        "open + unlock (Argon2id, recommended) + caseload/duplicate index of {} persons: {:.2} s",
        args.persons,
        t.elapsed().as_secs_f64()
    );

    // Timed saves: what Enter on the intake form runs.
    let today = reintegra_api::today_in_el_salvador(now);
    let mut saves = Latencies(Vec::with_capacity(args.saves));
    let mut suggest = Latencies(Vec::with_capacity(args.saves));
    let mut saved_names = Vec::new();
    for _ in 0..args.saves {
        let p = synthetic(&mut rng, &districts, user_id);
        let query = SuggestionQuery {
            given_names: p.given_names.clone(),
            first_surname: p.first_surname.clone(),
            second_surname: p.second_surname.clone(),
            sex: p.sex,
            birth_date: p.birth_date,
            dui: p
                .dui
                .as_ref()
                .map(|d| d.as_str().to_string())
                .unwrap_or_default(),
        };
        let t = Instant::now();
        session
            .returning_suggestions(&query, today)
            .map_err(|e| e.to_string())?;
        suggest.0.push(t.elapsed());
        let input = ArrivalInput {
            beneficiary_type: p.beneficiary_type,
            first_contact: p.first_contact,
            given_names: p.given_names.clone(),
            first_surname: p.first_surname.clone(),
            second_surname: p.second_surname.clone(),
            sex: p.sex,
            birth_date: p.birth_date,
            dui: query.dui.clone(),
            other_document: None,
            phone: p.phone.clone(),
            origin_district: String::new(),
            destination_district: p.destination_district.clone(),
            education: None,
            occupation: String::new(),
            return_event: Some(ReturnInput {
                date: today,
                modality: ReturnModality::Air,
                country_from: "US".into(),
                reception_center: ReceptionCenter::Gami,
                custody_days: None,
                travelled: TravelCompanion::Alone,
                assistance: vec![],
                assistance_notes: String::new(),
            }),
            vulnerabilities: vec![],
            consent_registration: true,
            consent_referral_sharing: false,
            family_of: None,
            caseworker: None,
        };
        let t = Instant::now();
        let saved = session
            .register_arrival(&input, now)
            .map_err(|e| e.to_string())?;
        saves.0.push(t.elapsed());
        // What a caseworker types to find them: first given name + first surname.
        let given = saved
            .person
            .given_names
            .split(' ')
            .next()
            .unwrap_or_default();
        let typed = format!("{given} {}", saved.person.first_surname);
        saved_names.push((typed, query.dui));
    }
    saves.print(&format!(
        "intake save (Enter → saved), {} saves",
        args.saves
    ));
    suggest.print("returning-person check (name + birth date + DUI)");

    let mut by_name = Latencies(Vec::new());
    let mut by_dui = Latencies(Vec::new());
    let mut by_muni = Latencies(Vec::new());
    let munis: Vec<String> = Territory::el_salvador()
        .places()
        .map(|p| p.municipality_code.clone())
        .collect();
    for i in 0..args.searches {
        let (name, dui) = &saved_names[i % saved_names.len()];
        // Typed without accents.
        let text = fold(name);
        let t = Instant::now();
        let page = session
            .caseload(
                &CaseQuery {
                    text,
                    ..Default::default()
                },
                today,
            )
            .map_err(|e| e.to_string())?;
        by_name.0.push(t.elapsed());
        if page.total == 0 {
            return Err(format!("name search found nothing for {name}"));
        }
        if !dui.is_empty() {
            let t = Instant::now();
            session
                .caseload(
                    &CaseQuery {
                        text: dui.replace('-', ""),
                        ..Default::default()
                    },
                    today,
                )
                .map_err(|e| e.to_string())?;
            by_dui.0.push(t.elapsed());
        }
        let t = Instant::now();
        session
            .caseload(
                &CaseQuery {
                    municipality: Some(munis[i % munis.len()].clone()),
                    ..Default::default()
                },
                today,
            )
            .map_err(|e| e.to_string())?;
        by_muni.0.push(t.elapsed());
    }
    by_name.print(&format!(
        "caseload search by name (no accents), {} persons",
        args.persons + args.saves
    ));
    by_dui.print("caseload search by DUI");
    by_muni.print("caseload filter by municipality (first 200 rows, sorted)");
    Ok(())
}
