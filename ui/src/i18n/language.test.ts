import { describe, expect, it } from "vitest";
import { LANGUAGE_STORAGE_KEY, loadLanguage, saveLanguage, type KeyValueStore } from "./language";

function memoryStore(initial: Record<string, string> = {}): KeyValueStore & { data: Record<string, string> } {
  const data = { ...initial };
  return {
    data,
    getItem: (k) => data[k] ?? null,
    setItem: (k, v) => {
      data[k] = v;
    },
  };
}

describe("language preference", () => {
  it("defaults to Spanish", () => {
    expect(loadLanguage(memoryStore())).toBe("es");
    expect(loadLanguage(undefined)).toBe("es");
  });

  it("remembers the chosen language", () => {
    const store = memoryStore();
    saveLanguage(store, "en");
    expect(store.data[LANGUAGE_STORAGE_KEY]).toBe("en");
    expect(loadLanguage(store)).toBe("en");
  });

  it("ignores an unknown stored value", () => {
    expect(loadLanguage(memoryStore({ [LANGUAGE_STORAGE_KEY]: "fr" }))).toBe("es");
  });

  it("survives a storage that throws", () => {
    const broken: KeyValueStore = {
      getItem: () => {
        throw new Error("denied");
      },
      setItem: () => {
        throw new Error("quota");
      },
    };
    expect(loadLanguage(broken)).toBe("es");
    expect(() => saveLanguage(broken, "en")).not.toThrow();
  });
});
