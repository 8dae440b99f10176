//! The device's side of sync (`docs/sync.md`): the pull cursor (written into every new op as
//! its `base_seq`), applying what the server sends without ever overwriting a local edit that
//! is still in the outbox, acknowledging and quarantining pushed ops, the sync settings (the
//! device token sealed like a record), and the state hash of the device's scope.
//!
//! Remote changes are written without outbox ops (they came from the server) in one sled batch
//! per call, together with the cursor: a crash leaves either all of a page or none of it.

use std::collections::{HashMap, HashSet};

use reintegra_core::hlc::Hlc;
use reintegra_core::op::{Action, Change, EntityKind, Op};
use reintegra_core::sync_state::{self, Scope, StateHasher};
use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};
use uuid::Uuid;
use zeroize::Zeroizing;

use crate::domain::index_keys_of;
use crate::engine::Store;
use crate::error::{guarded, Error, Result};
use crate::held::Held;
use crate::index::{self, Entry};
use crate::layout::{
    be_u64, change_entry, change_key, now_ms, open_record, opid_key, outbox_key, parse_record_key,
    quarantine_key, record_key, record_prefix, seal_record, summary_key, META_HLC, META_LAST_SYNC,
    META_PULL, META_SEQ, META_SYNC, P_OUTBOX, P_QUARANTINE, P_RECORD,
};

/// Where and as whom this device syncs. The token is a secret: kept sealed.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct SyncSettings {
    pub endpoint: String,
    pub device_token: String,
    /// `SV-…` (a municipality) or `*`.
    pub office: String,
    pub server_id: Uuid,
}

/// An op the server refused, kept out of the outbox with the reason.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Quarantined {
    pub op: Op,
    pub code: String,
    pub reason: String,
}

/// A record as the server sends it for repair.
#[derive(Clone, Debug, PartialEq)]
pub struct RemoteRecord {
    pub entity: EntityKind,
    pub id: Uuid,
    pub record: Value,
}

/// Which fields of a record have local edits not yet acknowledged.
#[derive(Debug, Clone, PartialEq)]
enum Pending {
    /// A pending create or delete: the whole record is the device's.
    Whole,
    Fields(HashSet<String>),
}

impl Store {
    /// The server sequence this device has pulled up to.
    pub fn pull_cursor(&self) -> u64 {
        self.write_lock().pulled
    }

    pub fn sync_settings(&self) -> Result<Option<SyncSettings>> {
        let Some(sealed) = self.meta(META_SYNC)? else {
            return Ok(None);
        };
        let plain = self.keys.open(META_SYNC, &sealed)?;
        serde_json::from_slice(&plain)
            .map(Some)
            .map_err(|_| Error::Corrupt("the sync settings do not read back".into()))
    }

    /// Saves (or, with `None`, forgets) the sync settings.
    pub fn set_sync_settings(&self, settings: Option<&SyncSettings>) -> Result<()> {
        match settings {
            Some(s) => {
                let plain = Zeroizing::new(
                    serde_json::to_vec(s).map_err(|e| Error::Invalid(e.to_string()))?,
                );
                let sealed = self.keys.seal(META_SYNC, &plain)?;
                self.set_meta(META_SYNC, &sealed)
            }
            None => {
                self.db.remove(META_SYNC)?;
                self.db.flush()?;
                Ok(())
            }
        }
    }

    /// When the last sync finished well (milliseconds since the epoch), if ever.
    pub fn last_sync_ms(&self) -> Result<Option<u64>> {
        self.meta(META_LAST_SYNC)?.map(|b| be_u64(&b)).transpose()
    }

    pub fn set_last_sync_ms(&self, at_ms: u64) -> Result<()> {
        self.set_meta(META_LAST_SYNC, &at_ms.to_be_bytes())
    }

