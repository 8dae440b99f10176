//! Edits of the single form, one section at a time: the UI sends what the section's fields hold,
//! never a whole `Person`, so the api's normalisation and domain rules (trimming, the DUI check,
//! the unaccompanied-child rule of a return) apply to every edit, as they do at intake.

use chrono::{DateTime, Utc};
use reintegra_core::ids::{PersonId, ReturnEventId, UserId};
use reintegra_core::permission::Permission;
use reintegra_core::person::{
    BeneficiaryType, BirthDate, ContactChannel, Education, OtherDocument, Person, Sex,
};
use reintegra_core::validation::{parse_dui_field, ValidationErrors};
use reintegra_core::vulnerability::Vulnerability;
use serde::Deserialize;
use ts_rs::TS;

use crate::intake::{other_document_of, return_event_with_id, ReturnInput};
use crate::{ApiError, Result, Session};

/// "Identidad y contacto": who the person is and how to reach them.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize, TS)]
pub struct ContactInput {
    pub beneficiary_type: BeneficiaryType,
    pub first_contact: ContactChannel,
    pub given_names: String,
    pub first_surname: String,
    pub second_surname: String,
    pub sex: Option<Sex>,
    pub birth_date: Option<BirthDate>,
    /// As typed (`########-#`, or the 9 digits); empty when the person has none.
    pub dui: String,
    pub other_document: Option<OtherDocument>,
    pub phone: String,
}

/// "Perfil": where the person comes from and goes to, and their background.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize, TS)]
pub struct ProfileInput {
    pub origin_district: String,
    pub destination_district: String,
    pub education: Option<Education>,
    pub occupation: String,
    pub skills: Vec<String>,
    pub household_notes: String,
}

/// "Asignación y vulnerabilidades": who follows the case and what sets its priority.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize, TS)]
pub struct RoutingInput {
    pub caseworker: Option<UserId>,
    pub vulnerabilities: Vec<Vulnerability>,
}

fn apply_contact(p: &mut Person, input: &ContactInput) -> Result<()> {
    let dui = input.dui.trim();
    p.dui = if dui.is_empty() {
        None
    } else {
        let parsed = parse_dui_field("dui", dui).map_err(|e| {
            let mut errors = ValidationErrors::new();
            errors.push(e.field, e.problem);
            ApiError::Invalid(errors)
        })?;
        Some(parsed)
    };
    p.beneficiary_type = input.beneficiary_type;
    p.first_contact = input.first_contact;
    p.given_names = input.given_names.trim().to_string();
    p.first_surname = input.first_surname.trim().to_string();
    p.second_surname = input.second_surname.trim().to_string();
    p.sex = input.sex;
    p.birth_date = input.birth_date;
    p.other_document = other_document_of(input.other_document.as_ref());
    p.phone = input.phone.trim().to_string();
    Ok(())
}

fn apply_profile(p: &mut Person, input: &ProfileInput) {
    p.origin_district = input.origin_district.trim().to_string();
    p.destination_district = input.destination_district.trim().to_string();
    p.education = input.education;
    p.occupation = input.occupation.trim().to_string();
    p.skills = Vec::new();
    for skill in input
        .skills
        .iter()
        .map(|s| s.trim())
        .filter(|s| !s.is_empty())
    {
        if !p.skills.iter().any(|have| have == skill) {
            p.skills.push(skill.to_string());
        }
    }
    p.household_notes = input.household_notes.trim().to_string();
}

fn apply_routing(p: &mut Person, input: &RoutingInput) {
    p.caseworker = input.caseworker;
    p.vulnerabilities = Vec::new();
    for v in &input.vulnerabilities {
        p.add_vulnerability(*v);
    }
}

impl Session {
    pub fn edit_contact(
        &self,
        id: PersonId,
        input: &ContactInput,
        now: DateTime<Utc>,
    ) -> Result<Person> {
        self.edit_person(
            id,
            now,
            Permission::EditCases,
            "Ficha: identidad y contacto",
            |p, _, _| apply_contact(p, input),
        )
    }

    pub fn edit_profile(
        &self,
        id: PersonId,
        input: &ProfileInput,
        now: DateTime<Utc>,
    ) -> Result<Person> {
        self.edit_person(
            id,
            now,
            Permission::EditCases,
            "Ficha: perfil",
            |p, _, _| {
                apply_profile(p, input);
                Ok(())
            },
        )
    }

    pub fn edit_routing(
        &self,
        id: PersonId,
        input: &RoutingInput,
        now: DateTime<Utc>,
    ) -> Result<Person> {
        self.edit_person(
            id,
            now,
            Permission::EditCases,
            "Ficha: asignación y vulnerabilidades",
            |p, _, _| {
                apply_routing(p, input);
                Ok(())
            },
        )
    }

    /// Corrects a recorded return, with the same rules as recording one (a child travelling
    /// alone makes the person an unaccompanied child).
    pub fn edit_return_event(
        &self,
        id: PersonId,
        return_id: ReturnEventId,
        input: &ReturnInput,
        now: DateTime<Utc>,
    ) -> Result<Person> {
        self.edit_person(
            id,
            now,
            Permission::EditCases,
            "Retorno corregido",
            |p, _, _| {
                if p.replace_return(return_event_with_id(return_id, input)) {
                    Ok(())
                } else {
                    Err(ApiError::NotFound)
                }
            },
        )
    }
}
