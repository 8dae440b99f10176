import { describe, expect, it } from "vitest";
import { applyScale, parseScale, percent, savedScale } from "./textsize";

describe("text size", () => {
  it("reads back only known scales", () => {
    expect(parseScale("1.3")).toBe(1.3);
    expect(parseScale("2")).toBe(2);
    expect(parseScale("7")).toBe(1);
    expect(parseScale(null)).toBe(1);
    expect(percent(1.15)).toBe("115 %");
  });
  it("is remembered on the device", () => {
    const store = new Map<string, string>();
    const storage = { getItem: (k: string) => store.get(k) ?? null, setItem: (k: string, v: string) => void store.set(k, v) };
    applyScale(1.5, storage);
    expect(savedScale(storage)).toBe(1.5);
  });
});
