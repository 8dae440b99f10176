import { preferences, type IpcError } from "../ipc";
import { dictionaries, LANGUAGES, type Language, type MessageKey } from "./messages";

export const DEFAULT_LANGUAGE: Language = "es";

const state = $state<{ lang: Language }>({ lang: DEFAULT_LANGUAGE });

function apply(lang: Language) {
  state.lang = lang;
  if (typeof document !== "undefined") document.documentElement.lang = lang;
}

export const i18n = {
  get lang(): Language {
    return state.lang;
  },
  /** Switches the UI now and remembers the choice on the device (written by Rust, atomically). */
  set lang(lang: Language) {
    apply(lang);
    preferences.setLanguage(lang).catch(() => {
      // Not remembered; the switch still holds for this session.
    });
  },
};

/** Applies the language remembered on this device; keeps Spanish if it cannot be read. */
export async function loadRememberedLanguage(): Promise<void> {
  try {
    const saved = await preferences.language();
    if ((LANGUAGES as readonly string[]).includes(saved)) apply(saved);
  } catch {
    // Keep the default.
  }
}

/** The text for `key` in the current language. */
export function t(key: MessageKey): string {
  return dictionaries[state.lang][key];
}

/** A failed command in the user's language: by its code when we know it, else Rust's message. */
export function tError(error: IpcError): string {
  const key = `error.${error.code}`;
  const dict: Record<string, string> = dictionaries[state.lang];
  return dict[key] ?? error.message;
}

/** A field's problem in words, by its code (`required`, `date_format`, …); the code if unknown. */
export function tField(code: string): string {
  const dict: Record<string, string> = dictionaries[state.lang];
  return dict[`field.${code}`] ?? code;
}

/** A field of the form (as Rust names it in the history: `return_events`) in words; the name if unknown. */
export function tFormField(name: string): string {
  const dict: Record<string, string> = dictionaries[state.lang];
  return dict[`formField.${name}`] ?? name;
}
