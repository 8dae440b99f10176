//! The application layer the Tauri commands call (and, later, the CLI and sync): Tauri-free, so
//! every flow can be tested with real stores in temp dirs.
//!
//! Invariant: no Tauri, no sled (the store is reached through `reintegra-store`'s domain API).
//! Time comes in as a parameter; ids are made here (UUIDv7).

mod access;
mod audit_log;
mod case_loading;
mod caseload;
mod cases;
mod consents;
mod directory;
mod duplicates;
mod error;
mod exports;
mod files;
mod follow_ups;
mod idle;
mod imports;
mod indicators;
mod intake;
mod notes;
mod office_lists;
mod passphrase;
mod plan;
mod referrals;
mod returning;
mod revocation;
mod sections;
mod services;
mod session;
mod subject_access;
mod sync;
#[cfg(test)]
mod test_store;
mod today;
mod unit_of_work;
mod users;

pub use audit_log::{AuditPage, AuditQuery, AuditRow};
pub use case_loading::CasesRead;
pub use caseload::{CasePage, CaseQuery, CaseRow, CaseState, PersonDetail};
pub use duplicates::{DuplicatePair, MAX_PAIRS};
pub use error::ApiError;
pub use exports::{
    is_dangerous, write_csv, write_xlsx, Cell, ExportFile, ExportFormat, ExportRequest, ExportWhat,
    Table, MIN_CELL,
};
pub use files::{save_in, SavedFile};
pub use follow_ups::FollowUpInput;
pub use imports::{
    error_report as import_error_report, ImportColumn, ImportField, ImportMapping, ImportPreview,
    ImportProgress, ImportRow, ImportSource, RowOutcome, CONFIDENT_MATCH,
};
pub use intake::{
    person_of_arrival, today_in_el_salvador, ArrivalInput, Registered, ReturnInput, ReturnUpdates,
};
pub use notes::NotesView;
pub use office_lists::{
    FollowUpPage, FollowUpQuery, FollowUpRow, ReferralPage, ReferralQuery, ReferralRow, MAX_PAGE,
};
pub use passphrase::Passphrase;
pub use plan::GoalInput;
pub use referrals::{ReferralInput, ReferralView};
pub use reintegra_store::{KdfParams, MIN_PASSPHRASE};
pub use reintegra_sync::Progress as SyncProgress;
pub use returning::{Suggestion, SuggestionQuery, MAX_SUGGESTIONS};
pub use revocation::RevokedNotice;
pub use sections::{ContactInput, ProfileInput, RoutingInput};
pub use session::{DeviceUser, Session, SessionState, StatusBar};
pub use subject_access::SubjectAccess;
pub use sync::{ConflictItem, QuarantineItem, SyncFailure, SyncView};
pub use today::{Today, TodayFollowUp, WaitingReferral, DEFAULT_WAITING_DAYS};
pub use users::NewUser;

pub type Result<T, E = ApiError> = std::result::Result<T, E>;
