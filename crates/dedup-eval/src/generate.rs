//! Synthetic Salvadoran test data with labelled duplicates. Pure: a seed in, records out.
//!
//! Records are distinct persons with realistic name frequencies (so same-name people abound).
//! Queries are of three kinds: a registered person again with one or two variations (labelled
//! with the record's id and the variations), a different person with the same name as a
//! registered one but another birth date and DUI (a hard negative), or a new person.

use std::collections::HashSet;

use rand::distributions::WeightedIndex;
use rand::prelude::*;
use rand::rngs::StdRng;
use reintegra_dedup::normalize::GIVEN_ALIASES;
use reintegra_dedup::record::{days_in_month, BirthDate, Dui, Record};
use serde::{Deserialize, Serialize};

use crate::names::Names;

/// What makes a query differ from the record it duplicates (or that it is no duplicate).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Variation {
    AccentsCase,
    SurnamesSwapped,
    SecondSurnameMissing,
    GivenNameShortened,
    NameTypo,
    PhoneticSpelling,
    MarriedName,
    DuiMissing,
    DuiOneDigit,
    DuiCheckDigit,
    DobDayMonthSwapped,
    DobYearOffByOne,
    DobYearOnly,
    Moved,
}

impl Variation {
    pub const ALL: [Variation; 14] = [
        Variation::AccentsCase,
        Variation::SurnamesSwapped,
        Variation::SecondSurnameMissing,
        Variation::GivenNameShortened,
        Variation::NameTypo,
        Variation::PhoneticSpelling,
        Variation::MarriedName,
        Variation::DuiMissing,
        Variation::DuiOneDigit,
        Variation::DuiCheckDigit,
        Variation::DobDayMonthSwapped,
        Variation::DobYearOffByOne,
        Variation::DobYearOnly,
        Variation::Moved,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            Variation::AccentsCase => "accents_case",
            Variation::SurnamesSwapped => "surnames_swapped",
            Variation::SecondSurnameMissing => "second_surname_missing",
            Variation::GivenNameShortened => "given_name_shortened",
            Variation::NameTypo => "name_typo",
            Variation::PhoneticSpelling => "phonetic_spelling",
            Variation::MarriedName => "married_name",
            Variation::DuiMissing => "dui_missing",
            Variation::DuiOneDigit => "dui_one_digit",
            Variation::DuiCheckDigit => "dui_check_digit",
            Variation::DobDayMonthSwapped => "dob_day_month_swapped",
            Variation::DobYearOffByOne => "dob_year_off_by_one",
            Variation::DobYearOnly => "dob_year_only",
            Variation::Moved => "moved",
        }
    }

    fn group(self) -> u8 {
        match self {
            Variation::AccentsCase | Variation::Moved => 0,
            Variation::SurnamesSwapped
            | Variation::SecondSurnameMissing
            | Variation::GivenNameShortened
            | Variation::NameTypo
            | Variation::PhoneticSpelling
            | Variation::MarriedName => 1,
            Variation::DuiMissing | Variation::DuiOneDigit | Variation::DuiCheckDigit => 2,
            Variation::DobDayMonthSwapped | Variation::DobYearOffByOne | Variation::DobYearOnly => {
                3
            }
        }
    }
}

/// Label kind of a hard negative: same name as a registered person, other DOB and DUI.
pub const SAME_NAME_OTHER_PERSON: &str = "same_name_other_person";
/// Label kind of a person not in the records.
pub const NEW_PERSON: &str = "new_person";

/// The truth about one query.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Label {
    pub query_id: String,
    /// The record this query duplicates; `None` if it is nobody in the records.
    pub match_id: Option<String>,
    /// Variations joined by "+" (the first is the main one), or one of
    /// [`SAME_NAME_OTHER_PERSON`], [`NEW_PERSON`].
    pub kind: String,
}

#[derive(Debug, Clone)]
pub struct Config {
    pub persons: usize,
    pub queries: usize,
    pub seed: u64,
    /// Share of queries that are same-name different people.
    pub hard_negatives: f64,
    /// Share of queries that are new people.
    pub new_persons: f64,
    /// Probability that a duplicate gets a second variation from another field.
    pub second_variation: f64,
}

