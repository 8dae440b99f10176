//! Who may do what: the one permission table (role × permission) and the office scope of case
//! work. The api checks it at the top of every command, the server for every op it accepts, and
//! the UI reads it to show each role only what it may use.

use serde::{Deserialize, Serialize};
use ts_rs::TS;

use crate::user::{Role, User};

/// Something a user may be allowed to do.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize, TS)]
#[serde(rename_all = "snake_case")]
pub enum Permission {
    /// Register arrivals and returns, and use the returning-person panel.
    RegisterArrivals,
    /// The caseload and a person's whole form (reception: only what it registered today).
    ReadCases,
    /// Edit the single form: identity, profile, routing, returns, consent.
    EditCases,
    /// Needs assessment, goals, closing and reopening a case.
    WorkPlans,
    /// Create, move and export referrals (seed capital included).
    ManageReferrals,
    /// Case notes (sensitive ones by `CaseNote::readable_by`).
    CaseNotes,
    /// Follow-ups and "Hoy".
    FollowUps,
    /// The supervisor's duplicate queue: merge forms, mark different people.
    DuplicateQueue,
    /// The server's conflict queue.
    ResolveConflicts,
    /// Indicators and exports for reports.
    Reports,
    /// Import an office's spreadsheet of persons and returns (many forms in one batch).
    ImportData,
    /// A person's own data — everything held about them, exported for them (subject access) —
    /// and the audit trail of who did what with whose data.
    PersonalData,
    /// Add, change and remove service providers.
    EditDirectory,
    /// Users of this device and the office: create, reset, deactivate.
    ManageUsers,
    /// Enroll this device, change its server.
    ManageDevice,
    /// Sync and see the sync state.
    Sync,
}

impl Permission {
    pub const ALL: [Permission; 16] = [
        Permission::RegisterArrivals,
        Permission::ReadCases,
        Permission::EditCases,
        Permission::WorkPlans,
        Permission::ManageReferrals,
        Permission::CaseNotes,
        Permission::FollowUps,
        Permission::DuplicateQueue,
        Permission::ResolveConflicts,
        Permission::Reports,
        Permission::ImportData,
        Permission::PersonalData,
        Permission::EditDirectory,
        Permission::ManageUsers,
        Permission::ManageDevice,
        Permission::Sync,
    ];
}

impl Role {
    pub const ALL: [Role; 4] = [
        Role::Reception,
        Role::Caseworker,
        Role::Supervisor,
        Role::Admin,
    ];

    /// The permission table. Reception registers and routes; caseworkers work cases;
    /// supervisors work cases and supervise; admins run the system and see no case content.
    pub fn may(self, permission: Permission) -> bool {
        use Permission::*;
        match self {
            Role::Reception => matches!(permission, RegisterArrivals | ReadCases | Sync),
            Role::Caseworker => matches!(
                permission,
                RegisterArrivals
                    | ReadCases
                    | EditCases
                    | WorkPlans
                    | ManageReferrals
                    | CaseNotes
                    | FollowUps
                    | Sync
            ),
            Role::Supervisor => !matches!(permission, ManageUsers | ManageDevice),
            Role::Admin => matches!(
                permission,
                EditDirectory | ManageUsers | ManageDevice | Sync
            ),
        }
    }

    /// Everything this role may do, for the UI.
    pub fn permissions(self) -> Vec<Permission> {
        Permission::ALL
            .into_iter()
            .filter(|p| self.may(*p))
            .collect()
    }

    /// Reception sees only the cases it registered today; the others see their office's.
    pub fn sees_only_own_registrations(self) -> bool {
        self == Role::Reception
    }
}

impl User {
    pub fn may(&self, permission: Permission) -> bool {
        self.active
            && (self.role.may(permission)
                || (self.also_supervisor && Role::Supervisor.may(permission)))
    }

    /// Everything this user may do, for the UI (which shows nothing else).
    pub fn permissions(&self) -> Vec<Permission> {
        Permission::ALL
            .into_iter()
            .filter(|p| self.may(*p))
            .collect()
    }

    /// Whether the user works cases of `office` (a municipality code; `None` when the case has no
    /// known destination yet). Central staff (no office) work every office's cases.
    pub fn works_office(&self, office: Option<&str>) -> bool {
        match (&self.office_municipality, office) {
            (None, _) => true,
            (Some(mine), Some(theirs)) => mine == theirs,
            (Some(_), None) => false,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::ids::UserId;
    use uuid::Uuid;

    #[test]
    fn the_table_says_what_each_role_may_do() {
        use Permission::*;
        assert_eq!(
            Role::Reception.permissions(),
            [RegisterArrivals, ReadCases, Sync]
        );
        assert!(!Role::Reception.may(CaseNotes) && !Role::Reception.may(WorkPlans));
        assert!(!Role::Reception.may(ManageReferrals));
        assert!(Role::Caseworker.may(ManageReferrals) && !Role::Caseworker.may(DuplicateQueue));
        assert!(Role::Supervisor.may(ResolveConflicts) && Role::Supervisor.may(DuplicateQueue));
        assert!(!Role::Supervisor.may(ManageUsers));
        assert!(Role::Admin.may(ManageUsers) && Role::Admin.may(EditDirectory));
        for content in [ReadCases, EditCases, CaseNotes, WorkPlans, RegisterArrivals] {
            assert!(
                !Role::Admin.may(content),
                "admins see no case content: {content:?}"
            );
        }
    }

    #[test]
    fn a_deactivated_user_may_nothing_and_offices_scope_case_work() {
        let mut u = User {
            id: UserId::new(Uuid::from_u128(1)),
            name: "Ana".into(),
            login: String::new(),
            role: Role::Supervisor,
            office_municipality: Some("SV-US-UE".into()),
            active: true,
            also_supervisor: false,
        };
        assert!(u.works_office(Some("SV-US-UE")));
        assert!(!u.works_office(Some("SV-SS-CE")) && !u.works_office(None));
        u.office_municipality = None;
        assert!(u.works_office(Some("SV-SS-CE")) && u.works_office(None));
        u.role = Role::Admin;
        assert!(!u.may(Permission::ReadCases));
        u.also_supervisor = true;
        assert!(u.may(Permission::ReadCases) && u.may(Permission::ManageUsers));
        u.active = false;
        assert!(Permission::ALL.iter().all(|p| !u.may(*p)));
    }
}
