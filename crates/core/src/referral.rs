//! Referrals to a service provider and their lifecycle:
//! `proposed → sent → accepted → in_progress → completed`, with `declined` (by the provider,
//! once sent) and `cancelled` (by us, any time before completion) as the other endings.
//! Every step is dated and authored, so a supervisor can see who moved a referral and when.

use std::fmt;

use chrono::{DateTime, NaiveDate, Utc};
use serde::{Deserialize, Serialize};
use ts_rs::TS;

use crate::calendar::today_in_el_salvador;
use crate::consent::{self, Consent};
use crate::ids::{PersonId, ProviderId, ReferralId, UserId};
use crate::validation::{Problem, ValidationErrors};

// The vocabulary of services is shared by consent, providers and referrals.
pub use crate::service::ServiceType;

#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize, TS)]
#[serde(rename_all = "snake_case")]
pub enum ReferralStatus {
    Proposed,
    Sent,
    Accepted,
    InProgress,
    Completed,
    Declined,
    Cancelled,
}

impl ReferralStatus {
    pub const ALL: [ReferralStatus; 7] = [
        ReferralStatus::Proposed,
        ReferralStatus::Sent,
        ReferralStatus::Accepted,
        ReferralStatus::InProgress,
        ReferralStatus::Completed,
        ReferralStatus::Declined,
        ReferralStatus::Cancelled,
    ];

    /// The only legal moves. A referral cannot skip a step (a provider must accept before
    /// services start), cannot go back, and a provider can only decline what was sent.
    pub fn can_move_to(self, to: ReferralStatus) -> bool {
        use ReferralStatus::*;
        matches!(
            (self, to),
            (Proposed, Sent)
                | (Proposed, Cancelled)
                | (Sent, Accepted)
                | (Sent, Declined)
                | (Sent, Cancelled)
                | (Accepted, InProgress)
                | (Accepted, Cancelled)
                | (InProgress, Completed)
                | (InProgress, Cancelled)
        )
    }

    /// No move leaves these.
    pub fn is_terminal(self) -> bool {
        matches!(
            self,
            ReferralStatus::Completed | ReferralStatus::Declined | ReferralStatus::Cancelled
        )
    }

    /// The referral still needs someone's attention.
    pub fn is_open(self) -> bool {
        !self.is_terminal()
    }

    pub fn code(self) -> &'static str {
        match self {
            ReferralStatus::Proposed => "proposed",
            ReferralStatus::Sent => "sent",
            ReferralStatus::Accepted => "accepted",
            ReferralStatus::InProgress => "in_progress",
            ReferralStatus::Completed => "completed",
            ReferralStatus::Declined => "declined",
            ReferralStatus::Cancelled => "cancelled",
        }
    }
}

impl fmt::Display for ReferralStatus {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.code())
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize, TS)]
#[serde(rename_all = "snake_case")]
pub enum Priority {
    Low,
    Normal,
    High,
    Urgent,
}

/// An amount in US dollars, in cents. El Salvador uses the dollar; integer cents keep sums of
/// seed capital exact in donor reports (floats would not).
#[derive(
    Debug, Clone, Copy, Default, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize, TS,
)]
#[serde(transparent)]
#[ts(type = "number")]
pub struct UsdCents(pub u64);

impl UsdCents {
    pub const fn from_dollars(dollars: u64) -> Self {
        UsdCents(dollars * 100)
    }
}

impl fmt::Display for UsdCents {
    /// `$1,250.00`: how amounts read in Salvadoran reports.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let dollars = (self.0 / 100).to_string();
        let mut grouped = String::with_capacity(dollars.len() + dollars.len() / 3);
        for (i, c) in dollars.chars().enumerate() {
            if i > 0 && (dollars.len() - i) % 3 == 0 {
                grouped.push(',');
            }
            grouped.push(c);
        }
        write!(f, "${grouped}.{:02}", self.0 % 100)
    }
}

/// What an entrepreneurship referral carries: the idea and the seed capital.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, TS)]
pub struct Entrepreneurship {
    pub business_idea: String,
    /// The seed capital approved for the business.
    pub seed_capital: UsdCents,
    /// What was actually handed over, once it was.
    pub disbursed: Option<UsdCents>,
}

/// One step of a referral's history.
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize, Deserialize, TS)]
pub struct ReferralStep {
    pub status: ReferralStatus,
    pub at: DateTime<Utc>,
    pub by: UserId,
    pub note: Option<String>,
}

