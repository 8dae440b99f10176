//! The write path: a pushed batch applied op by op ([`apply_one`]), each applied op recorded
//! with its record's new state ([`write_applied`]), the office a record belongs to
//! ([`office_of`]; a re-routed case takes its referrals, follow-ups, notes and conflicts along),
//! and the conflict queue with its resolution (a new op that wins). Who may make each change is
//! [`super::authorize`].

use chrono::{DateTime, Utc};
use reintegra_core::hlc::{node_of, Hlc};
use reintegra_core::ids::UserId;
use reintegra_core::merge::{self, FieldConflict, RecordState};
use reintegra_core::op::{Action, Change, EntityKind, Op};
use reintegra_core::permission::Permission;
use reintegra_core::sync_state::{self, Scope};
use reintegra_proto::{Conflict, OpResult, Outcome};
use serde_json::{Map, Value};
use sqlx::{Row, Sqlite, Transaction};
use uuid::Uuid;

use super::authorize::{acting_user, authorize, case_office, role_may_not, Subject};
use super::security::{NewEvent, SecurityKind};
use super::visibility::{may_write, SERVER_ONLY, VISIBLE};
use super::{current_seq, from_json, to_json, Db, DeviceRow};
use crate::error::{Rejected, ServerError};
use crate::validate;

const OUTSIDE_THE_OFFICE: &str =
    "ese registro pertenece a una oficina fuera del alcance de este dispositivo";

impl Db {
    /// Applies a batch of ops from `device`, each at most once, in one transaction. Ops on
    /// records outside the device's office refuse the whole batch (nothing applied); an op its
    /// author may not make is refused alone (`rejected`, code `forbidden`).
    /// Every op refused for who sent it or what it holds goes to the security log.
    pub async fn push(
        &self,
        device: &DeviceRow,
        ops: &[Op],
    ) -> Result<(Vec<OpResult>, u64), ServerError> {
        let pushed = self.apply_batch(device, ops).await;
        self.log_security(&refusals(device, ops, &pushed)).await;
        pushed
    }

    async fn apply_batch(
        &self,
        device: &DeviceRow,
        ops: &[Op],
    ) -> Result<(Vec<OpResult>, u64), ServerError> {
        let _w = self.write.lock().await;
        let mut tx = self.pool.begin().await?;
        let mut seq = current_seq(&mut tx).await?;
        let mut results = Vec::with_capacity(ops.len());
        let mut outside = Vec::new();
        for op in ops {
            // An op is the device's own, and so is the node its timestamp wins ties with.
            if op.device != device.id || op.hlc.node != node_of(device.id) {
                return Err(ServerError::OtherDevicesOp(op.op_id));
            }
            match apply_one(&mut tx, device, op, &mut seq).await? {
                Some(outcome) => results.push(OpResult {
                    op_id: op.op_id,
                    outcome,
                }),
                None => outside.push(op.op_id),
            }
        }
        if !outside.is_empty() {
            return Err(ServerError::OutOfScope(outside));
        }
        tx.commit().await?;
        Ok((results, seq))
    }

    /// Whether `user` may read the conflict queue from `device`: an active user of its office
    /// who may resolve conflicts (a supervisor). The queue holds the values of both sides, so
    /// a device alone is not enough. A refusal is logged.
    pub async fn may_list_conflicts(
        &self,
        device: &DeviceRow,
        user: UserId,
    ) -> Result<(), ServerError> {
        let mut tx = self.pool.begin().await?;
        let why = match acting_user(&mut tx, device, user).await? {
            Ok(u) if u.may(Permission::ResolveConflicts) => return Ok(()),
            Ok(u) => role_may_not(u.role, Permission::ResolveConflicts),
            Err(why) => why,
        };
        drop(tx);
        self.log_security(&[NewEvent::new(
            SecurityKind::OpRefused,
            format!("lista de conflictos: {why}"),
        )
        .device(device.id)
        .office(&device.office)
        .user(user)])
            .await;
        Err(ServerError::Forbidden(why))
    }

