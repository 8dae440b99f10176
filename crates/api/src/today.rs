//! "Hoy": the logged-in caseworker's worklist — follow-ups assigned to them due today or overdue,
//! and referrals they sent that still wait for the provider's answer after more than N days.
//! Built from the store's per-user worklist indexes, so it reads only this user's open items.

use chrono::{DateTime, NaiveDate, Utc};
use reintegra_core::follow_up::FollowUpChannel;
use reintegra_core::ids::{FollowUpId, PersonId, ReferralId};
use reintegra_core::referral::{ReferralStatus, ServiceType};
use serde::Serialize;
use ts_rs::TS;

use crate::intake::today_in_el_salvador;
use crate::{Result, Session};
use reintegra_core::permission::Permission;

/// Referrals waiting longer than this many days for an answer are listed (unless set otherwise).
pub const DEFAULT_WAITING_DAYS: u32 = 7;

#[derive(Debug, Clone, PartialEq, Eq, Serialize, TS)]
pub struct TodayFollowUp {
    pub id: FollowUpId,
    pub person: PersonId,
    pub person_name: String,
    pub due_on: NaiveDate,
    pub channel: FollowUpChannel,
    /// 0 when due today.
    pub days_overdue: u32,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, TS)]
pub struct WaitingReferral {
    pub id: ReferralId,
    pub person: PersonId,
    pub person_name: String,
    pub service_type: ServiceType,
    pub sent_on: NaiveDate,
    pub days_waiting: u32,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, TS)]
pub struct Today {
    pub today: NaiveDate,
    /// Most overdue first.
    pub follow_ups: Vec<TodayFollowUp>,
    /// Longest waiting first.
    pub waiting_referrals: Vec<WaitingReferral>,
}

fn days(from: NaiveDate, to: NaiveDate) -> u32 {
    u32::try_from((to - from).num_days().max(0)).unwrap_or(u32::MAX)
}

impl Session {
    pub fn today(&self, waiting_days: u32, now: DateTime<Utc>) -> Result<Today> {
        let today = today_in_el_salvador(now);
        self.with_permission(Permission::FollowUps, |store, user, cases| {
            let name = |p: &PersonId| cases.get(p).map(|c| c.full_name.clone());
            let mut follow_ups: Vec<TodayFollowUp> = store
                .pending_follow_ups_for(user.id, today)?
                .into_iter()
                .filter_map(|f| {
                    Some(TodayFollowUp {
                        person_name: name(&f.person)?,
                        days_overdue: days(f.due_on, today),
                        id: f.id,
                        person: f.person,
                        due_on: f.due_on,
                        channel: f.channel,
                    })
                })
                .collect();
            follow_ups.sort_by_key(|f| (std::cmp::Reverse(f.days_overdue), f.person_name.clone()));

            let mut waiting_referrals: Vec<WaitingReferral> = store
                .referrals_in_status_by(ReferralStatus::Sent, user.id)?
                .into_iter()
                .filter_map(|r| {
                    let sent_on = today_in_el_salvador(r.status_since()?);
                    let days_waiting = days(sent_on, today);
                    (days_waiting > waiting_days).then_some(WaitingReferral {
                        person_name: name(&r.person)?,
                        id: r.id,
                        person: r.person,
                        service_type: r.service_type,
                        sent_on,
                        days_waiting,
                    })
                })
                .collect();
            waiting_referrals.sort_by_key(|r| std::cmp::Reverse(r.days_waiting));
            Ok(Today {
                today,
                follow_ups,
                waiting_referrals,
            })
        })
    }
}
