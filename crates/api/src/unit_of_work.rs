//! One use case, one write: the records a command changes and the audit entry of each change
//! are collected here and committed in a single store transaction (flushed once), so a crash
//! never leaves a change without its audit entry or half a merge.

use std::collections::HashMap;

use chrono::{DateTime, Utc};
use reintegra_core::audit::{AuditAction, AuditEntry, EntityRef, RecordKind};
use reintegra_core::ids::{AuditId, FollowUpId, PersonId, ReferralId};
use reintegra_core::op::EntityKind;
use reintegra_core::person::Person;
use reintegra_core::user::User;
use reintegra_store::{Batch, Record, Store};
use uuid::Uuid;

use crate::cases::Cases;
use crate::Result;

/// What an audit entry says about a change: its action, the fields it touched, a short line.
pub(crate) struct Audit<'s> {
    pub action: AuditAction,
    pub fields: Vec<String>,
    pub summary: &'s str,
}

impl<'s> Audit<'s> {
    pub fn new(action: AuditAction, summary: &'s str) -> Audit<'s> {
        Audit {
            action,
            fields: Vec::new(),
            summary,
        }
    }

    pub fn fields<S: Into<String>>(mut self, fields: impl IntoIterator<Item = S>) -> Self {
        self.fields = fields.into_iter().map(Into::into).collect();
        self
    }
}

/// The writes of one use case by `user` at `now`. Nothing reaches the store before
/// [`Work::commit`]; dropping it writes nothing.
pub(crate) struct Work<'a> {
    store: &'a Store,
    user: &'a User,
    now: DateTime<Utc>,
    batch: Batch,
    /// Persons saved, to refresh the in-memory cases once the commit succeeded.
    persons: Vec<Person>,
    /// Where each person is in `persons` (its last save wins), so a batch of 50,000 forms (an
    /// import) is not quadratic.
    person_at: HashMap<PersonId, usize>,
    /// Referrals and follow-ups saved, read again into the in-memory services after the commit.
    referrals: Vec<ReferralId>,
    follow_ups: Vec<FollowUpId>,
}

impl<'a> Work<'a> {
    pub fn new(store: &'a Store, user: &'a User, now: DateTime<Utc>) -> Work<'a> {
        Work {
            store,
            user,
            now,
            batch: Batch::new(),
            persons: Vec::new(),
            person_at: HashMap::new(),
            referrals: Vec::new(),
            follow_ups: Vec::new(),
        }
    }

    /// Saves `record` with the audit entry of the change.
    pub fn save<R: Record>(&mut self, record: &R, audit: Audit<'_>) -> Result<()> {
        self.batch.put(record)?;
        match R::KIND {
            EntityKind::Referral => self.referrals.push(ReferralId::new(record.record_id())),
            EntityKind::FollowUp => self.follow_ups.push(FollowUpId::new(record.record_id())),
            _ => {}
        }
        self.audit(RecordKind::from(R::KIND), record.record_id(), audit)
    }

    /// Saves a person with the audit entry of the change (and the cases follow at commit).
    pub fn save_person(&mut self, person: &Person, audit: Audit<'_>) -> Result<()> {
        self.save(person, audit)?;
        match self.person_at.get(&person.id) {
            Some(&at) => self.persons[at] = person.clone(),
            None => {
                self.person_at.insert(person.id, self.persons.len());
                self.persons.push(person.clone());
            }
        }
        Ok(())
    }

    /// An audit entry about something that is not a record write here (a sign-in, an export).
    pub fn audit(&mut self, kind: RecordKind, id: Uuid, audit: Audit<'_>) -> Result<()> {
        let entry = AuditEntry::new(
            AuditId::new(Uuid::now_v7()),
            self.now,
            self.user.id,
            audit.action,
            EntityRef::new(kind, id),
        )
        .on_device(self.store.device())
        .with_changed_fields(audit.fields)
        .with_summary(audit.summary);
        self.batch.put(&entry)?;
        Ok(())
    }

    /// Writes everything in one transaction, then refreshes the in-memory cases and services.
    pub fn commit(self, cases: &mut Cases) -> Result<()> {
        self.commit_maybe_undoable(cases, None)
    }

    /// [`Work::commit`], kept so that `Store::undo(token)` can take it all back while none of
    /// it has left the device (an import).
    pub fn commit_undoable(self, cases: &mut Cases, token: Uuid) -> Result<()> {
        self.commit_maybe_undoable(cases, Some(token))
    }

    fn commit_maybe_undoable(self, cases: &mut Cases, token: Option<Uuid>) -> Result<()> {
        match token {
            Some(token) => self.store.commit_undoable(self.batch, token)?,
            None => self.store.commit(self.batch)?,
        };
        for person in &self.persons {
            cases.upsert(person);
        }
        cases
            .services
            .refresh(self.store, &self.referrals, &self.follow_ups)
    }
}

/// Saves one record with the audit entry of its change, in one write.
pub(crate) fn save_one<R: Record>(
    (store, user, cases): (&Store, &User, &mut Cases),
    now: DateTime<Utc>,
    record: &R,
    audit: Audit<'_>,
) -> Result<()> {
    let mut work = Work::new(store, user, now);
    work.save(record, audit)?;
    work.commit(cases)
}
