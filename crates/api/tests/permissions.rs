//! Who may do what, as an attack: every api command is called as every role, and the answer
//! (`forbidden` or not) must be what core's permission table says. A new `pub fn` on `Session`
//! without a row here fails the last test.
#![allow(clippy::unwrap_used)] // tests may unwrap

use chrono::{DateTime, NaiveDate, TimeZone, Utc};
use reintegra_api::{
    today_in_el_salvador, ApiError, ArrivalInput, CaseQuery, ContactInput, ExportFormat,
    ExportRequest, ExportWhat, FollowUpInput, GoalInput, ImportSource, KdfParams, NewUser,
    ProfileInput, ReferralInput, ReturnInput, RoutingInput, Session, SuggestionQuery,
};
use reintegra_core::consent::ConsentPurpose;
use reintegra_core::follow_up::FollowUpChannel;
use reintegra_core::ids::{ConsentId, FollowUpId, GoalId, PersonId, ReferralId, UserId};
use reintegra_core::indicators::{IndicatorFilter, Period};
use reintegra_core::permission::Permission;
use reintegra_core::person::{ClosureReason, Person, Sex};
use reintegra_core::plan::{Dimension, GoalStatus};
use reintegra_core::provider::ServiceProvider;
use reintegra_core::referral::{Priority, ReferralStatus, ServiceType};
use reintegra_core::return_event::{ReceptionCenter, ReturnModality, TravelCompanion};
use reintegra_core::territory::Territory;
use reintegra_core::user::Role;

const PASS: &str = "clave-segura-de-prueba";
/// What each user chose at their first sign-in.
const MINE: &str = "mi-propia-clave-segura";

fn now() -> DateTime<Utc> {
    Utc.with_ymd_and_hms(2026, 11, 23, 15, 0, 0).unwrap()
}

fn today() -> NaiveDate {
    today_in_el_salvador(now())
}

fn district() -> (String, String) {
    let place = Territory::el_salvador()
        .places()
        .find(|p| p.district_name == "Jiquilisco")
        .unwrap();
    (place.district_code.clone(), place.municipality_code.clone())
}

fn arrival(given: &str) -> ArrivalInput {
    ArrivalInput {
        beneficiary_type: Default::default(),
        first_contact: Default::default(),
        given_names: given.into(),
        first_surname: "López".into(),
        second_surname: String::new(),
        sex: Some(Sex::Male),
        birth_date: None,
        dui: String::new(),
        other_document: None,
        phone: String::new(),
        education: None,
        occupation: String::new(),
        origin_district: String::new(),
        destination_district: district().0,
        return_event: None,
        vulnerabilities: vec![],
        consent_registration: true,
        consent_referral_sharing: true,
        family_of: None,
        caseworker: None,
    }
}

/// A one-row CSV (a person of the team's office).
fn import_file() -> ImportSource {
    ImportSource {
        file_name: "planilla.csv".into(),
        bytes: format!(
            "Nombres,Primer apellido,Sexo,Distrito\nImportada,López,F,{}\n",
            district().0
        )
        .into_bytes(),
    }
}

fn return_input() -> ReturnInput {
    ReturnInput {
        date: today(),
        modality: ReturnModality::Air,
        country_from: "US".into(),
        reception_center: ReceptionCenter::Gami,
        custody_days: None,
        travelled: TravelCompanion::Alone,
        assistance: vec![],
        assistance_notes: String::new(),
    }
}

/// The records a command acts on.
struct Case {
    person: Person,
    referral: ReferralId,
    follow_up: FollowUpId,
    consent: ConsentId,
    goal: GoalId,
    provider: ServiceProvider,
    other: PersonId,
}

fn login_of(role: Role) -> &'static str {
    match role {
        Role::Reception => "recepcion",
        Role::Caseworker => "gestora",
        Role::Supervisor => "supervisora",
        Role::Admin => "admin2",
    }
}

