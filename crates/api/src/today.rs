//! "Hoy": the logged-in caseworker's worklist — follow-ups due today or overdue, and referrals
//! sent but still waiting for the provider's answer after more than N days. Built from the
//! store's due-date and status indexes, so it does not read the whole store.

use chrono::{DateTime, NaiveDate, Utc};
use reintegra_core::follow_up::{FollowUp, FollowUpChannel};
use reintegra_core::ids::{FollowUpId, PersonId, ReferralId, UserId};
use reintegra_core::referral::{ReferralStatus, ServiceType};
use serde::Serialize;
use ts_rs::TS;

use crate::cases::Cases;
use crate::intake::today_in_el_salvador;
use crate::{Result, Session};

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

/// Mine: assigned to me, or on a person whose caseworker I am.
fn mine(cases: &Cases, user: UserId, person: &PersonId, assigned: Option<UserId>) -> bool {
    assigned == Some(user)
        || cases
            .get(person)
            .is_some_and(|c| c.caseworker == Some(user))
}

fn days(from: NaiveDate, to: NaiveDate) -> u32 {
    u32::try_from((to - from).num_days().max(0)).unwrap_or(u32::MAX)
}

impl Session {
    pub fn today(&self, waiting_days: u32, now: DateTime<Utc>) -> Result<Today> {
        let today = today_in_el_salvador(now);
        self.with_unlocked(|store, user, cases| {
            let name = |p: &PersonId| cases.get(p).map(|c| c.full_name.clone());
            let mut follow_ups: Vec<TodayFollowUp> = store
                .pending_follow_ups_due_by(today)?
                .into_iter()
                .filter(|f: &FollowUp| mine(cases, user.id, &f.person, f.assigned_to))
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
                .referrals_by_status(ReferralStatus::Sent)?
                .into_iter()
                .filter_map(|r| {
                    let sent_on = today_in_el_salvador(r.status_since()?);
                    let days_waiting = days(sent_on, today);
                    let author = r.history.last().map(|s| s.by);
                    (days_waiting > waiting_days && mine(cases, user.id, &r.person, author))
                        .then_some(WaitingReferral {
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
