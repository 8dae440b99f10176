import { describe, expect, it } from "vitest";
import { passphraseStrength } from "./passphrase";

describe("passphrase strength hint", () => {
  it("refuses what the store refuses", () => {
    expect(passphraseStrength("")).toBe("tooShort");
    expect(passphraseStrength("abc1234")).toBe("tooShort");
  });

  it("a repeated character is weak however long", () => {
    expect(passphraseStrength("aaaaaaaaaaaaaaaaaaaa")).toBe("weak");
  });

  it("grows with length and variety", () => {
    expect(passphraseStrength("abcdefghijk")).toBe("tooShort");
    expect(passphraseStrength("aaaabbbbcccc")).toBe("weak");
    expect(passphraseStrength("casa-verde-7")).toBe("fair");
    expect(passphraseStrength("mi casa verde en Jiquilisco 2026")).toBe("strong");
  });

  it("counts accented letters as one character each", () => {
    expect(passphraseStrength("ñáéíóúü")).toBe("tooShort");
  });
});
