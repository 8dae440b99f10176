//! The person's own data (#17.3): everything held about one person, and nothing of another's —
//! checked against two persons of one family group, each with referrals, follow-ups and notes.
#![allow(clippy::unwrap_used)] // tests may unwrap

use chrono::{DateTime, TimeZone, Utc};
use reintegra_api::{
    today_in_el_salvador, ApiError, ArrivalInput, FollowUpInput, KdfParams, NewUser, ReferralInput,
    Session,
};
use reintegra_core::audit::AuditAction;
use reintegra_core::follow_up::FollowUpChannel;
use reintegra_core::person::{Person, Sex};
use reintegra_core::referral::{Priority, ServiceType};
use reintegra_core::territory::Territory;
use reintegra_core::user::Role;

const PASS: &str = "clave-segura-1";

fn now() -> DateTime<Utc> {
    Utc.with_ymd_and_hms(2026, 11, 23, 15, 0, 0).unwrap()
}

fn arrival(
    given: &str,
    surname: &str,
    dui: &str,
    phone: &str,
    family_of: Option<&Person>,
) -> ArrivalInput {
    ArrivalInput {
        beneficiary_type: Default::default(),
        first_contact: Default::default(),
        given_names: given.into(),
        first_surname: surname.into(),
        second_surname: String::new(),
        sex: Some(Sex::Female),
        birth_date: None,
        dui: dui.into(),
        other_document: None,
        phone: phone.into(),
        education: None,
        occupation: String::new(),
        origin_district: String::new(),
        destination_district: Territory::el_salvador()
            .places()
            .find(|p| p.district_name == "Jiquilisco")
            .unwrap()
            .district_code
            .clone(),
        return_event: None,
        vulnerabilities: vec![],
        consent_registration: true,
        consent_referral_sharing: false,
        family_of: family_of.map(|p| p.id),
        caseworker: None,
    }
}

/// A referral, a follow-up and a note for `person`, each with a word only they have.
fn casework(s: &Session, person: &Person, word: &str) {
    s.create_referral(
        &ReferralInput {
            person: person.id,
            service_type: ServiceType::Psychosocial,
            provider: None,
            priority: Priority::Normal,
            reason: format!("Motivo {word}"),
            business_idea: String::new(),
            seed_capital_usd: None,
        },
        now(),
    )
    .unwrap();
    s.schedule_follow_up(
        &FollowUpInput {
            person: person.id,
            due_on: today_in_el_salvador(now()),
            channel: FollowUpChannel::Office,
            referral: None,
        },
        now(),
    )
    .unwrap();
    s.add_note(person.id, &format!("Nota {word}"), false, now())
        .unwrap();
}

#[test]
fn everything_of_one_person_and_nothing_of_her_family() {
    let dir = tempfile::tempdir().unwrap();
    let s = Session::open(dir.path().join("store"), KdfParams::INSECURE_FAST).unwrap();
    s.create_first_admin("Central", PASS, now()).unwrap();
    let marta = s
        .register_arrival(
            &arrival("Marta", "Quintanilla", "04567890-3", "7111-2222", None),
            now(),
        )
        .unwrap()
        .person;
    let sister = s
        .register_arrival(
            &arrival("Ofelia", "Zelaya", "01234567-8", "7333-4444", Some(&marta)),
            now(),
        )
        .unwrap()
        .person;
    casework(&s, &marta, "azul");
    casework(&s, &sister, "verde");

    let access = s.subject_access(marta.id, now()).unwrap();
    assert_eq!(access.person.id, marta.id);
    assert_eq!(access.family_members, 1, "her sister, by count only");
    assert_eq!(access.referrals.len(), 1);
    assert_eq!(access.follow_ups.len(), 1);
    assert_eq!(access.notes.len(), 1);
    assert!(access
        .person
        .consents
        .iter()
        .any(|c| c.withdrawn_on.is_none()));
    assert!(
        access
            .history
            .iter()
            .any(|a| a.action == AuditAction::Create),
        "her registration is in the history"
    );
    let json = serde_json::to_string(&access).unwrap();
    for hers in [
        "Marta",
        "Quintanilla",
        "7111-2222",
        "Motivo azul",
        "Nota azul",
    ] {
        assert!(json.contains(hers), "{hers} is hers and must be there");
    }
    for theirs in [
        "Ofelia",
        "Zelaya",
        "7333-4444",
        "01234567",
        "Motivo verde",
        "Nota verde",
        &sister.id.as_uuid().to_string(),
    ] {
        assert!(!json.contains(theirs), "{theirs} is her sister's: {json}");
    }

    // Making it is audited on her form.
    let detail = s.person_detail(marta.id, now()).unwrap();
    assert!(detail
        .history
        .iter()
        .any(|a| a.action == AuditAction::Export && a.summary.contains("propios datos")));
}