    /// A page of an office's conflict queue: up to `limit` conflicts with an id after
    /// `after`, oldest first (ids are UUIDv7), unresolved only unless `all`; and whether
    /// there are more. A page also stops before its JSON passes `max_bytes` (one conflict at
    /// least).
    pub async fn conflicts(
        &self,
        office: &str,
        after: Option<Uuid>,
        limit: usize,
        all: bool,
        max_bytes: usize,
    ) -> Result<(Vec<Conflict>, bool), ServerError> {
        let sql = format!(
            "SELECT body, resolution FROM conflicts WHERE {VISIBLE} AND id > ?2
             AND (?3 OR resolution IS NULL) ORDER BY id LIMIT ?4"
        );
        let rows = sqlx::query(&sql)
            .bind(office)
            .bind(after.unwrap_or(Uuid::nil()).as_bytes().to_vec())
            .bind(all)
            .bind(limit as i64 + 1)
            .fetch_all(&self.pool)
            .await?;
        let mut more = rows.len() > limit;
        let mut out = Vec::with_capacity(rows.len().min(limit));
        let mut bytes = 0;
        for row in rows.into_iter().take(limit) {
            let mut conflict: Conflict = from_json(row.get::<&str, _>(0))?;
            conflict.resolution = row
                .get::<Option<&str>, _>(1)
                .map(from_json::<Value>)
                .transpose()?;
            bytes += to_json(&conflict).len() + 1;
            if bytes > max_bytes && !out.is_empty() {
                more = true;
                break;
            }
            out.push(conflict);
        }
        Ok((out, more))
    }

    /// Resolves a conflict with `value` (the winner or the loser): applied as a new op that
    /// wins (newest HLC, current base), so every device gets it by pulling. `author` must be an
    /// active supervisor who may act from this device and works the record's current office
    /// (or is central), and the device must be able to write the record where it is now.
    /// A resolution, and a refused one, go to the security log.
    pub async fn resolve(
        &self,
        device: &DeviceRow,
        conflict_id: Uuid,
        value: Value,
        author: UserId,
    ) -> Result<u64, ServerError> {
        let resolved = self.resolve_now(device, conflict_id, value, author).await;
        let event = |kind, detail: String| {
            NewEvent::new(kind, detail)
                .device(device.id)
                .office(&device.office)
                .user(author.as_uuid())
        };
        let events = match &resolved {
            Ok(seq) => vec![event(
                SecurityKind::ResolveConflict,
                format!("conflicto {conflict_id} resuelto (secuencia {seq})"),
            )],
            Err(e @ ServerError::Forbidden(_)) => vec![event(
                SecurityKind::OpRefused,
                format!("resolución del conflicto {conflict_id}: {} ({e})", e.code()),
            )],
            Err(_) => Vec::new(),
        };
        self.log_security(&events).await;
        resolved
    }

