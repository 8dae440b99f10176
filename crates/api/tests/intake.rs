//! Intake, returning persons, caseload and edits on real encrypted stores in temp dirs.
#![allow(clippy::unwrap_used)] // tests may unwrap

use chrono::{DateTime, NaiveDate, TimeZone, Utc};
use reintegra_api::{
    today_in_el_salvador, ApiError, ArrivalInput, CaseQuery, CaseState, ContactInput, KdfParams,
    ReturnInput, ReturnUpdates, RoutingInput, Session, SuggestionQuery,
};
use reintegra_core::audit::AuditAction;
use reintegra_core::dui::Dui;
use reintegra_core::person::{BirthDate, CaseFlag, Sex};
use reintegra_core::return_event::{ReceptionCenter, ReturnModality, TravelCompanion};
use reintegra_core::territory::Territory;
use reintegra_core::vulnerability::Vulnerability;

fn now() -> DateTime<Utc> {
    Utc.with_ymd_and_hms(2026, 11, 23, 15, 0, 0).unwrap()
}

fn today() -> NaiveDate {
    today_in_el_salvador(now())
}

fn date(y: i32, m: u32, d: u32) -> NaiveDate {
    NaiveDate::from_ymd_opt(y, m, d).unwrap()
}

fn district(name: &str) -> String {
    Territory::el_salvador()
        .places()
        .find(|p| p.district_name == name)
        .unwrap()
        .district_code
        .clone()
}

fn unlocked(dir: &std::path::Path) -> Session {
    let session = Session::open(dir.join("store"), KdfParams::INSECURE_FAST).unwrap();
    session
        .create_first_admin("Ana Morales", "clave-segura-1", now())
        .unwrap();
    session
}

fn ret(on: NaiveDate, travelled: TravelCompanion) -> ReturnInput {
    ReturnInput {
        date: on,
        modality: ReturnModality::Air,
        country_from: "us".into(),
        reception_center: ReceptionCenter::Gami,
        custody_days: None,
        travelled,
        assistance: vec![],
        assistance_notes: String::new(),
    }
}

fn arrival(given: &str, first: &str, second: &str, dui: &str) -> ArrivalInput {
    ArrivalInput {
        beneficiary_type: Default::default(),
        first_contact: Default::default(),
        given_names: given.into(),
        first_surname: first.into(),
        second_surname: second.into(),
        sex: Some(Sex::Female),
        birth_date: Some(BirthDate::Exact {
            date: date(1994, 3, 14),
        }),
        dui: dui.into(),
        other_document: None,
        phone: "7123-4567".into(),
        origin_district: String::new(),
        destination_district: district("Nueva Concepción"),
        education: None,
        occupation: String::new(),
        return_event: Some(ret(today(), TravelCompanion::Alone)),
        vulnerabilities: vec![],
        consent_registration: true,
        consent_referral_sharing: false,
        family_of: None,
        caseworker: None,
    }
}

fn dui(body: &str) -> String {
    Dui::from_body(body).unwrap().as_str().to_string()
}

#[test]
fn an_arrival_is_saved_with_an_audit_entry_and_an_outbox_op() {
    let dir = tempfile::tempdir().unwrap();
    let s = unlocked(dir.path());
    let pending = s.status().unwrap().pending_changes;
    let saved = s
        .register_arrival(
            &arrival("María José", "Hernández", "Rivas", &dui("01234567")),
            now(),
        )
        .unwrap();
    assert_eq!(saved.person.full_name(), "María José Hernández Rivas");
    assert_eq!(saved.person.return_events.len(), 1);
    assert_eq!(saved.person.return_events[0].country_from, "US");
    assert!(s.status().unwrap().pending_changes >= pending + 2);
    let detail = s.person_detail(saved.person.id, now()).unwrap();
    assert_eq!(detail.person, saved.person);
    assert_eq!(detail.history.len(), 1);
    assert_eq!(detail.history[0].action, AuditAction::Create);
    assert_eq!(detail.users[0].name, "Ana Morales");
}

