// The live checks of the form give core's answers: every vector in rule-vectors.json is written
// by Rust (tests/rule_vectors.rs), so a rule changed on one side only fails here.
import { describe, expect, it } from "vitest";
import type { BirthDate } from "../bindings/BirthDate";
import { ageOf, duiStatus, isMinor, isoToday } from "./intake";
import vectors from "./rule-vectors.json";

type Expect = { kind: "valid"; canonical: string } | { kind: "check_digit"; expected: number } | { kind: "format" };

describe("the UI agrees with core", () => {
  it("on every DUI", () => {
    expect(vectors.dui.length).toBeGreaterThan(100);
    for (const v of vectors.dui) {
      const got = duiStatus(v.input);
      const expected = v.expect as Expect;
      // The UI says more while typing ("empty", "incomplete"); core calls both a format error.
      const kind = got.kind === "empty" || got.kind === "incomplete" ? "format" : got.kind;
      expect({ input: v.input, kind }).toEqual({ input: v.input, kind: expected.kind });
      if (got.kind === "valid" && expected.kind === "valid") expect(got.canonical).toBe(expected.canonical);
      if (got.kind === "check_digit" && expected.kind === "check_digit") expect(got.expected).toBe(expected.expected);
    }
  });

  it("on the day in El Salvador", () => {
    for (const v of vectors.sv_day) expect({ utc: v.utc, day: isoToday(new Date(v.utc)) }).toEqual(v);
  });

  it("on age and minors, for exact, year-only and stated ages", () => {
    for (const v of vectors.age) {
      const birth = v.birth as BirthDate;
      expect({ ...v, age: ageOf(birth, v.today), minor: isMinor(birth, v.today) }).toEqual(v);
    }
  });
});
