//! Field comparisons. Each returns points (log-odds-like evidence: positive for "same person",
//! negative for "different person", 0 when a side is missing) and pushes the reasons.

use std::fmt;

use serde::Serialize;
use ts_rs::TS;

use crate::phonetic;
use crate::record::{BirthDate, Dui, Sex};

/// Why two records look like (or unlike) the same person. It crosses to the UI as its code
/// (`same_dui`, `surnames_swapped`, …), which the UI words in the user's language;
/// [`Reason::text`] is the Spanish wording for the command line. Named `MatchReason` in
/// TypeScript, where its texts are `matchReason.<code>`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, TS)]
#[serde(rename_all = "snake_case")]
#[ts(rename = "MatchReason")]
pub enum Reason {
    SameDui,
    SameDuiButCheckDigit,
    DuiOneDigitOff,
    DuiInvalidCheckDigit,
    DifferentDui,
    SameBirthDate,
    BirthDayMonthSwapped,
    BirthYearOffByOne,
    BirthYearOnly,
    BirthDateClose,
    DifferentBirthDate,
    SameGivenNames,
    SimilarGivenNames,
    GivenNameShortened,
    DifferentGivenNames,
    SameSurnames,
    SimilarSurnames,
    SurnamesSwapped,
    SecondSurnameMissing,
    MarriedName,
    DifferentSurnames,
    SameDistrict,
    SamePhone,
    DifferentSex,
}

impl Reason {
    /// The reason in Spanish words (the `reintegra dedup` command line and the benchmarks; the UI
    /// words the serialized code itself).
    pub fn text(self) -> &'static str {
        match self {
            Reason::SameDui => "mismo DUI",
            Reason::SameDuiButCheckDigit => "mismo DUI salvo el dígito verificador",
            Reason::DuiOneDigitOff => "DUI con un dígito distinto",
            Reason::DuiInvalidCheckDigit => "DUI con dígito verificador inválido",
            Reason::DifferentDui => "DUI distinto",
            Reason::SameBirthDate => "misma fecha de nacimiento",
            Reason::BirthDayMonthSwapped => "fecha de nacimiento con día y mes invertidos",
            Reason::BirthYearOffByOne => "año de nacimiento con un año de diferencia",
            Reason::BirthYearOnly => "mismo año de nacimiento (fecha incompleta)",
            Reason::BirthDateClose => "fecha de nacimiento parecida",
            Reason::DifferentBirthDate => "fecha de nacimiento distinta",
            Reason::SameGivenNames => "mismos nombres",
            Reason::SimilarGivenNames => "nombres parecidos",
            Reason::GivenNameShortened => "nombre abreviado o incompleto",
            Reason::DifferentGivenNames => "nombres distintos",
            Reason::SameSurnames => "mismos apellidos",
            Reason::SimilarSurnames => "apellidos parecidos",
            Reason::SurnamesSwapped => "apellidos iguales en otro orden",
            Reason::SecondSurnameMissing => "falta el segundo apellido en un registro",
            Reason::MarriedName => "apellido de casada en un registro",
            Reason::DifferentSurnames => "apellidos distintos",
            Reason::SameDistrict => "mismo distrito",
            Reason::SamePhone => "mismo teléfono",
            Reason::DifferentSex => "sexo distinto",
        }
    }

    /// Whether the reason speaks against the match.
    pub fn is_against(self) -> bool {
        matches!(
            self,
            Reason::DifferentDui
                | Reason::DifferentBirthDate
                | Reason::DifferentGivenNames
                | Reason::DifferentSurnames
                | Reason::DifferentSex
        )
    }
}

impl fmt::Display for Reason {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.text())
    }
}

/// Similarity of two folded name tokens in [0, 1]: Jaro–Winkler (`strsim`), raised to 0.96
/// when both sound the same in Spanish; a one-letter token (an initial) matches any token with
/// that first letter at 0.9.
pub fn token_similarity(a: &str, b: &str) -> f32 {
    if a == b {
        return 1.0;
    }
    if a.len() == 1 || b.len() == 1 {
        return if a.as_bytes().first() == b.as_bytes().first() {
            0.9
        } else {
            0.0
        };
    }
    let jw = strsim::jaro_winkler(a, b) as f32;
    if jw < 0.96 && jw > 0.6 && phonetic::key(a) == phonetic::key(b) {
        0.96
    } else {
        jw
    }
}

