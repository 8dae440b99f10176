//! The caseworker's daily work on real encrypted stores: directory, plan, referrals with the
//! consent gate and the slip, follow-ups and "Hoy" (with an injected clock), notes.
#![allow(clippy::unwrap_used)] // tests may unwrap

use chrono::{DateTime, Duration, NaiveDate, TimeZone, Utc};
use reintegra_api::{
    today_in_el_salvador, ArrivalInput, FollowUpInput, GoalInput, KdfParams, ReferralInput,
    Session, DEFAULT_WAITING_DAYS,
};
use reintegra_core::consent::ConsentPurpose;
use reintegra_core::follow_up::FollowUpChannel;
use reintegra_core::person::{ClosureReason, Person, Sex};
use reintegra_core::plan::{Dimension, GoalStatus};
use reintegra_core::provider::PersonField;
use reintegra_core::referral::{Priority, ReferralStatus, ServiceType};
use reintegra_core::territory::Territory;

fn now() -> DateTime<Utc> {
    Utc.with_ymd_and_hms(2026, 11, 23, 15, 0, 0).unwrap()
}

fn today() -> NaiveDate {
    today_in_el_salvador(now())
}

fn setup(dir: &std::path::Path) -> (Session, Person) {
    let s = Session::open(dir.join("store"), KdfParams::INSECURE_FAST).unwrap();
    s.create_first_admin("Ana Morales", "clave-segura-1", now())
        .unwrap();
    let district = Territory::el_salvador()
        .places()
        .find(|p| p.district_name == "Jiquilisco")
        .unwrap()
        .district_code
        .clone();
    let person = s
        .register_arrival(
            &ArrivalInput {
                beneficiary_type: Default::default(),
                first_contact: Default::default(),
                given_names: "Kevin".into(),
                first_surname: "López".into(),
                second_surname: "Díaz".into(),
                sex: Some(Sex::Male),
                birth_date: None,
                dui: String::new(),
                other_document: None,
                phone: "7123-4567".into(),
                education: None,
                occupation: String::new(),
                origin_district: String::new(),
                destination_district: district,
                return_event: None,
                vulnerabilities: vec![],
                consent_registration: true,
                consent_referral_sharing: false,
                family_of: None,
                caseworker: None,
            },
            now(),
        )
        .unwrap()
        .person;
    (s, person)
}

fn referral(
    person: &Person,
    service_type: ServiceType,
    provider: Option<reintegra_core::ids::ProviderId>,
) -> ReferralInput {
    ReferralInput {
        person: person.id,
        service_type,
        provider,
        priority: Priority::High,
        reason: "Ansiedad desde el retorno".into(),
        business_idea: String::new(),
        seed_capital_usd: None,
    }
}

#[test]
fn the_directory_starts_with_examples_that_can_be_removed() {
    let dir = tempfile::tempdir().unwrap();
    let (s, _) = setup(dir.path());
    let providers = s.providers().unwrap();
    assert_eq!(providers.len(), 3);
    assert!(providers
        .iter()
        .all(|p| p.example && p.name.contains("(ejemplo)")));
    s.delete_provider(providers[0].id, now()).unwrap();
    assert_eq!(s.providers().unwrap().len(), 2);
}

#[test]
fn plan_goals_and_closing_the_case() {
    let dir = tempfile::tempdir().unwrap();
    let (s, person) = setup(dir.path());
    let p = s
        .set_needs_assessment(person.id, "Sin empleo; quiere un taller", now())
        .unwrap();
    assert_eq!(p.plan.as_ref().unwrap().agreed_on, Some(today()));
    let p = s
        .add_goal(
            person.id,
            &GoalInput {
                dimension: Dimension::Economic,
                description: "Abrir un taller de soldadura".into(),
                target_on: Some(today() + Duration::days(90)),
            },
            now(),
        )
        .unwrap();
    let goal = p.plan.as_ref().unwrap().goals[0].id;
    let p = s
        .set_goal_status(person.id, goal, GoalStatus::InProgress, now())
        .unwrap();
    assert_eq!(p.plan.as_ref().unwrap().goals[0].started_on, Some(today()));
    let p = s
        .close_case(person.id, ClosureReason::Reintegrated, now())
        .unwrap();
    assert!(!p.status.is_open());
    assert!(s.reopen_case(person.id, now()).unwrap().status.is_open());
}

