//! The single form ("ficha única"): one record per person, shared by every institution that
//! serves them. Sections are filled in by different roles over time (reception registers,
//! caseworkers add the plan), so most fields may start empty; `validate` says what is missing.
//!
//! Text fields that are simply "not given yet" are empty strings rather than `null`, which keeps
//! the JSON and the UI forms simple; `Option` is used for choices and dates.

use chrono::{DateTime, Datelike, Months, NaiveDate, Utc};
use serde::{Deserialize, Serialize};
use ts_rs::TS;

use crate::consent::{self, Consent, ConsentPurpose};
use crate::dui::Dui;
use crate::ids::{FamilyGroupId, PersonId, ProviderId, UserId};
use crate::plan::ReintegrationPlan;
use crate::return_event::{ReturnEvent, TravelCompanion};
use crate::service::ServiceType;
use crate::territory::Territory;
use crate::validation::{Problem, ValidationErrors};
use crate::vulnerability::{self, Vulnerability};

/// Oldest plausible age; anything above is a typo in the birth date.
pub const MAX_AGE: u32 = 120;
/// Age of majority in El Salvador.
pub const ADULT_AGE: u32 = 18;

/// The program serves all four.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Hash, Serialize, Deserialize, TS)]
#[serde(rename_all = "snake_case")]
pub enum BeneficiaryType {
    #[default]
    ReturnedMigrant,
    /// A family member of a returnee.
    FamilyMember,
    CommunityMember,
    InternallyDisplaced,
}

/// How the person first reached the program.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Hash, Serialize, Deserialize, TS)]
#[serde(rename_all = "snake_case")]
pub enum ContactChannel {
    #[default]
    ReceptionCenter,
    MunicipalOffice,
    PhoneWhatsapp,
    Outreach,
}

/// Sex as recorded for the disaggregation donors and the national statistics ask for
/// (female / male). Gender identity is not a form field; LGBTI is a vulnerability.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize, TS)]
#[serde(rename_all = "snake_case")]
pub enum Sex {
    Female,
    Male,
}

/// Highest level of schooling reached, in the Salvadoran system.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize, TS)]
#[serde(rename_all = "snake_case")]
pub enum Education {
    None,
    /// Primer y segundo ciclo (1.º–6.º grado).
    Primary,
    /// Tercer ciclo (7.º–9.º grado).
    LowerSecondary,
    /// Bachillerato.
    UpperSecondary,
    Technical,
    University,
}

/// Identity documents other than the DUI (minors and many returnees have no DUI).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize, TS)]
#[serde(rename_all = "snake_case")]
pub enum DocumentKind {
    Passport,
    /// Partida de nacimiento.
    BirthCertificate,
    /// An id issued abroad (consular id, foreign residence card).
    ForeignId,
    Other,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, TS)]
pub struct OtherDocument {
    pub kind: DocumentKind,
    pub number: String,
}

/// A birth date as precise as the person can give it. Many returnees know only their year of
/// birth or their age; a guess recorded as a guess is better than a fake exact date.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize, TS)]
#[serde(tag = "precision", rename_all = "snake_case")]
pub enum BirthDate {
    Exact {
        date: NaiveDate,
    },
    /// Only the year is known.
    Year {
        year: i32,
    },
    /// The person said they were `age` years old on `stated_on`.
    EstimatedFromAge {
        age: u32,
        stated_on: NaiveDate,
    },
}

impl BirthDate {
    /// The best single guess of the date: the date itself, mid-year for a year, or the
    /// stated day `age` years back. `None` only for years outside the calendar.
    pub fn estimated_date(&self) -> Option<NaiveDate> {
        match *self {
            BirthDate::Exact { date } => Some(date),
            BirthDate::Year { year } => NaiveDate::from_ymd_opt(year, 7, 1),
            BirthDate::EstimatedFromAge { age, stated_on } => {
                stated_on.checked_sub_months(Months::new(age.checked_mul(12)?))
            }
        }
    }

    pub fn is_approximate(&self) -> bool {
        !matches!(self, BirthDate::Exact { .. })
    }

    /// Completed years on `on`, from the best guess. `None` if born after `on`.
    pub fn age_on(&self, on: NaiveDate) -> Option<u32> {
        on.years_since(self.estimated_date()?)
    }

