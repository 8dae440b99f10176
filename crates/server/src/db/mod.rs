//! The server's data, in SQLite through sqlx: devices and enrollment codes, the applied ops
//! (numbered by a gap-free sequence), each record's merge state, and the conflict queue.
//!
//! Writes go through one async mutex (one push at a time), so the sequence has no gaps and a
//! batch is applied in one transaction: all of it or none of it.

use std::path::Path;
use std::str::FromStr;
use std::time::Duration;

use chrono::Utc;
use rand::RngCore;
use reintegra_core::hlc::Hlc;
use reintegra_core::ids::DeviceId;
use reintegra_core::merge::{self, FieldConflict, RecordState};
use reintegra_core::op::{Action, Change, EntityKind, Op};
use reintegra_core::sync_state::{self, Scope, StateHasher, ALL_OFFICES};
use reintegra_core::territory::Territory;
use reintegra_proto::{Conflict, OpResult, Outcome, Pulled, RemoteRecord};
use serde_json::Value;
use sqlx::sqlite::{SqliteConnectOptions, SqliteJournalMode, SqlitePoolOptions};
use sqlx::{Row, Sqlite, SqlitePool, Transaction};
use tokio::sync::Mutex;
use uuid::Uuid;

use crate::error::ServerError;

/// The office of records no device pulls (audit entries).
const SERVER_ONLY: &str = "!";
/// How long an enrollment code is valid.
const CODE_VALID_DAYS: i64 = 7;

