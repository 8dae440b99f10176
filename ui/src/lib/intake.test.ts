import { describe, expect, it } from "vitest";
import {
  ageOf,
  arrivalOf,
  birthDateOf,
  checkDraft,
  checkReturn,
  custodyDaysOf,
  duiStatus,
  emptyDraft,
  controlIdOf,
  fieldErrorsFrom,
  orderedErrors,
  hasDifferences,
  returnDifferencesOf,
  returnUpdatesOf,
  formatDate,
  isMinor,
  isoToday,
  isUnaccompaniedChild,
  otherDocumentOf,
  parseDate,
  suggestionQueryOf,
  toggle,
} from "./intake";

const TODAY = "2026-11-23";

function filled() {
  return {
    ...emptyDraft(TODAY),
    given_names: "María José",
    first_surname: "Hernández",
    sex: "female" as const,
    destination_district: "SV-LI-LIN-DIS",
    consent_registration: true,
  };
}

describe("dates typed as dd/mm/yyyy", () => {
  it("parses and formats", () => {
    expect(parseDate("14/03/1994")).toBe("1994-03-14");
    expect(parseDate("1/2/2000")).toBe("2000-02-01");
    expect(parseDate("31/02/2000")).toBeNull();
    expect(parseDate("1994-03-14")).toBeNull();
    expect(formatDate("1994-03-14")).toBe("14/03/1994");
    expect(formatDate(null)).toBe("");
  });
  it("the return date defaults to today", () => {
    expect(emptyDraft(TODAY).return_date).toBe("23/11/2026");
  });
});

describe("live DUI check", () => {
  it("says incomplete, wrong check digit, or valid", () => {
    expect(duiStatus("")).toEqual({ kind: "empty" });
    expect(duiStatus("0001629")).toEqual({ kind: "incomplete" });
    expect(duiStatus("00016297-5")).toEqual({ kind: "valid", canonical: "00016297-5" });
    expect(duiStatus("000162975")).toEqual({ kind: "valid", canonical: "00016297-5" });
    expect(duiStatus("00016297-4")).toEqual({ kind: "check_digit", expected: 5 });
    expect(duiStatus("0001-6297")).toEqual({ kind: "format" });
    expect(duiStatus("abc")).toEqual({ kind: "format" });
  });
});

describe("age and minors", () => {
  it("from a birth date or an approximate age", () => {
    const exact = birthDateOf({ birth_date: "24/11/2008", age: "" }, TODAY);
    expect(exact).toEqual({ precision: "exact", date: "2008-11-24" });
    expect(ageOf(exact, TODAY)).toBe(17);
    expect(isMinor(exact, TODAY)).toBe(true);
    expect(isMinor(birthDateOf({ birth_date: "23/11/2008", age: "" }, TODAY), TODAY)).toBe(false);
    const approx = birthDateOf({ birth_date: "", age: "15" }, TODAY);
    expect(approx).toEqual({ precision: "estimated_from_age", age: 15, stated_on: TODAY });
    expect(isMinor(approx, TODAY)).toBe(true);
    expect(birthDateOf({ birth_date: "", age: "" }, TODAY)).toBeNull();
    expect(isMinor(null, TODAY)).toBe(false);
  });
  it("an unaccompanied child is flagged from the travel or the vulnerability", () => {
    expect(isUnaccompaniedChild({ travelled: "unaccompanied_minor", vulnerabilities: [] })).toBe(true);
    expect(isUnaccompaniedChild({ travelled: "alone", vulnerabilities: ["unaccompanied_child"] })).toBe(true);
    expect(isUnaccompaniedChild({ travelled: "with_family", vulnerabilities: [] })).toBe(false);
  });
});

