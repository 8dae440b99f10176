//! Consent, per purpose. No consent, no sharing: a referral is sent to a provider only while an
//! active consent covers that provider (or its service type), and a follow-up call is made only
//! with consent to be contacted.

use chrono::NaiveDate;
use serde::{Deserialize, Serialize};
use ts_rs::TS;

use crate::ids::{ConsentId, ProviderId, UserId};
use crate::service::ServiceType;
use crate::validation::ValidationErrors;

/// What the person agreed to.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize, TS)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum ConsentPurpose {
    /// To be registered: the program keeps their single form.
    Registration,
    /// To share their data for referrals. `provider: None` covers any provider and
    /// `service_type: None` any service; a consent given for a named partner covers only it.
    ReferralSharing {
        provider: Option<ProviderId>,
        service_type: Option<ServiceType>,
    },
    /// To be contacted for follow-up (visits, calls).
    FollowUpContact,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, TS)]
pub struct Consent {
    pub id: ConsentId,
    pub purpose: ConsentPurpose,
    pub given_on: NaiveDate,
    pub recorded_by: UserId,
    /// From this day on the consent no longer holds.
    pub withdrawn_on: Option<NaiveDate>,
}

impl Consent {
    pub fn new(
        id: ConsentId,
        purpose: ConsentPurpose,
        given_on: NaiveDate,
        recorded_by: UserId,
    ) -> Self {
        Consent {
            id,
            purpose,
            given_on,
            recorded_by,
            withdrawn_on: None,
        }
    }

    /// Holds on `on`: given on or before it and not withdrawn by then.
    pub fn is_active(&self, on: NaiveDate) -> bool {
        self.given_on <= on && self.withdrawn_on.is_none_or(|w| on < w)
    }

    /// Whether this consent, if active, allows sharing with `provider` for `service_type`.
    pub fn covers_sharing(&self, provider: ProviderId, service_type: ServiceType) -> bool {
        match self.purpose {
            ConsentPurpose::ReferralSharing {
                provider: p,
                service_type: s,
            } => p.is_none_or(|p| p == provider) && s.is_none_or(|s| s == service_type),
            _ => false,
        }
    }

    pub fn validate(&self, today: NaiveDate) -> Result<(), ValidationErrors> {
        let mut e = ValidationErrors::new();
        e.not_in_future("given_on", self.given_on, today);
        if let Some(w) = self.withdrawn_on {
            e.not_in_future("withdrawn_on", w, today);
            e.not_before("withdrawn_on", w, "given_on", self.given_on);
        }
        e.into_result()
    }
}

/// Whether `consents` allow sharing the person's data with `provider` for `service_type` on `on`.
pub fn may_share(
    consents: &[Consent],
    provider: ProviderId,
    service_type: ServiceType,
    on: NaiveDate,
) -> bool {
    consents
        .iter()
        .any(|c| c.is_active(on) && c.covers_sharing(provider, service_type))
}

/// Whether the form is restricted on `on`: the person has no active consent to be registered
/// (withdrawn, or never given). A restricted form leaves the caseload and the duplicate queue
/// (intake still finds it by DUI, so the person is not registered twice), takes no new
/// referral, and is listed to supervisors to decide its erasure.
pub fn restricted(consents: &[Consent], on: NaiveDate) -> bool {
    !has_active(consents, ConsentPurpose::Registration, on)
}

/// Whether the person withdrew being contacted for follow-up (a follow-up-contact consent
/// was given and none holds on `on`): no contact follow-up may be scheduled then.
pub fn follow_up_contact_withdrawn(consents: &[Consent], on: NaiveDate) -> bool {
    let of_contact = |c: &&Consent| c.purpose == ConsentPurpose::FollowUpContact;
    consents
        .iter()
        .filter(of_contact)
        .any(|c| c.withdrawn_on.is_some_and(|w| w <= on))
        && !has_active(consents, ConsentPurpose::FollowUpContact, on)
}

