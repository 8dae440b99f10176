import { describe, expect, it } from "vitest";
import { en } from "./en";
import { es } from "./es";

describe("translations", () => {
  it("English has exactly the Spanish keys", () => {
    expect(Object.keys(en).sort()).toEqual(Object.keys(es).sort());
  });

  it("no text is empty in either language", () => {
    for (const dict of [es, en]) {
      for (const [key, text] of Object.entries(dict)) {
        expect(text.trim(), key).not.toBe("");
      }
    }
  });

  it("navigation is in Spanish by default", () => {
    expect(es["nav.reception"]).toBe("Recepción");
    expect(es["nav.sync"]).toBe("Sincronización");
    expect(en["nav.reception"]).toBe("Reception");
  });
});
