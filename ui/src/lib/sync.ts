// What the "Sincronización" screen shows of a sync in progress and of a conflict's values.
import type { EntityKind } from "../bindings/EntityKind";
import type { Progress } from "../bindings/Progress";
import type { MessageKey } from "../i18n/messages";

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

/**
 * The words for a refused change or a conflict whose record names no person on this device (Rust
 * sends `label: null`): the kind of record, or, for a person's record, that this device lacks it.
 * Written for every kind, so a kind added in Rust is a type error here.
 */
const UNNAMED_RECORD: Record<EntityKind, MessageKey> = {
  person: "entity.missing",
  referral: "entity.missing",
  follow_up: "entity.missing",
  case_note: "entity.missing",
  provider: "entity.provider",
  user: "entity.user",
  audit: "entity.audit",
};

/** Whose record it is: the person's name when Rust sent one, else the words for its kind. */
export function recordLabel(
  item: { entity: EntityKind; label: string | null },
  words: (key: MessageKey) => string,
): string {
  return item.label || words(UNNAMED_RECORD[item.entity]);
}

/** The server's reasons for refusing an op, by code; others keep the server's own words. */
const QUARANTINE_REASONS: Record<string, MessageKey> = {
  forbidden: "quarantine.forbidden",
  clock_ahead: "quarantine.clock_ahead",
  deleted: "quarantine.deleted",
  out_of_scope: "quarantine.out_of_scope",
};

/** What retrying a refused change can achieve, by why it was refused. */
export function retryHint(code: string): MessageKey {
  switch (code) {
    case "clock_ahead":
      return "quarantine.hint.clock_ahead";
    case "forbidden":
      return "quarantine.hint.forbidden";
    default:
      return "quarantine.hint.other";
  }
}

/** Why the server refused a change, in the user's language. */
export function quarantineReason(
  item: { code: string; reason: string },
  words: (key: MessageKey) => string,
): string {
  const key = QUARANTINE_REASONS[item.code];
  return key ? words(key) : item.reason;
}