/// A device with the first admin (also a supervisor) and one user of each role.
fn team(dir: &std::path::Path) -> (Session, Case) {
    let s = Session::open(dir.join("store"), KdfParams::INSECURE_FAST).unwrap();
    s.create_first_admin("Primera", PASS, now()).unwrap();
    let (_, office) = district();
    for role in Role::ALL {
        s.create_user(
            &NewUser {
                name: format!("Usuaria {role:?}"),
                login: login_of(role).into(),
                role,
                office_municipality: (role == Role::Caseworker).then(|| office.clone()),
                also_supervisor: false,
                passphrase: PASS.into(),
            },
            now(),
        )
        .unwrap();
    }
    // Each signs in once with the first passphrase and must change it before anything else.
    s.lock(now());
    for role in Role::ALL {
        let first = s.unlock(login_of(role), PASS, now()).unwrap();
        assert!(first.must_change_passphrase);
        assert!(matches!(
            s.caseload(&CaseQuery::default(), today()),
            Err(ApiError::PassphraseChangeRequired)
        ));
        let changed = s.change_own_passphrase(PASS, MINE).unwrap();
        assert!(!changed.must_change_passphrase);
        s.lock(now());
    }
    s.unlock("Primera", PASS, now()).unwrap();
    // Reception registers the two people (so they are in its scope today), then the first
    // admin works the case.
    s.lock(now());
    s.unlock(login_of(Role::Reception), MINE, now()).unwrap();
    let person = s.register_arrival(&arrival("Kevin"), now()).unwrap().person;
    let other = s
        .register_arrival(&arrival("Kevín"), now())
        .unwrap()
        .person
        .id;
    s.lock(now());
    s.unlock("Primera", PASS, now()).unwrap();
    let provider = s.providers().unwrap().remove(0);
    let referral = s
        .create_referral(
            &ReferralInput {
                person: person.id,
                service_type: ServiceType::Psychosocial,
                provider: Some(provider.id),
                priority: Priority::Normal,
                reason: "Apoyo".into(),
                business_idea: String::new(),
                seed_capital_usd: None,
            },
            now(),
        )
        .unwrap()
        .id;
    let follow_up = s
        .schedule_follow_up(
            &FollowUpInput {
                person: person.id,
                due_on: today(),
                channel: FollowUpChannel::Phone,
                referral: None,
            },
            now(),
        )
        .unwrap()
        .id;
    let planned = s
        .add_goal(
            person.id,
            &GoalInput {
                dimension: Dimension::Economic,
                description: "Empleo".into(),
                target_on: None,
            },
            now(),
        )
        .unwrap();
    let goal = planned.plan.as_ref().unwrap().goals[0].id;
    let consent = planned.consents[0].id;
    s.lock(now());
    (
        s,
        Case {
            person: planned,
            referral,
            follow_up,
            consent,
            goal,
            provider,
            other,
        },
    )
}

type Call = fn(&Session, &Case) -> Result<(), ApiError>;