/// Similarity matrix between up to 3 tokens on each side: `m[i][j]` compares query token i
/// with candidate token j.
pub type Matrix = [[f32; 3]; 3];

/// The assignment of query tokens to candidate tokens with the highest total similarity;
/// returns `(pairs, n)` where `pairs[..n]` holds `(i, j, sim)`.
fn best_assignment(k: usize, m: usize, sims: &Matrix) -> ([(usize, usize, f32); 3], usize) {
    const PERMS: [[usize; 3]; 6] = [
        [0, 1, 2],
        [0, 2, 1],
        [1, 0, 2],
        [1, 2, 0],
        [2, 0, 1],
        [2, 1, 0],
    ];
    let n = k.min(m);
    let mut best = ([(0, 0, 0.0f32); 3], 0);
    let mut best_sum = f32::MIN;
    // Assign the smaller side's tokens to distinct tokens of the larger side.
    let (small, large) = if k <= m { (k, m) } else { (m, k) };
    for perm in PERMS {
        if perm[..small].iter().any(|&x| x >= large) {
            continue;
        }
        let mut pairs = [(0, 0, 0.0f32); 3];
        let mut sum = 0.0;
        for (s, &l) in perm[..small].iter().enumerate() {
            let (i, j) = if k <= m { (s, l) } else { (l, s) };
            pairs[s] = (i, j, sims[i][j]);
            // Agreeing tokens first: two near misses must not outweigh one real match.
            sum += if sims[i][j] >= 0.85 {
                10.0 + sims[i][j]
            } else {
                sims[i][j]
            };
        }
        // Prefer keeping the order on ties (first token to first token).
        if sum > best_sum + 1e-6 {
            best_sum = sum;
            best = (pairs, n);
        }
    }
    best
}

/// Given names: `k` query tokens against `m` candidate tokens, order-insensitive. A side with
/// fewer tokens whose every token is found on the other side is a shortened name.
pub fn given_names(k: usize, m: usize, sims: &Matrix, reasons: &mut Vec<Reason>) -> f32 {
    if k == 0 || m == 0 {
        return 0.0;
    }
    let (pairs, n) = best_assignment(k, m, sims);
    let avg = pairs[..n].iter().map(|p| p.2).sum::<f32>() / n as f32;
    let worst = pairs[..n].iter().map(|p| p.2).fold(1.0f32, f32::min);
    if k == m {
        if worst >= 0.97 {
            reasons.push(Reason::SameGivenNames);
            2.5
        } else if worst >= 0.9 {
            reasons.push(Reason::SimilarGivenNames);
            1.5
        } else if avg >= 0.85 && worst >= 0.8 {
            reasons.push(Reason::SimilarGivenNames);
            0.5
        } else if n >= 2 && pairs[..n].iter().any(|p| p.2 >= 0.97) && worst < 0.8 {
            // "José Luis" vs "José Antonio": same first name only.
            reasons.push(Reason::DifferentGivenNames);
            -2.0
        } else {
            reasons.push(Reason::DifferentGivenNames);
            -3.0
        }
    } else if worst >= 0.95 {
        reasons.push(Reason::GivenNameShortened);
        1.8
    } else if worst >= 0.88 {
        reasons.push(Reason::GivenNameShortened);
        reasons.push(Reason::SimilarGivenNames);
        0.8
    } else {
        reasons.push(Reason::DifferentGivenNames);
        -3.0
    }
}

