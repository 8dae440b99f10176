import { describe, expect, it } from "vitest";
import { formatDateTime } from "./dates";

describe("dates", () => {
  it("shows dd/mm/yyyy HH:MM on El Salvador's clock (UTC−6), whatever the machine's zone", () => {
    expect(formatDateTime("2026-11-03T15:05:00Z")).toBe("03/11/2026 09:05");
    // 00:30 UTC is still the evening before in El Salvador.
    expect(formatDateTime("2026-11-24T00:30:00Z")).toBe("23/11/2026 18:30");
  });

  it("leaves garbage as it is", () => {
    expect(formatDateTime("ayer")).toBe("ayer");
  });
});
