//! The in-memory view of every person's case, built at unlock and updated on every save: what
//! the caseload list filters and sorts, and the returning-person check searches. It holds
//! personal data, so it lives only while the session is unlocked (dropped at lock).

use std::collections::HashMap;

use chrono::NaiveDate;
use reintegra_core::calendar::today_in_el_salvador;
use reintegra_core::consent::Consent;
use reintegra_core::ids::{FamilyGroupId, PersonId, UserId};
use reintegra_core::person::{case_flags, BirthDate, CaseFlag, Person};
use reintegra_core::territory::Territory;
use reintegra_core::text::fold;
use reintegra_core::vulnerability::Vulnerability;
use reintegra_dedup as dedup;

/// One person as the caseload and the returning-person check see them.
#[derive(Debug, Clone)]
pub(crate) struct CaseSummary {
    pub id: PersonId,
    pub full_name: String,
    /// `fold`ed full name, for accent-insensitive search.
    pub folded_name: String,
    pub dui: Option<String>,
    /// The DUI's nine digits (searches type it with or without the dash).
    pub dui_digits: String,
    pub birth_date: Option<BirthDate>,
    pub destination_district: String,
    pub municipality: Option<String>,
    pub caseworker: Option<UserId>,
    pub family_group: Option<FamilyGroupId>,
    pub vulnerabilities: Vec<Vulnerability>,
    pub priority: u32,
    pub open: bool,
    pub has_plan: bool,
    pub last_return: Option<NaiveDate>,
    pub returns: u32,
    /// The day the form was made (El Salvador).
    pub created_on: NaiveDate,
    /// For the registration-consent flag.
    pub consents: Vec<Consent>,
}

impl CaseSummary {
    pub fn of(p: &Person) -> CaseSummary {
        let full_name = p.full_name();
        CaseSummary {
            id: p.id,
            folded_name: fold(&full_name),
            full_name,
            dui: p.dui.as_ref().map(|d| d.as_str().to_string()),
            dui_digits: p
                .dui
                .as_ref()
                .map(|d| d.as_str().chars().filter(char::is_ascii_digit).collect())
                .unwrap_or_default(),
            birth_date: p.birth_date,
            destination_district: p.destination_district.clone(),
            municipality: p.office().map(String::from),
            caseworker: p.caseworker,
            family_group: p.family_group,
            vulnerabilities: p.vulnerabilities.clone(),
            priority: p.priority_score(),
            open: p.status.is_open(),
            has_plan: p.plan.is_some(),
            last_return: p.latest_return().map(|r| r.date),
            returns: u32::try_from(p.return_events.len()).unwrap_or(u32::MAX),
            consents: p.consents.clone(),
            created_on: today_in_el_salvador(p.created_at),
        }
    }

    /// The form's own flags (core's rule, from the parts of the form kept here).
    pub fn flags(&self, today: NaiveDate) -> Vec<CaseFlag> {
        case_flags(
            self.birth_date.as_ref(),
            &self.vulnerabilities,
            self.returns as usize,
            &self.consents,
            today,
        )
    }
}

/// Every case (in a vector, so a caseload scan reads memory in order), plus the
/// duplicate-detection index over the same persons and the pairs marked "not the same person".
/// A form merged into another is not a case any more: it is left out of all three.
#[derive(Default)]
pub(crate) struct Cases {
    all: Vec<CaseSummary>,
    slot: HashMap<PersonId, usize>,
    pub dedup: dedup::Index,
    pub not_same: dedup::NotSamePerson,
}

impl Cases {
    pub fn build(persons: &[Person]) -> Cases {
        let mut cases = Cases {
            all: Vec::with_capacity(persons.len()),
            slot: HashMap::with_capacity(persons.len()),
            dedup: dedup::Index::new(),
            not_same: dedup::NotSamePerson::new(),
        };
        for p in persons {
            cases.upsert(p);
        }
        cases
    }

    pub fn iter(&self) -> impl Iterator<Item = &CaseSummary> {
        self.all.iter()
    }

    pub fn get(&self, id: &PersonId) -> Option<&CaseSummary> {
        self.slot.get(id).and_then(|&i| self.all.get(i))
    }

    pub fn upsert(&mut self, p: &Person) {
        let id = p.id.as_uuid().to_string();
        for other in &p.not_same_as {
            self.not_same.insert(&id, &other.as_uuid().to_string());
        }
        if p.merged_into.is_some() {
            self.remove(&p.id);
            return;
        }
        let summary = CaseSummary::of(p);
        match self.slot.get(&p.id) {
            Some(&i) => self.all[i] = summary,
            None => {
                self.slot.insert(p.id, self.all.len());
                self.all.push(summary);
            }
        }
        // A person the engine cannot read (no name yet) is simply not searchable for duplicates.
        if self.dedup.upsert(&dedup_record(p)).is_err() {
            self.dedup.remove(&id);
        }
    }

    fn remove(&mut self, id: &PersonId) {
        if let Some(i) = self.slot.remove(id) {
            self.all.swap_remove(i);
            if let Some(moved) = self.all.get(i) {
                self.slot.insert(moved.id, i);
            }
        }
        self.dedup.remove(&id.as_uuid().to_string());
    }
}

/// The person as the duplicate-detection engine reads it.
pub(crate) fn dedup_record(p: &Person) -> dedup::Record {
    dedup::Record {
        id: p.id.as_uuid().to_string(),
        given_names: p.given_names.clone(),
        first_surname: p.first_surname.clone(),
        second_surname: p.second_surname.clone(),
        sex: match p.sex {
            Some(reintegra_core::person::Sex::Female) => "F".into(),
            Some(reintegra_core::person::Sex::Male) => "M".into(),
            None => String::new(),
        },
        birth_date: birth_date_text(p.birth_date.as_ref()),
        dui: p
            .dui
            .as_ref()
            .map(|d| d.as_str().to_string())
            .unwrap_or_default(),
        district: Territory::el_salvador()
            .place(&p.destination_district)
            .map(|pl| pl.district_name.clone())
            .unwrap_or_default(),
        phone: p.phone.clone(),
    }
}

pub(crate) fn birth_date_text(b: Option<&BirthDate>) -> String {
    match b {
        Some(BirthDate::Exact { date }) => date.format("%Y-%m-%d").to_string(),
        Some(b) => b
            .estimated_date()
            .map(|d| d.format("%Y").to_string())
            .unwrap_or_default(),
        None => String::new(),
    }
}
