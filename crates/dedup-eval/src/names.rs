//! Salvadoran given names and surnames with realistic frequencies, from `data/names.json`.
//!
//! Each list is ordered most frequent first and drawn with Zipf weights by rank, so a few names
//! are very common and namesakes abound, as in the field. The dedup generator and the other
//! benchmarks' synthetic persons draw their names here.

use std::sync::OnceLock;

use rand::distributions::{Distribution, WeightedIndex};
use rand::Rng;
use serde::Deserialize;

#[derive(Deserialize)]
struct NamesFile {
    female: Vec<String>,
    male: Vec<String>,
    surnames: Vec<String>,
}

/// The name lists and their weights.
#[derive(Debug)]
pub struct Names {
    female: Vec<String>,
    male: Vec<String>,
    surnames: Vec<String>,
    female_weights: WeightedIndex<f64>,
    male_weights: WeightedIndex<f64>,
    surname_weights: WeightedIndex<f64>,
}

static SALVADORAN: OnceLock<Names> = OnceLock::new();

/// Weights 1/rank^s.
fn zipf(n: usize, s: f64) -> WeightedIndex<f64> {
    WeightedIndex::new((0..n).map(|k| 1.0 / ((k + 1) as f64).powf(s)))
        .expect("a non-empty name list (checked by tests) has positive, finite weights")
}

impl Names {
    /// The embedded lists. Parsed on first use.
    pub fn salvadoran() -> &'static Names {
        SALVADORAN.get_or_init(|| {
            let file: NamesFile = serde_json::from_str(include_str!("../data/names.json"))
                .expect("embedded names.json is valid (checked by tests)");
            Names {
                female_weights: zipf(file.female.len(), 0.9),
                male_weights: zipf(file.male.len(), 0.9),
                surname_weights: zipf(file.surnames.len(), 0.8),
                female: file.female,
                male: file.male,
                surnames: file.surnames,
            }
        })
    }

    /// Female given names, most frequent first.
    pub fn female(&self) -> &[String] {
        &self.female
    }

    /// Male given names, most frequent first.
    pub fn male(&self) -> &[String] {
        &self.male
    }

    /// Surnames, most frequent first (a few with a particle: "de la Cruz", "del Cid").
    pub fn surnames(&self) -> &[String] {
        &self.surnames
    }

    /// One given name, or two different ones (55 %): "María", "José Luis".
    pub fn given<R: Rng + ?Sized>(&self, rng: &mut R, female: bool) -> String {
        let (list, weights) = if female {
            (&self.female, &self.female_weights)
        } else {
            (&self.male, &self.male_weights)
        };
        let first = &list[weights.sample(rng)];
        if rng.gen_bool(0.55) {
            let mut second = &list[weights.sample(rng)];
            while second == first {
                second = &list[rng.gen_range(0..list.len())];
            }
            format!("{first} {second}")
        } else {
            first.clone()
        }
    }

    /// One surname.
    pub fn surname<R: Rng + ?Sized>(&self, rng: &mut R) -> &str {
        &self.surnames[self.surname_weights.sample(rng)]
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use rand::rngs::StdRng;
    use rand::SeedableRng;

    #[test]
    fn the_embedded_lists_load_and_names_are_drawn_by_frequency() {
        let names = Names::salvadoran();
        assert!(names.female().len() >= 50 && names.male().len() >= 50);
        assert!(names.surnames().len() >= 100);
        for n in names
            .female()
            .iter()
            .chain(names.male())
            .chain(names.surnames())
        {
            assert!(!n.trim().is_empty() && n.trim() == n, "{n:?}");
        }
        let mut rng = StdRng::seed_from_u64(1);
        let draws: Vec<&str> = (0..10_000).map(|_| names.surname(&mut rng)).collect();
        let count = |s: &str| draws.iter().filter(|d| **d == s).count();
        let (top, last) = (
            &names.surnames()[0],
            names.surnames().last().expect("non-empty"),
        );
        assert!(
            count(top) > 5 * count(last).max(1),
            "Zipf: the first name is far more common"
        );
        for _ in 0..1000 {
            let g = names.given(&mut rng, true);
            let parts: Vec<&str> = g.split(' ').collect();
            assert!(matches!(parts.len(), 1 | 2), "{g}");
            if parts.len() == 2 {
                assert_ne!(parts[0], parts[1]);
            }
        }
    }
}
