//! Consent on a person's single form: recorded per purpose (registration, referral sharing,
//! follow-up contact) with the day and who recorded it, and withdrawn from a day on. Both are
//! ordinary edits of the person: validated, audited, and sent to the outbox.

use chrono::{DateTime, NaiveDate, Utc};
use reintegra_core::audit::AuditAction;
use reintegra_core::consent::{Consent, ConsentPurpose};
use reintegra_core::ids::{ConsentId, PersonId};
use reintegra_core::person::Person;
use reintegra_core::validation::{Problem, ValidationErrors};
use uuid::Uuid;

use crate::intake::{save, today_in_el_salvador};
use crate::{ApiError, Result, Session};

fn invalid(field: &str, problem: Problem) -> ApiError {
    let mut errors = ValidationErrors::new();
    errors.push(field, problem);
    ApiError::Invalid(errors)
}

impl Session {
    /// Records a consent given on `given_on` (not in the future).
    pub fn record_consent(
        &self,
        person_id: PersonId,
        purpose: ConsentPurpose,
        given_on: NaiveDate,
        now: DateTime<Utc>,
    ) -> Result<Person> {
        let today = today_in_el_salvador(now);
        if given_on > today {
            return Err(invalid(
                "given_on",
                Problem::DateInFuture { date: given_on },
            ));
        }
        self.with_unlocked(|store, user, cases| {
            let mut person = store.person(person_id)?.ok_or(ApiError::NotFound)?;
            person.consents.push(Consent::new(
                ConsentId::new(Uuid::now_v7()),
                purpose,
                given_on,
                user.id,
            ));
            person.updated_at = now.max(person.created_at);
            person.validate(today).map_err(ApiError::Invalid)?;
            save(
                store,
                user,
                cases,
                &person,
                AuditAction::Update,
                vec!["consents".into()],
                "Consentimiento registrado",
                now,
            )?;
            Ok(person)
        })
    }

    /// Withdraws a consent from `on` (not in the future, not before it was given).
    pub fn withdraw_consent(
        &self,
        person_id: PersonId,
        consent_id: ConsentId,
        on: NaiveDate,
        now: DateTime<Utc>,
    ) -> Result<Person> {
        let today = today_in_el_salvador(now);
        if on > today {
            return Err(invalid("withdrawn_on", Problem::DateInFuture { date: on }));
        }
        self.with_unlocked(|store, user, cases| {
            let mut person = store.person(person_id)?.ok_or(ApiError::NotFound)?;
            let consent = person
                .consents
                .iter_mut()
                .find(|c| c.id == consent_id)
                .ok_or(ApiError::NotFound)?;
            if consent.withdrawn_on.is_some() {
                return Ok(person);
            }
            consent.withdrawn_on = Some(on.max(consent.given_on));
            person.updated_at = now.max(person.created_at);
            person.validate(today).map_err(ApiError::Invalid)?;
            save(
                store,
                user,
                cases,
                &person,
                AuditAction::Update,
                vec!["consents".into()],
                "Consentimiento retirado",
                now,
            )?;
            Ok(person)
        })
    }
}
