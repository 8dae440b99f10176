//! The engine's API as the app uses it: build, upsert on save, remove, search with reasons,
//! "not the same person" pairs and the store-wide list of likely pairs.

#![allow(clippy::unwrap_used)]

use reintegra_dedup::{Index, NotSamePerson, Reason, Record, SearchOptions, MATCH_THRESHOLD};

fn person(id: &str, given: &str, s1: &str, s2: &str, dob: &str, dui: &str) -> Record {
    Record {
        id: id.into(),
        given_names: given.into(),
        first_surname: s1.into(),
        second_surname: s2.into(),
        sex: String::new(),
        birth_date: dob.into(),
        dui: dui.into(),
        district: "Soyapango".into(),
        phone: String::new(),
    }
}

fn index() -> Index {
    Index::build(&[
        person(
            "a",
            "María José",
            "Hernández",
            "López",
            "1990-05-07",
            "01234567-8",
        ),
        person("b", "José Luis", "Martínez", "Rivas", "1985-03-04", ""),
        person("c", "Ana", "Flores", "Rivas", "1970", ""),
    ])
    .unwrap()
}

fn top(index: &Index, q: &Record) -> reintegra_dedup::Candidate {
    index
        .search(q, &SearchOptions::default())
        .unwrap()
        .into_iter()
        .next()
        .expect("a candidate")
}

#[test]
fn reasons_are_given_in_words() {
    let ix = index();
    let c = top(
        &ix,
        &person(
            "q",
            "maria jose",
            "LOPEZ",
            "hernandez",
            "1990-07-05",
            "01234567-8",
        ),
    );
    assert_eq!(c.id, "a");
    assert!(c.score >= MATCH_THRESHOLD);
    let words: Vec<&str> = c.reasons.iter().map(|r| r.text()).collect();
    assert!(words.contains(&"mismo DUI"), "{words:?}");
    assert!(
        words.contains(&"apellidos iguales en otro orden"),
        "{words:?}"
    );
    assert!(
        words.contains(&"fecha de nacimiento con día y mes invertidos"),
        "{words:?}"
    );
    assert!(words.contains(&"mismo distrito"), "{words:?}");
}

#[test]
fn upsert_replaces_and_remove_forgets() {
    let mut ix = index();
    assert_eq!(ix.len(), 3);
    let q = person("q", "José Luis", "Martínez", "Rivas", "1985-03-04", "");
    assert_eq!(top(&ix, &q).id, "b");
    // "b" is corrected to another person: no longer a match.
    ix.upsert(&person("b", "Pedro", "Ramos", "Cañas", "1950-01-01", ""))
        .unwrap();
    assert_eq!(ix.len(), 3);
    assert!(ix
        .search(&q, &SearchOptions::default())
        .unwrap()
        .iter()
        .all(|c| c.score < MATCH_THRESHOLD));
    ix.upsert(&person(
        "b2",
        "José Luis",
        "Martínez",
        "Rivas",
        "1985-03-04",
        "",
    ))
    .unwrap();
    assert_eq!(top(&ix, &q).id, "b2");
    assert!(ix.remove("b2"));
    assert!(!ix.remove("b2"));
    assert!(!ix.contains("b2"));
    assert!(ix
        .search(&q, &SearchOptions::default())
        .unwrap()
        .iter()
        .all(|c| c.id != "b2"));
    // A freed slot is reused without mixing up people.
    ix.upsert(&person("d", "Ana", "Flores", "Rivas", "1970-02-02", ""))
        .unwrap();
    let c = top(
        &ix,
        &person("q", "Ana", "Flores", "Rivas", "1970-02-02", ""),
    );
    assert_eq!(c.id, "d");
    assert_eq!(ix.len(), 4);
}

#[test]
fn own_id_and_not_same_pairs_are_left_out() {
    let mut ix = index();
    ix.upsert(&person(
        "a2",
        "María José",
        "Hernández",
        "López",
        "1990-05-07",
        "",
    ))
    .unwrap();
    let q = person(
        "a",
        "María José",
        "Hernández",
        "López",
        "1990-05-07",
        "01234567-8",
    );
    let cands = ix.search(&q, &SearchOptions::default()).unwrap();
    assert_eq!(cands[0].id, "a2");
    assert!(cands.iter().all(|c| c.id != "a"));
    let not_same: NotSamePerson = [("a2", "a")].into_iter().collect();
    assert!(not_same.contains("a", "a2"));
    let opts = SearchOptions {
        not_same: Some(&not_same),
        ..SearchOptions::default()
    };
    assert!(ix.search(&q, &opts).unwrap().iter().all(|c| c.id != "a2"));
    let pairs = ix.likely_pairs(&SearchOptions {
        min_score: MATCH_THRESHOLD,
        ..SearchOptions::default()
    });
    assert_eq!(pairs.len(), 1);
    assert_eq!((pairs[0].a.as_str(), pairs[0].b.as_str()), ("a", "a2"));
    let pairs = ix.likely_pairs(&SearchOptions {
        min_score: MATCH_THRESHOLD,
        ..opts
    });
    assert!(pairs.is_empty());
    assert_eq!(
        ix.duplicates_of("a", &SearchOptions::default()).unwrap()[0].id,
        "a2"
    );
    assert!(ix.duplicates_of("zz", &SearchOptions::default()).is_none());
}

#[test]
fn bad_records_are_errors_not_panics() {
    let mut ix = Index::new();
    assert!(ix.upsert(&person("", "Ana", "", "", "", "")).is_err());
    assert!(ix.upsert(&person("x", "", "", "", "", "")).is_err());
    assert!(ix
        .upsert(&person("x", "Ana", "", "", "1990-02-30", ""))
        .is_err());
    assert!(ix.upsert(&person("x", "Ana", "", "", "", "12-3")).is_err());
    assert!(ix.is_empty());
    // Odd but valid input.
    ix.upsert(&person("x", "  ", "ñ", "de", "", "")).unwrap();
    ix.upsert(&person("y", "J.", "", "", "1990", "")).unwrap();
    let _ = ix.search(
        &person("q", "de la", "del", "", "", ""),
        &SearchOptions::default(),
    );
    let _ = ix.search(
        &person("q", "J", "", "", "", ""),
        &SearchOptions {
            top: 0,
            ..SearchOptions::default()
        },
    );
    let r = Reason::SameDui;
    assert_eq!(r.to_string(), "mismo DUI");
    // The UI gets the code and words it itself.
    assert_eq!(serde_json::to_string(&r).unwrap(), r#""same_dui""#);
    assert_eq!(
        serde_json::to_string(&Reason::SameDuiButCheckDigit).unwrap(),
        r#""same_dui_but_check_digit""#
    );
}

#[test]
fn index_can_live_in_shared_app_state() {
    fn send_sync<T: Send + Sync>() {}
    send_sync::<Index>();
    send_sync::<NotSamePerson>();
}
