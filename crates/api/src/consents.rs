//! Consent on a person's single form: recorded per purpose (registration, referral sharing,
//! follow-up contact) with the day and who recorded it, and withdrawn from a day on. Both are
//! ordinary edits of the person: validated, audited, and sent to the outbox.

use chrono::{DateTime, NaiveDate, Utc};
use reintegra_core::consent::{Consent, ConsentPurpose};
use reintegra_core::ids::{ConsentId, PersonId};
use reintegra_core::permission::Permission;
use reintegra_core::person::Person;
use reintegra_core::validation::{Problem, ValidationErrors};
use uuid::Uuid;

use crate::intake::today_in_el_salvador;
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
        self.edit_person(
            person_id,
            now,
            Permission::EditCases,
            "Consentimiento registrado",
            |p, user, _| {
                p.consents.push(Consent::new(
                    ConsentId::new(Uuid::now_v7()),
                    purpose,
                    given_on,
                    user.id,
                ));
                Ok(())
            },
        )
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
        self.edit_person(
            person_id,
            now,
            Permission::EditCases,
            "Consentimiento retirado",
            |p, _, _| {
                let consent = p
                    .consents
                    .iter_mut()
                    .find(|c| c.id == consent_id)
                    .ok_or(ApiError::NotFound)?;
                // Withdrawing twice keeps the first day.
                consent.withdrawn_on.get_or_insert(on.max(consent.given_on));
                Ok(())
            },
        )
    }
}