/// Whether some active consent on `on` is for `purpose` exactly (registration, follow-up
/// contact, or a specific sharing consent).
pub fn has_active(consents: &[Consent], purpose: ConsentPurpose, on: NaiveDate) -> bool {
    consents
        .iter()
        .any(|c| c.is_active(on) && c.purpose == purpose)
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;
    use uuid::Uuid;

    fn date(y: i32, m: u32, d: u32) -> NaiveDate {
        NaiveDate::from_ymd_opt(y, m, d).expect("valid test date")
    }

    fn consent(purpose: ConsentPurpose, given_on: NaiveDate) -> Consent {
        Consent::new(
            ConsentId::new(Uuid::from_u128(1)),
            purpose,
            given_on,
            UserId::new(Uuid::from_u128(2)),
        )
    }

    const P1: ProviderId = ProviderId::new(Uuid::from_u128(10));
    const P2: ProviderId = ProviderId::new(Uuid::from_u128(11));

    #[test]
    fn active_from_given_day_until_withdrawal_day() {
        let mut c = consent(ConsentPurpose::FollowUpContact, date(2025, 3, 10));
        assert!(!c.is_active(date(2025, 3, 9)));
        assert!(c.is_active(date(2025, 3, 10)));
        assert!(c.is_active(date(2030, 1, 1)));
        c.withdrawn_on = Some(date(2025, 4, 1));
        assert!(c.is_active(date(2025, 3, 31)));
        assert!(!c.is_active(date(2025, 4, 1)));
    }

    #[test]
    fn a_form_is_restricted_without_registration_consent_and_contact_stops_when_withdrawn() {
        let on = date(2025, 5, 1);
        let mut registration = consent(ConsentPurpose::Registration, date(2025, 1, 1));
        assert!(restricted(&[], on), "never given");
        assert!(!restricted(std::slice::from_ref(&registration), on));
        registration.withdrawn_on = Some(on);
        assert!(restricted(&[registration], on), "withdrawn that day");

        let mut contact = consent(ConsentPurpose::FollowUpContact, date(2025, 1, 1));
        assert!(
            !follow_up_contact_withdrawn(&[], on),
            "never asked is not a refusal"
        );
        assert!(!follow_up_contact_withdrawn(
            std::slice::from_ref(&contact),
            on
        ));
        contact.withdrawn_on = Some(date(2025, 6, 1));
        assert!(
            !follow_up_contact_withdrawn(std::slice::from_ref(&contact), on),
            "not yet"
        );
        assert!(follow_up_contact_withdrawn(
            std::slice::from_ref(&contact),
            date(2025, 6, 1)
        ));
        let again = consent(ConsentPurpose::FollowUpContact, date(2025, 7, 1));
        assert!(
            !follow_up_contact_withdrawn(&[contact, again], date(2025, 7, 1)),
            "given again"
        );
    }

    #[test]
    fn sharing_is_limited_to_the_named_provider_and_service() {
        let on = date(2025, 5, 1);
        let named = consent(
            ConsentPurpose::ReferralSharing {
                provider: Some(P1),
                service_type: None,
            },
            date(2025, 1, 1),
        );
        assert!(may_share(
            std::slice::from_ref(&named),
            P1,
            ServiceType::Health,
            on
        ));
        assert!(!may_share(
            std::slice::from_ref(&named),
            P2,
            ServiceType::Health,
            on
        ));

        let by_service = consent(
            ConsentPurpose::ReferralSharing {
                provider: None,
                service_type: Some(ServiceType::Vocational),
            },
            date(2025, 1, 1),
        );
        assert!(may_share(
            std::slice::from_ref(&by_service),
            P2,
            ServiceType::Vocational,
            on
        ));
        assert!(!may_share(
            std::slice::from_ref(&by_service),
            P2,
            ServiceType::LegalDocuments,
            on
        ));
    }

    #[test]
    fn registration_or_follow_up_consent_does_not_allow_sharing() {
        let on = date(2025, 5, 1);
        let cs = [
            consent(ConsentPurpose::Registration, date(2025, 1, 1)),
            consent(ConsentPurpose::FollowUpContact, date(2025, 1, 1)),
        ];
        assert!(!may_share(&cs, P1, ServiceType::Health, on));
        assert!(has_active(&cs, ConsentPurpose::FollowUpContact, on));
        assert!(!has_active(
            &cs,
            ConsentPurpose::FollowUpContact,
            date(2024, 12, 31)
        ));
    }

    #[test]
    fn withdrawn_sharing_consent_stops_sharing() {
        let mut c = consent(
            ConsentPurpose::ReferralSharing {
                provider: None,
                service_type: None,
            },
            date(2025, 1, 1),
        );
        c.withdrawn_on = Some(date(2025, 2, 1));
        assert!(may_share(
            std::slice::from_ref(&c),
            P1,
            ServiceType::Housing,
            date(2025, 1, 31)
        ));
        assert!(!may_share(
            std::slice::from_ref(&c),
            P1,
            ServiceType::Housing,
            date(2025, 2, 1)
        ));
    }

    #[test]
    fn validation_rejects_future_and_out_of_order_dates() {
        let today = date(2025, 6, 1);
        let mut c = consent(ConsentPurpose::Registration, date(2025, 6, 2));
        c.withdrawn_on = Some(date(2025, 5, 1));
        let e = c.validate(today).expect_err("invalid");
        assert!(e.has("given_on", "date_in_future"));
        assert!(e.has("withdrawn_on", "date_out_of_order"));
        assert!(consent(ConsentPurpose::Registration, today)
            .validate(today)
            .is_ok());
    }

    #[test]
    fn json_shape() {
        let c = consent(
            ConsentPurpose::ReferralSharing {
                provider: Some(P1),
                service_type: None,
            },
            date(2025, 1, 1),
        );
        let v = serde_json::to_value(&c).expect("serialize");
        assert_eq!(v["purpose"]["kind"], "referral_sharing");
        assert_eq!(v["given_on"], "2025-01-01");
        assert_eq!(
            serde_json::from_value::<Consent>(v).expect("deserialize"),
            c
        );
    }

    proptest! {
        #[test]
        fn active_exactly_within_the_half_open_interval(g in 0u64..1000, w in proptest::option::of(0u64..1000), d in 0u64..1000) {
            let base = date(2020, 1, 1);
            let mut c = consent(ConsentPurpose::Registration, base + chrono::Days::new(g));
            c.withdrawn_on = w.map(|w| base + chrono::Days::new(w));
            let expected = g <= d && w.is_none_or(|w| d < w);
            prop_assert_eq!(c.is_active(base + chrono::Days::new(d)), expected);
        }
    }
}