    /// Removes acknowledged ops (applied or duplicate on the server) from the outbox. Ops
    /// already gone are ignored (a retried acknowledgement). Returns how many were removed.
    pub fn ack(&self, op_ids: &[Uuid]) -> Result<usize> {
        guarded(|| {
            let _w = self.write_lock();
            let mut batch = sled::Batch::default();
            let mut n = 0;
            let unique: HashSet<&Uuid> = op_ids.iter().collect();
            for op_id in unique {
                if let Some(seq) = self.db.get(opid_key(*op_id))? {
                    batch.remove(&outbox_key(be_u64(&seq)?, *op_id));
                    batch.remove(&opid_key(*op_id));
                    n += 1;
                }
            }
            self.db.apply_batch(batch)?;
            self.db.flush()?;
            Ok(n)
        })
    }

    /// Moves a refused op out of the outbox into the quarantine, with why.
    pub fn quarantine(&self, op_id: Uuid, code: &str, reason: &str) -> Result<()> {
        guarded(|| {
            let _w = self.write_lock();
            let Some(seq) = self.db.get(opid_key(op_id))? else {
                return Ok(());
            };
            let okey = outbox_key(be_u64(&seq)?, op_id);
            let Some(sealed) = self.db.get(okey)? else {
                return Ok(());
            };
            let op: Op = serde_json::from_slice(&self.keys.open(&okey, &sealed)?)
                .map_err(|_| Error::Corrupt("an outbox entry does not read back".into()))?;
            let entry = Quarantined {
                op,
                code: code.to_string(),
                reason: reason.to_string(),
            };
            let qkey = quarantine_key(op_id);
            let plain = Zeroizing::new(
                serde_json::to_vec(&entry).map_err(|e| Error::Invalid(e.to_string()))?,
            );
            let mut batch = sled::Batch::default();
            batch.insert(&qkey, self.keys.seal(&qkey, &plain)?);
            batch.remove(&okey);
            batch.remove(&opid_key(op_id));
            self.db.apply_batch(batch)?;
            self.db.flush()?;
            Ok(())
        })
    }

    /// The quarantined ops, oldest first.
    pub fn quarantined(&self) -> Result<Vec<Quarantined>> {
        guarded(|| {
            let mut out = Vec::new();
            for item in self.db.scan_prefix([P_QUARANTINE]) {
                let (key, sealed) = item?;
                let entry: Quarantined = serde_json::from_slice(&self.keys.open(&key, &sealed)?)
                    .map_err(|_| Error::Corrupt("a quarantined op does not read back".into()))?;
                out.push(entry);
            }
            out.sort_by_key(|q| q.op.hlc);
            Ok(out)
        })
    }

    /// Applies a page of pulled changes (in server order) and moves the cursor to `next`, in
    /// one batch. Fields with a pending local edit keep the local value. Returns how many
    /// records changed.
    pub fn apply_pulled(&self, ops: Vec<Op>, next: u64) -> Result<usize> {
        let newest = ops.iter().map(|op| op.hlc).max();
        let changes = ops.into_iter().map(|op| op.change).collect();
        self.apply_remote(changes, newest, Some(next))
    }

    /// Applies the values the server kept for fields of a pushed op that lost a merge.
    pub fn apply_superseded(&self, op: &Op, fields: &Map<String, Value>) -> Result<usize> {
        if fields.is_empty() {
            return Ok(0);
        }
        let change = Change {
            entity: op.change.entity,
            id: op.change.id,
            action: Action::Update {
                fields: fields.clone(),
            },
        };
        self.apply_remote(vec![change], None, None)
    }

    /// Repair: makes the records of `bucket` in this device's scope equal to the server's
    /// (`remote`), except records and fields with pending local edits. Returns how many
    /// records changed.
    pub fn replace_bucket(
        &self,
        office: &str,
        bucket: u8,
        remote: &[RemoteRecord],
    ) -> Result<usize> {
        let remote_ids: HashSet<(EntityKind, Uuid)> =
            remote.iter().map(|r| (r.entity, r.id)).collect();
        let mut changes: Vec<Change> = remote
            .iter()
            .map(|r| Change {
                entity: r.entity,
                id: r.id,
                action: Action::Create {
                    record: r.record.clone(),
                },
            })
            .collect();
        for (entity, id, _) in self.scoped_records(office)? {
            if sync_state::bucket_of(id) == bucket && !remote_ids.contains(&(entity, id)) {
                changes.push(Change {
                    entity,
                    id,
                    action: Action::Delete,
                });
            }
        }
        self.apply_remote(changes, None, None)
    }

