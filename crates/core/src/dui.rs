//! The DUI (Documento Único de Identidad): eight digits, a hyphen and a check digit, `########-#`.
//!
//! Check digit: weights 9,8,7,6,5,4,3,2 over the eight digits, summed; the digit is
//! `(10 - sum % 10) % 10`. Catching a mistyped DUI at reception matters: the DUI is the best key
//! to find a person who came back before.

use std::fmt;
use std::str::FromStr;

use serde::{Deserialize, Serialize};
use ts_rs::TS;

const WEIGHTS: [u32; 8] = [9, 8, 7, 6, 5, 4, 3, 2];

/// Why a text is not a DUI.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum DuiError {
    /// Not eight digits, a hyphen and one digit.
    #[error("a DUI has the form ########-#")]
    Format,
    /// Well formed, but the check digit does not match: most likely a typo.
    #[error("DUI check digit is {found}, should be {expected}")]
    CheckDigit { expected: u8, found: u8 },
}

/// The check digit of the eight-digit body of a DUI.
pub fn check_digit(body: [u8; 8]) -> u8 {
    let sum: u32 = body
        .iter()
        .zip(WEIGHTS)
        .map(|(&d, w)| u32::from(d) * w)
        .sum();
    // `% 10` keeps this in 0..=9, so the cast cannot truncate.
    ((10 - sum % 10) % 10) as u8
}

/// A valid DUI, held in its canonical form `########-#`. It cannot hold an invalid value:
/// parsing (and deserializing) checks the format and the check digit.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize, TS)]
#[serde(try_from = "String", into = "String")]
#[ts(type = "string")]
pub struct Dui(String);

impl Dui {
    /// Parses a DUI. Accepts surrounding spaces and the nine digits without the hyphen (how
    /// people type it fast); anything else is a format error.
    pub fn parse(input: &str) -> Result<Dui, DuiError> {
        let digits = digits_of(input.trim()).ok_or(DuiError::Format)?;
        let mut body = [0u8; 8];
        body.copy_from_slice(&digits[..8]);
        let found = digits[8];
        let expected = check_digit(body);
        if found != expected {
            return Err(DuiError::CheckDigit { expected, found });
        }
        Ok(Dui(canonical(body, found)))
    }

    /// Builds the DUI for an eight-digit body by computing its check digit (synthetic data,
    /// tests). Returns `None` unless `body` is exactly eight ASCII digits.
    pub fn from_body(body: &str) -> Option<Dui> {
        if body.len() != 8 || !body.bytes().all(|b| b.is_ascii_digit()) {
            return None;
        }
        let mut digits = [0u8; 8];
        for (d, b) in digits.iter_mut().zip(body.bytes()) {
            *d = b - b'0';
        }
        Some(Dui(canonical(digits, check_digit(digits))))
    }

    /// `########-#`.
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

/// The nine digits of `########-#` or `#########`.
fn digits_of(s: &str) -> Option<[u8; 9]> {
    let bytes = s.as_bytes();
    let compact: Vec<u8> = match bytes.len() {
        10 if bytes[8] == b'-' => bytes[..8].iter().chain(&bytes[9..]).copied().collect(),
        9 => bytes.to_vec(),
        _ => return None,
    };
    let mut out = [0u8; 9];
    for (o, b) in out.iter_mut().zip(compact) {
        if !b.is_ascii_digit() {
            return None;
        }
        *o = b - b'0';
    }
    Some(out)
}

fn canonical(body: [u8; 8], check: u8) -> String {
    let mut s = String::with_capacity(10);
    s.extend(body.iter().map(|d| char::from(b'0' + d)));
    s.push('-');
    s.push(char::from(b'0' + check));
    s
}

impl FromStr for Dui {
    type Err = DuiError;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        Dui::parse(s)
    }
}

impl TryFrom<String> for Dui {
    type Error = DuiError;

    fn try_from(s: String) -> Result<Self, Self::Error> {
        Dui::parse(&s)
    }
}

impl From<Dui> for String {
    fn from(d: Dui) -> String {
        d.0
    }
}

impl fmt::Display for Dui {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    #[test]
    fn known_valid_dui() {
        // 0*9+0*8+0*7+1*6+6*5+2*4+9*3+7*2 = 85; (10 - 5) % 10 = 5
        assert_eq!(check_digit([0, 0, 0, 1, 6, 2, 9, 7]), 5);
        let dui = Dui::parse("00016297-5").expect("valid");
        assert_eq!(dui.as_str(), "00016297-5");
    }