    async fn resolve_now(
        &self,
        device: &DeviceRow,
        conflict_id: Uuid,
        value: Value,
        author: UserId,
    ) -> Result<u64, ServerError> {
        let _w = self.write.lock().await;
        let mut tx = self.pool.begin().await?;
        let sql = format!("SELECT body, resolution FROM conflicts WHERE id = ?2 AND {VISIBLE}");
        let row = sqlx::query(&sql)
            .bind(&device.office)
            .bind(conflict_id.as_bytes().to_vec())
            .fetch_optional(&mut *tx)
            .await?
            .ok_or(ServerError::UnknownConflict)?;
        if row.get::<Option<&str>, _>(1).is_some() {
            return Err(ServerError::AlreadyResolved);
        }
        let conflict: Conflict = from_json(row.get::<&str, _>(0))?;
        let Some(stored) = load_record(&mut tx, conflict.entity, conflict.record_id).await? else {
            return Err(ServerError::UnknownConflict);
        };
        // Where the record is now, not where it was when the conflict was made.
        if !may_write(&device.office, stored.office.as_deref()) {
            return Err(ServerError::Forbidden(OUTSIDE_THE_OFFICE.into()));
        }
        if value != conflict.winner && value != conflict.loser {
            return Err(ServerError::BadResolution);
        }
        let resolver = acting_user(&mut tx, device, author)
            .await?
            .map_err(ServerError::Forbidden)?;
        if !resolver.may(Permission::ResolveConflicts) {
            return Err(ServerError::Forbidden(role_may_not(
                resolver.role,
                Permission::ResolveConflicts,
            )));
        }
        if !resolver.works_office(case_office(stored.office.as_deref())) {
            return Err(ServerError::Forbidden(
                "quien resuelve debe supervisar la oficina del registro (o ser del nivel central)"
                    .into(),
            ));
        }
        let mut state = stored.state;
        let Some(mut clock) = state.fields.values().map(|w| w.hlc).max() else {
            return Err(ServerError::UnknownConflict);
        };
        let seq = current_seq(&mut tx).await? + 1;
        let mut fields = serde_json::Map::new();
        fields.insert(conflict.field.clone(), value.clone());
        let op = Op {
            op_id: Uuid::now_v7(),
            author,
            device: device.id,
            hlc: clock.tick(now_ms()),
            base_seq: seq - 1,
            change: Change {
                entity: conflict.entity,
                id: conflict.record_id,
                action: Action::Update { fields },
            },
        };
        // The resolution is a change like any other: the same scope and permission checks.
        let before = state.value.clone();
        let after = intended(before.as_ref(), &op.change.action);
        let office_after = office_after(&mut tx, &op, after.as_ref(), &stored.office).await?;
        if moves_with_person(op.change.entity)
            && !may_write(&device.office, office_after.as_deref())
        {
            return Err(ServerError::Forbidden(OUTSIDE_THE_OFFICE.into()));
        }
        let subject = Subject {
            op: &op,
            before: before.as_ref(),
            after: after.as_ref(),
            office_before: stored.office.as_deref(),
            office_after: office_after.as_deref(),
        };
        authorize(&mut tx, device, &subject)
            .await?
            .map_err(ServerError::Forbidden)?;
        validate::op(&op).map_err(|why| ServerError::Invalid(why.0))?;
        let merged = merge::apply(&mut state, &op, seq);
        if let Some(code) = merged.refused {
            return Err(ServerError::Invalid(format!(
                "la resolución no se puede aplicar ({code})"
            )));
        }
        validate::record(op.change.entity, op.change.id, state.value.as_ref())
            .map_err(|why| ServerError::Invalid(why.0))?;
        let office = office_of(&mut tx, op.change.entity, &state).await?;
        // Not an echo: the resolving device gets the value by pulling, like every other.
        write_applied(
            &mut tx,
            seq,
            &op,
            merged.effect,
            false,
            &state,
            office.as_deref(),
        )
        .await?;
        if stored.office != office {
            let left = stored.office.as_deref();
            move_office(
                &mut tx,
                op.change.entity,
                op.change.id,
                office.as_deref(),
                left,
                seq,
            )
            .await?;
        }
        sqlx::query("UPDATE conflicts SET resolution = ?, resolved_at = ? WHERE id = ?")
            .bind(to_json(&value))
            .bind(Utc::now().to_rfc3339())
            .bind(conflict_id.as_bytes().to_vec())
            .execute(&mut *tx)
            .await?;
        tx.commit().await?;
        Ok(seq)
    }
}

/// The security events of a push: each op refused by authorization or for its size, each op
/// outside the device's office, and another device's op (the last two refuse the batch).
fn refusals(
    device: &DeviceRow,
    ops: &[Op],
    pushed: &Result<(Vec<OpResult>, u64), ServerError>,
) -> Vec<NewEvent> {
    let event = |op: &Op, detail: String| {
        NewEvent::new(SecurityKind::OpRefused, detail)
            .device(device.id)
            .office(&device.office)
            .user(op.author.as_uuid())
    };
    let about = |op: &Op| {
        format!(
            "operación {} ({} {})",
            op.op_id,
            kind_name(op.change.entity),
            op.change.id
        )
    };
    match pushed {
        Ok((results, _)) => results
            .iter()
            .zip(ops)
            .filter_map(|(r, op)| match &r.outcome {
                Outcome::Rejected { code, reason }
                    if code == "forbidden" || code == "list_too_long" || code == "invalid" =>
                {
                    Some(event(op, format!("{}: {code}: {reason}", about(op))))
                }
                _ => None,
            })
            .collect(),
        Err(ServerError::OutOfScope(ids)) => ops
            .iter()
            .filter(|op| ids.contains(&op.op_id))
            .map(|op| {
                event(
                    op,
                    format!("{}: out_of_scope: {OUTSIDE_THE_OFFICE}", about(op)),
                )
            })
            .collect(),
        Err(e @ ServerError::OtherDevicesOp(id)) => ops
            .iter()
            .filter(|op| op.op_id == *id)
            .map(|op| event(op, format!("{}: {}: {e}", about(op), e.code())))
            .collect(),
        Err(_) => Vec::new(),
    }
}