/// Why a referral cannot move.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum TransitionError {
    #[error("a referral cannot go from {from} to {to}")]
    Illegal {
        from: ReferralStatus,
        to: ReferralStatus,
    },
    /// Steps are kept in time order; a step dated before the previous one is most likely a
    /// wrong device clock or a typo, and would make the history lie.
    #[error("step at {at} is before the previous step at {previous}")]
    BeforePreviousStep {
        previous: DateTime<Utc>,
        at: DateTime<Utc>,
    },
    #[error("choose a provider before sending the referral")]
    NoProvider,
    #[error("the person has not consented to share their data with this provider")]
    NoConsent,
    #[error("a referral is sent only with the person's consent (Referral::send)")]
    SendNeedsConsent,
    /// A slip is made only for a referral that is with its provider.
    #[error("no slip for a referral that is {0}")]
    SlipNotWithProvider(ReferralStatus),
}

impl TransitionError {
    /// Stable code for the UI's translation table.
    pub fn code(&self) -> &'static str {
        match self {
            TransitionError::Illegal { .. } => "illegal_transition",
            TransitionError::BeforePreviousStep { .. } => "step_before_previous",
            TransitionError::NoProvider => "no_provider",
            TransitionError::NoConsent | TransitionError::SendNeedsConsent => "no_consent",
            TransitionError::SlipNotWithProvider(_) => "slip_not_with_provider",
        }
    }
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, TS)]
pub struct Referral {
    pub id: ReferralId,
    pub person: PersonId,
    pub service_type: ServiceType,
    /// From the service directory; may be chosen after proposing, but before sending.
    pub provider: Option<ProviderId>,
    pub priority: Priority,
    pub reason: String,
    /// Only for `service_type: entrepreneurship`.
    pub entrepreneurship: Option<Entrepreneurship>,
    /// Oldest first; the first step is always `proposed`. The current status is the last step's.
    pub history: Vec<ReferralStep>,
}

impl Referral {
    /// A new referral in `proposed`.
    pub fn propose(
        id: ReferralId,
        person: PersonId,
        service_type: ServiceType,
        at: DateTime<Utc>,
        by: UserId,
    ) -> Self {
        Referral {
            id,
            person,
            service_type,
            provider: None,
            priority: Priority::Normal,
            reason: String::new(),
            entrepreneurship: None,
            history: vec![ReferralStep {
                status: ReferralStatus::Proposed,
                at,
                by,
                note: None,
            }],
        }
    }

    pub fn status(&self) -> ReferralStatus {
        self.history
            .last()
            .map_or(ReferralStatus::Proposed, |s| s.status)
    }

    /// When the referral entered its current status.
    pub fn status_since(&self) -> Option<DateTime<Utc>> {
        self.history.last().map(|s| s.at)
    }

    /// Moves the referral to `to`, recording who and when. Refuses illegal moves, steps dated
    /// before the previous step, and sending without a provider.
    pub fn transition(
        &mut self,
        to: ReferralStatus,
        at: DateTime<Utc>,
        by: UserId,
    ) -> Result<(), TransitionError> {
        self.transition_noted(to, at, by, None)
    }

    /// `transition` with a note on the step (why it was declined, what was agreed). `sent`
    /// only through [`Referral::send`], which checks the person's consent.
    pub fn transition_noted(
        &mut self,
        to: ReferralStatus,
        at: DateTime<Utc>,
        by: UserId,
        note: Option<String>,
    ) -> Result<(), TransitionError> {
        if to == ReferralStatus::Sent {
            return Err(TransitionError::SendNeedsConsent);
        }
        self.step(to, at, by, note)
    }

    fn step(
        &mut self,
        to: ReferralStatus,
        at: DateTime<Utc>,
        by: UserId,
        note: Option<String>,
    ) -> Result<(), TransitionError> {
        let from = self.status();
        if !from.can_move_to(to) {
            return Err(TransitionError::Illegal { from, to });
        }
        if let Some(previous) = self.status_since() {
            if at < previous {
                return Err(TransitionError::BeforePreviousStep { previous, at });
            }
        }
        if to == ReferralStatus::Sent && self.provider.is_none() {
            return Err(TransitionError::NoProvider);
        }
        self.history.push(ReferralStep {
            status: to,
            at,
            by,
            note,
        });
        Ok(())
    }

    /// Sends the referral if the person's consents allow sharing with its provider on the day
    /// (in El Salvador) of `at`. The only way to move a referral to `sent`.
    pub fn send(
        &mut self,
        consents: &[Consent],
        at: DateTime<Utc>,
        by: UserId,
        note: Option<String>,
    ) -> Result<(), TransitionError> {
        let provider = self.provider.ok_or(TransitionError::NoProvider)?;
        let day = today_in_el_salvador(at);
        if !consent::may_share(consents, provider, self.service_type, day) {
            return Err(TransitionError::NoConsent);
        }
        self.step(ReferralStatus::Sent, at, by, note)
    }

