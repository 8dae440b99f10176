//! `reintegra-bench import`: import throughput through `reintegra-api` — a `--rows`-row XLSX
//! (made here with the app's own XLSX writer) into an encrypted store that already holds
//! `--persons` persons, signed in as a central supervisor. A share of the rows (`--known`) are
//! persons already registered (same DUI: a return is added), some are refused (a bad DUI
//! check digit, an unknown district); the rest are new. Timed: the preview (read + validation +
//! duplicate check, writes nothing) and the import (the same plus the one-batch write).

use std::path::PathBuf;
use std::time::Instant;

use chrono::{Days, NaiveDate, Utc};
use rand::rngs::StdRng;
use rand::{Rng, SeedableRng};
use reintegra_api::{write_xlsx, Cell, ImportMapping, ImportSource, KdfParams, Session, Table};
use reintegra_core::ids::UserId;
use reintegra_core::person::{BirthDate, Sex};
use reintegra_core::territory::Territory;
use reintegra_core::user::Role;
use reintegra_store::Batch;
use uuid::Uuid;

use crate::intake::{new_store, synthetic};

#[derive(clap::Args)]
pub struct Args {
    /// Persons already in the store.
    #[arg(long, default_value_t = 10_000)]
    persons: usize,
    /// Rows of the spreadsheet.
    #[arg(long, default_value_t = 50_000)]
    rows: usize,
    /// Share of rows that are persons already registered.
    #[arg(long, default_value_t = 0.1)]
    known: f64,
    #[arg(long)]
    dir: Option<PathBuf>,
    #[arg(long, default_value_t = 11)]
    seed: u64,
}

const HEADERS: [&str; 9] = [
    "Nombres",
    "Primer apellido",
    "Segundo apellido",
    "Sexo",
    "Fecha de nacimiento",
    "DUI",
    "Distrito",
    "Fecha de retorno",
    "País",
];

pub fn run(args: Args) -> Result<(), String> {
    let e = |e: reintegra_store::Error| e.to_string();
    let a = |e: reintegra_api::ApiError| e.to_string();
    let tmp = tempfile::tempdir().map_err(|e| e.to_string())?;
    let dir = args.dir.clone().unwrap_or_else(|| tmp.path().join("store"));
    let places: Vec<_> = Territory::el_salvador().places().cloned().collect();
    let districts: Vec<String> = places.iter().map(|p| p.district_code.clone()).collect();
    let mut rng = StdRng::seed_from_u64(args.seed);
    let (login, pass) = ("Sara Supervisora", "clave-segura-bench");
    let me = UserId::new(Uuid::now_v7());
    let mut known = Vec::new();
    {
        let store = new_store(&dir, login, pass, me, Role::Supervisor)?;
        let mut batch = Batch::new();
        for n in 0..args.persons {
            let p = synthetic(&mut rng, &districts, me);
            if p.dui.is_some() {
                known.push(p.clone());
            }
            batch.put(&p).map_err(e)?;
            if n % 500 == 499 {
                store.commit(std::mem::take(&mut batch)).map_err(e)?;
            }
        }
        store.commit(batch).map_err(e)?;
    }

    // The spreadsheet: district and country by name, dates as dates (a tenth as text).
    let return_day = |rng: &mut StdRng| {
        NaiveDate::from_ymd_opt(2026, 1, 1).unwrap_or_default() + Days::new(rng.gen_range(0..200))
    };
    let mut rows = Vec::with_capacity(args.rows);
    let (mut expect_known, mut expect_bad) = (0, 0);
    for _ in 0..args.rows {
        let from_store = !known.is_empty() && rng.gen_bool(args.known);
        let p = if from_store {
            expect_known += 1;
            known[rng.gen_range(0..known.len())].clone()
        } else {
            synthetic(&mut rng, &districts, me)
        };
        let place = places
            .iter()
            .find(|pl| pl.district_code == p.destination_district)
            .map(|pl| format!("{}, {}", pl.district_name, pl.department_name))
            .unwrap_or_default();
        let mut dui = p
            .dui
            .as_ref()
            .map(|d| d.as_str().to_string())
            .unwrap_or_default();
        let mut district = place;
        if !from_store && rng.gen_bool(0.02) {
            expect_bad += 1;
            if rng.gen_bool(0.5) && dui.len() == 10 {
                let last = dui.pop().and_then(|c| c.to_digit(10)).unwrap_or(0);
                dui.push(char::from_digit((last + 1) % 10, 10).unwrap_or('0'));
            } else {
                district = "Ciudad Inventada".into();
            }
        }
        let born = match p.birth_date {
            Some(BirthDate::Exact { date }) => Cell::Date(date),
            _ => Cell::Empty,
        };
        let day = return_day(&mut rng);
        rows.push(vec![
            Cell::Text(p.given_names.clone()),
            Cell::Text(p.first_surname.clone()),
            Cell::Text(p.second_surname.clone()),
            Cell::Text(if p.sex == Some(Sex::Female) { "F" } else { "M" }.into()),
            born,
            if dui.is_empty() {
                Cell::Empty
            } else {
                Cell::Text(dui)
            },
            Cell::Text(district),
            if rng.gen_bool(0.1) {
                Cell::Text(day.format("%d/%m/%Y").to_string())
            } else {
                Cell::Date(day)
            },
            Cell::Text("Estados Unidos".into()),
        ]);
    }
    let table = Table {
        title: "Retornos".into(),
        headers: HEADERS.iter().map(|h| h.to_string()).collect(),
        rows,
    };
    let t = Instant::now();
    let bytes = write_xlsx(&[table]).map_err(a)?;
    println!(
        "made a {}-row XLSX ({:.1} MB; ~{expect_known} rows of persons already registered, ~{expect_bad} with an error) in {:.1} s",
        args.rows,
        bytes.len() as f64 / 1e6,
        t.elapsed().as_secs_f64()
    );
    let source = ImportSource {
        file_name: "planilla.xlsx".into(),
        bytes,
    };

    let now = Utc::now();
    let session = Session::open(&dir, KdfParams::RECOMMENDED).map_err(a)?;
    session.unlock(login, pass, now).map_err(a)?;
    // Wait for the cases to be read (unlock returns before).
    session
        .caseload(
            &Default::default(),
            reintegra_api::today_in_el_salvador(now),
        )
        .map_err(a)?;
    let mapping = ImportMapping::default();

    let t = Instant::now();
    let preview = session.import_preview(&source, &mapping, now).map_err(a)?;
    let preview_s = t.elapsed().as_secs_f64();
    println!(
        "preview (read, validate, duplicate check; writes nothing): {preview_s:.2} s = {:.0} rows/s — {} new, {} returns added, {} already there, {} refused",
        preview.rows_read as f64 / preview_s,
        preview.new_persons,
        preview.returns_added,
        preview.already_there,
        preview.refused
    );
    let t = Instant::now();
    let done = session.import_commit(&source, &mapping, now).map_err(a)?;
    let commit_s = t.elapsed().as_secs_f64();
    println!(
        "import (the same + one batch written and flushed): {commit_s:.2} s = {:.0} rows/s (target >= 5000 rows/s) — {} new, {} returns added, {} refused",
        done.rows_read as f64 / commit_s,
        done.new_persons,
        done.returns_added,
        done.refused
    );
    Ok(())
}