impl Default for Config {
    fn default() -> Self {
        Config {
            persons: 10_000,
            queries: 1_000,
            seed: 42,
            hard_negatives: 0.2,
            new_persons: 0.1,
            second_variation: 0.25,
        }
    }
}

#[derive(Debug, Clone, Default)]
pub struct Dataset {
    pub records: Vec<Record>,
    pub queries: Vec<Record>,
    pub labels: Vec<Label>,
}

struct Gen {
    rng: StdRng,
    names: &'static Names,
    districts: Vec<String>,
    district: WeightedIndex<f64>,
    used_duis: HashSet<u32>,
}

impl Gen {
    fn new(seed: u64) -> Gen {
        let places: Vec<_> = reintegra_core::territory::Territory::el_salvador()
            .places()
            .collect();
        let district =
            WeightedIndex::new(places.iter().map(|p| if p.prioritized { 8.0 } else { 1.0 }))
                .unwrap_or_else(|_| unreachable!());
        Gen {
            rng: StdRng::seed_from_u64(seed),
            names: Names::salvadoran(),
            districts: places.iter().map(|p| p.district_name.clone()).collect(),
            district,
            used_duis: Default::default(),
        }
    }

    fn given(&mut self, female: bool) -> String {
        self.names.given(&mut self.rng, female)
    }

