// Form logic of "Recepción → Nuevo ingreso", kept out of the component so it can be unit-tested:
// the draft, the live DUI check, dates typed as dd/mm/yyyy, age/minor, what the returning-person
// check is asked, and the ArrivalInput sent to Rust (which validates again, authoritatively).
import type { ArrivalInput } from "../bindings/ArrivalInput";
import type { BirthDate } from "../bindings/BirthDate";
import type { ImmediateAssistance } from "../bindings/ImmediateAssistance";
import type { PersonId } from "../bindings/PersonId";
import type { ReturnInput } from "../bindings/ReturnInput";
import type { Sex } from "../bindings/Sex";
import type { SuggestionQuery } from "../bindings/SuggestionQuery";
import type { TravelCompanion } from "../bindings/TravelCompanion";
import type { Vulnerability } from "../bindings/Vulnerability";
import type { ValidationErrors } from "../bindings/ValidationErrors";
import type { BeneficiaryType } from "../bindings/BeneficiaryType";
import type { ContactChannel } from "../bindings/ContactChannel";
import type { ReturnModality } from "../bindings/ReturnModality";
import type { DocumentKind } from "../bindings/DocumentKind";
import type { Education } from "../bindings/Education";
import type { OtherDocument } from "../bindings/OtherDocument";
import type { ReturnUpdates } from "../bindings/ReturnUpdates";
import { countryCodeOf } from "./countries";

export interface Draft {
  beneficiary_type: BeneficiaryType;
  first_contact: ContactChannel;
  given_names: string;
  first_surname: string;
  second_surname: string;
  sex: Sex | "";
  /** dd/mm/yyyy as typed; or empty when only the age is known. */
  birth_date: string;
  /** Approximate age in years, used when there is no birth date. */
  age: string;
  dui: string;
  /** Another document (for people without a DUI): its kind, or "" for none. */
  other_doc_kind: DocumentKind | "";
  other_doc_number: string;
  phone: string;
  education: Education | "";
  occupation: string;
  return_date: string;
  modality: ReturnModality;
  country_from: string;
  reception_center: "gami" | "cipi";
  travelled: TravelCompanion;
  /** Days held in custody before the return, as typed (may be empty). */
  custody_days: string;
  origin_district: string;
  destination_district: string;
  vulnerabilities: Vulnerability[];
  assistance: ImmediateAssistance[];
  assistance_notes: string;
  /** Registration consent is an active choice: null until the person has answered. */
  consent_registration: boolean | null;
  consent_referral_sharing: boolean;
}

const pad = (n: number) => String(n).padStart(2, "0");

/** A date as El Salvador writes it. */
export function formatDate(iso: string | null | undefined): string {
  if (!iso) return "";
  const m = /^(\d{4})-(\d{2})-(\d{2})/.exec(iso);
  return m ? `${m[3]}/${m[2]}/${m[1]}` : iso;
}

/** dd/mm/yyyy (also d/m/yyyy, with - or .) → yyyy-mm-dd; null when not a real date. */
export function parseDate(text: string): string | null {
  const m = /^\s*(\d{1,2})[/.-](\d{1,2})[/.-](\d{4})\s*$/.exec(text);
  if (!m) return null;
  const [d, mo, y] = [Number(m[1]), Number(m[2]), Number(m[3])];
  const date = new Date(Date.UTC(y, mo - 1, d));
  if (date.getUTCFullYear() !== y || date.getUTCMonth() !== mo - 1 || date.getUTCDate() !== d) return null;
  return `${y}-${pad(mo)}-${pad(d)}`;
}

/** El Salvador keeps UTC−6 all year (no daylight saving time). */
const SV_OFFSET_MS = -6 * 3600 * 1000;

/**
 * Today's date (yyyy-mm-dd) in El Salvador, whatever the machine's time zone: the same day Rust
 * validates against (`today_in_el_salvador`), so a date the form proposes is never "future".
 */
export function isoToday(now: Date = new Date()): string {
  const sv = new Date(now.getTime() + SV_OFFSET_MS);
  return `${sv.getUTCFullYear()}-${pad(sv.getUTCMonth() + 1)}-${pad(sv.getUTCDate())}`;
}

