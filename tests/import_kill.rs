//! kill -9 of `reintegra import` at moments spread over its run (reading and checking the file,
//! then writing the batch): every time, the store holds all of the import or none of it, and a
//! last run to the end holds all of it, once.
#![allow(clippy::unwrap_used)]

use std::process::Command;
use std::time::{Duration, Instant};

use chrono::Utc;
use reintegra_api::{CaseQuery, KdfParams, Session};

const ROWS: usize = 3000;
const PASS: &str = "clave-segura-de-prueba";

fn import_command(data: &std::path::Path, csv: &std::path::Path, dry_run: bool) -> Command {
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_reintegra"));
    cmd.args(["import", "--user", "Central", "--data"])
        .arg(data)
        .arg(csv)
        .env("REINTEGRA_PASSPHRASE", PASS)
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::null());
    if dry_run {
        cmd.arg("--dry-run");
    }
    cmd
}

/// Persons in the store, once every case has been read.
fn persons(data: &std::path::Path) -> u32 {
    let s = Session::open(data, KdfParams::INSECURE_FAST).unwrap();
    s.unlock("Central", PASS, Utc::now()).unwrap();
    let today = reintegra_api::today_in_el_salvador(Utc::now());
    loop {
        let page = s.caseload(&CaseQuery::default(), today).unwrap();
        if page.still_reading.is_none() {
            return page.total;
        }
        std::thread::sleep(Duration::from_millis(20));
    }
}

#[test]
fn killing_an_import_midway_leaves_all_of_it_or_none() {
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path().join("store");
    {
        let s = Session::open(&data, KdfParams::INSECURE_FAST).unwrap();
        s.create_first_admin("Central", PASS, Utc::now()).unwrap();
        s.lock(Utc::now());
    }
    let mut csv = String::from(
        "Nombres;Primer apellido;Sexo;Distrito;Fecha de retorno;País;Consentimiento\n",
    );
    for n in 0..ROWS {
        csv.push_str(&format!(
            "Persona {n};Apellido{};{};Jiquilisco;{:02}/0{}/2025;USA;Sí\n",
            n % 97,
            if n % 2 == 0 { "F" } else { "M" },
            1 + n % 28,
            1 + n % 9
        ));
    }
    let file = dir.path().join("planilla.csv");
    std::fs::write(&file, csv).unwrap();

    // How long reading and checking take (a dry run writes nothing).
    let t = Instant::now();
    assert!(import_command(&data, &file, true)
        .status()
        .unwrap()
        .success());
    let plan = t.elapsed();
    assert_eq!(persons(&data), 0);

    // How long a whole import takes, measured on a copy of the store.
    let copy = dir.path().join("copy");
    copy_dir(&data, &copy);
    let t = Instant::now();
    assert!(import_command(&copy, &file, false)
        .status()
        .unwrap()
        .success());
    let whole = t.elapsed();
    assert_eq!(persons(&copy), ROWS as u32);

    // Kills spread from the middle of the checking to the end of the writing.
    let mut outcomes = Vec::new();
    for k in 0..=10u32 {
        let at = plan / 2 + (whole.saturating_sub(plan / 2)) * k / 10;
        let mut child = import_command(&data, &file, false).spawn().unwrap();
        std::thread::sleep(at);
        let finished = child.try_wait().unwrap().is_some();
        let _ = child.kill(); // SIGKILL
        let _ = child.wait();
        let n = persons(&data);
        assert!(
            n == 0 || n == ROWS as u32,
            "killed after {at:?}: {n} persons — half an import"
        );
        outcomes.push((at.as_millis(), finished, n));
        if n > 0 {
            break;
        }
    }
    // To the end: all of it, once (the same file again adds nothing).
    assert!(import_command(&data, &file, false)
        .status()
        .unwrap()
        .success());
    assert_eq!(persons(&data), ROWS as u32, "after {outcomes:?}");
    assert!(import_command(&data, &file, false)
        .status()
        .unwrap()
        .success());
    assert_eq!(persons(&data), ROWS as u32, "imported twice");
    eprintln!(
        "checking {plan:?}, whole import {whole:?}; kills (ms after start, had finished, persons after): {outcomes:?}"
    );
}

fn copy_dir(from: &std::path::Path, to: &std::path::Path) {
    std::fs::create_dir_all(to).unwrap();
    for entry in std::fs::read_dir(from).unwrap() {
        let entry = entry.unwrap();
        let target = to.join(entry.file_name());
        if entry.file_type().unwrap().is_dir() {
            copy_dir(&entry.path(), &target);
        } else {
            std::fs::copy(entry.path(), target).unwrap();
        }
    }
}
