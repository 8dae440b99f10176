//! The Tauri shell: wiring only. Commands parse their input, call the Tauri-free crates and map
//! errors to `{code, message}` for the UI.

mod casework;
mod clock;
mod commands;
mod error;
mod files;
mod idle;
mod intake;
mod preferences;
mod print;
mod revocation;
mod session;
mod supervision;
mod sync;
mod users;

use tauri::Manager;

/// Builds the app on any runtime, so tests can pass Tauri's mock builder.
pub fn app_builder<R: tauri::Runtime>(builder: tauri::Builder<R>) -> tauri::Builder<R> {
    builder
        .setup(|app| {
            let dir = app.path().app_data_dir()?.join("store");
            app.manage(session::AppSession::open(dir));
            sync::start_background_sync(app.handle().clone());
            idle::start_idle_lock(app.handle().clone());
            Ok(())
        })
        .invoke_handler(tauri::generate_handler![
            commands::territory_departments,
            commands::territory_search,
            commands::preferences_language,
            commands::set_preferences_language,
            commands::preferences_idle_lock,
            commands::set_preferences_idle_lock,
            session::session_state,
            session::session_create_first_admin,
            session::session_join_office,
            session::session_device_users,
            session::session_unlock,
            session::session_unlock_slot,
            session::session_lock,
            revocation::session_revoked,
            revocation::session_forget_revocation,
            idle::session_touch,
            session::status_bar,
            intake::intake_register,
            intake::intake_add_return,
            intake::intake_suggestions,
            intake::caseload,
            intake::person_detail,
            intake::person_edit_contact,
            intake::person_edit_profile,
            intake::person_edit_routing,
            intake::person_edit_return,
            intake::person_record_consent,
            intake::person_withdraw_consent,
            intake::users_list,
            users::users_create,
            users::users_set_active,
            users::users_set_passphrase,
            users::session_change_passphrase,
            supervision::duplicates_list,
            supervision::duplicates_merge,
            supervision::duplicates_not_same,
            supervision::indicators,
            supervision::office_referrals,
            supervision::office_follow_ups,
            files::files_default_dir,
            files::export_save,
            files::import_preview,
            files::import_commit,
            files::import_save_errors,
            casework::providers_list,
            casework::provider_save,
            casework::provider_delete,
            casework::plan_set_assessment,
            casework::plan_add_goal,
            casework::plan_set_goal_status,
            casework::case_close,
            casework::case_reopen,
            casework::referrals_of_person,
            casework::referral_create,
            casework::referral_move,
            casework::referral_disburse,
            casework::referral_slip,
            print::print_window,
            supervision::subject_access,
            supervision::subject_access_save,
            supervision::audit_log,
            files::import_undo,
            casework::follow_ups_of_person,
            casework::follow_up_schedule,
            casework::follow_up_complete,
            casework::notes_of_person,
            casework::note_add,
            casework::today_list,
            sync::sync_view,
            sync::sync_enroll,
            sync::sync_now,
            sync::sync_conflicts,
            sync::sync_resolve_conflict,
            sync::sync_retry_quarantined,
            sync::sync_discard_quarantined,
        ])
}

pub fn run() {
    let app = app_builder(tauri::Builder::default()).run(tauri::generate_context!());
    if let Err(e) = app {
        eprintln!("Reintegra no pudo iniciar: {e}");
        std::process::exit(1);
    }
}
