//! No personal data in plaintext anywhere in the data directory: names, DUIs, phones and notes
//! are searched in every byte of every file, as typed, lower-cased and without accents.
#![allow(clippy::unwrap_used)] // tests may unwrap

mod common;

use common::*;
use reintegra_core::case_note::CaseNote;
use reintegra_core::follow_up::{FollowUp, FollowUpChannel};
use reintegra_core::ids::{CaseNoteId, FollowUpId, ReferralId};
use reintegra_core::referral::{Referral, ServiceType};
use reintegra_core::text::fold;
use uuid::Uuid;

fn variants(s: &str) -> Vec<Vec<u8>> {
    let mut out = vec![s.to_string(), s.to_lowercase(), s.to_uppercase(), fold(s)];
    // The DUI and phone also without their punctuation.
    out.push(s.chars().filter(|c| c.is_alphanumeric()).collect());
    out.sort();
    out.dedup();
    out.into_iter()
        .filter(|v| v.len() >= 4)
        .map(String::into_bytes)
        .collect()
}

fn contains(hay: &[u8], needle: &[u8]) -> bool {
    hay.windows(needle.len()).any(|w| w == needle)
}

#[test]
fn no_personal_data_in_any_file() {
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path().join("store");
    let store = create(&dir);
    let people = [
        (
            "Josefina Guadalupe",
            "Hernández",
            "Peña",
            "04567890-1",
            "7123-4567",
        ),
        ("Nicolás", "Ñúñez", "Ávalos", "01234567-?", "2222-9876"),
        (
            "María José",
            "Quintanilla",
            "Argueta",
            "98765432-?",
            "6012-3344",
        ),
    ];
    let mut secrets: Vec<String> = Vec::new();
    for (n, (given, s1, s2, dui_body, phone)) in people.iter().enumerate() {
        let dui = reintegra_core::dui::Dui::from_body(&dui_body[..8]).unwrap();
        let mut p = person_with(
            n as u128,
            given,
            s1,
            s2,
            dui.as_str(),
            phone,
            "SV-LI-la-libertad-centro",
        );
        p.destination_district = "SV-AH-atiquizaya".into();
        p.household_notes = format!("Vive con su tía Rosaura en el cantón El Zapote ({n})");
        p.occupation = "Albañilería".into();
        store.save_person(&p).unwrap();
        let mut note = CaseNote {
            id: CaseNoteId::new(Uuid::from_u128(500 + n as u128)),
            person: p.id,
            text: format!("Refiere amenazas de pandilla en Soyapango, caso confidencial {n}"),
            author: USER,
            at: now(),
            sensitive: true,
        };
        store.save_case_note(&note).unwrap();
        note.text.push_str(" — actualizado por la psicóloga");
        store.save_case_note(&note).unwrap();
        let mut r = Referral::propose(
            ReferralId::new(Uuid::from_u128(900 + n as u128)),
            p.id,
            ServiceType::Psychosocial,
            now(),
            USER,
        );
        r.reason = "Ansiedad severa tras deportación".into();
        store.save_referral(&r).unwrap();
        let mut f = FollowUp::new(
            FollowUpId::new(Uuid::from_u128(700 + n as u128)),
            p.id,
            day(2024, 12, 1),
            FollowUpChannel::Phone,
        );
        f.outcome = "Llamada con la madre, Doña Rosaura".into();
        store.save_follow_up(&f).unwrap();
        secrets.extend([
            given.to_string(),
            s1.to_string(),
            s2.to_string(),
            dui.as_str().to_string(),
            phone.to_string(),
        ]);
        secrets.push(p.household_notes.clone());
        secrets.push(format!(
            "Refiere amenazas de pandilla en Soyapango, caso confidencial {n}"
        ));
        secrets.push(p.full_name());
    }
    secrets.extend(
        [
            "Rosaura",
            "El Zapote",
            "Soyapango",
            "pandilla",
            "Ansiedad severa",
            "deportación",
            "Albañilería",
            "psicóloga",
            "atiquizaya",
        ]
        .map(String::from),
    );
    // Lookups work without plaintext on disk.
    assert_eq!(store.persons_by_name_word("pena").unwrap().len(), 1);
    store
        .backup(tmp.path().join("store").join("..").join("backup.rbk"))
        .unwrap();
    drop(store);

    let files = files_under(tmp.path());
    assert!(files.len() >= 3, "{files:?}");
    // The scan does see what sled stores: a known, non-personal key is found.
    assert!(
        files
            .iter()
            .any(|f| contains(&std::fs::read(f).unwrap(), b"m:slot_salt")),
        "the scan should find the plaintext metadata key names"
    );
    let mut hits = Vec::new();
    for file in &files {
        let bytes = std::fs::read(file).unwrap();
        for s in &secrets {
            for v in variants(s) {
                if contains(&bytes, &v) {
                    hits.push(format!(
                        "{} contains {:?}",
                        file.display(),
                        String::from_utf8_lossy(&v)
                    ));
                }
            }
        }
    }
    assert!(
        hits.is_empty(),
        "plaintext personal data on disk:\n{}",
        hits.join("\n")
    );
}
