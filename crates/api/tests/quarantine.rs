//! Item 6 of issue 20 through the api: a supervisor retries a change the server refused
//! (re-stamped, sent again) or discards it with a reason; both are audited, a discard needs a
//! reason. Against a real `reintegra-server` on port 0, with a real store in a temp dir.
#![allow(clippy::unwrap_used)]

use chrono::{DateTime, TimeZone, Utc};
use reintegra_api::{ApiError, ArrivalInput, KdfParams, Session};
use reintegra_core::person::Sex;
use reintegra_core::territory::Territory;
use reintegra_server::Background;

fn now() -> DateTime<Utc> {
    Utc.with_ymd_and_hms(2026, 11, 24, 15, 0, 0).unwrap()
}

fn arrival(district: &str) -> ArrivalInput {
    ArrivalInput {
        beneficiary_type: Default::default(),
        first_contact: Default::default(),
        given_names: "Rosa".into(),
        first_surname: "Pérez".into(),
        second_surname: String::new(),
        sex: Some(Sex::Female),
        birth_date: None,
        dui: String::new(),
        other_document: None,
        phone: "7123-4567".into(),
        origin_district: String::new(),
        destination_district: district.into(),
        education: None,
        occupation: String::new(),
        return_event: None,
        vulnerabilities: vec![],
        consent_registration: true,
        consent_referral_sharing: false,
        family_of: None,
        caseworker: None,
    }
}

#[test]
fn a_supervisor_retries_or_discards_a_refused_change_and_both_are_audited() {
    let data = tempfile::tempdir().unwrap();
    let server = Background::start(data.path(), "127.0.0.1:0".parse().unwrap(), None).unwrap();
    let dir = tempfile::tempdir().unwrap();
    let s = Session::open(dir.path().join("store"), KdfParams::INSECURE_FAST).unwrap();
    s.create_first_admin("Ana", "clave-segura-1", now())
        .unwrap();
    // The device serves another municipality than the arrival's destination: refused.
    let mut places = Territory::el_salvador().prioritized();
    let destination = places.next().unwrap().clone();
    let other = places
        .find(|p| p.municipality_code != destination.municipality_code)
        .unwrap()
        .clone();
    let rosa = s
        .register_arrival(&arrival(&destination.district_code), now())
        .unwrap()
        .person;
    s.sync_enroll(
        &server.url(),
        &server.enroll_code(&other.municipality_code).unwrap(),
        "Oficina",
    )
    .unwrap();
    let view = s.sync_now(now(), &mut |_| {}).unwrap();
    assert_eq!(view.quarantined.len(), 1, "{:?}", view.quarantined);
    let first = view.quarantined[0].op_id.clone();
    assert!(view.can_resolve);

    // Retry: back to the outbox, re-stamped; the next sync sends it (and it is refused again:
    // its cause is not fixed — the device still serves the other office).
    let retried = s.sync_retry_quarantined(&first, now()).unwrap();
    assert!(retried.quarantined.is_empty());
    assert_eq!(retried.pending_changes, 2, "the change and its audit entry");
    let again = s.sync_now(now(), &mut |_| {}).unwrap();
    assert_eq!(again.quarantined.len(), 1);
    let second = again.quarantined[0].op_id.clone();
    assert_ne!(second, first, "a new op");
    assert!(matches!(
        s.sync_retry_quarantined(&first, now()),
        Err(ApiError::NotFound)
    ));

    // Discard: a reason is required, and nothing changes without one.
    for blank in ["", "   "] {
        assert!(matches!(
            s.sync_discard_quarantined(&second, blank, now()),
            Err(ApiError::Invalid(_))
        ));
    }
    assert_eq!(s.sync_view().unwrap().quarantined.len(), 1);
    let discarded = s
        .sync_discard_quarantined(
            &second,
            "la persona vive en Ilopango: se registra allá",
            now(),
        )
        .unwrap();
    assert!(discarded.quarantined.is_empty());
    assert_eq!(discarded.pending_changes, 1, "only the audit entry goes up");

    let history = s.person_detail(rosa.id, now()).unwrap().history;
    let summaries: Vec<&str> = history.iter().map(|e| e.summary.as_str()).collect();
    assert!(
        summaries
            .iter()
            .any(|t| t.starts_with("Reintentó un cambio que el servidor rechazó (out_of_scope)")),
        "{summaries:?}"
    );
    assert!(
        summaries.iter().any(|t| t.contains("Descartó")
            && t.contains("la persona vive en Ilopango: se registra allá")),
        "{summaries:?}"
    );
}
