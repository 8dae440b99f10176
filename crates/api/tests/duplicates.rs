//! The supervisor's duplicate queue on real encrypted stores: likely pairs, merge (everything
//! kept, re-pointed, audited, synced as ops), "not the same person".
#![allow(clippy::unwrap_used)] // tests may unwrap

use chrono::{DateTime, NaiveDate, TimeZone, Utc};
use reintegra_api::{
    today_in_el_salvador, ArrivalInput, CaseQuery, KdfParams, ReturnInput, Session,
};
use reintegra_core::case_note::CaseNote;
use reintegra_core::ids::{CaseNoteId, PersonId};
use reintegra_core::person::{BirthDate, Person, Sex};
use reintegra_core::return_event::{ReceptionCenter, ReturnModality, TravelCompanion};
use reintegra_core::territory::Territory;
use reintegra_core::vulnerability::Vulnerability;
use reintegra_store::LockedStore;

const ADMIN: &str = "Ana Morales";
const PASS: &str = "clave-segura-1";

fn now() -> DateTime<Utc> {
    Utc.with_ymd_and_hms(2026, 11, 23, 15, 0, 0).unwrap()
}

fn today() -> NaiveDate {
    today_in_el_salvador(now())
}

fn district(name: &str) -> String {
    Territory::el_salvador()
        .places()
        .find(|p| p.district_name == name)
        .unwrap()
        .district_code
        .clone()
}

fn arrival(
    given: &str,
    first: &str,
    second: &str,
    born: (i32, u32, u32),
    on: NaiveDate,
) -> ArrivalInput {
    ArrivalInput {
        beneficiary_type: Default::default(),
        first_contact: Default::default(),
        given_names: given.into(),
        first_surname: first.into(),
        second_surname: second.into(),
        sex: Some(Sex::Male),
        birth_date: Some(BirthDate::Exact {
            date: NaiveDate::from_ymd_opt(born.0, born.1, born.2).unwrap(),
        }),
        dui: String::new(),
        other_document: None,
        phone: String::new(),
        education: None,
        occupation: String::new(),
        origin_district: String::new(),
        destination_district: district("Ilopango"),
        return_event: Some(ReturnInput {
            date: on,
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
    }
}

fn open(dir: &std::path::Path) -> Session {
    let s = Session::open(dir.join("store"), KdfParams::INSECURE_FAST).unwrap();
    s.unlock(ADMIN, PASS, now()).unwrap();
    s
}

fn open_count(s: &Session) -> u32 {
    s.caseload(&CaseQuery::default(), today()).unwrap().total
}

#[test]
fn a_likely_pair_is_merged_keeping_everything_and_not_proposed_again() {
    let dir = tempfile::tempdir().unwrap();
    let (kept, absorbed) = {
        let s = Session::open(dir.path().join("store"), KdfParams::INSECURE_FAST).unwrap();
        s.create_first_admin(ADMIN, PASS, now()).unwrap();
        let a = s
            .register_arrival(
                &arrival(
                    "José Luis",
                    "Martínez",
                    "Peña",
                    (1990, 5, 2),
                    NaiveDate::from_ymd_opt(2024, 3, 1).unwrap(),
                ),
                now(),
            )
            .unwrap()
            .person;
        let mut second = arrival("Jose Luis", "Martinez", "", (1990, 5, 2), today());
        second.phone = "7123-4567".into();
        second.vulnerabilities = vec![Vulnerability::ChronicIllness];
        let b = s.register_arrival(&second, now()).unwrap().person;
        s.register_arrival(
            &arrival("María", "Hernández", "Rivas", (1994, 3, 14), today()),
            now(),
        )
        .unwrap();
        (a, b)
    };

    // A note written on the second form (straight into the store, as #6's notes will be).
    {
        let store = LockedStore::open(dir.path().join("store"))
            .unwrap()
            .unlock(ADMIN, PASS)
            .unwrap();
        let note = CaseNote {
            id: CaseNoteId::new(uuid::Uuid::now_v7()),
            person: absorbed.id,
            text: "Llamó a su madre".into(),
            author: store.user(),
            at: now(),
            sensitive: false,
        };
        store.save_case_note(&note).unwrap();
    }

    let s = open(dir.path());
    let pairs = s.likely_duplicates(now()).unwrap();
    assert_eq!(pairs.len(), 1, "{pairs:?}");
    let ids = [pairs[0].a.id, pairs[0].b.id];
    assert!(ids.contains(&kept.id) && ids.contains(&absorbed.id));
    assert!(!pairs[0].reasons.is_empty());
    assert_eq!(open_count(&s), 3);

    let pending = s.status().unwrap().pending_changes;
    let merged: Person = s.merge_persons(kept.id, absorbed.id, now()).unwrap();
    assert_eq!(merged.return_events.len(), 2);
    assert_eq!(merged.phone, "7123-4567");
    assert!(merged
        .vulnerabilities
        .contains(&Vulnerability::ChronicIllness));
    assert_eq!(merged.second_surname, "Peña");
    assert!(
        s.status().unwrap().pending_changes >= pending + 3,
        "ops for both forms and the note"
    );
    assert_eq!(open_count(&s), 2);
    assert!(s.likely_duplicates(now()).unwrap().is_empty());
    let history = s.person_detail(kept.id, now()).unwrap().history;
    assert!(
        history.iter().any(|h| h.summary.contains("Fusión")),
        "{history:?}"
    );
    let gone = s.person_detail(absorbed.id, now()).unwrap().person;
    assert_eq!(gone.merged_into, Some(kept.id));
    // Merging again is refused in words.
    assert_eq!(
        s.merge_persons(kept.id, absorbed.id, now())
            .unwrap_err()
            .code(),
        "already_merged"
    );
    drop(s);

    let store = LockedStore::open(dir.path().join("store"))
        .unwrap()
        .unlock(ADMIN, PASS)
        .unwrap();
    assert_eq!(store.case_notes_of_person(kept.id).unwrap().len(), 1);
    assert!(store.case_notes_of_person(absorbed.id).unwrap().is_empty());
}

#[test]
fn a_pair_marked_not_the_same_person_stays_out_even_after_a_restart() {
    let dir = tempfile::tempdir().unwrap();
    let (a, b): (PersonId, PersonId) = {
        let s = Session::open(dir.path().join("store"), KdfParams::INSECURE_FAST).unwrap();
        s.create_first_admin(ADMIN, PASS, now()).unwrap();
        let a = s
            .register_arrival(
                &arrival("Ana", "López", "Díaz", (1985, 1, 9), today()),
                now(),
            )
            .unwrap()
            .person
            .id;
        let b = s
            .register_arrival(
                &arrival("Ana", "Lopez", "Diaz", (1985, 1, 9), today()),
                now(),
            )
            .unwrap()
            .person
            .id;
        assert_eq!(s.likely_duplicates(now()).unwrap().len(), 1);
        s.mark_not_same_person(a, b, now()).unwrap();
        assert!(s.likely_duplicates(now()).unwrap().is_empty());
        (a, b)
    };
    let s = open(dir.path());
    assert!(s.likely_duplicates(now()).unwrap().is_empty());
    assert_eq!(
        s.person_detail(a, now()).unwrap().person.not_same_as,
        vec![b]
    );
    assert_eq!(open_count(&s), 2);
}
