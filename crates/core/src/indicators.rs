//! The program's indicators, computed from plain facts about persons, referrals and follow-ups
//! (no IO, no clock: the caller passes the records it may see and the day it is).
//!
//! What each number counts — people or services — is part of its name and of its doc line:
//!
//! * **People** (each person once, however many times they returned or were referred):
//!   `assisted_people`, `new_cases`, `open_cases`, `closed_cases`, `referred_people`,
//!   `served_people`, `unaccompanied_minors` and every breakdown's `people`.
//! * **Events / services** (each one counted): `return_events`, `referrals`,
//!   `completed_services`, `overdue_follow_ups` and every breakdown's `services`.
//!
//! The filters (territory, sex, age group, beneficiary type, vulnerability) choose *persons*;
//! a referral or a follow-up counts when its person is chosen. The period chooses *dates*:
//! a return's day, the day a form was made, a referral's first step, the day it was completed.
//! A person's age group is their age on their first return in the period, or on the period's
//! last day when they did not return in it.

use std::collections::{BTreeMap, HashMap, HashSet};

use chrono::{Datelike, NaiveDate};
use serde::{Deserialize, Serialize};
use ts_rs::TS;

use crate::calendar::today_in_el_salvador;
use crate::follow_up::FollowUp;
use crate::ids::PersonId;
use crate::person::{BeneficiaryType, BirthDate, CaseStatus, Person, Sex};
use crate::referral::{Referral, ReferralStatus, ServiceType};
use crate::return_event::TravelCompanion;
use crate::territory::Territory;
use crate::vulnerability::Vulnerability;

/// The period a report covers (days in El Salvador, both ends included).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, TS)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum Period {
    Month { year: i32, month: u32 },
    Quarter { year: i32, quarter: u32 },
    Year { year: i32 },
    Custom { from: NaiveDate, to: NaiveDate },
}

impl Period {
    /// First and last day; `None` for a month 13, a quarter 5, or `from` after `to`.
    pub fn range(&self) -> Option<(NaiveDate, NaiveDate)> {
        let month_range = |year: i32, first: u32, months: u32| {
            let from = NaiveDate::from_ymd_opt(year, first, 1)?;
            let next = from.checked_add_months(chrono::Months::new(months))?;
            Some((from, next.pred_opt()?))
        };
        match *self {
            Period::Month { year, month } if (1..=12).contains(&month) => {
                month_range(year, month, 1)
            }
            Period::Quarter { year, quarter } if (1..=4).contains(&quarter) => {
                month_range(year, (quarter - 1) * 3 + 1, 3)
            }
            Period::Year { year } => month_range(year, 1, 12),
            Period::Custom { from, to } if from <= to => Some((from, to)),
            _ => None,
        }
    }

    /// Reads `2026`, `2026-Q3`, `2026-07` or `2026-07-01..2026-09-30` (what the command line
    /// takes).
    pub fn parse(text: &str) -> Option<Period> {
        let text = text.trim();
        let period = if let Some((from, to)) = text.split_once("..") {
            Period::Custom {
                from: NaiveDate::parse_from_str(from.trim(), "%Y-%m-%d").ok()?,
                to: NaiveDate::parse_from_str(to.trim(), "%Y-%m-%d").ok()?,
            }
        } else if let Some((year, q)) = text.split_once(['-', '/']).filter(|(_, q)| {
            q.starts_with('Q') || q.starts_with('q') || q.starts_with('T') || q.starts_with('t')
        }) {
            Period::Quarter {
                year: year.parse().ok()?,
                quarter: q.get(1..)?.parse().ok()?,
            }
        } else if let Some((year, month)) = text.split_once('-') {
            Period::Month {
                year: year.parse().ok()?,
                month: month.parse().ok()?,
            }
        } else {
            Period::Year {
                year: text.parse().ok()?,
            }
        };
        period.range().map(|_| period)
    }

    /// `2026-Q3`, `2026-07`, `2026`, `2026-07-01..2026-07-15`: the inverse of [`Period::parse`].
    pub fn label(&self) -> String {
        match *self {
            Period::Month { year, month } => format!("{year}-{month:02}"),
            Period::Quarter { year, quarter } => format!("{year}-Q{quarter}"),
            Period::Year { year } => format!("{year}"),
            Period::Custom { from, to } => format!("{from}..{to}"),
        }
    }
}

