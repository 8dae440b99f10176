//! The referral slip: the page a provider receives when a referral is sent. Minimal sharing: it
//! holds the referral itself and only the parts of the single form the provider said it needs
//! (`ServiceProvider::required_fields`), never the whole profile.

use serde::Serialize;
use ts_rs::TS;

use crate::person::{BirthDate, Person};
use crate::provider::{PersonField, ServiceProvider};
use crate::referral::{Entrepreneurship, Priority, Referral, ServiceType};
use crate::territory::Territory;

/// One part of the form on the slip: free text and dates already written out (dd/mm/yyyy), or,
/// for fields with fixed choices (sex, education, vulnerabilities), their codes — the page
/// translates those, so the slip reads in the user's language.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, TS)]
pub struct SlipField {
    pub field: PersonField,
    pub value: String,
    pub codes: Vec<String>,
}

/// The serde code of a fixed choice (`"female"`, `"upper_secondary"`, …).
fn code<T: Serialize>(choice: &T) -> String {
    match serde_json::to_value(choice) {
        Ok(serde_json::Value::String(code)) => code,
        _ => String::new(),
    }
}

fn codes_of(field: PersonField, p: &Person) -> Vec<String> {
    match field {
        PersonField::Sex => p.sex.iter().map(code).collect(),
        PersonField::Education => p.education.iter().map(code).collect(),
        PersonField::Vulnerabilities => p.vulnerabilities.iter().map(code).collect(),
        _ => Vec::new(),
    }
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, TS)]
pub struct ReferralSlip {
    pub service_type: ServiceType,
    pub priority: Priority,
    pub reason: String,
    pub provider_name: String,
    pub institution: String,
    pub entrepreneurship: Option<Entrepreneurship>,
    /// Only the fields the provider requires, in the provider's order.
    pub fields: Vec<SlipField>,
}

fn birth_date_text(b: &BirthDate) -> String {
    match b {
        BirthDate::Exact { date } => date.format("%d/%m/%Y").to_string(),
        BirthDate::Year { year } => format!("{year} (solo el año)"),
        BirthDate::EstimatedFromAge { age, .. } => format!("{age} años (aprox.)"),
    }
}

/// The value of one part of the form as the slip shows it ("" when not filled in).
fn value_of(field: PersonField, p: &Person) -> String {
    match field {
        PersonField::GivenNames => p.given_names.clone(),
        PersonField::Surnames => format!("{} {}", p.first_surname, p.second_surname)
            .trim()
            .to_string(),
        PersonField::BirthDate => p
            .birth_date
            .as_ref()
            .map(birth_date_text)
            .unwrap_or_default(),
        PersonField::Dui => p
            .dui
            .as_ref()
            .map(|d| d.as_str().to_string())
            .unwrap_or_default(),
        PersonField::IdentityDocument => match (&p.dui, &p.other_document) {
            (Some(dui), _) => format!("DUI {}", dui.as_str()),
            (None, Some(doc)) => doc.number.clone(),
            (None, None) => String::new(),
        },
        PersonField::Phone => p.phone.clone(),
        PersonField::DestinationDistrict => Territory::el_salvador()
            .place(&p.destination_district)
            .map(|pl| format!("{}, {}", pl.district_name, pl.department_name))
            .unwrap_or_default(),
        PersonField::Occupation => p.occupation.clone(),
        PersonField::Sex | PersonField::Education | PersonField::Vulnerabilities => String::new(),
        PersonField::ReturnEvents => p
            .return_events
            .iter()
            .map(|r| format!("{} desde {}", r.date.format("%d/%m/%Y"), r.country_from))
            .collect::<Vec<_>>()
            .join("; "),
    }
}

/// The slip of `referral` for `provider`: the referral and the required parts of `person`.
pub fn referral_slip(
    person: &Person,
    referral: &Referral,
    provider: &ServiceProvider,
) -> ReferralSlip {
    ReferralSlip {
        service_type: referral.service_type,
        priority: referral.priority,
        reason: referral.reason.clone(),
        provider_name: provider.name.clone(),
        institution: provider.institution.clone(),
        entrepreneurship: referral.entrepreneurship.clone(),
        fields: provider
            .required_fields
            .iter()
            .map(|&field| SlipField {
                field,
                value: value_of(field, person),
                codes: codes_of(field, person),
            })
            .collect(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::dui::Dui;
    use crate::ids::{PersonId, ProviderId, ReferralId, UserId};
    use chrono::{TimeZone, Utc};
    use uuid::Uuid;

    #[test]
    fn the_slip_carries_only_what_the_provider_needs() {
        let now = Utc.with_ymd_and_hms(2026, 11, 23, 12, 0, 0).unwrap();
        let mut p = Person::new(PersonId::new(Uuid::from_u128(1)), "Kevin", "López", now);
        p.second_surname = "Díaz".into();
        p.phone = "7123-4567".into();
        p.dui = Dui::from_body("01234567");
        p.household_notes = "vive con su abuela".into();
        let mut provider = ServiceProvider {
            id: ProviderId::new(Uuid::from_u128(2)),
            name: "Centro de salud mental".into(),
            institution: "MINSAL".into(),
            service_types: vec![ServiceType::Psychosocial],
            municipalities_served: vec![],
            contact: Default::default(),
            required_fields: vec![
                PersonField::GivenNames,
                PersonField::Surnames,
                PersonField::Phone,
            ],
            example: false,
            retired: false,
        };
        let referral = Referral::propose(
            ReferralId::new(Uuid::from_u128(3)),
            p.id,
            ServiceType::Psychosocial,
            now,
            UserId::new(Uuid::from_u128(4)),
        );
        let slip = referral_slip(&p, &referral, &provider);
        let shown: Vec<(PersonField, &str)> = slip
            .fields
            .iter()
            .map(|f| (f.field, f.value.as_str()))
            .collect();
        assert_eq!(
            shown,
            [
                (PersonField::GivenNames, "Kevin"),
                (PersonField::Surnames, "López Díaz"),
                (PersonField::Phone, "7123-4567")
            ]
        );
        let text = serde_json::to_string(&slip).unwrap();
        assert!(!text.contains("01234567"), "no DUI unless required: {text}");
        assert!(!text.contains("abuela"), "no household notes: {text}");

        p.sex = Some(crate::person::Sex::Male);
        provider.required_fields = vec![PersonField::Sex, PersonField::Vulnerabilities];
        let slip = referral_slip(&p, &referral, &provider);
        assert_eq!(
            slip.fields[0].codes,
            ["male"],
            "choices travel as codes the page translates"
        );
        assert!(slip.fields[1].codes.is_empty());

        provider.required_fields = vec![PersonField::IdentityDocument];
        let slip = referral_slip(&p, &referral, &provider);
        assert_eq!(
            slip.fields[0].value,
            format!("DUI {}", p.dui.as_ref().unwrap().as_str())
        );
    }
}
