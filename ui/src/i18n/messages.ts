// Every user-facing string, in Spanish (default) and English. The English dictionary must have
// exactly the same keys: the type below makes a missing key a type error.

export const es = {
  "app.name": "Reintegra",
  "app.tagline": "Recepción y reintegración de personas retornadas",
  "nav.home": "Inicio",
  "nav.reception": "Recepción",
  "nav.cases": "Casos",
  "nav.referrals": "Referencias",
  "nav.followups": "Seguimientos",
  "nav.sync": "Sincronización",
  "nav.supervision": "Supervisión",
  "nav.main": "Navegación principal",
  "lang.label": "Idioma",
  "lang.es": "Español",
  "lang.en": "English",
  "home.title": "Inicio",
  "home.intro":
    "Busque el distrito de destino de una persona para saber a qué oficina municipal corresponde su caso.",
  "home.prioritized": "Localidades priorizadas por el programa",
  "territory.title": "Territorio de El Salvador",
  "territory.search": "Buscar distrito",
  "territory.searchPlaceholder": "Escriba el nombre del distrito, p. ej. Tacachico",
  "territory.noResults": "Ningún distrito coincide con la búsqueda.",
  "territory.department": "Departamento",
  "territory.municipality": "Municipio",
  "territory.district": "Distrito",
  "territory.choose": "Seleccione…",
  "territory.selected": "Destino seleccionado",
  "territory.office": "Oficina municipal",
  "territory.prioritized": "Priorizado",
  "territory.results": "Resultados de la búsqueda",
  "section.comingSoon": "Esta sección estará disponible en una próxima versión.",
  "error.generic": "Ocurrió un error inesperado. Intente de nuevo.",
  "error.ipc": "No se pudo comunicar con la aplicación.",
} as const;

export type MessageKey = keyof typeof es;
export type Messages = Record<MessageKey, string>;

export const en: Messages = {
  "app.name": "Reintegra",
  "app.tagline": "Reception and reintegration of returned people",
  "nav.home": "Home",
  "nav.reception": "Reception",
  "nav.cases": "Cases",
  "nav.referrals": "Referrals",
  "nav.followups": "Follow-ups",
  "nav.sync": "Synchronization",
  "nav.supervision": "Supervision",
  "nav.main": "Main navigation",
  "lang.label": "Language",
  "lang.es": "Español",
  "lang.en": "English",
  "home.title": "Home",
  "home.intro":
    "Look up a person's destination district to find the municipal office their case belongs to.",
  "home.prioritized": "Localities prioritized by the program",
  "territory.title": "Territory of El Salvador",
  "territory.search": "Search district",
  "territory.searchPlaceholder": "Type the district name, e.g. Tacachico",
  "territory.noResults": "No district matches the search.",
  "territory.department": "Department",
  "territory.municipality": "Municipality",
  "territory.district": "District",
  "territory.choose": "Choose…",
  "territory.selected": "Selected destination",
  "territory.office": "Municipal office",
  "territory.prioritized": "Prioritized",
  "territory.results": "Search results",
  "section.comingSoon": "This section will be available in an upcoming version.",
  "error.generic": "Something went wrong. Please try again.",
  "error.ipc": "Could not talk to the application.",
};

export const dictionaries = { es, en } as const;
export type Language = keyof typeof dictionaries;
export const LANGUAGES: readonly Language[] = ["es", "en"];
