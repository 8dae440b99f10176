//! Devices: one-time enrollment codes, device tokens (only their hashes are kept), revoking and
//! listing.
//!
//! An enrollment code carries 80 random bits, written as 16 characters of Crockford's base32
//! in groups of four (`7K2M-Q9XD-4HRT-B3NW`: no I, L, O or U, so nothing reads two ways; the
//! code is read case-blind, with or without the dashes). Only a keyed hash of it is kept: BLAKE3
//! keyed with a secret of this server, made at its first start and kept in its data directory
//! (`enroll-code.key`, not in the database), so a copy of the database alone does not let anyone
//! try codes offline. A device id enrolls once: enrolling an id the server has (revoked or not)
//! is refused (`device_exists`), so a code cannot take over another device.
//!
//! A code is for an office's first device (its first admin is created there) or for one user
//! to set up another device of an office that already works (`--login`): that device joins
//! with the user's record, which the answer carries, and pulls the rest.

use std::path::Path;

use chrono::Utc;
use rand::RngCore;
use reintegra_core::ids::{DeviceId, UserId};
use reintegra_core::sync_state::ALL_OFFICES;
use reintegra_core::territory::Territory;
use reintegra_core::user::User;
use sqlx::Row;
use uuid::Uuid;

use super::security::{NewEvent, SecurityKind};
use super::{authorize, Db};
use crate::error::ServerError;

/// How long an enrollment code is valid.
const CODE_VALID_DAYS: i64 = 7;
/// Random bytes of an enrollment code (80 bits: 16 base32 characters).
const CODE_BYTES: usize = 10;
/// Crockford's base32 alphabet.
const BASE32: &[u8; 32] = b"0123456789ABCDEFGHJKMNPQRSTVWXYZ";
/// The file in the data directory that holds the key of enrollment-code hashes.
const CODE_KEY_FILE: &str = "enroll-code.key";

/// An enrolled device, as a request's token resolves it.
#[derive(Debug, Clone)]
pub struct DeviceRow {
    pub id: DeviceId,
    pub office: String,
}

/// What enrolling gives a device.
#[derive(Debug, Clone)]
pub struct Enrolled {
    pub token: String,
    pub office: String,
    /// The user a joining device sets up with.
    pub user: Option<User>,
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

/// A new enrollment code: 16 base32 characters in groups of four.
fn new_code() -> String {
    let mut raw = [0u8; CODE_BYTES];
    rand::rngs::OsRng.fill_bytes(&mut raw);
    let mut chars = Vec::with_capacity(CODE_BYTES * 8 / 5);
    let (mut acc, mut bits) = (0u32, 0u32);
    for byte in raw {
        acc = (acc << 8) | u32::from(byte);
        bits += 8;
        while bits >= 5 {
            bits -= 5;
            chars.push(BASE32[((acc >> bits) & 31) as usize] as char);
        }
    }
    chars
        .chunks(4)
        .map(|group| group.iter().collect::<String>())
        .collect::<Vec<_>>()
        .join("-")
}

/// A code as typed, the way it is hashed: case and dashes or spaces do not matter, and the
/// letters base32 leaves out read as the digits they look like (O → 0, I and L → 1).
fn normalize_code(code: &str) -> String {
    code.chars()
        .filter(|c| !matches!(c, '-' | ' ' | '\t'))
        .map(|c| match c.to_ascii_uppercase() {
            'O' => '0',
            'I' | 'L' => '1',
            c => c,
        })
        .collect()
}

/// The key of enrollment-code hashes, made at the first start (readable by the owner only).
pub(super) fn code_key(dir: &Path) -> Result<[u8; 32], ServerError> {
    let path = dir.join(CODE_KEY_FILE);
    let failed = |e: std::io::Error| ServerError::DataDir(format!("{}: {e}", path.display()));
    let text = match std::fs::read_to_string(&path) {
        Ok(text) => text,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
            let key = random_hex(32);
            write_private(&path, &key).map_err(failed)?;
            key
        }
        Err(e) => return Err(failed(e)),
    };
    let text = text.trim();
    let mut key = [0u8; 32];
    if text.len() != 64 {
        return Err(ServerError::Corrupt(CODE_KEY_FILE.into()));
    }
    for (i, byte) in key.iter_mut().enumerate() {
        *byte = u8::from_str_radix(&text[2 * i..2 * i + 2], 16)
            .map_err(|_| ServerError::Corrupt(CODE_KEY_FILE.into()))?;
    }
    Ok(key)
}