describe("validation before saving", () => {
  it("names the missing fields", () => {
    expect(checkDraft(emptyDraft(TODAY), TODAY)).toEqual({
      given_names: "required",
      first_surname: "required",
      sex: "required",
      destination_district: "required",
      consent_registration: "consent_unanswered",
    });
    expect(checkDraft(filled(), TODAY)).toEqual({});
  });
  it("never saves while a district search holds text nobody chose", () => {
    // The destination was chosen before, then "san" was typed and left: still refused.
    expect(checkDraft(filled(), TODAY, { destination: true, origin: false })).toEqual({
      destination_district: "district_not_chosen",
    });
    expect(checkDraft(filled(), TODAY, { destination: false, origin: true })).toEqual({
      origin_district: "district_not_chosen",
    });
    expect(checkDraft({ ...filled(), destination_district: "" }, TODAY, { destination: true, origin: false }).destination_district).toBe(
      "district_not_chosen",
    );
  });
  it("checks the DUI, dates and country", () => {
    const d = { ...filled(), dui: "00016297-4", birth_date: "32/01/1990", return_date: "24/11/2026", country_from: "USA" };
    expect(checkDraft(d, TODAY)).toEqual({
      dui: "dui_check_digit",
      birth_date: "date_format",
      return_date: "date_in_future",
      country_from: "invalid_country",
    });
  });
  it("checks a return event's own fields the same way, for the return form", () => {
    expect(checkReturn({ date: "01/06/2025", country_from: "mx", custody_days: "" }, TODAY)).toEqual({});
    expect(checkReturn({ date: "", country_from: "USA", custody_days: "2.5" }, TODAY)).toEqual({
      date: "required",
      country_from: "invalid_country",
      custody_days: "invalid_number",
    });
    expect(checkReturn({ date: "31/02/2025", country_from: "US", custody_days: "3" }, TODAY).date).toBe("date_format");
    expect(checkReturn({ date: "24/11/2026", country_from: "US", custody_days: "3" }, TODAY).date).toBe("date_in_future");
  });
  it("maps Rust's field errors to the form's fields", () => {
    expect(
      fieldErrorsFrom([
        { field: "return_events[0].date", code: "date_in_future", date: "2027-01-01" },
        { field: "dui", code: "dui_check_digit", expected: 5 },
      ]),
    ).toEqual({ return_date: "date_in_future", dui: "dui_check_digit" });
  });
});

describe("what is sent to Rust", () => {
  it("the arrival carries the canonical DUI, the return and the family", () => {
    const a = arrivalOf({ ...filled(), dui: "000162975", country_from: "mx" }, TODAY, "p-1");
    expect(a.dui).toBe("00016297-5");
    expect(a.sex).toBe("female");
    expect(a.return_event?.date).toBe(TODAY);
    expect(a.return_event?.country_from).toBe("MX");
    expect(a.family_of).toBe("p-1");
    expect(a.consent_registration).toBe(true);
  });
});

describe("returning-person suggestions", () => {
  it("are asked once a name or a whole valid DUI is typed", () => {
    expect(suggestionQueryOf(emptyDraft(TODAY), TODAY)).toBeNull();
    expect(suggestionQueryOf({ ...emptyDraft(TODAY), given_names: "M", first_surname: "H" }, TODAY)).toBeNull();
    expect(suggestionQueryOf({ ...emptyDraft(TODAY), dui: "00016297-4" }, TODAY)).toBeNull();
    expect(suggestionQueryOf({ ...emptyDraft(TODAY), dui: "000162975" }, TODAY)?.dui).toBe("00016297-5");
    const q = suggestionQueryOf({ ...filled(), birth_date: "14/03/1994" }, TODAY);
    expect(q?.given_names).toBe("María José");
    expect(q?.birth_date).toEqual({ precision: "exact", date: "1994-03-14" });
    expect(q?.dui).toBe("");
  });
  it("toggle adds and removes", () => {
    expect(toggle(["a"], "b")).toEqual(["a", "b"]);
    expect(toggle(["a", "b"], "a")).toEqual(["b"]);
  });
});

