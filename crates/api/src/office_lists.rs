//! The office-wide lists: "Referencias" (every referral of the cases the user may see, by
//! status, provider, service type and days waiting; a provider's pending list is the filter
//! by provider with `open_only`) and "Seguimientos" (every pending follow-up due or overdue,
//! by caseworker). Paged, filtered in memory, most urgent first.

use std::collections::HashMap;

use chrono::{DateTime, NaiveDate, Utc};
use reintegra_core::calendar::today_in_el_salvador;
use reintegra_core::follow_up::FollowUpChannel;
use reintegra_core::ids::{FollowUpId, PersonId, ProviderId, ReferralId, UserId};
use reintegra_core::permission::Permission;
use reintegra_core::referral::{ReferralStatus, ServiceType};
use reintegra_core::user::User;
use reintegra_store::Store;
use serde::{Deserialize, Serialize};
use ts_rs::TS;

use crate::access::sees_case;
use crate::cases::{CaseSummary, Cases};
use crate::services::ReferralSummary;
use crate::{Result, Session};

/// At most this many rows in one page (0 or more asks this many).
pub const MAX_PAGE: u32 = 200;

/// The filters of "Referencias". Empty fields do not filter.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize, TS)]
pub struct ReferralQuery {
    #[ts(optional)]
    pub status: Option<ReferralStatus>,
    /// Only those still open (proposed, sent, accepted, in progress).
    #[serde(default)]
    pub open_only: bool,
    #[ts(optional)]
    pub provider: Option<ProviderId>,
    #[ts(optional)]
    pub service_type: Option<ServiceType>,
    /// Only those in their current status for at least this many days.
    #[ts(optional)]
    pub min_days_waiting: Option<u32>,
    #[serde(default)]
    pub offset: u32,
    /// Rows per page (0: [`MAX_PAGE`]).
    #[serde(default)]
    pub limit: u32,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, TS)]
pub struct ReferralRow {
    pub id: ReferralId,
    pub person: PersonId,
    pub person_name: String,
    pub service_type: ServiceType,
    pub status: ReferralStatus,
    pub provider: Option<ProviderId>,
    pub provider_name: String,
    /// The day of its first step.
    pub made_on: NaiveDate,
    /// The day it entered its current status.
    pub since: NaiveDate,
    /// Days in the current status (0 for a finished referral).
    pub days_waiting: u32,
    pub caseworker: Option<UserId>,
    pub caseworker_name: String,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, TS)]
pub struct ReferralPage {
    /// How many match (the rows are `offset..offset+limit` of them).
    pub total: u32,
    pub offset: u32,
    pub rows: Vec<ReferralRow>,
}

/// The filters of "Seguimientos": pending follow-ups due up to `within_days` from today
/// (0: due today or overdue).
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize, TS)]
pub struct FollowUpQuery {
    #[ts(optional)]
    pub assigned_to: Option<UserId>,
    #[serde(default)]
    pub overdue_only: bool,
    #[serde(default)]
    pub within_days: u32,
    #[serde(default)]
    pub offset: u32,
    #[serde(default)]
    pub limit: u32,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, TS)]
pub struct FollowUpRow {
    pub id: FollowUpId,
    pub person: PersonId,
    pub person_name: String,
    pub due_on: NaiveDate,
    pub channel: FollowUpChannel,
    pub assigned_to: Option<UserId>,
    pub assigned_name: String,
    /// 0 when due today or later.
    pub days_overdue: u32,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, TS)]
pub struct FollowUpPage {
    pub total: u32,
    pub offset: u32,
    pub rows: Vec<FollowUpRow>,
}

fn days(from: NaiveDate, to: NaiveDate) -> u32 {
    u32::try_from((to - from).num_days().max(0)).unwrap_or(u32::MAX)
}

/// The page's first row and length, as asked (0 rows asks [`MAX_PAGE`]; never more).
fn page_bounds(offset: u32, limit: u32) -> (usize, usize) {
    let limit = if limit == 0 {
        MAX_PAGE
    } else {
        limit.min(MAX_PAGE)
    };
    (offset as usize, limit as usize)
}

