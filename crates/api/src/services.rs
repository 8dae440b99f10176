//! Every referral and follow-up, in memory as the few facts the supervision screens read (the
//! indicators, "Referencias", the exports), so a report never reads the store: read on every
//! core on a thread of its own once the cases have been read (`case_loading.rs`), and kept
//! current by every save ([`Services::refresh`], from `Work::commit`). Whoever needs them
//! first waits for that read; dropping them (at lock) waits too.

use std::collections::HashMap;
use std::sync::{Arc, Mutex, OnceLock};
use std::thread::JoinHandle;

use chrono::NaiveDate;
use reintegra_core::calendar::today_in_el_salvador;
use reintegra_core::follow_up::{FollowUp, FollowUpChannel};
use reintegra_core::ids::{FollowUpId, ProviderId, ReferralId, UserId};
use reintegra_core::indicators::{FollowUpFacts, ReferralFacts};
use reintegra_core::referral::Referral;
use reintegra_store::Store;

use crate::Result;

/// What the supervision screens read of one referral.
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct ReferralSummary {
    pub id: ReferralId,
    pub provider: Option<ProviderId>,
    /// The day it entered its current status.
    pub since: Option<NaiveDate>,
    pub facts: ReferralFacts,
}

impl ReferralSummary {
    pub fn of(r: &Referral) -> ReferralSummary {
        ReferralSummary {
            id: r.id,
            provider: r.provider,
            since: r.status_since().map(today_in_el_salvador),
            facts: ReferralFacts::of(r),
        }
    }
}

/// What the supervision screens read of one follow-up.
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct FollowUpSummary {
    pub id: FollowUpId,
    pub channel: FollowUpChannel,
    pub assigned_to: Option<UserId>,
    pub facts: FollowUpFacts,
}

impl FollowUpSummary {
    pub fn of(f: &FollowUp) -> FollowUpSummary {
        FollowUpSummary {
            id: f.id,
            channel: f.channel,
            assigned_to: f.assigned_to,
            facts: FollowUpFacts::of(f),
        }
    }
}

#[derive(Default)]
pub(crate) struct ServiceIndex {
    pub referrals: HashMap<ReferralId, ReferralSummary>,
    pub follow_ups: HashMap<FollowUpId, FollowUpSummary>,
}

impl ServiceIndex {
    fn read(store: &Store) -> Result<ServiceIndex> {
        let referrals = store.map_records(|r: Referral| (r.id, ReferralSummary::of(&r)))?;
        let follow_ups = store.map_records(|f: FollowUp| (f.id, FollowUpSummary::of(&f)))?;
        Ok(ServiceIndex {
            referrals: referrals.into_iter().collect(),
            follow_ups: follow_ups.into_iter().collect(),
        })
    }
}

/// The index, or its read still running on its own thread.
#[derive(Default)]
pub(crate) struct Services {
    index: OnceLock<std::result::Result<ServiceIndex, String>>,
    reading: Mutex<Option<JoinHandle<Result<ServiceIndex>>>>,
}

impl Services {
    /// Reads every referral and follow-up of `store` on a new thread.
    pub fn in_background(store: Arc<Store>) -> Services {
        Services {
            index: OnceLock::new(),
            reading: Mutex::new(Some(std::thread::spawn(move || ServiceIndex::read(&store)))),
        }
    }

    /// The index, once read; the error that stopped the read, if one did.
    pub fn get(&self) -> Result<&ServiceIndex> {
        let read = self.index.get_or_init(|| {
            let reading = self
                .reading
                .lock()
                .unwrap_or_else(|poisoned| poisoned.into_inner())
                .take();
            match reading {
                Some(handle) => handle
                    .join()
                    .unwrap_or_else(|panic| std::panic::resume_unwind(panic))
                    .map_err(|e| e.to_string()),
                // Nothing was read: a new store, with nothing to read yet.
                None => Ok(ServiceIndex::default()),
            }
        });
        read.as_ref()
            .map_err(|e| crate::ApiError::Damaged(e.clone()))
    }

    /// Reads again the referrals and follow-ups a commit has just written.
    pub fn refresh(
        &mut self,
        store: &Store,
        referrals: &[ReferralId],
        follow_ups: &[FollowUpId],
    ) -> Result<()> {
        if referrals.is_empty() && follow_ups.is_empty() {
            return Ok(());
        }
        self.get()?;
        let Some(Ok(index)) = self.index.get_mut() else {
            return Ok(());
        };
        for id in referrals {
            match store.referral(*id)? {
                Some(r) => index.referrals.insert(*id, ReferralSummary::of(&r)),
                None => index.referrals.remove(id),
            };
        }
        for id in follow_ups {
            match store.follow_up(*id)? {
                Some(f) => index.follow_ups.insert(*id, FollowUpSummary::of(&f)),
                None => index.follow_ups.remove(id),
            };
        }
        Ok(())
    }
}

impl Drop for Services {
    fn drop(&mut self) {
        let reading = self
            .reading
            .get_mut()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
            .take();
        if let Some(handle) = reading {
            let _ = handle.join();
        }
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use chrono::{NaiveDate, TimeZone, Utc};
    use reintegra_core::ids::PersonId;
    use reintegra_core::service::ServiceType;
    use reintegra_store::Batch;
    use uuid::Uuid;

    use super::*;

    #[test]
    fn read_behind_the_screen_then_kept_current_by_each_commit() {
        let (_dir, store) = crate::test_store::new_store();
        let at = Utc.with_ymd_and_hms(2026, 3, 2, 15, 0, 0).unwrap();
        let person = PersonId::new(Uuid::now_v7());
        let by = UserId::new(Uuid::now_v7());
        let referral =
            |service| Referral::propose(ReferralId::new(Uuid::now_v7()), person, service, at, by);
        let day = NaiveDate::from_ymd_opt(2026, 3, 9).unwrap();
        let follow_up = FollowUp::new(
            FollowUpId::new(Uuid::now_v7()),
            person,
            day,
            FollowUpChannel::Phone,
        );
        let mut batch = Batch::new();
        let first = referral(ServiceType::Psychosocial);
        batch.put(&first).unwrap();
        batch.put(&follow_up).unwrap();
        store.commit(batch).unwrap();
        let store = Arc::new(store);

        let mut services = Services::in_background(store.clone());
        let index = services.get().unwrap();
        assert_eq!(index.referrals[&first.id], ReferralSummary::of(&first));
        assert_eq!(index.follow_ups[&follow_up.id].facts.due_on, day);

        // A new referral and a deleted follow-up, as a commit reports them.
        let second = referral(ServiceType::Vocational);
        store.save_referral(&second).unwrap();
        store.delete_follow_up(follow_up.id).unwrap();
        services
            .refresh(&store, &[second.id], &[follow_up.id])
            .unwrap();
        let index = services.get().unwrap();
        assert_eq!(index.referrals.len(), 2);
        assert_eq!(
            index.referrals[&second.id].facts.service_type,
            ServiceType::Vocational
        );
        assert!(index.follow_ups.is_empty());

        drop(services);
        drop(Services::in_background(store.clone()));
        assert_eq!(Arc::strong_count(&store), 1, "dropping waits for the read");
    }
}
