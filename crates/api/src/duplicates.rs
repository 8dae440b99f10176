//! The supervisor's duplicate queue: likely pairs of forms of the same person across the whole
//! store (the dedup engine), merging two forms into one, and marking a pair "no es la misma
//! persona" so it is not proposed again.
//!
//! A merge is a set of ordinary record saves, so it syncs as ordinary ops and every device
//! converges: the kept form gains the other's return events, consents, vulnerabilities and any
//! field it lacked; referrals, follow-ups and notes are re-pointed to it; the absorbed form stays,
//! marked `merged_into`, and lists skip it. Both forms get an audit entry.

use chrono::{DateTime, NaiveDate, Utc};
use reintegra_core::audit::{changed_fields, AuditAction};
use reintegra_core::consent;
use reintegra_core::ids::PersonId;
use reintegra_core::person::Person;
use reintegra_dedup as dedup;
use reintegra_store::Store;
use serde::Serialize;
use ts_rs::TS;

use crate::access::office_case;
use crate::cases::Cases;
use crate::intake::{today_in_el_salvador, without_timestamps};
use crate::returning::{suggestion, Suggestion};
use crate::unit_of_work::{Audit, Work};
use crate::{ApiError, Result, Session};
use reintegra_core::permission::Permission;

/// Two forms that may be the same person, with the engine's score and reasons.
#[derive(Debug, Clone, PartialEq, Serialize, TS)]
pub struct DuplicatePair {
    pub a: Suggestion,
    pub b: Suggestion,
    pub score: f32,
    /// Why, as codes the UI words (`same_dui`, `surnames_swapped`…).
    pub reasons: Vec<dedup::Reason>,
}

/// Pairs listed at most (best first): a queue to work through, not a report.
pub const MAX_PAIRS: usize = 200;

fn likely_pairs(cases: &Cases, today: NaiveDate) -> Vec<DuplicatePair> {
    let opts = dedup::SearchOptions {
        top: 5,
        min_score: dedup::MATCH_THRESHOLD,
        not_same: Some(&cases.not_same),
    };
    let person = |id: &str| id.parse::<uuid::Uuid>().ok().map(PersonId::new);
    // A restricted form is not offered for merging (it waits for its erasure decision).
    let open_to_merge = |id: Option<PersonId>| {
        id.and_then(|id| cases.get(&id))
            .is_some_and(|c| !consent::restricted(&c.consents, today))
    };
    cases
        .dedup
        .likely_pairs(&opts)
        .into_iter()
        .filter(|pair| open_to_merge(person(&pair.a)) && open_to_merge(person(&pair.b)))
        .filter_map(|pair| {
            let reasons = pair.reasons;
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

/// Re-points the absorbed person's referrals, follow-ups and notes to the kept one (in `work`).
fn repoint_records(
    store: &Store,
    work: &mut Work<'_>,
    from: PersonId,
    to: PersonId,
) -> Result<usize> {
    let mut moved = 0;
    let audit = || Audit::new(AuditAction::Update, "Fusión de fichas").fields(["person"]);
    for mut r in store.referrals_of_person(from)? {
        r.person = to;
        work.save(&r, audit())?;
        moved += 1;
    }
    for mut f in store.follow_ups_of_person(from)? {
        f.person = to;
        work.save(&f, audit())?;
        moved += 1;
    }
    for mut n in store.case_notes_of_person(from)? {
        n.person = to;
        work.save(&n, audit())?;
        moved += 1;
    }
    Ok(moved)
}

impl Session {
    /// Likely duplicate pairs across the whole store, best first (supervisors and admins).
    pub fn likely_duplicates(&self, now: DateTime<Utc>) -> Result<Vec<DuplicatePair>> {
        self.with_permission(Permission::DuplicateQueue, |_, _, cases| {
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
        self.with_permission(Permission::DuplicateQueue, |store, user, cases| {
            if kept == absorbed {
                return Err(ApiError::NotFound);
            }
            let mut keep = office_case(store, user, kept)?;
            let mut gone = office_case(store, user, absorbed)?;
            if keep.merged_into.is_some() || gone.merged_into.is_some() {
                return Err(ApiError::AlreadyMerged);
            }
            let before = keep.clone();
            keep.absorb(&gone);
            keep.updated_at = now.max(keep.created_at);
            keep.validate(today_in_el_salvador(now))
                .map_err(ApiError::Invalid)?;
            // One batch: a crash never leaves half a merge.
            let mut work = Work::new(store, user, now);
            let moved = repoint_records(store, &mut work, absorbed, kept)?;
            // Ids, not names: the audit log must not become a copy of names.
            let summary = format!(
                "Fusión: se incorporó la ficha {absorbed} ({moved} registros relacionados)"
            );
            work.save_person(
                &keep,
                Audit::new(AuditAction::Update, &summary)
                    .fields(without_timestamps(changed_fields(&before, &keep))),
            )?;
            gone.merged_into = Some(kept);
            gone.updated_at = now.max(gone.created_at);
            let summary = format!("Fusión: ficha incorporada a {kept}");
            work.save_person(
                &gone,
                Audit::new(AuditAction::Update, &summary).fields(["merged_into"]),
            )?;
            work.commit(cases)?;
            Ok(keep)
        })
    }

    /// Marks two forms as different people: the pair is not proposed again (on any device).
    pub fn mark_not_same_person(&self, a: PersonId, b: PersonId, now: DateTime<Utc>) -> Result<()> {
        self.with_permission(Permission::DuplicateQueue, |store, user, cases| {
            let mut work = Work::new(store, user, now);
            for (this, other) in [(a, b), (b, a)] {
                let mut person = office_case(store, user, this)?;
                if person.not_same_as.contains(&other) {
                    continue;
                }
                person.not_same_as.push(other);
                person.updated_at = now.max(person.created_at);
                work.save_person(
                    &person,
                    Audit::new(
                        AuditAction::Update,
                        "Marcada como persona distinta de un posible duplicado",
                    )
                    .fields(["not_same_as"]),
                )?;
            }
            work.commit(cases)
        })
    }
}
