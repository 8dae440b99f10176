import { beforeEach, describe, expect, it, vi } from "vitest";

const saved: { language: string } = { language: "es" };
const setLanguage = vi.fn(async (language: string) => {
  saved.language = language;
});
vi.mock("../ipc", () => ({
  preferences: {
    language: vi.fn(async () => saved.language),
    setLanguage: (language: string) => setLanguage(language),
  },
}));

const { i18n, loadRememberedLanguage, t, tField } = await import("./index.svelte");

describe("UI language", () => {
  beforeEach(() => {
    saved.language = "es";
    setLanguage.mockClear();
  });

  it("is Spanish by default", async () => {
    await loadRememberedLanguage();
    expect(i18n.lang).toBe("es");
    expect(t("nav.reception")).toBe("Recepción");
  });

  it("switching changes the texts and asks Rust to remember it", () => {
    i18n.lang = "en";
    expect(t("nav.reception")).toBe("Reception");
    expect(setLanguage).toHaveBeenCalledWith("en");
    i18n.lang = "es";
  });

  it("applies the remembered language at start", async () => {
    saved.language = "en";
    await loadRememberedLanguage();
    expect(t("nav.cases")).toBe("Cases");
  });

  it("ignores an unknown remembered value", async () => {
    i18n.lang = "es";
    saved.language = "fr";
    await loadRememberedLanguage();
    expect(i18n.lang).toBe("es");
  });

  it("words a field's problem by its code, and keeps an unknown code as it is", () => {
    i18n.lang = "es";
    expect(tField("required")).toBe("Este dato es obligatorio.");
    expect(tField("no_such_code")).toBe("no_such_code");
  });
});