#[test]
fn every_problem_is_reported_by_field_and_nothing_is_saved() {
    let dir = tempfile::tempdir().unwrap();
    let s = unlocked(dir.path());
    let mut bad = arrival(" ", "Hernández", "", "01234567-0");
    bad.destination_district.clear();
    bad.sex = None;
    let err = s.register_arrival(&bad, now()).unwrap_err();
    assert_eq!(err.code(), "invalid");
    let reintegra_api::ApiError::Invalid(errors) = err else {
        panic!()
    };
    for (field, code) in [
        ("given_names", "required"),
        ("dui", "dui_check_digit"),
        ("destination_district", "required"),
        ("sex", "required"),
    ] {
        assert!(errors.has(field, code), "{field} {code}: {errors:?}");
    }
    assert_eq!(s.caseload(&CaseQuery::default(), today()).unwrap().total, 0);
}

#[test]
fn an_unaccompanied_child_is_flagged_and_comes_first() {
    let dir = tempfile::tempdir().unwrap();
    let s = unlocked(dir.path());
    s.register_arrival(&arrival("Ana", "López", "", ""), now())
        .unwrap();
    let mut child = arrival("Kevin", "Pérez", "", "");
    child.birth_date = Some(BirthDate::EstimatedFromAge {
        age: 14,
        stated_on: today(),
    });
    child.return_event = Some(ret(today(), TravelCompanion::UnaccompaniedMinor));
    let saved = s.register_arrival(&child, now()).unwrap();
    assert!(saved.flags.contains(&CaseFlag::Minor));
    assert!(saved
        .person
        .vulnerabilities
        .contains(&Vulnerability::UnaccompaniedChild));
    let page = s.caseload(&CaseQuery::default(), today()).unwrap();
    assert_eq!(page.rows[0].full_name, "Kevin Pérez");
    assert!(page.rows[0].flags.contains(&CaseFlag::Minor));
}

#[test]
fn a_returning_person_gets_a_new_return_event_not_a_second_form() {
    let dir = tempfile::tempdir().unwrap();
    let s = unlocked(dir.path());
    let first = s
        .register_arrival(
            &arrival("José Luis", "Martínez", "Peña", &dui("04567890")),
            now(),
        )
        .unwrap()
        .person;

    // Typed without accents, other case: same name and birth date.
    let by_name = s
        .returning_suggestions(
            &SuggestionQuery {
                given_names: "jose luis".into(),
                first_surname: "MARTINEZ".into(),
                second_surname: "pena".into(),
                sex: None,
                birth_date: Some(BirthDate::Exact {
                    date: date(1994, 3, 14),
                }),
                dui: String::new(),
            },
            today(),
        )
        .unwrap();
    assert_eq!(by_name.len(), 1, "{by_name:?}");
    assert_eq!(by_name[0].id, first.id);
    assert!(!by_name[0].reasons.is_empty());

    // The DUI alone (digits only) finds them too.
    let digits: String = dui("04567890").chars().filter(|c| *c != '-').collect();
    let by_dui = s
        .returning_suggestions(
            &SuggestionQuery {
                dui: digits,
                ..Default::default()
            },
            today(),
        )
        .unwrap();
    assert_eq!(by_dui[0].id, first.id);
    assert!(by_dui[0]
        .reasons
        .contains(&reintegra_dedup::Reason::SameDui));

    // A different person is not suggested.
    let other = s
        .returning_suggestions(
            &SuggestionQuery {
                given_names: "Rosa".into(),
                first_surname: "Ayala".into(),
                birth_date: Some(BirthDate::Year { year: 1970 }),
                ..Default::default()
            },
            today(),
        )
        .unwrap();
    assert!(other.is_empty(), "{other:?}");

    let again = s
        .add_return_event(
            first.id,
            &ret(today(), TravelCompanion::WithFamily),
            &[Vulnerability::ProtectionNeed],
            &Default::default(),
            now() + chrono::Duration::minutes(5),
        )
        .unwrap();
    assert_eq!(again.person.return_events.len(), 2);
    assert!(again.flags.contains(&CaseFlag::RepeatReturn));
    let page = s.caseload(&CaseQuery::default(), today()).unwrap();
    assert_eq!(page.total, 1);
    assert_eq!(page.rows[0].returns, 2);
    let detail = s.person_detail(first.id, now()).unwrap();
    assert_eq!(detail.history[0].action, AuditAction::Update);
    assert!(detail.history[0]
        .changed_fields
        .contains(&"return_events".to_string()));

    // A third return with a new phone and destination the worker chose to keep: one audited
    // change naming those fields; a bad phone is refused and nothing is written.
    let bad = s.add_return_event(
        first.id,
        &ret(today(), TravelCompanion::Alone),
        &[],
        &ReturnUpdates {
            phone: Some("12".into()),
            destination_district: None,
        },
        now() + chrono::Duration::minutes(6),
    );
    assert!(matches!(bad, Err(ApiError::Invalid(_))), "{bad:?}");
    let district = reintegra_core::territory::Territory::el_salvador()
        .places()
        .find(|p| p.district_name == "Ilopango")
        .unwrap()
        .district_code
        .clone();
    let third = s
        .add_return_event(
            first.id,
            &ret(today(), TravelCompanion::Alone),
            &[],
            &ReturnUpdates {
                phone: Some(" 7999-0000 ".into()),
                destination_district: Some(district.clone()),
            },
            now() + chrono::Duration::minutes(7),
        )
        .unwrap();
    assert_eq!(third.person.return_events.len(), 3);
    assert_eq!(third.person.phone, "7999-0000");
    assert_eq!(third.person.destination_district, district);
    let detail = s.person_detail(first.id, now()).unwrap();
    let entry = &detail.history[0];
    assert_eq!(
        entry.summary,
        "Nuevo retorno registrado; datos actualizados"
    );
    for field in ["return_events", "phone", "destination_district"] {
        assert!(
            entry.changed_fields.contains(&field.to_string()),
            "{entry:?}"
        );
    }
}