    #[test]
    fn check_digit_zero_when_sum_is_a_multiple_of_ten() {
        // 1*9 + 1*8 + 0 ... + 1*3 = 20 → 0 (not 10)
        assert_eq!(check_digit([1, 1, 0, 0, 0, 0, 1, 0]), 0);
        assert!(Dui::parse("11000010-0").is_ok());
        assert_eq!(check_digit([0; 8]), 0);
    }

    #[test]
    fn accepts_spaces_and_missing_hyphen_and_canonicalizes() {
        assert_eq!(
            Dui::parse(" 000162975 ").expect("valid").to_string(),
            "00016297-5"
        );
    }

    #[test]
    fn distinguishes_format_from_check_digit() {
        for bad in [
            "",
            "0001629-75",
            "00016297_5",
            "0001629a-5",
            "00016297-55",
            "00016297-",
            "١٢٣٤٥٦٧٨-٩",
        ] {
            assert_eq!(Dui::parse(bad), Err(DuiError::Format), "{bad:?}");
        }
        assert_eq!(
            Dui::parse("00016297-4"),
            Err(DuiError::CheckDigit {
                expected: 5,
                found: 4
            })
        );
    }

    #[test]
    fn serde_refuses_invalid_values() {
        let dui: Dui = serde_json::from_str("\"00016297-5\"").expect("valid");
        assert_eq!(
            serde_json::to_string(&dui).expect("serialize"),
            "\"00016297-5\""
        );
        assert!(serde_json::from_str::<Dui>("\"00016297-4\"").is_err());
        assert_eq!(Dui::inline(), "string");
    }

    #[test]
    fn some_single_digit_typos_slip_through_by_design_of_the_weights() {
        // 00016297-5 with its fifth digit (weight 5) raised by 2: 5 × 2 = 10 leaves the sum's
        // last digit unchanged, so the typo also validates. Dedup must not trust DUIs blindly.
        assert!(Dui::parse("00018297-5").is_ok());
        // the check digit itself is always caught
        assert!(Dui::parse("00016297-6").is_err());
    }

    #[test]
    fn from_body_computes_the_digit() {
        assert_eq!(
            Dui::from_body("00016297").map(String::from),
            Some("00016297-5".into())
        );
        assert_eq!(Dui::from_body("0001629"), None);
        assert_eq!(Dui::from_body("0001629x"), None);
    }

    proptest! {
        #[test]
        fn every_body_with_its_computed_digit_validates(body in proptest::array::uniform8(0u8..10)) {
            let text = format!("{}-{}", body.iter().map(u8::to_string).collect::<String>(), check_digit(body));
            prop_assert_eq!(Dui::parse(&text).map(String::from), Ok(text));
        }

        /// The brief asked for "changing any single digit fails", but this weighting cannot
        /// promise that: weights 8, 6, 4, 2 miss a change by 5 and weight 5 misses any even
        /// change (the weighted difference is a multiple of 10). So the true property: a change
        /// is caught exactly when `weight × delta` is not a multiple of 10; a changed check
        /// digit, or a change in positions 1, 2 and 7 (weights 9, 7, 3), is always caught.
        #[test]
        fn a_single_digit_change_is_caught_unless_the_weight_hides_it(
            body in proptest::array::uniform8(0u8..10),
            pos in 0usize..9,
            delta in 1u8..10,
        ) {
            let mut digits: Vec<u8> = body.to_vec();
            digits.push(check_digit(body));
            digits[pos] = (digits[pos] + delta) % 10;
            let text: String = digits.iter().map(u8::to_string).collect();
            let text = format!("{}-{}", &text[..8], &text[8..]);
            let weight = WEIGHTS.get(pos).copied().unwrap_or(1);
            let hidden = (weight * u32::from(delta)) % 10 == 0;
            if hidden {
                prop_assert!(Dui::parse(&text).is_ok(), "{} unexpectedly fails", text);
            } else {
                prop_assert!(
                    matches!(Dui::parse(&text), Err(DuiError::CheckDigit { .. })),
                    "{} should fail", text
                );
            }
            if pos == 8 || [0, 2, 6].contains(&pos) {
                prop_assert!(!hidden);
            }
        }
    }
}
