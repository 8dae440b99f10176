//! Reception intake: register an arrival (validate, save the person, write the audit entry),
//! add a return event to a person already registered (a returning person), family groups,
//! and edits of the single form with the same validation and an audit entry listing what changed.

use chrono::{DateTime, NaiveDate, Utc};
use reintegra_core::audit::{changed_fields, AuditAction};
use reintegra_core::consent::{Consent, ConsentPurpose};
use reintegra_core::ids::{ConsentId, FamilyGroupId, PersonId, ReturnEventId, UserId};
use reintegra_core::permission::Permission;
use reintegra_core::person::{
    BeneficiaryType, BirthDate, CaseFlag, ContactChannel, Education, OtherDocument, Person, Sex,
};
use reintegra_core::return_event::{
    ImmediateAssistance, ReceptionCenter, ReturnEvent, ReturnModality, TravelCompanion,
};
use reintegra_core::user::User;
use reintegra_core::validation::{parse_dui_field, ValidationErrors};
use reintegra_core::vulnerability::Vulnerability;
use serde::{Deserialize, Serialize};
use ts_rs::TS;
use uuid::Uuid;

use crate::access::case_of;
use crate::unit_of_work::{Audit, Work};
use crate::{ApiError, Result, Session};

pub use reintegra_core::calendar::today_in_el_salvador;

/// One return as typed on the intake form.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, TS)]
pub struct ReturnInput {
    pub date: NaiveDate,
    pub modality: ReturnModality,
    /// ISO 3166-1 alpha-2 (`US`, `MX`…).
    pub country_from: String,
    pub reception_center: ReceptionCenter,
    pub custody_days: Option<u16>,
    pub travelled: TravelCompanion,
    pub assistance: Vec<ImmediateAssistance>,
    pub assistance_notes: String,
}

/// One arrival as typed on the intake form ("Nuevo ingreso").
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, TS)]
pub struct ArrivalInput {
    pub beneficiary_type: BeneficiaryType,
    pub first_contact: ContactChannel,
    pub given_names: String,
    pub first_surname: String,
    pub second_surname: String,
    pub sex: Option<Sex>,
    pub birth_date: Option<BirthDate>,
    /// As typed (`########-#`, or the 9 digits); empty when the person has none.
    pub dui: String,
    /// Another identity document, for people without a DUI (minors, people who lost it).
    pub other_document: Option<OtherDocument>,
    pub phone: String,
    pub origin_district: String,
    pub destination_district: String,
    pub education: Option<Education>,
    pub occupation: String,
    pub return_event: Option<ReturnInput>,
    pub vulnerabilities: Vec<Vulnerability>,
    pub consent_registration: bool,
    pub consent_referral_sharing: bool,
    /// "Agregar familiar": register into the family group of this person (made if needed).
    pub family_of: Option<PersonId>,
    pub caseworker: Option<UserId>,
}

/// What the intake form shows after a save.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, TS)]
pub struct Registered {
    pub person: Person,
    pub flags: Vec<CaseFlag>,
}

fn new_id() -> Uuid {
    Uuid::now_v7()
}

fn return_event(input: &ReturnInput) -> ReturnEvent {
    return_event_with_id(ReturnEventId::new(new_id()), input)
}

/// A return as typed, normalised (country upper-case, assistance listed once, notes trimmed).
pub(crate) fn return_event_with_id(id: ReturnEventId, input: &ReturnInput) -> ReturnEvent {
    ReturnEvent {
        id,
        date: input.date,
        modality: input.modality,
        country_from: input.country_from.trim().to_uppercase(),
        reception_center: input.reception_center.clone(),
        custody_days: input.custody_days,
        travelled: input.travelled,
        assistance: dedup_sorted(input.assistance.clone()),
        assistance_notes: input.assistance_notes.trim().to_string(),
    }
}

/// Another identity document as typed: none when its number is blank.
pub(crate) fn other_document_of(typed: Option<&OtherDocument>) -> Option<OtherDocument> {
    typed
        .filter(|d| !d.number.trim().is_empty())
        .map(|d| OtherDocument {
            kind: d.kind,
            number: d.number.trim().to_string(),
        })
}

fn dedup_sorted<T: Ord>(mut v: Vec<T>) -> Vec<T> {
    v.sort();
    v.dedup();
    v
}

/// Builds the person of an arrival; every problem is reported at once, by field.
pub fn person_of_arrival(
    input: &ArrivalInput,
    recorded_by: UserId,
    now: DateTime<Utc>,
) -> Result<Person, ValidationErrors> {
    let today = today_in_el_salvador(now);
    let mut errors = ValidationErrors::new();
    let mut p = Person::new(
        PersonId::new(new_id()),
        input.given_names.trim(),
        input.first_surname.trim(),
        now,
    );
    p.beneficiary_type = input.beneficiary_type;
    p.first_contact = input.first_contact;
    p.second_surname = input.second_surname.trim().to_string();
    p.sex = input.sex;
    p.birth_date = input.birth_date;
    if !input.dui.trim().is_empty() {
        match parse_dui_field("dui", input.dui.trim()) {
            Ok(dui) => p.dui = Some(dui),
            Err(e) => errors.push(e.field, e.problem),
        }
    }
    p.other_document = other_document_of(input.other_document.as_ref());
    p.phone = input.phone.trim().to_string();
    p.education = input.education;
    p.occupation = input.occupation.trim().to_string();
    p.origin_district = input.origin_district.trim().to_string();
    p.destination_district = input.destination_district.trim().to_string();
    p.caseworker = input.caseworker;
    for v in &input.vulnerabilities {
        p.add_vulnerability(*v);
    }
    if let Some(r) = &input.return_event {
        p.add_return(return_event(r));
    }
    if input.consent_registration {
        p.consents.push(Consent::new(
            ConsentId::new(new_id()),
            ConsentPurpose::Registration,
            today,
            recorded_by,
        ));
    }
    if input.consent_referral_sharing {
        p.consents.push(Consent::new(
            ConsentId::new(new_id()),
            ConsentPurpose::ReferralSharing {
                provider: None,
                service_type: None,
            },
            today,
            recorded_by,
        ));
    }
    if let Err(more) = p.validate(today) {
        for e in more.iter() {
            errors.push(e.field.clone(), e.problem.clone());
        }
    }
    errors.into_result().map(|()| p)
}

