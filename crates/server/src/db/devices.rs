//! Devices: one-time enrollment codes, device tokens (only their hashes are kept), revoking and
//! listing.

use chrono::Utc;
use rand::RngCore;
use reintegra_core::ids::DeviceId;
use reintegra_core::sync_state::ALL_OFFICES;
use reintegra_core::territory::Territory;
use sqlx::Row;
use uuid::Uuid;

use super::Db;
use crate::error::ServerError;

/// How long an enrollment code is valid.
const CODE_VALID_DAYS: i64 = 7;

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
    /// A new one-time enrollment code for `office`, valid for a week.
    pub async fn new_enroll_code(&self, office: &str) -> Result<String, ServerError> {
        if !valid_office(office) {
            return Err(ServerError::NotAnOffice(office.to_string()));
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
}
