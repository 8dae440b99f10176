//! Who acts. The server has users, not only devices: user records arrive as synced records
//! (kind `User`), and the author of every pushed op (and the resolver of every conflict) must be
//!
//! - a user the server knows whose record is `active`;
//! - who may act from the device: a user of the device's office, a user with no office (central
//!   staff) on any device, or any user on a device of every office (`*`);
//! - whose role may make the change, by core's permission table ([`User::may`]: the role's
//!   permissions, and a supervisor's too for an admin who also supervises).
//!
//! What a change needs ([`need`]):
//!
//! | record | needs |
//! |---|---|
//! | person | create: `RegisterArrivals`; an update of only a return, vulnerabilities or the family group (what reception does, [`RECEPTION_FIELDS`]): `RegisterArrivals`; anything else: `EditCases` |
//! | referral / follow-up / case note | `ManageReferrals` / `FollowUps` / `CaseNotes` |
//! | provider | `EditDirectory`; never deleted (deactivate it instead) |
//! | user | `ManageUsers`; never deleted (deactivate instead) |
//! | audit entry | any active user; append-only: never changed or deleted |
//!
//! A create of a record the server already has is an update of every field (the merge), so it
//! needs what an update needs: reception cannot overwrite a form by "creating" it again.
//!
//! Offices, besides the device's write scope ([`super::visibility::may_write`]): case work (every
//! person, referral, follow-up and note permission but `RegisterArrivals`) needs a user who works
//! the case's office ([`User::works_office`]): the person's office as it is on the server (a case
//! may be re-routed to another office), and for a referral, follow-up or note also the office of
//! the person it goes to. An admin with an office manages only users of that office (not
//! central staff: that would be a way out of its office).
//!
//! Bootstrap: a store's very first admin is made on a device (`Session::create_first_admin`)
//! before the server knows any user, and its user record goes up as a create authored by that
//! same user, whom the server does not know yet. Such a create is accepted only when the record
//! is that author's own user record, an active admin, who may act from the device, and the
//! server has no active admin for that office yet: none of the same office and none central (a
//! central admin manages every office). On an empty server that means the first admin wins; after
//! that, new admins are made by an admin. Anything else by an unknown author is refused.

use reintegra_core::ids::UserId;
use reintegra_core::merge::RecordState;
use reintegra_core::op::{Action, EntityKind, Op};
use reintegra_core::permission::Permission;
use reintegra_core::sync_state::{canonical_json, ALL_OFFICES};
use reintegra_core::user::{Role, User};
use serde_json::{Map, Value};
use sqlx::{Row, Sqlite, Transaction};
use uuid::Uuid;

use super::apply::load_record;
use super::{from_json, DeviceRow};
use crate::error::ServerError;

/// The fields of a person reception changes after registering it: a return event (with the
/// arrival's vulnerabilities) and the family group a new relative joins. `updated_at` goes
/// with each.
pub(super) const RECEPTION_FIELDS: [&str; 4] = [
    "return_events",
    "vulnerabilities",
    "family_group",
    "updated_at",
];

/// A change as the checks see it.
pub(super) struct Subject<'a> {
    pub op: &'a Op,
    /// The record as the server has it (`None`: it has none).
    pub before: Option<&'a Map<String, Value>>,
    /// The record as the op asks to leave it, whether or not each field wins the merge (a
    /// losing value waits in the conflict queue and may still be chosen). `None`: deleted.
    pub after: Option<&'a Map<String, Value>>,
    /// The office the record belongs to on the server now (`Some("")`: a case with no known
    /// office), and the one the op asks for.
    pub office_before: Option<&'a str>,
    pub office_after: Option<&'a str>,
}

/// What a change needs from its author.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum Need {
    /// Any active user who may act from the device.
    AnyUser,
    Permission(Permission),
    /// Nobody may make it: why.
    Nobody(&'static str),
}

const NEVER_DELETED: &str =
    "los usuarios y los proveedores no se borran: desactívelos (un borrado no tiene vuelta atrás en ningún dispositivo)";
const APPEND_ONLY: &str =
    "la bitácora de auditoría solo admite entradas nuevas: una entrada no se cambia ni se borra";