/// The age groups reports are disaggregated by.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize, TS)]
#[serde(rename_all = "snake_case")]
pub enum AgeGroup {
    #[serde(rename = "age_0_11")]
    Age0To11,
    #[serde(rename = "age_12_17")]
    Age12To17,
    #[serde(rename = "age_18_29")]
    Age18To29,
    #[serde(rename = "age_30_59")]
    Age30To59,
    #[serde(rename = "age_60_plus")]
    Age60Plus,
    /// No birth date recorded.
    Unknown,
}

impl AgeGroup {
    pub const ALL: [AgeGroup; 6] = [
        AgeGroup::Age0To11,
        AgeGroup::Age12To17,
        AgeGroup::Age18To29,
        AgeGroup::Age30To59,
        AgeGroup::Age60Plus,
        AgeGroup::Unknown,
    ];

    pub fn of_age(age: Option<u32>) -> AgeGroup {
        match age {
            None => AgeGroup::Unknown,
            Some(0..=11) => AgeGroup::Age0To11,
            Some(12..=17) => AgeGroup::Age12To17,
            Some(18..=29) => AgeGroup::Age18To29,
            Some(30..=59) => AgeGroup::Age30To59,
            Some(_) => AgeGroup::Age60Plus,
        }
    }

    pub fn code(self) -> &'static str {
        match self {
            AgeGroup::Age0To11 => "age_0_11",
            AgeGroup::Age12To17 => "age_12_17",
            AgeGroup::Age18To29 => "age_18_29",
            AgeGroup::Age30To59 => "age_30_59",
            AgeGroup::Age60Plus => "age_60_plus",
            AgeGroup::Unknown => "unknown",
        }
    }
}

/// Which persons and which period an indicator report covers.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, TS)]
pub struct IndicatorFilter {
    pub period: Period,
    /// A department code (`SV-US`); `None`: every department.
    #[ts(optional)]
    pub department: Option<String>,
    /// A municipality (office) code; `None`: every municipality the user works.
    #[ts(optional)]
    pub municipality: Option<String>,
    #[ts(optional)]
    pub sex: Option<Sex>,
    #[ts(optional)]
    pub age_group: Option<AgeGroup>,
    #[ts(optional)]
    pub beneficiary_type: Option<BeneficiaryType>,
    #[ts(optional)]
    pub vulnerability: Option<Vulnerability>,
}

impl IndicatorFilter {
    pub fn period(period: Period) -> IndicatorFilter {
        IndicatorFilter {
            period,
            department: None,
            municipality: None,
            sex: None,
            age_group: None,
            beneficiary_type: None,
            vulnerability: None,
        }
    }
}

/// What the indicators need of a person (kept in memory while the session is unlocked, and
/// sealed in the store's cache of what unlock derives from each form).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct PersonFacts {
    pub id: PersonId,
    pub sex: Option<Sex>,
    pub birth_date: Option<BirthDate>,
    pub beneficiary_type: BeneficiaryType,
    pub destination_district: String,
    pub vulnerabilities: Vec<Vulnerability>,
    /// Each return's day and who the person travelled with, oldest first.
    pub returns: Vec<(NaiveDate, TravelCompanion)>,
    /// The day the form was made (El Salvador).
    pub created_on: NaiveDate,
    pub closed_on: Option<NaiveDate>,
}

impl PersonFacts {
    pub fn of(p: &Person) -> PersonFacts {
        let mut returns: Vec<(NaiveDate, TravelCompanion)> = p
            .return_events
            .iter()
            .map(|r| (r.date, r.travelled))
            .collect();
        returns.sort_by_key(|r| r.0);
        PersonFacts {
            id: p.id,
            sex: p.sex,
            birth_date: p.birth_date,
            beneficiary_type: p.beneficiary_type,
            destination_district: p.destination_district.clone(),
            vulnerabilities: p.vulnerabilities.clone(),
            returns,
            created_on: today_in_el_salvador(p.created_at),
            closed_on: match p.status {
                CaseStatus::Open => None,
                CaseStatus::Closed { on, .. } => Some(on),
            },
        }
    }

    fn first_return_in(&self, from: NaiveDate, to: NaiveDate) -> Option<NaiveDate> {
        self.returns
            .iter()
            .map(|r| r.0)
            .find(|d| *d >= from && *d <= to)
    }
}