fn write_private(path: &Path, text: &str) -> std::io::Result<()> {
    use std::io::Write;
    let mut options = std::fs::OpenOptions::new();
    options.write(true).create_new(true);
    #[cfg(unix)]
    {
        use std::os::unix::fs::OpenOptionsExt;
        options.mode(0o600);
    }
    let mut file = options.open(path)?;
    file.write_all(text.as_bytes())?;
    file.sync_all()
}

/// Whether `office` names an office: `*` or a municipality of El Salvador.
pub fn valid_office(office: &str) -> bool {
    office == ALL_OFFICES || Territory::el_salvador().municipality(office).is_some()
}

impl Db {
    /// The keyed hash an enrollment code is kept as.
    fn code_hash(&self, code: &str) -> Vec<u8> {
        blake3::keyed_hash(&self.code_key, normalize_code(code).as_bytes())
            .as_bytes()
            .to_vec()
    }

    /// A new one-time enrollment code for `office`, valid for a week. With `login`, the code
    /// is for that user to set up a new device of an office that already works with Reintegra
    /// (an active user who may act from `office`); without, for an office's first device.
    pub async fn new_enroll_code(
        &self,
        office: &str,
        login: Option<&str>,
    ) -> Result<String, ServerError> {
        if !valid_office(office) {
            return Err(ServerError::NotAnOffice(office.to_string()));
        }
        let user = match login {
            None => None,
            Some(login) => {
                let mut tx = self.pool.begin().await?;
                let user = authorize::active_user_by_login(&mut tx, login, office)
                    .await?
                    .ok_or_else(|| ServerError::NoSuchUser(login.trim().to_string()))?;
                Some(user.id)
            }
        };
        let code = new_code();
        let expires = Utc::now() + chrono::Duration::days(CODE_VALID_DAYS);
        sqlx::query(
            "INSERT INTO enroll_codes (code_hash, office, expires_at, user_id) VALUES (?, ?, ?, ?)",
        )
        .bind(self.code_hash(&code))
        .bind(office)
        .bind(expires.to_rfc3339())
        .bind(user.map(|id| id.as_uuid().as_bytes().to_vec()))
        .execute(&self.pool)
        .await?;
        Ok(code)
    }

    /// Spends a code: the device is enrolled and gets its token (only the hash is kept). A device
    /// id the server has is refused, and the code stays unused. `joining`: the device sets up
    /// with an existing user, so the code must be one made for a user (and that user still
    /// active); it comes back in the answer. A first device needs a code made for no user.
    pub async fn enroll(
        &self,
        code: &str,
        device: DeviceId,
        name: &str,
        joining: bool,
    ) -> Result<Enrolled, ServerError> {
        // A code that cannot be spent is refused before the write lock (which every push
        // waits for) and without a transaction: guessing costs the server one read.
        if !self.code_usable(code).await? {
            return Err(ServerError::BadEnrollCode);
        }
        let _w = self.write.lock().await;
        let mut tx = self.pool.begin().await?;
        let row = sqlx::query(
            "SELECT office, expires_at, user_id FROM enroll_codes WHERE code_hash = ? AND used_by IS NULL",
        )
        .bind(self.code_hash(code))
        .fetch_optional(&mut *tx)
        .await?
        .ok_or(ServerError::BadEnrollCode)?;
        let office: String = row.get(0);
        let expires: String = row.get(1);
        let user_id: Option<Vec<u8>> = row.get(2);
        if expires < Utc::now().to_rfc3339() {
            return Err(ServerError::BadEnrollCode);
        }
        let user = match (user_id, joining) {
            (None, false) => None,
            (None, true) => return Err(ServerError::CodeForFirstDevice),
            (Some(_), false) => return Err(ServerError::CodeForJoining),
            (Some(id), true) => {
                let id = Uuid::from_slice(&id)
                    .map_err(|_| ServerError::Corrupt("enroll_codes.user_id".into()))?;
                let user = authorize::user_record(&mut tx, UserId::new(id))
                    .await?
                    .filter(|u| u.active && authorize::acts_from(u, &office))
                    .ok_or(ServerError::BadEnrollCode)?;
                Some(user)
            }
        };
        // Never a takeover: the id's token, office and revocation stay as they are.
        if sqlx::query("SELECT 1 FROM devices WHERE id = ?")
            .bind(device.to_string())
            .fetch_optional(&mut *tx)
            .await?
            .is_some()
        {
            return Err(ServerError::DeviceExists);
        }
        let token = random_hex(32);
        sqlx::query("UPDATE enroll_codes SET used_by = ? WHERE code_hash = ?")
            .bind(device.to_string())
            .bind(self.code_hash(code))
            .execute(&mut *tx)
            .await?;
        sqlx::query(
            "INSERT INTO devices (id, name, office, token_hash, enrolled_at) VALUES (?, ?, ?, ?, ?)",
        )
        .bind(device.to_string())
        .bind(name)
        .bind(&office)
        .bind(hash_secret(&token))
        .bind(Utc::now().to_rfc3339())
        .execute(&mut *tx)
        .await?;
        tx.commit().await?;
        Ok(Enrolled {
            token,
            office,
            user,
        })
    }