/// Surnames, order-insensitive, with married names ("de X") that may come and go.
pub fn surnames(
    q_married: &[bool],
    c_married: &[bool],
    sims: &Matrix,
    reasons: &mut Vec<Reason>,
) -> f32 {
    let (k, m) = (q_married.len(), c_married.len());
    if k == 0 || m == 0 {
        return 0.0;
    }
    let (pairs, n) = best_assignment(k, m, sims);
    let mut points = 0.0;
    let mut matched: [(usize, usize); 3] = [(0, 0); 3];
    let mut n_matched = 0;
    let mut similar = false;
    let mut married_involved = false;
    let mut conflicts = 0;
    for &(i, j, s) in &pairs[..n] {
        if s >= 0.85 {
            points += if s >= 0.97 {
                2.0
            } else if s >= 0.92 {
                similar = true;
                1.3
            } else {
                similar = true;
                0.5
            };
            if q_married[i] != c_married[j] {
                // A husband's surname equal to one's own is weak evidence.
                married_involved = true;
                points -= 1.0;
            }
            if !q_married[i] && !c_married[j] {
                matched[n_matched] = (i, j);
                n_matched += 1;
            }
        } else if q_married[i] || c_married[j] {
            married_involved = true;
        } else {
            conflicts += 1;
        }
    }
    if points == 0.0 {
        reasons.push(Reason::DifferentSurnames);
        return -4.0;
    }
    points -= 2.5 * conflicts as f32;
    let swapped = (0..n_matched).any(|a| {
        (a + 1..n_matched).any(|b| {
            let ((qa, ca), (qb, cb)) = (matched[a], matched[b]);
            (qa < qb) != (ca < cb)
        })
    });
    // Surnames left over on the longer side.
    let used_q = |i: usize| pairs[..n].iter().any(|p| p.0 == i);
    let used_c = |j: usize| pairs[..n].iter().any(|p| p.1 == j);
    let leftover: Vec<bool> = (0..k)
        .filter(|&i| !used_q(i))
        .map(|i| q_married[i])
        .chain((0..m).filter(|&j| !used_c(j)).map(|j| c_married[j]))
        .collect();
    if conflicts > 0 {
        reasons.push(Reason::DifferentSurnames);
    } else if swapped {
        reasons.push(Reason::SurnamesSwapped);
    } else if !similar && leftover.is_empty() && !married_involved {
        reasons.push(Reason::SameSurnames);
    }
    if similar {
        reasons.push(Reason::SimilarSurnames);
    }
    if leftover.iter().any(|&married| !married) {
        reasons.push(Reason::SecondSurnameMissing);
    }
    if married_involved || leftover.iter().any(|&married| married) {
        reasons.push(Reason::MarriedName);
    }
    points
}

/// Dates of birth: exact, day and month swapped, year off by one, year only.
pub fn birth_dates(q: Option<BirthDate>, c: Option<BirthDate>, reasons: &mut Vec<Reason>) -> f32 {
    let (Some(q), Some(c)) = (q, c) else {
        return 0.0;
    };
    let dy = (i32::from(q.year) - i32::from(c.year)).abs();
    if q.year_only() || c.year_only() {
        return if dy == 0 {
            reasons.push(Reason::BirthYearOnly);
            1.0
        } else if dy == 1 {
            reasons.push(Reason::BirthYearOffByOne);
            0.3
        } else {
            reasons.push(Reason::DifferentBirthDate);
            -3.0
        };
    }
    let same_md = q.month == c.month && q.day == c.day;
    if dy == 0 && same_md {
        reasons.push(Reason::SameBirthDate);
        4.0
    } else if dy == 0 && q.month == c.day && q.day == c.month {
        reasons.push(Reason::BirthDayMonthSwapped);
        2.5
    } else if dy == 1 && same_md {
        reasons.push(Reason::BirthYearOffByOne);
        2.5
    } else if (dy == 0 && (q.month == c.month || q.day == c.day))
        || (same_md && dy % 10 == 0 && dy < 100)
    {
        // One part mistyped: day, month, or one digit of the year.
        reasons.push(Reason::BirthDateClose);
        0.5
    } else {
        reasons.push(Reason::DifferentBirthDate);
        -4.0
    }
}