#[test]
fn family_members_share_a_family_group() {
    let dir = tempfile::tempdir().unwrap();
    let s = unlocked(dir.path());
    let mother = s
        .register_arrival(&arrival("Marta", "Gómez", "", ""), now())
        .unwrap()
        .person;
    let mut son = arrival("Luis", "Gómez", "", "");
    son.family_of = Some(mother.id);
    son.birth_date = Some(BirthDate::Exact {
        date: date(2015, 1, 2),
    });
    let son = s.register_arrival(&son, now()).unwrap().person;
    let detail = s.person_detail(mother.id, now()).unwrap();
    assert_eq!(detail.person.family_group, son.family_group);
    assert!(son.family_group.is_some());
    assert_eq!(detail.family.len(), 1);
    assert_eq!(detail.family[0].id, son.id);
}

#[test]
fn caseload_filters_and_search_without_accents_or_by_dui() {
    let dir = tempfile::tempdir().unwrap();
    let s = unlocked(dir.path());
    let maria = s
        .register_arrival(
            &arrival("María José", "Hernández", "Rivas", &dui("01234567")),
            now(),
        )
        .unwrap()
        .person;
    let mut old = arrival("Pedro", "Ramírez", "", &dui("07654321"));
    old.destination_district = district("San Pablo Tacachico");
    old.return_event = Some(ret(date(2026, 1, 10), TravelCompanion::Alone));
    old.vulnerabilities = vec![Vulnerability::Disability];
    s.register_arrival(&old, now()).unwrap();

    let q = |text: &str| CaseQuery {
        text: text.into(),
        ..Default::default()
    };
    let names = |page: reintegra_api::CasePage| {
        page.rows
            .into_iter()
            .map(|r| r.full_name)
            .collect::<Vec<_>>()
    };
    assert_eq!(
        names(s.caseload(&q("maria hernandez"), today()).unwrap()),
        ["María José Hernández Rivas"]
    );
    assert_eq!(
        names(s.caseload(&q("  HERN  "), today()).unwrap()),
        ["María José Hernández Rivas"]
    );
    let digits: String = dui("07654321").chars().filter(|c| *c != '-').collect();
    assert_eq!(
        names(s.caseload(&q(&digits), today()).unwrap()),
        ["Pedro Ramírez"]
    );
    assert_eq!(
        names(s.caseload(&q(&dui("07654321")), today()).unwrap()),
        ["Pedro Ramírez"]
    );
    // Priority first: the vulnerability outranks the newer case.
    assert_eq!(
        names(s.caseload(&CaseQuery::default(), today()).unwrap())[0],
        "Pedro Ramírez"
    );
    let recent = CaseQuery {
        returned_within_days: Some(30),
        ..Default::default()
    };
    assert_eq!(
        names(s.caseload(&recent, today()).unwrap()),
        ["María José Hernández Rivas"]
    );
    let muni = Territory::el_salvador()
        .place(&district("San Pablo Tacachico"))
        .unwrap()
        .municipality_code
        .clone();
    let by_muni = CaseQuery {
        municipality: Some(muni),
        ..Default::default()
    };
    let page = s.caseload(&by_muni, today()).unwrap();
    assert_eq!(names(page.clone()), ["Pedro Ramírez"]);
    assert!(
        page.rows[0].prioritized,
        "Tacachico is a prioritized locality"
    );
    let vuln = CaseQuery {
        vulnerability: Some(Vulnerability::Disability),
        ..Default::default()
    };
    assert_eq!(
        names(s.caseload(&vuln, today()).unwrap()),
        ["Pedro Ramírez"]
    );

    // Assign, close: the filters follow.
    let me = s.users().unwrap()[0].id;
    s.edit_routing(
        maria.id,
        &RoutingInput {
            caseworker: Some(me),
            vulnerabilities: maria.vulnerabilities.clone(),
        },
        now(),
    )
    .unwrap();
    s.close_case(
        maria.id,
        reintegra_core::person::ClosureReason::Reintegrated,
        now(),
    )
    .unwrap();
    let mine = CaseQuery {
        caseworker: Some(me),
        state: CaseState::Any,
        ..Default::default()
    };
    assert_eq!(
        names(s.caseload(&mine, today()).unwrap()),
        ["María José Hernández Rivas"]
    );
    assert_eq!(s.caseload(&CaseQuery::default(), today()).unwrap().total, 1);
    let closed = CaseQuery {
        state: CaseState::Closed,
        ..Default::default()
    };
    assert_eq!(s.caseload(&closed, today()).unwrap().total, 1);
}

