//! The record the engine works on, mirroring one line of the evaluation JSONL format, and the
//! parsing of its dates, DUIs and sex.

use std::fmt;

use reintegra_core::dui;
use serde::{Deserialize, Deserializer, Serialize};

/// One person as the engine sees it. Every field but `id` may be empty.
/// `birth_date` is "YYYY-MM-DD" or "YYYY"; `dui` is "########-#"; `district` is a district name.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Record {
    #[serde(deserialize_with = "text")]
    pub id: String,
    #[serde(default, deserialize_with = "text")]
    pub given_names: String,
    #[serde(default, deserialize_with = "text")]
    pub first_surname: String,
    #[serde(default, deserialize_with = "text")]
    pub second_surname: String,
    #[serde(default, deserialize_with = "text")]
    pub sex: String,
    #[serde(default, deserialize_with = "text")]
    pub birth_date: String,
    #[serde(default, deserialize_with = "text")]
    pub dui: String,
    #[serde(default, deserialize_with = "text")]
    pub district: String,
    #[serde(default, deserialize_with = "text")]
    pub phone: String,
}

/// Accepts a string, a number (written as text) or null (empty).
fn text<'de, D: Deserializer<'de>>(d: D) -> Result<String, D::Error> {
    #[derive(Deserialize)]
    #[serde(untagged)]
    enum Text {
        S(String),
        I(i64),
        U(u64),
        F(f64),
    }
    Ok(match Option::<Text>::deserialize(d)? {
        None => String::new(),
        Some(Text::S(s)) => s,
        Some(Text::I(n)) => n.to_string(),
        Some(Text::U(n)) => n.to_string(),
        Some(Text::F(n)) => n.to_string(),
    })
}

/// Why a record cannot be used.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum RecordError {
    MissingId,
    NoName,
    BirthDate(String),
    Dui(String),
}

impl fmt::Display for RecordError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            RecordError::MissingId => write!(f, "falta el campo \"id\" (o está vacío)"),
            RecordError::NoName => {
                write!(
                    f,
                    "sin nombre: \"given_names\" y los apellidos están vacíos"
                )
            }
            RecordError::BirthDate(v) => write!(
                f,
                "fecha de nacimiento inválida \"{v}\" (se espera AAAA-MM-DD, AAAA o vacío)"
            ),
            RecordError::Dui(v) => {
                write!(
                    f,
                    "DUI inválido \"{v}\" (se esperan 9 dígitos, ########-#, o vacío)"
                )
            }
        }
    }
}

impl std::error::Error for RecordError {}

/// A birth date, possibly only the year (`month == day == 0`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct BirthDate {
    pub year: u16,
    pub month: u8,
    pub day: u8,
}

impl BirthDate {
    /// Parses "YYYY-MM-DD" or "YYYY"; `Ok(None)` for an empty string.
    pub fn parse(s: &str) -> Result<Option<BirthDate>, RecordError> {
        let s = s.trim();
        if s.is_empty() {
            return Ok(None);
        }
        let err = || RecordError::BirthDate(s.to_string());
        let num = |p: &str, len: usize| -> Result<u16, RecordError> {
            if p.len() != len || !p.bytes().all(|b| b.is_ascii_digit()) {
                return Err(err());
            }
            p.parse().map_err(|_| err())
        };
        let parts: Vec<&str> = s.split('-').collect();
        let date = match parts.as_slice() {
            [y] => BirthDate {
                year: num(y, 4)?,
                month: 0,
                day: 0,
            },
            [y, m, d] => {
                let (year, month, day) = (num(y, 4)?, num(m, 2)?, num(d, 2)?);
                if !(1..=12).contains(&month) || day == 0 || day > days_in_month(year, month) {
                    return Err(err());
                }
                BirthDate {
                    year,
                    month: month as u8,
                    day: day as u8,
                }
            }
            _ => return Err(err()),
        };
        if !(1900..=2100).contains(&date.year) {
            return Err(err());
        }
        Ok(Some(date))
    }