    fn surname(&mut self) -> &'static str {
        self.names.surname(&mut self.rng)
    }

    fn fresh_dui(&mut self) -> Dui {
        loop {
            let base = self.rng.gen_range(0..70_000_000u32);
            if self.used_duis.insert(base) {
                return Dui::from_base(base);
            }
        }
    }

    fn birth_date(&mut self) -> BirthDate {
        let year = if self.rng.gen_bool(0.1) {
            self.rng.gen_range(2008..=2020)
        } else {
            self.rng.gen_range(1955..=2007)
        };
        let month = self.rng.gen_range(1..=12u8);
        let day = self
            .rng
            .gen_range(1..=days_in_month(year, month.into()) as u8);
        BirthDate { year, month, day }
    }

    fn phone(&mut self) -> String {
        let first = *[7u32, 7, 7, 6, 2].choose(&mut self.rng).unwrap_or(&7);
        let rest = self.rng.gen_range(0..10_000_000u32);
        let n = first * 10_000_000 + rest;
        format!("{:04}-{:04}", n / 10_000, n % 10_000)
    }

    fn district(&mut self) -> String {
        self.districts[self.district.sample(&mut self.rng)].clone()
    }

    fn person(&mut self, id: String) -> Record {
        let female = self.rng.gen_bool(0.5);
        let dob = self.birth_date();
        let adult = dob.year <= 2007;
        let first = self.surname();
        let mut second = self.surname().to_string();
        if self.rng.gen_bool(0.03) {
            second = String::new();
        } else if female && adult && self.rng.gen_bool(0.03) {
            second = format!("de {}", self.surname());
        }
        let birth_date = if self.rng.gen_bool(0.05) {
            format!("{:04}", dob.year)
        } else {
            dob.to_string()
        };
        let dui = if adult && self.rng.gen_bool(0.88) {
            self.fresh_dui().to_string()
        } else {
            String::new()
        };
        Record {
            id,
            given_names: self.given(female),
            first_surname: first.to_string(),
            second_surname: second,
            sex: if female { "F" } else { "M" }.to_string(),
            birth_date,
            dui,
            district: self.district(),
            phone: if self.rng.gen_bool(0.75) {
                self.phone()
            } else {
                String::new()
            },
        }
    }

    fn applicable(&self, v: Variation, r: &Record) -> bool {
        let full_dob = matches!(BirthDate::parse(&r.birth_date), Ok(Some(d)) if !d.year_only());
        match v {
            Variation::SurnamesSwapped => {
                !r.second_surname.is_empty() && !r.second_surname.starts_with("de ")
            }
            Variation::SecondSurnameMissing => !r.second_surname.is_empty(),
            Variation::MarriedName => r.sex == "F" && !r.second_surname.starts_with("de "),
            Variation::DuiMissing | Variation::DuiOneDigit | Variation::DuiCheckDigit => {
                !r.dui.is_empty()
            }
            Variation::DobDayMonthSwapped => match BirthDate::parse(&r.birth_date) {
                Ok(Some(d)) => !d.year_only() && d.day <= 12 && d.day != d.month,
                _ => false,
            },
            Variation::DobYearOffByOne | Variation::DobYearOnly => full_dob,
            _ => true,
        }
    }

    fn apply(&mut self, v: Variation, r: &mut Record) {
        match v {
            Variation::AccentsCase => {
                for f in [
                    &mut r.given_names,
                    &mut r.first_surname,
                    &mut r.second_surname,
                ] {
                    let plain = strip_accents(f);
                    *f = match self.rng.gen_range(0..3) {
                        0 => plain.to_uppercase(),
                        1 => plain.to_lowercase(),
                        _ => format!(" {}  ", plain.replace(' ', "  ")),
                    };
                }
            }
            Variation::SurnamesSwapped => {
                std::mem::swap(&mut r.first_surname, &mut r.second_surname)
            }
            Variation::SecondSurnameMissing => r.second_surname.clear(),
            Variation::GivenNameShortened => {
                let parts: Vec<&str> = r.given_names.split(' ').collect();
                let folded = reintegra_core::text::fold(parts[0]);
                let nicknames: Vec<&str> = GIVEN_ALIASES
                    .iter()
                    .filter(|(_, full)| *full == folded)
                    .map(|(a, _)| *a)
                    .collect();
                r.given_names = if parts.len() >= 2 && self.rng.gen_bool(0.8) {
                    if self.rng.gen_bool(0.75) {
                        parts[0]
                    } else {
                        parts[1]
                    }
                    .to_string()
                } else if !nicknames.is_empty() {
                    let nick = nicknames[self.rng.gen_range(0..nicknames.len())];
                    let mut rest = vec![capitalize(nick)];
                    rest.extend(parts[1..].iter().map(|s| s.to_string()));
                    rest.join(" ")
                } else if parts.len() >= 2 {
                    parts[0].to_string()
                } else {
                    // A single name with no nickname: write its initial.
                    format!("{}.", parts[0].chars().next().unwrap_or('X'))
                };
            }
            Variation::NameTypo => {
                let field = self.rng.gen_range(0..3);
                let target = match field {
                    0 => &mut r.given_names,
                    1 => &mut r.first_surname,
                    _ if r.second_surname.is_empty() => &mut r.first_surname,
                    _ => &mut r.second_surname,
                };
                *target = typo(&mut self.rng, target);
            }
            Variation::PhoneticSpelling => {
                let fields = [
                    &mut r.given_names,
                    &mut r.first_surname,
                    &mut r.second_surname,
                ];
                let mut done = false;
                for f in fields {
                    if !done {
                        if let Some(s) = sound_alike(f) {
                            *f = s;
                            done = true;
                        }
                    }
                }
                if !done {
                    r.first_surname = typo(&mut self.rng, &r.first_surname);
                }
            }
            Variation::MarriedName => {
                r.second_surname = format!("de {}", self.surname());
            }
            Variation::DuiMissing => r.dui.clear(),
            Variation::DuiOneDigit => {
                if let Ok(Some(d)) = Dui::parse(&r.dui) {
                    let mut digits = d.digits();
                    let pos = self.rng.gen_range(0..8);
                    digits[pos] = (digits[pos] + self.rng.gen_range(1..10)) % 10;
                    r.dui = digits_to_dui(&digits);
                }
            }
            Variation::DuiCheckDigit => {
                if let Ok(Some(d)) = Dui::parse(&r.dui) {
                    let mut digits = d.digits();
                    digits[8] = (digits[8] + self.rng.gen_range(1..10)) % 10;
                    r.dui = digits_to_dui(&digits);
                }
            }
            Variation::DobDayMonthSwapped => {
                if let Ok(Some(d)) = BirthDate::parse(&r.birth_date) {
                    r.birth_date = format!("{:04}-{:02}-{:02}", d.year, d.day, d.month);
                }
            }
            Variation::DobYearOffByOne => {
                if let Ok(Some(d)) = BirthDate::parse(&r.birth_date) {
                    let year = if self.rng.gen_bool(0.5) {
                        d.year + 1
                    } else {
                        d.year - 1
                    };
                    let day = d.day.min(days_in_month(year, d.month.into()) as u8);
                    r.birth_date = format!("{:04}-{:02}-{:02}", year, d.month, day);
                }
            }
            Variation::DobYearOnly => r.birth_date.truncate(4),
            Variation::Moved => {
                r.district = self.district();
                r.phone = if self.rng.gen_bool(0.5) {
                    self.phone()
                } else {
                    String::new()
                };
            }
        }
    }

    fn duplicate(
        &mut self,
        base: &Record,
        id: String,
        second_variation: f64,
    ) -> (Record, Vec<Variation>) {
        let mut q = base.clone();
        q.id = id;
        let main: Vec<Variation> = Variation::ALL
            .iter()
            .copied()
            .filter(|v| *v != Variation::AccentsCase && self.applicable(*v, base))
            .collect();
        let first = main[self.rng.gen_range(0..main.len())];
        let mut applied = vec![first];
        if self.rng.gen_bool(second_variation.clamp(0.0, 1.0)) {
            let others: Vec<Variation> = main
                .iter()
                .copied()
                .filter(|v| v.group() != first.group())
                .collect();
            if let Some(&v) = others.choose(&mut self.rng) {
                applied.push(v);
            }
        }
        if self.rng.gen_bool(0.5) {
            applied.push(Variation::AccentsCase);
        }
        for &v in &applied {
            self.apply(v, &mut q);
        }
        if self.rng.gen_bool(0.25) {
            q.phone.clear();
        }
        (q, applied)
    }

    fn same_name_other(&mut self, base: &Record, id: String) -> Record {
        let mut q = self.person(id);
        q.given_names = base.given_names.clone();
        q.first_surname = base.first_surname.clone();
        q.second_surname = base.second_surname.clone();
        q.sex = base.sex.clone();
        let base_year = BirthDate::parse(&base.birth_date)
            .ok()
            .flatten()
            .map_or(1980, |d| d.year);
        let mut dob = self.birth_date();
        while (i32::from(dob.year) - i32::from(base_year)).abs() < 2 {
            dob = self.birth_date();
        }
        q.birth_date = dob.to_string();
        q.dui = self.fresh_dui().to_string();
        if self.rng.gen_bool(0.4) {
            q.district = base.district.clone();
        }
        if self.rng.gen_bool(0.5) {
            self.apply(Variation::AccentsCase, &mut q);
        }
        q
    }
}