#[test]
fn an_edit_is_validated_audited_and_survives_a_restart() {
    let dir = tempfile::tempdir().unwrap();
    let s = unlocked(dir.path());
    let p = s
        .register_arrival(&arrival("Carla", "Rivas", "", ""), now())
        .unwrap()
        .person;
    let contact = |phone: &str| ContactInput {
        beneficiary_type: p.beneficiary_type,
        first_contact: p.first_contact,
        given_names: format!("  {} ", p.given_names),
        first_surname: p.first_surname.clone(),
        second_surname: p.second_surname.clone(),
        sex: p.sex,
        birth_date: p.birth_date,
        dui: String::new(),
        other_document: None,
        phone: phone.into(),
    };
    assert_eq!(
        s.edit_contact(p.id, &contact("12"), now())
            .unwrap_err()
            .code(),
        "invalid"
    );

    let later = now() + chrono::Duration::hours(1);
    let pending = s.status().unwrap().pending_changes;
    let saved = s.edit_contact(p.id, &contact("7000-1111"), later).unwrap();
    assert_eq!(saved.updated_at, later);
    assert_eq!(saved.given_names, "Carla", "the api trims, as at intake");
    // The record op and its audit entry.
    assert_eq!(s.status().unwrap().pending_changes, pending + 2);
    // Saving the same again changes nothing and writes nothing.
    s.edit_contact(p.id, &contact("7000-1111"), later).unwrap();
    assert_eq!(s.status().unwrap().pending_changes, pending + 2);

    s.lock(now());
    assert_eq!(
        s.caseload(&CaseQuery::default(), today())
            .unwrap_err()
            .code(),
        "locked"
    );
    drop(s);
    let s = Session::open(dir.path().join("store"), KdfParams::INSECURE_FAST).unwrap();
    s.unlock("Ana Morales", "clave-segura-1", now()).unwrap();
    let page = s
        .caseload(
            &CaseQuery {
                text: "carla".into(),
                ..Default::default()
            },
            today(),
        )
        .unwrap();
    assert_eq!(page.total, 1);
    let detail = s.person_detail(p.id, now()).unwrap();
    assert_eq!(detail.person.phone, "7000-1111");
    assert_eq!(detail.history[0].changed_fields, ["phone"]);
    assert_eq!(detail.history.len(), 2);
}

