//! The caseload ("Casos"): every person, filtered and searched in memory and sorted by priority;
//! and one person's whole single form with its history (who changed what, when).

use chrono::{DateTime, NaiveDate, Utc};
use reintegra_core::audit::{AuditAction, AuditEntry, RecordKind};
use reintegra_core::calendar::today_in_el_salvador;
use reintegra_core::consent;
use reintegra_core::ids::{PersonId, UserId};
use reintegra_core::permission::Permission;
use reintegra_core::person::{CaseFlag, Person};
use reintegra_core::territory::Territory;
use reintegra_core::text::fold;
use reintegra_core::user::User;
use reintegra_core::vulnerability::Vulnerability;
use serde::{Deserialize, Serialize};
use ts_rs::TS;

use crate::access::{case_of, sees_case};
use crate::case_loading::CasesRead;
use crate::cases::CaseSummary;
use crate::unit_of_work::{Audit, Work};
use crate::{ApiError, Result, Session};

#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize, TS)]
#[serde(rename_all = "snake_case")]
pub enum CaseState {
    #[default]
    Open,
    Closed,
    Any,
    /// Only the restricted forms (no registration consent: `consent::restricted`), which no
    /// other state lists; for supervisors, who decide their erasure.
    Restricted,
}

/// The caseload's filters. Empty fields do not filter.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize, TS)]
pub struct CaseQuery {
    /// Name (accents, case and spacing ignored; every word must match the start of a name word)
    /// or DUI (digits, with or without the dash).
    pub text: String,
    /// Municipality code of the destination (the municipal office the case belongs to).
    pub municipality: Option<String>,
    pub caseworker: Option<UserId>,
    /// Only cases assigned to nobody.
    pub unassigned: bool,
    pub vulnerability: Option<Vulnerability>,
    pub state: CaseState,
    /// Returned in the last N days.
    pub returned_within_days: Option<u32>,
    /// At most this many rows (0 means 200).
    pub limit: u32,
}

/// One line of the caseload.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, TS)]
pub struct CaseRow {
    pub id: PersonId,
    pub full_name: String,
    pub dui: Option<String>,
    pub destination_district: String,
    pub destination_name: String,
    pub municipality_name: String,
    /// The destination is one of the eight localities the program prioritizes.
    pub prioritized: bool,
    pub caseworker: Option<UserId>,
    pub vulnerabilities: Vec<Vulnerability>,
    pub flags: Vec<CaseFlag>,
    pub priority: u32,
    pub open: bool,
    pub has_plan: bool,
    pub last_return: Option<NaiveDate>,
    pub returns: u32,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, TS)]
pub struct CasePage {
    /// How many cases match (the rows are the first `limit`).
    pub total: u32,
    pub rows: Vec<CaseRow>,
    /// Right after unlock, while every case is still being read: the page holds only the
    /// cases read so far, and says how far the read got (ask again).
    pub still_reading: Option<CasesRead>,
}

/// One person, whole: the form, flags, the audit trail, and names for the ids it holds.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, TS)]
pub struct PersonDetail {
    pub person: Person,
    pub flags: Vec<CaseFlag>,
    pub history: Vec<AuditEntry>,
    /// Names of the users who appear in the history or as caseworker.
    pub users: Vec<User>,
    /// Other persons of the same family group.
    pub family: Vec<CaseRow>,
}

fn dui_digits(text: &str) -> Option<String> {
    let digits: String = text.chars().filter(char::is_ascii_digit).collect();
    let only_dui_chars = text.trim().chars().all(|c| c.is_ascii_digit() || c == '-');
    (only_dui_chars && digits.len() >= 4).then_some(digits)
}

fn matches_text(c: &CaseSummary, words: &[String], dui: Option<&str>) -> bool {
    if let Some(d) = dui {
        return c.dui_digits.starts_with(d) && !c.dui_digits.is_empty();
    }
    words.iter().all(|w| {
        c.folded_name
            .split(' ')
            .any(|name_word| name_word.starts_with(w.as_str()))
    })
}

/// Days since the last return without a plan: the longer a case waits, the higher it goes.
fn waiting_days(c: &CaseSummary, today: NaiveDate) -> i64 {
    match (c.has_plan, c.last_return) {
        (false, Some(d)) => (today - d).num_days().max(0),
        _ => 0,
    }
}

pub(crate) fn row(c: &CaseSummary, today: NaiveDate) -> CaseRow {
    let place = Territory::el_salvador().place(&c.destination_district);
    CaseRow {
        id: c.id,
        full_name: c.full_name.clone(),
        dui: c.dui.clone(),
        destination_district: c.destination_district.clone(),
        destination_name: place.map(|p| p.district_name.clone()).unwrap_or_default(),
        municipality_name: place
            .map(|p| p.municipality_name.clone())
            .unwrap_or_default(),
        prioritized: place.is_some_and(|p| p.prioritized),
        caseworker: c.caseworker,
        vulnerabilities: c.vulnerabilities.clone(),
        flags: c.flags(today),
        priority: c.priority,
        open: c.open,
        has_plan: c.has_plan,
        last_return: c.last_return,
        returns: c.returns,
    }
}