/// Every command, with the permission the table must grant for it (`None`: any signed-in user).
fn commands() -> Vec<(&'static str, Option<Permission>, Call)> {
    use Permission::*;
    vec![
        ("caseload", Some(ReadCases), |s, _| {
            s.caseload(&CaseQuery::default(), today()).map(drop)
        }),
        ("person_detail", Some(ReadCases), |s, c| {
            s.person_detail(c.person.id, now()).map(drop)
        }),
        ("users", None, |s, _| s.users().map(drop)),
        ("providers", None, |s, _| s.providers().map(drop)),
        ("register_arrival", Some(RegisterArrivals), |s, _| {
            s.register_arrival(&arrival("Luis"), now()).map(drop)
        }),
        ("add_return_event", Some(RegisterArrivals), |s, c| {
            s.add_return_event(
                c.person.id,
                &return_input(),
                &[],
                &Default::default(),
                now(),
            )
            .map(drop)
        }),
        ("returning_suggestions", Some(RegisterArrivals), |s, _| {
            let q = SuggestionQuery {
                given_names: "Kevin".into(),
                first_surname: "López".into(),
                second_surname: String::new(),
                sex: None,
                birth_date: None,
                dui: String::new(),
            };
            s.returning_suggestions(&q, today()).map(drop)
        }),
        ("edit_contact", Some(EditCases), |s, c| {
            let input = ContactInput {
                beneficiary_type: c.person.beneficiary_type,
                first_contact: c.person.first_contact,
                given_names: c.person.given_names.clone(),
                first_surname: c.person.first_surname.clone(),
                second_surname: String::new(),
                sex: c.person.sex,
                birth_date: None,
                dui: String::new(),
                other_document: None,
                phone: "7000-0000".into(),
            };
            s.edit_contact(c.person.id, &input, now()).map(drop)
        }),
        ("edit_profile", Some(EditCases), |s, c| {
            let input = ProfileInput {
                origin_district: String::new(),
                destination_district: c.person.destination_district.clone(),
                education: None,
                occupation: "Albañil".into(),
                skills: vec![],
                household_notes: String::new(),
            };
            s.edit_profile(c.person.id, &input, now()).map(drop)
        }),
        ("edit_routing", Some(EditCases), |s, c| {
            s.edit_routing(
                c.person.id,
                &RoutingInput {
                    caseworker: None,
                    vulnerabilities: vec![],
                },
                now(),
            )
            .map(drop)
        }),
        ("edit_return_event", Some(EditCases), |s, c| {
            let id = s
                .person_detail(c.person.id, now())
                .map(|d| d.person.return_events.first().map(|r| r.id));
            match id {
                Ok(Some(id)) => s
                    .edit_return_event(c.person.id, id, &return_input(), now())
                    .map(drop),
                Ok(None) => s
                    .edit_return_event(
                        c.person.id,
                        reintegra_core::ids::ReturnEventId::new(uuid::Uuid::now_v7()),
                        &return_input(),
                        now(),
                    )
                    .map(drop),
                Err(e) => Err(e),
            }
        }),
        ("record_consent", Some(EditCases), |s, c| {
            s.record_consent(c.person.id, ConsentPurpose::FollowUpContact, today(), now())
                .map(drop)
        }),
        ("withdraw_consent", Some(EditCases), |s, c| {
            s.withdraw_consent(c.person.id, c.consent, today(), now())
                .map(drop)
        }),
        ("set_needs_assessment", Some(WorkPlans), |s, c| {
            s.set_needs_assessment(c.person.id, "Necesita empleo", now())
                .map(drop)
        }),
        ("add_goal", Some(WorkPlans), |s, c| {
            s.add_goal(
                c.person.id,
                &GoalInput {
                    dimension: Dimension::Social,
                    description: "Red de apoyo".into(),
                    target_on: None,
                },
                now(),
            )
            .map(drop)
        }),
        ("set_goal_status", Some(WorkPlans), |s, c| {
            s.set_goal_status(c.person.id, c.goal, GoalStatus::InProgress, now())
                .map(drop)
        }),
        ("close_case", Some(WorkPlans), |s, c| {
            s.close_case(c.person.id, ClosureReason::Reintegrated, now())
                .map(drop)
        }),
        ("reopen_case", Some(WorkPlans), |s, c| {
            s.reopen_case(c.person.id, now()).map(drop)
        }),
        ("referrals_of", Some(ManageReferrals), |s, c| {
            s.referrals_of(c.person.id).map(drop)
        }),
        ("create_referral", Some(ManageReferrals), |s, c| {
            s.create_referral(
                &ReferralInput {
                    person: c.person.id,
                    service_type: ServiceType::Vocational,
                    provider: None,
                    priority: Priority::Normal,
                    reason: "Curso".into(),
                    business_idea: String::new(),
                    seed_capital_usd: None,
                },
                now(),
            )
            .map(drop)
        }),
        ("move_referral", Some(ManageReferrals), |s, c| {
            s.move_referral(c.referral, ReferralStatus::Cancelled, None, None, now())
                .map(drop)
        }),
        ("record_disbursement", Some(ManageReferrals), |s, c| {
            s.record_disbursement(c.referral, 100, now()).map(drop)
        }),
        ("referral_slip", Some(ManageReferrals), |s, c| {
            s.referral_slip(c.referral, now()).map(drop)
        }),
        ("notes_of", Some(CaseNotes), |s, c| {
            s.notes_of(c.person.id, now()).map(drop)
        }),
        ("add_note", Some(CaseNotes), |s, c| {
            s.add_note(c.person.id, "Llamó hoy", true, now()).map(drop)
        }),
        ("follow_ups_of", Some(FollowUps), |s, c| {
            s.follow_ups_of(c.person.id).map(drop)
        }),
        ("schedule_follow_up", Some(FollowUps), |s, c| {
            s.schedule_follow_up(
                &FollowUpInput {
                    person: c.person.id,
                    due_on: today(),
                    channel: FollowUpChannel::Visit,
                    referral: None,
                },
                now(),
            )
            .map(drop)
        }),
        ("complete_follow_up", Some(FollowUps), |s, c| {
            s.complete_follow_up(c.follow_up, "Bien", None, now())
                .map(drop)
        }),
        ("today", Some(FollowUps), |s, _| s.today(7, now()).map(drop)),
        ("subject_access", Some(PersonalData), |s, c| {
            s.subject_access(c.person.id, now()).map(drop)
        }),
        ("subject_access_file", Some(PersonalData), |s, c| {
            s.subject_access_file(c.person.id, now()).map(drop)
        }),
        ("audit_log", Some(PersonalData), |s, _| {
            s.audit_log(&Default::default()).map(drop)
        }),
        ("indicators", Some(Reports), |s, _| {
            s.indicators(
                &IndicatorFilter::period(Period::Quarter {
                    year: 2026,
                    quarter: 4,
                }),
                now(),
            )
            .map(drop)
        }),
        ("export", Some(Reports), |s, _| {
            s.export(
                &ExportRequest {
                    what: ExportWhat::Referrals {
                        query: Default::default(),
                    },
                    format: ExportFormat::Csv,
                    deidentified: true,
                },
                now(),
            )
            .map(drop)
        }),
        ("export_tables", Some(Reports), |s, _| {
            s.export_tables(
                &ExportRequest {
                    what: ExportWhat::Indicators {
                        filter: IndicatorFilter::period(Period::Year { year: 2026 }),
                    },
                    format: ExportFormat::Xlsx,
                    deidentified: false,
                },
                now(),
            )
            .map(drop)
        }),
        ("import_preview", Some(ImportData), |s, _| {
            s.import_preview(&import_file(), &Default::default(), now())
                .map(drop)
        }),
        ("import_commit", Some(ImportData), |s, _| {
            s.import_commit(&import_file(), &Default::default(), now())
                .map(drop)
        }),
        ("import_undo", Some(ImportData), |s, _| {
            // Nothing to undo: refused, but as `cannot_undo`, past the permission check.
            match s.import_undo("0190b7a5-0000-7000-8000-000000000000", now()) {
                Err(ApiError::CannotUndo(_)) => Ok(()),
                other => other.map(drop),
            }
        }),
        ("import_preview_with_progress", Some(ImportData), |s, _| {
            s.import_preview_with_progress(&import_file(), &Default::default(), now(), &mut |_| {})
                .map(drop)
        }),
        ("import_commit_with_progress", Some(ImportData), |s, _| {
            s.import_commit_with_progress(&import_file(), &Default::default(), now(), &mut |_| {})
                .map(drop)
        }),
        ("import_error_report", Some(ImportData), |s, _| {
            s.import_error_report(&import_file(), &Default::default(), now())
                .map(drop)
        }),
        ("office_referrals", Some(ManageReferrals), |s, _| {
            s.office_referrals(&Default::default(), now()).map(drop)
        }),
        ("office_follow_ups", Some(FollowUps), |s, _| {
            s.office_follow_ups(&Default::default(), now()).map(drop)
        }),
        ("likely_duplicates", Some(DuplicateQueue), |s, _| {
            s.likely_duplicates(now()).map(drop)
        }),
        ("mark_not_same_person", Some(DuplicateQueue), |s, c| {
            s.mark_not_same_person(c.person.id, c.other, now())
        }),
        ("merge_persons", Some(DuplicateQueue), |s, c| {
            s.merge_persons(c.person.id, c.other, now()).map(drop)
        }),
        ("save_provider", Some(EditDirectory), |s, c| {
            s.save_provider(&c.provider, now()).map(drop)
        }),
        ("delete_provider", Some(EditDirectory), |s, c| {
            s.delete_provider(c.provider.id, now())
        }),
        ("sync_view", Some(Sync), |s, _| s.sync_view().map(drop)),
        ("sync_now", Some(Sync), |s, _| {
            s.sync_now(now(), &mut |_| {}).map(drop)
        }),
        ("sync_in_background", Some(Sync), |s, _| {
            s.sync_in_background(now()).map(drop)
        }),
        ("sync_enroll", Some(ManageDevice), |s, _| {
            s.sync_enroll("http://127.0.0.1:9", "AAAA-BBBB", "caja")
                .map(drop)
        }),
        ("sync_conflicts", Some(ResolveConflicts), |s, _| {
            s.sync_conflicts().map(drop)
        }),
        ("sync_resolve_conflict", Some(ResolveConflicts), |s, _| {
            s.sync_resolve_conflict(
                "0190a1b2-c3d4-7e5f-8a6b-7c8d9e0f0001",
                serde_json::json!(1),
                now(),
            )
            .map(drop)
        }),
        ("sync_retry_quarantined", Some(ResolveConflicts), |s, _| {
            s.sync_retry_quarantined("0190a1b2-c3d4-7e5f-8a6b-7c8d9e0f0001", now())
                .map(drop)
        }),
        (
            "sync_discard_quarantined",
            Some(ResolveConflicts),
            |s, _| {
                s.sync_discard_quarantined(
                    "0190a1b2-c3d4-7e5f-8a6b-7c8d9e0f0001",
                    "duplicado",
                    now(),
                )
                .map(drop)
            },
        ),
        ("create_user", Some(ManageUsers), |s, _| {
            s.create_user(
                &NewUser {
                    name: "Nueva".into(),
                    login: format!("nueva{}", uuid::Uuid::now_v7().simple()),
                    role: Role::Caseworker,
                    office_municipality: None,
                    also_supervisor: false,
                    passphrase: PASS.into(),
                },
                now(),
            )
            .map(drop)
        }),
        ("set_user_active", Some(ManageUsers), |s, _| {
            s.set_user_active(UserId::new(uuid::Uuid::now_v7()), false, None, now())
                .map(drop)
        }),
        ("set_user_passphrase", Some(ManageUsers), |s, _| {
            s.set_user_passphrase(UserId::new(uuid::Uuid::now_v7()), PASS, now())
        }),
        ("change_own_passphrase", None, |s, _| {
            s.change_own_passphrase("wrong-old-passphrase", PASS)
                .map(drop)
        }),
    ]
}

