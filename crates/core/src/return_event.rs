//! One return of a person to El Salvador. People can come back more than once: a person has
//! many return events, and a new arrival may be an old case.

use chrono::NaiveDate;
use serde::{Deserialize, Serialize};
use ts_rs::TS;

use crate::ids::ReturnEventId;
use crate::validation::{Problem, ValidationErrors};

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize, TS)]
#[serde(rename_all = "snake_case")]
pub enum ReturnModality {
    Air,
    Land,
}

/// Where the person was received. The two centers the program supports are named; any other
/// is free text so a new center does not need a release.
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize, Deserialize, TS)]
#[serde(rename_all = "snake_case")]
pub enum ReceptionCenter {
    /// Gerencia de Atención al Migrante, at the airport: air arrivals.
    Gami,
    /// Centro Integral de Protección a la Niñez.
    Cipi,
    Other(String),
}

/// Who the person travelled with on this return.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize, TS)]
#[serde(rename_all = "snake_case")]
pub enum TravelCompanion {
    Alone,
    WithFamily,
    UnaccompaniedMinor,
}

/// Help given on arrival, counted in reports.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize, TS)]
#[serde(rename_all = "snake_case")]
pub enum ImmediateAssistance {
    Food,
    HygieneKit,
    Clothing,
    Transport,
    PhoneCall,
    MedicalCare,
    PsychologicalFirstAid,
    TemporaryShelter,
    Cash,
    Documentation,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, TS)]
pub struct ReturnEvent {
    pub id: ReturnEventId,
    pub date: NaiveDate,
    pub modality: ReturnModality,
    /// ISO 3166-1 alpha-2 code of the country the person returned from (`US`, `MX`, `GT`…).
    pub country_from: String,
    pub reception_center: ReceptionCenter,
    /// Days spent in migration custody before the return, if known.
    pub custody_days: Option<u16>,
    pub travelled: TravelCompanion,
    pub assistance: Vec<ImmediateAssistance>,
    /// What else was given or arranged on arrival.
    pub assistance_notes: String,
}

impl ReturnEvent {
    /// Checks this event alone; rules that need the person (born before the return, a minor
    /// if travelling as unaccompanied minor) are in `Person::validate`.
    pub fn validate(&self, today: NaiveDate) -> Result<(), ValidationErrors> {
        let mut e = ValidationErrors::new();
        e.not_in_future("date", self.date, today);
        let country = self.country_from.as_bytes();
        if country.is_empty() {
            e.push("country_from", Problem::Required);
        } else if country.len() != 2 || !country.iter().all(u8::is_ascii_uppercase) {
            e.push("country_from", Problem::InvalidCountry);
        }
        if let ReceptionCenter::Other(name) = &self.reception_center {
            e.require_text("reception_center", name);
        }
        for (i, a) in self.assistance.iter().enumerate() {
            if self.assistance[..i].contains(a) {
                e.push(format!("assistance[{i}]"), Problem::Duplicate);
            }
        }
        e.into_result()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;
    use uuid::Uuid;

    fn date(y: i32, m: u32, d: u32) -> NaiveDate {
        NaiveDate::from_ymd_opt(y, m, d).expect("valid test date")
    }

    fn event() -> ReturnEvent {
        ReturnEvent {
            id: ReturnEventId::new(Uuid::from_u128(1)),
            date: date(2025, 2, 14),
            modality: ReturnModality::Air,
            country_from: "US".into(),
            reception_center: ReceptionCenter::Gami,
            custody_days: Some(40),
            travelled: TravelCompanion::Alone,
            assistance: vec![ImmediateAssistance::Food, ImmediateAssistance::PhoneCall],
            assistance_notes: String::new(),
        }
    }

    #[test]
    fn a_complete_event_is_valid() {
        assert_eq!(event().validate(date(2025, 2, 14)), Ok(()));
    }

    #[test]
    fn reports_each_problem_on_its_field() {
        let mut ev = event();
        ev.date = date(2025, 3, 1);
        ev.country_from = "usa".into();
        ev.reception_center = ReceptionCenter::Other("  ".into());
        ev.assistance.push(ImmediateAssistance::Food);
        let e = ev.validate(date(2025, 2, 28)).expect_err("invalid");
        assert!(e.has("date", "date_in_future"));
        assert!(e.has("country_from", "invalid_country"));
        assert!(e.has("reception_center", "required"));
        assert!(e.has("assistance[2]", "duplicate"));
        assert_eq!(e.len(), 4);
        ev.country_from.clear();
        assert!(ev
            .validate(date(2025, 3, 1))
            .expect_err("invalid")
            .has("country_from", "required"));
    }

    #[test]
    fn json_shape() {
        let mut ev = event();
        let v = serde_json::to_value(&ev).expect("serialize");
        assert_eq!(v["reception_center"], "gami");
        assert_eq!(v["travelled"], "alone");
        assert_eq!(v["assistance"][1], "phone_call");
        ev.reception_center = ReceptionCenter::Other("Frontera La Hachadura".into());
        let v = serde_json::to_value(&ev).expect("serialize");
        assert_eq!(v["reception_center"]["other"], "Frontera La Hachadura");
        assert_eq!(
            serde_json::from_value::<ReturnEvent>(v).expect("deserialize"),
            ev
        );
    }

    proptest! {
        #[test]
        fn country_must_be_two_upper_case_letters(code in "[A-Za-z0-9]{1,4}") {
            let mut ev = event();
            ev.country_from = code.clone();
            let ok = code.len() == 2 && code.bytes().all(|b| b.is_ascii_uppercase());
            prop_assert_eq!(ev.validate(date(2025, 12, 31)).is_ok(), ok);
        }
    }
}