/// What `s` needs from its author (the table of the module doc).
pub(super) fn need(s: &Subject<'_>) -> Need {
    let kind = s.op.change.entity;
    let action = &s.op.change.action;
    let exists = s.before.is_some();
    match (kind, action) {
        (EntityKind::User | EntityKind::Provider, Action::Delete) => Need::Nobody(NEVER_DELETED),
        // Sending the same entry again changes nothing.
        (EntityKind::Audit, Action::Create { record }) => match s.before {
            None => Need::AnyUser,
            Some(before)
                if canonical_json(&Value::Object(before.clone())) == canonical_json(record) =>
            {
                Need::AnyUser
            }
            Some(_) => Need::Nobody(APPEND_ONLY),
        },
        (EntityKind::Audit, _) => Need::Nobody(APPEND_ONLY),
        (EntityKind::Person, Action::Create { .. }) if !exists => {
            Need::Permission(Permission::RegisterArrivals)
        }
        (EntityKind::Person, Action::Update { fields })
            if exists
                && fields
                    .keys()
                    .all(|k| RECEPTION_FIELDS.contains(&k.as_str())) =>
        {
            Need::Permission(Permission::RegisterArrivals)
        }
        (EntityKind::Person, _) => Need::Permission(Permission::EditCases),
        (EntityKind::Referral, _) => Need::Permission(Permission::ManageReferrals),
        (EntityKind::FollowUp, _) => Need::Permission(Permission::FollowUps),
        (EntityKind::CaseNote, _) => Need::Permission(Permission::CaseNotes),
        (EntityKind::Provider, _) => Need::Permission(Permission::EditDirectory),
        (EntityKind::User, _) => Need::Permission(Permission::ManageUsers),
    }
}

/// Whether `s` may be applied: `Err` says why not, in words for the person at the device.
pub(super) async fn authorize(
    tx: &mut Transaction<'_, Sqlite>,
    device: &DeviceRow,
    s: &Subject<'_>,
) -> Result<Result<(), String>, ServerError> {
    let need = need(s);
    if let Need::Nobody(why) = need {
        return Ok(Err(why.to_string()));
    }
    let author = match acting_user(tx, device, s.op.author).await? {
        Ok(author) => author,
        // Only an author the server does not know can be a bootstrap: the record it creates
        // is its own, so a known author (inactive, of another office) has it already.
        Err(why) => {
            return Ok(if is_bootstrap(tx, device, s).await? {
                Ok(())
            } else {
                Err(why)
            });
        }
    };
    if let Need::Permission(permission) = need {
        if !author.may(permission) {
            return Ok(Err(role_may_not(author.role, permission)));
        }
    }
    let case_work = matches!(need, Need::Permission(p) if p != Permission::RegisterArrivals);
    match s.op.change.entity {
        EntityKind::Person
            if case_work
                && s.before.is_some()
                && !author.works_office(case_office(s.office_before)) =>
        {
            return Ok(Err(OTHER_OFFICES_CASE.into()));
        }
        EntityKind::Referral | EntityKind::FollowUp | EntityKind::CaseNote if case_work => {
            let before_ok = s.before.is_none() || author.works_office(case_office(s.office_before));
            let after_ok = s.after.is_none() || author.works_office(case_office(s.office_after));
            if !(before_ok && after_ok) {
                return Ok(Err(OTHER_OFFICES_CASE.into()));
            }
        }
        EntityKind::User => {
            let offices = [s.before, s.after].into_iter().flatten().map(user_office);
            for office in offices {
                if !author.works_office(office) {
                    return Ok(Err(
                        "un administrador de una oficina solo gestiona usuarios de su oficina"
                            .into(),
                    ));
                }
            }
        }
        _ => {}
    }
    Ok(Ok(()))
}

const OTHER_OFFICES_CASE: &str = "el autor de este cambio no trabaja los casos de esa oficina";

/// The user `id` if they may act from `device`: known, active, and of the device's office (or
/// central, or on a device of every office). `Err`: why not.
pub(super) async fn acting_user(
    tx: &mut Transaction<'_, Sqlite>,
    device: &DeviceRow,
    id: UserId,
) -> Result<Result<User, String>, ServerError> {
    let Some(user) = user_record(tx, id).await? else {
        return Ok(Err(format!(
            "el autor de este cambio (usuario {id}) no es un usuario conocido por el servidor: su ficha de usuario debe llegar antes, creada por un administrador"
        )));
    };
    if !user.active {
        return Ok(Err(
            "el autor de este cambio es un usuario desactivado".to_string()
        ));
    }
    if !acts_from(&user, &device.office) {
        return Ok(Err(format!(
            "el autor de este cambio es de la oficina {} y este dispositivo es de la oficina {}",
            user.office_municipality.as_deref().unwrap_or_default(),
            device.office
        )));
    }
    Ok(Ok(user))
}

/// Whether `user` may act from a device of `office`.
pub(super) fn acts_from(user: &User, office: &str) -> bool {
    match &user.office_municipality {
        None => true,
        Some(mine) => office == ALL_OFFICES || mine == office,
    }
}