fn digits_to_dui(d: &[u8; 9]) -> String {
    let s: String = d.iter().map(|x| char::from(b'0' + x)).collect();
    format!("{}-{}", &s[..8], &s[8..])
}

fn strip_accents(s: &str) -> String {
    s.chars()
        .map(|c| match c {
            'á' => 'a',
            'é' => 'e',
            'í' => 'i',
            'ó' => 'o',
            'ú' | 'ü' => 'u',
            'Á' => 'A',
            'É' => 'E',
            'Í' => 'I',
            'Ó' => 'O',
            'Ú' => 'U',
            'ñ' => 'n',
            'Ñ' => 'N',
            c => c,
        })
        .collect()
}

fn capitalize(s: &str) -> String {
    let mut c = s.chars();
    c.next()
        .map_or_else(String::new, |f| f.to_uppercase().chain(c).collect())
}

/// One keyboard slip in the longest word of `s`: a letter replaced, dropped, doubled, or two
/// letters swapped (never the first letter).
fn typo(rng: &mut StdRng, s: &str) -> String {
    let words: Vec<&str> = s.split(' ').collect();
    let Some((wi, w)) = words
        .iter()
        .enumerate()
        .max_by_key(|(_, w)| w.chars().count())
    else {
        return s.to_string();
    };
    let mut chars: Vec<char> = w.chars().collect();
    if chars.len() < 4 {
        return s.to_string();
    }
    let pos = rng.gen_range(1..chars.len() - 1);
    match rng.gen_range(0..4) {
        0 => {
            let letters = "abcdeilmnorstu";
            let mut c = chars[pos];
            while c == chars[pos] {
                c = letters
                    .chars()
                    .nth(rng.gen_range(0..letters.len()))
                    .unwrap_or('e');
            }
            chars[pos] = c;
        }
        1 => {
            chars.remove(pos);
        }
        2 => chars.insert(pos, chars[pos]),
        _ => chars.swap(pos, pos + 1),
    }
    let new: String = chars.into_iter().collect();
    let mut out: Vec<String> = words.iter().map(|w| w.to_string()).collect();
    out[wi] = new;
    out.join(" ")
}

