//! The service directory: who offers which service where, and what they need to receive a
//! referral. `example` marks sample entries shipped for training, so they are never mistaken
//! for real partners.

use serde::{Deserialize, Serialize};
use ts_rs::TS;

use crate::ids::ProviderId;
use crate::person::Person;
use crate::service::ServiceType;
use crate::territory::Territory;
use crate::validation::{Problem, ValidationErrors};

/// Parts of the single form a provider may require before accepting a referral.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize, TS)]
#[serde(rename_all = "snake_case")]
pub enum PersonField {
    GivenNames,
    Surnames,
    Sex,
    BirthDate,
    Dui,
    /// A DUI or another identity document.
    IdentityDocument,
    Phone,
    DestinationDistrict,
    Education,
    Occupation,
    ReturnEvents,
    Vulnerabilities,
}

impl PersonField {
    /// Whether `person` has this part filled in.
    pub fn is_filled(self, person: &Person) -> bool {
        match self {
            PersonField::GivenNames => !person.given_names.trim().is_empty(),
            PersonField::Surnames => !person.first_surname.trim().is_empty(),
            PersonField::Sex => person.sex.is_some(),
            PersonField::BirthDate => person.birth_date.is_some(),
            PersonField::Dui => person.dui.is_some(),
            PersonField::IdentityDocument => {
                person.dui.is_some() || person.other_document.is_some()
            }
            PersonField::Phone => !person.phone.trim().is_empty(),
            PersonField::DestinationDistrict => !person.destination_district.trim().is_empty(),
            PersonField::Education => person.education.is_some(),
            PersonField::Occupation => !person.occupation.trim().is_empty(),
            PersonField::ReturnEvents => !person.return_events.is_empty(),
            PersonField::Vulnerabilities => !person.vulnerabilities.is_empty(),
        }
    }
}

#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize, TS)]
pub struct ProviderContact {
    pub person: String,
    pub phone: String,
    pub email: String,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, TS)]
pub struct ServiceProvider {
    pub id: ProviderId,
    /// The programme or office, e.g. "Programa de Formación Profesional".
    pub name: String,
    /// The institution behind it, e.g. "INSAFORP".
    pub institution: String,
    pub service_types: Vec<ServiceType>,
    /// Codes of the municipalities served. Empty means nationwide.
    pub municipalities_served: Vec<String>,
    pub contact: ProviderContact,
    /// What the provider needs on the form before it can take a referral.
    pub required_fields: Vec<PersonField>,
    /// Sample data, not a real partner.
    pub example: bool,
    /// Taken out of the directory: no new referrals to it, but referrals keep its id and slip.
    /// (Providers are never deleted: a delete would not sync and old referrals need the name.)
    #[serde(default)]
    pub retired: bool,
}

impl ServiceProvider {
    pub fn offers(&self, service_type: ServiceType) -> bool {
        self.service_types.contains(&service_type)
    }

    pub fn serves_municipality(&self, municipality_code: &str) -> bool {
        self.municipalities_served.is_empty()
            || self
                .municipalities_served
                .iter()
                .any(|m| m == municipality_code)
    }

    /// Whether a person living in `district_code` can be served (through its municipality).
    pub fn serves_district(&self, district_code: &str) -> bool {
        if self.municipalities_served.is_empty() {
            return true;
        }
        Territory::el_salvador()
            .place(district_code)
            .is_some_and(|p| self.serves_municipality(&p.municipality_code))
    }

    /// The required parts of the form `person` has not filled in yet, so the caseworker can
    /// complete them before sending.
    pub fn missing_fields(&self, person: &Person) -> Vec<PersonField> {
        self.required_fields
            .iter()
            .copied()
            .filter(|f| !f.is_filled(person))
            .collect()
    }

    pub fn validate(&self) -> Result<(), ValidationErrors> {
        let mut e = ValidationErrors::new();
        e.require_text("name", &self.name);
        e.require_text("institution", &self.institution);
        if self.service_types.is_empty() {
            e.push("service_types", Problem::Required);
        }
        for (i, m) in self.municipalities_served.iter().enumerate() {
            e.known_municipality(&format!("municipalities_served[{i}]"), m);
        }
        if !self.contact.phone.trim().is_empty() {
            e.phone("contact.phone", &self.contact.phone);
        }
        e.into_result()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use uuid::Uuid;

    fn provider() -> ServiceProvider {
        ServiceProvider {
            id: ProviderId::new(Uuid::from_u128(1)),
            name: "Formación técnica (ejemplo)".into(),
            institution: "Instituto de ejemplo".into(),
            service_types: vec![ServiceType::Vocational, ServiceType::Employment],
            municipalities_served: vec![],
            contact: ProviderContact {
                person: "Luis".into(),
                phone: "2222-3333".into(),
                email: String::new(),
            },
            required_fields: vec![PersonField::Dui, PersonField::Phone],
            example: true,
            retired: false,
        }
    }

    fn some_place() -> (String, String) {
        let p = Territory::el_salvador()
            .places()
            .next()
            .expect("territory has places");
        (p.district_code.clone(), p.municipality_code.clone())
    }

    #[test]
    fn offers_and_serves() {
        let mut p = provider();
        assert!(p.offers(ServiceType::Vocational));
        assert!(!p.offers(ServiceType::Health));
        let (district, municipality) = some_place();
        assert!(
            p.serves_district(&district),
            "nationwide when no municipality is listed"
        );
        p.municipalities_served = vec![municipality.clone()];
        assert!(p.serves_municipality(&municipality));
        assert!(p.serves_district(&district));
        assert!(!p.serves_district("no-such-district"));
        p.municipalities_served = vec!["other".into()];
        assert!(!p.serves_district(&district));
    }

    #[test]
    fn validation_rules() {
        assert_eq!(provider().validate(), Ok(()));
        let mut p = provider();
        p.name.clear();
        p.service_types.clear();
        p.municipalities_served = vec![some_place().1, "zz".into()];
        p.contact.phone = "12".into();
        let e = p.validate().expect_err("invalid");
        assert!(e.has("name", "required"));
        assert!(e.has("service_types", "required"));
        assert!(e.has("municipalities_served[1]", "unknown_municipality"));
        assert!(!e.has("municipalities_served[0]", "unknown_municipality"));
        assert!(e.has("contact.phone", "invalid_phone"));
    }

    #[test]
    fn json_shape() {
        let p = provider();
        let v = serde_json::to_value(&p).expect("serialize");
        assert_eq!(v["required_fields"][0], "dui");
        assert_eq!(v["example"], true);
        assert_eq!(
            serde_json::from_value::<ServiceProvider>(v).expect("deserialize"),
            p
        );
    }
}
