export type Strength = "tooShort" | "weak" | "fair" | "strong";

/** The store refuses shorter passphrases (reintegra-store MIN_PASSPHRASE). */
export const MIN_PASSPHRASE = 12;

/**
 * A hint, not a rule: length counts most (a phrase of words beats a short password with
 * symbols), variety of character classes helps, one repeated character does not.
 */
export function passphraseStrength(passphrase: string): Strength {
  const chars = [...passphrase];
  if (chars.length < MIN_PASSPHRASE) return "tooShort";
  const classes = [/[a-záéíóúñü]/, /[A-ZÁÉÍÓÚÑÜ]/, /[0-9]/, /[^A-Za-z0-9áéíóúñüÁÉÍÓÚÑÜ]/].filter((re) =>
    re.test(passphrase),
  ).length;
  const distinct = new Set(chars).size;
  if (distinct <= 3) return "weak";
  const score = chars.length + 3 * classes;
  if (score >= 22) return "strong";
  if (score >= 15) return "fair";
  return "weak";
}