    /// The state hash of the records this device holds in `office`'s scope.
    pub fn state_hasher(&self, office: &str) -> Result<StateHasher> {
        let records = self.scoped_records(office)?;
        let hashes = parallel_map(&records, |(entity, id, value)| {
            Ok((*id, sync_state::record_hash(*entity, *id, value)))
        })?;
        let mut hasher = StateHasher::default();
        for (id, hash) in hashes {
            hasher.add(id, hash);
        }
        Ok(hasher)
    }

    /// Every record in `office`'s scope, as JSON (audit entries never: they only go up).
    pub(crate) fn scoped_records(&self, office: &str) -> Result<Vec<(EntityKind, Uuid, Value)>> {
        guarded(|| {
            let mut sealed = Vec::new();
            for item in self.db.scan_prefix([P_RECORD]) {
                let (key, value) = item?;
                if !key.starts_with(&record_prefix(EntityKind::Audit)) {
                    sealed.push((key, value));
                }
            }
            let mut all = parallel_map(&sealed, |(key, value)| self.read_record(key, value))?;
            // A held record counts as the server has it (`crate::held`).
            let held = self.held_map()?;
            if !held.is_empty() {
                let mut held = held;
                for (entity, id, value) in all.iter_mut() {
                    if let Some(v) = held.remove(&(*entity, *id)) {
                        *value = v;
                    }
                }
                all.extend(held.into_iter().map(|((entity, id), v)| (entity, id, v)));
            }
            let person_office: HashMap<Uuid, String> = all
                .iter()
                .filter_map(
                    |(entity, id, value)| match sync_state::scope_of(*entity, value) {
                        Scope::Office(o) if *entity == EntityKind::Person => Some((*id, o)),
                        _ => None,
                    },
                )
                .collect();
            all.retain(|(entity, _, value)| {
                let record_office = match sync_state::scope_of(*entity, value) {
                    Scope::Office(o) => Some(o),
                    Scope::OfPerson(p) => Some(person_office.get(&p).cloned().unwrap_or_default()),
                    Scope::Everyone => None,
                    Scope::ServerOnly => return false,
                };
                sync_state::office_sees(office, record_office.as_deref())
            });
            Ok(all)
        })
    }

    /// A record's kind, id and JSON from its key and sealed value.
    fn read_record(&self, key: &[u8], sealed: &[u8]) -> Result<(EntityKind, Uuid, Value)> {
        let (entity, id) = parse_record_key(key)?;
        let (_, json) = open_record(&self.keys, key, sealed)?;
        let value: Value = serde_json::from_slice(&json)
            .map_err(|_| Error::Corrupt("a stored record is not JSON".into()))?;
        Ok((entity, id, value))
    }

    /// Which records and fields have ops waiting in the outbox — or in the quarantine: a
    /// refused change stays on the device until a supervisor retries or discards it, so
    /// neither a pull nor a repair overwrites it meanwhile.
    fn pending(&self) -> Result<HashMap<(EntityKind, Uuid), Pending>> {
        let mut pending: HashMap<(EntityKind, Uuid), Pending> = HashMap::new();
        let outbox = self.db.scan_prefix([P_OUTBOX]).map(|item| {
            let (key, sealed) = item?;
            serde_json::from_slice::<Op>(&self.keys.open(&key, &sealed)?)
                .map_err(|_| Error::Corrupt("an outbox entry does not read back".into()))
        });
        let quarantine = self.db.scan_prefix([P_QUARANTINE]).map(|item| {
            let (key, sealed) = item?;
            serde_json::from_slice::<Quarantined>(&self.keys.open(&key, &sealed)?)
                .map(|q| q.op)
                .map_err(|_| Error::Corrupt("a quarantined op does not read back".into()))
        });
        for op in outbox.chain(quarantine) {
            let op = op?;
            let entry = pending
                .entry((op.change.entity, op.change.id))
                .or_insert_with(|| Pending::Fields(HashSet::new()));
            match (&op.change.action, entry) {
                (Action::Update { fields }, Pending::Fields(set)) => {
                    set.extend(fields.keys().cloned());
                }
                (Action::Update { .. }, Pending::Whole) => {}
                (Action::Create { .. } | Action::Delete, entry) => *entry = Pending::Whole,
            }
        }
        Ok(pending)
    }