/// What the indicators need of a referral.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ReferralFacts {
    pub person: PersonId,
    pub service_type: ServiceType,
    pub status: ReferralStatus,
    /// The day of its first step (proposed).
    pub made_on: Option<NaiveDate>,
    pub completed_on: Option<NaiveDate>,
}

impl ReferralFacts {
    pub fn of(r: &Referral) -> ReferralFacts {
        ReferralFacts {
            person: r.person,
            service_type: r.service_type,
            status: r.status(),
            made_on: r.history.first().map(|s| today_in_el_salvador(s.at)),
            completed_on: r
                .history
                .iter()
                .find(|s| s.status == ReferralStatus::Completed)
                .map(|s| today_in_el_salvador(s.at)),
        }
    }
}

/// What the indicators need of a follow-up.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FollowUpFacts {
    pub person: PersonId,
    pub due_on: NaiveDate,
    pub done_on: Option<NaiveDate>,
}

impl FollowUpFacts {
    pub fn of(f: &FollowUp) -> FollowUpFacts {
        FollowUpFacts {
            person: f.person,
            due_on: f.due_on,
            done_on: f.done_on,
        }
    }
}

/// One row of a breakdown: a code (an enum's code, or a territory code with its name).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, TS)]
pub struct Count {
    pub key: String,
    /// The territory's name; empty for enum codes (the UI words those).
    pub name: String,
    pub people: u32,
    /// Events or services, where the breakdown counts them (else 0).
    pub services: u32,
}

/// Referrals of one service type made in the period, by their current status.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, TS)]
pub struct ServiceRow {
    pub service_type: ServiceType,
    /// People referred to it (each once).
    pub people: u32,
    /// Referrals (services).
    pub referrals: u32,
    /// In [`ReferralStatus::ALL`]'s order.
    pub by_status: Vec<u32>,
    /// Completed in the period (services).
    pub completed: u32,
    /// People who completed it in the period.
    pub completed_people: u32,
}

/// The report: the filter it answers, the totals and each disaggregation.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, TS)]
pub struct Indicators {
    pub filter: IndicatorFilter,
    pub from: NaiveDate,
    pub to: NaiveDate,
    /// People with at least one return in the period.
    pub assisted_people: u32,
    /// Returns in the period (events).
    pub return_events: u32,
    /// People whose form was made in the period.
    pub new_cases: u32,
    /// People whose case was open on the period's last day.
    pub open_cases: u32,
    /// People whose case was closed in the period.
    pub closed_cases: u32,
    /// Referrals made in the period (services).
    pub referrals: u32,
    /// People referred in the period.
    pub referred_people: u32,
    /// Referrals completed in the period (services).
    pub completed_services: u32,
    /// People with a service completed in the period.
    pub served_people: u32,
    /// Follow-ups still pending after their due day, on the period's last day (or today).
    pub overdue_follow_ups: u32,
    /// Assisted people under 18 at a return in the period who travelled as unaccompanied
    /// minors (or carry that vulnerability).
    pub unaccompanied_minors: u32,
    /// Median days from an assisted person's first return in the period to their first
    /// referral made on or after it; `None` when no one was referred.
    #[ts(type = "number | null")]
    pub median_days_to_first_referral: Option<f64>,
    /// Likewise to their first service completed on or after it.
    #[ts(type = "number | null")]
    pub median_days_to_first_completed: Option<f64>,
    /// People assisted, by sex (`female`, `male`, `unknown`); services: returns in the period.
    pub by_sex: Vec<Count>,
    pub by_age_group: Vec<Count>,
    pub by_beneficiary_type: Vec<Count>,
    /// People assisted with each vulnerability (a person may count under several).
    pub by_vulnerability: Vec<Count>,
    /// People assisted by destination: department, municipality, district (names included;
    /// only places with someone).
    pub by_department: Vec<Count>,
    pub by_municipality: Vec<Count>,
    pub by_district: Vec<Count>,
    /// Every service type, in [`ServiceType::ALL`]'s order.
    pub by_service: Vec<ServiceRow>,
}

fn count(n: usize) -> u32 {
    u32::try_from(n).unwrap_or(u32::MAX)
}

