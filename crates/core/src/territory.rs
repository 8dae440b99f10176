//! The territory of El Salvador since the 2024 municipal reform: 14 departments, 44 municipalities,
//! 262 districts (the former municipalities, which is how people name their home town).
//! The data ships inside the binary (`data/sv-territory.json`) and is parsed once.

use std::sync::OnceLock;

use serde::{Deserialize, Serialize};
use ts_rs::TS;

use crate::text::fold;

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, TS)]
pub struct Department {
    /// ISO 3166-2:SV code, e.g. `SV-LI`.
    pub code: String,
    pub name: String,
    pub municipalities: Vec<Municipality>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, TS)]
pub struct Municipality {
    pub code: String,
    pub name: String,
    pub districts: Vec<District>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, TS)]
pub struct District {
    pub code: String,
    pub name: String,
    /// One of the eight localities the reintegration program prioritizes.
    #[serde(default)]
    pub prioritized: bool,
}

/// A district with the municipality and department it belongs to: what a picker shows.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, TS)]
pub struct Place {
    pub department_code: String,
    pub department_name: String,
    pub municipality_code: String,
    pub municipality_name: String,
    pub district_code: String,
    pub district_name: String,
    pub prioritized: bool,
}

#[derive(Debug, Deserialize)]
struct TerritoryFile {
    departments: Vec<Department>,
}

/// The embedded territory of El Salvador.
#[derive(Debug)]
pub struct Territory {
    departments: Vec<Department>,
    /// Every district with its parents, in file order, plus its folded name for search.
    places: Vec<(Place, String)>,
}

static EL_SALVADOR: OnceLock<Territory> = OnceLock::new();

impl Territory {
    /// The territory shipped with the app. Parsed on first use.
    pub fn el_salvador() -> &'static Territory {
        EL_SALVADOR.get_or_init(|| {
            let file: TerritoryFile =
                serde_json::from_str(include_str!("../data/sv-territory.json"))
                    .expect("embedded sv-territory.json is valid (checked by tests)");
            Territory::from_departments(file.departments)
        })
    }

    fn from_departments(departments: Vec<Department>) -> Territory {
        let mut places = Vec::new();
        for dep in &departments {
            for mun in &dep.municipalities {
                for dis in &mun.districts {
                    let place = Place {
                        department_code: dep.code.clone(),
                        department_name: dep.name.clone(),
                        municipality_code: mun.code.clone(),
                        municipality_name: mun.name.clone(),
                        district_code: dis.code.clone(),
                        district_name: dis.name.clone(),
                        prioritized: dis.prioritized,
                    };
                    let key = fold(&dis.name);
                    places.push((place, key));
                }
            }
        }
        Territory {
            departments,
            places,
        }
    }

    pub fn departments(&self) -> &[Department] {
        &self.departments
    }

    pub fn department(&self, code: &str) -> Option<&Department> {
        self.departments.iter().find(|d| d.code == code)
    }

    pub fn municipality(&self, code: &str) -> Option<&Municipality> {
        self.departments
            .iter()
            .flat_map(|d| &d.municipalities)
            .find(|m| m.code == code)
    }

    /// The district with `code`, with its municipality and department.
    pub fn place(&self, district_code: &str) -> Option<&Place> {
        self.places
            .iter()
            .map(|(p, _)| p)
            .find(|p| p.district_code == district_code)
    }

    /// All districts with their parents, in the file's order.
    pub fn places(&self) -> impl Iterator<Item = &Place> {
        self.places.iter().map(|(p, _)| p)
    }

    /// The office a case with this destination district belongs to: the district's municipality
    /// (`SV-…`). The one statement of "district → municipal office".
    pub fn office_of(&self, district_code: &str) -> Option<&str> {
        self.place(district_code)
            .map(|p| p.municipality_code.as_str())
    }

    /// The eight prioritized localities.
    pub fn prioritized(&self) -> impl Iterator<Item = &Place> {
        self.places().filter(|p| p.prioritized)
    }

    /// Districts whose name matches `query` ignoring accents, case and spacing: names starting
    /// with the query first, then names with a word starting with it, then any other
    /// containment; alphabetical within each group. An empty query matches nothing.
    pub fn search(&self, query: &str, limit: usize) -> Vec<Place> {
        let q = fold(query);
        if q.is_empty() {
            return Vec::new();
        }
        let word_prefix = format!(" {q}");
        let mut hits: Vec<(u8, &Place, &str)> = self
            .places
            .iter()
            .filter_map(|(place, key)| {
                let rank = if key.starts_with(&q) {
                    0
                } else if key.contains(&word_prefix) {
                    1
                } else if key.contains(&q) {
                    2
                } else {
                    return None;
                };
                Some((rank, place, key.as_str()))
            })
            .collect();
        hits.sort_by(|a, b| (a.0, a.2).cmp(&(b.0, b.2)));
        hits.into_iter()
            .take(limit)
            .map(|(_, p, _)| p.clone())
            .collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn sv() -> &'static Territory {
        Territory::el_salvador()
    }

    #[test]
    fn has_the_whole_country() {
        let t = sv();
        assert_eq!(t.departments().len(), 14);
        let municipalities: usize = t.departments().iter().map(|d| d.municipalities.len()).sum();
        assert_eq!(municipalities, 44);
        assert_eq!(t.places().count(), 262);
    }

    #[test]
    fn the_eight_prioritized_localities() {
        let mut names: Vec<_> = sv()
            .prioritized()
            .map(|p| p.district_name.as_str())
            .collect();
        names.sort_unstable();
        assert_eq!(
            names,
            [
                "Ilopango",
                "Jiquilisco",
                "La Unión",
                "Nueva Concepción",
                "Quezaltepeque",
                "San Pablo Tacachico",
                "San Salvador",
                "Santa Ana"
            ]
        );
    }

    #[test]
    fn codes_are_unique() {
        let mut codes: Vec<_> = sv().places().map(|p| p.district_code.as_str()).collect();
        codes.sort_unstable();
        let before = codes.len();
        codes.dedup();
        assert_eq!(before, codes.len());
    }

    #[test]
    fn search_ignores_accents_and_case() {
        let hits = sv().search("nueva concepcion", 10);
        assert_eq!(hits[0].district_name, "Nueva Concepción");
        assert_eq!(hits[0].department_code, "SV-CH");
        assert!(hits[0].prioritized);

        let hits = sv().search("TACACHICO", 10);
        assert_eq!(hits.len(), 1);
        assert_eq!(hits[0].district_name, "San Pablo Tacachico");
    }

    #[test]
    fn search_ranks_prefix_before_word_before_containment() {
        let hits = sv().search("san", 100);
        assert!(hits[0].district_name.starts_with("San"));
        let names: Vec<_> = hits.iter().map(|p| fold(&p.district_name)).collect();
        let first_non_prefix = names.iter().position(|n| !n.starts_with("san"));
        if let Some(i) = first_non_prefix {
            assert!(names[i..].iter().all(|n| !n.starts_with("san")));
        }
    }

    #[test]
    fn empty_or_unknown_query_finds_nothing() {
        assert!(sv().search("   ", 10).is_empty());
        assert!(sv().search("zzzz", 10).is_empty());
    }

    #[test]
    fn place_lookup_by_code() {
        let p = sv().place("SV-LI-quezaltepeque").expect("known district");
        assert_eq!(p.department_name, "La Libertad");
        assert!(sv().municipality(&p.municipality_code).is_some());
        assert!(sv().place("SV-XX-nowhere").is_none());
    }
}
