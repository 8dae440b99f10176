// The only module that talks to the Rust side. Every command is typed with the bindings
// generated from the Rust types (ui/src/bindings, checked fresh by `tests/bindings.rs`).
import { Channel, invoke } from "@tauri-apps/api/core";
import type { Department } from "../bindings/Department";
import type { Place } from "../bindings/Place";
import type { Language } from "../i18n/messages";
import type { SessionState } from "../bindings/SessionState";
import type { RevokedNotice } from "../bindings/RevokedNotice";
import type { DeviceUser } from "../bindings/DeviceUser";
import type { StatusBar } from "../bindings/StatusBar";
import type { ArrivalInput } from "../bindings/ArrivalInput";
import type { CasePage } from "../bindings/CasePage";
import type { CaseQuery } from "../bindings/CaseQuery";
import type { ContactInput } from "../bindings/ContactInput";
import type { NewUser } from "../bindings/NewUser";
import type { Person } from "../bindings/Person";
import type { ProfileInput } from "../bindings/ProfileInput";
import type { RoutingInput } from "../bindings/RoutingInput";
import type { PersonDetail } from "../bindings/PersonDetail";
import type { PersonId } from "../bindings/PersonId";
import type { Registered } from "../bindings/Registered";
import type { ReturnInput } from "../bindings/ReturnInput";
import type { ReturnUpdates } from "../bindings/ReturnUpdates";
import type { Suggestion } from "../bindings/Suggestion";
import type { SuggestionQuery } from "../bindings/SuggestionQuery";
import type { User } from "../bindings/User";
import type { Vulnerability } from "../bindings/Vulnerability";
import type { ConsentId } from "../bindings/ConsentId";
import type { DuplicatePair } from "../bindings/DuplicatePair";
import type { IndicatorFilter } from "../bindings/IndicatorFilter";
import type { Indicators } from "../bindings/Indicators";
import type { ReferralQuery } from "../bindings/ReferralQuery";
import type { ReferralPage } from "../bindings/ReferralPage";
import type { FollowUpQuery } from "../bindings/FollowUpQuery";
import type { FollowUpPage } from "../bindings/FollowUpPage";
import type { CaseNote } from "../bindings/CaseNote";
import type { ClosureReason } from "../bindings/ClosureReason";
import type { FollowUp } from "../bindings/FollowUp";
import type { FollowUpId } from "../bindings/FollowUpId";
import type { FollowUpInput } from "../bindings/FollowUpInput";
import type { GoalId } from "../bindings/GoalId";
import type { GoalInput } from "../bindings/GoalInput";
import type { GoalStatus } from "../bindings/GoalStatus";
import type { NotesView } from "../bindings/NotesView";
import type { ProviderId } from "../bindings/ProviderId";
import type { Referral } from "../bindings/Referral";
import type { ReferralId } from "../bindings/ReferralId";
import type { ReferralInput } from "../bindings/ReferralInput";
import type { ReferralSlip } from "../bindings/ReferralSlip";
import type { ReferralStatus } from "../bindings/ReferralStatus";
import type { ReferralView } from "../bindings/ReferralView";
import type { ServiceProvider } from "../bindings/ServiceProvider";
import type { Today } from "../bindings/Today";
import type { ConsentPurpose } from "../bindings/ConsentPurpose";
import type { ValidationErrors } from "../bindings/ValidationErrors";
import type { ConflictItem } from "../bindings/ConflictItem";
import type { Progress } from "../bindings/Progress";
import type { SyncView } from "../bindings/SyncView";
import type { ExportRequest } from "../bindings/ExportRequest";
import type { ImportMapping } from "../bindings/ImportMapping";
import type { ImportPreview } from "../bindings/ImportPreview";
import type { ImportProgress } from "../bindings/ImportProgress";
import type { ImportSource } from "../bindings/ImportSource";
import type { SavedFile } from "../bindings/SavedFile";
import type { SubjectAccess } from "../bindings/SubjectAccess";
import type { AuditPage } from "../bindings/AuditPage";
import type { AuditQuery } from "../bindings/AuditQuery";

