//! Text folding shared by every search in the app: people type names without accents,
//! in any case and with stray spaces, and must still find what they look for.

use unicode_normalization::{char::is_combining_mark, UnicodeNormalization};

/// The initials of a name ("Ana María Morales" → "AMM"), at most three: what a locked screen
/// may show of who works on a device.
pub fn initials(name: &str) -> String {
    name.split_whitespace()
        .filter_map(|word| word.chars().find(|c| c.is_alphabetic()))
        .flat_map(char::to_uppercase)
        .take(3)
        .collect()
}

/// Folds `s` for comparison: lower case, accents removed (á→a, ñ→n, ü→u), punctuation turned
/// into spaces, runs of whitespace collapsed to one space, trimmed.
pub fn fold(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    let mut pending_space = false;
    for c in s.nfd().filter(|c| !is_combining_mark(*c)) {
        if c.is_alphanumeric() {
            if pending_space && !out.is_empty() {
                out.push(' ');
            }
            pending_space = false;
            out.extend(c.to_lowercase());
        } else {
            pending_space = true;
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::{fold, initials};
    use proptest::prelude::*;

    #[test]
    fn initials_are_the_first_letters_of_at_most_three_words() {
        assert_eq!(initials("Ana Morales"), "AM");
        assert_eq!(initials("  ana maría de la o "), "AMD");
        assert_eq!(initials("Óscar (Chepe) Ñuñez"), "ÓCÑ");
        assert_eq!(initials(""), "");
    }

    #[test]
    fn removes_accents_case_and_extra_spaces() {
        assert_eq!(fold("  Nueva   Concepción "), "nueva concepcion");
        assert_eq!(fold("PEÑA"), "pena");
        assert_eq!(fold("Güija"), "guija");
        assert_eq!(fold("San Pablo-Tacachico"), "san pablo tacachico");
    }

    proptest! {
        #[test]
        fn folding_is_idempotent(s in "\\PC{0,40}") {
            let once = fold(&s);
            prop_assert_eq!(fold(&once), once.clone());
        }

        #[test]
        fn folded_text_has_no_upper_case_or_double_spaces(s in "\\PC{0,40}") {
            let f = fold(&s);
            prop_assert!(!f.contains("  "));
            prop_assert_eq!(f.trim(), f.as_str());
        }
    }
}