/// DUIs: exact, same but for the check digit, one digit off (or two adjacent digits swapped),
/// different.
pub fn duis(q: Option<Dui>, c: Option<Dui>, reasons: &mut Vec<Reason>) -> f32 {
    let (Some(q), Some(c)) = (q, c) else {
        return 0.0;
    };
    let invalid = !q.is_valid() || !c.is_valid();
    let points = if q == c {
        reasons.push(Reason::SameDui);
        6.0
    } else if q.base() == c.base() {
        reasons.push(Reason::SameDuiButCheckDigit);
        5.0
    } else {
        let (a, b) = (q.digits(), c.digits());
        let diff: Vec<usize> = (0..9).filter(|&i| a[i] != b[i]).collect();
        let transposed = diff.len() == 2
            && diff[1] == diff[0] + 1
            && a[diff[0]] == b[diff[1]]
            && a[diff[1]] == b[diff[0]];
        let one_off = diff.len() == 1 || (diff.len() == 2 && diff[1] == 8) || transposed;
        if one_off {
            reasons.push(Reason::DuiOneDigitOff);
            3.0
        } else {
            reasons.push(Reason::DifferentDui);
            return -5.0;
        }
    };
    if invalid {
        reasons.push(Reason::DuiInvalidCheckDigit);
    }
    points
}

/// Sex: only a known difference counts (against).
pub fn sexes(q: Sex, c: Sex, reasons: &mut Vec<Reason>) -> f32 {
    if q != Sex::Unknown && c != Sex::Unknown && q != c {
        reasons.push(Reason::DifferentSex);
        -2.0
    } else {
        0.0
    }
}

/// Same district (a little for), different district (a very little against: people move).
pub fn districts(q: Option<u32>, c: Option<u32>, reasons: &mut Vec<Reason>) -> f32 {
    match (q, c) {
        (Some(a), Some(b)) if a == b => {
            reasons.push(Reason::SameDistrict);
            0.7
        }
        (Some(_), Some(_)) => -0.3,
        _ => 0.0,
    }
}

