import { dictionaries, type Language, type MessageKey } from "./messages";
import { loadLanguage, saveLanguage, type KeyValueStore } from "./language";

function browserStorage(): KeyValueStore | undefined {
  return typeof localStorage === "undefined" ? undefined : localStorage;
}

const state = $state<{ lang: Language }>({ lang: loadLanguage(browserStorage()) });

export const i18n = {
  get lang(): Language {
    return state.lang;
  },
  set lang(lang: Language) {
    state.lang = lang;
    saveLanguage(browserStorage(), lang);
    document.documentElement.lang = lang;
  },
};

/** The text for `key` in the current language. */
export function t(key: MessageKey): string {
  return dictionaries[state.lang][key];
}
