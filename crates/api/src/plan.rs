//! The reintegration plan of a person (needs assessment, goals per dimension — economic,
//! social, psychosocial — with status and dates) and closing / reopening the case. Both are
//! edits of the single form: validated, audited, sent to the outbox.

use chrono::{DateTime, NaiveDate, Utc};
use reintegra_core::ids::{GoalId, PersonId};
use reintegra_core::permission::Permission;
use reintegra_core::person::{ClosureReason, Person};
use reintegra_core::plan::{Dimension, Goal, GoalStatus, ReintegrationPlan};
use serde::{Deserialize, Serialize};
use ts_rs::TS;
use uuid::Uuid;

use crate::{ApiError, Result, Session};

/// A new goal as typed.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, TS)]
pub struct GoalInput {
    pub dimension: Dimension,
    pub description: String,
    pub target_on: Option<NaiveDate>,
}

impl Session {
    /// Records the needs assessment (the plan is made when it has none yet).
    pub fn set_needs_assessment(
        &self,
        id: PersonId,
        text: &str,
        now: DateTime<Utc>,
    ) -> Result<Person> {
        self.edit_person(
            id,
            now,
            Permission::WorkPlans,
            "Plan: evaluación de necesidades",
            |p, _, today| {
                let plan = p.plan.get_or_insert_with(ReintegrationPlan::default);
                plan.needs_assessment = text.trim().to_string();
                plan.agreed_on.get_or_insert(today);
                Ok(())
            },
        )
    }

    pub fn add_goal(&self, id: PersonId, goal: &GoalInput, now: DateTime<Utc>) -> Result<Person> {
        self.edit_person(
            id,
            now,
            Permission::WorkPlans,
            "Plan: nueva meta",
            |p, _, _| {
                let mut new = Goal::new(
                    GoalId::new(Uuid::now_v7()),
                    goal.dimension,
                    goal.description.trim(),
                );
                new.target_on = goal.target_on;
                p.plan
                    .get_or_insert_with(ReintegrationPlan::default)
                    .goals
                    .push(new);
                Ok(())
            },
        )
    }

    /// Moves a goal to `status` today (dates the start or the close).
    pub fn set_goal_status(
        &self,
        id: PersonId,
        goal: GoalId,
        status: GoalStatus,
        now: DateTime<Utc>,
    ) -> Result<Person> {
        self.edit_person(
            id,
            now,
            Permission::WorkPlans,
            "Plan: estado de una meta",
            |p, _, today| {
                let goal = p
                    .plan
                    .as_mut()
                    .and_then(|plan| plan.goal_mut(goal))
                    .ok_or(ApiError::NotFound)?;
                goal.set_status(status, today);
                Ok(())
            },
        )
    }

    pub fn close_case(
        &self,
        id: PersonId,
        reason: ClosureReason,
        now: DateTime<Utc>,
    ) -> Result<Person> {
        self.edit_person(
            id,
            now,
            Permission::WorkPlans,
            "Caso cerrado",
            |p, _, today| {
                p.close(reason, today);
                Ok(())
            },
        )
    }

    pub fn reopen_case(&self, id: PersonId, now: DateTime<Utc>) -> Result<Person> {
        self.edit_person(
            id,
            now,
            Permission::WorkPlans,
            "Caso reabierto",
            |p, _, _| {
                p.reopen();
                Ok(())
            },
        )
    }
}
