//! The reintegration plan: a needs assessment and goals in three dimensions (economic, social,
//! psychosocial), each followed from not started to achieved or dropped.

use chrono::NaiveDate;
use serde::{Deserialize, Serialize};
use ts_rs::TS;

use crate::ids::GoalId;
use crate::validation::{Problem, ValidationErrors};

#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize, TS)]
#[serde(rename_all = "snake_case")]
pub enum Dimension {
    Economic,
    Social,
    Psychosocial,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize, TS)]
#[serde(rename_all = "snake_case")]
pub enum GoalStatus {
    NotStarted,
    InProgress,
    Achieved,
    Dropped,
}

impl GoalStatus {
    pub fn is_closed(self) -> bool {
        matches!(self, GoalStatus::Achieved | GoalStatus::Dropped)
    }
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, TS)]
pub struct Goal {
    pub id: GoalId,
    pub dimension: Dimension,
    pub description: String,
    pub status: GoalStatus,
    /// When work on the goal started.
    pub started_on: Option<NaiveDate>,
    /// When the person and caseworker hope to reach it; may be in the future.
    pub target_on: Option<NaiveDate>,
    /// When it was achieved or dropped.
    pub closed_on: Option<NaiveDate>,
}

impl Goal {
    pub fn new(id: GoalId, dimension: Dimension, description: impl Into<String>) -> Self {
        Goal {
            id,
            dimension,
            description: description.into(),
            status: GoalStatus::NotStarted,
            started_on: None,
            target_on: None,
            closed_on: None,
        }
    }

    /// Sets the status and keeps the dates in step: starting records `started_on` (once),
    /// closing records `closed_on`, reopening clears it.
    pub fn set_status(&mut self, status: GoalStatus, on: NaiveDate) {
        self.status = status;
        match status {
            GoalStatus::NotStarted => self.closed_on = None,
            GoalStatus::InProgress => {
                self.started_on.get_or_insert(on);
                self.closed_on = None;
            }
            GoalStatus::Achieved | GoalStatus::Dropped => self.closed_on = Some(on),
        }
    }

    pub fn validate(&self, today: NaiveDate) -> Result<(), ValidationErrors> {
        let mut e = ValidationErrors::new();
        e.require_text("description", &self.description);
        if let Some(s) = self.started_on {
            e.not_in_future("started_on", s, today);
        }
        if let Some(t) = self.target_on {
            if let Some(s) = self.started_on {
                e.not_before("target_on", t, "started_on", s);
            }
        }
        match (self.status.is_closed(), self.closed_on) {
            (true, None) => e.push("closed_on", Problem::Required),
            (false, Some(_)) => e.push(
                "closed_on",
                Problem::Inconsistent {
                    other_field: "status".into(),
                },
            ),
            (true, Some(c)) => {
                e.not_in_future("closed_on", c, today);
                if let Some(s) = self.started_on {
                    e.not_before("closed_on", c, "started_on", s);
                }
            }
            (false, None) => {}
        }
        e.into_result()
    }
}

#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize, TS)]
pub struct ReintegrationPlan {
    pub needs_assessment: String,
    /// The day the person agreed to the plan.
    pub agreed_on: Option<NaiveDate>,
    pub goals: Vec<Goal>,
}

/// How far a plan has come, for the case header and indicators.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize, TS)]
pub struct PlanProgress {
    pub total: u32,
    pub achieved: u32,
    pub in_progress: u32,
    pub dropped: u32,
}

impl ReintegrationPlan {
    pub fn goals_in(&self, dimension: Dimension) -> impl Iterator<Item = &Goal> {
        self.goals.iter().filter(move |g| g.dimension == dimension)
    }

    pub fn goal_mut(&mut self, id: GoalId) -> Option<&mut Goal> {
        self.goals.iter_mut().find(|g| g.id == id)
    }

    pub fn progress(&self) -> PlanProgress {
        let mut p = PlanProgress::default();
        for g in &self.goals {
            p.total += 1;
            match g.status {
                GoalStatus::Achieved => p.achieved += 1,
                GoalStatus::InProgress => p.in_progress += 1,
                GoalStatus::Dropped => p.dropped += 1,
                GoalStatus::NotStarted => {}
            }
        }
        p
    }

