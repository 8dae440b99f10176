//! Staff who use the app, their roles, and the devices they sync from.

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use ts_rs::TS;

use crate::ids::{DeviceId, UserId};
use crate::validation::ValidationErrors;

#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize, TS)]
#[serde(rename_all = "snake_case")]
pub enum Role {
    /// Users, devices, service directory, revocation. Not case content.
    Admin,
    /// Syncs, resolves conflicts, sees indicators, exports reports.
    Supervisor,
    /// Follows a caseload: plans, referrals, follow-ups, notes.
    Caseworker,
    /// Registers arrivals at a reception center.
    Reception,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, TS)]
pub struct User {
    pub id: UserId,
    pub name: String,
    /// What the user types to sign in (older records: empty, the name is the login).
    #[serde(default)]
    pub login: String,
    pub role: Role,
    /// The municipality code of the office the user works for, which scopes the cases their
    /// devices sync. `None` for central staff who see every municipality.
    pub office_municipality: Option<String>,
    /// Deactivated users keep their history (authorship, audit) but cannot sign in.
    pub active: bool,
    /// An admin who also supervises cases (admins see no case content otherwise). The first user
    /// of a device is one, so a one-person office can work from its first day.
    #[serde(default)]
    pub also_supervisor: bool,
}

impl User {
    /// What the user types to sign in.
    pub fn login(&self) -> &str {
        if self.login.trim().is_empty() {
            &self.name
        } else {
            &self.login
        }
    }

    pub fn validate(&self) -> Result<(), ValidationErrors> {
        let mut e = ValidationErrors::new();
        e.require_text("name", &self.name);
        if let Some(m) = &self.office_municipality {
            e.known_municipality("office_municipality", m);
        }
        e.into_result()
    }
}

/// A laptop enrolled to sync. Revoking it makes the server tell it to wipe its store.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, TS)]
pub struct Device {
    pub id: DeviceId,
    pub name: String,
    pub enrolled_at: DateTime<Utc>,
    pub revoked_at: Option<DateTime<Utc>>,
}

impl Device {
    pub fn is_revoked(&self, at: DateTime<Utc>) -> bool {
        self.revoked_at.is_some_and(|r| r <= at)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::TimeZone;
    use uuid::Uuid;

    fn user(role: Role) -> User {
        User {
            id: UserId::new(Uuid::from_u128(1)),
            name: "Ana Martínez".into(),
            login: String::new(),
            role,
            office_municipality: None,
            active: true,
            also_supervisor: false,
        }
    }

    #[test]
    fn validation_rules() {
        assert_eq!(user(Role::Caseworker).validate(), Ok(()));
        let mut u = user(Role::Caseworker);
        u.name = " ".into();
        u.office_municipality = Some("nope".into());
        let e = u.validate().expect_err("invalid");
        assert!(e.has("name", "required"));
        assert!(e.has("office_municipality", "unknown_municipality"));
    }

    #[test]
    fn device_is_revoked_from_the_revocation_instant() {
        let t = |h| {
            Utc.with_ymd_and_hms(2025, 1, 1, h, 0, 0)
                .single()
                .expect("valid time")
        };
        let mut d = Device {
            id: DeviceId::new(Uuid::from_u128(5)),
            name: "Laptop Jiquilisco".into(),
            enrolled_at: t(0),
            revoked_at: None,
        };
        assert!(!d.is_revoked(t(5)));
        d.revoked_at = Some(t(3));
        assert!(!d.is_revoked(t(2)));
        assert!(d.is_revoked(t(3)));
    }

    #[test]
    fn json_shape() {
        let v = serde_json::to_value(user(Role::Reception)).expect("serialize");
        assert_eq!(v["role"], "reception");
        assert_eq!(
            serde_json::from_value::<User>(v).expect("deserialize"),
            user(Role::Reception)
        );
    }
}
