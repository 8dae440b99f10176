//! Free-text notes on a case. Sensitive notes (violence, health, legal situation) are shown only
//! to roles that work case notes (`Permission::CaseNotes`).

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use ts_rs::TS;

use crate::ids::{CaseNoteId, PersonId, UserId};
use crate::permission::Permission;
use crate::user::Role;
use crate::validation::{Problem, ValidationErrors};

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, TS)]
pub struct CaseNote {
    pub id: CaseNoteId,
    pub person: PersonId,
    pub text: String,
    pub author: UserId,
    pub at: DateTime<Utc>,
    pub sensitive: bool,
}

impl CaseNote {
    /// Whether a user with `role` may read this note. Authors always read their own notes.
    pub fn readable_by(&self, user: UserId, role: Role) -> bool {
        !self.sensitive || self.author == user || role.may(Permission::CaseNotes)
    }

    pub fn validate(&self, now: DateTime<Utc>) -> Result<(), ValidationErrors> {
        let mut e = ValidationErrors::new();
        e.require_text("text", &self.text);
        if self.at > now {
            e.push(
                "at",
                Problem::DateInFuture {
                    date: self.at.date_naive(),
                },
            );
        }
        e.into_result()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::TimeZone;
    use uuid::Uuid;

    fn note(sensitive: bool) -> CaseNote {
        CaseNote {
            id: CaseNoteId::new(Uuid::from_u128(1)),
            person: PersonId::new(Uuid::from_u128(2)),
            text: "Refiere amenazas en su colonia".into(),
            author: UserId::new(Uuid::from_u128(3)),
            at: Utc
                .with_ymd_and_hms(2025, 5, 5, 10, 0, 0)
                .single()
                .expect("valid time"),
            sensitive,
        }
    }

    #[test]
    fn sensitive_notes_are_for_author_and_entitled_roles() {
        let other = UserId::new(Uuid::from_u128(99));
        let n = note(true);
        assert!(n.readable_by(n.author, Role::Reception));
        assert!(!n.readable_by(other, Role::Reception));
        assert!(n.readable_by(other, Role::Caseworker));
        assert!(n.readable_by(other, Role::Supervisor));
        assert!(
            !n.readable_by(other, Role::Admin),
            "admins manage the system, not cases"
        );
        assert!(note(false).readable_by(other, Role::Reception));
    }

    #[test]
    fn validation_rules() {
        let n = note(false);
        assert_eq!(n.validate(n.at), Ok(()));
        let e = n
            .validate(n.at - chrono::Duration::seconds(1))
            .expect_err("future");
        assert!(e.has("at", "date_in_future"));
        let mut blank = note(false);
        blank.text = "\n ".into();
        assert!(blank
            .validate(blank.at)
            .expect_err("blank")
            .has("text", "required"));
    }

    #[test]
    fn json_round_trip() {
        let n = note(true);
        let v = serde_json::to_value(&n).expect("serialize");
        assert_eq!(v["sensitive"], true);
        assert_eq!(v["at"], "2025-05-05T10:00:00Z");
        assert_eq!(
            serde_json::from_value::<CaseNote>(v).expect("deserialize"),
            n
        );
    }
}