    /// Writes remote changes (no outbox ops), keeping pending local edits, in one batch with
    /// the cursor; observes the newest remote HLC so later local edits order after it.
    pub(crate) fn apply_remote(
        &self,
        changes: Vec<Change>,
        observe: Option<Hlc>,
        cursor: Option<u64>,
    ) -> Result<usize> {
        guarded(|| {
            let mut w = self.write_lock();
            let pending = self.pending()?;
            // Records held because they do not read: a change applies to the held JSON.
            let mut held = self.held_map()?;
            let mut seq = w.seq;
            // 1. What each record becomes (in order: a page may touch a record twice).
            let mut planned: Vec<Planned> = Vec::with_capacity(changes.len());
            // Where in `planned` each record's latest write is.
            let mut written: HashMap<(EntityKind, Uuid), usize> = HashMap::new();
            for change in changes {
                let key = (change.entity, change.id);
                let rkey = record_key(change.entity, change.id);
                let was_held = held.remove(&key);
                let (old_seq, old) = match written.get(&key) {
                    Some(&at) => (planned[at].new_seq, planned[at].new.clone()),
                    None if was_held.is_some() => {
                        (self.read_raw(&rkey)?.map(|(s, _)| s), was_held.clone())
                    }
                    None => match self.read_raw(&rkey)? {
                        Some((s, bytes)) => (
                            Some(s),
                            Some(serde_json::from_slice::<Value>(&bytes).map_err(|_| {
                                Error::Corrupt("a stored record is not JSON".into())
                            })?),
                        ),
                        None => (None, None),
                    },
                };
                let Some(change) = keep_local_edits(change, pending.get(&key), old.as_ref()) else {
                    continue;
                };
                let new = match (change.action, &old) {
                    // The common case of a download: a new record, taken as it came.
                    (Action::Create { record }, None) => Some(record),
                    // Fields of a record this device never had (a case re-routed to its
                    // office): not a record yet; the state-hash check brings it whole.
                    (Action::Update { .. }, None) => continue,
                    (action, _) => Change { action, ..change }.apply(old.clone()),
                };
                let was_held = was_held.is_some()
                    || written.get(&key).is_some_and(|&at| planned[at].held_before);
                // A held record is written again even unchanged: it may read now.
                if new == old && !was_held {
                    continue;
                }
                let new_seq = new.as_ref().map(|_| {
                    seq += 1;
                    seq
                });
                written.insert(key, planned.len());
                planned.push(Planned {
                    entity: change.entity,
                    id: change.id,
                    rkey,
                    old_seq,
                    new_seq,
                    new,
                    held_before: was_held,
                });
            }
            // 2. Index entries and sealed records, on every core (the costly part).
            let sealed = self.seal_all(&planned)?;
            // 3. One batch with the cursor.
            let mut batch = sled::Batch::default();
            let mut index_updates = Vec::with_capacity(planned.len());
            // Records held by a write of this batch (a later one of the page may read).
            let mut held_now = HashSet::new();
            for (plan, sealed) in planned.iter().zip(sealed) {
                // It does not read: held aside, the local copy left as it was.
                if let Some(Seal::Held(why)) = sealed {
                    let (key, entry) = self.seal_held(&Held {
                        entity: plan.entity,
                        id: plan.id,
                        record: plan.new.clone().unwrap_or_default(),
                        reason: why,
                    })?;
                    batch.insert(&key, entry);
                    held_now.insert((plan.entity, plan.id));
                    continue;
                }
                let skey = summary_key(plan.entity, plan.id);
                let old_index = self.read_summary(&skey)?;
                if let Some(s) = plan.old_seq {
                    batch.remove(&change_key(s));
                }
                let hkey = crate::held::held_key(plan.entity, plan.id);
                match (sealed, plan.new_seq) {
                    (Some(Seal::Record(record, new_index)), Some(new_seq)) => {
                        if plan.held_before || held_now.remove(&(plan.entity, plan.id)) {
                            batch.remove(&hkey);
                        }
                        batch.insert(plan.rkey.as_slice(), record);
                        batch.insert(skey.as_slice(), index::encode(&new_index));
                        let log = change_entry(plan.entity, plan.id);
                        batch.insert(&change_key(new_seq), log.as_slice());
                        index_updates.push((plan.id, old_index, new_index));
                    }
                    _ => {
                        batch.remove(&hkey);
                        batch.remove(plan.rkey.as_slice());
                        batch.remove(skey.as_slice());
                        index_updates.push((plan.id, old_index, Vec::new()));
                    }
                }
            }
            if let Some(remote) = observe {
                if !Hlc::is_too_far_ahead(&remote, now_ms()) {
                    let hlc = w.hlc.observe(&remote, now_ms());
                    batch.insert(META_HLC, &hlc.to_bytes());
                }
            }
            if let Some(next) = cursor {
                batch.insert(META_PULL, &next.to_be_bytes());
            }
            batch.insert(META_SEQ, &seq.to_be_bytes());
            self.db.apply_batch(batch)?;
            self.db.flush()?;
            w.seq = seq;
            if let Some(next) = cursor {
                w.pulled = next;
            }
            let mut ix = self.index_write();
            for (id, old, new) in &index_updates {
                ix.remove(*id, old);
                ix.add(*id, new);
            }
            Ok(index_updates.len())
        })
    }