    pub fn year_only(&self) -> bool {
        self.month == 0
    }

    /// Packed into 16+4+5 bits; 0 is never a valid packing (year ≥ 1900).
    pub(crate) fn pack(&self) -> u32 {
        (u32::from(self.year) << 9) | (u32::from(self.month) << 5) | u32::from(self.day)
    }

    pub(crate) fn unpack(v: u32) -> Option<BirthDate> {
        (v != 0).then_some(BirthDate {
            year: (v >> 9) as u16,
            month: ((v >> 5) & 0xF) as u8,
            day: (v & 0x1F) as u8,
        })
    }
}

impl fmt::Display for BirthDate {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if self.year_only() {
            write!(f, "{:04}", self.year)
        } else {
            write!(f, "{:04}-{:02}-{:02}", self.year, self.month, self.day)
        }
    }
}

/// Days in `month` (1..=12) of `year`, Gregorian; 0 for any other month.
pub fn days_in_month(year: u16, month: u16) -> u16 {
    match month {
        1 | 3 | 5 | 7 | 8 | 10 | 12 => 31,
        4 | 6 | 9 | 11 => 30,
        2 if (year % 4 == 0 && year % 100 != 0) || year % 400 == 0 => 29,
        2 => 28,
        _ => 0,
    }
}

/// A DUI (Documento Único de Identidad): 8 digits and a check digit, kept as the 9-digit number.
/// Unlike core's [`reintegra_core::dui::Dui`] it also holds a DUI whose check digit is wrong (a
/// typo the engine must see past); the check digit itself is core's.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct Dui(pub(crate) u32);

impl Dui {
    /// Parses "########-#" (or 9 digits with any separators); `Ok(None)` for an empty string.
    /// A wrong check digit is accepted (it is a typo the engine must see past).
    pub fn parse(s: &str) -> Result<Option<Dui>, RecordError> {
        let s = s.trim();
        if s.is_empty() {
            return Ok(None);
        }
        let digits: Vec<u32> = s.chars().filter_map(|c| c.to_digit(10)).collect();
        let separators_ok = s
            .chars()
            .all(|c| c.is_ascii_digit() || c == '-' || c == ' ');
        if digits.len() != 9 || !separators_ok {
            return Err(RecordError::Dui(s.to_string()));
        }
        Ok(Some(Dui(digits.iter().fold(0, |acc, d| acc * 10 + d))))
    }

    /// From the 8 base digits, with the correct check digit.
    pub fn from_base(base: u32) -> Dui {
        let base = base % 100_000_000;
        Dui(base * 10 + u32::from(dui::check_digit(body_digits(base))))
    }

    pub fn digits(&self) -> [u8; 9] {
        let mut d = [0u8; 9];
        let mut v = self.0;
        for slot in d.iter_mut().rev() {
            *slot = (v % 10) as u8;
            v /= 10;
        }
        d
    }

    /// The 8 digits before the check digit.
    pub fn base(&self) -> u32 {
        self.0 / 10
    }

    pub fn check(&self) -> u8 {
        (self.0 % 10) as u8
    }

    /// Whether the check digit is right, by core's rule ([`reintegra_core::dui::check_digit`]).
    pub fn is_valid(&self) -> bool {
        dui::check_digit(body_digits(self.base())) == self.check()
    }
}

impl fmt::Display for Dui {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{:08}-{}", self.base(), self.check())
    }
}

/// The 8 digits of a DUI body (`base` < 10⁸), most significant first.
fn body_digits(base: u32) -> [u8; 8] {
    let mut d = [0u8; 8];
    let mut v = base;
    for slot in d.iter_mut().rev() {
        // `% 10` keeps this in 0..=9.
        *slot = (v % 10) as u8;
        v /= 10;
    }
    d
}

/// Sex as recorded; anything unrecognised counts as unknown.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Sex {
    Unknown = 0,
    Female = 1,
    Male = 2,
}

