//! The audit log: who did what to which record, when, from which device. Every change and every
//! export writes an entry.
//!
//! Entries name the fields that changed, not their values: the log must not become a second,
//! harder to protect copy of names, DUIs and notes.

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use ts_rs::TS;
use uuid::Uuid;

use crate::ids::{AuditId, DeviceId, UserId};
use crate::op::EntityKind;

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize, TS)]
#[serde(rename_all = "snake_case")]
pub enum AuditAction {
    Create,
    Update,
    Delete,
    /// A sensitive record was opened (sensitive notes, a minor's file).
    View,
    /// Data left the app: a report, a file, a printout.
    Export,
    /// Data was shared with a provider (a referral was sent).
    Share,
    /// A supervisor picked a value in a sync conflict.
    ResolveConflict,
    SignIn,
    /// The session was locked (by hand or after idle time): the keys left memory.
    Lock,
    RevokeDevice,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize, TS)]
#[serde(rename_all = "snake_case")]
pub enum RecordKind {
    Person,
    Referral,
    FollowUp,
    CaseNote,
    Provider,
    User,
    Device,
    FamilyGroup,
    /// An export has no record of its own; its id is the audit entry's.
    Export,
    /// An import of a spreadsheet (its forms have their own entries); the id is the entry's.
    Import,
    /// The audit log itself.
    Audit,
}

impl From<EntityKind> for RecordKind {
    /// The one relation between the two kinds: every synced kind has its audit name.
    fn from(kind: EntityKind) -> RecordKind {
        match kind {
            EntityKind::Person => RecordKind::Person,
            EntityKind::Referral => RecordKind::Referral,
            EntityKind::FollowUp => RecordKind::FollowUp,
            EntityKind::CaseNote => RecordKind::CaseNote,
            EntityKind::Provider => RecordKind::Provider,
            EntityKind::User => RecordKind::User,
            EntityKind::Audit => RecordKind::Audit,
        }
    }
}

/// The record an entry is about.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize, TS)]
pub struct EntityRef {
    pub kind: RecordKind,
    pub id: Uuid,
}

impl EntityRef {
    pub fn new(kind: RecordKind, id: impl Into<Uuid>) -> Self {
        EntityRef {
            kind,
            id: id.into(),
        }
    }
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, TS)]
pub struct AuditEntry {
    pub id: AuditId,
    pub at: DateTime<Utc>,
    pub user: UserId,
    pub device: Option<DeviceId>,
    pub action: AuditAction,
    pub entity: EntityRef,
    /// Paths of the fields that changed (`phone`, `return_events[1].date`), no values.
    pub changed_fields: Vec<String>,
    /// A short line for the log view, without personal data ("Referral sent to INSAFORP").
    pub summary: String,
}

impl AuditEntry {
    pub fn new(
        id: AuditId,
        at: DateTime<Utc>,
        user: UserId,
        action: AuditAction,
        entity: EntityRef,
    ) -> Self {
        AuditEntry {
            id,
            at,
            user,
            device: None,
            action,
            entity,
            changed_fields: Vec::new(),
            summary: String::new(),
        }
    }

    pub fn on_device(mut self, device: DeviceId) -> Self {
        self.device = Some(device);
        self
    }

    pub fn with_changed_fields<I, S>(mut self, fields: I) -> Self
    where
        I: IntoIterator<Item = S>,
        S: Into<String>,
    {
        self.changed_fields = fields.into_iter().map(Into::into).collect();
        self
    }

    pub fn with_summary(mut self, summary: impl Into<String>) -> Self {
        self.summary = summary.into();
        self
    }
}

/// The top-level fields whose JSON differs between two versions of a record, sorted. What an
/// `Update` entry lists in `changed_fields`. Either side that is not a JSON object counts as
/// one change of the whole record (`""`).
pub fn changed_fields<T: Serialize>(before: &T, after: &T) -> Vec<String> {
    let (Ok(serde_json::Value::Object(a)), Ok(serde_json::Value::Object(b))) =
        (serde_json::to_value(before), serde_json::to_value(after))
    else {
        return vec![String::new()];
    };
    let mut out: Vec<String> = a
        .iter()
        .filter(|(k, v)| b.get(*k) != Some(*v))
        .map(|(k, _)| k.clone())
        .chain(b.keys().filter(|k| !a.contains_key(*k)).cloned())
        .collect();
    out.sort();
    out.dedup();
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::ids::PersonId;
    use chrono::TimeZone;

    #[test]
    fn builds_an_entry() {
        let at = Utc
            .with_ymd_and_hms(2025, 1, 1, 8, 0, 0)
            .single()
            .expect("valid time");
        let person = PersonId::new(Uuid::from_u128(3));
        let e = AuditEntry::new(
            AuditId::new(Uuid::from_u128(1)),
            at,
            UserId::new(Uuid::from_u128(2)),
            AuditAction::Update,
            EntityRef::new(RecordKind::Person, person),
        )
        .on_device(DeviceId::new(Uuid::from_u128(4)))
        .with_changed_fields(["phone", "occupation"])
        .with_summary("Ficha actualizada");
        assert_eq!(e.entity.id, person.as_uuid());
        let v = serde_json::to_value(&e).expect("serialize");
        assert_eq!(v["action"], "update");
        assert_eq!(v["entity"]["kind"], "person");
        assert_eq!(v["changed_fields"][1], "occupation");
        assert_eq!(
            serde_json::from_value::<AuditEntry>(v).expect("deserialize"),
            e
        );
    }

    #[derive(Serialize)]
    struct Rec {
        a: u32,
        b: &'static str,
        c: Option<u32>,
    }

    #[test]
    fn changed_fields_names_only_what_differs() {
        let before = Rec {
            a: 1,
            b: "x",
            c: None,
        };
        let after = Rec {
            a: 1,
            b: "y",
            c: Some(2),
        };
        assert_eq!(changed_fields(&before, &after), ["b", "c"]);
        assert!(changed_fields(&before, &before).is_empty());
        assert_eq!(changed_fields(&1, &2), [""]);
    }
}
