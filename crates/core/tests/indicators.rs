//! The indicators against a hand-built fixture in which every number is known: six people,
//! one who returned twice in the quarter, one who returned before and in it, one minor alone,
//! one family member who never returned, one only before and one only after the quarter.
#![allow(clippy::unwrap_used)] // tests may unwrap

use chrono::{NaiveDate, TimeZone, Utc};
use reintegra_core::follow_up::{FollowUp, FollowUpChannel};
use reintegra_core::ids::{FollowUpId, PersonId, ReferralId, ReturnEventId, UserId};
use reintegra_core::indicators::{
    compute, median, AgeGroup, FollowUpFacts, IndicatorFilter, Indicators, Period, PersonFacts,
    ReferralFacts,
};
use reintegra_core::person::{BeneficiaryType, BirthDate, ClosureReason, Person, Sex};
use reintegra_core::referral::{Referral, ReferralStatus, ReferralStep, ServiceType};
use reintegra_core::return_event::{ReceptionCenter, ReturnEvent, ReturnModality, TravelCompanion};
use reintegra_core::vulnerability::Vulnerability;
use uuid::Uuid;

const JIQUILISCO: &str = "SV-US-jiquilisco";
const SAN_SALVADOR: &str = "SV-SS-san-salvador";

fn day(y: i32, m: u32, d: u32) -> NaiveDate {
    NaiveDate::from_ymd_opt(y, m, d).unwrap()
}

/// Noon in El Salvador on that day.
fn at(d: NaiveDate) -> chrono::DateTime<Utc> {
    Utc.from_utc_datetime(&d.and_hms_opt(18, 0, 0).unwrap())
}

fn id(n: u128) -> Uuid {
    Uuid::from_u128(n)
}

struct P {
    n: u128,
    sex: Option<Sex>,
    born: Option<NaiveDate>,
    kind: BeneficiaryType,
    district: &'static str,
    returns: Vec<(NaiveDate, TravelCompanion)>,
    created: NaiveDate,
    closed: Option<NaiveDate>,
    vulnerabilities: Vec<Vulnerability>,
}

fn person(p: P) -> Person {
    let mut out = Person::new(PersonId::new(id(p.n)), "Nombre", "Apellido", at(p.created));
    out.sex = p.sex;
    out.birth_date = p.born.map(|date| BirthDate::Exact { date });
    out.beneficiary_type = p.kind;
    out.destination_district = p.district.into();
    out.vulnerabilities = p.vulnerabilities;
    for (i, (date, travelled)) in p.returns.into_iter().enumerate() {
        out.add_return(ReturnEvent {
            id: ReturnEventId::new(id(p.n * 100 + i as u128)),
            date,
            modality: ReturnModality::Air,
            country_from: "US".into(),
            reception_center: ReceptionCenter::Gami,
            custody_days: None,
            travelled,
            assistance: vec![],
            assistance_notes: String::new(),
        });
    }
    if let Some(on) = p.closed {
        out.close(ClosureReason::Reintegrated, on);
    }
    out
}

fn referral(
    n: u128,
    person: u128,
    service: ServiceType,
    steps: &[(ReferralStatus, NaiveDate)],
) -> Referral {
    let mut r = Referral::propose(
        ReferralId::new(id(n)),
        PersonId::new(id(person)),
        service,
        at(steps[0].1),
        UserId::new(id(999)),
    );
    r.history = steps
        .iter()
        .map(|(status, d)| ReferralStep {
            status: *status,
            at: at(*d),
            by: UserId::new(id(999)),
            note: None,
        })
        .collect();
    r
}

fn follow_up(n: u128, person: u128, due: NaiveDate, done: Option<NaiveDate>) -> FollowUp {
    let mut f = FollowUp::new(
        FollowUpId::new(id(n)),
        PersonId::new(id(person)),
        due,
        FollowUpChannel::Phone,
    );
    if let Some(on) = done {
        f.complete(on, "Bien");
    }
    f
}

const A: u128 = 1;
const B: u128 = 2;
const C: u128 = 3;
const D: u128 = 4;
const E: u128 = 5;
const F: u128 = 6;

