// What the export panel and the import screen decide without Rust: which export the choice
// names, and the mapping remembered per office on this device.
import type { ExportWhat } from "../bindings/ExportWhat";
import type { ImportMapping } from "../bindings/ImportMapping";
import type { ImportPreview } from "../bindings/ImportPreview";
import type { IndicatorFilter } from "../bindings/IndicatorFilter";

export const EXPORT_KINDS = ["indicators", "cases", "referrals", "follow_ups"] as const;
export type ExportKind = (typeof EXPORT_KINDS)[number];

/** The export a choice names: indicators and cases follow the screen's filters. */
export function exportWhat(kind: ExportKind, filter: IndicatorFilter | null): ExportWhat | null {
  switch (kind) {
    case "indicators":
      return filter ? { kind: "indicators", filter } : null;
    case "cases":
      return filter ? { kind: "cases", filter } : null;
    case "referrals":
      return { kind: "referrals", query: { open_only: true, offset: 0, limit: 0 } };
    case "follow_ups":
      return { kind: "follow_ups", query: { overdue_only: false, within_days: 30, offset: 0, limit: 0 } };
  }
}

const KEY = "reintegra.importMapping.";

/** The mapping saved for this office (central staff: "central"); none when never saved. */
export function savedMapping(
  office: string | null,
  storage: Pick<Storage, "getItem"> | undefined = globalThis.localStorage,
): ImportMapping {
  try {
    const raw = storage?.getItem(KEY + (office ?? "central"));
    const parsed: unknown = raw ? JSON.parse(raw) : null;
    if (parsed && typeof parsed === "object" && "columns" in parsed) {
      const columns = (parsed as { columns: unknown }).columns;
      if (columns && typeof columns === "object") return { columns: columns as ImportMapping["columns"] };
    }
  } catch {
    // A damaged entry is as good as none.
  }
  return { columns: {} };
}

/** Remembers the columns of a mapping for the office's next file (the header row is per file). */
export function saveMapping(
  office: string | null,
  mapping: ImportMapping,
  storage: Pick<Storage, "setItem"> | undefined = globalThis.localStorage,
): void {
  try {
    storage?.setItem(KEY + (office ?? "central"), JSON.stringify({ columns: mapping.columns }));
  } catch {
    // Storage full or off: the mapping is simply not remembered.
  }
}

/** The rows to show first: refused, then those with a note, then the rest, in file order. */
export function rowsToShow(preview: ImportPreview, limit = 200): ImportPreview["rows"] {
  const rank = (r: ImportPreview["rows"][number]) => (r.outcome.kind === "refused" ? 0 : r.notes.length > 0 ? 1 : 2);
  return [...preview.rows].sort((a, b) => rank(a) - rank(b) || a.row - b.row).slice(0, limit);
}

/** `text` with each `{name}` replaced by its value. */
export function fill(text: string, values: Record<string, string | number>): string {
  return text.replace(/\{(\w+)\}/g, (whole, name: string) => (name in values ? String(values[name]) : whole));
}
