//! "Supervisión → Indicadores": the program's indicators computed on the device from the local
//! store (offline), for the persons the user may see. The counting itself is core's
//! (`reintegra_core::indicators`); this takes the facts kept in memory (the cases' and
//! `services.rs`) and applies the office scope.

use chrono::{DateTime, Utc};
use reintegra_core::calendar::today_in_el_salvador;
use reintegra_core::indicators::{
    compute, FollowUpFacts, IndicatorFilter, Indicators, PersonFacts, ReferralFacts,
};
use reintegra_core::permission::Permission;
use reintegra_core::user::User;
use std::collections::HashSet;

use crate::access::sees_case;
use crate::cases::Cases;
use crate::{ApiError, Result, Session};
use reintegra_store::Store;

/// The filter as the user may ask it: an office's staff see only their office (asking for
/// another is `forbidden`); central staff may ask for any or all.
pub(crate) fn scoped(user: &User, filter: &IndicatorFilter) -> Result<IndicatorFilter> {
    let mut filter = filter.clone();
    if let Some(mine) = &user.office_municipality {
        match &filter.municipality {
            Some(asked) if asked != mine => return Err(ApiError::Forbidden),
            _ => filter.municipality = Some(mine.clone()),
        }
    }
    filter.period.range().ok_or(ApiError::InvalidPeriod)?;
    Ok(filter)
}

/// The records the indicators read, already reduced to what the user may see.
pub(crate) struct Facts<'c> {
    pub persons: Vec<&'c PersonFacts>,
    pub referrals: Vec<ReferralFacts>,
    pub follow_ups: Vec<FollowUpFacts>,
}

pub(crate) fn visible_facts<'c>(
    store: &Store,
    user: &User,
    cases: &'c Cases,
    now: DateTime<Utc>,
) -> Result<Facts<'c>> {
    let today = today_in_el_salvador(now);
    let mut persons = Vec::new();
    for case in cases.iter() {
        if sees_case(store, user, case, today)? {
            persons.push(&case.facts);
        }
    }
    let ids: HashSet<_> = persons.iter().map(|p| p.id).collect();
    let services = cases.services.get()?;
    let referrals = services
        .referrals
        .values()
        .filter(|r| ids.contains(&r.facts.person))
        .map(|r| r.facts.clone())
        .collect();
    let follow_ups = services
        .follow_ups
        .values()
        .filter(|f| ids.contains(&f.facts.person))
        .map(|f| f.facts.clone())
        .collect();
    Ok(Facts {
        persons,
        referrals,
        follow_ups,
    })
}

impl Session {
    /// The indicators for `filter`, over the cases the user may see (their office, or all for
    /// central staff). Which numbers count people and which count services: see
    /// `reintegra_core::indicators`.
    pub fn indicators(&self, filter: &IndicatorFilter, now: DateTime<Utc>) -> Result<Indicators> {
        self.with_permission(Permission::Reports, |store, user, cases| {
            let filter = scoped(user, filter)?;
            let facts = visible_facts(store, user, cases, now)?;
            compute(
                &filter,
                &facts.persons,
                &facts.referrals,
                &facts.follow_ups,
                today_in_el_salvador(now),
            )
            .ok_or(ApiError::InvalidPeriod)
        })
    }
}