describe("the rest of the single form on intake", () => {
  it("reads custody days as a whole number, empty as none", () => {
    expect(custodyDaysOf("")).toBeNull();
    expect(custodyDaysOf(" 21 ")).toBe(21);
    expect(custodyDaysOf("2.5")).toBeUndefined();
    expect(custodyDaysOf("-3")).toBeUndefined();
  });

  it("asks for the number of another document and sends it with origin, education and occupation", () => {
    const draft = { ...emptyDraft("2026-11-23"), given_names: "Kevin", first_surname: "López", sex: "male" as const, consent_registration: true };
    draft.destination_district = "SV-US-JIQ";
    draft.origin_district = "SV-SS-ILO";
    draft.other_doc_kind = "passport";
    expect(checkDraft(draft, "2026-11-23").other_doc_number).toBe("required");
    draft.other_doc_number = " A123 ";
    draft.custody_days = "x";
    expect(checkDraft(draft, "2026-11-23").custody_days).toBe("invalid_number");
    draft.custody_days = "12";
    draft.education = "technical";
    draft.occupation = "albañil";
    expect(checkDraft(draft, "2026-11-23")).toEqual({});
    const sent = arrivalOf(draft, "2026-11-23", null);
    expect(sent.other_document).toEqual({ kind: "passport", number: "A123" });
    expect(sent.origin_district).toBe("SV-SS-ILO");
    expect(sent.education).toBe("technical");
    expect(sent.occupation).toBe("albañil");
    expect(sent.return_event?.custody_days).toBe(12);
    expect(otherDocumentOf({ other_doc_kind: "", other_doc_number: "9" })).toBeNull();
  });
});

describe("today", () => {
  it("is the day in El Salvador (UTC−6), as Rust validates it", () => {
    expect(isoToday(new Date("2026-11-24T00:30:00Z"))).toBe("2026-11-23");
    expect(isoToday(new Date("2026-11-24T06:00:00Z"))).toBe("2026-11-24");
  });
});

describe("a returning person with new details", () => {
  it("offers a typed phone and a destination other than the form's, with what the form has", () => {
    const onFile = { destination_district: "SV-A", phone: "7123-4567" };
    const same = returnDifferencesOf({ phone: " ", destination_district: "SV-A" }, onFile);
    expect(hasDifferences(same)).toBe(false);
    expect(hasDifferences(returnDifferencesOf({ phone: "71234567", destination_district: "SV-A" }, onFile))).toBe(false);
    expect(returnDifferencesOf({ phone: "", destination_district: "" }, onFile).destination).toBeNull();
    const d = returnDifferencesOf({ phone: " 7999-0000 ", destination_district: "SV-B" }, onFile);
    expect(d).toEqual({ phone: { before: "7123-4567", after: "7999-0000" }, destination: { before: "SV-A", after: "SV-B" } });
    const noPhoneBefore = returnDifferencesOf({ phone: "7999-0000", destination_district: "SV-A" }, { ...onFile, phone: "" });
    expect(noPhoneBefore.phone).toEqual({ before: "", after: "7999-0000" });
    expect(returnUpdatesOf(d, { phone: true, destination: true })).toEqual({ phone: "7999-0000", destination_district: "SV-B" });
    expect(returnUpdatesOf(d, { phone: false, destination: true })).toEqual({ phone: null, destination_district: "SV-B" });
    expect(returnUpdatesOf(d, { phone: false, destination: false })).toEqual({ phone: null, destination_district: null });
  });
});

describe("registration consent", () => {
  it("is an active choice: unanswered until asked, and a no is kept as a no", () => {
    expect(emptyDraft(TODAY).consent_registration).toBeNull();
    expect(checkDraft({ ...filled(), consent_registration: null }, TODAY)).toEqual({ consent_registration: "consent_unanswered" });
    expect(checkDraft({ ...filled(), consent_registration: false }, TODAY)).toEqual({});
    expect(arrivalOf({ ...filled(), consent_registration: false }, TODAY, null).consent_registration).toBe(false);
    expect(arrivalOf(filled(), TODAY, null).consent_registration).toBe(true);
  });
});

describe("the error summary", () => {
  it("lists problems in the order of the form and links each to its control", () => {
    const errors = { destination_district: "required", sex: "required", given_names: "required", weird: "x" };
    expect(orderedErrors(errors).map(([f]) => f)).toEqual(["given_names", "sex", "destination_district", "weird"]);
    expect(controlIdOf("destination_district")).toBe("district-search");
    expect(controlIdOf("origin_district")).toBe("origin-district-search");
    expect(controlIdOf("given_names")).toBe("f-given_names");
  });
});