#[test]
fn only_supervisors_of_her_office_make_it() {
    let dir = tempfile::tempdir().unwrap();
    let s = Session::open(dir.path().join("store"), KdfParams::INSECURE_FAST).unwrap();
    s.create_first_admin("Central", PASS, now()).unwrap();
    let marta = s
        .register_arrival(&arrival("Marta", "Quintanilla", "", "", None), now())
        .unwrap()
        .person;
    let san_salvador = Territory::el_salvador()
        .places()
        .find(|p| p.district_name == "San Salvador")
        .unwrap()
        .municipality_code
        .clone();
    for (login, role, office) in [
        ("gestora", Role::Caseworker, None),
        ("otra", Role::Supervisor, Some(san_salvador)),
    ] {
        s.create_user(
            &NewUser {
                name: login.into(),
                login: login.into(),
                role,
                office_municipality: office,
                also_supervisor: false,
                passphrase: PASS.into(),
            },
            now(),
        )
        .unwrap();
    }
    s.lock(now());
    for login in ["gestora", "otra"] {
        s.unlock(login, PASS, now()).unwrap();
        s.change_own_passphrase(PASS, "otra-clave-segura-2")
            .unwrap();
        assert!(
            matches!(s.subject_access(marta.id, now()), Err(ApiError::Forbidden)),
            "{login}"
        );
        s.lock(now());
    }
}

fn in_district(mut a: ArrivalInput, district: &str) -> ArrivalInput {
    a.destination_district = Territory::el_salvador()
        .places()
        .find(|p| p.district_name == district)
        .unwrap()
        .district_code
        .clone();
    a
}

#[test]
fn the_audit_trail_is_filtered_and_an_office_sees_only_its_own() {
    use reintegra_api::AuditQuery;
    let dir = tempfile::tempdir().unwrap();
    let s = Session::open(dir.path().join("store"), KdfParams::INSECURE_FAST).unwrap();
    s.create_first_admin("Central", PASS, now()).unwrap();
    let marta = s
        .register_arrival(&arrival("Marta", "Quintanilla", "", "", None), now())
        .unwrap()
        .person;
    let other = s
        .register_arrival(
            &in_district(arrival("Ofelia", "Zelaya", "", "", None), "San Salvador"),
            now(),
        )
        .unwrap()
        .person;
    casework(&s, &marta, "azul");

    // Central: everything, newest first, filtered as asked.
    let all = s.audit_log(&AuditQuery::default()).unwrap();
    assert!(all.rows.windows(2).all(|w| w[0].entry.at >= w[1].entry.at));
    assert!(all.rows.iter().any(|r| r.person == Some(other.id)));
    let hers = s
        .audit_log(&AuditQuery {
            person: Some(marta.id),
            ..Default::default()
        })
        .unwrap();
    assert!(hers.rows.iter().all(|r| r.person == Some(marta.id)));
    assert!(
        hers.rows.len() >= 4,
        "registration, referral, follow-up, note: {:?}",
        hers.rows
    );
    assert!(hers
        .rows
        .iter()
        .all(|r| r.person_name == "Marta Quintanilla"));
    let created = s
        .audit_log(&AuditQuery {
            action: Some(AuditAction::Create),
            person: Some(marta.id),
            ..Default::default()
        })
        .unwrap();
    assert!(
        created.total >= 1
            && created
                .rows
                .iter()
                .all(|r| r.entry.action == AuditAction::Create)
    );
    let tomorrow = today_in_el_salvador(now()).succ_opt().unwrap();
    let none = s
        .audit_log(&AuditQuery {
            from: Some(tomorrow),
            ..Default::default()
        })
        .unwrap();
    assert_eq!(none.total, 0);

    // Jiquilisco's supervisor: Marta's entries, never Ofelia's (San Salvador).
    let jiquilisco = Territory::el_salvador()
        .places()
        .find(|p| p.district_name == "Jiquilisco")
        .unwrap()
        .municipality_code
        .clone();
    s.create_user(
        &NewUser {
            name: "Supervisora Oeste".into(),
            login: "oeste".into(),
            role: Role::Supervisor,
            office_municipality: Some(jiquilisco),
            also_supervisor: false,
            passphrase: PASS.into(),
        },
        now(),
    )
    .unwrap();
    s.lock(now());
    s.unlock("oeste", PASS, now()).unwrap();
    s.change_own_passphrase(PASS, "otra-clave-segura-2")
        .unwrap();
    let office = s.audit_log(&AuditQuery::default()).unwrap();
    assert!(office.rows.iter().any(|r| r.person == Some(marta.id)));
    assert!(
        office.rows.iter().all(|r| r.person != Some(other.id)),
        "another office's person"
    );
    assert!(
        office
            .rows
            .iter()
            .any(|r| r.person.is_none() && r.user_name == "Supervisora Oeste"),
        "her own sign-in"
    );
    assert!(
        office
            .rows
            .iter()
            .all(|r| r.person.is_some() || r.user_name != "Central"),
        "central's own sign-ins are not the office's"
    );
}
