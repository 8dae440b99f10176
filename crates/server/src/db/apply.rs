//! The write path: a pushed batch applied op by op ([`apply_one`]), each applied op recorded
//! with its record's new state ([`write_applied`]), the office a record belongs to
//! ([`office_of`]; a re-routed case takes its referrals, follow-ups and notes along), and the
//! conflict queue with its resolution (a new op that wins).

use chrono::Utc;
use reintegra_core::hlc::Hlc;
use reintegra_core::ids::UserId;
use reintegra_core::merge::{self, FieldConflict, RecordState};
use reintegra_core::op::{Action, Change, EntityKind, Op};
use reintegra_core::sync_state::{self, Scope};
use reintegra_proto::{Conflict, OpResult, Outcome};
use serde_json::Value;
use sqlx::{Row, Sqlite, Transaction};
use uuid::Uuid;

use super::visibility::{may_write, SERVER_ONLY, VISIBLE};
use super::{current_seq, from_json, to_json, Db, DeviceRow};
use crate::error::{Rejected, ServerError};

impl Db {
    /// Applies a batch of ops from `device`, each at most once, in one transaction. Ops on
    /// records outside the device's office refuse the whole batch (nothing applied).
    pub async fn push(
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
            if op.device != device.id {
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

    /// The conflict queue of an office (unresolved first).
    pub async fn conflicts(&self, office: &str) -> Result<Vec<Conflict>, ServerError> {
        let sql = format!(
            "SELECT body, resolution FROM conflicts WHERE {VISIBLE}
             ORDER BY resolved_at IS NOT NULL, rowid"
        );
        let rows = sqlx::query(&sql).bind(office).fetch_all(&self.pool).await?;
        let mut out = Vec::with_capacity(rows.len());
        for row in rows {
            let mut conflict: Conflict = from_json(row.get::<&str, _>(0))?;
            conflict.resolution = row
                .get::<Option<&str>, _>(1)
                .map(from_json::<Value>)
                .transpose()?;
            out.push(conflict);
        }
        Ok(out)
    }

    /// Resolves a conflict with `value`: applied as a new op that wins (newest HLC, current
    /// base), so every device gets it by pulling.
    pub async fn resolve(
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
        let merged = merge::apply(&mut state, &op, seq);
        // Not an echo: the resolving device gets the value by pulling, like every other.
        write_applied(
            &mut tx,
            seq,
            &op,
            merged.effect,
            false,
            &state,
            stored.office.as_deref(),
        )
        .await?;
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

struct StoredRecord {
    state: RecordState,
    office: Option<String>,
}

/// Applies one pushed op (numbering it `seq + 1` if it changes anything). `None`: the op is
/// on a record outside the device's office.
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
    let stored = load_record(tx, op.change.entity, op.change.id).await?;
    let office_before = stored.as_ref().map(|s| s.office.clone());
    if let Some(Some(office)) = &office_before {
        if !may_write(&device.office, Some(office)) {
            return Ok(None);
        }
    }
    let mut state = stored.map(|s| s.state).unwrap_or_default();
    let merged = merge::apply(&mut state, op, *seq + 1);
    if let Some(code) = merged.refused {
        return Ok(Some(Rejected::Merge(code).into()));
    }
    let office = office_of(tx, op.change.entity, &state).await?;
    if office_before.is_none() && !may_write(&device.office, office.as_deref()) {
        return Ok(None);
    }
    *seq += 1;
    let echo = merged.effect.as_ref() == Some(&op.change);
    write_applied(tx, *seq, op, merged.effect, echo, &state, office.as_deref()).await?;
    if op.change.entity == EntityKind::Person && office_before.flatten() != office {
        // A re-routed case: its referrals, follow-ups and notes move with it.
        sqlx::query("UPDATE records SET office = ? WHERE person = ?")
            .bind(office.as_deref())
            .bind(op.change.id.as_bytes().to_vec())
            .execute(&mut **tx)
            .await?;
    }
    for conflict in merged.conflicts {
        save_conflict(tx, op, &conflict, office.as_deref()).await?;
    }
    Ok(Some(Outcome::Applied {
        superseded: merged.superseded,
    }))
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
        "INSERT INTO ops (seq, op_id, device, office, echo, effect) VALUES (?, ?, ?, ?, ?, ?)",
    )
    .bind(seq as i64)
    .bind(op.op_id.as_bytes().to_vec())
    .bind(op.device.to_string())
    .bind(office)
    .bind(echo)
    .bind(effect.as_ref().map(to_json))
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

async fn load_record(
    tx: &mut Transaction<'_, Sqlite>,
    kind: EntityKind,
    id: Uuid,
) -> Result<Option<StoredRecord>, ServerError> {
    let row = sqlx::query("SELECT state, office FROM records WHERE kind = ? AND id = ?")
        .bind(i64::from(kind.code()))
        .bind(id.as_bytes().to_vec())
        .fetch_optional(&mut **tx)
        .await?;
    match row {
        Some(row) => Ok(Some(StoredRecord {
            state: from_json(row.get::<&str, _>(0))?,
            office: row.get(1),
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
    let value = state.value.clone().map(Value::Object).unwrap_or_default();
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