fn fixture() -> (Vec<PersonFacts>, Vec<ReferralFacts>, Vec<FollowUpFacts>) {
    use ReferralStatus::*;
    use TravelCompanion::*;
    let persons = [
        // A: a woman of 36 who returned twice in the quarter.
        person(P {
            n: A,
            sex: Some(Sex::Female),
            born: Some(day(1990, 5, 1)),
            kind: BeneficiaryType::ReturnedMigrant,
            district: JIQUILISCO,
            returns: vec![(day(2026, 7, 10), Alone), (day(2026, 8, 20), Alone)],
            created: day(2026, 7, 10),
            closed: None,
            vulnerabilities: vec![Vulnerability::ChronicIllness],
        }),
        // B: a boy of 16 who travelled alone; his case closed in September.
        person(P {
            n: B,
            sex: Some(Sex::Male),
            born: Some(day(2010, 3, 1)),
            kind: BeneficiaryType::ReturnedMigrant,
            district: SAN_SALVADOR,
            returns: vec![(day(2026, 7, 5), UnaccompaniedMinor)],
            created: day(2026, 7, 5),
            closed: Some(day(2026, 9, 10)),
            vulnerabilities: vec![Vulnerability::UnaccompaniedChild],
        }),
        // C: a man of 66 who returned in April and again in September.
        person(P {
            n: C,
            sex: Some(Sex::Male),
            born: Some(day(1960, 1, 1)),
            kind: BeneficiaryType::ReturnedMigrant,
            district: JIQUILISCO,
            returns: vec![(day(2026, 4, 1), WithFamily), (day(2026, 9, 1), WithFamily)],
            created: day(2026, 4, 1),
            closed: None,
            vulnerabilities: vec![],
        }),
        // D: a family member, no birth date, never returned, registered in August.
        person(P {
            n: D,
            sex: Some(Sex::Female),
            born: None,
            kind: BeneficiaryType::FamilyMember,
            district: SAN_SALVADOR,
            returns: vec![],
            created: day(2026, 8, 5),
            closed: None,
            vulnerabilities: vec![],
        }),
        // E: returned in June only, closed in June.
        person(P {
            n: E,
            sex: Some(Sex::Male),
            born: Some(day(1995, 2, 2)),
            kind: BeneficiaryType::ReturnedMigrant,
            district: JIQUILISCO,
            returns: vec![(day(2026, 6, 15), Alone)],
            created: day(2026, 6, 15),
            closed: Some(day(2026, 6, 30)),
            vulnerabilities: vec![],
        }),
        // F: returned in October, after the quarter.
        person(P {
            n: F,
            sex: Some(Sex::Female),
            born: Some(day(2000, 1, 1)),
            kind: BeneficiaryType::ReturnedMigrant,
            district: JIQUILISCO,
            returns: vec![(day(2026, 10, 2), Alone)],
            created: day(2026, 10, 2),
            closed: None,
            vulnerabilities: vec![],
        }),
    ];
    let referrals = [
        referral(
            11,
            A,
            ServiceType::Psychosocial,
            &[
                (Proposed, day(2026, 7, 15)),
                (Sent, day(2026, 7, 16)),
                (Accepted, day(2026, 7, 17)),
                (InProgress, day(2026, 7, 18)),
                (Completed, day(2026, 8, 1)),
            ],
        ),
        referral(
            12,
            A,
            ServiceType::Vocational,
            &[(Proposed, day(2026, 7, 20)), (Sent, day(2026, 7, 21))],
        ),
        referral(
            21,
            B,
            ServiceType::Psychosocial,
            &[
                (Proposed, day(2026, 7, 9)),
                (Sent, day(2026, 7, 9)),
                (Accepted, day(2026, 7, 10)),
                (InProgress, day(2026, 7, 11)),
                (Completed, day(2026, 7, 30)),
            ],
        ),
        referral(
            31,
            C,
            ServiceType::Employment,
            &[
                (Proposed, day(2026, 9, 11)),
                (Sent, day(2026, 9, 12)),
                (Accepted, day(2026, 9, 20)),
            ],
        ),
        referral(
            41,
            D,
            ServiceType::Health,
            &[
                (Proposed, day(2026, 8, 10)),
                (Sent, day(2026, 8, 10)),
                (Accepted, day(2026, 8, 11)),
                (InProgress, day(2026, 8, 12)),
                (Completed, day(2026, 9, 15)),
            ],
        ),
        referral(
            51,
            E,
            ServiceType::Vocational,
            &[(Proposed, day(2026, 6, 20))],
        ),
    ];
    let follow_ups = [
        follow_up(101, A, day(2026, 9, 20), None),
        follow_up(102, A, day(2026, 9, 25), Some(day(2026, 10, 5))),
        follow_up(103, B, day(2026, 9, 1), Some(day(2026, 9, 2))),
        follow_up(104, D, day(2026, 10, 10), None),
        follow_up(105, C, day(2026, 9, 30), None),
    ];
    (
        persons.iter().map(PersonFacts::of).collect(),
        referrals.iter().map(ReferralFacts::of).collect(),
        follow_ups.iter().map(FollowUpFacts::of).collect(),
    )
}