    /// Under 18 on `on`, by the best guess ([`BirthDate::age_on`]): the one rule of "minor".
    pub fn is_minor_on(&self, on: NaiveDate) -> bool {
        self.age_on(on).is_some_and(|a| a < ADULT_AGE)
    }

    /// The youngest the person can be on `on`, given the precision: exact dates are exact, a
    /// year leaves a year of doubt, a stated age a year each way (people round).
    pub fn min_age_on(&self, on: NaiveDate) -> Option<u32> {
        match *self {
            BirthDate::Exact { date } => on.years_since(date),
            BirthDate::Year { year } => on.years_since(NaiveDate::from_ymd_opt(year, 12, 31)?),
            BirthDate::EstimatedFromAge { .. } => self.age_on(on).map(|a| a.saturating_sub(1)),
        }
    }
}

/// Why a case was closed.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize, TS)]
#[serde(rename_all = "snake_case")]
pub enum ClosureReason {
    Reintegrated,
    MovedAbroadAgain,
    Unreachable,
    Declined,
    Deceased,
}

#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Hash, Serialize, Deserialize, TS)]
#[serde(tag = "state", rename_all = "snake_case")]
pub enum CaseStatus {
    #[default]
    Open,
    Closed {
        reason: ClosureReason,
        on: NaiveDate,
    },
}

impl CaseStatus {
    pub fn is_open(&self) -> bool {
        matches!(self, CaseStatus::Open)
    }
}

/// Things a caseworker must see at a glance on a case. Not errors: facts that change how the
/// case is handled.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize, TS)]
#[serde(rename_all = "snake_case")]
pub enum CaseFlag {
    /// Under 18: child protection rules apply (guardian, CONNA/ISNA referral).
    Minor,
    /// Has a vulnerability that calls for action today.
    GraveVulnerability,
    /// Came back more than once.
    RepeatReturn,
    /// No active consent to be registered: the form must not be shared or used beyond intake.
    NoRegistrationConsent,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, TS)]
pub struct Person {
    pub id: PersonId,
    pub beneficiary_type: BeneficiaryType,
    pub first_contact: ContactChannel,
    pub given_names: String,
    pub first_surname: String,
    /// Salvadorans carry two surnames; empty when there is none.
    pub second_surname: String,
    pub sex: Option<Sex>,
    pub birth_date: Option<BirthDate>,
    pub dui: Option<Dui>,
    pub other_document: Option<OtherDocument>,
    pub phone: String,
    /// District code of the home town the person left from; empty if unknown.
    pub origin_district: String,
    /// District code of where the person goes to live now: routes the case to an office.
    pub destination_district: String,
    pub education: Option<Education>,
    pub occupation: String,
    pub skills: Vec<String>,
    pub household_notes: String,
    pub family_group: Option<FamilyGroupId>,
    pub caseworker: Option<UserId>,
    /// Oldest first.
    pub return_events: Vec<ReturnEvent>,
    pub vulnerabilities: Vec<Vulnerability>,
    pub consents: Vec<Consent>,
    pub plan: Option<ReintegrationPlan>,
    pub status: CaseStatus,
    /// Set when a supervisor merged this form into another (they were the same person). The
    /// form is kept, so every device converges on the merge, but lists and searches skip it.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[ts(optional)]
    pub merged_into: Option<PersonId>,
    /// Persons a supervisor marked "no es la misma persona": never proposed as duplicates again.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    #[ts(as = "Option<Vec<PersonId>>", optional)]
    pub not_same_as: Vec<PersonId>,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
}

impl Person {
    /// An empty form with the two names reception always asks first. The rest is filled in
    /// as the interview goes.
    pub fn new(
        id: PersonId,
        given_names: impl Into<String>,
        first_surname: impl Into<String>,
        now: DateTime<Utc>,
    ) -> Self {
        Person {
            id,
            beneficiary_type: BeneficiaryType::default(),
            first_contact: ContactChannel::default(),
            given_names: given_names.into(),
            first_surname: first_surname.into(),
            second_surname: String::new(),
            sex: None,
            birth_date: None,
            dui: None,
            other_document: None,
            phone: String::new(),
            origin_district: String::new(),
            destination_district: String::new(),
            education: None,
            occupation: String::new(),
            skills: Vec::new(),
            household_notes: String::new(),
            family_group: None,
            caseworker: None,
            return_events: Vec::new(),
            vulnerabilities: Vec::new(),
            consents: Vec::new(),
            plan: None,
            status: CaseStatus::Open,
            merged_into: None,
            not_same_as: Vec::new(),
            created_at: now,
            updated_at: now,
        }
    }

