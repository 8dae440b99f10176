//! The server's data, in SQLite through sqlx: devices and enrollment codes, the applied ops
//! (numbered by a gap-free sequence), each record's merge state, and the conflict queue.
//!
//! Writes go through one async mutex (one push at a time), so the sequence has no gaps and a
//! batch is applied in one transaction: all of it or none of it.
//!
//! [`Db`]'s methods are written in the module of their job: [`devices`] (enrollment codes,
//! tokens, revoking, listing), [`apply`] (push, conflicts and their resolution; who may make
//! each change is [`authorize`]), [`read`]
//! (pull, state hash, buckets, records), [`security`] (the security log). [`visibility`] says
//! which office sees which rows. This module opens the database and keeps the schema and the helpers they share.

mod apply;
mod authorize;
mod devices;
mod read;
mod resume;
mod security;
mod visibility;

use std::path::Path;
use std::str::FromStr;
use std::time::Duration;

use sqlx::sqlite::{SqliteConnectOptions, SqliteJournalMode, SqlitePoolOptions};
use sqlx::{Row, Sqlite, SqlitePool, Transaction};
use tokio::sync::Mutex;
use uuid::Uuid;

use crate::error::ServerError;

pub use devices::{valid_office, DeviceInfo, DeviceRow, Enrolled};
pub use security::{parse_since, NewEvent, SecurityEvent, SecurityKind};

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
CREATE INDEX IF NOT EXISTS conflicts_record ON conflicts (kind, record_id);
CREATE TABLE IF NOT EXISTS security_events (
    id INTEGER PRIMARY KEY, at TEXT NOT NULL, kind TEXT NOT NULL, device TEXT, office TEXT,
    user TEXT, detail TEXT NOT NULL);
CREATE INDEX IF NOT EXISTS security_events_at ON security_events (at);
"#;

/// Conflicts belong to their record's office as it is now (older servers left them where the
/// record was when the conflict was made).
const REALIGN_CONFLICTS: &str = r#"
UPDATE conflicts SET office = (
    SELECT r.office FROM records r WHERE r.kind = conflicts.kind AND r.id = conflicts.record_id)
WHERE EXISTS (
    SELECT 1 FROM records r WHERE r.kind = conflicts.kind AND r.id = conflicts.record_id
    AND r.office IS NOT conflicts.office);
"#;

/// Each op names its record (`ops.record`), so the ops of a case that moves to another office
/// move with it (`apply::move_office`): a device of the old office, even one enrolled later,
/// never pulls them. Ops written before the column existed get it from their effect.
const OPS_BY_RECORD: &str = r#"
UPDATE ops SET record = unhex(replace(json_extract(effect, '$.change.id'), '-', ''))
WHERE record IS NULL AND effect IS NOT NULL;
CREATE INDEX IF NOT EXISTS ops_record ON ops (record);
"#;

pub struct Db {
    pool: SqlitePool,
    write: Mutex<()>,
    /// The key enrollment codes are hashed with ([`devices`]).
    code_key: [u8; 32],
    pub server_id: Uuid,
    /// Goes up when the server is restored from an older copy ([`Db::bump_epoch`]).
    epoch: std::sync::atomic::AtomicU64,
}

impl Db {
    /// Opens (creating if needed) the database in `dir`.
    pub async fn open(dir: &Path) -> Result<Db, ServerError> {
        std::fs::create_dir_all(dir)
            .map_err(|e| ServerError::DataDir(format!("{}: {e}", dir.display())))?;
        let code_key = devices::code_key(dir)?;
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
        sqlx::raw_sql(REALIGN_CONFLICTS).execute(&pool).await?;
        add_column(&pool, "enroll_codes", "user_id", "BLOB").await?;
        add_column(&pool, "ops", "record", "BLOB").await?;
        add_column(&pool, "records", "left_office", "TEXT").await?;
        add_column(&pool, "records", "left_at", "INTEGER").await?;
        add_column(&pool, "records", "left_until", "TEXT").await?;
        sqlx::raw_sql(OPS_BY_RECORD).execute(&pool).await?;
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
        let epoch = sqlx::query_scalar::<_, String>("SELECT value FROM meta WHERE key = 'epoch'")
            .fetch_optional(&pool)
            .await?
            .map(|v| v.parse::<u64>())
            .transpose()
            .map_err(|_| ServerError::Corrupt("epoch".into()))?
            .unwrap_or(1);
        Ok(Db {
            pool,
            write: Mutex::new(()),
            code_key,
            server_id,
            epoch: epoch.into(),
        })
    }