/// The office a case belongs to, as [`User::works_office`] takes it (`""`: none known).
pub(super) fn case_office(office: Option<&str>) -> Option<&str> {
    office.filter(|o| !o.is_empty())
}

fn user_office(record: &Map<String, Value>) -> Option<&str> {
    record.get("office_municipality").and_then(Value::as_str)
}

/// A user as the server has their record (`None`: no record, deleted, or not a user).
pub(super) async fn user_record(
    tx: &mut Transaction<'_, Sqlite>,
    id: UserId,
) -> Result<Option<User>, ServerError> {
    let Some(stored) = load_record(tx, EntityKind::User, id.as_uuid()).await? else {
        return Ok(None);
    };
    Ok(stored
        .state
        .value
        .and_then(|v| serde_json::from_value::<User>(Value::Object(v)).ok())
        .filter(|u| u.id == id))
}

/// The bootstrap of the module doc: the author's own user record, an active admin who may act
/// from the device, created while the server has no active admin for that office.
async fn is_bootstrap(
    tx: &mut Transaction<'_, Sqlite>,
    device: &DeviceRow,
    s: &Subject<'_>,
) -> Result<bool, ServerError> {
    let (EntityKind::User, Action::Create { record }) = (s.op.change.entity, &s.op.change.action)
    else {
        return Ok(false);
    };
    if s.before.is_some() || s.op.change.id != s.op.author.as_uuid() {
        return Ok(false);
    }
    let Ok(user) = serde_json::from_value::<User>(record.clone()) else {
        return Ok(false);
    };
    if user.id != s.op.author
        || user.role != Role::Admin
        || !user.active
        || !acts_from(&user, &device.office)
    {
        return Ok(false);
    }
    Ok(!has_admin_for(tx, user.office_municipality.as_deref()).await?)
}

/// Whether an active admin manages `office` (`None`: central): one of that office, or a
/// central one.
async fn has_admin_for(
    tx: &mut Transaction<'_, Sqlite>,
    office: Option<&str>,
) -> Result<bool, ServerError> {
    Ok(users(tx).await?.iter().any(|user| {
        user.active
            && user.role == Role::Admin
            && (user.office_municipality.is_none() || user.office_municipality.as_deref() == office)
    }))
}

/// The active user who signs in as `login` (case-blind) and may act from a device of `office`.
pub(super) async fn active_user_by_login(
    tx: &mut Transaction<'_, Sqlite>,
    login: &str,
    office: &str,
) -> Result<Option<User>, ServerError> {
    let wanted = login.trim().to_lowercase();
    Ok(users(tx).await?.into_iter().find(|user| {
        user.active && user.login().trim().to_lowercase() == wanted && acts_from(user, office)
    }))
}

/// Every user record the server holds (records that are not a readable user are skipped).
async fn users(tx: &mut Transaction<'_, Sqlite>) -> Result<Vec<User>, ServerError> {
    let rows = sqlx::query("SELECT id, state FROM records WHERE kind = ?")
        .bind(i64::from(EntityKind::User.code()))
        .fetch_all(&mut **tx)
        .await?;
    let mut users = Vec::with_capacity(rows.len());
    for row in rows {
        let state: RecordState = from_json(row.get::<&str, _>(1))?;
        let Some(value) = state.value else { continue };
        let Ok(user) = serde_json::from_value::<User>(Value::Object(value)) else {
            continue;
        };
        if Uuid::from_slice(row.get::<&[u8], _>(0)).ok() == Some(user.id.as_uuid()) {
            users.push(user);
        }
    }
    Ok(users)
}

fn role_words(role: Role) -> &'static str {
    match role {
        Role::Admin => "administración",
        Role::Supervisor => "supervisión",
        Role::Caseworker => "gestión de casos",
        Role::Reception => "recepción",
    }
}

fn permission_words(permission: Permission) -> &'static str {
    match permission {
        Permission::RegisterArrivals => "registrar ingresos",
        Permission::EditCases => "editar casos",
        Permission::ManageReferrals => "gestionar referencias",
        Permission::CaseNotes => "escribir notas de caso",
        Permission::FollowUps => "gestionar seguimientos",
        Permission::EditDirectory => "editar el directorio de proveedores",
        Permission::ManageUsers => "gestionar usuarios",
        Permission::ResolveConflicts => "resolver conflictos",
        _ => "hacer este cambio",
    }
}

/// Why a role may not: "el rol del autor (recepción) no permite editar casos".
pub(super) fn role_may_not(role: Role, permission: Permission) -> String {
    format!(
        "el rol del autor ({}) no permite {}",
        role_words(role),
        permission_words(permission)
    )
}

