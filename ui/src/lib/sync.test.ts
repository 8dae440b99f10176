import { describe, expect, it } from "vitest";
import type { Progress } from "../bindings/Progress";
import { en } from "../i18n/en";
import { es } from "../i18n/es";
import type { MessageKey } from "../i18n/messages";
import { kilobytes, progressPercent, quarantineReason, recordLabel, retryHint, shownValue } from "./sync";

const progress = (over: Partial<Progress>): Progress => ({
  phase: "push",
  batches_sent: 0,
  batches_to_send: 0,
  pages_received: 0,
  bytes_sent: 0,
  bytes_received: 0,
  ops_pushed: 0,
  changes_pulled: 0,
  ...over,
});

describe("sync progress", () => {
  it("counts batches sent of those planned", () => {
    expect(progressPercent(null)).toBeNull();
    expect(progressPercent(progress({ batches_to_send: 0 }))).toBeNull();
    expect(progressPercent(progress({ batches_sent: 1, batches_to_send: 3 }))).toBe(33);
    expect(progressPercent(progress({ phase: "pull", batches_sent: 3, batches_to_send: 3 }))).toBe(100);
  });

  it("is complete when done, even with nothing to send", () => {
    expect(progressPercent(progress({ phase: "done" }))).toBe(100);
  });

  it("shows bytes in KB", () => {
    expect(kilobytes(0)).toBe("0.0 KB");
    expect(kilobytes(43_008)).toBe("42.0 KB");
  });
});

describe("conflict values", () => {
  it("shows text as is, nothing as a dash, lists as JSON", () => {
    expect(shownValue("7111-1111")).toBe("7111-1111");
    expect(shownValue(null)).toBe("—");
    expect(shownValue("")).toBe("—");
    expect(shownValue(["carpintería"])).toBe('["carpintería"]');
  });
});

describe("whose record a refused change or a conflict is", () => {
  const spanish = (key: MessageKey) => es[key];
  const english = (key: MessageKey) => en[key];

  it("is the person's name when Rust sends one, in any language", () => {
    expect(recordLabel({ entity: "referral", label: "Rosa Pérez" }, english)).toBe("Rosa Pérez");
  });

  it("is the kind of record in the user's language otherwise", () => {
    expect(recordLabel({ entity: "provider", label: null }, spanish)).toBe("Proveedor de servicios");
    expect(recordLabel({ entity: "provider", label: null }, english)).toBe("Service provider");
    expect(recordLabel({ entity: "audit", label: null }, english)).toBe("Audit log");
    expect(recordLabel({ entity: "person", label: null }, spanish)).toBe("Registro que este equipo no tiene");
    expect(recordLabel({ entity: "case_note", label: null }, english)).toBe("Record this device does not have");
  });
});

describe("why the server refused a change", () => {
  const english = (key: MessageKey) => en[key];

  it("is worded by its code in the user's language", () => {
    const refused = { code: "forbidden", reason: "la autora no es de esta oficina" };
    expect(quarantineReason(refused, english)).toContain("does not allow");
    expect(quarantineReason({ code: "clock_ahead", reason: "reloj" }, english)).toContain("clock");
  });

  it("keeps the server's words for a code it does not know", () => {
    expect(quarantineReason({ code: "new_rule", reason: "una regla nueva" }, english)).toBe("una regla nueva");
  });
});

describe("retryHint", () => {
  it("says what a retry can do for each cause, in Spanish", () => {
    expect(es[retryHint("clock_ahead")]).toContain("fecha y la hora");
    expect(es[retryHint("forbidden")]).toContain("rol o la oficina");
    for (const code of ["invalid", "out_of_scope", "list_too_long", "deleted", "nuevo"]) {
      expect(retryHint(code)).toBe("quarantine.hint.other");
    }
  });
});