    /// "Given names First Second", as written on Salvadoran documents.
    pub fn full_name(&self) -> String {
        [
            self.given_names.trim(),
            self.first_surname.trim(),
            self.second_surname.trim(),
        ]
        .into_iter()
        .filter(|s| !s.is_empty())
        .collect::<Vec<_>>()
        .join(" ")
    }

    /// Completed years on `on` (best guess for approximate birth dates).
    pub fn age_on(&self, on: NaiveDate) -> Option<u32> {
        self.birth_date.as_ref()?.age_on(on)
    }

    /// Under 18 on `on`, by the best guess of the birth date. Unknown birth date: `false`;
    /// reception asks for an age when the date is unknown, so this stays rare.
    pub fn is_minor(&self, on: NaiveDate) -> bool {
        self.birth_date.is_some_and(|b| b.is_minor_on(on))
    }

    pub fn latest_return(&self) -> Option<&ReturnEvent> {
        self.return_events.iter().max_by_key(|r| r.date)
    }

    /// Adds a vulnerability once.
    pub fn add_vulnerability(&mut self, v: Vulnerability) {
        if !self.vulnerabilities.contains(&v) {
            self.vulnerabilities.push(v);
        }
    }

    /// Records a return. A child travelling alone is, by definition, an unaccompanied child (the
    /// gravest priority). The form keeps returns oldest first; one recorded late may be older.
    pub fn add_return(&mut self, event: ReturnEvent) {
        if event.travelled == TravelCompanion::UnaccompaniedMinor {
            self.add_vulnerability(Vulnerability::UnaccompaniedChild);
        }
        self.return_events.push(event);
        self.return_events.sort_by_key(|e| e.date);
    }

    /// Replaces the return event with `event.id` (the same rule as [`Person::add_return`]
    /// applies). `false` when the person has no such return.
    pub fn replace_return(&mut self, event: ReturnEvent) -> bool {
        let Some(i) = self.return_events.iter().position(|e| e.id == event.id) else {
            return false;
        };
        self.return_events.remove(i);
        self.add_return(event);
        true
    }

    /// Takes in everything of `other` (a second form of the same person) that this form lacks:
    /// the union of return events, consents, vulnerabilities, skills and "not the same person"
    /// marks, and `other`'s value for every field left empty here. Nothing here is overwritten.
    pub fn absorb(&mut self, other: &Person) {
        for event in &other.return_events {
            if !self.return_events.iter().any(|e| e.id == event.id) {
                self.add_return(event.clone());
            }
        }
        for consent in &other.consents {
            if !self.consents.iter().any(|c| c.id == consent.id) {
                self.consents.push(consent.clone());
            }
        }
        for v in &other.vulnerabilities {
            self.add_vulnerability(*v);
        }
        for id in &other.not_same_as {
            if *id != self.id && *id != other.id && !self.not_same_as.contains(id) {
                self.not_same_as.push(*id);
            }
        }
        fn fill<T: Clone>(mine: &mut Option<T>, theirs: &Option<T>) {
            if mine.is_none() {
                mine.clone_from(theirs);
            }
        }
        fn fill_text(mine: &mut String, theirs: &str) {
            if mine.trim().is_empty() {
                *mine = theirs.to_string();
            }
        }
        fill(&mut self.sex, &other.sex);
        fill(&mut self.birth_date, &other.birth_date);
        fill(&mut self.dui, &other.dui);
        fill(&mut self.other_document, &other.other_document);
        fill(&mut self.education, &other.education);
        fill(&mut self.family_group, &other.family_group);
        fill(&mut self.caseworker, &other.caseworker);
        fill(&mut self.plan, &other.plan);
        fill_text(&mut self.second_surname, &other.second_surname);
        fill_text(&mut self.phone, &other.phone);
        fill_text(&mut self.origin_district, &other.origin_district);
        fill_text(&mut self.destination_district, &other.destination_district);
        fill_text(&mut self.occupation, &other.occupation);
        fill_text(&mut self.household_notes, &other.household_notes);
        for skill in &other.skills {
            if !self.skills.contains(skill) {
                self.skills.push(skill.clone());
            }
        }
    }

