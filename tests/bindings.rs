//! `ui/src/bindings/` is generated from the Rust types with ts-rs and committed. This test fails
//! when the committed files are stale. Regenerate with `./x bindings`
//! (`UPDATE_BINDINGS=1 cargo test --test bindings`).

use std::collections::BTreeMap;
use std::fs;
use std::path::{Path, PathBuf};

use reintegra_api::{
    ArrivalInput, AuditPage, AuditQuery, CasePage, CaseQuery, CaseRow, CaseState, ConflictItem,
    ContactInput, DeviceUser, DuplicatePair, ExportRequest, FollowUpInput, FollowUpPage,
    FollowUpQuery, GoalInput, ImportMapping, ImportPreview, ImportProgress, ImportSource, NewUser,
    NotesView, PersonDetail, ProfileInput, ReferralInput, ReferralPage, ReferralQuery,
    ReferralView, Registered, ReturnInput, ReturnUpdates, RevokedNotice, RoutingInput, SavedFile,
    SessionState, StatusBar, SubjectAccess, Suggestion, SuggestionQuery, SyncProgress, SyncView,
    Today,
};
use reintegra_core::audit::AuditEntry;
use reintegra_core::case_note::CaseNote;
use reintegra_core::follow_up::FollowUp;
use reintegra_core::indicators::{IndicatorFilter, Indicators};
use reintegra_core::person::Person;
use reintegra_core::provider::ServiceProvider;
use reintegra_core::referral::Referral;
use reintegra_core::slip::ReferralSlip;
use reintegra_core::territory::{Department, Place};
use reintegra_core::user::{Device, User};
use reintegra_core::validation::ValidationErrors;
use ts_rs::TS;

/// Every type that crosses the IPC boundary; ts-rs follows their dependencies.
fn export_all(dir: &Path) {
    macro_rules! export {
        ($($ty:ty),* $(,)?) => {
            $( <$ty>::export_all_to(dir).expect(concat!("export ", stringify!($ty))); )*
        };
    }
    export!(
        Department,
        IndicatorFilter,
        ReferralQuery,
        ReferralPage,
        FollowUpQuery,
        FollowUpPage,
        Indicators,
        Place,
        Person,
        Referral,
        FollowUp,
        CaseNote,
        ServiceProvider,
        User,
        Device,
        AuditEntry,
        ValidationErrors,
        SessionState,
        RevokedNotice,
        DeviceUser,
        StatusBar,
        ArrivalInput,
        ReturnInput,
        ReturnUpdates,
        ContactInput,
        ProfileInput,
        RoutingInput,
        NewUser,
        Registered,
        SuggestionQuery,
        Suggestion,
        CaseQuery,
        CaseState,
        CasePage,
        CaseRow,
        PersonDetail,
        DuplicatePair,
        ReferralInput,
        FollowUpInput,
        GoalInput,
        NotesView,
        Today,
        ReferralSlip,
        ReferralView,
        SyncView,
        SyncProgress,
        ConflictItem,
        ExportRequest,
        ImportSource,
        ImportMapping,
        ImportPreview,
        ImportProgress,
        SavedFile,
        SubjectAccess,
        AuditPage,
        AuditQuery,
    );
}

fn read_ts_files(dir: &Path) -> BTreeMap<String, String> {
    let mut files = BTreeMap::new();
    for entry in fs::read_dir(dir).expect("read bindings dir") {
        let path = entry.expect("dir entry").path();
        if path.extension().is_some_and(|e| e == "ts") {
            let name = path
                .file_name()
                .expect("file name")
                .to_string_lossy()
                .into_owned();
            files.insert(name, fs::read_to_string(&path).expect("read binding"));
        }
    }
    files
}

fn committed_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("ui/src/bindings")
}

#[test]
fn typescript_bindings_are_fresh() {
    let fresh = tempfile::tempdir().expect("temp dir");
    export_all(fresh.path());
    let generated = read_ts_files(fresh.path());
    assert!(!generated.is_empty(), "ts-rs exported nothing");

    let committed_path = committed_dir();
    if std::env::var_os("UPDATE_BINDINGS").is_some() {
        fs::create_dir_all(&committed_path).expect("create bindings dir");
        for stale in read_ts_files(&committed_path).keys() {
            fs::remove_file(committed_path.join(stale)).expect("remove stale binding");
        }
        for (name, text) in &generated {
            fs::write(committed_path.join(name), text).expect("write binding");
        }
        return;
    }

    let committed = read_ts_files(&committed_path);
    assert_eq!(
        committed.keys().collect::<Vec<_>>(),
        generated.keys().collect::<Vec<_>>(),
        "ui/src/bindings has other files than the Rust types export; run ./x bindings"
    );
    for (name, text) in &generated {
        assert_eq!(
            committed.get(name),
            Some(text),
            "ui/src/bindings/{name} is stale; run ./x bindings"
        );
    }
}