pub(crate) fn query_cases<'a>(
    cases: impl Iterator<Item = &'a CaseSummary>,
    q: &CaseQuery,
    today: NaiveDate,
) -> CasePage {
    let folded = fold(&q.text);
    let words: Vec<String> = folded
        .split(' ')
        .filter(|w| !w.is_empty())
        .map(String::from)
        .collect();
    let dui = dui_digits(&q.text);
    let mut hits: Vec<&CaseSummary> = cases
        .filter(|c| {
            let restricted = consent::restricted(&c.consents, today);
            match q.state {
                CaseState::Open => c.open && !restricted,
                CaseState::Closed => !c.open && !restricted,
                CaseState::Any => !restricted,
                CaseState::Restricted => restricted,
            }
        })
        .filter(|c| {
            q.municipality
                .as_deref()
                .is_none_or(|m| c.municipality.as_deref() == Some(m))
        })
        .filter(|c| q.caseworker.is_none_or(|u| c.caseworker == Some(u)))
        .filter(|c| !q.unassigned || c.caseworker.is_none())
        .filter(|c| {
            q.vulnerability
                .is_none_or(|v| c.vulnerabilities.contains(&v))
        })
        .filter(|c| {
            q.returned_within_days.is_none_or(|n| {
                c.last_return
                    .is_some_and(|d| (today - d).num_days() <= i64::from(n))
            })
        })
        .filter(|c| matches_text(c, &words, dui.as_deref()))
        .collect();
    let total = u32::try_from(hits.len()).unwrap_or(u32::MAX);
    let limit = if q.limit == 0 { 200 } else { q.limit as usize };
    let key = |c: &CaseSummary| {
        (
            std::cmp::Reverse(c.priority),
            std::cmp::Reverse(waiting_days(c, today)),
        )
    };
    if hits.len() > limit {
        hits.select_nth_unstable_by(limit, |a, b| {
            key(a)
                .cmp(&key(b))
                .then_with(|| a.folded_name.cmp(&b.folded_name))
        });
        hits.truncate(limit);
    }
    hits.sort_by(|a, b| {
        key(a)
            .cmp(&key(b))
            .then_with(|| a.folded_name.cmp(&b.folded_name))
    });
    CasePage {
        total,
        rows: hits.into_iter().map(|c| row(c, today)).collect(),
        still_reading: None,
    }
}

impl Session {
    /// The caseload, sorted by priority (vulnerabilities, then days since return without a plan).
    pub fn caseload(&self, query: &CaseQuery, today: NaiveDate) -> Result<CasePage> {
        self.with_cases_so_far(Permission::ReadCases, |store, user, cases, read| {
            if query.state == CaseState::Restricted && !user.may(Permission::DuplicateQueue) {
                return Err(ApiError::Forbidden);
            }
            let mut visible = Vec::new();
            for case in cases {
                if sees_case(store, user, case, today)? {
                    visible.push(case);
                }
            }
            Ok(CasePage {
                still_reading: read,
                ..query_cases(visible.into_iter(), query, today)
            })
        })
    }

    /// One person's whole single form, with every change made to it (newest first).
    /// One person's whole page. Opening a minor's file is audited (`View`).
    pub fn person_detail(&self, id: PersonId, now: DateTime<Utc>) -> Result<PersonDetail> {
        let today = today_in_el_salvador(now);
        self.with_permission(Permission::ReadCases, |store, user, cases| {
            let mut person = case_of(store, user, id, today)?;
            if person.is_minor(today) {
                let mut work = Work::new(store, user, now);
                work.audit(
                    RecordKind::Person,
                    id.into(),
                    Audit::new(
                        AuditAction::View,
                        "Consultó la ficha de una persona menor de edad",
                    ),
                )?;
                work.commit(cases)?;
            }
            if !user.may(Permission::WorkPlans) {
                // Reception registers and routes: the plan is not for it to read.
                person.plan = None;
            }
            let mut history = store.audit_of(id.as_uuid())?;
            history.sort_by_key(|e| std::cmp::Reverse(e.at));
            let mut user_ids: Vec<UserId> = history.iter().map(|e| e.user).collect();
            user_ids.extend(person.caseworker);
            user_ids.sort_by_key(|u| u.as_uuid());
            user_ids.dedup();
            let mut users = Vec::new();
            for u in user_ids {
                if let Some(user) = store.user_record(u)? {
                    users.push(user);
                }
            }
            let family = match person.family_group {
                Some(g) => cases
                    .iter()
                    .filter(|c| c.family_group == Some(g) && c.id != id)
                    .filter(|c| sees_case(store, user, c, today).unwrap_or(false))
                    .map(|c| row(c, today))
                    .collect(),
                None => Vec::new(),
            };
            Ok(PersonDetail {
                flags: person.flags(today),
                person,
                history,
                users,
                family,
            })
        })
    }
}
