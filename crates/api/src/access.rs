//! Who may do what, enforced: every command checks core's permission table
//! (`reintegra_core::permission`) first, and every command about one case checks the case's
//! scope (the user's office; reception: only the people it registered today).

use chrono::NaiveDate;
use reintegra_core::audit::AuditAction;
use reintegra_core::calendar::today_in_el_salvador;
use reintegra_core::ids::PersonId;
use reintegra_core::permission::Permission;
use reintegra_core::person::Person;
use reintegra_core::user::User;
use reintegra_store::Store;

use crate::cases::{CaseSummary, Cases};
use crate::{ApiError, Result, Session};

/// `forbidden` unless the user (active) has `permission`.
pub(crate) fn require(user: &User, permission: Permission) -> Result<()> {
    if user.may(permission) {
        Ok(())
    } else {
        Err(ApiError::Forbidden)
    }
}

/// Whether `user` registered `person` on `today` (reception sees only those).
fn registered_today_by(
    store: &Store,
    user: &User,
    person: PersonId,
    today: NaiveDate,
) -> Result<bool> {
    Ok(store.audit_of(person.as_uuid())?.iter().any(|a| {
        a.action == AuditAction::Create && a.user == user.id && today_in_el_salvador(a.at) == today
    }))
}

/// Whether the user may see and work on this case.
pub(crate) fn sees_case(
    store: &Store,
    user: &User,
    case: &CaseSummary,
    today: NaiveDate,
) -> Result<bool> {
    if user.role.sees_only_own_registrations() {
        return Ok(case.created_on == today && registered_today_by(store, user, case.id, today)?);
    }
    Ok(user.works_office(case.municipality.as_deref()))
}

/// `forbidden` unless the user may see and work on `person`'s case.
pub(crate) fn require_case(
    store: &Store,
    user: &User,
    person: &Person,
    today: NaiveDate,
) -> Result<()> {
    if sees_case(store, user, &CaseSummary::of(person), today)? {
        Ok(())
    } else {
        Err(ApiError::Forbidden)
    }
}

/// Loads a person whose case the user may work on.
pub(crate) fn case_of(
    store: &Store,
    user: &User,
    id: PersonId,
    today: NaiveDate,
) -> Result<Person> {
    let person = store.person(id)?.ok_or(ApiError::NotFound)?;
    require_case(store, user, &person, today)?;
    Ok(person)
}

/// Loads a person whose case the user may work on, for commands that reception never uses
/// (reception's scope depends on the day; these commands take none).
pub(crate) fn office_case(store: &Store, user: &User, id: PersonId) -> Result<Person> {
    let person = store.person(id)?.ok_or(ApiError::NotFound)?;
    if user.role.sees_only_own_registrations() || !user.works_office(person.office()) {
        return Err(ApiError::Forbidden);
    }
    Ok(person)
}

impl Session {
    /// Runs `f` on the unlocked store if the signed-in user has `permission`.
    pub(crate) fn with_permission<T>(
        &self,
        permission: Permission,
        f: impl FnOnce(&Store, &User, &mut Cases) -> Result<T>,
    ) -> Result<T> {
        self.with_unlocked(|store, user, cases| {
            require(user, permission)?;
            f(store, user, cases)
        })
    }
}
