import { describe, expect, it } from "vitest";
import { chartOf, formatMedian, periodOf, placeOf, quarterOf } from "./indicators";

describe("indicators screen helpers", () => {
  it("describe the period the controls show", () => {
    expect(periodOf("quarter", 2026, 3, "", "")).toEqual({ kind: "quarter", year: 2026, quarter: 3 });
    expect(periodOf("month", 2026, 7, "", "")).toEqual({ kind: "month", year: 2026, month: 7 });
    expect(periodOf("year", 2026, 1, "", "")).toEqual({ kind: "year", year: 2026 });
    expect(periodOf("custom", 0, 0, "2026-07-01", "2026-07-15")).toEqual({
      kind: "custom",
      from: "2026-07-01",
      to: "2026-07-15",
    });
    expect(periodOf("custom", 0, 0, "2026-07-15", "2026-07-01")).toBeNull();
    expect(periodOf("custom", 0, 0, "2026-07-01", "")).toBeNull();
    expect(quarterOf("2026-08-20")).toEqual({ year: 2026, quarter: 3 });
    expect(quarterOf("2026-12-31")).toEqual({ year: 2026, quarter: 4 });
  });

  it("shape a breakdown into a chart and its table", () => {
    const rows = [
      { key: "female", name: "", people: 2, services: 3 },
      { key: "unknown", name: "", people: 0, services: 0 },
    ];
    expect(chartOf(rows, (r) => r.key, "Personas", "Retornos")).toEqual({
      labels: ["female", "unknown"],
      series: [
        { label: "Personas", values: [2, 0] },
        { label: "Retornos", values: [3, 0] },
      ],
    });
    expect(chartOf(rows, (r) => r.key, "Personas", undefined, true)).toEqual({
      labels: ["female"],
      series: [{ label: "Personas", values: [2] }],
    });
    expect(formatMedian(null, "es")).toBe("—");
    expect(formatMedian(23.5, "es")).toBe("23.5");
    expect(formatMedian(4, "es")).toBe("4");
    expect(formatMedian(23.5, "en")).toBe("23.5");
  });

  it("name a district's department and municipality", () => {
    const departments = [
      {
        code: "SV-US",
        name: "Usulután",
        municipalities: [{ code: "SV-US-oeste", name: "Usulután Oeste", districts: [{ code: "SV-US-jiquilisco", name: "Jiquilisco", prioritized: false }] }],
      },
    ];
    expect(placeOf(departments, "SV-US-jiquilisco")).toEqual({
      department: "Usulután",
      municipality: "Usulután Oeste",
      district: "Jiquilisco",
    });
    expect(placeOf(departments, "")).toBeNull();
  });
});
