//! Follow-ups (a visit, a call, an office appointment) with a due date; done with an outcome,
//! and the next one scheduled in the same step when the caseworker says so.

use chrono::{DateTime, NaiveDate, Utc};
use reintegra_core::audit::AuditAction;
use reintegra_core::consent;
use reintegra_core::follow_up::{FollowUp, FollowUpChannel};
use reintegra_core::ids::{FollowUpId, PersonId, ReferralId};
use serde::{Deserialize, Serialize};
use ts_rs::TS;
use uuid::Uuid;

use crate::access::office_case;
use crate::intake::today_in_el_salvador;
use crate::unit_of_work::{save_one, Audit};
use crate::{ApiError, Result, Session};
use reintegra_core::permission::Permission;

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, TS)]
pub struct FollowUpInput {
    pub person: PersonId,
    pub due_on: NaiveDate,
    pub channel: FollowUpChannel,
    pub referral: Option<ReferralId>,
}

impl Session {
    /// A person's follow-ups, pending first (by due date), then done ones.
    pub fn follow_ups_of(&self, person: PersonId) -> Result<Vec<FollowUp>> {
        self.with_permission(Permission::FollowUps, |store, user, _| {
            office_case(store, user, person)?;
            let mut all = store.follow_ups_of_person(person)?;
            all.sort_by_key(|f| (f.is_done(), f.due_on));
            Ok(all)
        })
    }

    /// Schedules a follow-up, assigned to the person's caseworker (or to whoever schedules it).
    pub fn schedule_follow_up(
        &self,
        input: &FollowUpInput,
        now: DateTime<Utc>,
    ) -> Result<FollowUp> {
        self.with_permission(Permission::FollowUps, |store, user, cases| {
            let person = office_case(store, user, input.person)?;
            if input.channel.contacts_the_person()
                && consent::follow_up_contact_withdrawn(&person.consents, today_in_el_salvador(now))
            {
                return Err(ApiError::ContactWithdrawn);
            }
            let mut follow_up = FollowUp::new(
                FollowUpId::new(Uuid::now_v7()),
                input.person,
                input.due_on,
                input.channel,
            );
            follow_up.referral = input.referral;
            follow_up.assigned_to = Some(person.caseworker.unwrap_or(user.id));
            follow_up
                .validate(today_in_el_salvador(now))
                .map_err(ApiError::Invalid)?;
            save_one(
                (store, user, cases),
                now,
                &follow_up,
                Audit::new(AuditAction::Create, "Seguimiento programado"),
            )?;
            Ok(follow_up)
        })
    }

    /// Marks a follow-up done today with its outcome; with `next_on`, schedules the next one
    /// (same person, channel and referral). Returns the next one, if any.
    pub fn complete_follow_up(
        &self,
        id: FollowUpId,
        outcome: &str,
        next_on: Option<NaiveDate>,
        now: DateTime<Utc>,
    ) -> Result<Option<FollowUp>> {
        let done = self.with_permission(Permission::FollowUps, |store, user, cases| {
            let mut follow_up = store.follow_up(id)?.ok_or(ApiError::NotFound)?;
            office_case(store, user, follow_up.person)?;
            follow_up.complete(today_in_el_salvador(now), outcome.trim());
            follow_up
                .validate(today_in_el_salvador(now))
                .map_err(ApiError::Invalid)?;
            save_one(
                (store, user, cases),
                now,
                &follow_up,
                Audit::new(AuditAction::Update, "Seguimiento realizado")
                    .fields(["done_on", "outcome"]),
            )?;
            Ok(follow_up)
        })?;
        next_on
            .map(|due_on| {
                self.schedule_follow_up(
                    &FollowUpInput {
                        person: done.person,
                        due_on,
                        channel: done.channel,
                        referral: done.referral,
                    },
                    now,
                )
            })
            .transpose()
    }
}