#[test]
fn every_command_answers_every_role_as_the_permission_table_says() {
    let mut wrong = Vec::new();
    for role in Role::ALL {
        // A fresh team per role: a command that succeeds must not change what the next sees.
        let dir = tempfile::tempdir().unwrap();
        let (s, case) = team(dir.path());
        s.unlock(login_of(role), MINE, now()).unwrap();
        for (name, permission, call) in commands() {
            let allowed = permission.is_none_or(|p| role.may(p));
            let forbidden = matches!(call(&s, &case), Err(ApiError::Forbidden));
            if forbidden == allowed {
                wrong.push(format!(
                    "{role:?} {name}: allowed by the table = {allowed}, forbidden = {forbidden}"
                ));
            }
        }
    }
    assert!(
        wrong.is_empty(),
        "the api disagrees with the table:\n{}",
        wrong.join("\n")
    );
}

#[test]
fn reception_sees_only_what_it_registered_today_and_no_plan() {
    let dir = tempfile::tempdir().unwrap();
    let (s, case) = team(dir.path());
    // The first admin's registration is not in reception's scope.
    s.unlock("Primera", PASS, now()).unwrap();
    let theirs = s.register_arrival(&arrival("Óscar"), now()).unwrap().person;
    s.lock(now());
    s.unlock(login_of(Role::Reception), MINE, now()).unwrap();
    assert!(matches!(
        s.person_detail(theirs.id, now()),
        Err(ApiError::Forbidden)
    ));
    let mine = s.register_arrival(&arrival("Marta"), now()).unwrap().person;
    let page = s.caseload(&CaseQuery::default(), today()).unwrap();
    let ids: Vec<PersonId> = page.rows.iter().map(|r| r.id).collect();
    assert!(ids.contains(&mine.id) && ids.contains(&case.person.id));
    assert!(!ids.contains(&theirs.id));
    assert!(s
        .person_detail(case.person.id, now())
        .unwrap()
        .person
        .plan
        .is_none());
    assert!(
        case.person.plan.is_some(),
        "the plan exists, reception just does not see it"
    );
    let tomorrow = today().succ_opt().unwrap();
    assert_eq!(
        s.caseload(&CaseQuery::default(), tomorrow).unwrap().total,
        0
    );
}