    /// Whether its slip may be made on `day`: only a referral that went to its provider and is
    /// still with them (sent, accepted, in progress), and only while the person consents to
    /// sharing with that provider or service — a slip is the person's data leaving the app.
    pub fn may_print_slip(
        &self,
        consents: &[Consent],
        day: NaiveDate,
    ) -> Result<(), TransitionError> {
        let provider = self.provider.ok_or(TransitionError::NoProvider)?;
        let status = self.status();
        if !matches!(
            status,
            ReferralStatus::Sent | ReferralStatus::Accepted | ReferralStatus::InProgress
        ) {
            return Err(TransitionError::SlipNotWithProvider(status));
        }
        if !consent::may_share(consents, provider, self.service_type, day) {
            return Err(TransitionError::NoConsent);
        }
        Ok(())
    }

    /// Checks a referral as stored or received from sync: required fields, entrepreneurship
    /// details, and a history that the lifecycle could have produced.
    pub fn validate(&self, now: DateTime<Utc>) -> Result<(), ValidationErrors> {
        let mut e = ValidationErrors::new();
        e.require_text("reason", &self.reason);
        let is_entrepreneurship = self.service_type == ServiceType::Entrepreneurship;
        match (&self.entrepreneurship, is_entrepreneurship) {
            (Some(details), true) => {
                e.require_text("entrepreneurship.business_idea", &details.business_idea);
                if details.seed_capital.0 == 0 {
                    e.push("entrepreneurship.seed_capital", Problem::AmountNotPositive);
                }
                if details.disbursed.is_some_and(|d| d > details.seed_capital) {
                    e.push(
                        "entrepreneurship.disbursed",
                        Problem::AmountExceeds {
                            other_field: "entrepreneurship.seed_capital".into(),
                        },
                    );
                }
            }
            (None, true) => e.push("entrepreneurship", Problem::Required),
            (Some(_), false) => e.push(
                "entrepreneurship",
                Problem::Inconsistent {
                    other_field: "service_type".into(),
                },
            ),
            (None, false) => {}
        }
        if self.status() != ReferralStatus::Proposed && self.provider.is_none() {
            e.push("provider", Problem::Required);
        }
        match self.history.first() {
            None => e.push("history", Problem::Required),
            Some(first) if first.status != ReferralStatus::Proposed => e.push(
                "history[0].status",
                Problem::Inconsistent {
                    other_field: "lifecycle".into(),
                },
            ),
            Some(_) => {}
        }
        for (i, pair) in self.history.windows(2).enumerate() {
            let (prev, step) = (&pair[0], &pair[1]);
            if !prev.status.can_move_to(step.status) {
                e.push(
                    format!("history[{}].status", i + 1),
                    Problem::Inconsistent {
                        other_field: format!("history[{i}].status"),
                    },
                );
            }
            if step.at < prev.at {
                e.push(
                    format!("history[{}].at", i + 1),
                    Problem::DateOutOfOrder {
                        other_field: format!("history[{i}].at"),
                    },
                );
            }
        }
        for (i, step) in self.history.iter().enumerate() {
            if step.at > now {
                let date: NaiveDate = step.at.date_naive();
                e.push(format!("history[{i}].at"), Problem::DateInFuture { date });
            }
        }
        e.into_result()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::consent::ConsentPurpose;
    use crate::ids::ConsentId;
    use chrono::TimeZone;
    use proptest::prelude::*;
    use uuid::Uuid;

    const USER: UserId = UserId::new(Uuid::from_u128(7));
    const PROVIDER: ProviderId = ProviderId::new(Uuid::from_u128(9));

    fn t(hour: u32) -> DateTime<Utc> {
        Utc.with_ymd_and_hms(2025, 3, 1, hour, 0, 0)
            .single()
            .expect("valid test time")
    }

    fn referral() -> Referral {
        let mut r = Referral::propose(
            ReferralId::new(Uuid::from_u128(1)),
            PersonId::new(Uuid::from_u128(2)),
            ServiceType::Vocational,
            t(0),
            USER,
        );
        r.provider = Some(PROVIDER);
        r.reason = "Quiere formarse en soldadura".into();
        r
    }

    /// Consent to share with any provider (for steps through `sent`).
    fn sharing() -> Vec<Consent> {
        vec![Consent::new(
            ConsentId::new(Uuid::from_u128(4)),
            ConsentPurpose::ReferralSharing {
                provider: None,
                service_type: None,
            },
            t(0).date_naive() - chrono::Duration::days(1),
            USER,
        )]
    }

    /// One step: `sent` through the consent gate, the others as transitions.
    fn step(
        r: &mut Referral,
        to: ReferralStatus,
        at: DateTime<Utc>,
    ) -> Result<(), TransitionError> {
        if to == ReferralStatus::Sent {
            r.send(&sharing(), at, USER, None)
        } else {
            r.transition(to, at, USER)
        }
    }

    /// A referral driven to `status` by legal steps, one hour apart.
    fn referral_in(status: ReferralStatus) -> Referral {
        use ReferralStatus::*;
        let path: &[ReferralStatus] = match status {
            Proposed => &[],
            Sent => &[Sent],
            Accepted => &[Sent, Accepted],
            InProgress => &[Sent, Accepted, InProgress],
            Completed => &[Sent, Accepted, InProgress, Completed],
            Declined => &[Sent, Declined],
            Cancelled => &[Cancelled],
        };
        let mut r = referral();
        for (h, s) in path.iter().enumerate() {
            step(&mut r, *s, t(h as u32 + 1)).expect("legal path");
        }
        assert_eq!(r.status(), status);
        r
    }

    const ALLOWED: [(ReferralStatus, ReferralStatus); 9] = {
        use ReferralStatus::*;
        [
            (Proposed, Sent),
            (Proposed, Cancelled),
            (Sent, Accepted),
            (Sent, Declined),
            (Sent, Cancelled),
            (Accepted, InProgress),
            (Accepted, Cancelled),
            (InProgress, Completed),
            (InProgress, Cancelled),
        ]
    };

    #[test]
    fn every_pair_of_statuses_is_allowed_or_refused_as_specified() {
        let mut allowed_seen = 0;
        for from in ReferralStatus::ALL {
            for to in ReferralStatus::ALL {
                let expected = ALLOWED.contains(&(from, to));
                let mut r = referral_in(from);
                let result = step(&mut r, to, t(10));
                if expected {
                    allowed_seen += 1;
                    assert_eq!(result, Ok(()), "{from} → {to} should be allowed");
                    assert_eq!(r.status(), to);
                    let last = r.history.last().expect("has steps");
                    assert_eq!((last.at, last.by), (t(10), USER));
                } else {
                    assert_eq!(
                        result,
                        Err(TransitionError::Illegal { from, to }),
                        "{from} → {to}"
                    );
                    assert_eq!(r.status(), from, "a refused move changes nothing");
                }
                assert_eq!(from.can_move_to(to), expected);
            }
        }
        assert_eq!(allowed_seen, 9);
    }

    #[test]
    fn terminal_statuses_have_no_way_out() {
        for s in ReferralStatus::ALL {
            let has_exit = ReferralStatus::ALL.iter().any(|&to| s.can_move_to(to));
            assert_eq!(s.is_terminal(), !has_exit, "{s}");
        }
    }

    #[test]
    fn refuses_a_step_dated_before_the_previous_one() {
        let mut r = referral_in(ReferralStatus::Accepted); // last step at 02:00
        let err = r.transition(ReferralStatus::InProgress, t(1), USER);
        assert_eq!(
            err,
            Err(TransitionError::BeforePreviousStep {
                previous: t(2),
                at: t(1)
            })
        );
        assert_eq!(r.status(), ReferralStatus::Accepted);
        // the same instant is fine: two quick taps in a row
        assert_eq!(r.transition(ReferralStatus::InProgress, t(2), USER), Ok(()));
    }

    #[test]
    fn sending_needs_a_provider() {
        let mut r = referral();
        r.provider = None;
        assert_eq!(
            r.send(&[], t(1), USER, None),
            Err(TransitionError::NoProvider)
        );
        assert_eq!(
            r.transition(ReferralStatus::Sent, t(1), USER),
            Err(TransitionError::SendNeedsConsent),
            "sending bypassing the consent gate is refused"
        );
        assert_eq!(r.transition(ReferralStatus::Cancelled, t(1), USER), Ok(()));
    }

    #[test]
    fn send_requires_consent_to_share_with_the_provider() {
        let mut r = referral();
        let consent = Consent::new(
            ConsentId::new(Uuid::from_u128(3)),
            ConsentPurpose::ReferralSharing {
                provider: Some(PROVIDER),
                service_type: None,
            },
            today_in_el_salvador(t(0)) - chrono::Duration::days(1),
            USER,
        );
        let err = r.send(&[], t(1), USER, None).expect_err("no consent");
        assert_eq!(err.code(), "no_consent");
        assert_eq!(r.status(), ReferralStatus::Proposed);
        r.send(&[consent], t(1), USER, None).expect("consented");
        assert_eq!(r.status(), ReferralStatus::Sent);
    }

    #[test]
    fn note_is_kept_on_the_step() {
        let mut r = referral_in(ReferralStatus::Sent);
        r.transition_noted(
            ReferralStatus::Declined,
            t(5),
            USER,
            Some("Sin cupo".into()),
        )
        .expect("legal");
        assert_eq!(
            r.history.last().and_then(|s| s.note.as_deref()),
            Some("Sin cupo")
        );
    }

    #[test]
    fn validation_of_entrepreneurship_details() {
        let now = t(12);
        let mut r = referral();
        r.service_type = ServiceType::Entrepreneurship;
        assert!(r
            .validate(now)
            .expect_err("missing details")
            .has("entrepreneurship", "required"));
        r.entrepreneurship = Some(Entrepreneurship {
            business_idea: " ".into(),
            seed_capital: UsdCents(0),
            disbursed: Some(UsdCents(1)),
        });
        let e = r.validate(now).expect_err("bad details");
        assert!(e.has("entrepreneurship.business_idea", "required"));
        assert!(e.has("entrepreneurship.seed_capital", "amount_not_positive"));
        assert!(e.has("entrepreneurship.disbursed", "amount_exceeds"));
        r.entrepreneurship = Some(Entrepreneurship {
            business_idea: "Pupusería".into(),
            seed_capital: UsdCents::from_dollars(800),
            disbursed: Some(UsdCents::from_dollars(800)),
        });
        assert_eq!(r.validate(now), Ok(()));
        r.service_type = ServiceType::Health;
        assert!(r
            .validate(now)
            .expect_err("details on health")
            .has("entrepreneurship", "inconsistent"));
    }

    #[test]
    fn validation_catches_a_forged_history() {
        let now = t(23);
        let mut r = referral_in(ReferralStatus::Sent);
        assert_eq!(r.validate(now), Ok(()));
        r.history.push(ReferralStep {
            status: ReferralStatus::Completed,
            at: t(0),
            by: USER,
            note: None,
        });
        let e = r
            .validate(now)
            .expect_err("skips steps and goes back in time");
        assert!(e.has("history[2].status", "inconsistent"));
        assert!(e.has("history[2].at", "date_out_of_order"));
        let mut empty = referral();
        empty.history.clear();
        assert!(empty
            .validate(now)
            .expect_err("no history")
            .has("history", "required"));
        assert!(referral_in(ReferralStatus::Sent)
            .validate(t(0))
            .expect_err("future")
            .has("history[1].at", "date_in_future"));
    }

    #[test]
    fn usd_display_and_json() {
        assert_eq!(UsdCents(125_000).to_string(), "$1,250.00");
        assert_eq!(UsdCents(5).to_string(), "$0.05");
        assert_eq!(UsdCents(123_456_789).to_string(), "$1,234,567.89");
        assert_eq!(
            serde_json::to_string(&UsdCents(150)).expect("serialize"),
            "150"
        );
        assert_eq!(UsdCents::inline(), "number");
    }

    #[test]
    fn json_shape() {
        let r = referral_in(ReferralStatus::InProgress);
        let v = serde_json::to_value(&r).expect("serialize");
        assert_eq!(v["service_type"], "vocational");
        assert_eq!(v["history"][3]["status"], "in_progress");
        assert_eq!(
            serde_json::from_value::<Referral>(v).expect("deserialize"),
            r
        );
    }

    proptest! {
        /// Any sequence of attempted moves leaves a history that validates: every recorded step
        /// was legal and in time order, whatever was refused along the way.
        #[test]
        fn random_attempts_keep_a_valid_history(
            moves in proptest::collection::vec((0usize..7, 0u32..24), 0..20),
        ) {
            let mut r = referral();
            for (to, hour) in moves {
                let to = ReferralStatus::ALL[to];
                let before = r.clone();
                let ok = step(&mut r, to, t(hour)).is_ok();
                let legal = before.status().can_move_to(to)
                    && before.status_since().is_none_or(|p| t(hour) >= p);
                prop_assert_eq!(ok, legal);
                if !ok {
                    prop_assert_eq!(&r, &before);
                }
            }
            prop_assert_eq!(r.validate(t(23)), Ok(()));
        }
    }
}
