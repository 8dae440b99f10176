//! The store's API in domain terms: persons (with their return events, vulnerabilities,
//! consents and plan), referrals, follow-ups, case notes, service providers, users and audit
//! entries, plus the lookups the UI needs. Every method returns `reintegra-core` types.
//!
//! Indexes (see `index.rs`): equality lookups (destination district / municipality, DUI, name
//! words, referral status, "of a person") are stored as BLAKE3 keyed hashes under a key derived
//! from the data key, so the disk holds no plaintext of them; they are loaded into memory at
//! unlock. The due-date index of follow-ups stores the plain date (a date alone, next to an
//! opaque id, is not personal data) so it can be scanned by range.

use chrono::{Datelike, NaiveDate};
use reintegra_core::audit::AuditEntry;
use reintegra_core::case_note::CaseNote;
use reintegra_core::dui::Dui;
use reintegra_core::follow_up::FollowUp;
use reintegra_core::ids::{
    AuditId, CaseNoteId, FollowUpId, PersonId, ProviderId, ReferralId, UserId,
};
use reintegra_core::op::EntityKind;
use reintegra_core::person::Person;
use reintegra_core::provider::ServiceProvider;
use reintegra_core::referral::{Referral, ReferralStatus};
use reintegra_core::territory::Territory;
use reintegra_core::text::fold;
use reintegra_core::user::User;
use serde::de::DeserializeOwned;
use uuid::Uuid;

use crate::engine::{Record, Saved, Store};
use crate::error::{guarded, Error, Result};
use crate::index::{IndexKey, Indexed};
use crate::layout::{open_record, record_prefix, META_INDEX_GENERATION};
use crate::outbox::RecentChange;

/// Index numbers (stable: they are part of the on-disk format).
mod ix {
    pub const PERSON_DISTRICT: u8 = 1;
    pub const PERSON_MUNICIPALITY: u8 = 2;
    pub const PERSON_DUI: u8 = 3;
    pub const PERSON_NAME_WORD: u8 = 4;
    pub const REFERRAL_STATUS: u8 = 5;
    pub const REFERRAL_PERSON: u8 = 6;
    pub const FOLLOW_UP_DUE: u8 = 7;
    pub const FOLLOW_UP_PERSON: u8 = 8;
    pub const NOTE_PERSON: u8 = 9;
    pub const AUDIT_ENTITY: u8 = 10;
    /// Pending follow-ups by the user they are assigned to, ordered by due date (the "Hoy"
    /// worklist reads only those due by today).
    pub const FOLLOW_UP_PENDING_FOR: u8 = 11;
    /// Referrals by status and the user who took the last step ("Hoy": sent, no answer yet).
    pub const REFERRAL_STATUS_BY: u8 = 12;
}

/// Which generation of index entries the records carry; bumped when a release adds an index,
/// and the records of the kinds it covers are re-indexed once at unlock.
const INDEX_GENERATION: u8 = 3;

fn hashed(index: u8, value: impl AsRef<[u8]>) -> IndexKey {
    IndexKey::Hashed {
        index,
        value: value.as_ref().to_vec(),
    }
}

/// A date as 4 bytes that sort like the dates.
fn date_bytes(d: NaiveDate) -> Vec<u8> {
    (d.num_days_from_ce() as u32 ^ 0x8000_0000)
        .to_be_bytes()
        .to_vec()
}

fn status_by(status: ReferralStatus, user: UserId) -> Vec<u8> {
    let mut value = status.code().as_bytes().to_vec();
    value.extend_from_slice(user.as_uuid().as_bytes());
    value
}

fn municipality_of(district: &str) -> Option<String> {
    Territory::el_salvador()
        .office_of(district)
        .map(String::from)
}

impl Record for Person {
    const KIND: EntityKind = EntityKind::Person;
    fn record_id(&self) -> Uuid {
        self.id.as_uuid()
    }
}

impl Indexed for Person {
    fn index_keys(&self) -> Vec<IndexKey> {
        let mut keys = Vec::new();
        if !self.destination_district.is_empty() {
            keys.push(hashed(ix::PERSON_DISTRICT, &self.destination_district));
            if let Some(m) = municipality_of(&self.destination_district) {
                keys.push(hashed(ix::PERSON_MUNICIPALITY, m));
            }
        }
        if let Some(dui) = &self.dui {
            keys.push(hashed(ix::PERSON_DUI, dui.as_str()));
        }
        let names = fold(&format!(
            "{} {} {}",
            self.given_names, self.first_surname, self.second_surname
        ));
        let mut words: Vec<&str> = names.split(' ').filter(|w| !w.is_empty()).collect();
        words.sort_unstable();
        words.dedup();
        keys.extend(words.into_iter().map(|w| hashed(ix::PERSON_NAME_WORD, w)));
        keys
    }
}