const Q3: Period = Period::Quarter {
    year: 2026,
    quarter: 3,
};

fn run(filter: IndicatorFilter) -> Indicators {
    let (persons, referrals, follow_ups) = fixture();
    let persons: Vec<&PersonFacts> = persons.iter().collect();
    compute(
        &filter,
        &persons,
        &referrals,
        &follow_ups,
        day(2026, 10, 15),
    )
    .unwrap()
}

fn people(rows: &[reintegra_core::indicators::Count], key: &str) -> (u32, u32) {
    rows.iter()
        .find(|r| r.key == key)
        .map_or((0, 0), |r| (r.people, r.services))
}

#[test]
fn the_quarter_counts_people_once_and_services_each() {
    let i = run(IndicatorFilter::period(Q3));
    assert_eq!((i.from, i.to), (day(2026, 7, 1), day(2026, 9, 30)));
    assert_eq!(i.assisted_people, 3, "A, B, C; A returned twice");
    assert_eq!(i.return_events, 4, "A twice, B, C once in the quarter");
    assert_eq!(i.new_cases, 3, "A, B, D");
    assert_eq!(i.open_cases, 3, "A, C, D on 30 September");
    assert_eq!(i.closed_cases, 1, "B");
    assert_eq!(i.referrals, 5);
    assert_eq!(i.referred_people, 4);
    assert_eq!(i.completed_services, 3);
    assert_eq!(i.served_people, 3);
    assert_eq!(i.overdue_follow_ups, 2, "A's two, pending on 30 September");
    assert_eq!(i.unaccompanied_minors, 1);
    assert_eq!(i.median_days_to_first_referral, Some(5.0), "4, 5, 10");
    assert_eq!(i.median_days_to_first_completed, Some(23.5), "22, 25");

    assert_eq!(people(&i.by_sex, "female"), (1, 2));
    assert_eq!(people(&i.by_sex, "male"), (2, 2));
    assert_eq!(people(&i.by_sex, "unknown"), (0, 0));
    assert_eq!(people(&i.by_age_group, "age_30_59"), (1, 2));
    assert_eq!(people(&i.by_age_group, "age_12_17"), (1, 1));
    assert_eq!(people(&i.by_age_group, "age_60_plus"), (1, 1));
    assert_eq!(people(&i.by_age_group, "age_18_29"), (0, 0));
    assert_eq!(people(&i.by_beneficiary_type, "returned_migrant"), (3, 4));
    assert_eq!(people(&i.by_beneficiary_type, "family_member"), (0, 0));
    assert_eq!(people(&i.by_vulnerability, "chronic_illness"), (1, 2));
    assert_eq!(people(&i.by_vulnerability, "unaccompanied_child"), (1, 1));
    assert_eq!(people(&i.by_department, "SV-US"), (2, 3));
    assert_eq!(people(&i.by_department, "SV-SS"), (1, 1));
    assert_eq!(people(&i.by_municipality, "SV-US-oeste"), (2, 3));
    assert_eq!(people(&i.by_municipality, "SV-SS-centro"), (1, 1));
    assert_eq!(people(&i.by_district, JIQUILISCO), (2, 3));
    let names: Vec<&str> = i.by_municipality.iter().map(|r| r.name.as_str()).collect();
    assert_eq!(names, ["San Salvador Centro", "Usulután Oeste"]);

    let service = |s: ServiceType| i.by_service.iter().find(|r| r.service_type == s).unwrap();
    let psy = service(ServiceType::Psychosocial);
    assert_eq!(
        (
            psy.people,
            psy.referrals,
            psy.completed,
            psy.completed_people
        ),
        (2, 2, 2, 2)
    );
    assert_eq!(psy.by_status, [0, 0, 0, 0, 2, 0, 0]);
    let voc = service(ServiceType::Vocational);
    assert_eq!(
        (voc.people, voc.referrals, voc.completed),
        (1, 1, 0),
        "E's is in June"
    );
    assert_eq!(voc.by_status, [0, 1, 0, 0, 0, 0, 0]);
    assert_eq!(
        service(ServiceType::Employment).by_status,
        [0, 0, 1, 0, 0, 0, 0]
    );
    assert_eq!(service(ServiceType::Health).completed, 1);
    assert_eq!(i.by_service.len(), ServiceType::ALL.len());
}

