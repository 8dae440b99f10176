//! The returning-person check: while reception types a name, a birth date and a DUI, who already
//! registered might be this person? Same DUI, or the same name (accents, case and spacing
//! ignored) with the same or a close birth date. Behind one function, [`suggest`], so the engine
//! can be swapped; today it asks the duplicate-detection index (`reintegra-dedup`).

use chrono::NaiveDate;
use reintegra_core::dui::Dui;
use reintegra_core::ids::PersonId;
use reintegra_core::person::{BirthDate, CaseFlag, Sex};
use reintegra_core::territory::Territory;
use reintegra_dedup as dedup;
use serde::{Deserialize, Serialize};
use ts_rs::TS;

use crate::cases::{birth_date_text, Cases};
use crate::{Result, Session};
use reintegra_core::permission::Permission;

/// What has been typed so far on the intake form.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize, TS)]
pub struct SuggestionQuery {
    pub given_names: String,
    pub first_surname: String,
    pub second_surname: String,
    pub sex: Option<Sex>,
    pub birth_date: Option<BirthDate>,
    /// As typed; may be incomplete.
    pub dui: String,
}

/// A person already registered who may be the one arriving.
#[derive(Debug, Clone, PartialEq, Serialize, TS)]
pub struct Suggestion {
    pub id: PersonId,
    pub full_name: String,
    pub birth_date: Option<BirthDate>,
    pub dui: Option<String>,
    /// The phone on the form, to show next to a new one typed at intake ("" for none).
    pub phone: String,
    pub destination_district: String,
    pub destination_name: String,
    pub returns: u32,
    pub last_return: Option<NaiveDate>,
    pub flags: Vec<CaseFlag>,
    /// In (0, 1]: 1 for the same DUI.
    pub score: f32,
    /// Why, as codes the UI words (`same_dui`, `same_birth_date`…).
    pub reasons: Vec<dedup::Reason>,
}

/// At most this many suggestions are shown.
pub const MAX_SUGGESTIONS: usize = 5;

/// The one function behind the returning-person panel.
pub(crate) fn suggest(cases: &Cases, query: &SuggestionQuery, today: NaiveDate) -> Vec<Suggestion> {
    let mut out: Vec<Suggestion> = Vec::new();
    let dui_digits: String = query.dui.chars().filter(char::is_ascii_digit).collect();
    // A stored DUI is always valid, so only a valid typed one can be the same.
    if let Ok(typed) = Dui::parse(&dui_digits) {
        let typed = typed.as_str();
        for c in cases.iter() {
            if c.dui.as_deref() == Some(typed) {
                out.push(suggestion(
                    cases,
                    c.id,
                    1.0,
                    vec![dedup::Reason::SameDui],
                    today,
                ));
            }
        }
    }
    let has_name = !query.given_names.trim().is_empty() && !query.first_surname.trim().is_empty();
    if has_name {
        let record = dedup::Record {
            id: String::from("consulta"),
            given_names: query.given_names.clone(),
            first_surname: query.first_surname.clone(),
            second_surname: query.second_surname.clone(),
            sex: match query.sex {
                Some(Sex::Female) => "F".into(),
                Some(Sex::Male) => "M".into(),
                None => String::new(),
            },
            birth_date: birth_date_text(query.birth_date.as_ref()),
            // An incomplete DUI is not evidence either way.
            dui: if dui_digits.len() == 9 {
                query.dui.trim().to_string()
            } else {
                String::new()
            },
            district: String::new(),
            phone: String::new(),
        };
        let opts = dedup::SearchOptions {
            top: MAX_SUGGESTIONS,
            min_score: dedup::MATCH_THRESHOLD,
            not_same: None,
        };
        if let Ok(found) = cases.dedup.search(&record, &opts) {
            for c in found {
                let Ok(uuid) = c.id.parse::<uuid::Uuid>() else {
                    continue;
                };
                let id = PersonId::new(uuid);
                if out.iter().any(|s| s.id == id) {
                    continue;
                }
                out.push(suggestion(cases, id, c.score, c.reasons, today));
            }
        }
    }
    out.retain(|s| !s.full_name.is_empty());
    out.truncate(MAX_SUGGESTIONS);
    out
}

pub(crate) fn suggestion(
    cases: &Cases,
    id: PersonId,
    score: f32,
    reasons: Vec<dedup::Reason>,
    today: NaiveDate,
) -> Suggestion {
    match cases.get(&id) {
        Some(c) => Suggestion {
            id,
            full_name: c.full_name.clone(),
            birth_date: c.birth_date,
            dui: c.dui.clone(),
            phone: c.phone.clone(),
            destination_district: c.destination_district.clone(),
            destination_name: Territory::el_salvador()
                .place(&c.destination_district)
                .map(|p| p.district_name.clone())
                .unwrap_or_default(),
            returns: c.returns,
            last_return: c.last_return,
            flags: c.flags(today),
            score,
            reasons,
        },
        None => Suggestion {
            id,
            full_name: String::new(),
            birth_date: None,
            dui: None,
            phone: String::new(),
            destination_district: String::new(),
            destination_name: String::new(),
            returns: 0,
            last_return: None,
            flags: Vec::new(),
            score,
            reasons,
        },
    }
}

impl Session {
    /// Possible existing persons for what has been typed (best first, at most five).
    pub fn returning_suggestions(
        &self,
        query: &SuggestionQuery,
        today: NaiveDate,
    ) -> Result<Vec<Suggestion>> {
        self.with_permission(Permission::RegisterArrivals, |_, _, cases| {
            Ok(suggest(cases, query, today))
        })
    }
}