impl Record for Referral {
    const KIND: EntityKind = EntityKind::Referral;
    fn record_id(&self) -> Uuid {
        self.id.as_uuid()
    }
}

impl Indexed for Referral {
    fn index_keys(&self) -> Vec<IndexKey> {
        let mut keys = vec![
            hashed(ix::REFERRAL_STATUS, self.status().code()),
            hashed(ix::REFERRAL_PERSON, self.person.as_uuid().as_bytes()),
        ];
        if let Some(step) = self.history.last() {
            keys.push(hashed(
                ix::REFERRAL_STATUS_BY,
                status_by(self.status(), step.by),
            ));
        }
        keys
    }
}

impl Record for FollowUp {
    const KIND: EntityKind = EntityKind::FollowUp;
    fn record_id(&self) -> Uuid {
        self.id.as_uuid()
    }
}

impl Indexed for FollowUp {
    fn index_keys(&self) -> Vec<IndexKey> {
        vec![
            IndexKey::Ordered {
                index: ix::FOLLOW_UP_DUE,
                value: date_bytes(self.due_on),
            },
            hashed(ix::FOLLOW_UP_PERSON, self.person.as_uuid().as_bytes()),
        ]
        .into_iter()
        .chain(
            self.assigned_to
                .filter(|_| !self.is_done())
                .map(|u| IndexKey::Grouped {
                    index: ix::FOLLOW_UP_PENDING_FOR,
                    group: u.as_uuid().as_bytes().to_vec(),
                    value: date_bytes(self.due_on),
                }),
        )
        .collect()
    }
}

impl Record for CaseNote {
    const KIND: EntityKind = EntityKind::CaseNote;
    fn record_id(&self) -> Uuid {
        self.id.as_uuid()
    }
}

impl Indexed for CaseNote {
    fn index_keys(&self) -> Vec<IndexKey> {
        vec![hashed(ix::NOTE_PERSON, self.person.as_uuid().as_bytes())]
    }
}

impl Record for ServiceProvider {
    const KIND: EntityKind = EntityKind::Provider;
    fn record_id(&self) -> Uuid {
        self.id.as_uuid()
    }
}

impl Indexed for ServiceProvider {}

impl Record for User {
    const KIND: EntityKind = EntityKind::User;
    fn record_id(&self) -> Uuid {
        self.id.as_uuid()
    }
}

impl Indexed for User {}

impl Record for AuditEntry {
    const KIND: EntityKind = EntityKind::Audit;
    fn record_id(&self) -> Uuid {
        self.id.as_uuid()
    }
}

impl Indexed for AuditEntry {
    fn index_keys(&self) -> Vec<IndexKey> {
        vec![hashed(ix::AUDIT_ENTITY, self.entity.id.as_bytes())]
    }
}

fn keys_of<R: Record + DeserializeOwned>(json: &serde_json::Value) -> Result<Vec<IndexKey>> {
    // Read straight from the borrowed JSON (no copy of the record).
    let record = R::deserialize(json)
        .map_err(|e| Error::Corrupt(format!("a stored record does not read back: {e}")))?;
    Ok(record.index_keys())
}

/// The index entries of a record given as JSON (migrations, records from the server).
pub(crate) fn index_keys_of(kind: EntityKind, json: &serde_json::Value) -> Result<Vec<IndexKey>> {
    match kind {
        EntityKind::Person => keys_of::<Person>(json),
        EntityKind::Referral => keys_of::<Referral>(json),
        EntityKind::FollowUp => keys_of::<FollowUp>(json),
        EntityKind::CaseNote => keys_of::<CaseNote>(json),
        EntityKind::Provider => keys_of::<ServiceProvider>(json),
        EntityKind::User => keys_of::<User>(json),
        EntityKind::Audit => keys_of::<AuditEntry>(json),
    }
}

/// A changed record, loaded (for the "recent changes" list).
#[derive(Clone, Debug, PartialEq)]
pub enum Changed {
    Person(Box<Person>),
    Referral(Box<Referral>),
    FollowUp(Box<FollowUp>),
    CaseNote(Box<CaseNote>),
    Provider(Box<ServiceProvider>),
    User(Box<User>),
    Audit(Box<AuditEntry>),
}

fn not_found(entity: &'static str, id: Uuid) -> Error {
    Error::NotFoundRecord { entity, id }
}

impl Store {
    // ---- persons (the single form, with return events, vulnerabilities, consents, plan) ----