export function emptyDraft(todayIso: string): Draft {
  return {
    beneficiary_type: "returned_migrant",
    first_contact: "reception_center",
    given_names: "",
    first_surname: "",
    second_surname: "",
    sex: "",
    birth_date: "",
    age: "",
    dui: "",
    other_doc_kind: "",
    other_doc_number: "",
    phone: "",
    education: "",
    occupation: "",
    return_date: formatDate(todayIso),
    modality: "air",
    country_from: "US",
    reception_center: "gami",
    travelled: "alone",
    custody_days: "",
    origin_district: "",
    destination_district: "",
    vulnerabilities: [],
    assistance: [],
    assistance_notes: "",
    consent_registration: null,
    consent_referral_sharing: false,
  };
}

const DUI_WEIGHTS = [9, 8, 7, 6, 5, 4, 3, 2];

export function duiCheckDigit(body: string): number {
  const sum = [...body].reduce((acc, d, i) => acc + Number(d) * (DUI_WEIGHTS[i] ?? 0), 0);
  return (10 - (sum % 10)) % 10;
}

export type DuiStatus =
  | { kind: "empty" }
  | { kind: "incomplete" }
  | { kind: "format" }
  | { kind: "check_digit"; expected: number }
  | { kind: "valid"; canonical: string };

/** The live DUI check, as the person types. */
export function duiStatus(raw: string): DuiStatus {
  const text = raw.trim();
  if (text === "") return { kind: "empty" };
  if (!/^[\d-]*$/.test(text) || (text.includes("-") && !/^\d{8}-\d?$/.test(text))) {
    return { kind: "format" };
  }
  const digits = text.replace(/-/g, "");
  if (digits.length < 9) return { kind: "incomplete" };
  if (digits.length > 9) return { kind: "format" };
  const body = digits.slice(0, 8);
  const expected = duiCheckDigit(body);
  if (Number(digits[8]) !== expected) return { kind: "check_digit", expected };
  return { kind: "valid", canonical: `${body}-${digits[8]}` };
}

/** The birth date to send: exact when a date was typed, else estimated from the age. */
export function birthDateOf(draft: Pick<Draft, "birth_date" | "age">, todayIso: string): BirthDate | null {
  const exact = parseDate(draft.birth_date);
  if (exact) return { precision: "exact", date: exact };
  const age = Number.parseInt(draft.age, 10);
  if (draft.age.trim() !== "" && Number.isFinite(age) && age >= 0 && age <= 120) {
    return { precision: "estimated_from_age", age, stated_on: todayIso };
  }
  return null;
}

/** Whole years from `fromIso` to `toIso` (chrono's `years_since`); null when `from` is later. */
function yearsSince(toIso: string, fromIso: string): number | null {
  const [ty, tm, td] = toIso.split("-").map(Number) as [number, number, number];
  const [fy, fm, fd] = fromIso.split("-").map(Number) as [number, number, number];
  let years = ty - fy;
  if (tm < fm || (tm === fm && td < fd)) years -= 1;
  return years < 0 ? null : years;
}

/** Core's best guess of a birth date: the date, 1 July of the year, or the day `age` years
 *  before it was stated (29 February falls back to the 28th, as chrono does). */
function estimatedBirthIso(birth: BirthDate): string {
  if (birth.precision === "exact") return birth.date;
  if (birth.precision === "year") return `${birth.year}-07-01`;
  const [y, m, d] = birth.stated_on.split("-").map(Number) as [number, number, number];
  const year = y - birth.age;
  const lastDay = new Date(Date.UTC(year, m, 0)).getUTCDate();
  return `${year}-${pad(m)}-${pad(Math.min(d, lastDay))}`;
}

/** Age in whole years on `todayIso`, by core's rule (`BirthDate::age_on`): from the best guess
 *  of the date. Checked against Rust's answers in `rules.test.ts`. */
export function ageOf(birth: BirthDate | null, todayIso: string): number | null {
  if (!birth) return null;
  return yearsSince(todayIso, estimatedBirthIso(birth));
}

export function isMinor(birth: BirthDate | null, todayIso: string): boolean {
  const age = ageOf(birth, todayIso);
  return age !== null && age < 18;
}

/** A child travelling alone, or marked as an unaccompanied child: shown as a red flag. */
export function isUnaccompaniedChild(draft: Pick<Draft, "travelled" | "vulnerabilities">): boolean {
  return draft.travelled === "unaccompanied_minor" || draft.vulnerabilities.includes("unaccompanied_child");
}

/** A return event's fields as typed, as the intake form and the return form both hold them. */
export interface ReturnText {
  /** dd/mm/yyyy */
  date: string;
  country_from: string;
  custody_days: string;
}