#[test]
fn a_caseworker_works_only_their_office_and_reads_no_one_elses_sensitive_note() {
    let dir = tempfile::tempdir().unwrap();
    let (s, case) = team(dir.path());
    // The first admin (also a supervisor) writes a sensitive note; a plain admin may not read it.
    s.unlock("Primera", PASS, now()).unwrap();
    s.add_note(case.person.id, "Sobreviviente de violencia", true, now())
        .unwrap();
    let mut elsewhere = arrival("Rosa");
    elsewhere.destination_district = Territory::el_salvador()
        .places()
        .find(|p| p.municipality_code != district().1)
        .unwrap()
        .district_code
        .clone();
    let far = s.register_arrival(&elsewhere, now()).unwrap().person;
    s.lock(now());

    s.unlock(login_of(Role::Caseworker), MINE, now()).unwrap();
    let notes = s.notes_of(case.person.id, now()).unwrap();
    assert_eq!(
        (notes.notes.len(), notes.hidden),
        (1, 0),
        "caseworkers read case notes"
    );
    assert!(matches!(
        s.person_detail(far.id, now()),
        Err(ApiError::Forbidden)
    ));
    assert!(matches!(
        s.notes_of(far.id, now()),
        Err(ApiError::Forbidden)
    ));
    let ids: Vec<_> = s
        .caseload(&CaseQuery::default(), today())
        .unwrap()
        .rows
        .iter()
        .map(|r| r.id)
        .collect();
    assert!(ids.contains(&case.person.id) && !ids.contains(&far.id));
    s.lock(now());

    s.unlock(login_of(Role::Admin), MINE, now()).unwrap();
    assert!(matches!(
        s.notes_of(case.person.id, now()),
        Err(ApiError::Forbidden)
    ));
}

