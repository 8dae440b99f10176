import { LANGUAGES, type Language } from "./messages";

export const LANGUAGE_STORAGE_KEY = "reintegra.language";
export const DEFAULT_LANGUAGE: Language = "es";

/** The part of `Storage` we need, so tests can pass a plain object. */
export interface KeyValueStore {
  getItem(key: string): string | null;
  setItem(key: string, value: string): void;
}

export function isLanguage(value: unknown): value is Language {
  return typeof value === "string" && (LANGUAGES as readonly string[]).includes(value);
}

/** The remembered language, or Spanish when none (or garbage) is stored. */
export function loadLanguage(store: KeyValueStore | undefined): Language {
  try {
    const saved = store?.getItem(LANGUAGE_STORAGE_KEY);
    return isLanguage(saved) ? saved : DEFAULT_LANGUAGE;
  } catch {
    return DEFAULT_LANGUAGE;
  }
}

export function saveLanguage(store: KeyValueStore | undefined, lang: Language): void {
  try {
    store?.setItem(LANGUAGE_STORAGE_KEY, lang);
  } catch {
    // Storage can be unavailable (private mode, quota); the choice then lasts for this session.
  }
}