/** Problems in a return event's typed fields the form can tell before asking Rust (field → code). */
export function checkReturn(ret: ReturnText, todayIso: string): Partial<Record<keyof ReturnText, string>> {
  const errors: Partial<Record<keyof ReturnText, string>> = {};
  const date = parseDate(ret.date);
  if (!date) errors.date = ret.date.trim() === "" ? "required" : "date_format";
  else if (date > todayIso) errors.date = "date_in_future";
  if (countryCodeOf(ret.country_from) === null) errors.country_from = "invalid_country";
  if (custodyDaysOf(ret.custody_days) === undefined) errors.custody_days = "invalid_number";
  return errors;
}

/** The district searches that hold typed text nobody chose from the list: the form never saves
 *  then (a destination changes only by an explicit choice). */
export interface PendingSearches {
  destination: boolean;
  origin: boolean;
}

const NOTHING_PENDING: PendingSearches = { destination: false, origin: false };

/** Problems the form can tell before asking Rust (field → message key suffix). */
export function checkDraft(draft: Draft, todayIso: string, pending: PendingSearches = NOTHING_PENDING): Record<string, string> {
  const errors: Record<string, string> = {};
  if (draft.given_names.trim() === "") errors.given_names = "required";
  if (draft.first_surname.trim() === "") errors.first_surname = "required";
  if (draft.sex === "") errors.sex = "required";
  if (pending.destination) errors.destination_district = "district_not_chosen";
  else if (draft.destination_district === "") errors.destination_district = "required";
  if (pending.origin) errors.origin_district = "district_not_chosen";
  if (draft.birth_date.trim() !== "" && !parseDate(draft.birth_date)) errors.birth_date = "date_format";
  const dui = duiStatus(draft.dui);
  if (dui.kind === "incomplete" || dui.kind === "format") errors.dui = "dui_format";
  if (dui.kind === "check_digit") errors.dui = "dui_check_digit";
  const ret = checkReturn({ date: draft.return_date, country_from: draft.country_from, custody_days: draft.custody_days }, todayIso);
  if (ret.date) errors.return_date = ret.date;
  if (ret.country_from) errors.country_from = ret.country_from;
  if (ret.custody_days) errors.custody_days = ret.custody_days;
  if (draft.other_doc_kind !== "" && draft.other_doc_number.trim() === "") errors.other_doc_number = "required";
  if (draft.consent_registration === null) errors.consent_registration = "consent_unanswered";
  return errors;
}

/** Custody days as typed: null when empty, undefined when not a whole number of days. */
export function custodyDaysOf(text: string): number | null | undefined {
  const trimmed = text.trim();
  if (trimmed === "") return null;
  if (!/^\d{1,4}$/.test(trimmed)) return undefined;
  return Number(trimmed);
}

/** The other document to send; null when none was chosen. */
export function otherDocumentOf(draft: Pick<Draft, "other_doc_kind" | "other_doc_number">): OtherDocument | null {
  if (draft.other_doc_kind === "") return null;
  return { kind: draft.other_doc_kind, number: draft.other_doc_number.trim() };
}

/** The country code to send for what was typed (Rust checks it again). */
export function countryOf(text: string): string {
  return countryCodeOf(text) ?? text.trim().toUpperCase();
}

export function returnOf(draft: Draft): ReturnInput {
  return {
    date: parseDate(draft.return_date) ?? "",
    modality: draft.modality,
    country_from: countryOf(draft.country_from),
    reception_center: draft.reception_center,
    custody_days: custodyDaysOf(draft.custody_days) ?? null,
    travelled: draft.travelled,
    assistance: draft.assistance,
    assistance_notes: draft.assistance_notes,
  };
}

export function arrivalOf(draft: Draft, todayIso: string, familyOf: PersonId | null): ArrivalInput {
  const dui = duiStatus(draft.dui);
  return {
    beneficiary_type: draft.beneficiary_type,
    first_contact: draft.first_contact,
    given_names: draft.given_names,
    first_surname: draft.first_surname,
    second_surname: draft.second_surname,
    sex: draft.sex === "" ? null : draft.sex,
    birth_date: birthDateOf(draft, todayIso),
    dui: dui.kind === "valid" ? dui.canonical : draft.dui,
    other_document: otherDocumentOf(draft),
    phone: draft.phone,
    education: draft.education === "" ? null : draft.education,
    occupation: draft.occupation,
    origin_district: draft.origin_district,
    destination_district: draft.destination_district,
    return_event: returnOf(draft),
    vulnerabilities: draft.vulnerabilities,
    consent_registration: draft.consent_registration === true,
    consent_referral_sharing: draft.consent_referral_sharing,
    family_of: familyOf,
    caseworker: null,
  };
}