#[test]
fn a_deactivated_user_cannot_unlock_and_the_change_is_audited() {
    let dir = tempfile::tempdir().unwrap();
    let (s, _) = team(dir.path());
    s.unlock("Primera", PASS, now()).unwrap();
    let gestora = s
        .users()
        .unwrap()
        .into_iter()
        .find(|u| u.login == "gestora")
        .unwrap();
    s.set_user_active(gestora.id, false, None, now()).unwrap();
    assert!(matches!(
        s.set_user_active(s.current().user.unwrap().id, false, None, now()),
        Err(ApiError::OwnAccount)
    ));
    let detail_audit = s
        .users()
        .unwrap()
        .into_iter()
        .find(|u| u.id == gestora.id)
        .unwrap();
    assert!(!detail_audit.active);
    s.lock(now());
    assert!(matches!(
        s.unlock("gestora", MINE, now()),
        Err(ApiError::WrongCredentials)
    ));
    s.unlock("Primera", PASS, now()).unwrap();
    s.set_user_active(gestora.id, true, Some("otra-clave-segura"), now())
        .unwrap();
    s.lock(now());
    let back = s.unlock("gestora", "otra-clave-segura", now()).unwrap();
    assert!(
        back.must_change_passphrase,
        "a passphrase an admin set must be changed"
    );
}

/// Every `pub fn` of `impl Session` is in the matrix above (or is the session itself).
#[test]
fn every_session_command_has_a_row_in_the_matrix() {
    const SESSION_ITSELF: [&str; 15] = [
        "open",
        "current",
        "touch",
        "lock_if_idle",
        "revoked",
        "forget_revocation",
        "create_first_admin",
        "join_office",
        "device_users",
        "unlock",
        "unlock_slot",
        "lock",
        "status",
        "dir",
        "sync_due",
    ];
    let known: Vec<&str> = commands().iter().map(|(n, _, _)| *n).collect();
    let src = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("src");
    let mut missing = Vec::new();
    // Every source file, in folders too (a module with submodules, like `imports/`).
    let mut dirs = vec![src];
    let mut files = Vec::new();
    while let Some(dir) = dirs.pop() {
        for entry in std::fs::read_dir(dir).unwrap() {
            let path = entry.unwrap().path();
            if path.is_dir() {
                dirs.push(path);
            } else {
                files.push(path);
            }
        }
    }
    for path in files {
        let text = std::fs::read_to_string(path).unwrap();
        let Some(start) = text.find("impl Session {") else {
            continue;
        };
        for line in text[start..].lines() {
            let Some(rest) = line.strip_prefix("    pub fn ") else {
                continue;
            };
            let name = rest.split(['(', '<']).next().unwrap();
            if !known.contains(&name) && !SESSION_ITSELF.contains(&name) {
                missing.push(name.to_string());
            }
        }
    }
    assert!(
        missing.is_empty(),
        "commands without a permission rule in this test: {missing:?}"
    );
}