fn page<T>(mut rows: Vec<T>, offset: u32, limit: u32) -> (u32, Vec<T>) {
    let total = u32::try_from(rows.len()).unwrap_or(u32::MAX);
    let (offset, limit) = page_bounds(offset, limit);
    let offset = offset.min(rows.len());
    rows.truncate(offset.saturating_add(limit).min(rows.len()));
    (total, rows.split_off(offset))
}

/// The people the user may see, by id: (name, caseworker).
fn visible(
    store: &Store,
    user: &User,
    cases: &Cases,
    today: NaiveDate,
) -> Result<HashMap<PersonId, (String, Option<UserId>)>> {
    let mut out = HashMap::new();
    for case in cases.iter() {
        if sees_case(store, user, case, today)? {
            out.insert(case.id, (case.full_name.clone(), case.caseworker));
        }
    }
    Ok(out)
}

fn user_names(store: &Store) -> Result<HashMap<UserId, String>> {
    Ok(store
        .user_records()?
        .into_iter()
        .map(|u| (u.id, u.name))
        .collect())
}

/// A referral the list shows, before it is made a row (so a page makes only its own rows).
struct Matched<'c> {
    referral: &'c ReferralSummary,
    person: &'c CaseSummary,
    made_on: NaiveDate,
    since: NaiveDate,
    days_waiting: u32,
}

/// Every referral the user may see that `q` asks for, most waiting first (only the first
/// `sorted_up_to` in order, when given), from the referrals kept in memory (`services.rs`).
fn matching_referrals<'c>(
    store: &Store,
    user: &User,
    cases: &'c Cases,
    q: &ReferralQuery,
    today: NaiveDate,
    sorted_up_to: Option<usize>,
) -> Result<Vec<Matched<'c>>> {
    let mut people = HashMap::new();
    for case in cases.iter() {
        if sees_case(store, user, case, today)? {
            people.insert(case.id, case);
        }
    }
    let mut matched: Vec<Matched<'c>> = cases
        .services
        .get()?
        .referrals
        .values()
        .filter_map(|r| {
            let person = *people.get(&r.facts.person)?;
            let status = r.facts.status;
            if q.status.is_some_and(|s| s != status)
                || (q.open_only && !status.is_open())
                || q.provider.is_some_and(|p| r.provider != Some(p))
                || q.service_type.is_some_and(|s| s != r.facts.service_type)
            {
                return None;
            }
            let since = r.since?;
            let days_waiting = if status.is_open() {
                days(since, today)
            } else {
                0
            };
            if q.min_days_waiting.is_some_and(|d| days_waiting < d) {
                return None;
            }
            Some(Matched {
                referral: r,
                person,
                made_on: r.facts.made_on?,
                since,
                days_waiting,
            })
        })
        .collect();
    // Only the rows up to the end of the page asked need their order (a partial sort).
    let order = |a: &Matched<'_>, b: &Matched<'_>| {
        b.days_waiting
            .cmp(&a.days_waiting)
            .then_with(|| a.person.full_name.cmp(&b.person.full_name))
            .then_with(|| a.referral.id.as_uuid().cmp(&b.referral.id.as_uuid()))
    };
    if let Some(end) = sorted_up_to.filter(|&end| end < matched.len()) {
        matched.select_nth_unstable_by(end, order);
        matched[..end].sort_by(order);
    } else {
        matched.sort_by(order);
    }
    Ok(matched)
}