#[test]
fn a_referral_is_sent_only_with_consent_and_the_slip_holds_only_what_the_provider_needs() {
    let dir = tempfile::tempdir().unwrap();
    let (s, person) = setup(dir.path());
    let provider = s
        .providers()
        .unwrap()
        .into_iter()
        .find(|p| p.service_types.contains(&ServiceType::Psychosocial))
        .unwrap();
    let r = s
        .create_referral(
            &referral(&person, ServiceType::Psychosocial, Some(provider.id)),
            now(),
        )
        .unwrap();
    assert_eq!(r.status(), ReferralStatus::Proposed);

    let err = s
        .move_referral(r.id, ReferralStatus::Sent, None, None, now())
        .unwrap_err();
    assert_eq!(err.code(), "no_consent");
    let before_sending = s.referral_slip(r.id, now()).unwrap_err();
    assert_eq!(before_sending.code(), "slip_not_with_provider");
    s.record_consent(
        person.id,
        ConsentPurpose::ReferralSharing {
            provider: Some(provider.id),
            service_type: None,
        },
        today(),
        now(),
    )
    .unwrap();
    let sent = s
        .move_referral(r.id, ReferralStatus::Sent, None, None, now())
        .unwrap();
    assert_eq!(sent.status(), ReferralStatus::Sent);

    let slip = s.referral_slip(r.id, now()).unwrap();
    let fields: Vec<PersonField> = slip.fields.iter().map(|f| f.field).collect();
    assert_eq!(fields, provider.required_fields);
    assert!(!serde_json::to_string(&slip).unwrap().contains("Jiquilisco"));
    // Consent withdrawn: the person's data no longer leaves on a slip.
    let consent = s
        .person_detail(person.id, now())
        .unwrap()
        .person
        .consents
        .iter()
        .find(|c| matches!(c.purpose, ConsentPurpose::ReferralSharing { .. }))
        .unwrap()
        .id;
    s.withdraw_consent(person.id, consent, today(), now())
        .unwrap();
    let withdrawn = s.referral_slip(r.id, now()).unwrap_err();
    assert_eq!(withdrawn.code(), "no_consent");
    s.record_consent(
        person.id,
        ConsentPurpose::ReferralSharing {
            provider: Some(provider.id),
            service_type: None,
        },
        today(),
        now(),
    )
    .unwrap();
    assert!(s.referral_slip(r.id, now()).is_ok());

    for step in [
        ReferralStatus::Accepted,
        ReferralStatus::InProgress,
        ReferralStatus::Completed,
    ] {
        s.move_referral(r.id, step, None, None, now()).unwrap();
    }
    let err = s
        .move_referral(r.id, ReferralStatus::Sent, None, None, now())
        .unwrap_err();
    assert_eq!(err.code(), "illegal_transition");
    let view = &s.referrals_of(person.id).unwrap()[0];
    assert_eq!(view.referral.history.len(), 5);
    assert!(view.next.is_empty(), "completed is final");
    assert_eq!(view.provider_name, provider.name);
}

#[test]
fn an_entrepreneurship_referral_needs_an_idea_and_records_seed_capital() {
    let dir = tempfile::tempdir().unwrap();
    let (s, person) = setup(dir.path());
    let mut input = referral(&person, ServiceType::Entrepreneurship, None);
    assert_eq!(
        s.create_referral(&input, now()).unwrap_err().code(),
        "invalid"
    );
    input.business_idea = "Pupusería".into();
    input.seed_capital_usd = Some(500);
    let r = s.create_referral(&input, now()).unwrap();
    let r = s.record_disbursement(r.id, 450, now()).unwrap();
    let details = r.entrepreneurship.unwrap();
    assert_eq!(details.seed_capital.0, 50_000);
    assert_eq!(details.disbursed.map(|d| d.0), Some(45_000));
}

#[test]
fn follow_ups_and_waiting_referrals_appear_in_today_with_an_injected_clock() {
    let dir = tempfile::tempdir().unwrap();
    let (s, person) = setup(dir.path());
    let due = today() + Duration::days(2);
    s.schedule_follow_up(
        &FollowUpInput {
            person: person.id,
            due_on: due,
            channel: FollowUpChannel::Phone,
            referral: None,
        },
        now(),
    )
    .unwrap();
    assert!(s
        .today(DEFAULT_WAITING_DAYS, now())
        .unwrap()
        .follow_ups
        .is_empty());
    let later = now() + Duration::days(5);
    let hoy = s.today(DEFAULT_WAITING_DAYS, later).unwrap();
    assert_eq!(hoy.follow_ups.len(), 1);
    assert_eq!(hoy.follow_ups[0].days_overdue, 3);
    assert_eq!(hoy.follow_ups[0].person_name, "Kevin López Díaz");

    let next = s
        .complete_follow_up(
            hoy.follow_ups[0].id,
            "Tiene entrevista de trabajo",
            Some(due + Duration::days(30)),
            later,
        )
        .unwrap()
        .unwrap();
    assert_eq!(next.channel, FollowUpChannel::Phone);
    assert!(s
        .today(DEFAULT_WAITING_DAYS, later)
        .unwrap()
        .follow_ups
        .is_empty());
    assert_eq!(s.follow_ups_of(person.id).unwrap().len(), 2);

    // A referral sent and not answered for more than a week.
    s.record_consent(
        person.id,
        ConsentPurpose::ReferralSharing {
            provider: None,
            service_type: None,
        },
        today(),
        now(),
    )
    .unwrap();
    let provider = s.providers().unwrap()[0].id;
    let r = s
        .create_referral(
            &referral(&person, ServiceType::Psychosocial, Some(provider)),
            now(),
        )
        .unwrap();
    s.move_referral(r.id, ReferralStatus::Sent, None, None, now())
        .unwrap();
    assert!(s
        .today(DEFAULT_WAITING_DAYS, later)
        .unwrap()
        .waiting_referrals
        .is_empty());
    let waiting = s
        .today(DEFAULT_WAITING_DAYS, now() + Duration::days(9))
        .unwrap()
        .waiting_referrals;
    assert_eq!(waiting.len(), 1);
    assert_eq!(waiting[0].days_waiting, 9);
}