const SCHEMA: &str = r#"
CREATE TABLE IF NOT EXISTS meta (key TEXT PRIMARY KEY, value TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS enroll_codes (
    code_hash BLOB PRIMARY KEY, office TEXT NOT NULL, expires_at TEXT NOT NULL, used_by TEXT);
CREATE TABLE IF NOT EXISTS devices (
    id TEXT PRIMARY KEY, name TEXT NOT NULL, office TEXT NOT NULL,
    token_hash BLOB NOT NULL UNIQUE, enrolled_at TEXT NOT NULL, revoked_at TEXT);
CREATE TABLE IF NOT EXISTS records (
    kind INTEGER NOT NULL, id BLOB NOT NULL, office TEXT, person BLOB,
    bucket INTEGER NOT NULL, hash BLOB, state TEXT NOT NULL, PRIMARY KEY (kind, id));
CREATE INDEX IF NOT EXISTS records_bucket ON records (bucket);
CREATE INDEX IF NOT EXISTS records_person ON records (person);
CREATE TABLE IF NOT EXISTS ops (
    seq INTEGER PRIMARY KEY, op_id BLOB NOT NULL UNIQUE, device TEXT NOT NULL, office TEXT,
    echo INTEGER NOT NULL, effect TEXT);
CREATE TABLE IF NOT EXISTS conflicts (
    id BLOB PRIMARY KEY, kind INTEGER NOT NULL, record_id BLOB NOT NULL, office TEXT,
    body TEXT NOT NULL, resolution TEXT, resolved_at TEXT);
"#;

/// Rows visible to a device of office `?1`: its office, records every device sees, and for
/// `*` everything but server-only records.
const VISIBLE: &str = "(office IS NULL OR office = ?1 OR (?1 = '*' AND office <> '!'))";

/// Whether a device of `office` may push ops on a record of `record_office`: the records it
/// sees, and records only the server keeps (every device sends its own audit trail up).
fn may_write(office: &str, record_office: Option<&str>) -> bool {
    record_office == Some(SERVER_ONLY) || sync_state::office_sees(office, record_office)
}

/// An enrolled device, as a request's token resolves it.
#[derive(Debug, Clone)]
pub struct DeviceRow {
    pub id: DeviceId,
    pub office: String,
}

/// A device as `reintegra-server devices` lists it.
#[derive(Debug, Clone)]
pub struct DeviceInfo {
    pub id: String,
    pub name: String,
    pub office: String,
    pub enrolled_at: String,
    pub revoked: bool,
}

pub struct Db {
    pool: SqlitePool,
    write: Mutex<()>,
    pub server_id: Uuid,
}

fn hash_secret(secret: &str) -> Vec<u8> {
    blake3::hash(secret.trim().as_bytes()).as_bytes().to_vec()
}

fn random_hex(bytes: usize) -> String {
    let mut buf = vec![0u8; bytes];
    rand::rngs::OsRng.fill_bytes(&mut buf);
    buf.iter().map(|b| format!("{b:02x}")).collect()
}

/// Whether `office` names an office: `*` or a municipality of El Salvador.
pub fn valid_office(office: &str) -> bool {
    office == ALL_OFFICES || Territory::el_salvador().municipality(office).is_some()
}

impl Db {
    /// Opens (creating if needed) the database in `dir`.
    pub async fn open(dir: &Path) -> Result<Db, ServerError> {
        std::fs::create_dir_all(dir)
            .map_err(|e| ServerError::DataDir(format!("{}: {e}", dir.display())))?;
        let options = SqliteConnectOptions::from_str("sqlite:")?
            .filename(dir.join("reintegra-server.sqlite"))
            .create_if_missing(true)
            .journal_mode(SqliteJournalMode::Wal)
            .busy_timeout(Duration::from_secs(10));
        let pool = SqlitePoolOptions::new()
            .max_connections(4)
            .connect_with(options)
            .await?;
        sqlx::raw_sql(SCHEMA).execute(&pool).await?;
        let server_id = match sqlx::query("SELECT value FROM meta WHERE key = 'server_id'")
            .fetch_optional(&pool)
            .await?
        {
            Some(row) => Uuid::parse_str(row.get::<&str, _>(0))
                .map_err(|_| ServerError::Corrupt("server_id".into()))?,
            None => {
                let id = Uuid::now_v7();
                sqlx::query("INSERT INTO meta (key, value) VALUES ('server_id', ?)")
                    .bind(id.to_string())
                    .execute(&pool)
                    .await?;
                id
            }
        };
        Ok(Db {
            pool,
            write: Mutex::new(()),
            server_id,
        })
    }

    /// A new one-time enrollment code for `office`, valid for a week.
    pub async fn new_enroll_code(&self, office: &str) -> Result<String, ServerError> {
        if !valid_office(office) {
            return Err(ServerError::BadRequest(format!(
                "«{office}» no es una oficina: use «*» o el código de un municipio (SV-…)"
            )));
        }
        let raw = random_hex(5).to_uppercase();
        let code = format!("{}-{}", &raw[..5], &raw[5..]);
        let expires = Utc::now() + chrono::Duration::days(CODE_VALID_DAYS);
        sqlx::query("INSERT INTO enroll_codes (code_hash, office, expires_at) VALUES (?, ?, ?)")
            .bind(hash_secret(&code))
            .bind(office)
            .bind(expires.to_rfc3339())
            .execute(&self.pool)
            .await?;
        Ok(code)
    }

    /// Spends a code: the device is enrolled and gets its token (only the hash is kept).
    pub async fn enroll(
        &self,
        code: &str,
        device: DeviceId,
        name: &str,
    ) -> Result<(String, String), ServerError> {
        let _w = self.write.lock().await;
        let mut tx = self.pool.begin().await?;
        let row = sqlx::query(
            "SELECT office, expires_at FROM enroll_codes WHERE code_hash = ? AND used_by IS NULL",
        )
        .bind(hash_secret(&code.to_uppercase()))
        .fetch_optional(&mut *tx)
        .await?
        .ok_or(ServerError::BadEnrollCode)?;
        let office: String = row.get(0);
        let expires: String = row.get(1);
        if expires < Utc::now().to_rfc3339() {
            return Err(ServerError::BadEnrollCode);
        }
        let token = random_hex(32);
        sqlx::query("UPDATE enroll_codes SET used_by = ? WHERE code_hash = ?")
            .bind(device.to_string())
            .bind(hash_secret(&code.to_uppercase()))
            .execute(&mut *tx)
            .await?;
        sqlx::query(
            "INSERT INTO devices (id, name, office, token_hash, enrolled_at) VALUES (?, ?, ?, ?, ?)
             ON CONFLICT (id) DO UPDATE SET name = excluded.name, office = excluded.office,
               token_hash = excluded.token_hash, enrolled_at = excluded.enrolled_at, revoked_at = NULL",
        )
        .bind(device.to_string())
        .bind(name)
        .bind(&office)
        .bind(hash_secret(&token))
        .bind(Utc::now().to_rfc3339())
        .execute(&mut *tx)
        .await?;
        tx.commit().await?;
        Ok((token, office))
    }

    /// The device a token belongs to.
    pub async fn device_by_token(&self, token: &str) -> Result<DeviceRow, ServerError> {
        let row = sqlx::query("SELECT id, office, revoked_at FROM devices WHERE token_hash = ?")
            .bind(hash_secret(token))
            .fetch_optional(&self.pool)
            .await?
            .ok_or(ServerError::UnknownDevice)?;
        if row.get::<Option<String>, _>(2).is_some() {
            return Err(ServerError::DeviceRevoked);
        }
        let id = Uuid::parse_str(row.get::<&str, _>(0)).map_err(|_| ServerError::UnknownDevice)?;
        Ok(DeviceRow {
            id: DeviceId::new(id),
            office: row.get(1),
        })
    }

    /// How many ops were applied (each op id once).
    pub async fn op_count(&self) -> Result<u64, ServerError> {
        let n: i64 = sqlx::query_scalar("SELECT COUNT(*) FROM ops")
            .fetch_one(&self.pool)
            .await?;
        Ok(n as u64)
    }

    /// Revokes a device: its token stops working. False when there is no such device.
    pub async fn revoke_device(&self, device: &str) -> Result<bool, ServerError> {
        let done = sqlx::query("UPDATE devices SET revoked_at = ? WHERE id = ?")
            .bind(Utc::now().to_rfc3339())
            .bind(device.trim())
            .execute(&self.pool)
            .await?;
        Ok(done.rows_affected() > 0)
    }

    pub async fn devices(&self) -> Result<Vec<DeviceInfo>, ServerError> {
        let rows = sqlx::query(
            "SELECT id, name, office, enrolled_at, revoked_at FROM devices ORDER BY enrolled_at",
        )
        .fetch_all(&self.pool)
        .await?;
        Ok(rows
            .into_iter()
            .map(|r| DeviceInfo {
                id: r.get(0),
                name: r.get(1),
                office: r.get(2),
                enrolled_at: r.get(3),
                revoked: r.get::<Option<String>, _>(4).is_some(),
            })
            .collect())
    }

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
                return Err(ServerError::BadRequest(format!(
                    "la operación {} es de otro dispositivo",
                    op.op_id
                )));
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

    /// Effective changes after `after` that a device of `office` sees, in sequence order, up
    /// to `limit` ops. The device's own ops are left out when they applied exactly as sent.
    /// Returns the changes and the cursor to ask next.
    pub async fn pull(
        &self,
        device: &DeviceRow,
        after: u64,
        limit: usize,
    ) -> Result<(Vec<Pulled>, u64, bool), ServerError> {
        let mut tx = self.pool.begin().await?;
        let top = current_seq(&mut tx).await?;
        let sql = format!(
            "SELECT seq, effect FROM ops WHERE seq > ?2 AND seq <= ?3 AND effect IS NOT NULL
             AND {VISIBLE} AND NOT (device = ?4 AND echo = 1) ORDER BY seq LIMIT ?5"
        );
        let rows = sqlx::query(&sql)
            .bind(&device.office)
            .bind(after as i64)
            .bind(top as i64)
            .bind(device.id.to_string())
            .bind(limit as i64 + 1)
            .fetch_all(&mut *tx)
            .await?;
        let more = rows.len() > limit;
        let mut changes = Vec::with_capacity(rows.len().min(limit));
        for row in rows.into_iter().take(limit) {
            let seq: i64 = row.get(0);
            let op: Op = from_json(row.get::<&str, _>(1))?;
            changes.push(Pulled {
                seq: seq as u64,
                op,
            });
        }
        let next = if more {
            changes.last().map_or(after, |c| c.seq)
        } else {
            top.max(after)
        };
        Ok((changes, next, more))
    }

    /// The state hash of a device's scope and the server's sequence.
    pub async fn state(&self, office: &str) -> Result<(u64, StateHasher), ServerError> {
        let mut tx = self.pool.begin().await?;
        let seq = current_seq(&mut tx).await?;
        let sql = format!("SELECT id, hash FROM records WHERE hash IS NOT NULL AND {VISIBLE}");
        let rows = sqlx::query(&sql).bind(office).fetch_all(&mut *tx).await?;
        let mut hasher = StateHasher::default();
        for row in rows {
            let id = uuid_of(row.get::<&[u8], _>(0))?;
            let hash: [u8; 32] = row
                .get::<&[u8], _>(1)
                .try_into()
                .map_err(|_| ServerError::Corrupt("hash".into()))?;
            hasher.add(id, hash);
        }
        Ok((seq, hasher))
    }

    /// The records of one bucket in a device's scope, as they are now.
    pub async fn bucket_records(
        &self,
        office: &str,
        bucket: u8,
    ) -> Result<Vec<RemoteRecord>, ServerError> {
        let sql = format!(
            "SELECT kind, id, state FROM records WHERE bucket = ?2 AND hash IS NOT NULL AND {VISIBLE}"
        );
        let rows = sqlx::query(&sql)
            .bind(office)
            .bind(i64::from(bucket))
            .fetch_all(&self.pool)
            .await?;
        let mut out = Vec::with_capacity(rows.len());
        for row in rows {
            let state: RecordState = from_json(row.get::<&str, _>(2))?;
            let Some(value) = state.value else { continue };
            out.push(RemoteRecord {
                entity: kind_of(row.get(0))?,
                id: uuid_of(row.get::<&[u8], _>(1))?,
                record: Value::Object(value),
            });
        }
        Ok(out)
    }

    /// A record's current value, if the device's office sees it.
    pub async fn record(
        &self,
        office: &str,
        kind: EntityKind,
        id: Uuid,
    ) -> Result<Option<Value>, ServerError> {
        let sql = format!("SELECT state FROM records WHERE kind = ?2 AND id = ?3 AND {VISIBLE}");
        let row = sqlx::query(&sql)
            .bind(office)
            .bind(i64::from(kind.code()))
            .bind(id.as_bytes().to_vec())
            .fetch_optional(&self.pool)
            .await?;
        match row {
            Some(row) => Ok(from_json::<RecordState>(row.get::<&str, _>(0))?
                .value
                .map(Value::Object)),
            None => Ok(None),
        }
    }

    /// The records of `kind` that belong to a person (referrals, follow-ups, notes).
    pub async fn records_of_person(
        &self,
        kind: EntityKind,
        person: Uuid,
    ) -> Result<Vec<Value>, ServerError> {
        let rows = sqlx::query("SELECT state FROM records WHERE kind = ? AND person = ?")
            .bind(i64::from(kind.code()))
            .bind(person.as_bytes().to_vec())
            .fetch_all(&self.pool)
            .await?;
        let mut out = Vec::new();
        for row in rows {
            if let Some(v) = from_json::<RecordState>(row.get::<&str, _>(0))?.value {
                out.push(Value::Object(v));
            }
        }
        Ok(out)
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
        author: reintegra_core::ids::UserId,
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
    let rejected = |code: &str, reason: &str| {
        Some(Outcome::Rejected {
            code: code.into(),
            reason: reason.into(),
        })
    };
    if is_applied(tx, op.op_id).await? {
        return Ok(Some(Outcome::Duplicate));
    }
    if Hlc::is_too_far_ahead(&op.hlc, now_ms()) {
        return Ok(rejected(
            "clock_ahead",
            "el reloj de este dispositivo está adelantado: corrija la fecha y la hora y vuelva a sincronizar",
        ));
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
        return Ok(rejected(code, "el registro fue borrado en el servidor"));
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

async fn current_seq(tx: &mut Transaction<'_, Sqlite>) -> Result<u64, ServerError> {
    let seq: i64 = sqlx::query_scalar("SELECT COALESCE(MAX(seq), 0) FROM ops")
        .fetch_one(&mut **tx)
        .await?;
    Ok(seq as u64)
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

fn to_json<T: serde::Serialize>(value: &T) -> String {
    serde_json::to_string(value).unwrap_or_default()
}

fn from_json<T: serde::de::DeserializeOwned>(text: &str) -> Result<T, ServerError> {
    serde_json::from_str(text).map_err(|e| ServerError::Corrupt(e.to_string()))
}

fn uuid_of(bytes: &[u8]) -> Result<Uuid, ServerError> {
    Uuid::from_slice(bytes).map_err(|_| ServerError::Corrupt("id".into()))
}

fn kind_of(code: i64) -> Result<EntityKind, ServerError> {
    u8::try_from(code)
        .ok()
        .and_then(EntityKind::from_code)
        .ok_or_else(|| ServerError::Corrupt("tipo de registro".into()))
}
