/// Every command the UI may call. tauri-build generates an `allow-<command>` permission for each;
/// `src-tauri/capabilities/main.json` grants exactly these to the main window.
const COMMANDS: &[&str] = &[
    "territory_departments",
    "territory_search",
    "preferences_language",
    "set_preferences_language",
    "preferences_idle_lock",
    "set_preferences_idle_lock",
    "session_state",
    "session_create_first_admin",
    "session_join_office",
    "session_device_users",
    "session_unlock",
    "session_unlock_slot",
    "session_lock",
    "session_revoked",
    "session_forget_revocation",
    "status_bar",
    "intake_register",
    "intake_add_return",
    "intake_suggestions",
    "caseload",
    "person_detail",
    "person_edit_contact",
    "person_edit_profile",
    "person_edit_routing",
    "person_edit_return",
    "person_record_consent",
    "person_withdraw_consent",
    "users_list",
    "users_create",
    "users_set_active",
    "users_set_passphrase",
    "session_change_passphrase",
    "duplicates_list",
    "duplicates_merge",
    "duplicates_not_same",
    "indicators",
    "office_referrals",
    "office_follow_ups",
    "files_default_dir",
    "export_save",
    "import_preview",
    "import_commit",
    "import_save_errors",
    "providers_list",
    "provider_save",
    "provider_delete",
    "plan_set_assessment",
    "plan_add_goal",
    "plan_set_goal_status",
    "case_close",
    "case_reopen",
    "referrals_of_person",
    "referral_create",
    "referral_move",
    "referral_disburse",
    "referral_slip",
    "print_window",
    "follow_ups_of_person",
    "follow_up_schedule",
    "follow_up_complete",
    "notes_of_person",
    "note_add",
    "today_list",
    "sync_view",
    "sync_enroll",
    "sync_now",
    "sync_conflicts",
    "sync_resolve_conflict",
];

fn main() {
    // Capabilities live in src-tauri/capabilities, not next to the manifest (the product's layout).
    println!("cargo:rerun-if-changed=src-tauri/capabilities");
    let attributes = tauri_build::Attributes::new()
        .capabilities_path_pattern("./src-tauri/capabilities/**/*")
        .app_manifest(tauri_build::AppManifest::new().commands(COMMANDS));
    if let Err(e) = tauri_build::try_build(attributes) {
        eprintln!("tauri-build failed: {e:#}");
        std::process::exit(1);
    }
}
