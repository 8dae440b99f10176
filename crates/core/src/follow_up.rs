//! Follow-ups: the contacts a caseworker has to make, and what came of them. "Today's
//! follow-ups" and "overdue" are what a caseworker opens the app for.

use chrono::NaiveDate;
use serde::{Deserialize, Serialize};
use ts_rs::TS;

use crate::ids::{FollowUpId, PersonId, ReferralId, UserId};
use crate::validation::{Problem, ValidationErrors};

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize, TS)]
#[serde(rename_all = "snake_case")]
pub enum FollowUpChannel {
    Visit,
    Phone,
    Office,
}

impl FollowUpChannel {
    /// The program reaches out (a visit, a call), which needs the person's follow-up-contact
    /// consent not to be withdrawn; at the office the person comes by themself.
    pub fn contacts_the_person(self) -> bool {
        matches!(self, FollowUpChannel::Visit | FollowUpChannel::Phone)
    }
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, TS)]
pub struct FollowUp {
    pub id: FollowUpId,
    pub person: PersonId,
    /// The referral this follow-up checks on, if any.
    pub referral: Option<ReferralId>,
    pub due_on: NaiveDate,
    pub channel: FollowUpChannel,
    pub assigned_to: Option<UserId>,
    pub done_on: Option<NaiveDate>,
    /// What came of the contact; required once done.
    pub outcome: String,
}

impl FollowUp {
    pub fn new(
        id: FollowUpId,
        person: PersonId,
        due_on: NaiveDate,
        channel: FollowUpChannel,
    ) -> Self {
        FollowUp {
            id,
            person,
            referral: None,
            due_on,
            channel,
            assigned_to: None,
            done_on: None,
            outcome: String::new(),
        }
    }

    pub fn is_done(&self) -> bool {
        self.done_on.is_some()
    }

    /// Not done and its due day has passed.
    pub fn is_overdue(&self, today: NaiveDate) -> bool {
        !self.is_done() && self.due_on < today
    }

    /// Not done and due today: the caseworker's list for the day.
    pub fn is_due_today(&self, today: NaiveDate) -> bool {
        !self.is_done() && self.due_on == today
    }

    /// Days past due (0 when not overdue).
    pub fn days_overdue(&self, today: NaiveDate) -> i64 {
        if self.is_overdue(today) {
            (today - self.due_on).num_days()
        } else {
            0
        }
    }

    /// Records that the contact was made.
    pub fn complete(&mut self, on: NaiveDate, outcome: impl Into<String>) {
        self.done_on = Some(on);
        self.outcome = outcome.into();
    }

    pub fn validate(&self, today: NaiveDate) -> Result<(), ValidationErrors> {
        let mut e = ValidationErrors::new();
        match self.done_on {
            Some(done) => {
                e.not_in_future("done_on", done, today);
                e.require_text("outcome", &self.outcome);
            }
            None if !self.outcome.trim().is_empty() => e.push(
                "outcome",
                Problem::Inconsistent {
                    other_field: "done_on".into(),
                },
            ),
            None => {}
        }
        e.into_result()
    }
}

/// Sorts follow-ups for a caseworker's day: overdue first (oldest first), then by due date.
/// Done ones go last.
pub fn sort_for_today(follow_ups: &mut [FollowUp]) {
    follow_ups.sort_by_key(|f| (f.is_done(), f.due_on));
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;
    use uuid::Uuid;

    fn date(y: i32, m: u32, d: u32) -> NaiveDate {
        NaiveDate::from_ymd_opt(y, m, d).expect("valid test date")
    }

    fn follow_up(due_on: NaiveDate) -> FollowUp {
        FollowUp::new(
            FollowUpId::new(Uuid::from_u128(1)),
            PersonId::new(Uuid::from_u128(2)),
            due_on,
            FollowUpChannel::Phone,
        )
    }

    #[test]
    fn overdue_only_after_the_due_day_and_while_not_done() {
        let mut f = follow_up(date(2025, 4, 10));
        assert!(!f.is_overdue(date(2025, 4, 10)));
        assert!(f.is_due_today(date(2025, 4, 10)));
        assert!(f.is_overdue(date(2025, 4, 11)));
        assert_eq!(f.days_overdue(date(2025, 4, 13)), 3);
        f.complete(date(2025, 4, 12), "Consiguió empleo en una maquila");
        assert!(!f.is_overdue(date(2025, 4, 13)));
        assert_eq!(f.days_overdue(date(2025, 4, 13)), 0);
        assert_eq!(f.validate(date(2025, 4, 13)), Ok(()));
    }

    #[test]
    fn validation_rules() {
        let today = date(2025, 4, 10);
        let mut f = follow_up(today);
        f.done_on = Some(date(2025, 4, 11));
        let e = f.validate(today).expect_err("invalid");
        assert!(e.has("done_on", "date_in_future"));
        assert!(e.has("outcome", "required"));
        let mut f = follow_up(today);
        f.outcome = "Habló con la madre".into();
        assert!(f
            .validate(today)
            .expect_err("invalid")
            .has("outcome", "inconsistent"));
        assert_eq!(
            follow_up(date(2030, 1, 1)).validate(today),
            Ok(()),
            "due dates may be in the future"
        );
    }

    #[test]
    fn sorted_for_the_day() {
        let mut done = follow_up(date(2025, 1, 1));
        done.complete(date(2025, 1, 1), "ok");
        let mut list = vec![
            follow_up(date(2025, 5, 1)),
            done.clone(),
            follow_up(date(2025, 3, 1)),
        ];
        sort_for_today(&mut list);
        let dues: Vec<_> = list.iter().map(|f| (f.is_done(), f.due_on)).collect();
        assert_eq!(
            dues,
            [
                (false, date(2025, 3, 1)),
                (false, date(2025, 5, 1)),
                (true, date(2025, 1, 1))
            ]
        );
    }

    #[test]
    fn json_shape() {
        let f = follow_up(date(2025, 1, 2));
        let v = serde_json::to_value(&f).expect("serialize");
        assert_eq!(v["channel"], "phone");
        assert_eq!(v["due_on"], "2025-01-02");
        assert_eq!(v["done_on"], serde_json::Value::Null);
        assert_eq!(
            serde_json::from_value::<FollowUp>(v).expect("deserialize"),
            f
        );
    }

    proptest! {
        #[test]
        fn overdue_means_open_and_past_due(due in 0u64..100, today in 0u64..100, done in proptest::option::of(0u64..100)) {
            let base = date(2025, 1, 1);
            let mut f = follow_up(base + chrono::Days::new(due));
            f.done_on = done.map(|d| base + chrono::Days::new(d));
            let today = base + chrono::Days::new(today);
            prop_assert_eq!(f.is_overdue(today), done.is_none() && f.due_on < today);
            prop_assert!(!(f.is_overdue(today) && f.is_due_today(today)));
        }
    }
}