/** What a failed command gives the UI: a stable code to translate and a message to fall back on. */
export interface IpcError {
  code: string;
  message: string;
  /** For `invalid`: the problem of each field, to show next to it. */
  fields?: ValidationErrors;
}

export function toIpcError(raw: unknown): IpcError {
  if (typeof raw === "object" && raw !== null && "code" in raw && "message" in raw) {
    const { code, message } = raw as { code: unknown; message: unknown };
    if (typeof code === "string" && typeof message === "string") {
      const fields = (raw as { fields?: unknown }).fields;
      return Array.isArray(fields) ? { code, message, fields: fields as ValidationErrors } : { code, message };
    }
  }
  return { code: "ipc", message: typeof raw === "string" ? raw : String(raw) };
}

async function call<T>(command: string, args?: Record<string, unknown>): Promise<T> {
  try {
    return await invoke<T>(command, args);
  } catch (raw) {
    throw toIpcError(raw);
  }
}

export const territory = {
  departments: (): Promise<Department[]> => call("territory_departments"),
  search: (query: string, limit?: number): Promise<Place[]> =>
    call("territory_search", { query, limit: limit ?? null }),
};

export const preferences = {
  /** The UI language remembered on this device (Spanish until changed). */
  language: (): Promise<Language> => call("preferences_language"),
  setLanguage: (language: Language): Promise<void> => call("set_preferences_language", { language }),
  /** Idle minutes before the session locks itself (10 until changed). */
  idleLock: (): Promise<number> => call("preferences_idle_lock"),
  setIdleLock: (minutes: number): Promise<void> => call("set_preferences_idle_lock", { minutes }),
};

export const session = {
  current: (): Promise<SessionState> => call("session_state"),
  createFirstAdmin: (name: string, passphrase: string): Promise<SessionState> =>
    call("session_create_first_admin", { name, passphrase }),
  /** A new laptop of an office that already works, set up with a code made for one user. */
  joinOffice: (
    endpoint: string,
    code: string,
    passphrase: string,
    deviceName: string,
  ): Promise<SessionState> =>
    call("session_join_office", { endpoint, code, passphrase, deviceName }),
  /** This device's users as the locked screen may show them: initials and an opaque slot. */
  deviceUsers: (): Promise<DeviceUser[]> => call("session_device_users"),
  unlock: (name: string, passphrase: string): Promise<SessionState> =>
    call("session_unlock", { name, passphrase }),
  unlockSlot: (slot: string, passphrase: string): Promise<SessionState> =>
    call("session_unlock_slot", { slot, passphrase }),
  lock: (): Promise<SessionState> => call("session_lock"),
  /** The notice left when the server revoked this device and its store was erased. */
  revoked: (): Promise<RevokedNotice | null> => call("session_revoked"),
  /** Leaves the revoked screen to set the device up again from nothing. */
  forgetRevocation: (): Promise<SessionState> => call("session_forget_revocation"),
  /** Someone is working at the window: Rust's idle lock counts from here. */
  touch: (): Promise<void> => call("session_touch"),
  statusBar: (): Promise<StatusBar> => call("status_bar"),
};

export const intake = {
  /** Registers one arrival (validated in Rust; `invalid` carries the field errors). */
  register: (arrival: ArrivalInput): Promise<Registered> => call("intake_register", { arrival }),
  /** A returning person: a new return event on the existing form, not a second person, with
   *  the new values the worker chose to keep (one audited change). */
  addReturn: (
    personId: PersonId,
    returnEvent: ReturnInput,
    vulnerabilities: Vulnerability[],
    updates: ReturnUpdates = { phone: null, destination_district: null },
  ): Promise<Registered> => call("intake_add_return", { personId, returnEvent, vulnerabilities, updates }),
  suggestions: (query: SuggestionQuery): Promise<Suggestion[]> =>
    call("intake_suggestions", { query }),
};