/// A record kind as the wire names it (`person`, `referral`, …).
fn kind_name(kind: EntityKind) -> String {
    serde_json::to_value(kind)
        .ok()
        .and_then(|v| v.as_str().map(str::to_string))
        .unwrap_or_default()
}

/// How long after a case leaves an office that office's changes made before they heard of it
/// are still taken (a laptop can be offline for weeks).
const LEFT_GRACE_DAYS: i64 = 30;

pub(super) struct StoredRecord {
    pub state: RecordState,
    pub office: Option<String>,
    /// The office the record last left and the sequence of the op that moved it, while that
    /// office's changes made before hearing of the move are still taken ([`LEFT_GRACE_DAYS`]).
    pub left: Option<(String, u64)>,
}

/// Applies one pushed op (numbering it `seq + 1` if it changes anything). `None`: the op is
/// on a record outside the device's office (before or after it).
async fn apply_one(
    tx: &mut Transaction<'_, Sqlite>,
    device: &DeviceRow,
    op: &Op,
    seq: &mut u64,
) -> Result<Option<Outcome>, ServerError> {
    if is_applied(tx, op.op_id).await? {
        return Ok(Some(Outcome::Duplicate));
    }
    if Hlc::is_too_far_ahead(&op.hlc, now_ms()) {
        return Ok(Some(Rejected::ClockAhead.into()));
    }
    let kind = op.change.entity;
    let stored = load_record(tx, kind, op.change.id).await?;
    // The case left this device's office after the device last pulled (the op's base is older
    // than the move): the device could not know, and its change is still its office's to send
    // — accepted as made there, once; the case stays where it went.
    let left_from = stored
        .as_ref()
        .and_then(|s| s.left.as_ref())
        .filter(|(from, at)| *from == device.office && op.base_seq < *at)
        .map(|(from, _)| from.clone());
    let office_before = stored.as_ref().map(|s| s.office.clone());
    if let Some(Some(office)) = &office_before {
        if !may_write(&device.office, Some(office)) && left_from.is_none() {
            return Ok(None);
        }
    }
    let mut state = stored.map(|s| s.state).unwrap_or_default();
    let before = state.value.clone();
    let merged = merge::apply(&mut state, op, *seq + 1);
    if let Some(code) = merged.refused {
        return Ok(Some(Rejected::Merge(code).into()));
    }
    let office = office_of(tx, kind, &state).await?;
    if office_before.is_none() && !may_write(&device.office, office.as_deref()) {
        return Ok(None);
    }
    let existed = office_before.is_some();
    let office_before = office_before.flatten();
    let after = intended(before.as_ref(), &op.change.action);
    let office_after = office_after(tx, op, after.as_ref(), &office).await?;
    // A change the device made before it heard the case left is judged as made in its office,
    // as long as it leaves the record where it went.
    let stays = office_after == office_before;
    let (judged_before, judged_after) = match &left_from {
        Some(from) if stays => (Some(from.as_str()), Some(from.as_str())),
        Some(from) => (Some(from.as_str()), office_after.as_deref()),
        None => (office_before.as_deref(), office_after.as_deref()),
    };
    // A referral, follow-up or note goes only to a person of an office the device may write:
    // `person` may change (a merge of duplicates moves them), but not out of the office.
    if moves_with_person(kind) && !may_write(&device.office, judged_after) {
        return Ok(None);
    }
    let subject = Subject {
        op,
        before: before.as_ref(),
        after: after.as_ref(),
        office_before: judged_before,
        office_after: judged_after,
    };
    if let Err(reason) = authorize(tx, device, &subject).await? {
        return Ok(Some(Rejected::Forbidden(reason).into()));
    }
    // What it sent, the record as it asks to leave it and as the merge leaves it must read
    // back as its kind on every device (after the scope and the author: those refusals say
    // more).
    if let Err(why) = validate::op(op)
        .and_then(|()| validate::record(kind, op.change.id, after.as_ref()))
        .and_then(|_| validate::record(kind, op.change.id, state.value.as_ref()))
    {
        return Ok(Some(Rejected::Invalid(why.0).into()));
    }
    *seq += 1;
    let echo = holds_already(&op.change, merged.effect.as_ref());
    write_applied(tx, *seq, op, merged.effect, echo, &state, office.as_deref()).await?;
    // A new person takes along what was pushed for it before it arrived.
    if office_before != office && (existed || kind == EntityKind::Person) {
        let left = office_before.as_deref().filter(|_| existed);
        move_office(tx, kind, op.change.id, office.as_deref(), left, *seq).await?;
    }
    for conflict in merged.conflicts {
        save_conflict(tx, op, &conflict, office.as_deref()).await?;
    }
    Ok(Some(Outcome::Applied {
        superseded: merged.superseded,
    }))
}