#[test]
fn the_whole_intake_form_is_kept_origin_document_custody_education_occupation() {
    use reintegra_core::person::{DocumentKind, Education, OtherDocument};
    let dir = tempfile::tempdir().unwrap();
    let s = unlocked(dir.path());
    let mut input = arrival("Kevin", "López", "", "");
    input.origin_district = district("Jiquilisco");
    input.other_document = Some(OtherDocument {
        kind: DocumentKind::Passport,
        number: " A1234567 ".into(),
    });
    input.education = Some(Education::UpperSecondary);
    input.occupation = " albañil ".into();
    let mut event = ret(today(), TravelCompanion::Alone);
    event.custody_days = Some(21);
    input.return_event = Some(event);
    let saved = s.register_arrival(&input, now()).unwrap().person;
    let stored = s.person_detail(saved.id, now()).unwrap().person;
    assert_eq!(stored.origin_district, district("Jiquilisco"));
    assert_eq!(
        stored.other_document,
        Some(OtherDocument {
            kind: DocumentKind::Passport,
            number: "A1234567".into()
        })
    );
    assert_eq!(stored.education, Some(Education::UpperSecondary));
    assert_eq!(stored.occupation, "albañil");
    assert_eq!(stored.return_events[0].custody_days, Some(21));

    // A blank document number is no document at all.
    let mut blank = arrival("Rosa", "Díaz", "", "");
    blank.other_document = Some(OtherDocument {
        kind: DocumentKind::Passport,
        number: "  ".into(),
    });
    let saved = s.register_arrival(&blank, now()).unwrap().person;
    assert_eq!(saved.other_document, None);
}

#[test]
fn consent_is_recorded_and_withdrawn_with_audit_and_never_in_the_future() {
    use reintegra_core::consent::ConsentPurpose;
    let dir = tempfile::tempdir().unwrap();
    let s = unlocked(dir.path());
    let person = s
        .register_arrival(&arrival("Kevin", "López", "", ""), now())
        .unwrap()
        .person;
    let pending = s.status().unwrap().pending_changes;

    let err = s
        .record_consent(
            person.id,
            ConsentPurpose::FollowUpContact,
            today().succ_opt().unwrap(),
            now(),
        )
        .unwrap_err();
    assert_eq!(err.code(), "invalid");

    let with = s
        .record_consent(person.id, ConsentPurpose::FollowUpContact, today(), now())
        .unwrap();
    assert!(with.may_contact_for_follow_up(today()));
    let consent = with
        .consents
        .iter()
        .find(|c| c.purpose == ConsentPurpose::FollowUpContact)
        .unwrap()
        .id;
    let without = s
        .withdraw_consent(person.id, consent, today(), now())
        .unwrap();
    assert!(!without.may_contact_for_follow_up(today()));
    assert!(s.status().unwrap().pending_changes >= pending + 4);
    let history = s.person_detail(person.id, now()).unwrap().history;
    assert!(
        history
            .iter()
            .filter(|h| h.changed_fields.contains(&"consents".to_string()))
            .count()
            >= 2
    );
}

#[test]
fn editing_a_return_to_a_child_travelling_alone_flags_an_unaccompanied_child() {
    let dir = tempfile::tempdir().unwrap();
    let s = unlocked(dir.path());
    let mut input = arrival("Kevin", "Mejía", "", "");
    input.birth_date = Some(BirthDate::Exact {
        date: NaiveDate::from_ymd_opt(2012, 3, 4).unwrap(),
    });
    let p = s.register_arrival(&input, now()).unwrap().person;
    assert!(!p
        .vulnerabilities
        .contains(&Vulnerability::UnaccompaniedChild));
    let event = &p.return_events[0];
    let corrected = ReturnInput {
        date: event.date,
        modality: event.modality,
        country_from: " mx ".into(),
        reception_center: event.reception_center.clone(),
        custody_days: event.custody_days,
        travelled: TravelCompanion::UnaccompaniedMinor,
        assistance: event.assistance.clone(),
        assistance_notes: event.assistance_notes.clone(),
    };
    let edited = s
        .edit_return_event(p.id, event.id, &corrected, now())
        .unwrap();
    assert!(edited
        .vulnerabilities
        .contains(&Vulnerability::UnaccompaniedChild));
    assert_eq!(edited.return_events.len(), 1);
    assert_eq!(edited.return_events[0].id, event.id);
    assert_eq!(edited.return_events[0].country_from, "MX");
    let unknown = reintegra_core::ids::ReturnEventId::new(uuid::Uuid::now_v7());
    assert_eq!(
        s.edit_return_event(p.id, unknown, &corrected, now())
            .unwrap_err()
            .code(),
        "not_found"
    );
}