export const supervision = {
  /** The office's audit trail, filtered, newest first. */
  audit: (query: AuditQuery): Promise<AuditPage> => call("audit_log", { query }),
  /** Likely duplicate pairs across the store, best first (supervisors and admins). */
  duplicates: (): Promise<DuplicatePair[]> => call("duplicates_list"),
  /** Merges `absorbed` into `kept`: everything is kept, the absorbed form leaves the lists. */
  merge: (kept: PersonId, absorbed: PersonId): Promise<Person> => call("duplicates_merge", { kept, absorbed }),
  notSame: (a: PersonId, b: PersonId): Promise<void> => call("duplicates_not_same", { a, b }),
  /** The indicators for a period and filters, computed in Rust over the cases the user may see. */
  indicators: (filter: IndicatorFilter): Promise<Indicators> => call("indicators", { filter }),
  /** "Referencias": the office's referrals, most waiting first, one page. */
  referrals: (query: ReferralQuery): Promise<ReferralPage> => call("office_referrals", { query }),
  /** "Seguimientos": the office's pending follow-ups due or overdue, most overdue first. */
  followUps: (query: FollowUpQuery): Promise<FollowUpPage> => call("office_follow_ups", { query }),
};

export const personalData = {
  /** Everything held about one person, for the person (audited). */
  of: (personId: PersonId): Promise<SubjectAccess> => call("subject_access", { personId }),
  /** The same as a JSON file saved in `directory` (audited). */
  save: (personId: PersonId, directory: string): Promise<SavedFile> =>
    call("subject_access_save", { personId, directory }),
};

export const files = {
  /** The folder offered first for saving files (the user's Downloads folder). */
  defaultDir: (): Promise<string> => call("files_default_dir"),
  /** Makes an export (audited in Rust) and saves it in `directory`, never over another file. */
  saveExport: (request: ExportRequest, directory: string): Promise<SavedFile> =>
    call("export_save", { request, directory }),
  /** What importing the file would do, row by row; writes nothing. `onProgress` sees the rows checked. */
  importPreview: (
    source: ImportSource,
    mapping: ImportMapping,
    onProgress: (p: ImportProgress) => void = () => {},
  ): Promise<ImportPreview> => {
    const channel = new Channel<ImportProgress>();
    channel.onmessage = onProgress;
    return call("import_preview", { source, mapping, onProgress: channel });
  },
  /** Imports every row that passed, in one batch; `onProgress` sees the rows checked, then the write. */
  /** Takes a whole import back while none of it has synced; how many records went back. */
  importUndo: (importId: string): Promise<number> => call("import_undo", { importId }),
  importCommit: (
    source: ImportSource,
    mapping: ImportMapping,
    onProgress: (p: ImportProgress) => void = () => {},
  ): Promise<ImportPreview> => {
    const channel = new Channel<ImportProgress>();
    channel.onmessage = onProgress;
    return call("import_commit", { source, mapping, onProgress: channel });
  },
  /** The refused rows with their reasons as XLSX, saved in `directory`. */
  saveImportErrors: (source: ImportSource, mapping: ImportMapping, directory: string): Promise<SavedFile> =>
    call("import_save_errors", { source, mapping, directory }),
};

export const directory = {
  list: (): Promise<ServiceProvider[]> => call("providers_list"),
  save: (provider: ServiceProvider): Promise<ServiceProvider> => call("provider_save", { provider }),
  remove: (id: ProviderId): Promise<void> => call("provider_delete", { id }),
};

export const plan = {
  setAssessment: (personId: PersonId, text: string): Promise<Person> =>
    call("plan_set_assessment", { personId, text }),
  addGoal: (personId: PersonId, goal: GoalInput): Promise<Person> => call("plan_add_goal", { personId, goal }),
  setGoalStatus: (personId: PersonId, goalId: GoalId, status: GoalStatus): Promise<Person> =>
    call("plan_set_goal_status", { personId, goalId, status }),
  close: (personId: PersonId, reason: ClosureReason): Promise<Person> => call("case_close", { personId, reason }),
  reopen: (personId: PersonId): Promise<Person> => call("case_reopen", { personId }),
};

