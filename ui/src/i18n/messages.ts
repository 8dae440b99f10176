// The dictionaries by language: es.ts (the source of the keys) and en.ts (typed against them).
import { en } from "./en";
import { es } from "./es";

export type { MessageKey, Messages } from "./es";
export { en, es };

export const dictionaries = { es, en } as const;
export type Language = keyof typeof dictionaries;
export const LANGUAGES: readonly Language[] = ["es", "en"];
