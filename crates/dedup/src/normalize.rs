//! Normalization of Salvadoran names: case, accents, spacing, particles ("de", "del", "de la"),
//! compound given names, common abbreviations and nicknames, and married names ("de <apellido>").

/// Folds like [`reintegra_core::text::fold`] (lower case, accents removed, punctuation to
/// spaces, spaces collapsed) with a fast path for ASCII and Spanish accented letters; any other
/// character sends the whole string through the general fold, so results are identical.
pub fn fold(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    let mut pending_space = false;
    for c in s.chars() {
        let mapped = if c.is_ascii() {
            c.to_ascii_lowercase()
        } else {
            match c {
                'á' | 'Á' => 'a',
                'é' | 'É' => 'e',
                'í' | 'Í' => 'i',
                'ó' | 'Ó' => 'o',
                'ú' | 'Ú' | 'ü' | 'Ü' => 'u',
                'ñ' | 'Ñ' => 'n',
                _ => return reintegra_core::text::fold(s),
            }
        };
        if mapped.is_ascii_alphanumeric() {
            if pending_space && !out.is_empty() {
                out.push(' ');
            }
            pending_space = false;
            out.push(mapped);
        } else {
            pending_space = true;
        }
    }
    out
}

/// Particles that join or introduce names and carry no identity of their own.
const PARTICLES: &[&str] = &[
    "de", "del", "la", "las", "los", "y", "e", "da", "di", "van", "von",
];

/// Abbreviations and nicknames people use for a given name, mapped to the full name (folded).
/// Public so that the synthetic data (`reintegra-dedup-eval`) shortens names the same way.
pub const GIVEN_ALIASES: &[(&str, &str)] = &[
    ("ma", "maria"),
    ("mari", "maria"),
    ("maru", "maria"),
    ("fco", "francisco"),
    ("franc", "francisco"),
    ("paco", "francisco"),
    ("pancho", "francisco"),
    ("kiko", "francisco"),
    ("chepe", "jose"),
    ("pepe", "jose"),
    ("jse", "jose"),
    ("jos", "jose"),
    ("tono", "antonio"),
    ("tonio", "antonio"),
    ("chayo", "rosario"),
    ("lupe", "guadalupe"),
    ("memo", "guillermo"),
    ("neto", "ernesto"),
    ("nacho", "ignacio"),
    ("chucho", "jesus"),
    ("chus", "jesus"),
    ("chente", "vicente"),
    ("moncho", "ramon"),
    ("quique", "enrique"),
    ("kike", "enrique"),
    ("rafa", "rafael"),
    ("manolo", "manuel"),
    ("lalo", "eduardo"),
    ("meche", "mercedes"),
    ("chabela", "isabel"),
    ("chave", "salvador"),
    ("chamba", "salvador"),
    ("lola", "dolores"),
    ("lolita", "dolores"),
    ("concha", "concepcion"),
    ("conchita", "concepcion"),
    ("mundo", "edmundo"),
    ("licha", "alicia"),
    ("chelo", "consuelo"),
    ("tere", "teresa"),
    ("chepita", "josefa"),
    ("goyo", "gregorio"),
    ("cheyo", "eliseo"),
    ("jacky", "jackeline"),
    ("yesi", "yesenia"),
];

/// One surname of a person, folded, with whether it was written as a married name ("de X").
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Surname {
    pub text: String,
    pub married: bool,
}

/// Most given-name tokens kept per person.
pub const MAX_GIVEN: usize = 3;
/// Most surnames kept per person (first, second, married).
pub const MAX_SURNAMES: usize = 3;

fn is_particle(token: &str) -> bool {
    PARTICLES.contains(&token)
}

/// Expands an abbreviation or nickname ("Ma." → "maria", "Chepe" → "jose"); other tokens unchanged.
pub fn canonical_given(token: &str) -> &str {
    GIVEN_ALIASES
        .iter()
        .find(|(alias, _)| *alias == token)
        .map_or(token, |(_, full)| full)
}

/// The given names as folded tokens, particles dropped and nicknames expanded:
/// "María de los Ángeles" → ["maria", "angeles"], "Ma. José" → ["maria", "jose"].
pub fn given_tokens(given_names: &str) -> Vec<String> {
    fold(given_names)
        .split(' ')
        .filter(|t| !t.is_empty() && !is_particle(t))
        .map(|t| canonical_given(t).to_string())
        .take(MAX_GIVEN)
        .collect()
}