/// The median of `values` (the mean of the middle two for an even count).
pub fn median(mut values: Vec<i64>) -> Option<f64> {
    if values.is_empty() {
        return None;
    }
    values.sort_unstable();
    let mid = values.len() / 2;
    Some(if values.len() % 2 == 0 {
        (values[mid - 1] + values[mid]) as f64 / 2.0
    } else {
        values[mid] as f64
    })
}

fn sex_code(sex: Option<Sex>) -> &'static str {
    match sex {
        Some(Sex::Female) => "female",
        Some(Sex::Male) => "male",
        None => "unknown",
    }
}

fn snake(value: impl Serialize) -> String {
    match serde_json::to_value(value) {
        Ok(serde_json::Value::String(s)) => s,
        _ => String::new(),
    }
}

/// Whether `person` is one the filter chooses, with the day their age is read on.
fn chosen(filter: &IndicatorFilter, person: &PersonFacts, from: NaiveDate, to: NaiveDate) -> bool {
    let territory = Territory::el_salvador();
    if filter.department.is_some() || filter.municipality.is_some() {
        let Some(place) = territory.place(&person.destination_district) else {
            return false;
        };
        if filter
            .department
            .as_ref()
            .is_some_and(|d| *d != place.department_code)
            || filter
                .municipality
                .as_ref()
                .is_some_and(|m| *m != place.municipality_code)
        {
            return false;
        }
    }
    if filter.sex.is_some() && filter.sex != person.sex {
        return false;
    }
    if filter
        .beneficiary_type
        .is_some_and(|b| b != person.beneficiary_type)
    {
        return false;
    }
    if filter
        .vulnerability
        .is_some_and(|v| !person.vulnerabilities.contains(&v))
    {
        return false;
    }
    if let Some(group) = filter.age_group {
        if age_group(person, from, to) != group {
            return false;
        }
    }
    true
}

fn age_group(person: &PersonFacts, from: NaiveDate, to: NaiveDate) -> AgeGroup {
    let on = person.first_return_in(from, to).unwrap_or(to);
    AgeGroup::of_age(person.birth_date.and_then(|b| b.age_on(on)))
}

/// Tallies of people (a set of ids) and of services, per key.
struct Tally<K: Ord> {
    rows: BTreeMap<K, (HashSet<PersonId>, u32)>,
}

impl<K: Ord> Default for Tally<K> {
    fn default() -> Self {
        Tally {
            rows: BTreeMap::new(),
        }
    }
}

impl<K: Ord> Tally<K> {
    fn add(&mut self, key: K, person: PersonId, services: u32) {
        let row = self.rows.entry(key).or_default();
        row.0.insert(person);
        row.1 += services;
    }

    fn people(&self, key: &K) -> u32 {
        self.rows.get(key).map_or(0, |r| count(r.0.len()))
    }

    fn services(&self, key: &K) -> u32 {
        self.rows.get(key).map_or(0, |r| r.1)
    }
}