    /// Creates or updates a person. Returns the op written to the outbox (none if unchanged).
    pub fn save_person(&self, person: &Person) -> Result<Saved> {
        self.put(person)
    }

    pub fn person(&self, id: PersonId) -> Result<Option<Person>> {
        self.get(id.as_uuid())
    }

    /// Every person (in creation order of their UUIDv7 ids).
    pub fn persons(&self) -> Result<Vec<Person>> {
        self.list()
    }

    /// `f` of every person (in the order of [`Store::persons`]): [`Store::map_records`].
    pub fn map_persons<T: Send>(&self, f: impl Fn(Person) -> T + Sync) -> Result<Vec<T>> {
        self.map_records(f)
    }

    /// `f` of every record of a kind (in id order, as listed), for building something from
    /// all of them (the api's caseload at unlock) without holding them all: the records are
    /// opened (decrypted, inflated, decoded) on every core, up to 4, while this thread reads
    /// them from disk, and each record is handed to `f` on the thread that opened it.
    pub fn map_records<R: Record, T: Send>(&self, f: impl Fn(R) -> T + Sync) -> Result<Vec<T>> {
        /// Records per piece of work handed to a thread.
        const CHUNK: usize = 256;
        type Sealed = Vec<(sled::IVec, sled::IVec)>;
        let open = |chunk: Sealed| -> Result<Vec<T>> {
            chunk
                .iter()
                .map(|(key, sealed)| {
                    let (_, json) = open_record(&self.keys, key, sealed)?;
                    let record: R = serde_json::from_slice(&json).map_err(|e| {
                        Error::Corrupt(format!("a stored record does not read back: {e}"))
                    })?;
                    Ok(f(record))
                })
                .collect()
        };
        let records = self.db.scan_prefix(record_prefix(R::KIND));
        let threads = std::thread::available_parallelism().map_or(1, |n| n.get().min(4));
        if threads < 2 {
            return guarded(|| open(records.collect::<sled::Result<Sealed>>()?));
        }
        guarded(|| {
            std::thread::scope(|scope| {
                let (tx, rx) = std::sync::mpsc::sync_channel::<(usize, Sealed)>(threads * 2);
                // Only the workers hold the receiver: when every one has stopped, sending fails.
                let rx = std::sync::Arc::new(std::sync::Mutex::new(rx));
                let open = &open;
                let workers: Vec<_> = (0..threads)
                    .map(|_| {
                        let rx = rx.clone();
                        scope.spawn(move || -> Result<Vec<(usize, Vec<T>)>> {
                            let mut done = Vec::new();
                            loop {
                                let next = rx.lock().unwrap_or_else(|p| p.into_inner()).recv();
                                let Ok((n, chunk)) = next else {
                                    return Ok(done);
                                };
                                done.push((n, open(chunk)?));
                            }
                        })
                    })
                    .collect();
                drop(rx);
                // Reading from disk here, opening there: a thread that failed stops taking work,
                // and when none is left the reading stops.
                let mut read = Ok(());
                let mut chunk = Vec::with_capacity(CHUNK);
                let mut n = 0;
                for record in records {
                    match record {
                        Ok(record) => chunk.push(record),
                        Err(e) => {
                            read = Err(e);
                            break;
                        }
                    }
                    if chunk.len() == CHUNK {
                        let full = std::mem::replace(&mut chunk, Vec::with_capacity(CHUNK));
                        if tx.send((n, full)).is_err() {
                            break;
                        }
                        n += 1;
                    }
                }
                if !chunk.is_empty() {
                    let _ = tx.send((n, chunk));
                }
                drop(tx);
                let mut parts = Vec::new();
                for worker in workers {
                    parts.extend(
                        worker
                            .join()
                            .map_err(|_| Error::Corrupt("a worker thread failed".into()))??,
                    );
                }
                read?;
                parts.sort_unstable_by_key(|(n, _)| *n);
                let mut out = Vec::with_capacity(parts.iter().map(|(_, part)| part.len()).sum());
                for (_, part) in parts {
                    out.extend(part);
                }
                Ok(out)
            })
        })
    }

    pub fn person_count(&self) -> usize {
        self.count::<Person>()
    }

    pub fn delete_person(&self, id: PersonId) -> Result<Saved> {
        self.delete::<Person>(id.as_uuid())?
            .ok_or_else(|| not_found("person", id.as_uuid()))
    }

    /// Persons whose destination is this district (code, e.g. `SV-LI-...`).
    pub fn persons_by_destination_district(&self, district_code: &str) -> Result<Vec<Person>> {
        self.lookup(&hashed(ix::PERSON_DISTRICT, district_code))
    }