/// Whether the device that sent `sent` already holds `effect`, what the merge made of it: every
/// field the effect sets has the value the device sent (an absent field and a `null` one are the
/// same, as in the state hash). Then a pull leaves the op out for that device. Not when the
/// merge changed a value (a union of lists): the device needs the merged one. A field of the
/// op that lost is not in the effect, and the push answer carried the value that won.
fn holds_already(sent: &Change, effect: Option<&Change>) -> bool {
    let Some(effect) = effect else {
        return false;
    };
    let sent_value = |field: &str| {
        let value = match &sent.action {
            Action::Create { record } => record.get(field),
            Action::Update { fields } => fields.get(field),
            Action::Delete => None,
        };
        value.unwrap_or(&Value::Null)
    };
    match &effect.action {
        Action::Delete => matches!(sent.action, Action::Delete),
        Action::Create { record } => record
            .as_object()
            .is_some_and(|fields| fields.iter().all(|(f, v)| sent_value(f) == v)),
        Action::Update { fields } => fields.iter().all(|(f, v)| sent_value(f) == v),
    }
}

/// Referrals, follow-ups and notes: their office is their person's.
fn moves_with_person(kind: EntityKind) -> bool {
    matches!(
        kind,
        EntityKind::Referral | EntityKind::FollowUp | EntityKind::CaseNote
    )
}

/// The record as `action` asks to leave `before`, as the merge reads it (a create of a record
/// that exists sets every field it carries; `null` removes a field). `None`: deleted.
fn intended(before: Option<&Map<String, Value>>, action: &Action) -> Option<Map<String, Value>> {
    let incoming = match action {
        Action::Delete => return None,
        Action::Create { record } => record.as_object().cloned().unwrap_or_default(),
        Action::Update { fields } => fields.clone(),
    };
    let mut record = before.cloned().unwrap_or_default();
    for (field, value) in incoming {
        if value.is_null() {
            record.remove(&field);
        } else {
            record.insert(field, value);
        }
    }
    Some(record)
}

/// The office of the record as the op asks to leave it (`office`: where it is, for a delete).
async fn office_after(
    tx: &mut Transaction<'_, Sqlite>,
    op: &Op,
    after: Option<&Map<String, Value>>,
    office: &Option<String>,
) -> Result<Option<String>, ServerError> {
    match after {
        Some(record) => office_of_value(tx, op.change.entity, Some(record)).await,
        None => Ok(office.clone()),
    }
}

