//! Case notes: free text on a person, with author and time, encrypted like every record. A
//! sensitive note is shown only to its author's role and to supervisors and admins — enforced
//! here, so no screen can show it by mistake.

use chrono::{DateTime, Utc};
use reintegra_core::audit::AuditAction;
use reintegra_core::case_note::CaseNote;
use reintegra_core::ids::{CaseNoteId, PersonId};
use serde::Serialize;
use ts_rs::TS;
use uuid::Uuid;

use crate::unit_of_work::{save_one, Audit};
use crate::{ApiError, Result, Session};

/// What the person's notes section shows: the notes this user may read, and how many are
/// hidden from them (so nobody thinks the file is complete when it is not).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, TS)]
pub struct NotesView {
    pub notes: Vec<CaseNote>,
    pub hidden: u32,
}

impl Session {
    pub fn notes_of(&self, person: PersonId) -> Result<NotesView> {
        self.with_unlocked(|store, user, _| {
            let mut all = store.case_notes_of_person(person)?;
            all.sort_by_key(|n| std::cmp::Reverse(n.at));
            let author_roles: std::collections::HashMap<_, _> = store
                .user_records()?
                .into_iter()
                .map(|u| (u.id, u.role))
                .collect();
            let total = all.len();
            // A sensitive note is for its author, supervision (core's rule) and the author's role.
            all.retain(|n| {
                n.readable_by(user.id, user.role) || author_roles.get(&n.author) == Some(&user.role)
            });
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
        self.with_unlocked(|store, user, cases| {
            store.person(person)?.ok_or(ApiError::NotFound)?;
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
