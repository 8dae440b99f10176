//! Damaged store files give a clear error, never a panic, and nothing else in the directory is
//! touched. A store of a newer schema is refused.
#![allow(clippy::unwrap_used)] // tests may unwrap

mod common;

use std::path::Path;

use common::*;
use reintegra_store::{Error, LockedStore, SCHEMA_VERSION};

type Damage = Box<dyn Fn(&Path)>;

/// Opens, unlocks and reads everything; returns the first error.
fn open_and_read_all(dir: &Path) -> Result<usize, Error> {
    let store = LockedStore::open(dir)?.unlock(LOGIN, PASS)?;
    let persons = store.persons()?;
    store.outbox(usize::MAX)?;
    store.recent_changes(usize::MAX)?;
    Ok(persons.len())
}

fn make_store(dir: &Path) {
    let store = create(dir);
    for n in 0..200u128 {
        let mut p = person(n, &format!("Persona{n}"), "Apellido");
        p.household_notes = "nota ".repeat(n as usize % 30);
        store.save_person(&p).unwrap();
    }
}

#[test]
fn corrupted_or_truncated_store_files_are_errors_not_panics() {
    let tmp = tempfile::tempdir().unwrap();
    let pristine = tmp.path().join("pristine");
    make_store(&pristine);
    assert_eq!(open_and_read_all(&pristine).unwrap(), 200);
    let db_len = std::fs::metadata(pristine.join("db")).unwrap().len() as usize;

    let neighbour = tmp.path().join("cases").join("otro-archivo.txt");
    let mut outcomes = Vec::new();
    let mut variants: Vec<(String, Damage)> = Vec::new();
    for cut in [0usize, 7, 100, db_len / 3, db_len / 2, db_len - 100] {
        variants.push((
            format!("db truncated to {cut}"),
            Box::new(move |d: &Path| {
                let f = std::fs::OpenOptions::new()
                    .write(true)
                    .open(d.join("db"))
                    .unwrap();
                f.set_len(cut as u64).unwrap();
            }),
        ));
    }
    for at in [
        10usize,
        500,
        4000,
        db_len / 4,
        db_len / 2,
        db_len - 600,
        db_len - 50,
    ] {
        variants.push((
            format!("db byte {at} flipped"),
            Box::new(move |d: &Path| {
                let mut b = std::fs::read(d.join("db")).unwrap();
                if at < b.len() {
                    for x in &mut b[at..(at + 16).min(db_len)] {
                        *x ^= 0x5a;
                    }
                }
                std::fs::write(d.join("db"), b).unwrap();
            }),
        ));
    }
    variants.push((
        "conf garbage".into(),
        Box::new(|d: &Path| std::fs::write(d.join("conf"), b"\x00\x01garbage").unwrap()),
    ));
    variants.push((
        "conf removed".into(),
        Box::new(|d: &Path| std::fs::remove_file(d.join("conf")).unwrap()),
    ));

    for (i, (what, damage)) in variants.iter().enumerate() {
        let case = tmp.path().join("cases").join(format!("c{i}"));
        std::fs::create_dir_all(&case).unwrap();
        for f in files_under(&pristine) {
            let rel = f.strip_prefix(&pristine).unwrap();
            std::fs::create_dir_all(case.join(rel).parent().unwrap()).unwrap();
            std::fs::copy(&f, case.join(rel)).unwrap();
        }
        std::fs::write(&neighbour, "no me toques").unwrap();
        damage(&case);
        // Never a panic (a panic fails the test); either an error or, when sled's recovery
        // drops a torn tail, a consistent prefix of the data.
        let outcome = std::panic::catch_unwind(|| open_and_read_all(&case));
        let outcome = match outcome {
            Ok(r) => r,
            Err(_) => panic!("{what}: the store panicked"),
        };
        if let Ok(n) = &outcome {
            assert!(*n <= 200, "{what}");
        }
        outcomes.push(format!(
            "{what}: {}",
            match &outcome {
                Ok(n) => format!("recovered {n} persons"),
                Err(e) => format!("error: {e}"),
            }
        ));
        assert_eq!(
            std::fs::read_to_string(&neighbour).unwrap(),
            "no me toques",
            "{what}"
        );
    }
    println!("{}", outcomes.join("\n"));
    assert!(
        outcomes.iter().filter(|o| o.contains("error")).count() >= 3,
        "{outcomes:#?}"
    );
}

#[test]
fn a_newer_schema_is_refused_with_a_clear_message() {
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path().join("s");
    drop(create(&dir));
    {
        let db = sled::open(&dir).unwrap();
        db.insert(b"m:schema", &(SCHEMA_VERSION + 1).to_be_bytes())
            .unwrap();
        db.flush().unwrap();
    }
    let err = LockedStore::open(&dir).unwrap_err();
    assert!(
        matches!(err, Error::NewerSchema { found, supported } if found == SCHEMA_VERSION + 1 && supported == SCHEMA_VERSION)
    );
    assert!(err.to_string().contains("newer version"), "{err}");
}

#[test]
fn a_store_in_use_is_reported() {
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path().join("s");
    let _open = create(&dir);
    // sled locks its files; a second open (as by a second app instance) is refused clearly.
    match LockedStore::open(&dir) {
        Err(Error::InUse(_)) => {}
        other => panic!("{other:?}"),
    }
}