export const referrals = {
  ofPerson: (personId: PersonId): Promise<ReferralView[]> => call("referrals_of_person", { personId }),
  create: (input: ReferralInput): Promise<Referral> => call("referral_create", { input }),
  /** One lifecycle step; `sent` is refused with `no_consent` until the person consented. */
  move: (id: ReferralId, to: ReferralStatus, provider: ProviderId | null = null, note: string | null = null): Promise<Referral> =>
    call("referral_move", { id, to, provider, note }),
  disburse: (id: ReferralId, usd: number): Promise<Referral> => call("referral_disburse", { id, usd }),
  slip: (id: ReferralId): Promise<ReferralSlip> => call("referral_slip", { id }),
  /** Prints the window (with the slip open, only the slip prints): the system's print dialog. */
  print: (): Promise<void> => call("print_window"),
};

export const followUps = {
  ofPerson: (personId: PersonId): Promise<FollowUp[]> => call("follow_ups_of_person", { personId }),
  schedule: (input: FollowUpInput): Promise<FollowUp> => call("follow_up_schedule", { input }),
  complete: (id: FollowUpId, outcome: string, nextOn: string | null): Promise<FollowUp | null> =>
    call("follow_up_complete", { id, outcome, nextOn }),
  today: (waitingDays: number | null = null): Promise<Today> => call("today_list", { waitingDays }),
};

export const notes = {
  ofPerson: (personId: PersonId): Promise<NotesView> => call("notes_of_person", { personId }),
  add: (personId: PersonId, text: string, sensitive: boolean): Promise<CaseNote> =>
    call("note_add", { personId, text, sensitive }),
};

export const cases = {
  query: (query: CaseQuery): Promise<CasePage> => call("caseload", { query }),
  detail: (id: PersonId): Promise<PersonDetail> => call("person_detail", { id }),
  editContact: (personId: PersonId, contact: ContactInput): Promise<Person> =>
    call("person_edit_contact", { personId, contact }),
  editProfile: (personId: PersonId, profile: ProfileInput): Promise<Person> =>
    call("person_edit_profile", { personId, profile }),
  editRouting: (personId: PersonId, routing: RoutingInput): Promise<Person> =>
    call("person_edit_routing", { personId, routing }),
  editReturn: (personId: PersonId, returnId: string, returnEvent: ReturnInput): Promise<Person> =>
    call("person_edit_return", { personId, returnId, returnEvent }),
  recordConsent: (personId: PersonId, purpose: ConsentPurpose, givenOn: string): Promise<Person> =>
    call("person_record_consent", { personId, purpose, givenOn }),
  withdrawConsent: (personId: PersonId, consentId: ConsentId, on: string): Promise<Person> =>
    call("person_withdraw_consent", { personId, consentId, on }),
  users: (): Promise<User[]> => call("users_list"),
};

export const users = {
  create: (user: NewUser): Promise<User> => call("users_create", { user }),
  setActive: (userId: string, active: boolean, passphrase: string | null): Promise<User> =>
    call("users_set_active", { userId, active, passphrase }),
  setPassphrase: (userId: string, passphrase: string): Promise<void> =>
    call("users_set_passphrase", { userId, passphrase }),
  changeOwnPassphrase: (old: string, newPassphrase: string): Promise<SessionState> =>
    call("session_change_passphrase", { old, new: newPassphrase }),
};

export const sync = {
  view: (): Promise<SyncView> => call("sync_view"),
  enroll: (endpoint: string, code: string, deviceName: string): Promise<SyncView> =>
    call("sync_enroll", { endpoint, code, deviceName }),
  /** Syncs now; `onProgress` sees batches and bytes as they go. */
  now: (onProgress: (p: Progress) => void): Promise<SyncView> => {
    const channel = new Channel<Progress>();
    channel.onmessage = onProgress;
    return call("sync_now", { onProgress: channel });
  },
  conflicts: (): Promise<ConflictItem[]> => call("sync_conflicts"),
  resolve: (id: string, value: unknown): Promise<SyncView> => call("sync_resolve_conflict", { id, value }),
  /** Sends a refused change again, re-stamped (supervisors). */
  retryQuarantined: (opId: string): Promise<SyncView> => call("sync_retry_quarantined", { opId }),
  /** Drops a refused change for good, with why (supervisors; audited). */
  discardQuarantined: (opId: string, reason: string): Promise<SyncView> =>
    call("sync_discard_quarantined", { opId, reason }),
};