impl Sex {
    pub fn parse(s: &str) -> Sex {
        match crate::normalize::fold(s).as_str() {
            "f" | "femenino" | "mujer" | "female" | "fem" => Sex::Female,
            "m" | "masculino" | "hombre" | "male" | "masc" | "h" => Sex::Male,
            _ => Sex::Unknown,
        }
    }
}

impl Record {
    /// Checks every field the engine parses.
    pub fn validate(&self) -> Result<(), RecordError> {
        if self.id.trim().is_empty() {
            return Err(RecordError::MissingId);
        }
        if self.given_names.trim().is_empty()
            && self.first_surname.trim().is_empty()
            && self.second_surname.trim().is_empty()
        {
            return Err(RecordError::NoName);
        }
        BirthDate::parse(&self.birth_date)?;
        Dui::parse(&self.dui)?;
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    #[test]
    fn dates_parse_full_and_year_only() {
        assert_eq!(
            BirthDate::parse("1990-05-17").unwrap(),
            Some(BirthDate {
                year: 1990,
                month: 5,
                day: 17
            })
        );
        assert_eq!(
            BirthDate::parse("1985").unwrap(),
            Some(BirthDate {
                year: 1985,
                month: 0,
                day: 0
            })
        );
        assert_eq!(BirthDate::parse("").unwrap(), None);
        for bad in [
            "1990-13-01",
            "1990-02-30",
            "90-01-01",
            "1990/01/01",
            "abcd",
            "1990-1-1",
        ] {
            assert!(BirthDate::parse(bad).is_err(), "{bad}");
        }
        assert!(BirthDate::parse("2000-02-29").is_ok());
        assert!(BirthDate::parse("1900-02-29").is_err());
    }

    #[test]
    fn dui_check_digit() {
        // 0123456-? : weights 9..2 over 0,1,2,3,4,5,6,7 = 0+8+14+18+20+20+18+14 = 112 → 8
        assert_eq!(Dui::from_base(1234567).check(), 8);
        let d = Dui::parse("01234567-8").unwrap().unwrap();
        assert!(d.is_valid());
        assert_eq!(d.to_string(), "01234567-8");
        assert!(!Dui::parse("01234567-9").unwrap().unwrap().is_valid());
        assert!(Dui::parse("1234").is_err());
        assert!(Dui::parse("0123456A-8").is_err());
        assert_eq!(Dui::parse("").unwrap(), None);
    }

    #[test]
    fn records_read_null_and_numbers() {
        let r: Record =
            serde_json::from_str(r#"{"id": 7, "given_names": "Ana", "dui": null}"#).unwrap();
        assert_eq!(r.id, "7");
        assert_eq!(r.dui, "");
        assert!(r.validate().is_ok());
        let r: Record = serde_json::from_str(r#"{"id": "", "given_names": "Ana"}"#).unwrap();
        assert_eq!(r.validate(), Err(RecordError::MissingId));
    }

    proptest! {
        #[test]
        fn from_base_is_valid_and_round_trips(base in 0u32..100_000_000) {
            let d = Dui::from_base(base);
            prop_assert!(d.is_valid());
            prop_assert_eq!(Dui::parse(&d.to_string()).unwrap(), Some(d));
        }

        /// Valid here exactly when core accepts it; the lenient parse keeps what core refuses.
        #[test]
        fn validity_is_cores(digits in proptest::array::uniform9(0u8..10)) {
            let text: String = digits.iter().map(u8::to_string).collect();
            let text = format!("{}-{}", &text[..8], &text[8..]);
            let d = Dui::parse(&text).unwrap().unwrap();
            prop_assert_eq!(d.is_valid(), dui::Dui::parse(&text).is_ok());
            prop_assert_eq!(d.to_string(), text);
        }

        #[test]
        fn dates_pack_round_trip(y in 1900u16..2100, m in 0u8..13, day in 0u8..32) {
            let d = BirthDate { year: y, month: m, day };
            prop_assert_eq!(BirthDate::unpack(d.pack()), Some(d));
        }
    }
}
