import { describe, expect, it } from "vitest";
import { exportWhat, fill, rowsToShow, saveMapping, savedMapping } from "./files";
import type { ImportPreview } from "../bindings/ImportPreview";

function memory(): Storage {
  const m = new Map<string, string>();
  return {
    getItem: (k: string) => m.get(k) ?? null,
    setItem: (k: string, v: string) => void m.set(k, v),
    removeItem: (k: string) => void m.delete(k),
    clear: () => m.clear(),
    key: () => null,
    get length() {
      return m.size;
    },
  };
}

describe("files", () => {
  it("fills placeholders and leaves unknown ones", () => {
    expect(fill("{rows} filas en {path} {x}", { rows: 3, path: "/tmp/a.xlsx" })).toBe("3 filas en /tmp/a.xlsx {x}");
  });

  it("indicators and cases need the screen's filter; lists do not", () => {
    expect(exportWhat("indicators", null)).toBeNull();
    const filter = { period: { kind: "year", year: 2026 } } as never;
    expect(exportWhat("cases", filter)).toEqual({ kind: "cases", filter });
    expect(exportWhat("referrals", null)).toMatchObject({ kind: "referrals", query: { open_only: true } });
  });

  it("remembers the columns per office, not the header row", () => {
    const s = memory();
    expect(savedMapping("SV-US-oeste", s)).toEqual({ columns: {} });
    saveMapping("SV-US-oeste", { header_row: 3, columns: { Nombres: "given_names" } }, s);
    expect(savedMapping("SV-US-oeste", s)).toEqual({ columns: { Nombres: "given_names" } });
    expect(savedMapping(null, s)).toEqual({ columns: {} });
    s.setItem("reintegra.importMapping.central", "{roto");
    expect(savedMapping(null, s)).toEqual({ columns: {} });
  });

  it("shows refused rows first", () => {
    const row = (n: number, kind: "new" | "refused", notes: string[] = []) =>
      ({ row: n, name: "", outcome: { kind }, reasons: [], notes, cells: [] }) as ImportPreview["rows"][number];
    const preview = { rows: [row(4, "new"), row(5, "refused"), row(6, "new", ["se parece"]), row(7, "refused")] } as ImportPreview;
    expect(rowsToShow(preview).map((r) => r.row)).toEqual([5, 7, 6, 4]);
    expect(rowsToShow(preview, 1).map((r) => r.row)).toEqual([5]);
  });
});
