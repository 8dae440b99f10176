//! A resumed push (issue 20, item 9): which of a device's ops, sent before but their answer
//! never read, the server already applied — so the device acknowledges them without sending
//! them again.

use sqlx::Row;
use uuid::Uuid;

use super::{Db, DeviceRow};
use crate::error::ServerError;

/// Op ids per query (well under SQLite's limit of bound parameters).
const CHUNK: usize = 500;

impl Db {
    /// The ops among `op_ids` that `device` pushed and the server applied. Another device's op
    /// is never reported (a device learns nothing of others' ops here).
    pub async fn applied_of(
        &self,
        device: &DeviceRow,
        op_ids: &[Uuid],
    ) -> Result<Vec<Uuid>, ServerError> {
        let mut applied = Vec::new();
        for chunk in op_ids.chunks(CHUNK) {
            let marks = vec!["?"; chunk.len()].join(", ");
            let sql = format!("SELECT op_id FROM ops WHERE device = ? AND op_id IN ({marks})");
            let mut query = sqlx::query(&sql).bind(device.id.to_string());
            for id in chunk {
                query = query.bind(id.as_bytes().to_vec());
            }
            for row in query.fetch_all(&self.pool).await? {
                let bytes: Vec<u8> = row.get(0);
                if let Ok(id) = Uuid::from_slice(&bytes) {
                    applied.push(id);
                }
            }
        }
        Ok(applied)
    }
}