    /// Priority for caseload sorting; higher first.
    pub fn priority_score(&self) -> u32 {
        vulnerability::priority_score(&self.vulnerabilities)
    }

    /// Whether the person's consents allow sharing their data with `provider` for `service_type`.
    pub fn may_share_with(
        &self,
        provider: ProviderId,
        service_type: ServiceType,
        on: NaiveDate,
    ) -> bool {
        consent::may_share(&self.consents, provider, service_type, on)
    }

    pub fn may_contact_for_follow_up(&self, on: NaiveDate) -> bool {
        consent::has_active(&self.consents, ConsentPurpose::FollowUpContact, on)
    }

    pub fn close(&mut self, reason: ClosureReason, on: NaiveDate) {
        self.status = CaseStatus::Closed { reason, on };
    }

    pub fn reopen(&mut self) {
        self.status = CaseStatus::Open;
    }

    pub fn flags(&self, today: NaiveDate) -> Vec<CaseFlag> {
        case_flags(
            self.birth_date.as_ref(),
            &self.vulnerabilities,
            self.return_events.len(),
            &self.consents,
            today,
        )
    }

    /// The office the case belongs to: the municipality of the destination district.
    pub fn office(&self) -> Option<&'static str> {
        Territory::el_salvador().office_of(&self.destination_district)
    }

    /// Checks the whole form against `today` and reports every problem with its field path.
    pub fn validate(&self, today: NaiveDate) -> Result<(), ValidationErrors> {
        let mut e = ValidationErrors::new();
        e.require_text("given_names", &self.given_names);
        e.require_text("first_surname", &self.first_surname);
        e.require("sex", self.sex.as_ref());
        if self.destination_district.trim().is_empty() {
            e.push("destination_district", Problem::Required);
        } else {
            e.known_district("destination_district", &self.destination_district);
        }
        if !self.origin_district.is_empty() {
            e.known_district("origin_district", &self.origin_district);
        }
        if let Some(b) = &self.birth_date {
            validate_birth_date(b, today, &mut e);
        }
        if let Some(doc) = &self.other_document {
            e.require_text("other_document.number", &doc.number);
        }
        if !self.phone.trim().is_empty() {
            e.phone("phone", &self.phone);
        }
        for (i, r) in self.return_events.iter().enumerate() {
            let path = format!("return_events[{i}]");
            e.merge(&path, r.validate(today));
            self.check_return_against_birth(r, &path, &mut e);
        }
        for (i, v) in self.vulnerabilities.iter().enumerate() {
            if self.vulnerabilities[..i].contains(v) {
                e.push(format!("vulnerabilities[{i}]"), Problem::Duplicate);
            }
        }
        for (i, c) in self.consents.iter().enumerate() {
            e.merge(&format!("consents[{i}]"), c.validate(today));
        }
        if let Some(plan) = &self.plan {
            e.merge("plan", plan.validate(today));
        }
        if let CaseStatus::Closed { on, .. } = self.status {
            e.not_in_future("status.on", on, today);
        }
        if self.updated_at < self.created_at {
            e.push(
                "updated_at",
                Problem::DateOutOfOrder {
                    other_field: "created_at".into(),
                },
            );
        }
        e.into_result()
    }

    /// A return cannot precede birth, and only a minor can travel as an unaccompanied minor.
    /// Approximate birth dates are given the benefit of the doubt.
    fn check_return_against_birth(&self, r: &ReturnEvent, path: &str, e: &mut ValidationErrors) {
        let Some(b) = &self.birth_date else { return };
        if let BirthDate::Exact { date } = b {
            e.not_before(&format!("{path}.date"), r.date, "birth_date", *date);
        }
        let certainly_adult = b.min_age_on(r.date).is_some_and(|a| a >= ADULT_AGE);
        if r.travelled == TravelCompanion::UnaccompaniedMinor && certainly_adult {
            e.push(
                format!("{path}.travelled"),
                Problem::Inconsistent {
                    other_field: "birth_date".into(),
                },
            );
        }
    }
}

