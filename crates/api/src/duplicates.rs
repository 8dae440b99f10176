//! The supervisor's duplicate queue: likely pairs of forms of the same person across the whole
//! store (the dedup engine), merging two forms into one, and marking a pair "no es la misma
//! persona" so it is not proposed again.
//!
//! A merge is a set of ordinary record saves, so it syncs as ordinary ops and every device
//! converges: the kept form gains the other's return events, consents, vulnerabilities and any
//! field it lacked; referrals, follow-ups and notes are re-pointed to it; the absorbed form stays,
//! marked `merged_into`, and lists skip it. Both forms get an audit entry.

use chrono::{DateTime, NaiveDate, Utc};
use reintegra_core::audit::AuditAction;
use reintegra_core::ids::PersonId;
use reintegra_core::person::Person;
use reintegra_core::user::{Role, User};
use reintegra_dedup as dedup;
use reintegra_store::Store;
use serde::Serialize;
use ts_rs::TS;

use crate::cases::Cases;
use crate::intake::{save, today_in_el_salvador};
use crate::returning::{suggestion, Suggestion};
use crate::{ApiError, Result, Session};

/// Two forms that may be the same person, with the engine's score and reasons.
#[derive(Debug, Clone, PartialEq, Serialize, TS)]
pub struct DuplicatePair {
    pub a: Suggestion,
    pub b: Suggestion,
    pub score: f32,
    /// Why, in Spanish ("mismo DUI", "apellidos iguales en otro orden"…).
    pub reasons: Vec<String>,
}

/// Pairs listed at most (best first): a queue to work through, not a report.
pub const MAX_PAIRS: usize = 200;

fn supervisor_only(user: &User) -> Result<()> {
    match user.role {
        Role::Supervisor | Role::Admin => Ok(()),
        Role::Caseworker | Role::Reception => Err(ApiError::Forbidden),
    }
}

fn likely_pairs(cases: &Cases, today: NaiveDate) -> Vec<DuplicatePair> {
    let opts = dedup::SearchOptions {
        top: 5,
        min_score: dedup::MATCH_THRESHOLD,
        not_same: Some(&cases.not_same),
    };
    let person = |id: &str| id.parse::<uuid::Uuid>().ok().map(PersonId::new);
    cases
        .dedup
        .likely_pairs(&opts)
        .into_iter()
        .filter_map(|pair| {
            let reasons: Vec<String> = pair.reasons.iter().map(|r| r.text().into()).collect();
            Some(DuplicatePair {
                a: suggestion(cases, person(&pair.a)?, pair.score, reasons.clone(), today),
                b: suggestion(cases, person(&pair.b)?, pair.score, reasons.clone(), today),
                score: pair.score,
                reasons,
            })
        })
        .take(MAX_PAIRS)
        .collect()
}

/// `keep` with everything of `other` it lacks: the union of return events, consents and
/// vulnerabilities, and `other`'s value for every field `keep` left empty.
fn absorb(keep: &mut Person, other: &Person) {
    for event in &other.return_events {
        if !keep.return_events.iter().any(|e| e.id == event.id) {
            keep.return_events.push(event.clone());
        }
    }
    keep.return_events.sort_by_key(|e| e.date);
    for consent in &other.consents {
        if !keep.consents.iter().any(|c| c.id == consent.id) {
            keep.consents.push(consent.clone());
        }
    }
    for v in &other.vulnerabilities {
        keep.add_vulnerability(*v);
    }
    for id in &other.not_same_as {
        if *id != keep.id && !keep.not_same_as.contains(id) {
            keep.not_same_as.push(*id);
        }
    }
    fn fill<T: Clone>(mine: &mut Option<T>, theirs: &Option<T>) {
        if mine.is_none() {
            mine.clone_from(theirs);
        }
    }
    fn fill_text(mine: &mut String, theirs: &str) {
        if mine.trim().is_empty() {
            *mine = theirs.to_string();
        }
    }
    fill(&mut keep.sex, &other.sex);
    fill(&mut keep.birth_date, &other.birth_date);
    fill(&mut keep.dui, &other.dui);
    fill(&mut keep.other_document, &other.other_document);
    fill(&mut keep.education, &other.education);
    fill(&mut keep.family_group, &other.family_group);
    fill(&mut keep.caseworker, &other.caseworker);
    fill(&mut keep.plan, &other.plan);
    fill_text(&mut keep.second_surname, &other.second_surname);
    fill_text(&mut keep.phone, &other.phone);
    fill_text(&mut keep.origin_district, &other.origin_district);
    fill_text(&mut keep.destination_district, &other.destination_district);
    fill_text(&mut keep.occupation, &other.occupation);
    fill_text(&mut keep.household_notes, &other.household_notes);
    for skill in &other.skills {
        if !keep.skills.contains(skill) {
            keep.skills.push(skill.clone());
        }
    }
}