/// New values typed at intake for a returning person that the worker chose to keep; `None`
/// keeps what the form holds.
#[derive(Debug, Clone, Default, PartialEq, Eq, Deserialize, TS)]
pub struct ReturnUpdates {
    pub phone: Option<String>,
    pub destination_district: Option<String>,
}

impl ReturnUpdates {
    pub fn is_empty(&self) -> bool {
        self.phone.is_none() && self.destination_district.is_none()
    }
}

impl Session {
    /// Registers one arrival. With `family_of`, the new person joins that person's family group
    /// (made now, and given to that person too, if they had none).
    pub fn register_arrival(&self, input: &ArrivalInput, now: DateTime<Utc>) -> Result<Registered> {
        self.with_permission(Permission::RegisterArrivals, |store, user, cases| {
            let mut person = person_of_arrival(input, user.id, now).map_err(ApiError::Invalid)?;
            let mut work = Work::new(store, user, now);
            if let Some(relative_id) = input.family_of {
                let mut relative = store.person(relative_id)?.ok_or(ApiError::NotFound)?;
                let group = match relative.family_group {
                    Some(g) => g,
                    None => {
                        let g = FamilyGroupId::new(new_id());
                        relative.family_group = Some(g);
                        relative.updated_at = now;
                        work.save_person(
                            &relative,
                            Audit::new(AuditAction::Update, "Grupo familiar creado")
                                .fields(["family_group"]),
                        )?;
                        g
                    }
                };
                person.family_group = Some(group);
            }
            work.save_person(&person, Audit::new(AuditAction::Create, "Nuevo ingreso"))?;
            work.commit(cases)?;
            let flags = person.flags(today_in_el_salvador(now));
            Ok(Registered { person, flags })
        })
    }

    /// A returning person: adds a return event (and the arrival's vulnerabilities) to a person
    /// already registered, instead of registering them twice. `updates` are the new values the
    /// worker typed and chose to keep (a new phone, a new destination): they are part of the
    /// same audited change, so nothing typed is lost and the history names the fields.
    pub fn add_return_event(
        &self,
        person_id: PersonId,
        input: &ReturnInput,
        vulnerabilities: &[Vulnerability],
        updates: &ReturnUpdates,
        now: DateTime<Utc>,
    ) -> Result<Registered> {
        // Reception adds a return to anyone who came back before (the returning-person panel).
        self.with_permission(Permission::RegisterArrivals, |store, user, cases| {
            let before = store.person(person_id)?.ok_or(ApiError::NotFound)?;
            let mut person = before.clone();
            person.add_return(return_event(input));
            for v in vulnerabilities {
                person.add_vulnerability(*v);
            }
            if let Some(phone) = &updates.phone {
                person.phone = phone.trim().to_string();
            }
            if let Some(district) = &updates.destination_district {
                person.destination_district = district.trim().to_string();
            }
            person.updated_at = now.max(person.created_at);
            let today = today_in_el_salvador(now);
            person.validate(today).map_err(ApiError::Invalid)?;
            let fields = changed_fields(&before, &person);
            let mut work = Work::new(store, user, now);
            work.save_person(
                &person,
                Audit::new(
                    AuditAction::Update,
                    if updates.is_empty() {
                        "Nuevo retorno registrado"
                    } else {
                        "Nuevo retorno registrado; datos actualizados"
                    },
                )
                .fields(without_timestamps(fields)),
            )?;
            work.commit(cases)?;
            let flags = person.flags(today);
            Ok(Registered { person, flags })
        })
    }

    /// Loads a person, applies `change`, validates, and saves with an audit entry naming the
    /// fields that changed (nothing is written when nothing changed). Every edit of a form goes
    /// through here, so the same rules apply to each.
    pub(crate) fn edit_person(
        &self,
        id: PersonId,
        now: DateTime<Utc>,
        permission: Permission,
        summary: &str,
        change: impl FnOnce(&mut Person, &User, NaiveDate) -> Result<()>,
    ) -> Result<Person> {
        self.with_permission(permission, |store, user, cases| {
            let today = today_in_el_salvador(now);
            let before = case_of(store, user, id, today)?;
            let mut person = before.clone();
            change(&mut person, user, today)?;
            let fields = without_timestamps(changed_fields(&before, &person));
            if fields.is_empty() {
                return Ok(before);
            }
            person.updated_at = now.max(person.created_at);
            person.validate(today).map_err(ApiError::Invalid)?;
            let mut work = Work::new(store, user, now);
            work.save_person(
                &person,
                Audit::new(AuditAction::Update, summary).fields(fields),
            )?;
            work.commit(cases)?;
            Ok(person)
        })
    }
}

pub(crate) fn without_timestamps(fields: Vec<String>) -> Vec<String> {
    fields
        .into_iter()
        .filter(|f| f != "updated_at" && f != "created_at")
        .collect()
}