/// The flags of a case from the parts of the form they depend on, so that a projection of the
/// form (the in-memory caseload) flags exactly as the form does.
pub fn case_flags(
    birth_date: Option<&BirthDate>,
    vulnerabilities: &[Vulnerability],
    returns: usize,
    consents: &[Consent],
    today: NaiveDate,
) -> Vec<CaseFlag> {
    let mut flags = Vec::new();
    if birth_date.is_some_and(|b| b.is_minor_on(today)) {
        flags.push(CaseFlag::Minor);
    }
    if vulnerabilities.iter().any(|v| v.is_grave()) {
        flags.push(CaseFlag::GraveVulnerability);
    }
    if returns > 1 {
        flags.push(CaseFlag::RepeatReturn);
    }
    if !consent::has_active(consents, ConsentPurpose::Registration, today) {
        flags.push(CaseFlag::NoRegistrationConsent);
    }
    flags
}

fn validate_birth_date(b: &BirthDate, today: NaiveDate, e: &mut ValidationErrors) {
    if let BirthDate::EstimatedFromAge { stated_on, .. } = *b {
        e.not_in_future("birth_date.stated_on", stated_on, today);
    }
    let age = rough_age(b, today);
    if age < 0 {
        match b.estimated_date() {
            Some(date) => e.push("birth_date", Problem::DateInFuture { date }),
            None => e.push("birth_date", Problem::ImplausibleAge { age: clamp(age) }),
        }
    } else if age > i64::from(MAX_AGE) {
        e.push("birth_date", Problem::ImplausibleAge { age: clamp(age) });
    }
}

/// Age in years on `today`, negative when born after it. Works for any `i32` year and any
/// stated age, so absurd input is reported as an implausible age rather than overflowing.
fn rough_age(b: &BirthDate, today: NaiveDate) -> i64 {
    match *b {
        BirthDate::Exact { date } => today.years_since(date).map_or(-1, i64::from),
        BirthDate::Year { year } => i64::from(today.year()) - i64::from(year),
        BirthDate::EstimatedFromAge { age, stated_on } => {
            i64::from(age) + i64::from(today.year()) - i64::from(stated_on.year())
        }
    }
}