/// A record moved to `office`: its conflicts and its past ops go with it, and a re-routed
/// case takes its referrals, follow-ups and notes along (with their conflicts and ops). A
/// device of the old office pulls nothing more of it, old or new; one of the new office pulls
/// what it has not seen yet (and gets the rest whole by repair).
async fn move_office(
    tx: &mut Transaction<'_, Sqlite>,
    kind: EntityKind,
    id: Uuid,
    office: Option<&str>,
    left: Option<&str>,
    seq: u64,
) -> Result<(), ServerError> {
    sqlx::query("UPDATE ops SET office = ?1 WHERE record = ?2")
        .bind(office)
        .bind(id.as_bytes().to_vec())
        .execute(&mut **tx)
        .await?;
    // Remembered so that a change its old office made before hearing of the move still goes.
    if let Some(left) = left {
        sqlx::query(
            "UPDATE records SET left_office = ?1, left_at = ?2, left_until = ?8
             WHERE (kind = ?3 AND id = ?4) OR (person = ?4 AND kind IN (?5, ?6, ?7))",
        )
        .bind(left)
        .bind(seq as i64)
        .bind(i64::from(kind.code()))
        .bind(id.as_bytes().to_vec())
        .bind(i64::from(EntityKind::Referral.code()))
        .bind(i64::from(EntityKind::FollowUp.code()))
        .bind(i64::from(EntityKind::CaseNote.code()))
        .bind((Utc::now() + chrono::Duration::days(LEFT_GRACE_DAYS)).to_rfc3339())
        .execute(&mut **tx)
        .await?;
    }
    sqlx::query("UPDATE conflicts SET office = ? WHERE kind = ? AND record_id = ?")
        .bind(office)
        .bind(i64::from(kind.code()))
        .bind(id.as_bytes().to_vec())
        .execute(&mut **tx)
        .await?;
    if kind == EntityKind::Person {
        let children = [
            EntityKind::Referral,
            EntityKind::FollowUp,
            EntityKind::CaseNote,
        ]
        .map(|k| i64::from(k.code()));
        sqlx::query(
            "UPDATE conflicts SET office = ?1 WHERE (kind, record_id) IN
               (SELECT kind, id FROM records WHERE person = ?2 AND kind IN (?3, ?4, ?5))",
        )
        .bind(office)
        .bind(id.as_bytes().to_vec())
        .bind(children[0])
        .bind(children[1])
        .bind(children[2])
        .execute(&mut **tx)
        .await?;
        sqlx::query(
            "UPDATE ops SET office = ?1 WHERE record IN
               (SELECT id FROM records WHERE person = ?2 AND kind IN (?3, ?4, ?5))",
        )
        .bind(office)
        .bind(id.as_bytes().to_vec())
        .bind(children[0])
        .bind(children[1])
        .bind(children[2])
        .execute(&mut **tx)
        .await?;
        sqlx::query("UPDATE records SET office = ?1 WHERE person = ?2 AND kind IN (?3, ?4, ?5)")
            .bind(office)
            .bind(id.as_bytes().to_vec())
            .bind(children[0])
            .bind(children[1])
            .bind(children[2])
            .execute(&mut **tx)
            .await?;
    }
    Ok(())
}

/// Records an applied op (numbered `seq`, with its effective change) and the record's new
/// state. `echo`: the effect is exactly what its device sent (a pull leaves it out for it).
async fn write_applied(
    tx: &mut Transaction<'_, Sqlite>,
    seq: u64,
    op: &Op,
    effect: Option<Change>,
    echo: bool,
    state: &RecordState,
    office: Option<&str>,
) -> Result<(), ServerError> {
    let effect = effect.map(|change| Op {
        base_seq: 0,
        change,
        ..op.clone()
    });
    sqlx::query(
        "INSERT INTO ops (seq, op_id, device, office, echo, effect, record)
         VALUES (?, ?, ?, ?, ?, ?, ?)",
    )
    .bind(seq as i64)
    .bind(op.op_id.as_bytes().to_vec())
    .bind(op.device.to_string())
    .bind(office)
    .bind(echo)
    .bind(effect.as_ref().map(to_json))
    .bind(op.change.id.as_bytes().to_vec())
    .execute(&mut **tx)
    .await?;
    save_record(tx, op.change.entity, op.change.id, state, office).await
}

async fn is_applied(tx: &mut Transaction<'_, Sqlite>, op_id: Uuid) -> Result<bool, ServerError> {
    Ok(sqlx::query("SELECT 1 FROM ops WHERE op_id = ?")
        .bind(op_id.as_bytes().to_vec())
        .fetch_optional(&mut **tx)
        .await?
        .is_some())
}

