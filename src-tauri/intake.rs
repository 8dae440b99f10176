//! Intake and caseload commands: register an arrival, a returning person's new return event,
//! the returning-person suggestions, the caseload, a person's whole form and its edits (consent
//! included).
//! Wiring only: every rule is in `reintegra-api`.

use reintegra_api::{
    today_in_el_salvador, ArrivalInput, CasePage, CaseQuery, ContactInput, PersonDetail,
    ProfileInput, Registered, ReturnInput, ReturnUpdates, RoutingInput, Suggestion,
    SuggestionQuery,
};
use reintegra_core::consent::ConsentPurpose;
use reintegra_core::ids::{ConsentId, PersonId, ReturnEventId};
use reintegra_core::person::Person;
use reintegra_core::user::User;
use reintegra_core::vulnerability::Vulnerability;
use tauri::State;

use crate::error::CommandError;
use crate::session::AppSession;

fn now() -> chrono::DateTime<chrono::Utc> {
    crate::clock::now()
}

fn today() -> chrono::NaiveDate {
    today_in_el_salvador(crate::clock::now())
}

#[tauri::command]
pub fn intake_register(
    session: State<'_, AppSession>,
    arrival: ArrivalInput,
) -> Result<Registered, CommandError> {
    Ok(session
        .get()?
        .register_arrival(&arrival, crate::clock::now())?)
}

#[tauri::command]
pub fn intake_add_return(
    session: State<'_, AppSession>,
    person_id: PersonId,
    return_event: ReturnInput,
    vulnerabilities: Vec<Vulnerability>,
    updates: Option<ReturnUpdates>,
) -> Result<Registered, CommandError> {
    Ok(session.get()?.add_return_event(
        person_id,
        &return_event,
        &vulnerabilities,
        &updates.unwrap_or_default(),
        crate::clock::now(),
    )?)
}

// Off the window's thread: it may wait for the cases read behind the screen.
#[tauri::command(async)]
pub fn intake_suggestions(
    session: State<'_, AppSession>,
    query: SuggestionQuery,
) -> Result<Vec<Suggestion>, CommandError> {
    Ok(session.get()?.returning_suggestions(&query, today())?)
}

// Off the window's thread: it may wait for the cases read behind the screen.
#[tauri::command(async)]
pub fn caseload(
    session: State<'_, AppSession>,
    query: CaseQuery,
) -> Result<CasePage, CommandError> {
    Ok(session.get()?.caseload(&query, today())?)
}

#[tauri::command]
pub fn person_detail(
    session: State<'_, AppSession>,
    id: PersonId,
) -> Result<PersonDetail, CommandError> {
    Ok(session.get()?.person_detail(id, now())?)
}

#[tauri::command]
pub fn person_edit_contact(
    session: State<'_, AppSession>,
    person_id: PersonId,
    contact: ContactInput,
) -> Result<Person, CommandError> {
    Ok(session
        .get()?
        .edit_contact(person_id, &contact, crate::clock::now())?)
}

#[tauri::command]
pub fn person_edit_profile(
    session: State<'_, AppSession>,
    person_id: PersonId,
    profile: ProfileInput,
) -> Result<Person, CommandError> {
    Ok(session
        .get()?
        .edit_profile(person_id, &profile, crate::clock::now())?)
}

#[tauri::command]
pub fn person_edit_routing(
    session: State<'_, AppSession>,
    person_id: PersonId,
    routing: RoutingInput,
) -> Result<Person, CommandError> {
    Ok(session
        .get()?
        .edit_routing(person_id, &routing, crate::clock::now())?)
}

#[tauri::command]
pub fn person_edit_return(
    session: State<'_, AppSession>,
    person_id: PersonId,
    return_id: ReturnEventId,
    return_event: ReturnInput,
) -> Result<Person, CommandError> {
    Ok(session.get()?.edit_return_event(
        person_id,
        return_id,
        &return_event,
        crate::clock::now(),
    )?)
}

#[tauri::command]
pub fn person_record_consent(
    session: State<'_, AppSession>,
    person_id: PersonId,
    purpose: ConsentPurpose,
    given_on: chrono::NaiveDate,
) -> Result<Person, CommandError> {
    Ok(session
        .get()?
        .record_consent(person_id, purpose, given_on, crate::clock::now())?)
}

#[tauri::command]
pub fn person_withdraw_consent(
    session: State<'_, AppSession>,
    person_id: PersonId,
    consent_id: ConsentId,
    on: chrono::NaiveDate,
) -> Result<Person, CommandError> {
    Ok(session
        .get()?
        .withdraw_consent(person_id, consent_id, on, crate::clock::now())?)
}

#[tauri::command]
pub fn users_list(session: State<'_, AppSession>) -> Result<Vec<User>, CommandError> {
    Ok(session.get()?.users()?)
}