    /// Persons whose destination district belongs to this municipality (code).
    pub fn persons_by_destination_municipality(
        &self,
        municipality_code: &str,
    ) -> Result<Vec<Person>> {
        self.lookup(&hashed(ix::PERSON_MUNICIPALITY, municipality_code))
    }

    /// Persons with this DUI (normally zero or one; more means a duplicate to merge).
    pub fn persons_by_dui(&self, dui: &Dui) -> Result<Vec<Person>> {
        self.lookup(&hashed(ix::PERSON_DUI, dui.as_str()))
    }

    /// Persons with this word in their names (any case or accents: "pena" finds "Peña").
    pub fn persons_by_name_word(&self, word: &str) -> Result<Vec<Person>> {
        let folded = fold(word);
        if folded.is_empty() || folded.contains(' ') {
            return Ok(Vec::new());
        }
        self.lookup(&hashed(ix::PERSON_NAME_WORD, folded))
    }

    // ---- referrals ----

    pub fn save_referral(&self, referral: &Referral) -> Result<Saved> {
        self.put(referral)
    }

    pub fn referral(&self, id: ReferralId) -> Result<Option<Referral>> {
        self.get(id.as_uuid())
    }

    pub fn referrals(&self) -> Result<Vec<Referral>> {
        self.list()
    }

    pub fn delete_referral(&self, id: ReferralId) -> Result<Saved> {
        self.delete::<Referral>(id.as_uuid())?
            .ok_or_else(|| not_found("referral", id.as_uuid()))
    }

    /// Referrals whose current status is `status`.
    pub fn referrals_by_status(&self, status: ReferralStatus) -> Result<Vec<Referral>> {
        self.lookup(&hashed(ix::REFERRAL_STATUS, status.code()))
    }

    pub fn referrals_of_person(&self, person: PersonId) -> Result<Vec<Referral>> {
        self.lookup(&hashed(ix::REFERRAL_PERSON, person.as_uuid().as_bytes()))
    }

    // ---- follow-ups ----

    pub fn save_follow_up(&self, follow_up: &FollowUp) -> Result<Saved> {
        self.put(follow_up)
    }

    pub fn follow_up(&self, id: FollowUpId) -> Result<Option<FollowUp>> {
        self.get(id.as_uuid())
    }

    pub fn follow_ups(&self) -> Result<Vec<FollowUp>> {
        self.list()
    }

    pub fn delete_follow_up(&self, id: FollowUpId) -> Result<Saved> {
        self.delete::<FollowUp>(id.as_uuid())?
            .ok_or_else(|| not_found("follow-up", id.as_uuid()))
    }

    /// Follow-ups due between `from` and `to` (inclusive), by due date, done or not.
    pub fn follow_ups_due_between(&self, from: NaiveDate, to: NaiveDate) -> Result<Vec<FollowUp>> {
        if from > to {
            return Ok(Vec::new());
        }
        self.range(ix::FOLLOW_UP_DUE, &date_bytes(from), &date_bytes(to))
    }

    /// Follow-ups not done yet and due on or before `day` (today's list, overdue first).
    pub fn pending_follow_ups_due_by(&self, day: NaiveDate) -> Result<Vec<FollowUp>> {
        let mut out = self.range::<FollowUp>(
            ix::FOLLOW_UP_DUE,
            &date_bytes(NaiveDate::MIN),
            &date_bytes(day),
        )?;
        out.retain(|f| !f.is_done());
        Ok(out)
    }

    /// Follow-ups not done yet, assigned to `user`, due on or before `day` (by due date).
    pub fn pending_follow_ups_for(&self, user: UserId, day: NaiveDate) -> Result<Vec<FollowUp>> {
        self.range_in_group(
            ix::FOLLOW_UP_PENDING_FOR,
            user.as_uuid().as_bytes(),
            &date_bytes(NaiveDate::MIN),
            &date_bytes(day),
        )
    }

    /// Referrals in `status` whose last step `user` took.
    pub fn referrals_in_status_by(
        &self,
        status: ReferralStatus,
        user: UserId,
    ) -> Result<Vec<Referral>> {
        self.lookup(&hashed(ix::REFERRAL_STATUS_BY, status_by(status, user)))
    }

    /// Brings the index entries of records written by an older release up to date (once per
    /// store; a no-op afterwards). Run after unlock.
    pub fn upgrade_indexes(&self) -> Result<usize> {
        let current = self.meta(META_INDEX_GENERATION)?;
        if current.as_deref().and_then(|v| v.first()).copied() >= Some(INDEX_GENERATION) {
            return Ok(0);
        }
        let changed = self.reindex::<FollowUp>()? + self.reindex::<Referral>()?;
        self.set_meta(META_INDEX_GENERATION, &[INDEX_GENERATION])?;
        Ok(changed)
    }