/// The indicators for `filter` over the persons, referrals and follow-ups given (the caller
/// has already kept only those the user may see). `today` bounds "overdue".
pub fn compute(
    filter: &IndicatorFilter,
    persons: &[&PersonFacts],
    referrals: &[ReferralFacts],
    follow_ups: &[FollowUpFacts],
    today: NaiveDate,
) -> Option<Indicators> {
    let (from, to) = filter.period.range()?;
    let within = |d: NaiveDate| d >= from && d <= to;
    let territory = Territory::el_salvador();

    let chosen: HashMap<PersonId, &PersonFacts> = persons
        .iter()
        .filter(|p| chosen(filter, p, from, to))
        .map(|p| (p.id, *p))
        .collect();

    let mut assisted = 0usize;
    let mut return_events = 0u32;
    let mut new_cases = 0usize;
    let mut open_cases = 0usize;
    let mut closed_cases = 0usize;
    let mut unaccompanied = 0usize;
    let mut first_return: HashMap<PersonId, NaiveDate> = HashMap::new();
    let mut by_sex: Tally<&'static str> = Tally::default();
    let mut by_age: Tally<AgeGroup> = Tally::default();
    let mut by_beneficiary: Tally<String> = Tally::default();
    let mut by_vulnerability: Tally<Vulnerability> = Tally::default();
    let mut by_department: Tally<String> = Tally::default();
    let mut by_municipality: Tally<String> = Tally::default();
    let mut by_district: Tally<String> = Tally::default();

    for p in chosen.values() {
        if within(p.created_on) {
            new_cases += 1;
        }
        if p.created_on <= to && p.closed_on.is_none_or(|c| c > to) {
            open_cases += 1;
        }
        if p.closed_on.is_some_and(within) {
            closed_cases += 1;
        }
        let in_period: Vec<&(NaiveDate, TravelCompanion)> =
            p.returns.iter().filter(|r| within(r.0)).collect();
        let Some(first) = in_period.first().map(|r| r.0) else {
            continue;
        };
        assisted += 1;
        let events = count(in_period.len());
        return_events += events;
        first_return.insert(p.id, first);
        let minor_at = |d: NaiveDate| p.birth_date.is_some_and(|b| b.is_minor_on(d));
        if in_period.iter().any(|r| {
            minor_at(r.0)
                && (r.1 == TravelCompanion::UnaccompaniedMinor
                    || p.vulnerabilities
                        .contains(&Vulnerability::UnaccompaniedChild))
        }) {
            unaccompanied += 1;
        }
        by_sex.add(sex_code(p.sex), p.id, events);
        by_age.add(age_group(p, from, to), p.id, events);
        by_beneficiary.add(snake(p.beneficiary_type), p.id, events);
        for v in &p.vulnerabilities {
            by_vulnerability.add(*v, p.id, events);
        }
        match territory.place(&p.destination_district) {
            Some(place) => {
                by_department.add(place.department_code.clone(), p.id, events);
                by_municipality.add(place.municipality_code.clone(), p.id, events);
                by_district.add(place.district_code.clone(), p.id, events);
            }
            None => {
                by_department.add(String::new(), p.id, events);
                by_municipality.add(String::new(), p.id, events);
                by_district.add(String::new(), p.id, events);
            }
        }
    }

    let mut referral_count = 0u32;
    let mut referred: HashSet<PersonId> = HashSet::new();
    let mut completed_count = 0u32;
    let mut served: HashSet<PersonId> = HashSet::new();
    let mut by_service: HashMap<ServiceType, (HashSet<PersonId>, u32, Vec<u32>, u32)> =
        HashMap::new();
    let mut completed_people: HashMap<ServiceType, HashSet<PersonId>> = HashMap::new();
    let mut first_referral: HashMap<PersonId, NaiveDate> = HashMap::new();
    let mut first_completed: HashMap<PersonId, NaiveDate> = HashMap::new();
    for r in referrals {
        if !chosen.contains_key(&r.person) {
            continue;
        }
        if let (Some(made), Some(start)) = (r.made_on, first_return.get(&r.person)) {
            if made >= *start {
                let first = first_referral.entry(r.person).or_insert(made);
                *first = (*first).min(made);
            }
        }
        if let (Some(done), Some(start)) = (r.completed_on, first_return.get(&r.person)) {
            if done >= *start {
                let first = first_completed.entry(r.person).or_insert(done);
                *first = (*first).min(done);
            }
        }
        let row = by_service
            .entry(r.service_type)
            .or_insert_with(|| (HashSet::new(), 0, vec![0; ReferralStatus::ALL.len()], 0));
        if r.made_on.is_some_and(within) {
            referral_count += 1;
            referred.insert(r.person);
            row.0.insert(r.person);
            row.1 += 1;
            if let Some(i) = ReferralStatus::ALL.iter().position(|s| *s == r.status) {
                row.2[i] += 1;
            }
        }
        if r.completed_on.is_some_and(within) {
            completed_count += 1;
            served.insert(r.person);
            row.3 += 1;
            completed_people
                .entry(r.service_type)
                .or_default()
                .insert(r.person);
        }
    }

    let as_of = today.min(to);
    let overdue = follow_ups
        .iter()
        .filter(|f| chosen.contains_key(&f.person))
        .filter(|f| f.due_on < as_of && f.done_on.is_none_or(|d| d > as_of))
        .count();

    let days_to = |firsts: &HashMap<PersonId, NaiveDate>| {
        median(
            firsts
                .iter()
                .filter_map(|(p, d)| Some((*d - *first_return.get(p)?).num_days()))
                .collect(),
        )
    };

    let rows = |t: &Tally<String>, name: &dyn Fn(&str) -> String| -> Vec<Count> {
        t.rows
            .iter()
            .map(|(k, (people, services))| Count {
                key: k.clone(),
                name: name(k),
                people: count(people.len()),
                services: *services,
            })
            .collect()
    };
    let enum_row = |key: String, people: u32, services: u32| Count {
        key,
        name: String::new(),
        people,
        services,
    };

    Some(Indicators {
        filter: filter.clone(),
        from,
        to,
        assisted_people: count(assisted),
        return_events,
        new_cases: count(new_cases),
        open_cases: count(open_cases),
        closed_cases: count(closed_cases),
        referrals: referral_count,
        referred_people: count(referred.len()),
        completed_services: completed_count,
        served_people: count(served.len()),
        overdue_follow_ups: count(overdue),
        unaccompanied_minors: count(unaccompanied),
        median_days_to_first_referral: days_to(&first_referral),
        median_days_to_first_completed: days_to(&first_completed),
        by_sex: ["female", "male", "unknown"]
            .into_iter()
            .map(|k| enum_row(k.into(), by_sex.people(&k), by_sex.services(&k)))
            .collect(),
        by_age_group: AgeGroup::ALL
            .into_iter()
            .map(|g| enum_row(g.code().into(), by_age.people(&g), by_age.services(&g)))
            .collect(),
        by_beneficiary_type: [
            BeneficiaryType::ReturnedMigrant,
            BeneficiaryType::FamilyMember,
            BeneficiaryType::CommunityMember,
            BeneficiaryType::InternallyDisplaced,
        ]
        .into_iter()
        .map(|b| {
            let k = snake(b);
            enum_row(
                k.clone(),
                by_beneficiary.people(&k),
                by_beneficiary.services(&k),
            )
        })
        .collect(),
        by_vulnerability: Vulnerability::ALL
            .into_iter()
            .map(|v| {
                enum_row(
                    snake(v),
                    by_vulnerability.people(&v),
                    by_vulnerability.services(&v),
                )
            })
            .collect(),
        by_department: rows(&by_department, &|k| {
            territory
                .department(k)
                .map(|d| d.name.clone())
                .unwrap_or_default()
        }),
        by_municipality: rows(&by_municipality, &|k| {
            territory
                .municipality(k)
                .map(|m| m.name.clone())
                .unwrap_or_default()
        }),
        by_district: rows(&by_district, &|k| {
            territory
                .place(k)
                .map(|p| format!("{} ({})", p.district_name, p.municipality_name))
                .unwrap_or_default()
        }),
        by_service: ServiceType::ALL
            .into_iter()
            .map(|s| {
                let (people, referrals, by_status, completed) = by_service
                    .remove(&s)
                    .unwrap_or_else(|| (HashSet::new(), 0, vec![0; ReferralStatus::ALL.len()], 0));
                ServiceRow {
                    service_type: s,
                    people: count(people.len()),
                    referrals,
                    by_status,
                    completed,
                    completed_people: completed_people.get(&s).map_or(0, |p| count(p.len())),
                }
            })
            .collect(),
    })
}

/// The year and quarter a day falls in (what the UI preselects).
pub fn quarter_of(day: NaiveDate) -> Period {
    Period::Quarter {
        year: day.year(),
        quarter: (day.month() - 1) / 3 + 1,
    }
}

/// The persons `filter` chooses who returned or whose form was made in its period: the rows of
/// a case-list export. `None` for an invalid period.
pub fn cases_in<'p>(
    filter: &IndicatorFilter,
    persons: &[&'p PersonFacts],
) -> Option<Vec<&'p PersonFacts>> {
    let (from, to) = filter.period.range()?;
    let within = |d: NaiveDate| d >= from && d <= to;
    Some(
        persons
            .iter()
            .copied()
            .filter(|p| chosen(filter, p, from, to))
            .filter(|p| within(p.created_on) || p.returns.iter().any(|r| within(r.0)))
            .collect(),
    )
}

/// A person's age group for a report over `filter`'s period (see the module's definition).
pub fn age_group_in(filter: &IndicatorFilter, person: &PersonFacts) -> AgeGroup {
    match filter.period.range() {
        Some((from, to)) => age_group(person, from, to),
        None => AgeGroup::Unknown,
    }
}
