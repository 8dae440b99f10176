// What the "Sincronización" screen shows of a sync in progress and of a conflict's values.
import type { Progress } from "../bindings/Progress";

/** How far a sync is, 0–100, or null while there is nothing to count yet. */
export function progressPercent(p: Progress | null): number | null {
  if (!p) return null;
  if (p.phase === "done") return 100;
  if (p.batches_to_send > 0) return Math.round((100 * p.batches_sent) / p.batches_to_send);
  return null;
}

/** Bytes as the screen shows them: "12.3 KB". */
export function kilobytes(bytes: number): string {
  return `${(bytes / 1024).toFixed(1)} KB`;
}

/** A field's value in a conflict: text as is, nothing as a dash, anything else as JSON. */
export function shownValue(value: unknown): string {
  if (value === null || value === undefined || value === "") return "—";
  return typeof value === "string" ? value : JSON.stringify(value);
}
