//! "Supervisión → Auditoría": who did what, when, on which device, as this device's audit
//! trail holds it, filtered by person, user, action and dates, newest first. A supervisor of an
//! office sees the entries about the persons of that office (and their records) and those of
//! the office's users about no person (sign-ins, locks, exports); central staff see all.

use std::collections::HashMap;

use chrono::NaiveDate;
use reintegra_core::audit::{AuditAction, AuditEntry, RecordKind};
use reintegra_core::calendar::today_in_el_salvador;
use reintegra_core::ids::{CaseNoteId, DeviceId, PersonId, UserId};
use reintegra_core::permission::Permission;
use serde::{Deserialize, Serialize};
use ts_rs::TS;

use crate::office_lists::MAX_PAGE;
use crate::{Result, Session};

#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize, TS)]
pub struct AuditQuery {
    #[ts(optional)]
    pub person: Option<PersonId>,
    #[ts(optional)]
    pub user: Option<UserId>,
    #[ts(optional)]
    pub action: Option<AuditAction>,
    /// El Salvador days, both included.
    #[ts(optional)]
    pub from: Option<NaiveDate>,
    #[ts(optional)]
    pub to: Option<NaiveDate>,
    #[serde(default)]
    pub offset: u32,
    /// Rows per page (0: [`MAX_PAGE`]).
    #[serde(default)]
    pub limit: u32,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, TS)]
pub struct AuditRow {
    pub entry: AuditEntry,
    pub user_name: String,
    /// The person the entry is about (directly or through a record of theirs), if any.
    pub person: Option<PersonId>,
    pub person_name: String,
    pub device: Option<DeviceId>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, TS)]
pub struct AuditPage {
    pub total: u32,
    pub offset: u32,
    pub rows: Vec<AuditRow>,
}

impl Session {
    pub fn audit_log(&self, q: &AuditQuery) -> Result<AuditPage> {
        self.with_permission(Permission::PersonalData, |store, user, cases| {
            let services = cases.services.get()?;
            let users: HashMap<UserId, reintegra_core::user::User> = store
                .user_records()?
                .into_iter()
                .map(|u| (u.id, u))
                .collect();
            // The person an entry is about: the person itself, or the owner of the record.
            let person_of = |e: &AuditEntry| -> Option<PersonId> {
                let id = e.entity.id;
                match e.entity.kind {
                    RecordKind::Person => Some(PersonId::new(id)),
                    RecordKind::Referral => services
                        .referrals
                        .get(&reintegra_core::ids::ReferralId::new(id))
                        .map(|r| r.facts.person),
                    RecordKind::FollowUp => services
                        .follow_ups
                        .get(&reintegra_core::ids::FollowUpId::new(id))
                        .map(|f| f.facts.person),
                    RecordKind::CaseNote => store
                        .case_note(CaseNoteId::new(id))
                        .ok()
                        .flatten()
                        .map(|n| n.person),
                    _ => None,
                }
            };
            let within = |e: &AuditEntry| {
                let day = today_in_el_salvador(e.at);
                q.from.is_none_or(|f| day >= f) && q.to.is_none_or(|t| day <= t)
            };
            let mut rows: Vec<(AuditEntry, Option<PersonId>)> = store
                .map_records(|e: AuditEntry| e)?
                .into_iter()
                .filter(|e| q.user.is_none_or(|u| e.user == u))
                .filter(|e| q.action.is_none_or(|a| e.action == a))
                .filter(within)
                .filter_map(|e| {
                    let person = person_of(&e);
                    if q.person.is_some() && person != q.person {
                        return None;
                    }
                    let visible = match person {
                        Some(p) => cases
                            .get(&p)
                            .is_some_and(|c| user.works_office(c.municipality.as_deref())),
                        // About no person: the office's own users' entries.
                        None => users
                            .get(&e.user)
                            .is_some_and(|u| user.works_office(u.office_municipality.as_deref())),
                    };
                    visible.then_some((e, person))
                })
                .collect();
            rows.sort_by(|a, b| b.0.at.cmp(&a.0.at).then(b.0.id.cmp(&a.0.id)));
            let total = u32::try_from(rows.len()).unwrap_or(u32::MAX);
            let limit = if q.limit == 0 {
                MAX_PAGE
            } else {
                q.limit.min(MAX_PAGE)
            } as usize;
            let rows = rows
                .into_iter()
                .skip(q.offset as usize)
                .take(limit)
                .map(|(entry, person)| AuditRow {
                    user_name: users
                        .get(&entry.user)
                        .map(|u| u.name.clone())
                        .unwrap_or_default(),
                    person_name: person
                        .and_then(|p| cases.get(&p))
                        .map(|c| c.full_name.clone())
                        .unwrap_or_default(),
                    device: entry.device,
                    person,
                    entry,
                })
                .collect();
            Ok(AuditPage {
                total,
                offset: q.offset,
                rows,
            })
        })
    }
}