    /// The sealed record and index entries of each planned write (None for a delete).
    fn seal_all(&self, planned: &[Planned]) -> Result<Vec<Option<Seal>>> {
        parallel_map(planned, |plan| self.seal_one(plan))
    }

    fn seal_one(&self, plan: &Planned) -> Result<Option<Seal>> {
        let (Some(value), Some(seq)) = (&plan.new, plan.new_seq) else {
            return Ok(None);
        };
        // Only decoding can fail here: a record this build cannot read is held, not fatal.
        let keys = match index_keys_of(plan.entity, value) {
            Ok(keys) => keys,
            Err(e) => return Ok(Some(Seal::Held(e.to_string()))),
        };
        let entries = index::entries(&self.keys, &keys);
        let json =
            Zeroizing::new(serde_json::to_vec(value).map_err(|e| Error::Invalid(e.to_string()))?);
        Ok(Some(Seal::Record(
            seal_record(&self.keys, &plan.rkey, seq, &json)?,
            entries,
        )))
    }
}

/// One remote write, decided: the record's key, its old change-log position, what it becomes.
struct Planned {
    entity: EntityKind,
    id: Uuid,
    rkey: Vec<u8>,
    old_seq: Option<u64>,
    /// The record's new change-log position (None: deleted).
    new_seq: Option<u64>,
    new: Option<Value>,
    /// The record was held before this write (`crate::held`).
    held_before: bool,
}

/// A record ready to write: sealed bytes and its index entries; or, when it does not read as
/// its kind, why (it is held: `crate::held`).
enum Seal {
    Record(Vec<u8>, Vec<Entry>),
    Held(String),
}

/// Below this many items, one thread is faster than starting others.
const PARALLEL_MIN: usize = 128;

/// `f` over `items` on every core (up to 4), results in order; the first error wins.
fn parallel_map<T: Sync, R: Send>(
    items: &[T],
    f: impl Fn(&T) -> Result<R> + Sync,
) -> Result<Vec<R>> {
    let threads = std::thread::available_parallelism().map_or(1, |n| n.get().min(4));
    if threads < 2 || items.len() < PARALLEL_MIN {
        return items.iter().map(&f).collect();
    }
    let per_thread = items.len().div_ceil(threads);
    let f = &f;
    std::thread::scope(|scope| {
        let parts: Vec<_> = items
            .chunks(per_thread)
            .map(|part| scope.spawn(move || part.iter().map(f).collect::<Result<Vec<R>>>()))
            .collect();
        let mut out = Vec::with_capacity(items.len());
        for part in parts {
            out.extend(
                part.join()
                    .map_err(|_| Error::Corrupt("a worker thread failed".into()))??,
            );
        }
        Ok(out)
    })
}

