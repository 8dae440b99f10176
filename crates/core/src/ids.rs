//! Typed ids for every record. Ids are UUIDv7 made on the device by the caller (this crate reads
//! no clock), so records can be created offline and merged later without collisions.
//! A newtype per entity keeps a `PersonId` from being passed where a `ReferralId` is expected.

use std::fmt;
use std::str::FromStr;

use serde::{Deserialize, Serialize};
use ts_rs::TS;
use uuid::Uuid;

macro_rules! id_type {
    ($($(#[$doc:meta])* $name:ident;)+) => {$(
        $(#[$doc])*
        #[derive(
            Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize, TS,
        )]
        #[serde(transparent)]
        #[ts(type = "string")]
        pub struct $name(Uuid);

        impl $name {
            /// Wraps an id made by the caller (a UUIDv7 from the app, a fixed value in tests).
            pub const fn new(uuid: Uuid) -> Self {
                Self(uuid)
            }

            pub const fn as_uuid(&self) -> Uuid {
                self.0
            }
        }

        impl From<Uuid> for $name {
            fn from(uuid: Uuid) -> Self {
                Self(uuid)
            }
        }

        impl From<$name> for Uuid {
            fn from(id: $name) -> Uuid {
                id.0
            }
        }

        impl fmt::Display for $name {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                fmt::Display::fmt(&self.0, f)
            }
        }

        impl FromStr for $name {
            type Err = uuid::Error;

            fn from_str(s: &str) -> Result<Self, Self::Err> {
                Uuid::parse_str(s).map(Self)
            }
        }
    )+};
}

id_type! {
    /// A person: the single form ("ficha única").
    PersonId;
    /// One return of a person to El Salvador.
    ReturnEventId;
    /// A consent given by a person for one purpose.
    ConsentId;
    /// A goal of a reintegration plan.
    GoalId;
    /// A referral to a service provider.
    ReferralId;
    /// A scheduled follow-up contact.
    FollowUpId;
    /// A caseworker's note on a case.
    CaseNoteId;
    /// An entry of the service directory.
    ProviderId;
    /// A staff member who uses the app.
    UserId;
    /// An enrolled device (laptop) that syncs with the server.
    DeviceId;
    /// People who returned together or live together.
    FamilyGroupId;
    /// One line of the audit log.
    AuditId;
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    #[test]
    fn serializes_as_a_plain_uuid_string() {
        let uuid = Uuid::from_u128(0x0190_0000_0000_7000_8000_0000_0000_0001);
        let id = PersonId::new(uuid);
        let json = serde_json::to_string(&id).expect("serialize");
        assert_eq!(json, format!("\"{uuid}\""));
        assert_eq!(id.to_string(), uuid.to_string());
        let back: PersonId = serde_json::from_str(&json).expect("deserialize");
        assert_eq!(back, id);
    }

    #[test]
    fn typescript_type_is_string() {
        assert_eq!(PersonId::inline(), "string");
        assert_eq!(AuditId::inline(), "string");
    }

    #[test]
    fn rejects_text_that_is_not_a_uuid() {
        assert!("not-a-uuid".parse::<UserId>().is_err());
        assert!(serde_json::from_str::<UserId>("\"42\"").is_err());
    }

    proptest! {
        #[test]
        fn display_and_parse_round_trip(n in any::<u128>()) {
            let id = ReferralId::new(Uuid::from_u128(n));
            prop_assert_eq!(id.to_string().parse::<ReferralId>().expect("parse"), id);
            prop_assert_eq!(Uuid::from(id), Uuid::from_u128(n));
        }
    }
}