/// A spelling that sounds the same in Spanish, if the name has a letter that allows one.
fn sound_alike(s: &str) -> Option<String> {
    const SWAPS: &[(&str, &str)] = &[
        ("v", "b"),
        ("b", "v"),
        ("z", "s"),
        ("s", "z"),
        ("ll", "y"),
        ("y", "ll"),
        ("H", ""),
        ("ce", "se"),
        ("ci", "si"),
        ("gi", "ji"),
        ("ge", "je"),
        ("qu", "k"),
        ("V", "B"),
        ("B", "V"),
        ("Y", "Ll"),
    ];
    let plain = strip_accents(s);
    for (from, to) in SWAPS {
        if let Some(pos) = plain.find(from) {
            // Skip a swap at the very start of a lower-case s (initial 's' → 'z' is rare).
            let mut out = plain.clone();
            out.replace_range(pos..pos + from.len(), to);
            if !out.trim().is_empty() && out != plain {
                return Some(out);
            }
        }
    }
    None
}

/// Generates `cfg.persons` records and `cfg.queries` labelled queries, deterministically.
pub fn generate(cfg: &Config) -> Dataset {
    let mut g = Gen::new(cfg.seed);
    let mut data = Dataset::default();
    data.records.reserve(cfg.persons);
    for i in 0..cfg.persons {
        data.records.push(g.person(format!("p{i:07}")));
    }
    for i in 0..cfg.queries {
        let id = format!("q{i:07}");
        let roll: f64 = g.rng.gen();
        if data.records.is_empty() || roll < cfg.new_persons {
            data.queries.push(g.person(id.clone()));
            data.labels.push(Label {
                query_id: id,
                match_id: None,
                kind: NEW_PERSON.into(),
            });
        } else if roll < cfg.new_persons + cfg.hard_negatives {
            // A registered person with a DUI and a full date, so "other DOB and DUI" is visible.
            let mut base = &data.records[g.rng.gen_range(0..data.records.len())];
            for _ in 0..20 {
                if !base.dui.is_empty() && base.birth_date.len() == 10 {
                    break;
                }
                base = &data.records[g.rng.gen_range(0..data.records.len())];
            }
            let q = g.same_name_other(base, id.clone());
            data.queries.push(q);
            data.labels.push(Label {
                query_id: id,
                match_id: None,
                kind: SAME_NAME_OTHER_PERSON.into(),
            });
        } else {
            let base = &data.records[g.rng.gen_range(0..data.records.len())];
            let (q, applied) = g.duplicate(base, id.clone(), cfg.second_variation);
            let kind: Vec<&str> = applied.iter().map(|v| v.as_str()).collect();
            data.labels.push(Label {
                query_id: id,
                match_id: Some(base.id.clone()),
                kind: kind.join("+"),
            });
            data.queries.push(q);
        }
    }
    data
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn generation_is_deterministic_and_valid() {
        let cfg = Config {
            persons: 500,
            queries: 300,
            ..Config::default()
        };
        let a = generate(&cfg);
        let b = generate(&cfg);
        assert_eq!(a.records, b.records);
        assert_eq!(a.queries, b.queries);
        assert_eq!(a.labels, b.labels);
        for r in a.records.iter().chain(&a.queries) {
            r.validate().unwrap_or_else(|e| panic!("{r:?}: {e}"));
        }
        for v in Variation::ALL {
            if v != Variation::AccentsCase {
                assert!(
                    a.labels
                        .iter()
                        .any(|l| l.kind.split('+').any(|k| k == v.as_str())),
                    "no {v:?}"
                );
            }
        }
        assert!(a.labels.iter().any(|l| l.kind == SAME_NAME_OTHER_PERSON));
        assert!(a.labels.iter().any(|l| l.kind == NEW_PERSON));
    }
}