/// Re-points the absorbed person's referrals, follow-ups and notes to the kept one.
fn repoint_records(store: &Store, from: PersonId, to: PersonId) -> Result<usize> {
    let mut moved = 0;
    for mut r in store.referrals_of_person(from)? {
        r.person = to;
        store.save_referral(&r)?;
        moved += 1;
    }
    for mut f in store.follow_ups_of_person(from)? {
        f.person = to;
        store.save_follow_up(&f)?;
        moved += 1;
    }
    for mut n in store.case_notes_of_person(from)? {
        n.person = to;
        store.save_case_note(&n)?;
        moved += 1;
    }
    Ok(moved)
}

impl Session {
    /// Likely duplicate pairs across the whole store, best first (supervisors and admins).
    pub fn likely_duplicates(&self, now: DateTime<Utc>) -> Result<Vec<DuplicatePair>> {
        self.with_unlocked(|_, user, cases| {
            supervisor_only(user)?;
            Ok(likely_pairs(cases, today_in_el_salvador(now)))
        })
    }

    /// Merges `absorbed` into `kept`; returns the kept form as it is now.
    pub fn merge_persons(
        &self,
        kept: PersonId,
        absorbed: PersonId,
        now: DateTime<Utc>,
    ) -> Result<Person> {
        self.with_unlocked(|store, user, cases| {
            supervisor_only(user)?;
            if kept == absorbed {
                return Err(ApiError::NotFound);
            }
            let mut keep = store.person(kept)?.ok_or(ApiError::NotFound)?;
            let mut gone = store.person(absorbed)?.ok_or(ApiError::NotFound)?;
            if keep.merged_into.is_some() || gone.merged_into.is_some() {
                return Err(ApiError::AlreadyMerged);
            }
            absorb(&mut keep, &gone);
            keep.updated_at = now.max(keep.created_at);
            keep.validate(today_in_el_salvador(now))
                .map_err(ApiError::Invalid)?;
            let moved = repoint_records(store, absorbed, kept)?;
            save(
                store,
                user,
                cases,
                &keep,
                AuditAction::Update,
                vec!["return_events".into(), "consents".into()],
                &format!(
                    "Fusión: se incorporó la ficha {} ({} registros relacionados)",
                    gone.full_name(),
                    moved
                ),
                now,
            )?;
            gone.merged_into = Some(kept);
            gone.updated_at = now.max(gone.created_at);
            save(
                store,
                user,
                cases,
                &gone,
                AuditAction::Update,
                vec!["merged_into".into()],
                &format!("Fusión: ficha incorporada a {}", keep.full_name()),
                now,
            )?;
            Ok(keep)
        })
    }

    /// Marks two forms as different people: the pair is not proposed again (on any device).
    pub fn mark_not_same_person(&self, a: PersonId, b: PersonId, now: DateTime<Utc>) -> Result<()> {
        self.with_unlocked(|store, user, cases| {
            supervisor_only(user)?;
            for (this, other) in [(a, b), (b, a)] {
                let mut person = store.person(this)?.ok_or(ApiError::NotFound)?;
                if person.not_same_as.contains(&other) {
                    continue;
                }
                person.not_same_as.push(other);
                person.updated_at = now.max(person.created_at);
                save(
                    store,
                    user,
                    cases,
                    &person,
                    AuditAction::Update,
                    vec!["not_same_as".into()],
                    "Marcada como persona distinta de un posible duplicado",
                    now,
                )?;
            }
            Ok(())
        })
    }
}