/// Same phone is strong evidence; a different phone says little (numbers change).
pub fn phones(q: Option<u32>, c: Option<u32>, reasons: &mut Vec<Reason>) -> f32 {
    match (q, c) {
        (Some(a), Some(b)) if a == b => {
            reasons.push(Reason::SamePhone);
            1.5
        }
        _ => 0.0,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn matrix(q: &[&str], c: &[&str]) -> Matrix {
        let mut m = [[0.0; 3]; 3];
        for (i, a) in q.iter().enumerate() {
            for (j, b) in c.iter().enumerate() {
                m[i][j] = token_similarity(a, b);
            }
        }
        m
    }

    fn given(q: &[&str], c: &[&str]) -> (f32, Vec<Reason>) {
        let mut r = Vec::new();
        (given_names(q.len(), c.len(), &matrix(q, c), &mut r), r)
    }

    fn sur(q: &[(&str, bool)], c: &[(&str, bool)]) -> (f32, Vec<Reason>) {
        let qt: Vec<&str> = q.iter().map(|x| x.0).collect();
        let ct: Vec<&str> = c.iter().map(|x| x.0).collect();
        let qm: Vec<bool> = q.iter().map(|x| x.1).collect();
        let cm: Vec<bool> = c.iter().map(|x| x.1).collect();
        let mut r = Vec::new();
        (surnames(&qm, &cm, &matrix(&qt, &ct), &mut r), r)
    }

    fn date(s: &str) -> Option<BirthDate> {
        BirthDate::parse(s).unwrap()
    }

    fn dui(s: &str) -> Option<Dui> {
        Dui::parse(s).unwrap()
    }

    #[test]
    fn token_similarity_handles_spelling_and_initials() {
        assert_eq!(token_similarity("maria", "maria"), 1.0);
        assert!(token_similarity("vasquez", "basquez") >= 0.96);
        assert!(token_similarity("hernandez", "hernadez") > 0.9);
        assert_eq!(token_similarity("j", "jose"), 0.9);
        assert!(token_similarity("lopez", "rivas") < 0.6);
    }

    #[test]
    fn given_name_variations() {
        assert_eq!(
            given(&["maria", "jose"], &["maria", "jose"]).1,
            vec![Reason::SameGivenNames]
        );
        assert_eq!(
            given(&["jose", "maria"], &["maria", "jose"]).1,
            vec![Reason::SameGivenNames]
        );
        let (p, r) = given(&["maria"], &["maria", "jose"]);
        assert!(p > 1.0);
        assert_eq!(r, vec![Reason::GivenNameShortened]);
        let (p, r) = given(&["luis"], &["jose", "luis"]);
        assert!(p > 1.0, "{r:?}");
        let (p, r) = given(&["maria", "jose"], &["maria", "elena"]);
        assert!(p < 0.0);
        assert_eq!(r, vec![Reason::DifferentGivenNames]);
        let (p, _) = given(&["yesenia"], &["llesenia"]);
        assert!(p > 0.0);
        assert_eq!(given(&[], &["ana"]).0, 0.0);
    }

    #[test]
    fn surname_variations() {
        let same = sur(
            &[("lopez", false), ("perez", false)],
            &[("lopez", false), ("perez", false)],
        );
        assert_eq!(same.1, vec![Reason::SameSurnames]);
        let swapped = sur(
            &[("perez", false), ("lopez", false)],
            &[("lopez", false), ("perez", false)],
        );
        assert_eq!(swapped.1, vec![Reason::SurnamesSwapped]);
        assert_eq!(swapped.0, same.0);
        let missing = sur(&[("lopez", false)], &[("lopez", false), ("perez", false)]);
        assert_eq!(missing.1, vec![Reason::SecondSurnameMissing]);
        assert!(missing.0 > 1.5);
        let married = sur(
            &[("lopez", false), ("martinez", true)],
            &[("lopez", false), ("perez", false)],
        );
        assert!(married.1.contains(&Reason::MarriedName), "{married:?}");
        assert!(married.0 > 1.5);
        let different = sur(
            &[("lopez", false), ("gomez", false)],
            &[("lopez", false), ("perez", false)],
        );
        assert!(different.0 < 0.5, "{different:?}");
        let married = sur(
            &[("coto", false), ("castillo", true)],
            &[("coto", false), ("lopez", false)],
        );
        assert!(married.0 > 1.5, "{married:?}");
        let none = sur(&[("rivas", false)], &[("lopez", false), ("perez", false)]);
        assert_eq!(none, (-4.0, vec![Reason::DifferentSurnames]));
        let typo = sur(
            &[("hernandes", false), ("lopez", false)],
            &[("hernandez", false), ("lopez", false)],
        );
        assert!(typo.1.contains(&Reason::SimilarSurnames));
        assert!(typo.0 > 2.5);
    }

    #[test]
    fn birth_date_variations() {
        let mut r = Vec::new();
        assert_eq!(
            birth_dates(date("1990-05-17"), date("1990-05-17"), &mut r),
            4.0
        );
        assert!(birth_dates(date("1990-05-07"), date("1990-07-05"), &mut r) > 2.0);
        assert!(birth_dates(date("1990-05-17"), date("1991-05-17"), &mut r) > 2.0);
        assert!(birth_dates(date("1990"), date("1990-05-17"), &mut r) >= 1.0);
        assert!(birth_dates(date("1990-05-17"), date("1984-02-11"), &mut r) < -3.0);
        assert_eq!(birth_dates(None, date("1984-02-11"), &mut r), 0.0);
        assert_eq!(
            r,
            vec![
                Reason::SameBirthDate,
                Reason::BirthDayMonthSwapped,
                Reason::BirthYearOffByOne,
                Reason::BirthYearOnly,
                Reason::DifferentBirthDate
            ]
        );
    }

    #[test]
    fn dui_variations() {
        let mut r = Vec::new();
        assert_eq!(duis(dui("01234567-8"), dui("01234567-8"), &mut r), 6.0);
        assert_eq!(r, vec![Reason::SameDui]);
        r.clear();
        assert_eq!(duis(dui("01234567-3"), dui("01234567-8"), &mut r), 5.0);
        assert_eq!(
            r,
            vec![Reason::SameDuiButCheckDigit, Reason::DuiInvalidCheckDigit]
        );
        r.clear();
        assert_eq!(duis(dui("01234577-8"), dui("01234567-8"), &mut r), 3.0);
        assert_eq!(
            r,
            vec![Reason::DuiOneDigitOff, Reason::DuiInvalidCheckDigit]
        );
        r.clear();
        assert_eq!(duis(dui("01234657-8"), dui("01234567-8"), &mut r), 3.0);
        r.clear();
        assert_eq!(duis(dui("98765432-1"), dui("01234567-8"), &mut r), -5.0);
        assert_eq!(r, vec![Reason::DifferentDui]);
        assert_eq!(duis(None, dui("01234567-8"), &mut r), 0.0);
    }
}