/// The surnames of a person, in order, from the two surname fields. Particles are dropped
/// ("de la Cruz" → "cruz", "Del Cid" → "cid"); a surname introduced by "de" after another
/// surname ("López de Martínez") or at the start of the second field ("de Martínez") is
/// marked as a married name. A field holding two surnames ("López Pérez") yields both.
pub fn surnames(first_surname: &str, second_surname: &str) -> Vec<Surname> {
    let mut out: Vec<Surname> = Vec::with_capacity(2);
    for (field_index, field) in [first_surname, second_surname].into_iter().enumerate() {
        let folded = fold(field);
        let tokens: Vec<&str> = folded.split(' ').filter(|t| !t.is_empty()).collect();
        let mut after_de = false;
        for (i, token) in tokens.iter().enumerate() {
            if is_particle(token) {
                if *token == "de" && i + 1 < tokens.len() {
                    // "de X" at the start of the second field, or after a surname in any field,
                    // is a married name; "de la X", "de los X" are compound surnames.
                    let leads_second = field_index == 1 && i == 0 && !out.is_empty();
                    let next_is_article = matches!(tokens[i + 1], "la" | "las" | "los");
                    after_de = (leads_second || i > 0) && !next_is_article;
                }
                continue;
            }
            out.push(Surname {
                text: (*token).to_string(),
                married: after_de,
            });
            after_de = false;
        }
    }
    out.truncate(MAX_SURNAMES);
    out
}

/// Digits of a phone number, the last 8 (Salvadoran numbers have 8 digits; "+503" dropped).
/// `None` when fewer than 7 digits are given.
pub fn phone_digits(phone: &str) -> Option<u32> {
    let digits: Vec<u32> = phone.chars().filter_map(|c| c.to_digit(10)).collect();
    if digits.len() < 7 {
        return None;
    }
    let tail = &digits[digits.len().saturating_sub(8)..];
    let n = tail.iter().fold(0u32, |acc, d| acc * 10 + d);
    (n != 0).then_some(n)
}

/// District names compared folded ("San Salvador Centro" = "san salvador centro").
pub fn district_key(district: &str) -> String {
    fold(district)
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    fn texts(s: &[Surname]) -> Vec<(&str, bool)> {
        s.iter().map(|s| (s.text.as_str(), s.married)).collect()
    }

    #[test]
    fn given_names_fold_accents_case_spaces_and_particles() {
        assert_eq!(given_tokens("  MARÍA   José "), vec!["maria", "jose"]);
        assert_eq!(
            given_tokens("María de los Ángeles"),
            vec!["maria", "angeles"]
        );
        assert_eq!(given_tokens("Manuel de Jesús"), vec!["manuel", "jesus"]);
        assert_eq!(given_tokens("Ma. José"), vec!["maria", "jose"]);
        assert_eq!(given_tokens("Chepe Luis"), vec!["jose", "luis"]);
        assert_eq!(given_tokens(""), Vec::<String>::new());
    }

    #[test]
    fn surnames_drop_particles_and_detect_married_names() {
        assert_eq!(
            texts(&surnames("Hernández", "López")),
            vec![("hernandez", false), ("lopez", false)]
        );
        assert_eq!(
            texts(&surnames("de la Cruz", "del Cid")),
            vec![("cruz", false), ("cid", false)]
        );
        assert_eq!(
            texts(&surnames("López", "de Martínez")),
            vec![("lopez", false), ("martinez", true)]
        );
        assert_eq!(
            texts(&surnames("López de Martínez", "")),
            vec![("lopez", false), ("martinez", true)]
        );
        assert_eq!(
            texts(&surnames("Rivas Flores", "")),
            vec![("rivas", false), ("flores", false)]
        );
        assert_eq!(
            texts(&surnames("Ramos", "de la Paz")),
            vec![("ramos", false), ("paz", false)]
        );
        assert!(surnames("", "").is_empty());
    }

    #[test]
    fn phones_keep_last_eight_digits() {
        assert_eq!(phone_digits("+503 7123-4567"), Some(71234567));
        assert_eq!(phone_digits("7123 4567"), Some(71234567));
        assert_eq!(phone_digits("123"), None);
        assert_eq!(phone_digits(""), None);
    }

    proptest! {
        #[test]
        fn fast_fold_equals_core_fold(s in "[a-zA-Z0-9áéíóúüñÁÉÍÓÚÜÑ .,'-]{0,30}|\\PC{0,20}") {
            prop_assert_eq!(fold(&s), reintegra_core::text::fold(&s));
        }

        #[test]
        fn given_tokens_are_folded_and_particle_free(s in "\\PC{0,40}") {
            for t in given_tokens(&s) {
                prop_assert!(!t.is_empty());
                prop_assert!(!t.contains(' '));
                prop_assert!(!is_particle(&t));
                prop_assert_eq!(fold(&t), t.clone());
            }
        }

        #[test]
        fn case_and_accents_do_not_change_surnames(s in "[a-zA-Záéíóúñ ]{0,30}") {
            let upper = s.to_uppercase();
            prop_assert_eq!(surnames(&s, ""), surnames(&upper, ""));
        }
    }
}