/// Makes the rows of `matched`, with the names of providers and users.
fn referral_rows_of(store: &Store, matched: &[Matched<'_>]) -> Result<Vec<ReferralRow>> {
    let providers: HashMap<ProviderId, String> = store
        .providers()?
        .into_iter()
        .map(|p| (p.id, p.name))
        .collect();
    let users = user_names(store)?;
    Ok(matched
        .iter()
        .map(|m| {
            let r = m.referral;
            let caseworker = m.person.caseworker;
            ReferralRow {
                id: r.id,
                person: r.facts.person,
                person_name: m.person.full_name.clone(),
                service_type: r.facts.service_type,
                status: r.facts.status,
                provider: r.provider,
                provider_name: r
                    .provider
                    .and_then(|p| providers.get(&p).cloned())
                    .unwrap_or_default(),
                made_on: m.made_on,
                since: m.since,
                days_waiting: m.days_waiting,
                caseworker,
                caseworker_name: caseworker
                    .and_then(|c| users.get(&c).cloned())
                    .unwrap_or_default(),
            }
        })
        .collect())
}

/// Every referral row the user may see for `q` (unpaged), most waiting first: what the
/// export writes.
pub(crate) fn referral_rows(
    store: &Store,
    user: &User,
    cases: &Cases,
    q: &ReferralQuery,
    now: DateTime<Utc>,
) -> Result<Vec<ReferralRow>> {
    let matched = matching_referrals(store, user, cases, q, today_in_el_salvador(now), None)?;
    referral_rows_of(store, &matched)
}

/// Every follow-up row the user may see for `q` (unpaged), most overdue first.
pub(crate) fn follow_up_rows(
    store: &Store,
    user: &User,
    cases: &Cases,
    q: &FollowUpQuery,
    now: DateTime<Utc>,
) -> Result<Vec<FollowUpRow>> {
    let today = today_in_el_salvador(now);
    let people = visible(store, user, cases, today)?;
    let users = user_names(store)?;
    let until = if q.overdue_only {
        today.pred_opt().unwrap_or(today)
    } else {
        today
            .checked_add_days(chrono::Days::new(u64::from(q.within_days)))
            .unwrap_or(today)
    };
    let mut rows: Vec<FollowUpRow> = cases
        .services
        .get()?
        .follow_ups
        .values()
        .filter(|f| f.facts.done_on.is_none() && f.facts.due_on <= until)
        .filter(|f| q.assigned_to.is_none() || f.assigned_to == q.assigned_to)
        .filter_map(|f| {
            let (name, _) = people.get(&f.facts.person)?;
            Some(FollowUpRow {
                id: f.id,
                person: f.facts.person,
                person_name: name.clone(),
                due_on: f.facts.due_on,
                channel: f.channel,
                assigned_to: f.assigned_to,
                assigned_name: f
                    .assigned_to
                    .and_then(|u| users.get(&u).cloned())
                    .unwrap_or_default(),
                days_overdue: days(f.facts.due_on, today),
            })
        })
        .collect();
    rows.sort_by(|a, b| {
        a.due_on
            .cmp(&b.due_on)
            .then_with(|| a.person_name.cmp(&b.person_name))
            .then_with(|| a.id.as_uuid().cmp(&b.id.as_uuid()))
    });
    Ok(rows)
}

impl Session {
    /// "Referencias": the office's referrals (all offices for central staff), most waiting first.
    pub fn office_referrals(&self, q: &ReferralQuery, now: DateTime<Utc>) -> Result<ReferralPage> {
        self.with_permission(Permission::ManageReferrals, |store, user, cases| {
            let (offset, limit) = page_bounds(q.offset, q.limit);
            let matched = matching_referrals(
                store,
                user,
                cases,
                q,
                today_in_el_salvador(now),
                Some(offset.saturating_add(limit)),
            )?;
            let (total, matched) = page(matched, q.offset, q.limit);
            Ok(ReferralPage {
                total,
                offset: q.offset,
                rows: referral_rows_of(store, &matched)?,
            })
        })
    }

    /// "Seguimientos": the office's pending follow-ups due or overdue, most overdue first.
    pub fn office_follow_ups(&self, q: &FollowUpQuery, now: DateTime<Utc>) -> Result<FollowUpPage> {
        self.with_permission(Permission::FollowUps, |store, user, cases| {
            let rows = follow_up_rows(store, user, cases, q, now)?;
            let (total, rows) = page(rows, q.offset, q.limit);
            Ok(FollowUpPage {
                total,
                offset: q.offset,
                rows,
            })
        })
    }
}
