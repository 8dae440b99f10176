//! The caseworker's daily work: service directory, plan and case closing, referrals (consent
//! gate, slip), follow-ups, notes and the "Hoy" worklist. Wiring only: the rules are in
//! `reintegra-api`; time comes from `crate::clock`.

use reintegra_api::{
    FollowUpInput, GoalInput, NotesView, ReferralInput, ReferralView, Today, DEFAULT_WAITING_DAYS,
};
use reintegra_core::case_note::CaseNote;
use reintegra_core::follow_up::FollowUp;
use reintegra_core::ids::{FollowUpId, GoalId, PersonId, ProviderId, ReferralId};
use reintegra_core::person::{ClosureReason, Person};
use reintegra_core::plan::GoalStatus;
use reintegra_core::provider::ServiceProvider;
use reintegra_core::referral::{Referral, ReferralStatus};
use reintegra_core::slip::ReferralSlip;
use tauri::State;

use crate::clock::now;
use crate::error::CommandError;
use crate::session::AppSession;

type Answer<T> = Result<T, CommandError>;

#[tauri::command]
pub fn providers_list(session: State<'_, AppSession>) -> Answer<Vec<ServiceProvider>> {
    Ok(session.get()?.providers()?)
}

#[tauri::command]
pub fn provider_save(
    session: State<'_, AppSession>,
    provider: ServiceProvider,
) -> Answer<ServiceProvider> {
    Ok(session.get()?.save_provider(&provider, now())?)
}

#[tauri::command]
pub fn provider_delete(session: State<'_, AppSession>, id: ProviderId) -> Answer<()> {
    Ok(session.get()?.delete_provider(id, now())?)
}

#[tauri::command]
pub fn plan_set_assessment(
    session: State<'_, AppSession>,
    person_id: PersonId,
    text: String,
) -> Answer<Person> {
    Ok(session
        .get()?
        .set_needs_assessment(person_id, &text, now())?)
}

#[tauri::command]
pub fn plan_add_goal(
    session: State<'_, AppSession>,
    person_id: PersonId,
    goal: GoalInput,
) -> Answer<Person> {
    Ok(session.get()?.add_goal(person_id, &goal, now())?)
}

#[tauri::command]
pub fn plan_set_goal_status(
    session: State<'_, AppSession>,
    person_id: PersonId,
    goal_id: GoalId,
    status: GoalStatus,
) -> Answer<Person> {
    Ok(session
        .get()?
        .set_goal_status(person_id, goal_id, status, now())?)
}

#[tauri::command]
pub fn case_close(
    session: State<'_, AppSession>,
    person_id: PersonId,
    reason: ClosureReason,
) -> Answer<Person> {
    Ok(session.get()?.close_case(person_id, reason, now())?)
}

#[tauri::command]
pub fn case_reopen(session: State<'_, AppSession>, person_id: PersonId) -> Answer<Person> {
    Ok(session.get()?.reopen_case(person_id, now())?)
}

#[tauri::command]
pub fn referrals_of_person(
    session: State<'_, AppSession>,
    person_id: PersonId,
) -> Answer<Vec<ReferralView>> {
    Ok(session.get()?.referrals_of(person_id)?)
}

#[tauri::command]
pub fn referral_create(session: State<'_, AppSession>, input: ReferralInput) -> Answer<Referral> {
    Ok(session.get()?.create_referral(&input, now())?)
}

#[tauri::command]
pub fn referral_move(
    session: State<'_, AppSession>,
    id: ReferralId,
    to: ReferralStatus,
    provider: Option<ProviderId>,
    note: Option<String>,
) -> Answer<Referral> {
    Ok(session
        .get()?
        .move_referral(id, to, provider, note, now())?)
}

#[tauri::command]
pub fn referral_disburse(
    session: State<'_, AppSession>,
    id: ReferralId,
    usd: u32,
) -> Answer<Referral> {
    Ok(session.get()?.record_disbursement(id, usd, now())?)
}

#[tauri::command]
pub fn referral_slip(session: State<'_, AppSession>, id: ReferralId) -> Answer<ReferralSlip> {
    Ok(session.get()?.referral_slip(id, now())?)
}

#[tauri::command]
pub fn follow_ups_of_person(
    session: State<'_, AppSession>,
    person_id: PersonId,
) -> Answer<Vec<FollowUp>> {
    Ok(session.get()?.follow_ups_of(person_id)?)
}

#[tauri::command]
pub fn follow_up_schedule(
    session: State<'_, AppSession>,
    input: FollowUpInput,
) -> Answer<FollowUp> {
    Ok(session.get()?.schedule_follow_up(&input, now())?)
}

#[tauri::command]
pub fn follow_up_complete(
    session: State<'_, AppSession>,
    id: FollowUpId,
    outcome: String,
    next_on: Option<chrono::NaiveDate>,
) -> Answer<Option<FollowUp>> {
    Ok(session
        .get()?
        .complete_follow_up(id, &outcome, next_on, now())?)
}

#[tauri::command]
pub fn notes_of_person(session: State<'_, AppSession>, person_id: PersonId) -> Answer<NotesView> {
    Ok(session.get()?.notes_of(person_id, now())?)
}

#[tauri::command]
pub fn note_add(
    session: State<'_, AppSession>,
    person_id: PersonId,
    text: String,
    sensitive: bool,
) -> Answer<CaseNote> {
    Ok(session
        .get()?
        .add_note(person_id, &text, sensitive, now())?)
}

// Off the window's thread: it may wait for the cases read behind the screen.
#[tauri::command(async)]
pub fn today_list(session: State<'_, AppSession>, waiting_days: Option<u32>) -> Answer<Today> {
    Ok(session
        .get()?
        .today(waiting_days.unwrap_or(DEFAULT_WAITING_DAYS), now())?)
}
