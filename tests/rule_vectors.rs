//! The UI checks a few rules live, as the person types (the DUI check digit, today's date in El
//! Salvador, age and "minor"); Rust checks them again, authoritatively. So that the two can never
//! disagree, core's answers for a table of cases are written to `ui/src/lib/rule-vectors.json`
//! and the UI's unit test (`ui/src/lib/rules.test.ts`) asserts it gives the same answer for every
//! one. This test fails when the committed file is stale; `./x bindings` regenerates it.

use std::path::Path;

use chrono::{DateTime, Duration, NaiveDate, TimeZone, Utc};
use reintegra_core::calendar::today_in_el_salvador;
use reintegra_core::dui::{Dui, DuiError};
use reintegra_core::person::BirthDate;
use serde_json::{json, Value};

/// A small deterministic generator (no test should depend on a random seed).
struct Lcg(u64);

impl Lcg {
    fn next(&mut self) -> u64 {
        self.0 = self
            .0
            .wrapping_mul(6364136223846793005)
            .wrapping_add(1442695040888963407);
        self.0 >> 33
    }
}

fn dui_vectors() -> Vec<Value> {
    let mut inputs: Vec<String> = [
        "",
        " ",
        "0",
        "01234567",
        "012345678",
        "01234567-8",
        "01234567-",
        "0123456-78",
        "01234567--8",
        "0123456789",
        "abcdefgh-i",
        " 04567890-1 ",
        "00000000-0",
        "99999999-9",
    ]
    .iter()
    .map(|s| s.to_string())
    .collect();
    let mut rng = Lcg(2026);
    for _ in 0..120 {
        let body = format!("{:08}", rng.next() % 100_000_000);
        let digit = rng.next() % 10;
        inputs.push(if rng.next() % 2 == 0 {
            format!("{body}-{digit}")
        } else {
            format!("{body}{digit}")
        });
    }
    inputs
        .into_iter()
        .map(|input| {
            let expect = match Dui::parse(&input) {
                Ok(dui) => json!({"kind": "valid", "canonical": dui.as_str()}),
                Err(DuiError::CheckDigit { expected, .. }) => {
                    json!({"kind": "check_digit", "expected": expected})
                }
                Err(DuiError::Format) => json!({"kind": "format"}),
            };
            json!({"input": input, "expect": expect})
        })
        .collect()
}

fn day_vectors() -> Vec<Value> {
    let start: DateTime<Utc> = Utc
        .with_ymd_and_hms(2024, 2, 28, 0, 0, 0)
        .single()
        .expect("a real instant");
    // Every 97 minutes over ten days: crosses midnight in UTC and in El Salvador, and 29 Feb.
    (0..150)
        .map(|i| {
            let at = start + Duration::minutes(97 * i);
            json!({"utc": at.to_rfc3339(), "day": today_in_el_salvador(at).to_string()})
        })
        .collect()
}

fn age_vectors() -> Vec<Value> {
    let date = |y, m, d| NaiveDate::from_ymd_opt(y, m, d).expect("a real date");
    let todays = [
        date(2026, 12, 1),
        date(2026, 2, 28),
        date(2028, 2, 29),
        date(2026, 7, 1),
        date(2026, 6, 30),
    ];
    let births = [
        BirthDate::Exact {
            date: date(2008, 12, 1),
        },
        BirthDate::Exact {
            date: date(2008, 12, 2),
        },
        BirthDate::Exact {
            date: date(2008, 2, 29),
        },
        BirthDate::Exact {
            date: date(2010, 3, 1),
        },
        BirthDate::Exact {
            date: date(2027, 1, 1),
        },
        BirthDate::Year { year: 2008 },
        BirthDate::Year { year: 2009 },
        BirthDate::EstimatedFromAge {
            age: 17,
            stated_on: date(2025, 12, 1),
        },
        BirthDate::EstimatedFromAge {
            age: 17,
            stated_on: date(2026, 6, 30),
        },
        BirthDate::EstimatedFromAge {
            age: 18,
            stated_on: date(2024, 2, 29),
        },
        BirthDate::EstimatedFromAge {
            age: 0,
            stated_on: date(2026, 1, 1),
        },
    ];
    let mut out = Vec::new();
    for today in todays {
        for birth in &births {
            out.push(json!({
                "birth": birth,
                "today": today.to_string(),
                "age": birth.age_on(today),
                "minor": birth.is_minor_on(today),
            }));
        }
    }
    out
}

#[test]
fn ui_rule_vectors_are_fresh() {
    let vectors = json!({
        "dui": dui_vectors(),
        "sv_day": day_vectors(),
        "age": age_vectors(),
    });
    let text = serde_json::to_string_pretty(&vectors).expect("vectors to JSON") + "\n";
    let path = Path::new(env!("CARGO_MANIFEST_DIR")).join("ui/src/lib/rule-vectors.json");
    if std::env::var_os("UPDATE_BINDINGS").is_some() {
        std::fs::write(&path, &text).expect("write rule vectors");
        return;
    }
    let committed = std::fs::read_to_string(&path).unwrap_or_default();
    assert!(
        committed == text,
        "ui/src/lib/rule-vectors.json is stale; run ./x bindings"
    );
}
