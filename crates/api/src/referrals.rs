//! Referrals from a person's plan to a service and a provider: created `proposed`, moved only
//! along the lifecycle of `reintegra_core::referral` (each step dated and authored), sent only
//! when the person consented to sharing with that provider or service (the consent gate), and
//! shared as a slip with only the fields that provider needs.

use chrono::{DateTime, Utc};
use reintegra_core::audit::{AuditAction, RecordKind};
use reintegra_core::calendar::today_in_el_salvador;
use reintegra_core::consent;
use reintegra_core::ids::{PersonId, ProviderId, ReferralId};
use reintegra_core::referral::{
    Entrepreneurship, Priority, Referral, ReferralStatus, ServiceType, UsdCents,
};
use reintegra_core::slip::{referral_slip, ReferralSlip};
use serde::{Deserialize, Serialize};
use ts_rs::TS;
use uuid::Uuid;

use crate::access::office_case;
use crate::unit_of_work::{save_one, Audit, Work};
use crate::{ApiError, Result, Session};
use reintegra_core::permission::Permission;

/// A referral as the person's page shows it: the record, its provider's name and the steps it
/// may take next (from the lifecycle in `reintegra_core::referral`).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, TS)]
pub struct ReferralView {
    pub referral: Referral,
    pub provider_name: String,
    pub next: Vec<ReferralStatus>,
}

/// A referral as typed on the person's plan.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, TS)]
pub struct ReferralInput {
    pub person: PersonId,
    pub service_type: ServiceType,
    pub provider: Option<ProviderId>,
    pub priority: Priority,
    pub reason: String,
    /// Entrepreneurship only: the business idea.
    pub business_idea: String,
    /// Entrepreneurship only: seed capital in whole US dollars.
    pub seed_capital_usd: Option<u32>,
}

impl Session {
    /// A person's referrals, newest first.
    pub fn referrals_of(&self, person: PersonId) -> Result<Vec<ReferralView>> {
        self.with_permission(Permission::ManageReferrals, |store, user, _| {
            office_case(store, user, person)?;
            let mut all = store.referrals_of_person(person)?;
            all.sort_by_key(|r| std::cmp::Reverse(r.history.first().map(|s| s.at)));
            all.into_iter()
                .map(|referral| {
                    let provider_name = match referral.provider {
                        Some(id) => store.provider(id)?.map(|p| p.name).unwrap_or_default(),
                        None => String::new(),
                    };
                    let status = referral.status();
                    let next = ReferralStatus::ALL
                        .into_iter()
                        .filter(|to| status.can_move_to(*to))
                        .collect();
                    Ok(ReferralView {
                        referral,
                        provider_name,
                        next,
                    })
                })
                .collect()
        })
    }

    pub fn create_referral(&self, input: &ReferralInput, now: DateTime<Utc>) -> Result<Referral> {
        self.with_permission(Permission::ManageReferrals, |store, user, cases| {
            let person = office_case(store, user, input.person)?;
            if consent::restricted(&person.consents, today_in_el_salvador(now)) {
                return Err(ApiError::Restricted);
            }
            let mut referral = Referral::propose(
                ReferralId::new(Uuid::now_v7()),
                input.person,
                input.service_type,
                now,
                user.id,
            );
            referral.provider = input.provider;
            referral.priority = input.priority;
            referral.reason = input.reason.trim().to_string();
            if input.service_type == ServiceType::Entrepreneurship {
                referral.entrepreneurship = Some(Entrepreneurship {
                    business_idea: input.business_idea.trim().to_string(),
                    seed_capital: UsdCents::from_dollars(u64::from(
                        input.seed_capital_usd.unwrap_or(0),
                    )),
                    disbursed: None,
                });
            }
            referral.validate(now).map_err(ApiError::Invalid)?;
            save_one(
                (store, user, cases),
                now,
                &referral,
                Audit::new(AuditAction::Create, "Referencia propuesta"),
            )?;
            Ok(referral)
        })
    }

    /// Moves a referral one step. `sent` goes through the consent gate; a provider is then
    /// chosen if given.
    pub fn move_referral(
        &self,
        id: ReferralId,
        to: ReferralStatus,
        provider: Option<ProviderId>,
        note: Option<String>,
        now: DateTime<Utc>,
    ) -> Result<Referral> {
        self.with_permission(Permission::ManageReferrals, |store, user, cases| {
            let mut referral = store.referral(id)?.ok_or(ApiError::NotFound)?;
            let person = office_case(store, user, referral.person)?;
            if let Some(p) = provider {
                referral.provider = Some(p);
            }
            let note = note.map(|n| n.trim().to_string()).filter(|n| !n.is_empty());
            if to == ReferralStatus::Sent {
                referral.send(&person.consents, now, user.id, note)?;
            } else {
                referral.transition_noted(to, now, user.id, note)?;
            }
            let action = if to == ReferralStatus::Sent {
                AuditAction::Share
            } else {
                AuditAction::Update
            };
            save_one(
                (store, user, cases),
                now,
                &referral,
                Audit::new(action, &format!("Referencia: {to}")),
            )?;
            Ok(referral)
        })
    }

    /// Records the seed capital actually disbursed (entrepreneurship referrals).
    pub fn record_disbursement(
        &self,
        id: ReferralId,
        usd: u32,
        now: DateTime<Utc>,
    ) -> Result<Referral> {
        self.with_permission(Permission::ManageReferrals, |store, user, cases| {
            let mut referral = store.referral(id)?.ok_or(ApiError::NotFound)?;
            office_case(store, user, referral.person)?;
            let details = referral
                .entrepreneurship
                .as_mut()
                .ok_or(ApiError::NotFound)?;
            details.disbursed = Some(UsdCents::from_dollars(u64::from(usd)));
            referral.validate(now).map_err(ApiError::Invalid)?;
            save_one(
                (store, user, cases),
                now,
                &referral,
                Audit::new(AuditAction::Update, "Capital semilla entregado"),
            )?;
            Ok(referral)
        })
    }

    /// The slip for the referral's provider: only the fields it needs. Writes an export entry.
    pub fn referral_slip(&self, id: ReferralId, now: DateTime<Utc>) -> Result<ReferralSlip> {
        self.with_permission(Permission::ManageReferrals, |store, user, cases| {
            let referral = store.referral(id)?.ok_or(ApiError::NotFound)?;
            let person = office_case(store, user, referral.person)?;
            referral.may_print_slip(&person.consents, today_in_el_salvador(now))?;
            let provider_id = referral.provider.ok_or(ApiError::NoProvider)?;
            let provider = store.provider(provider_id)?.ok_or(ApiError::NotFound)?;
            let slip = referral_slip(&person, &referral, &provider);
            let mut work = Work::new(store, user, now);
            work.audit(
                RecordKind::Referral,
                referral.id.into(),
                Audit::new(AuditAction::Export, "Boleta de referencia"),
            )?;
            work.commit(cases)?;
            Ok(slip)
        })
    }
}