/** What the returning-person check is asked; null while too little is typed to ask. */
export function suggestionQueryOf(draft: Draft, todayIso: string): SuggestionQuery | null {
  const dui = duiStatus(draft.dui);
  const hasName = draft.given_names.trim().length >= 2 && draft.first_surname.trim().length >= 2;
  if (!hasName && dui.kind !== "valid") return null;
  return {
    given_names: draft.given_names,
    first_surname: draft.first_surname,
    second_surname: draft.second_surname,
    sex: draft.sex === "" ? null : draft.sex,
    birth_date: birthDateOf(draft, todayIso),
    dui: dui.kind === "valid" ? dui.canonical : "",
  };
}

/** Rust's field errors, keyed by the form's field names (return_events[0].date → return_date). */
export function fieldErrorsFrom(errors: ValidationErrors): Record<string, string> {
  const out: Record<string, string> = {};
  for (const e of errors) {
    let field = e.field;
    if (field.startsWith("return_events[")) {
      const sub = field.split(".")[1] ?? "";
      field =
        sub === "date" ? "return_date" : sub === "travelled" ? "travelled" : sub === "custody_days" ? "custody_days" : "country_from";
    } else if (field.startsWith("birth_date")) field = "birth_date";
    else if (field.startsWith("other_document")) field = "other_doc_number";
    out[field] ??= e.code;
  }
  return out;
}

/** Toggles a value in a list (checkbox groups). */
export function toggle<T>(list: T[], value: T): T[] {
  return list.includes(value) ? list.filter((v) => v !== value) : [...list, value];
}

/** What was typed for a returning person that the form may not hold: a phone (the panel does
 *  not know the form's, so any typed phone is offered) and a destination other than the form's. */
/** What the worker typed that differs from the form on file (`before`: "" when it had none). */
export interface ReturnDifferences {
  phone: { before: string; after: string } | null;
  destination: { before: string; after: string } | null;
}

/** Digits only: "7123-4567" and "71234567" are the same phone. */
function phoneDigits(phone: string): string {
  return phone.replace(/\D/g, "");
}

export function returnDifferencesOf(
  draft: Pick<Draft, "phone" | "destination_district">,
  existing: { destination_district: string; phone: string },
): ReturnDifferences {
  const phone = draft.phone.trim();
  const dest = draft.destination_district;
  const samePhone = phoneDigits(phone) === phoneDigits(existing.phone);
  return {
    phone: phone === "" || samePhone ? null : { before: existing.phone, after: phone },
    destination:
      dest !== "" && dest !== existing.destination_district
        ? { before: existing.destination_district, after: dest }
        : null,
  };
}

export function hasDifferences(d: ReturnDifferences): boolean {
  return d.phone !== null || d.destination !== null;
}

/** The updates sent with the new return: only what differs and the worker chose to keep. */
export function returnUpdatesOf(d: ReturnDifferences, keep: { phone: boolean; destination: boolean }): ReturnUpdates {
  return {
    phone: keep.phone && d.phone ? d.phone.after : null,
    destination_district: keep.destination && d.destination ? d.destination.after : null,
  };
}

/** The intake form's fields in the order a person meets them: the first with a problem gets the
 *  focus, and the error summary lists them in this order. */
export const FIELD_ORDER = [
  "given_names",
  "first_surname",
  "second_surname",
  "sex",
  "birth_date",
  "age",
  "dui",
  "other_doc_number",
  "phone",
  "return_date",
  "country_from",
  "travelled",
  "custody_days",
  "destination_district",
  "origin_district",
  "consent_registration",
] as const;

/** The problems in the order of the form (unknown fields last, as Rust named them). */
export function orderedErrors(errors: Record<string, string>): [string, string][] {
  const rank = (f: string) => {
    const i = (FIELD_ORDER as readonly string[]).indexOf(f);
    return i === -1 ? FIELD_ORDER.length : i;
  };
  return Object.entries(errors).sort(([a], [b]) => rank(a) - rank(b));
}

/** The id of the control that holds `field` on the intake form (what the summary links to). */
export function controlIdOf(field: string): string {
  if (field === "destination_district") return "district-search";
  if (field === "origin_district") return "origin-district-search";
  if (field === "consent_registration") return "f-consent-yes";
  return `f-${field}`;
}