#[test]
fn notes_are_kept_with_author_and_sensitivity() {
    let dir = tempfile::tempdir().unwrap();
    let (s, person) = setup(dir.path());
    s.add_note(person.id, "Llamó su madre", false, now())
        .unwrap();
    s.add_note(
        person.id,
        "Relata violencia en el trayecto",
        true,
        now() + Duration::minutes(1),
    )
    .unwrap();
    assert_eq!(
        s.add_note(person.id, "  ", false, now())
            .unwrap_err()
            .code(),
        "invalid"
    );
    let views_of = |s: &Session| {
        s.person_detail(person.id, now())
            .unwrap()
            .history
            .iter()
            .filter(|e| e.action == reintegra_core::audit::AuditAction::View)
            .count()
    };
    assert_eq!(views_of(&s), 0, "no sensitive note shown yet");
    let view = s.notes_of(person.id, now()).unwrap();
    assert_eq!(view.notes.len(), 2);
    assert_eq!(view.hidden, 0);
    assert!(view.notes[0].sensitive, "newest first");
    assert_eq!(views_of(&s), 1, "showing a sensitive note is audited");
}

fn consent_id(
    s: &Session,
    person: &Person,
    purpose: ConsentPurpose,
) -> reintegra_core::ids::ConsentId {
    s.person_detail(person.id, now())
        .unwrap()
        .person
        .consents
        .iter()
        .find(|c| c.purpose == purpose && c.withdrawn_on.is_none())
        .unwrap()
        .id
}

/// #17.1: withdrawing registration consent restricts the form: out of the caseload (even by
/// name), no new referral, and listed to supervisors as restricted; given again, it is back.
#[test]
fn a_form_without_registration_consent_is_restricted() {
    use reintegra_api::{CaseQuery, CaseState};
    let dir = tempfile::tempdir().unwrap();
    let (s, person) = setup(dir.path());
    let listed = |state: CaseState| {
        s.caseload(
            &CaseQuery {
                text: "kevin".into(),
                state,
                ..Default::default()
            },
            today(),
        )
        .unwrap()
        .rows
        .len()
    };
    assert_eq!(
        (listed(CaseState::Open), listed(CaseState::Restricted)),
        (1, 0)
    );
    let registration = consent_id(&s, &person, ConsentPurpose::Registration);
    s.withdraw_consent(person.id, registration, today(), now())
        .unwrap();
    assert_eq!(listed(CaseState::Open), 0, "gone from the caseload");
    assert_eq!(listed(CaseState::Any), 0);
    assert_eq!(listed(CaseState::Restricted), 1, "a supervisor's list");
    let refused = s
        .create_referral(&referral(&person, ServiceType::Psychosocial, None), now())
        .unwrap_err();
    assert_eq!(refused.code(), "restricted");
    s.record_consent(person.id, ConsentPurpose::Registration, today(), now())
        .unwrap();
    assert_eq!(
        (listed(CaseState::Open), listed(CaseState::Restricted)),
        (1, 0)
    );
    assert!(s
        .create_referral(&referral(&person, ServiceType::Psychosocial, None), now())
        .is_ok());
}

/// #17.1: once the person withdraws follow-up contact, no call or visit is scheduled (an
/// office appointment still is).
#[test]
fn withdrawn_contact_consent_stops_calls_and_visits() {
    let dir = tempfile::tempdir().unwrap();
    let (s, person) = setup(dir.path());
    let schedule = |channel| {
        s.schedule_follow_up(
            &FollowUpInput {
                person: person.id,
                due_on: today() + Duration::days(7),
                channel,
                referral: None,
            },
            now(),
        )
    };
    assert!(schedule(FollowUpChannel::Phone).is_ok(), "never refused");
    s.record_consent(person.id, ConsentPurpose::FollowUpContact, today(), now())
        .unwrap();
    let contact = consent_id(&s, &person, ConsentPurpose::FollowUpContact);
    s.withdraw_consent(person.id, contact, today(), now())
        .unwrap();
    for channel in [FollowUpChannel::Phone, FollowUpChannel::Visit] {
        assert_eq!(schedule(channel).unwrap_err().code(), "contact_withdrawn");
    }
    assert!(schedule(FollowUpChannel::Office).is_ok());
}
