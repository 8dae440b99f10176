// Helpers of the "Indicadores" screen: the period the filters describe, and the rows of a chart
// and of the table behind it. The counting is Rust's (reintegra_core::indicators); this only
// shapes what Rust sent for display.
import type { Count } from "../bindings/Count";
import type { Department } from "../bindings/Department";
import type { Period } from "../bindings/Period";

export type PeriodKind = Period["kind"];

/** The period the screen's controls describe; null while a custom range is incomplete. */
export function periodOf(
  kind: PeriodKind,
  year: number,
  part: number,
  from: string,
  to: string,
): Period | null {
  switch (kind) {
    case "month":
      return { kind, year, month: part };
    case "quarter":
      return { kind, year, quarter: part };
    case "year":
      return { kind, year };
    case "custom":
      return /^\d{4}-\d{2}-\d{2}$/.test(from) && /^\d{4}-\d{2}-\d{2}$/.test(to) && from <= to
        ? { kind, from, to }
        : null;
  }
}

/** The quarter of an ISO day (what the screen opens on). */
export function quarterOf(iso: string): { year: number; quarter: number } {
  const year = Number(iso.slice(0, 4));
  const month = Number(iso.slice(5, 7));
  return { year, quarter: Math.floor((month - 1) / 3) + 1 };
}

/** A chart's data: one label per row, one series of values per column. */
export interface ChartData {
  labels: string[];
  series: { label: string; values: number[] }[];
}

/**
 * Rows of a breakdown as chart data: the label of each row (worded by `label`), its people and,
 * when `servicesLabel` is given, its services. Rows with nothing in them are left out when
 * `dropEmpty` (territories), kept otherwise (every sex and age group shows, even at zero).
 */
export function chartOf(
  rows: Count[],
  label: (row: Count) => string,
  peopleLabel: string,
  servicesLabel?: string,
  dropEmpty = false,
): ChartData {
  const kept = dropEmpty ? rows.filter((r) => r.people > 0 || r.services > 0) : rows;
  const series = [{ label: peopleLabel, values: kept.map((r) => r.people) }];
  if (servicesLabel) series.push({ label: servicesLabel, values: kept.map((r) => r.services) });
  return { labels: kept.map(label), series };
}

/** A median as El Salvador writes it (23.5: the decimal point), "—" when there is none. */
export function formatMedian(value: number | null, lang: string): string {
  if (value === null) return "—";
  return value.toLocaleString(lang === "es" ? "es-SV" : "en-US", { maximumFractionDigits: 1 });
}

/** The names of a district's department and municipality, from the territory Rust sent. */
export function placeOf(
  departments: Department[],
  districtCode: string,
): { department: string; municipality: string; district: string } | null {
  for (const d of departments) {
    for (const m of d.municipalities) {
      const district = m.districts.find((x) => x.code === districtCode);
      if (district) return { department: d.name, municipality: m.name, district: district.name };
    }
  }
  return null;
}