pub(super) async fn load_record(
    tx: &mut Transaction<'_, Sqlite>,
    kind: EntityKind,
    id: Uuid,
) -> Result<Option<StoredRecord>, ServerError> {
    let row = sqlx::query(
        "SELECT state, office, left_office, left_at, left_until FROM records
         WHERE kind = ? AND id = ?",
    )
    .bind(i64::from(kind.code()))
    .bind(id.as_bytes().to_vec())
    .fetch_optional(&mut **tx)
    .await?;
    match row {
        Some(row) => Ok(Some(StoredRecord {
            state: from_json(row.get::<&str, _>(0))?,
            office: row.get(1),
            left: match (
                row.get::<Option<String>, _>(2),
                row.get::<Option<i64>, _>(3),
                row.get::<Option<String>, _>(4),
            ) {
                (Some(office), Some(at), Some(until))
                    if DateTime::parse_from_rfc3339(&until).is_ok_and(|u| u >= Utc::now()) =>
                {
                    Some((office, at as u64))
                }
                _ => None,
            },
        })),
        None => Ok(None),
    }
}

/// The office a record belongs to (`None`: every device sees it).
async fn office_of(
    tx: &mut Transaction<'_, Sqlite>,
    kind: EntityKind,
    state: &RecordState,
) -> Result<Option<String>, ServerError> {
    office_of_value(tx, kind, state.value.as_ref()).await
}

async fn office_of_value(
    tx: &mut Transaction<'_, Sqlite>,
    kind: EntityKind,
    record: Option<&Map<String, Value>>,
) -> Result<Option<String>, ServerError> {
    let value = record.cloned().map(Value::Object).unwrap_or_default();
    Ok(match sync_state::scope_of(kind, &value) {
        Scope::Office(office) => Some(office),
        Scope::Everyone => None,
        Scope::ServerOnly => Some(SERVER_ONLY.to_string()),
        Scope::OfPerson(person) => Some(
            load_record(tx, EntityKind::Person, person)
                .await?
                .and_then(|p| p.office)
                .unwrap_or_default(),
        ),
    })
}

async fn save_record(
    tx: &mut Transaction<'_, Sqlite>,
    kind: EntityKind,
    id: Uuid,
    state: &RecordState,
    office: Option<&str>,
) -> Result<(), ServerError> {
    let value = state.value.clone().map(Value::Object);
    let hash = value
        .as_ref()
        .map(|v| sync_state::record_hash(kind, id, v).to_vec());
    let person = value
        .as_ref()
        .and_then(|v| v.get("person"))
        .and_then(Value::as_str)
        .and_then(|s| Uuid::parse_str(s).ok())
        .map(|p| p.as_bytes().to_vec());
    sqlx::query(
        "INSERT INTO records (kind, id, office, person, bucket, hash, state)
         VALUES (?, ?, ?, ?, ?, ?, ?)
         ON CONFLICT (kind, id) DO UPDATE SET office = excluded.office, person = excluded.person,
           hash = excluded.hash, state = excluded.state",
    )
    .bind(i64::from(kind.code()))
    .bind(id.as_bytes().to_vec())
    .bind(office)
    .bind(person)
    .bind(i64::from(sync_state::bucket_of(id)))
    .bind(hash)
    .bind(to_json(state))
    .execute(&mut **tx)
    .await?;
    Ok(())
}

async fn save_conflict(
    tx: &mut Transaction<'_, Sqlite>,
    op: &Op,
    conflict: &FieldConflict,
    office: Option<&str>,
) -> Result<(), ServerError> {
    let id = Uuid::now_v7();
    let body = Conflict {
        id,
        entity: op.change.entity,
        record_id: op.change.id,
        field: conflict.field.clone(),
        winner: conflict.winner.clone(),
        winner_device: conflict.winner_write.device,
        winner_hlc: conflict.winner_write.hlc,
        loser: conflict.loser.clone(),
        loser_device: conflict.loser_write.device,
        loser_hlc: conflict.loser_write.hlc,
        resolution: None,
    };
    sqlx::query("INSERT INTO conflicts (id, kind, record_id, office, body) VALUES (?, ?, ?, ?, ?)")
        .bind(id.as_bytes().to_vec())
        .bind(i64::from(op.change.entity.code()))
        .bind(op.change.id.as_bytes().to_vec())
        .bind(office)
        .bind(to_json(&body))
        .execute(&mut **tx)
        .await?;
    Ok(())
}

fn now_ms() -> u64 {
    u64::try_from(Utc::now().timestamp_millis()).unwrap_or_default()
}
