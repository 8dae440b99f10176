//! Case notes: free text on a person, with author and time, encrypted like every record. A
//! sensitive note is shown only to its author and to the roles that work case notes
//! (`CaseNote::readable_by`, core's rule) — enforced here, so no screen can show it by mistake.

use chrono::{DateTime, Utc};
use reintegra_core::audit::{AuditAction, RecordKind};
use reintegra_core::case_note::CaseNote;
use reintegra_core::ids::{CaseNoteId, PersonId};
use serde::Serialize;
use ts_rs::TS;
use uuid::Uuid;

use crate::access::office_case;
use crate::unit_of_work::{save_one, Audit, Work};
use crate::{ApiError, Result, Session};
use reintegra_core::permission::Permission;

/// What the person's notes section shows: the notes this user may read, and how many are
/// hidden from them (so nobody thinks the file is complete when it is not).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, TS)]
pub struct NotesView {
    pub notes: Vec<CaseNote>,
    pub hidden: u32,
}

impl Session {
    /// The notes of `person` this user may read. Showing sensitive ones is audited (`View`).
    pub fn notes_of(&self, person: PersonId, now: DateTime<Utc>) -> Result<NotesView> {
        self.with_permission(Permission::CaseNotes, |store, user, cases| {
            office_case(store, user, person)?;
            let mut all = store.case_notes_of_person(person)?;
            all.sort_by_key(|n| std::cmp::Reverse(n.at));
            let total = all.len();
            all.retain(|n| n.readable_by(user.id, user.role));
            let sensitive = all.iter().filter(|n| n.sensitive).count();
            if sensitive > 0 {
                let summary = format!("Consultó {sensitive} nota(s) sensible(s)");
                let mut work = Work::new(store, user, now);
                work.audit(
                    RecordKind::Person,
                    person.into(),
                    Audit::new(AuditAction::View, &summary),
                )?;
                work.commit(cases)?;
            }
            Ok(NotesView {
                hidden: u32::try_from(total - all.len()).unwrap_or(u32::MAX),
                notes: all,
            })
        })
    }

    pub fn add_note(
        &self,
        person: PersonId,
        text: &str,
        sensitive: bool,
        now: DateTime<Utc>,
    ) -> Result<CaseNote> {
        self.with_permission(Permission::CaseNotes, |store, user, cases| {
            office_case(store, user, person)?;
            let note = CaseNote {
                id: CaseNoteId::new(Uuid::now_v7()),
                person,
                text: text.trim().to_string(),
                author: user.id,
                at: now,
                sensitive,
            };
            note.validate(now).map_err(ApiError::Invalid)?;
            save_one(
                (store, user, cases),
                now,
                &note,
                Audit::new(
                    AuditAction::Create,
                    if sensitive { "Nota sensible" } else { "Nota" },
                ),
            )?;
            Ok(note)
        })
    }
}