    pub fn follow_ups_of_person(&self, person: PersonId) -> Result<Vec<FollowUp>> {
        self.lookup(&hashed(ix::FOLLOW_UP_PERSON, person.as_uuid().as_bytes()))
    }

    // ---- case notes ----

    pub fn save_case_note(&self, note: &CaseNote) -> Result<Saved> {
        self.put(note)
    }

    pub fn case_note(&self, id: CaseNoteId) -> Result<Option<CaseNote>> {
        self.get(id.as_uuid())
    }

    pub fn delete_case_note(&self, id: CaseNoteId) -> Result<Saved> {
        self.delete::<CaseNote>(id.as_uuid())?
            .ok_or_else(|| not_found("case note", id.as_uuid()))
    }

    /// A person's notes, oldest first.
    pub fn case_notes_of_person(&self, person: PersonId) -> Result<Vec<CaseNote>> {
        let mut notes: Vec<CaseNote> =
            self.lookup(&hashed(ix::NOTE_PERSON, person.as_uuid().as_bytes()))?;
        notes.sort_by_key(|n| (n.at, n.id));
        Ok(notes)
    }

    // ---- service providers ----

    pub fn save_provider(&self, provider: &ServiceProvider) -> Result<Saved> {
        self.put(provider)
    }

    pub fn provider(&self, id: ProviderId) -> Result<Option<ServiceProvider>> {
        self.get(id.as_uuid())
    }

    pub fn providers(&self) -> Result<Vec<ServiceProvider>> {
        self.list()
    }

    pub fn delete_provider(&self, id: ProviderId) -> Result<Saved> {
        self.delete::<ServiceProvider>(id.as_uuid())?
            .ok_or_else(|| not_found("provider", id.as_uuid()))
    }

    // ---- users (the domain records; who can unlock is `add_user`/`remove_user`) ----

    pub fn save_user(&self, user: &User) -> Result<Saved> {
        self.put(user)
    }

    pub fn user_record(&self, id: UserId) -> Result<Option<User>> {
        self.get(id.as_uuid())
    }

    pub fn user_records(&self) -> Result<Vec<User>> {
        self.list()
    }

    // ---- audit ----

    /// Appends an audit entry (it syncs like any change).
    pub fn append_audit(&self, entry: &AuditEntry) -> Result<Saved> {
        self.put(entry)
    }

    pub fn audit_entry(&self, id: AuditId) -> Result<Option<AuditEntry>> {
        self.get(id.as_uuid())
    }

    /// The whole audit log, oldest first.
    pub fn audit_entries(&self) -> Result<Vec<AuditEntry>> {
        self.list()
    }

    /// The audit entries about one record, oldest first.
    pub fn audit_of(&self, entity_id: Uuid) -> Result<Vec<AuditEntry>> {
        let mut out: Vec<AuditEntry> =
            self.lookup(&hashed(ix::AUDIT_ENTITY, entity_id.as_bytes()))?;
        out.sort_by_key(|a| (a.at, a.id));
        Ok(out)
    }

    // ---- recent changes ----

    /// The `limit` most recently changed records, newest first, loaded.
    pub fn recent(&self, limit: usize) -> Result<Vec<Changed>> {
        let mut out = Vec::new();
        for RecentChange { entity, id, .. } in self.recent_changes(limit)? {
            let loaded = match entity {
                EntityKind::Person => self
                    .get::<Person>(id)?
                    .map(|r| Changed::Person(Box::new(r))),
                EntityKind::Referral => self
                    .get::<Referral>(id)?
                    .map(|r| Changed::Referral(Box::new(r))),
                EntityKind::FollowUp => self
                    .get::<FollowUp>(id)?
                    .map(|r| Changed::FollowUp(Box::new(r))),
                EntityKind::CaseNote => self
                    .get::<CaseNote>(id)?
                    .map(|r| Changed::CaseNote(Box::new(r))),
                EntityKind::Provider => self
                    .get::<ServiceProvider>(id)?
                    .map(|r| Changed::Provider(Box::new(r))),
                EntityKind::User => self.get::<User>(id)?.map(|r| Changed::User(Box::new(r))),
                EntityKind::Audit => self
                    .get::<AuditEntry>(id)?
                    .map(|r| Changed::Audit(Box::new(r))),
            };
            out.extend(loaded);
        }
        Ok(out)
    }
}
