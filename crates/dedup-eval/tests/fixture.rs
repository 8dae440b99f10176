//! The labelled fixture (tests/fixtures/): every known variation of a registered person must
//! be found in the top 3, and same-name different people (other DOB and DUI) must not score
//! as a match. The fixture's persons are mixed into a few thousand synthetic ones, namesakes
//! included, so the engine has to rank, not just find.

#![allow(clippy::unwrap_used)]

use reintegra_dedup::{Index, Record, SearchOptions, MATCH_THRESHOLD};
use reintegra_dedup_eval::generate::{self, Config, Label};

fn lines<T: serde::de::DeserializeOwned>(text: &str) -> Vec<T> {
    text.lines()
        .filter(|l| !l.trim().is_empty())
        .map(|l| serde_json::from_str(l).unwrap())
        .collect()
}

fn setup() -> (Index, Vec<Record>, Vec<Label>) {
    let mut records: Vec<Record> = lines(include_str!("fixtures/records.jsonl"));
    let queries: Vec<Record> = lines(include_str!("fixtures/queries.jsonl"));
    let labels: Vec<Label> = lines(include_str!("fixtures/labels.jsonl"));
    assert_eq!(queries.len(), labels.len());
    let filler = generate::generate(&Config {
        persons: 4000,
        queries: 0,
        seed: 11,
        ..Config::default()
    });
    records.extend(filler.records);
    (Index::build(&records).unwrap(), queries, labels)
}

#[test]
fn every_known_variation_is_in_the_top_3_and_accepted() {
    let (index, queries, labels) = setup();
    let opts = SearchOptions {
        top: 3,
        ..SearchOptions::default()
    };
    let mut failures = Vec::new();
    for (q, label) in queries.iter().zip(&labels) {
        let Some(want) = &label.match_id else {
            continue;
        };
        let cands = index.search(q, &opts).unwrap();
        let found = cands.iter().find(|c| &c.id == want);
        match found {
            Some(c) if c.score >= MATCH_THRESHOLD && cands[0].id == *want => {}
            _ => failures.push(format!("{} ({}): {:?}", q.id, label.kind, cands)),
        }
    }
    assert!(failures.is_empty(), "{}", failures.join("\n"));
}

#[test]
fn same_name_different_people_do_not_match() {
    let (index, queries, labels) = setup();
    let opts = SearchOptions {
        top: 10,
        ..SearchOptions::default()
    };
    let mut checked = 0;
    for (q, label) in queries.iter().zip(&labels) {
        if label.match_id.is_some() {
            continue;
        }
        checked += 1;
        let cands = index.search(q, &opts).unwrap();
        // The namesake is found (it is the closest person) but not proposed as a match.
        assert!(!cands.is_empty(), "{}", q.id);
        for c in &cands {
            assert!(
                c.score < MATCH_THRESHOLD,
                "{} matched {} at {}: {:?}",
                q.id,
                c.id,
                c.score,
                c.reasons
            );
        }
    }
    assert!(checked >= 10);
}

#[test]
fn namesakes_inside_the_records_are_not_duplicates_of_each_other() {
    let (index, _, _) = setup();
    // b02/b16 and b01/b17 share every name but not DOB or DUI.
    for (a, b) in [("b02", "b16"), ("b01", "b17")] {
        let cands = index.duplicates_of(a, &SearchOptions::default()).unwrap();
        let c = cands
            .iter()
            .find(|c| c.id == b)
            .expect("namesake found as a candidate");
        assert!(c.score < MATCH_THRESHOLD, "{a}/{b}: {c:?}");
    }
}