#[cfg(test)]
mod tests {
    use super::*;
    use reintegra_core::hlc::Hlc;
    use reintegra_core::ids::DeviceId;
    use reintegra_core::op::Change;
    use serde_json::json;

    fn op(entity: EntityKind, action: Action) -> Op {
        Op {
            op_id: Uuid::now_v7(),
            author: UserId::new(Uuid::from_u128(1)),
            device: DeviceId::new(Uuid::from_u128(2)),
            hlc: Hlc::zero(1),
            base_seq: 0,
            change: Change {
                entity,
                id: Uuid::from_u128(3),
                action,
            },
        }
    }

    fn need_of(op: &Op, before: Option<&Map<String, Value>>) -> Need {
        need(&Subject {
            op,
            before,
            after: None,
            office_before: None,
            office_after: None,
        })
    }

    fn map(v: Value) -> Map<String, Value> {
        v.as_object().cloned().unwrap_or_default()
    }

    #[test]
    fn each_change_needs_what_the_table_says() {
        use Permission::*;
        let existing = map(json!({"given_names": "Ana", "action": "create"}));
        let create = |record: Value| Action::Create { record };
        let update = |fields: Value| Action::Update {
            fields: map(fields),
        };
        let cases = [
            (
                EntityKind::Person,
                create(json!({})),
                None,
                Need::Permission(RegisterArrivals),
            ),
            (
                EntityKind::Person,
                create(json!({})),
                Some(&existing),
                Need::Permission(EditCases),
            ),
            (
                EntityKind::Person,
                update(json!({"return_events": [], "updated_at": "x"})),
                Some(&existing),
                Need::Permission(RegisterArrivals),
            ),
            (
                EntityKind::Person,
                update(json!({"phone": "1", "updated_at": "x"})),
                Some(&existing),
                Need::Permission(EditCases),
            ),
            (
                EntityKind::Person,
                Action::Delete,
                Some(&existing),
                Need::Permission(EditCases),
            ),
            (
                EntityKind::Referral,
                create(json!({})),
                None,
                Need::Permission(ManageReferrals),
            ),
            (
                EntityKind::FollowUp,
                update(json!({})),
                None,
                Need::Permission(FollowUps),
            ),
            (
                EntityKind::CaseNote,
                create(json!({})),
                None,
                Need::Permission(CaseNotes),
            ),
            (
                EntityKind::Provider,
                update(json!({})),
                None,
                Need::Permission(EditDirectory),
            ),
            (
                EntityKind::Provider,
                Action::Delete,
                None,
                Need::Nobody(NEVER_DELETED),
            ),
            (
                EntityKind::User,
                create(json!({})),
                None,
                Need::Permission(ManageUsers),
            ),
            (
                EntityKind::User,
                Action::Delete,
                None,
                Need::Nobody(NEVER_DELETED),
            ),
            (
                EntityKind::Audit,
                create(json!({"a": 1})),
                None,
                Need::AnyUser,
            ),
            (
                EntityKind::Audit,
                create(json!({"given_names": "Ana"})),
                Some(&existing),
                Need::Nobody(APPEND_ONLY),
            ),
            (
                EntityKind::Audit,
                update(json!({"a": 2})),
                Some(&existing),
                Need::Nobody(APPEND_ONLY),
            ),
            (
                EntityKind::Audit,
                Action::Delete,
                Some(&existing),
                Need::Nobody(APPEND_ONLY),
            ),
        ];
        for (kind, action, before, expected) in cases {
            let op = op(kind, action);
            assert_eq!(need_of(&op, before), expected, "{:?}", op.change);
        }
        // The same audit entry sent again is harmless.
        let entry = json!({"summary": "x", "none": null});
        let op = op(EntityKind::Audit, create(entry));
        assert_eq!(
            need_of(&op, Some(&map(json!({"summary": "x"})))),
            Need::AnyUser
        );
    }

    #[test]
    fn who_acts_from_which_device() {
        // From JSON: the record as it arrives (fields added later have defaults).
        let mut u: User = serde_json::from_value(json!({
            "id": Uuid::from_u128(1), "name": "Ana", "role": "caseworker",
            "office_municipality": "SV-US-UE", "active": true
        }))
        .unwrap_or_else(|e| panic!("{e}"));
        assert!(acts_from(&u, "SV-US-UE") && acts_from(&u, ALL_OFFICES));
        assert!(!acts_from(&u, "SV-SS-CE"));
        u.office_municipality = None;
        assert!(acts_from(&u, "SV-SS-CE") && acts_from(&u, ALL_OFFICES));
        assert_eq!(case_office(Some("")), None);
        assert_eq!(
            role_may_not(Role::Reception, Permission::EditCases),
            "el rol del autor (recepción) no permite editar casos"
        );
    }
}