/// The part of a remote change that does not touch local edits still in the outbox.
fn keep_local_edits(
    change: Change,
    pending: Option<&Pending>,
    local: Option<&Value>,
) -> Option<Change> {
    let fields = match pending {
        None => return Some(change),
        Some(Pending::Whole) => return None,
        Some(Pending::Fields(fields)) => fields,
    };
    let action = match change.action {
        Action::Delete => return None,
        Action::Update { fields: mut remote } => {
            remote.retain(|f, _| !fields.contains(f));
            if remote.is_empty() {
                return None;
            }
            Action::Update { fields: remote }
        }
        Action::Create { record } => {
            let mut record = record.as_object().cloned().unwrap_or_default();
            for f in fields {
                match local.and_then(|l| l.get(f)) {
                    Some(v) => record.insert(f.clone(), v.clone()),
                    None => record.remove(f),
                };
            }
            Action::Create {
                record: Value::Object(record),
            }
        }
    };
    Some(Change { action, ..change })
}

impl Store {
    /// Scope over time (`docs/sync.md`, "Scope"): removes, without outbox ops, the records this
    /// device's `office` no longer serves — persons routed to another office (and everything
    /// attached to them), and referrals, follow-ups and notes of persons this device does not
    /// hold — except a case with anything still in the outbox, which stays until that has
    /// synced (nothing unsynced is lost). A person of no known office (`""`) stays: it is this
    /// device's to correct. A device of every office keeps everything. Returns how many records
    /// went.
    pub fn drop_out_of_scope(&self, office: &str) -> Result<usize> {
        if office == sync_state::ALL_OFFICES {
            return Ok(0);
        }
        let gone = guarded(|| {
            let mut sealed = Vec::new();
            for item in self.db.scan_prefix([P_RECORD]) {
                let (key, value) = item?;
                if !key.starts_with(&record_prefix(EntityKind::Audit)) {
                    sealed.push((key, value));
                }
            }
            let all = parallel_map(&sealed, |(key, value)| self.read_record(key, value))?;
            let pending = self.pending()?;
            // Each record's case (its person) and the case's office as this device has it.
            let case_of = |entity: EntityKind, id: Uuid, value: &Value| match sync_state::scope_of(
                entity, value,
            ) {
                Scope::Office(o) if entity == EntityKind::Person => Some((id, Some(o))),
                Scope::Office(_) => Some((id, Some(String::new()))),
                Scope::OfPerson(p) => Some((p, None)),
                Scope::Everyone | Scope::ServerOnly => None,
            };
            let person_office: HashMap<Uuid, String> = all
                .iter()
                .filter_map(|(entity, id, value)| match case_of(*entity, *id, value) {
                    Some((person, Some(o))) if *entity == EntityKind::Person => Some((person, o)),
                    _ => None,
                })
                .collect();
            let busy: HashSet<Uuid> = all
                .iter()
                .filter(|(entity, id, _)| pending.contains_key(&(*entity, *id)))
                .filter_map(|(entity, id, value)| case_of(*entity, *id, value).map(|(p, _)| p))
                .collect();
            let mut gone = Vec::new();
            for (entity, id, value) in &all {
                let Some((person, own)) = case_of(*entity, *id, value) else {
                    continue;
                };
                if busy.contains(&person) {
                    continue;
                }
                let leaves = match own.or_else(|| person_office.get(&person).cloned()) {
                    Some(o) if o.is_empty() => false,
                    Some(o) => !sync_state::office_sees(office, Some(&o)),
                    // A child of a person this device does not hold.
                    None => true,
                };
                if leaves {
                    gone.push(Change {
                        entity: *entity,
                        id: *id,
                        action: Action::Delete,
                    });
                }
            }
            Ok(gone)
        })?;
        if gone.is_empty() {
            return Ok(0);
        }
        self.apply_remote(gone, None, None)
    }
}