#[test]
fn each_filter_chooses_persons() {
    let mut f = IndicatorFilter::period(Q3);
    f.sex = Some(Sex::Female);
    let i = run(f);
    assert_eq!(
        (
            i.assisted_people,
            i.return_events,
            i.new_cases,
            i.open_cases,
            i.closed_cases
        ),
        (1, 2, 2, 2, 0),
        "A (and D, F who did not return in the quarter)"
    );
    assert_eq!(
        (i.referrals, i.referred_people, i.completed_services),
        (3, 2, 2)
    );
    assert_eq!(i.overdue_follow_ups, 2);
    assert_eq!(i.median_days_to_first_referral, Some(5.0));
    assert_eq!(i.median_days_to_first_completed, Some(22.0));

    let mut f = IndicatorFilter::period(Q3);
    f.municipality = Some("SV-SS-centro".into());
    let i = run(f);
    assert_eq!(
        (i.assisted_people, i.new_cases, i.open_cases),
        (1, 2, 1),
        "B; B and D; D"
    );
    assert_eq!(
        (i.referrals, i.completed_services, i.unaccompanied_minors),
        (2, 2, 1)
    );

    let mut f = IndicatorFilter::period(Q3);
    f.department = Some("SV-US".into());
    let i = run(f);
    assert_eq!((i.assisted_people, i.return_events, i.referrals), (2, 3, 3));

    let mut f = IndicatorFilter::period(Q3);
    f.age_group = Some(AgeGroup::Age60Plus);
    let i = run(f);
    assert_eq!(
        (i.assisted_people, i.new_cases, i.open_cases, i.referrals),
        (1, 0, 1, 1),
        "C"
    );
    assert_eq!(i.median_days_to_first_referral, Some(10.0));

    let mut f = IndicatorFilter::period(Q3);
    f.age_group = Some(AgeGroup::Unknown);
    assert_eq!(run(f).new_cases, 1, "D has no birth date");

    let mut f = IndicatorFilter::period(Q3);
    f.vulnerability = Some(Vulnerability::UnaccompaniedChild);
    let i = run(f);
    assert_eq!(
        (i.assisted_people, i.unaccompanied_minors, i.closed_cases),
        (1, 1, 1)
    );

    let mut f = IndicatorFilter::period(Q3);
    f.beneficiary_type = Some(BeneficiaryType::FamilyMember);
    let i = run(f);
    assert_eq!(
        (
            i.assisted_people,
            i.new_cases,
            i.referrals,
            i.completed_services
        ),
        (0, 1, 1, 1)
    );
    assert_eq!(i.median_days_to_first_referral, None, "D never returned");

    // Two filters at once.
    let mut f = IndicatorFilter::period(Q3);
    f.sex = Some(Sex::Male);
    f.department = Some("SV-US".into());
    assert_eq!(run(f).assisted_people, 1, "C");
}

#[test]
fn other_periods() {
    let i = run(IndicatorFilter::period(Period::Month {
        year: 2026,
        month: 7,
    }));
    assert_eq!(
        (
            i.assisted_people,
            i.return_events,
            i.referrals,
            i.completed_services
        ),
        (2, 2, 3, 1),
        "B, A; A twice and B; B's completed, A's is in August"
    );
    assert_eq!(i.overdue_follow_ups, 0);
    let i = run(IndicatorFilter::period(Period::Year { year: 2026 }));
    assert_eq!(
        (
            i.assisted_people,
            i.return_events,
            i.new_cases,
            i.closed_cases
        ),
        (5, 7, 6, 2)
    );
    assert_eq!(i.open_cases, 4, "A, C, D, F at the year's end");
    assert_eq!(
        i.overdue_follow_ups, 3,
        "on 15 October: A's first, D's, C's"
    );
    let i = run(IndicatorFilter::period(Period::Custom {
        from: day(2026, 8, 20),
        to: day(2026, 8, 20),
    }));
    assert_eq!((i.assisted_people, i.return_events), (1, 1));
}

#[test]
fn periods_parse_and_label() {
    for text in ["2026", "2026-Q3", "2026-07", "2026-07-01..2026-07-15"] {
        assert_eq!(Period::parse(text).unwrap().label(), text);
    }
    assert_eq!(Period::parse("2026-t3"), Some(Q3));
    assert_eq!(
        Period::parse("2024-Q1").unwrap().range(),
        Some((day(2024, 1, 1), day(2024, 3, 31)))
    );
    assert_eq!(
        Period::parse("2024-02").unwrap().range(),
        Some((day(2024, 2, 1), day(2024, 2, 29)))
    );
    for bad in ["2026-Q5", "2026-13", "julio", "2026-09-01..2026-08-01", ""] {
        assert_eq!(Period::parse(bad), None, "{bad}");
    }
    assert_eq!(median(vec![]), None);
    assert_eq!(median(vec![3, 1, 2, 10]), Some(2.5));
}
