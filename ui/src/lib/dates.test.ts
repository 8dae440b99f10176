import { describe, expect, it } from "vitest";
import { formatDateTime } from "./dates";

describe("dates", () => {
  it("shows dd/mm/yyyy HH:MM", () => {
    const local = new Date(2026, 10, 3, 9, 5).toISOString();
    expect(formatDateTime(local)).toBe("03/11/2026 09:05");
  });

  it("leaves garbage as it is", () => {
    expect(formatDateTime("ayer")).toBe("ayer");
  });
});