    pub fn validate(&self, today: NaiveDate) -> Result<(), ValidationErrors> {
        let mut e = ValidationErrors::new();
        if let Some(a) = self.agreed_on {
            e.not_in_future("agreed_on", a, today);
        }
        for (i, g) in self.goals.iter().enumerate() {
            e.merge(&format!("goals[{i}]"), g.validate(today));
            if self.goals[..i].iter().any(|o| o.id == g.id) {
                e.push(format!("goals[{i}].id"), Problem::Duplicate);
            }
        }
        e.into_result()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;
    use uuid::Uuid;

    fn date(y: i32, m: u32, d: u32) -> NaiveDate {
        NaiveDate::from_ymd_opt(y, m, d).expect("valid test date")
    }

    fn goal(n: u128, dimension: Dimension) -> Goal {
        Goal::new(
            GoalId::new(Uuid::from_u128(n)),
            dimension,
            "Abrir un taller de costura",
        )
    }

    #[test]
    fn set_status_keeps_dates_in_step() {
        let mut g = goal(1, Dimension::Economic);
        g.set_status(GoalStatus::InProgress, date(2025, 1, 10));
        g.set_status(GoalStatus::InProgress, date(2025, 2, 10));
        assert_eq!(g.started_on, Some(date(2025, 1, 10)), "start date is kept");
        g.set_status(GoalStatus::Achieved, date(2025, 5, 1));
        assert_eq!(g.closed_on, Some(date(2025, 5, 1)));
        assert_eq!(g.validate(date(2025, 5, 1)), Ok(()));
        g.set_status(GoalStatus::InProgress, date(2025, 5, 2));
        assert_eq!(g.closed_on, None);
    }

    #[test]
    fn validation_rules() {
        let today = date(2025, 6, 1);
        let mut g = goal(1, Dimension::Social);
        g.description = String::new();
        g.status = GoalStatus::Achieved;
        g.started_on = Some(date(2025, 7, 1));
        let e = g.validate(today).expect_err("invalid");
        assert!(e.has("description", "required"));
        assert!(e.has("started_on", "date_in_future"));
        assert!(e.has("closed_on", "required"));

        let mut g = goal(2, Dimension::Social);
        g.closed_on = Some(date(2025, 1, 1));
        assert!(g
            .validate(today)
            .expect_err("invalid")
            .has("closed_on", "inconsistent"));

        let mut g = goal(3, Dimension::Social);
        g.started_on = Some(date(2025, 3, 1));
        g.target_on = Some(date(2026, 1, 1));
        assert_eq!(
            g.validate(today),
            Ok(()),
            "a target date may be in the future"
        );
        g.set_status(GoalStatus::Dropped, date(2025, 2, 1));
        assert!(g
            .validate(today)
            .expect_err("invalid")
            .has("closed_on", "date_out_of_order"));
    }

    #[test]
    fn plan_reports_nested_paths_and_duplicate_ids() {
        let mut plan = ReintegrationPlan {
            needs_assessment: "Busca empleo".into(),
            agreed_on: Some(date(2025, 1, 1)),
            goals: vec![
                goal(1, Dimension::Economic),
                goal(1, Dimension::Psychosocial),
            ],
        };
        plan.goals[1].description = " ".into();
        let e = plan.validate(date(2025, 6, 1)).expect_err("invalid");
        assert!(e.has("goals[1].description", "required"));
        assert!(e.has("goals[1].id", "duplicate"));
        assert_eq!(plan.goals_in(Dimension::Psychosocial).count(), 1);
    }

    #[test]
    fn progress_counts_by_status() {
        let mut plan = ReintegrationPlan::default();
        for (n, s) in [
            GoalStatus::Achieved,
            GoalStatus::InProgress,
            GoalStatus::Dropped,
            GoalStatus::NotStarted,
        ]
        .into_iter()
        .enumerate()
        {
            let mut g = goal(n as u128, Dimension::Economic);
            g.set_status(s, date(2025, 1, 1));
            plan.goals.push(g);
        }
        assert_eq!(
            plan.progress(),
            PlanProgress {
                total: 4,
                achieved: 1,
                in_progress: 1,
                dropped: 1
            }
        );
        let id = plan.goals[3].id;
        plan.goal_mut(id)
            .expect("exists")
            .set_status(GoalStatus::Achieved, date(2025, 2, 1));
        assert_eq!(plan.progress().achieved, 2);
    }

    proptest! {
        /// Whatever statuses a caseworker clicks through, `set_status` leaves a goal that validates.
        #[test]
        fn set_status_always_leaves_a_valid_goal(steps in proptest::collection::vec((0usize..4, 0u64..30), 1..10)) {
            let all = [GoalStatus::NotStarted, GoalStatus::InProgress, GoalStatus::Achieved, GoalStatus::Dropped];
            let mut g = goal(1, Dimension::Economic);
            let mut day = date(2025, 1, 1);
            for (s, gap) in steps {
                day = day + chrono::Days::new(gap);
                g.set_status(all[s], day);
            }
            prop_assert_eq!(g.validate(day), Ok(()));
        }
    }
}
