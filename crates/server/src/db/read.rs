//! What devices read: pulls of effective changes, the state hash and its buckets, and the
//! records of a bucket (repair). Every read is limited to the device's office by [`VISIBLE`].

use reintegra_core::merge::RecordState;
use reintegra_core::op::{EntityKind, Op};
use reintegra_core::sync_state::StateHasher;
use reintegra_proto::{Pulled, RemoteRecord};
use serde_json::Value;
use sqlx::Row;
use uuid::Uuid;

use super::visibility::VISIBLE;
use super::{current_seq, from_json, Db, DeviceRow};
use crate::error::ServerError;

impl Db {
    /// How many ops were applied (each op id once).
    pub async fn op_count(&self) -> Result<u64, ServerError> {
        let n: i64 = sqlx::query_scalar("SELECT COUNT(*) FROM ops")
            .fetch_one(&self.pool)
            .await?;
        Ok(n as u64)
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
        // Never above the server's sequence: a device ahead of it (the server was restored
        // from an older copy) learns so from a `next` below its cursor.
        let next = if more {
            changes.last().map_or(after, |c| c.seq)
        } else {
            top
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
