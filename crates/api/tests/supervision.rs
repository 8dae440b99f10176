//! Supervision on real encrypted stores: the indicators (scope by office), the office-wide
//! referral and follow-up lists, and the exports.
#![allow(clippy::unwrap_used)] // tests may unwrap

use chrono::{DateTime, Duration, NaiveDate, TimeZone, Utc};
use reintegra_api::{
    today_in_el_salvador, ApiError, ArrivalInput, FollowUpInput, FollowUpQuery, KdfParams, NewUser,
    ReferralInput, ReferralQuery, ReturnInput, Session,
};
use reintegra_core::follow_up::FollowUpChannel;
use reintegra_core::indicators::{IndicatorFilter, Period};
use reintegra_core::person::{Person, Sex};
use reintegra_core::referral::{Priority, ReferralStatus, ServiceType};
use reintegra_core::return_event::{ReceptionCenter, ReturnModality, TravelCompanion};
use reintegra_core::territory::Territory;
use reintegra_core::user::Role;

const PASS: &str = "clave-segura-de-prueba";

fn now() -> DateTime<Utc> {
    Utc.with_ymd_and_hms(2026, 8, 20, 15, 0, 0).unwrap()
}

fn today() -> NaiveDate {
    today_in_el_salvador(now())
}

fn district(name: &str) -> (String, String) {
    let place = Territory::el_salvador()
        .places()
        .find(|p| p.district_name == name)
        .unwrap();
    (place.district_code.clone(), place.municipality_code.clone())
}

