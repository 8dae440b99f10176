// The values of the Rust enums the UI offers as choices, in the order the forms show them (and of
// those Rust sends as codes for the UI to word, such as the duplicate engine's match reasons).
// Each list is written once, as an object with every variant of the generated binding as a key:
// a variant added in Rust (and so in ui/src/bindings) is a type error here until it is listed, and
// a variant removed is one too. Its texts are `t(\`<enumName>.<variant>\`)` (i18n/es.ts).
import type { AgeGroup } from "../bindings/AgeGroup";
import type { BeneficiaryType } from "../bindings/BeneficiaryType";
import type { ClosureReason } from "../bindings/ClosureReason";
import type { ContactChannel } from "../bindings/ContactChannel";
import type { Dimension } from "../bindings/Dimension";
import type { DocumentKind } from "../bindings/DocumentKind";
import type { Education } from "../bindings/Education";
import type { FollowUpChannel } from "../bindings/FollowUpChannel";
import type { GoalStatus } from "../bindings/GoalStatus";
import type { ImportField } from "../bindings/ImportField";
import type { ImmediateAssistance } from "../bindings/ImmediateAssistance";
import type { MatchReason } from "../bindings/MatchReason";
import type { PersonField } from "../bindings/PersonField";
import type { Priority } from "../bindings/Priority";
import type { ReceptionCenter } from "../bindings/ReceptionCenter";
import type { ReferralStatus } from "../bindings/ReferralStatus";
import type { ReturnModality } from "../bindings/ReturnModality";
import type { Role } from "../bindings/Role";
import type { ServiceType } from "../bindings/ServiceType";
import type { Sex } from "../bindings/Sex";
import type { TravelCompanion } from "../bindings/TravelCompanion";
import type { Vulnerability } from "../bindings/Vulnerability";

/**
 * The variants of `T`, in the order written. Call it with `T` spelled out: the object must then
 * have exactly one key per variant (a missing one is an error, so is an unknown one).
 */
export function variants<T extends string>(all: Record<T, true>): T[] {
  return Object.keys(all) as T[];
}

/** The reception centers the program names; any other is free text (`{ other }`). */
export type NamedReceptionCenter = Extract<ReceptionCenter, string>;

export const VULNERABILITIES = variants<Vulnerability>({
  unaccompanied_child: true, trafficking_victim: true, protection_need: true, displaced_by_violence: true,
  gbv_survivor: true, pregnant: true, disability: true, chronic_illness: true, lgbti: true, indigenous: true,
});

export const ASSISTANCE = variants<ImmediateAssistance>({
  food: true, hygiene_kit: true, clothing: true, transport: true, phone_call: true, medical_care: true,
  psychological_first_aid: true, temporary_shelter: true, cash: true, documentation: true,
});

export const EDUCATION = variants<Education>({
  none: true, primary: true, lower_secondary: true, upper_secondary: true, technical: true, university: true,
});

export const DOCUMENT_KINDS = variants<DocumentKind>({
  passport: true, birth_certificate: true, foreign_id: true, other: true,
});

export const SEXES = variants<Sex>({ female: true, male: true });

export const BENEFICIARY_TYPES = variants<BeneficiaryType>({
  returned_migrant: true, family_member: true, community_member: true, internally_displaced: true,
});

export const CONTACT_CHANNELS = variants<ContactChannel>({
  reception_center: true, municipal_office: true, phone_whatsapp: true, outreach: true,
});

export const RETURN_MODALITIES = variants<ReturnModality>({ air: true, land: true });

export const RECEPTION_CENTERS = variants<NamedReceptionCenter>({ gami: true, cipi: true });

export const TRAVEL_COMPANIONS = variants<TravelCompanion>({
  alone: true, with_family: true, unaccompanied_minor: true,
});

export const SERVICE_TYPES = variants<ServiceType>({
  psychosocial: true, vocational: true, entrepreneurship: true, health: true, legal_documents: true,
  education: true, employment: true, housing: true, family: true,
});

export const PRIORITIES = variants<Priority>({ low: true, normal: true, high: true, urgent: true });

export const PERSON_FIELDS = variants<PersonField>({
  given_names: true, surnames: true, sex: true, birth_date: true, dui: true, identity_document: true,
  phone: true, destination_district: true, education: true, occupation: true, return_events: true,
  vulnerabilities: true,
});

export const FOLLOW_UP_CHANNELS = variants<FollowUpChannel>({ visit: true, phone: true, office: true });

export const DIMENSIONS = variants<Dimension>({ economic: true, social: true, psychosocial: true });

export const GOAL_STATUSES = variants<GoalStatus>({
  not_started: true, in_progress: true, achieved: true, dropped: true,
});

export const CLOSURE_REASONS = variants<ClosureReason>({
  reintegrated: true, moved_abroad_again: true, unreachable: true, declined: true, deceased: true,
});

export const ROLES = variants<Role>({ reception: true, caseworker: true, supervisor: true, admin: true });

/** Why the duplicate engine thinks two forms are (or are not) the same person; never chosen, only shown. */
export const MATCH_REASONS = variants<MatchReason>({
  same_dui: true, same_dui_but_check_digit: true, dui_one_digit_off: true, dui_invalid_check_digit: true,
  different_dui: true, same_birth_date: true, birth_day_month_swapped: true, birth_year_off_by_one: true,
  birth_year_only: true, birth_date_close: true, different_birth_date: true, same_given_names: true,
  similar_given_names: true, given_name_shortened: true, different_given_names: true, same_surnames: true,
  similar_surnames: true, surnames_swapped: true, second_surname_missing: true, married_name: true,
  different_surnames: true, same_district: true, same_phone: true, different_sex: true,
});

/** The age groups reports are disaggregated by (core's `AgeGroup`). */
export const AGE_GROUPS = variants<AgeGroup>({
  age_0_11: true, age_12_17: true, age_18_29: true, age_30_59: true, age_60_plus: true, unknown: true,
});

/** A referral's statuses, in the order of its lifecycle (core's `ReferralStatus::ALL`). */
export const REFERRAL_STATUSES = variants<ReferralStatus>({
  proposed: true, sent: true, accepted: true, in_progress: true, completed: true, declined: true, cancelled: true,
});

/** The fields a spreadsheet column can be imported as, in the order the mapping step offers them. */
export const IMPORT_FIELDS = variants<ImportField>({
  ignore: true, given_names: true, first_surname: true, second_surname: true, sex: true, birth_date: true,
  dui: true, phone: true, destination_district: true, origin_district: true, occupation: true,
  return_date: true, return_modality: true, country_from: true, reception_center: true,
  unaccompanied_minor: true, consent_registration: true, consent_referral_sharing: true,
  referral_service: true, referral_date: true, referral_provider: true, referral_status: true,
});
