import { describe, expect, it } from "vitest";
import { en } from "../i18n/en";
import { es } from "../i18n/es";
import * as enums from "./enums";

/** Each list and the i18n namespace of its texts. */
const NAMESPACES: [string[], string][] = [
  [enums.VULNERABILITIES, "vulnerability"],
  [enums.ASSISTANCE, "immediateAssistance"],
  [enums.EDUCATION, "education"],
  [enums.DOCUMENT_KINDS, "documentKind"],
  [enums.SEXES, "sex"],
  [enums.BENEFICIARY_TYPES, "beneficiaryType"],
  [enums.CONTACT_CHANNELS, "contactChannel"],
  [enums.RETURN_MODALITIES, "returnModality"],
  [enums.RECEPTION_CENTERS, "receptionCenter"],
  [enums.TRAVEL_COMPANIONS, "travelCompanion"],
  [enums.SERVICE_TYPES, "serviceType"],
  [enums.PRIORITIES, "priority"],
  [enums.PERSON_FIELDS, "personField"],
  [enums.FOLLOW_UP_CHANNELS, "followUpChannel"],
  [enums.DIMENSIONS, "dimension"],
  [enums.GOAL_STATUSES, "goalStatus"],
  [enums.CLOSURE_REASONS, "closureReason"],
  [enums.ROLES, "role"],
  [enums.MATCH_REASONS, "matchReason"],
  [enums.AGE_GROUPS, "ageGroup"],
  [enums.REFERRAL_STATUSES, "referralStatus"],
  [enums.IMPORT_FIELDS, "importField"],
];

describe("enum value lists", () => {
  it("keep the order they are written in", () => {
    expect(enums.variants<"b" | "a">({ b: true, a: true })).toEqual(["b", "a"]);
    expect(enums.VULNERABILITIES[0]).toBe("unaccompanied_child");
  });

  it("reject a missing or an unknown variant (checked by svelte-check)", () => {
    // @ts-expect-error a variant is missing
    enums.variants<"a" | "b">({ a: true });
    // @ts-expect-error an unknown variant
    enums.variants<"a">({ a: true, b: true });
  });

  it("every value has a text in both languages, and the namespace has no other", () => {
    const exported = Object.values(enums).filter(Array.isArray);
    expect(exported.length).toBe(NAMESPACES.length);
    for (const [values, namespace] of NAMESPACES) {
      const expected = values.map((v) => `${namespace}.${v}`).sort();
      for (const dict of [es, en]) {
        const keys = Object.keys(dict).filter((k) => k.startsWith(`${namespace}.`)).sort();
        expect(keys, namespace).toEqual(expected);
      }
    }
  });
});
