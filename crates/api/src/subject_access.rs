//! The person's own data (subject access): everything this device holds about one person — the
//! whole form with its returns and consents, the referrals with their steps, the follow-ups,
//! the notes the supervisor may read, and every audit entry about the person or a record of
//! theirs — for a supervisor to hand over, as JSON and as the readable page the UI prints. It
//! names nothing of other persons: family members appear only as a count, and the links to
//! other forms (merged, "not the same person") are left out. Making it is audited (`Export`).

use chrono::{DateTime, Utc};
use reintegra_core::audit::{AuditAction, AuditEntry, RecordKind};
use reintegra_core::calendar::today_in_el_salvador;
use reintegra_core::case_note::CaseNote;
use reintegra_core::follow_up::FollowUp;
use reintegra_core::ids::{PersonId, UserId};
use reintegra_core::permission::Permission;
use reintegra_core::person::Person;
use reintegra_core::referral::Referral;
use serde::Serialize;
use ts_rs::TS;

use crate::access::office_case;
use crate::unit_of_work::{Audit, Work};
use crate::{ApiError, ExportFile, Result, Session};

#[derive(Debug, Clone, PartialEq, Eq, Serialize, TS)]
pub struct SubjectAccess {
    pub made_at: DateTime<Utc>,
    pub person: Person,
    /// Other persons registered in the same family group (their data is theirs, not shown).
    pub family_members: u32,
    pub referrals: Vec<Referral>,
    pub follow_ups: Vec<FollowUp>,
    /// The notes this supervisor may read.
    pub notes: Vec<CaseNote>,
    /// Sensitive notes this supervisor may not read (held, not shown).
    pub notes_withheld: u32,
    /// Every change and reading recorded about the person and their records, oldest first.
    pub history: Vec<AuditEntry>,
    /// The staff named in the history and as caseworker: (id, name).
    pub staff: Vec<(UserId, String)>,
}

impl Session {
    /// Everything held about `person`, for the person. Audited.
    pub fn subject_access(&self, person: PersonId, now: DateTime<Utc>) -> Result<SubjectAccess> {
        self.with_permission(Permission::PersonalData, |store, user, cases| {
            let mut form = office_case(store, user, person)?;
            // Links to other persons' forms are not the person's data.
            form.not_same_as.clear();
            form.merged_into = None;
            let family_members = match form.family_group {
                Some(group) => cases
                    .iter()
                    .filter(|c| c.family_group == Some(group) && c.id != person)
                    .count(),
                None => 0,
            };
            let mut referrals = store.referrals_of_person(person)?;
            referrals.sort_by_key(|r| r.history.first().map(|s| s.at));
            let mut follow_ups = store.follow_ups_of_person(person)?;
            follow_ups.sort_by_key(|f| f.due_on);
            let mut notes = store.case_notes_of_person(person)?;
            notes.sort_by_key(|n| n.at);
            let all_notes = notes.len();
            notes.retain(|n| n.readable_by(user.id, user.role));

            let mut history = store.audit_of(person.as_uuid())?;
            for id in referrals
                .iter()
                .map(|r| r.id.as_uuid())
                .chain(follow_ups.iter().map(|f| f.id.as_uuid()))
                .chain(notes.iter().map(|n| n.id.as_uuid()))
            {
                history.extend(store.audit_of(id)?);
            }
            history.sort_by_key(|a| a.at);

            let mut staff: Vec<UserId> = history.iter().map(|a| a.user).collect();
            staff.extend(form.caseworker);
            staff.sort();
            staff.dedup();
            let staff = staff
                .into_iter()
                .filter_map(|id| {
                    let record = store.user_record(id).ok().flatten()?;
                    Some((id, record.name))
                })
                .collect();

            let mut work = Work::new(store, user, now);
            work.audit(
                RecordKind::Person,
                person.into(),
                Audit::new(
                    AuditAction::Export,
                    "Exportó todos los datos de la persona (acceso a sus propios datos)",
                ),
            )?;
            work.commit(cases)?;
            Ok(SubjectAccess {
                made_at: now,
                person: form,
                family_members: u32::try_from(family_members).unwrap_or(u32::MAX),
                referrals,
                follow_ups,
                notes_withheld: u32::try_from(all_notes - notes.len()).unwrap_or(u32::MAX),
                notes,
                history,
                staff,
            })
        })
    }
}

impl Session {
    /// [`Session::subject_access`] as a JSON file to hand over (audited the same way).
    pub fn subject_access_file(&self, person: PersonId, now: DateTime<Utc>) -> Result<ExportFile> {
        let access = self.subject_access(person, now)?;
        let bytes =
            serde_json::to_vec_pretty(&access).map_err(|e| ApiError::Export(e.to_string()))?;
        Ok(ExportFile {
            file_name: format!(
                "datos-de-la-persona-{}-{}.json",
                today_in_el_salvador(now),
                &person.as_uuid().simple().to_string()[..8]
            ),
            rows: 1,
            bytes,
        })
    }
}
