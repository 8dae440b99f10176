// Countries a person may return from, named in the UI's language (ISO 3166-1 alpha-2 codes; the
// names come from the platform's Intl.DisplayNames, so no name list is kept here). The return
// form takes a name or a code as typed and sends the code Rust keeps.

/** The countries most people return from, offered first. */
export const COMMON_COUNTRIES = ["US", "MX", "GT", "HN", "NI", "CR", "PA", "CA", "ES", "BZ"] as const;

const ALL_CODES = (
  "AD AE AF AG AI AL AM AO AQ AR AS AT AU AW AX AZ BA BB BD BE BF BG BH BI BJ BL BM BN BO BQ BR BS " +
  "BT BV BW BY BZ CA CC CD CF CG CH CI CK CL CM CN CO CR CU CV CW CX CY CZ DE DJ DK DM DO DZ EC EE " +
  "EG EH ER ES ET FI FJ FK FM FO FR GA GB GD GE GF GG GH GI GL GM GN GP GQ GR GS GT GU GW GY HK HM " +
  "HN HR HT HU ID IE IL IM IN IO IQ IR IS IT JE JM JO JP KE KG KH KI KM KN KP KR KW KY KZ LA LB LC " +
  "LI LK LR LS LT LU LV LY MA MC MD ME MF MG MH MK ML MM MN MO MP MQ MR MS MT MU MV MW MX MY MZ NA " +
  "NC NE NF NG NI NL NO NP NR NU NZ OM PA PE PF PG PH PK PL PM PN PR PS PT PW PY QA RE RO RS RU RW " +
  "SA SB SC SD SE SG SH SI SJ SK SL SM SN SO SR SS ST SV SX SY SZ TC TD TF TG TH TJ TK TL TM TN TO " +
  "TR TT TV TW TZ UA UG UM US UY UZ VA VC VE VG VI VN VU WF WS YE YT ZA ZM ZW"
).split(" ");

/** Every code, El Salvador excluded (nobody is returned from it). */
export const COUNTRY_CODES: readonly string[] = ALL_CODES.filter((c) => c !== "SV");

const namers = new Map<string, Intl.DisplayNames>();
function namer(lang: string): Intl.DisplayNames {
  let n = namers.get(lang);
  if (!n) {
    n = new Intl.DisplayNames([lang], { type: "region", fallback: "code" });
    namers.set(lang, n);
  }
  return n;
}

/** The country's name in `lang` ("US" → "Estados Unidos"); the code when unknown. */
export function countryName(code: string, lang: string): string {
  const upper = code.trim().toUpperCase();
  if (!/^[A-Z]{2}$/.test(upper)) return code;
  try {
    return namer(lang).of(upper) ?? upper;
  } catch {
    return upper;
  }
}

/** Lower case without accents, to compare what is typed with a name. */
export function fold(text: string): string {
  return text.normalize("NFD").replace(/\p{Diacritic}/gu, "").toLowerCase().trim();
}

/** The code for what was typed: a two-letter code, or a country's name in Spanish or English
 *  (any case, accents optional); null when it is neither. */
export function countryCodeOf(text: string): string | null {
  const typed = fold(text);
  if (typed === "") return null;
  if (/^[a-z]{2}$/.test(typed)) {
    const code = typed.toUpperCase();
    return COUNTRY_CODES.includes(code) ? code : null;
  }
  for (const lang of ["es", "en"]) {
    const found = COUNTRY_CODES.find((c) => fold(countryName(c, lang)) === typed);
    if (found) return found;
  }
  return null;
}

/** The countries offered for what is typed, common ones first, at most `limit`. */
export function searchCountries(text: string, lang: string, limit = 8): string[] {
  const typed = fold(text);
  const ordered = [...COMMON_COUNTRIES, ...COUNTRY_CODES.filter((c) => !(COMMON_COUNTRIES as readonly string[]).includes(c))];
  if (typed === "") return ordered.slice(0, limit);
  const starts: string[] = [];
  const words: string[] = [];
  for (const c of ordered) {
    const name = fold(countryName(c, lang));
    if (name.startsWith(typed) || c.toLowerCase() === typed) starts.push(c);
    else if (name.split(/[\s-]+/).some((w) => w.startsWith(typed))) words.push(c);
  }
  return [...starts, ...words].slice(0, limit);
}
