//! Supervision commands: the duplicate queue (likely pairs, merge, "not the same person") and
//! the indicators and the office-wide referral and follow-up lists.
//! Wiring only: the rules, including who may do this, are in `reintegra-api`.

use reintegra_api::{DuplicatePair, FollowUpPage, FollowUpQuery, ReferralPage, ReferralQuery};
use reintegra_core::ids::PersonId;
use reintegra_core::indicators::{IndicatorFilter, Indicators};
use reintegra_core::person::Person;
use tauri::State;

use crate::error::CommandError;
use crate::session::AppSession;

// Off the window's thread: it may wait for the cases read behind the screen.
#[tauri::command(async)]
pub fn duplicates_list(session: State<'_, AppSession>) -> Result<Vec<DuplicatePair>, CommandError> {
    Ok(session.get()?.likely_duplicates(crate::clock::now())?)
}

#[tauri::command]
pub fn duplicates_merge(
    session: State<'_, AppSession>,
    kept: PersonId,
    absorbed: PersonId,
) -> Result<Person, CommandError> {
    Ok(session
        .get()?
        .merge_persons(kept, absorbed, crate::clock::now())?)
}

#[tauri::command]
pub fn duplicates_not_same(
    session: State<'_, AppSession>,
    a: PersonId,
    b: PersonId,
) -> Result<(), CommandError> {
    Ok(session
        .get()?
        .mark_not_same_person(a, b, crate::clock::now())?)
}

// Off the window's thread: it may wait for the cases read behind the screen.
#[tauri::command(async)]
pub fn indicators(
    session: State<'_, AppSession>,
    filter: IndicatorFilter,
) -> Result<Indicators, CommandError> {
    Ok(session.get()?.indicators(&filter, crate::clock::now())?)
}

#[tauri::command]
pub fn office_referrals(
    session: State<'_, AppSession>,
    query: ReferralQuery,
) -> Result<ReferralPage, CommandError> {
    Ok(session
        .get()?
        .office_referrals(&query, crate::clock::now())?)
}

#[tauri::command]
pub fn office_follow_ups(
    session: State<'_, AppSession>,
    query: FollowUpQuery,
) -> Result<FollowUpPage, CommandError> {
    Ok(session
        .get()?
        .office_follow_ups(&query, crate::clock::now())?)
}

/// Everything held about one person, for the person (subject access). Audited in the api.
#[tauri::command]
pub fn subject_access(
    session: State<'_, AppSession>,
    person_id: PersonId,
) -> Result<reintegra_api::SubjectAccess, CommandError> {
    Ok(session
        .get()?
        .subject_access(person_id, crate::clock::now())?)
}

/// The same as a JSON file saved in `directory` (never over another file).
#[tauri::command]
pub fn subject_access_save(
    session: State<'_, AppSession>,
    person_id: PersonId,
    directory: String,
) -> Result<reintegra_api::SavedFile, CommandError> {
    let file = session
        .get()?
        .subject_access_file(person_id, crate::clock::now())?;
    Ok(reintegra_api::save_in(
        std::path::Path::new(directory.trim()),
        &file,
    )?)
}

/// "Auditoría": the office's audit trail, filtered.
#[tauri::command(async)]
pub fn audit_log(
    session: State<'_, AppSession>,
    query: reintegra_api::AuditQuery,
) -> Result<reintegra_api::AuditPage, CommandError> {
    Ok(session.get()?.audit_log(&query)?)
}