fn clamp(age: i64) -> i32 {
    i32::try_from(age).unwrap_or(if age < 0 { i32::MIN } else { i32::MAX })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::ids::{ConsentId, ReturnEventId};
    use crate::return_event::{ReceptionCenter, ReturnModality};
    use crate::territory::Territory;
    use chrono::TimeZone;
    use proptest::prelude::*;
    use uuid::Uuid;

    fn date(y: i32, m: u32, d: u32) -> NaiveDate {
        NaiveDate::from_ymd_opt(y, m, d).expect("valid test date")
    }

    fn today() -> NaiveDate {
        date(2025, 6, 1)
    }

    fn district() -> String {
        Territory::el_salvador()
            .places()
            .next()
            .expect("has districts")
            .district_code
            .clone()
    }

    fn return_event(on: NaiveDate, travelled: TravelCompanion) -> ReturnEvent {
        ReturnEvent {
            id: ReturnEventId::new(Uuid::from_u128(50)),
            date: on,
            modality: ReturnModality::Land,
            country_from: "MX".into(),
            reception_center: ReceptionCenter::Cipi,
            custody_days: None,
            travelled,
            assistance: vec![],
            assistance_notes: String::new(),
        }
    }

    fn person() -> Person {
        let now = Utc
            .with_ymd_and_hms(2025, 6, 1, 15, 0, 0)
            .single()
            .expect("valid time");
        let mut p = Person::new(
            PersonId::new(Uuid::from_u128(1)),
            "María José",
            "Hernández",
            now,
        );
        p.second_surname = "Rivas".into();
        p.sex = Some(Sex::Female);
        p.birth_date = Some(BirthDate::Exact {
            date: date(1995, 8, 20),
        });
        p.dui = Some(Dui::parse("00016297-5").expect("valid dui"));
        p.destination_district = district();
        p.phone = "7123-4567".into();
        p.return_events
            .push(return_event(date(2025, 5, 30), TravelCompanion::Alone));
        p
    }

    #[test]
    fn a_complete_form_is_valid() {
        assert_eq!(person().validate(today()), Ok(()));
        assert_eq!(person().full_name(), "María José Hernández Rivas");
    }

    #[test]
    fn required_fields() {
        let mut p = person();
        p.given_names = " ".into();
        p.first_surname.clear();
        p.sex = None;
        p.destination_district.clear();
        let e = p.validate(today()).expect_err("invalid");
        for field in [
            "given_names",
            "first_surname",
            "sex",
            "destination_district",
        ] {
            assert!(e.has(field, "required"), "{field}: {e}");
        }
        assert_eq!(e.len(), 4);
    }

    #[test]
    fn unknown_districts() {
        let mut p = person();
        p.destination_district = "SV-XX-99".into();
        p.origin_district = "nowhere".into();
        let e = p.validate(today()).expect_err("invalid");
        assert!(e.has("destination_district", "unknown_district"));
        assert!(e.has("origin_district", "unknown_district"));
    }

    #[test]
    fn dates_in_the_future() {
        let mut p = person();
        p.birth_date = Some(BirthDate::Exact {
            date: date(2025, 6, 2),
        });
        p.return_events[0].date = date(2025, 7, 1);
        p.close(ClosureReason::Reintegrated, date(2025, 6, 5));
        let e = p.validate(today()).expect_err("invalid");
        assert!(e.has("birth_date", "date_in_future"));
        assert!(e.has("return_events[0].date", "date_in_future"));
        assert!(e.has("status.on", "date_in_future"));

        let mut p = person();
        p.birth_date = Some(BirthDate::Year { year: 2026 });
        assert!(p
            .validate(today())
            .expect_err("invalid")
            .has("birth_date", "date_in_future"));
        p.birth_date = Some(BirthDate::EstimatedFromAge {
            age: 30,
            stated_on: date(2025, 6, 2),
        });
        assert!(p
            .validate(today())
            .expect_err("invalid")
            .has("birth_date.stated_on", "date_in_future"));
    }

    #[test]
    fn plausible_age() {
        let mut p = person();
        p.birth_date = Some(BirthDate::Exact {
            date: date(1904, 1, 1),
        });
        let e = p.validate(today()).expect_err("121 years old");
        assert!(e.has("birth_date", "implausible_age"));
        p.birth_date = Some(BirthDate::Exact {
            date: date(1905, 6, 1),
        });
        assert_eq!(p.validate(today()), Ok(()), "120 is plausible");
        p.birth_date = Some(BirthDate::EstimatedFromAge {
            age: 500,
            stated_on: today(),
        });
        assert!(p
            .validate(today())
            .expect_err("invalid")
            .has("birth_date", "implausible_age"));
        p.birth_date = Some(BirthDate::Year { year: i32::MIN });
        assert!(p
            .validate(today())
            .expect_err("invalid")
            .has("birth_date", "implausible_age"));
        p.birth_date = Some(BirthDate::Year { year: i32::MAX });
        assert!(p
            .validate(today())
            .expect_err("invalid")
            .has("birth_date", "implausible_age"));
        p.birth_date = Some(BirthDate::Year { year: 2025 });
        assert_eq!(p.validate(today()), Ok(()), "a baby born this year");
    }

    #[test]
    fn age_and_minority() {
        let mut p = person();
        p.birth_date = Some(BirthDate::Exact {
            date: date(2007, 6, 2),
        });
        assert_eq!(p.age_on(today()), Some(17));
        assert!(p.is_minor(today()));
        assert!(!p.is_minor(date(2025, 6, 2)), "18 on the birthday");
        p.birth_date = None;
        assert!(!p.is_minor(today()));
        assert_eq!(p.age_on(today()), None);
    }

    #[test]
    fn approximate_birth_dates() {
        let est = BirthDate::EstimatedFromAge {
            age: 16,
            stated_on: date(2024, 2, 29),
        };
        assert_eq!(est.estimated_date(), Some(date(2008, 2, 29)));
        assert_eq!(est.age_on(date(2024, 2, 29)), Some(16));
        assert_eq!(est.min_age_on(date(2024, 2, 29)), Some(15));
        let year = BirthDate::Year { year: 2000 };
        assert_eq!(year.age_on(date(2025, 6, 30)), Some(24));
        assert_eq!(year.age_on(date(2025, 7, 1)), Some(25));
        assert_eq!(year.min_age_on(date(2025, 7, 1)), Some(24));
        assert!(year.is_approximate());
        assert!(!BirthDate::Exact {
            date: date(2000, 1, 1)
        }
        .is_approximate());
        let json = serde_json::to_value(est).expect("serialize");
        assert_eq!(
            json,
            serde_json::json!({"precision": "estimated_from_age", "age": 16, "stated_on": "2024-02-29"})
        );
    }

    #[test]
    fn return_must_fit_the_birth_date() {
        let mut p = person();
        p.return_events[0].date = date(1990, 1, 1);
        assert!(p
            .validate(today())
            .expect_err("before birth")
            .has("return_events[0].date", "date_out_of_order"));

        let mut p = person();
        p.return_events[0].travelled = TravelCompanion::UnaccompaniedMinor;
        assert!(p
            .validate(today())
            .expect_err("adult")
            .has("return_events[0].travelled", "inconsistent"));
        p.birth_date = Some(BirthDate::Exact {
            date: date(2010, 1, 1),
        });
        assert_eq!(p.validate(today()), Ok(()));
        // an estimated 18-year-old may well have been 17: benefit of the doubt
        p.birth_date = Some(BirthDate::EstimatedFromAge {
            age: 18,
            stated_on: date(2025, 5, 30),
        });
        assert_eq!(p.validate(today()), Ok(()));
    }

    #[test]
    fn other_checks() {
        let mut p = person();
        p.other_document = Some(OtherDocument {
            kind: DocumentKind::Passport,
            number: "".into(),
        });
        p.phone = "12".into();
        p.vulnerabilities = vec![Vulnerability::Pregnant, Vulnerability::Pregnant];
        p.updated_at = p.created_at - chrono::Duration::hours(1);
        let e = p.validate(today()).expect_err("invalid");
        assert!(e.has("other_document.number", "required"));
        assert!(e.has("phone", "invalid_phone"));
        assert!(e.has("vulnerabilities[1]", "duplicate"));
        assert!(e.has("updated_at", "date_out_of_order"));
    }

    #[test]
    fn nested_consent_and_plan_errors_have_paths() {
        let mut p = person();
        let user = UserId::new(Uuid::from_u128(9));
        p.consents.push(Consent::new(
            ConsentId::new(Uuid::from_u128(3)),
            ConsentPurpose::Registration,
            date(2025, 7, 1),
            user,
        ));
        let mut plan = ReintegrationPlan::default();
        plan.goals.push(crate::plan::Goal::new(
            crate::ids::GoalId::new(Uuid::from_u128(4)),
            crate::plan::Dimension::Economic,
            "",
        ));
        p.plan = Some(plan);
        let e = p.validate(today()).expect_err("invalid");
        assert!(e.has("consents[0].given_on", "date_in_future"));
        assert!(e.has("plan.goals[0].description", "required"));
    }

    #[test]
    fn flags() {
        let mut p = person();
        assert_eq!(p.flags(today()), [CaseFlag::NoRegistrationConsent]);
        p.birth_date = Some(BirthDate::Year { year: 2012 });
        p.add_vulnerability(Vulnerability::UnaccompaniedChild);
        p.add_vulnerability(Vulnerability::UnaccompaniedChild);
        assert_eq!(p.vulnerabilities.len(), 1);
        p.return_events
            .push(return_event(date(2025, 1, 1), TravelCompanion::Alone));
        let user = UserId::new(Uuid::from_u128(9));
        p.consents.push(Consent::new(
            ConsentId::new(Uuid::from_u128(3)),
            ConsentPurpose::Registration,
            today(),
            user,
        ));
        assert_eq!(
            p.flags(today()),
            [
                CaseFlag::Minor,
                CaseFlag::GraveVulnerability,
                CaseFlag::RepeatReturn
            ]
        );
        assert_eq!(p.latest_return().map(|r| r.date), Some(date(2025, 5, 30)));
        assert!(p.priority_score() >= 1000);
    }

    #[test]
    fn consent_helpers() {
        let mut p = person();
        let user = UserId::new(Uuid::from_u128(9));
        let provider = ProviderId::new(Uuid::from_u128(8));
        assert!(!p.may_share_with(provider, ServiceType::Health, today()));
        assert!(!p.may_contact_for_follow_up(today()));
        p.consents.push(Consent::new(
            ConsentId::new(Uuid::from_u128(3)),
            ConsentPurpose::FollowUpContact,
            today(),
            user,
        ));
        p.consents.push(Consent::new(
            ConsentId::new(Uuid::from_u128(4)),
            ConsentPurpose::ReferralSharing {
                provider: Some(provider),
                service_type: None,
            },
            today(),
            user,
        ));
        assert!(p.may_contact_for_follow_up(today()));
        assert!(p.may_share_with(provider, ServiceType::Health, today()));
    }

    #[test]
    fn close_and_reopen() {
        let mut p = person();
        p.close(ClosureReason::MovedAbroadAgain, today());
        assert!(!p.status.is_open());
        let v = serde_json::to_value(p.status).expect("serialize");
        assert_eq!(
            v,
            serde_json::json!({"state": "closed", "reason": "moved_abroad_again", "on": "2025-06-01"})
        );
        p.reopen();
        assert!(p.status.is_open());
    }

    #[test]
    fn json_round_trip_and_shape() {
        let p = person();
        let v = serde_json::to_value(&p).expect("serialize");
        assert_eq!(v["beneficiary_type"], "returned_migrant");
        assert_eq!(v["first_contact"], "reception_center");
        assert_eq!(v["dui"], "00016297-5");
        assert_eq!(v["birth_date"]["precision"], "exact");
        assert_eq!(v["status"]["state"], "open");
        assert_eq!(
            serde_json::from_value::<Person>(v.clone()).expect("deserialize"),
            p
        );
        let mut bad = v;
        bad["dui"] = "00016297-4".into();
        assert!(
            serde_json::from_value::<Person>(bad).is_err(),
            "a person never holds an invalid DUI"
        );
    }

    #[test]
    fn typescript_declaration_is_derivable() {
        let decl = Person::decl();
        assert!(decl.contains("given_names: string"), "{decl}");
        assert!(BirthDate::decl().contains("\"precision\""));
    }

    proptest! {
        /// Age from an exact date matches counting birthdays, and minority is age < 18.
        #[test]
        fn age_counts_birthdays(birth in 0u64..40_000, later in 0u64..40_000) {
            let b = date(1900, 1, 1) + chrono::Days::new(birth);
            let on = b + chrono::Days::new(later);
            let mut p = person();
            p.birth_date = Some(BirthDate::Exact { date: b });
            let age = p.age_on(on).expect("born before");
            let mut expected = on.year() - b.year();
            if (on.month(), on.day()) < (b.month(), b.day()) {
                expected -= 1;
            }
            prop_assert_eq!(i64::from(age), i64::from(expected));
            prop_assert_eq!(p.is_minor(on), age < 18);
        }

        /// Estimated from a stated age, the person is that age on the day they said it.
        #[test]
        fn stated_age_holds_on_the_stated_day(age in 0u32..=110, day in 0u64..20_000) {
            let stated_on = date(1980, 1, 1) + chrono::Days::new(day);
            let b = BirthDate::EstimatedFromAge { age, stated_on };
            prop_assert_eq!(b.age_on(stated_on), Some(age));
            prop_assert!(b.min_age_on(stated_on) <= Some(age));
        }

        /// Validation never reports a plausible exact birth date in the past.
        #[test]
        fn plausible_birth_dates_validate(days_before in 0u64..(120 * 365)) {
            let mut p = person();
            p.return_events.clear();
            p.birth_date = Some(BirthDate::Exact { date: today() - chrono::Days::new(days_before) });
            prop_assert_eq!(p.validate(today()), Ok(()));
        }
    }
}
