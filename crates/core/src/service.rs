//! The services the program refers people to: shared vocabulary of consent, the service
//! directory, referrals and slips (its own module, so consent and referral do not import
//! each other).

use serde::{Deserialize, Serialize};
use ts_rs::TS;

/// The services the program refers people to.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize, TS)]
#[serde(rename_all = "snake_case")]
pub enum ServiceType {
    Psychosocial,
    Vocational,
    Entrepreneurship,
    Health,
    LegalDocuments,
    Education,
    Employment,
    Housing,
    Family,
}

impl ServiceType {
    pub const ALL: [ServiceType; 9] = [
        ServiceType::Psychosocial,
        ServiceType::Vocational,
        ServiceType::Entrepreneurship,
        ServiceType::Health,
        ServiceType::LegalDocuments,
        ServiceType::Education,
        ServiceType::Employment,
        ServiceType::Housing,
        ServiceType::Family,
    ];
}
