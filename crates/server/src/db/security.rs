//! The server's security log: one row per event that says who tried what (enrollments made
//! and refused, tokens refused, devices revoked, conflicts resolved, ops refused by
//! authorization), for an administrator to read with `reintegra-server security-log`.
//!
//! Rows are only ever added. Their texts may carry what a client sent (a device name, a
//! reason naming a user): they are kept as they came and escaped when printed. Writing a row
//! never fails a request: a failure to write one is written to the server's log instead.

use chrono::{DateTime, NaiveDate, SecondsFormat, Utc};
use sqlx::Row;

use super::Db;
use crate::error::ServerError;

/// What happened.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SecurityKind {
    /// A device enrolled.
    Enroll,
    /// An enrollment was refused (a wrong or spent code, a known device id, a bad name…).
    EnrollRefused,
    /// A request came with a token the server does not know, or of a revoked device.
    AuthFailed,
    /// An administrator revoked a device.
    RevokeDevice,
    /// A supervisor resolved a conflict.
    ResolveConflict,
    /// An op (or a resolution) was refused: its author may not make it, it is outside the
    /// device's office, it is another device's, or its list is too long.
    OpRefused,
}

impl SecurityKind {
    pub fn as_str(self) -> &'static str {
        match self {
            SecurityKind::Enroll => "enroll",
            SecurityKind::EnrollRefused => "enroll_refused",
            SecurityKind::AuthFailed => "auth_failed",
            SecurityKind::RevokeDevice => "revoke_device",
            SecurityKind::ResolveConflict => "resolve_conflict",
            SecurityKind::OpRefused => "op_refused",
        }
    }
}

/// One row of the log.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SecurityEvent {
    /// When (UTC, RFC 3339 with milliseconds: rows sort by it as text).
    pub at: String,
    pub kind: String,
    pub device: Option<String>,
    pub office: Option<String>,
    pub user: Option<String>,
    pub detail: String,
}

/// An event about to be written.
#[derive(Debug, Clone)]
pub struct NewEvent {
    pub kind: SecurityKind,
    pub device: Option<String>,
    pub office: Option<String>,
    pub user: Option<String>,
    pub detail: String,
}

impl NewEvent {
    pub fn new(kind: SecurityKind, detail: impl Into<String>) -> NewEvent {
        NewEvent {
            kind,
            device: None,
            office: None,
            user: None,
            detail: detail.into(),
        }
    }

    pub fn device(mut self, device: impl ToString) -> NewEvent {
        self.device = Some(device.to_string());
        self
    }

    pub fn office(mut self, office: impl ToString) -> NewEvent {
        self.office = Some(office.to_string());
        self
    }

    pub fn user(mut self, user: impl ToString) -> NewEvent {
        self.user = Some(user.to_string());
        self
    }
}

fn now() -> String {
    Utc::now().to_rfc3339_opts(SecondsFormat::Millis, true)
}

/// A `--since` as typed: a date (`2026-12-01`, from its start, UTC) or an RFC 3339 instant.
pub fn parse_since(text: &str) -> Result<String, ServerError> {
    let text = text.trim();
    if let Ok(date) = NaiveDate::parse_from_str(text, "%Y-%m-%d") {
        if let Some(start) = date.and_hms_opt(0, 0, 0) {
            return Ok(start.and_utc().to_rfc3339_opts(SecondsFormat::Millis, true));
        }
    }
    DateTime::parse_from_rfc3339(text)
        .map(|t| {
            t.with_timezone(&Utc)
                .to_rfc3339_opts(SecondsFormat::Millis, true)
        })
        .map_err(|_| {
            ServerError::BadRequest(format!(
                "«{text}» no es una fecha (AAAA-MM-DD) ni un instante RFC 3339"
            ))
        })
}

impl Db {
    /// Writes events (never failing the request that caused them).
    pub async fn log_security(&self, events: &[NewEvent]) {
        if events.is_empty() {
            return;
        }
        if let Err(e) = self.write_events(events).await {
            crate::log::error("security_events", &e);
        }
    }

    async fn write_events(&self, events: &[NewEvent]) -> Result<(), ServerError> {
        let at = now();
        let mut tx = self.pool.begin().await?;
        for e in events {
            sqlx::query(
                "INSERT INTO security_events (at, kind, device, office, user, detail)
                 VALUES (?, ?, ?, ?, ?, ?)",
            )
            .bind(&at)
            .bind(e.kind.as_str())
            .bind(&e.device)
            .bind(&e.office)
            .bind(&e.user)
            .bind(&e.detail)
            .execute(&mut *tx)
            .await?;
        }
        tx.commit().await?;
        Ok(())
    }

    /// The log, oldest first, from `since` (as [`parse_since`] gives it) on.
    pub async fn security_events(
        &self,
        since: Option<&str>,
    ) -> Result<Vec<SecurityEvent>, ServerError> {
        let rows = sqlx::query(
            "SELECT at, kind, device, office, user, detail FROM security_events
             WHERE at >= ? ORDER BY id",
        )
        .bind(since.unwrap_or(""))
        .fetch_all(&self.pool)
        .await?;
        Ok(rows
            .into_iter()
            .map(|r| SecurityEvent {
                at: r.get(0),
                kind: r.get(1),
                device: r.get(2),
                office: r.get(3),
                user: r.get(4),
                detail: r.get(5),
            })
            .collect())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn since_is_a_date_or_an_instant_in_one_comparable_form() {
        assert_eq!(
            parse_since("2026-12-01").ok().as_deref(),
            Some("2026-12-01T00:00:00.000Z")
        );
        assert_eq!(
            parse_since("2026-12-01T08:30:00-06:00").ok().as_deref(),
            Some("2026-12-01T14:30:00.000Z")
        );
        assert!(parse_since("ayer").is_err());
    }
}