    /// Which server this is, and which life of it: every pull and state answer carries it.
    pub fn mark(&self) -> reintegra_proto::ServerMark {
        reintegra_proto::ServerMark {
            id: self.server_id,
            epoch: self.epoch.load(std::sync::atomic::Ordering::SeqCst),
        }
    }

    /// Says that this server was restored from an older copy (`reintegra-server restored`):
    /// the epoch goes up, and every device, at its next contact, starts its cursor again and
    /// repairs, sending back what the copy lacks. Returns the new epoch.
    pub async fn bump_epoch(&self) -> Result<u64, ServerError> {
        let _w = self.write.lock().await;
        let next = self.epoch.load(std::sync::atomic::Ordering::SeqCst) + 1;
        sqlx::query("INSERT INTO meta (key, value) VALUES ('epoch', ?1) ON CONFLICT (key) DO UPDATE SET value = ?1")
            .bind(next.to_string())
            .execute(&self.pool)
            .await?;
        self.epoch.store(next, std::sync::atomic::Ordering::SeqCst);
        Ok(next)
    }
}

/// Adds `column` to `table` unless a database made by an earlier server lacks it.
async fn add_column(
    pool: &SqlitePool,
    table: &str,
    column: &str,
    kind: &str,
) -> Result<(), ServerError> {
    let has: i64 = sqlx::query_scalar("SELECT COUNT(*) FROM pragma_table_info(?) WHERE name = ?")
        .bind(table)
        .bind(column)
        .fetch_one(pool)
        .await?;
    if has == 0 {
        // Names are this module's constants, never input.
        sqlx::raw_sql(&format!("ALTER TABLE {table} ADD COLUMN {column} {kind}"))
            .execute(pool)
            .await?;
    }
    Ok(())
}

/// The last sequence number given to an applied op (0: none yet).
async fn current_seq(tx: &mut Transaction<'_, Sqlite>) -> Result<u64, ServerError> {
    let seq: i64 = sqlx::query_scalar("SELECT COALESCE(MAX(seq), 0) FROM ops")
        .fetch_one(&mut **tx)
        .await?;
    Ok(seq as u64)
}

fn to_json<T: serde::Serialize>(value: &T) -> String {
    serde_json::to_string(value).unwrap_or_default()
}

fn from_json<T: serde::de::DeserializeOwned>(text: &str) -> Result<T, ServerError> {
    serde_json::from_str(text).map_err(|e| ServerError::Corrupt(e.to_string()))
}

#[cfg(test)]
#[allow(clippy::unwrap_used)] // tests may unwrap
mod tests {
    use sqlx::sqlite::SqliteConnectOptions;
    use sqlx::Row;
    use uuid::Uuid;

    /// A database written before ops named their record: opening it fills `ops.record` from
    /// each op's effect, so a case that moves later takes those ops along too.
    #[tokio::test]
    async fn ops_of_an_older_database_get_their_record() {
        let dir = tempfile::tempdir().unwrap();
        let file = dir.path().join("reintegra-server.sqlite");
        let record = Uuid::now_v7();
        {
            let options = SqliteConnectOptions::new()
                .filename(&file)
                .create_if_missing(true);
            let pool = sqlx::SqlitePool::connect_with(options).await.unwrap();
            sqlx::raw_sql(super::SCHEMA).execute(&pool).await.unwrap();
            let effect = serde_json::json!({
                "op_id": Uuid::now_v7(), "change": {"entity": "person", "id": record}
            });
            sqlx::query(
                "INSERT INTO ops (seq, op_id, device, office, echo, effect) VALUES (1, x'01', 'd', 'SV-X', 0, ?)",
            )
            .bind(effect.to_string())
            .execute(&pool)
            .await
            .unwrap();
            pool.close().await;
        }
        let db = super::Db::open(dir.path()).await.unwrap();
        let row = sqlx::query("SELECT record FROM ops WHERE seq = 1")
            .fetch_one(&db.pool)
            .await
            .unwrap();
        assert_eq!(
            row.get::<Option<Vec<u8>>, _>(0),
            Some(record.as_bytes().to_vec())
        );
    }
}