    /// Whether `code` is an unused code that has not expired (read without the write lock).
    async fn code_usable(&self, code: &str) -> Result<bool, ServerError> {
        let expires: Option<String> = sqlx::query_scalar(
            "SELECT expires_at FROM enroll_codes WHERE code_hash = ? AND used_by IS NULL",
        )
        .bind(self.code_hash(code))
        .fetch_optional(&self.pool)
        .await?;
        Ok(expires.is_some_and(|at| at >= Utc::now().to_rfc3339()))
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
    /// Revoked devices go to the security log.
    pub async fn revoke_device(&self, device: &str) -> Result<bool, ServerError> {
        let office: Option<String> =
            sqlx::query_scalar("UPDATE devices SET revoked_at = ? WHERE id = ? RETURNING office")
                .bind(Utc::now().to_rfc3339())
                .bind(device.trim())
                .fetch_optional(&self.pool)
                .await?;
        let Some(office) = office else {
            return Ok(false);
        };
        self.log_security(&[NewEvent::new(
            SecurityKind::RevokeDevice,
            "dado de baja por la administración (reintegra-server revoke-device)",
        )
        .device(device.trim())
        .office(office)])
            .await;
        Ok(true)
    }

    /// The id of the revoked device a token was given to (for the security log).
    pub async fn revoked_device_of(&self, token: &str) -> Result<Option<String>, ServerError> {
        Ok(sqlx::query_scalar(
            "SELECT id FROM devices WHERE token_hash = ? AND revoked_at IS NOT NULL",
        )
        .bind(hash_secret(token))
        .fetch_optional(&self.pool)
        .await?)
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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_code_has_80_bits_in_four_readable_groups_and_reads_back_however_it_is_typed() {
        let code = new_code();
        assert_eq!(code.len(), 19, "{code}");
        let groups: Vec<&str> = code.split('-').collect();
        assert_eq!(groups.len(), 4, "{code}");
        assert!(groups
            .iter()
            .all(|g| g.len() == 4 && g.bytes().all(|b| BASE32.contains(&b))));
        assert_eq!(normalize_code(&code).len() * 5, CODE_BYTES * 8);
        assert_ne!(new_code(), code);
        assert_eq!(normalize_code(" 7k2m-q9xd 4hrt-b3nw"), "7K2MQ9XD4HRTB3NW");
        assert_eq!(normalize_code("OIL0-11"), "011011");
    }

    /// M5: a wrong code is refused while a push holds the write lock (it never waits for it).
    #[test]
    fn a_wrong_code_is_refused_without_waiting_for_the_write_lock() {
        let dir = tempfile::TempDir::new().unwrap_or_else(|e| panic!("{e}"));
        let rt = tokio::runtime::Runtime::new().unwrap_or_else(|e| panic!("{e}"));
        rt.block_on(async {
            let db = Db::open(dir.path()).await.unwrap_or_else(|e| panic!("{e}"));
            let _held = db.write.lock().await;
            let answer = tokio::time::timeout(
                std::time::Duration::from_secs(5),
                db.enroll(
                    "AAAA-BBBB-CCCC-DDDD",
                    DeviceId::new(Uuid::now_v7()),
                    "x",
                    false,
                ),
            )
            .await;
            assert!(
                matches!(answer, Ok(Err(ServerError::BadEnrollCode))),
                "{answer:?}"
            );
        });
    }

    #[test]
    fn the_code_key_is_made_once_and_kept() {
        let dir = tempfile::TempDir::new().unwrap_or_else(|e| panic!("{e}"));
        let key = code_key(dir.path()).unwrap_or_else(|e| panic!("{e}"));
        assert_eq!(code_key(dir.path()).ok(), Some(key));
        #[cfg(unix)]
        {
            use std::os::unix::fs::PermissionsExt;
            let mode = std::fs::metadata(dir.path().join(CODE_KEY_FILE))
                .map(|m| m.permissions().mode() & 0o777)
                .ok();
            assert_eq!(mode, Some(0o600));
        }
        let other = tempfile::TempDir::new().unwrap_or_else(|e| panic!("{e}"));
        assert_ne!(code_key(other.path()).ok(), Some(key));
    }
}