fn arrival(given: &str, surname: &str, sex: Sex, district_name: &str, phone: &str) -> ArrivalInput {
    ArrivalInput {
        beneficiary_type: Default::default(),
        first_contact: Default::default(),
        given_names: given.into(),
        first_surname: surname.into(),
        second_surname: String::new(),
        sex: Some(sex),
        birth_date: None,
        dui: String::new(),
        other_document: None,
        phone: phone.into(),
        education: None,
        occupation: String::new(),
        origin_district: String::new(),
        destination_district: district(district_name).0,
        return_event: Some(ReturnInput {
            date: today() - Duration::days(10),
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
        consent_referral_sharing: true,
        family_of: None,
        caseworker: None,
    }
}

/// A central first admin (also supervisor) with three people: two in Jiquilisco (Usulután
/// Oeste), one in San Salvador; a referral and a follow-up each; and a supervisor of Usulután
/// Oeste.
pub struct Office {
    pub s: Session,
    pub persons: Vec<Person>,
}

pub fn office(dir: &std::path::Path) -> Office {
    let s = Session::open(dir.join("store"), KdfParams::INSECURE_FAST).unwrap();
    s.create_first_admin("Central", PASS, now()).unwrap();
    s.create_user(
        &NewUser {
            name: "Supervisora Oeste".into(),
            login: "oeste".into(),
            role: Role::Supervisor,
            office_municipality: Some(district("Jiquilisco").1),
            also_supervisor: false,
            passphrase: PASS.into(),
        },
        now(),
    )
    .unwrap();
    let people = [
        arrival(
            "=HYPERLINK(\"http://x\")",
            "López",
            Sex::Female,
            "Jiquilisco",
            "7123-4567",
        ),
        arrival("Kevin", "+1 Díaz", Sex::Male, "Jiquilisco", "7000-0001"),
        arrival("Rosa", "@SUM(A1)", Sex::Female, "San Salvador", "7000-0002"),
    ];
    let provider = s.providers().unwrap().remove(0);
    let mut persons = Vec::new();
    for (n, a) in people.iter().enumerate() {
        let p = s.register_arrival(a, now()).unwrap().person;
        let r = s
            .create_referral(
                &ReferralInput {
                    person: p.id,
                    service_type: if n == 2 {
                        ServiceType::Vocational
                    } else {
                        ServiceType::Psychosocial
                    },
                    provider: Some(provider.id),
                    priority: Priority::Normal,
                    reason: "-1+1 apoyo".into(),
                    business_idea: String::new(),
                    seed_capital_usd: None,
                },
                now(),
            )
            .unwrap();
        if n == 0 {
            s.move_referral(r.id, ReferralStatus::Sent, None, None, now())
                .unwrap();
        }
        s.schedule_follow_up(
            &FollowUpInput {
                person: p.id,
                due_on: today() + Duration::days(n as i64),
                channel: FollowUpChannel::Phone,
                referral: None,
            },
            now(),
        )
        .unwrap();
        persons.push(p);
    }
    Office { s, persons }
}

pub fn q3() -> IndicatorFilter {
    IndicatorFilter::period(Period::Quarter {
        year: 2026,
        quarter: 3,
    })
}

pub fn sign_in_as_office_supervisor(s: &Session) {
    s.lock(now());
    s.unlock("oeste", PASS, now()).unwrap();
    s.change_own_passphrase(PASS, "otra-clave-segura-2")
        .unwrap();
}

#[test]
fn indicators_from_the_store_follow_the_office_scope() {
    let dir = tempfile::tempdir().unwrap();
    let o = office(dir.path());
    let all = o.s.indicators(&q3(), now()).unwrap();
    assert_eq!(
        (
            all.assisted_people,
            all.return_events,
            all.new_cases,
            all.open_cases
        ),
        (3, 3, 3, 3)
    );
    assert_eq!(
        (all.referrals, all.referred_people, all.completed_services),
        (3, 3, 0)
    );
    assert_eq!(all.median_days_to_first_referral, Some(10.0));
    let psy = &all.by_service[0];
    assert_eq!(
        (psy.referrals, psy.by_status[0], psy.by_status[1]),
        (2, 1, 1)
    );
    assert_eq!(all.by_sex[0].people, 2, "two women");

    let mut female = q3();
    female.sex = Some(Sex::Female);
    female.municipality = Some(district("Jiquilisco").1);
    assert_eq!(o.s.indicators(&female, now()).unwrap().assisted_people, 1);

    let mut bad = q3();
    bad.period = Period::Month {
        year: 2026,
        month: 13,
    };
    assert!(matches!(
        o.s.indicators(&bad, now()),
        Err(ApiError::InvalidPeriod)
    ));

    // The office's supervisor sees only Usulután Oeste, and may not ask for another office.
    sign_in_as_office_supervisor(&o.s);
    let mine = o.s.indicators(&q3(), now()).unwrap();
    assert_eq!((mine.assisted_people, mine.referrals), (2, 2));
    assert_eq!(mine.filter.municipality, Some(district("Jiquilisco").1));
    let mut other = q3();
    other.municipality = Some(district("San Salvador").1);
    assert!(matches!(
        o.s.indicators(&other, now()),
        Err(ApiError::Forbidden)
    ));
}

#[test]
fn office_wide_lists_are_paged_filtered_and_scoped() {
    let dir = tempfile::tempdir().unwrap();
    let o = office(dir.path());
    let later = now() + Duration::days(3);
    let all =
        o.s.office_referrals(&ReferralQuery::default(), later)
            .unwrap();
    assert_eq!(all.total, 3);
    assert_eq!(
        all.rows.iter().map(|r| r.days_waiting).collect::<Vec<_>>(),
        [3, 3, 3]
    );
    let sent =
        o.s.office_referrals(
            &ReferralQuery {
                status: Some(ReferralStatus::Sent),
                ..Default::default()
            },
            later,
        )
        .unwrap();
    assert_eq!(sent.total, 1);
    assert_eq!(sent.rows[0].person, o.persons[0].id);
    assert!(!sent.rows[0].provider_name.is_empty());
    let vocational =
        o.s.office_referrals(
            &ReferralQuery {
                service_type: Some(ServiceType::Vocational),
                open_only: true,
                ..Default::default()
            },
            later,
        )
        .unwrap();
    assert_eq!(vocational.total, 1);
    let second_page =
        o.s.office_referrals(
            &ReferralQuery {
                offset: 2,
                limit: 2,
                ..Default::default()
            },
            later,
        )
        .unwrap();
    assert_eq!((second_page.total, second_page.rows.len()), (3, 1));
    let waiting = ReferralQuery {
        min_days_waiting: Some(4),
        ..Default::default()
    };
    assert_eq!(o.s.office_referrals(&waiting, later).unwrap().total, 0);

    // Follow-ups were due today, tomorrow and the day after.
    let due = |q: FollowUpQuery| o.s.office_follow_ups(&q, now()).unwrap();
    assert_eq!(due(FollowUpQuery::default()).total, 1, "due today");
    let week = due(FollowUpQuery {
        within_days: 7,
        ..Default::default()
    });
    assert_eq!(week.total, 3);
    assert!(week.rows.windows(2).all(|w| w[0].due_on <= w[1].due_on));
    let overdue =
        o.s.office_follow_ups(
            &FollowUpQuery {
                overdue_only: true,
                ..Default::default()
            },
            later,
        )
        .unwrap();
    assert_eq!(overdue.total, 3);
    assert_eq!(overdue.rows[0].days_overdue, 3, "most overdue first");

    sign_in_as_office_supervisor(&o.s);
    assert_eq!(
        o.s.office_referrals(&ReferralQuery::default(), later)
            .unwrap()
            .total,
        2
    );
    let mine =
        o.s.office_follow_ups(
            &FollowUpQuery {
                within_days: 7,
                ..Default::default()
            },
            now(),
        )
        .unwrap();
    assert_eq!(mine.total, 2, "San Salvador's is not this office's");
}
