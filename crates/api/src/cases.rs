//! The in-memory view of every person's case, built at unlock and updated on every save: what
//! the caseload list filters and sorts, and the returning-person check searches. It holds
//! personal data, so it lives only while the session is unlocked (dropped at lock).
//!
//! At unlock ([`Cases::load`]) the persons are read and their summaries made on every core;
//! the duplicate-detection index is then built on a thread of its own while the caseload is
//! already answered, and whatever needs it (the returning-person check, the duplicate queue, a
//! save) waits for that build ([`Dedup`]).

use std::collections::HashMap;
use std::ops::{Deref, DerefMut};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Mutex, MutexGuard, OnceLock};
use std::thread::JoinHandle;

use chrono::NaiveDate;
use reintegra_core::calendar::today_in_el_salvador;
use reintegra_core::consent::Consent;
use reintegra_core::ids::{FamilyGroupId, PersonId, UserId};
use reintegra_core::indicators::PersonFacts;
use reintegra_core::person::{case_flags, BirthDate, CaseFlag, Person};
use reintegra_core::territory::Territory;
use reintegra_core::text::fold;
use reintegra_core::vulnerability::Vulnerability;
use reintegra_dedup as dedup;
use reintegra_store::Store;

use crate::services::Services;
use crate::Result;

/// One person as the caseload and the returning-person check see them.
#[derive(Debug, Clone)]
pub(crate) struct CaseSummary {
    pub id: PersonId,
    pub full_name: String,
    /// `fold`ed full name, for accent-insensitive search.
    pub folded_name: String,
    pub dui: Option<String>,
    /// The DUI's nine digits (searches type it with or without the dash).
    pub dui_digits: String,
    /// The phone on the form (the returning-person panel shows it next to a new one).
    pub phone: String,
    pub birth_date: Option<BirthDate>,
    pub destination_district: String,
    pub municipality: Option<String>,
    pub caseworker: Option<UserId>,
    pub family_group: Option<FamilyGroupId>,
    pub vulnerabilities: Vec<Vulnerability>,
    pub priority: u32,
    pub open: bool,
    pub has_plan: bool,
    pub last_return: Option<NaiveDate>,
    pub returns: u32,
    /// The day the form was made (El Salvador).
    pub created_on: NaiveDate,
    /// For the registration-consent flag.
    pub consents: Vec<Consent>,
    /// What the indicators count of this person.
    pub facts: PersonFacts,
}

impl CaseSummary {
    pub fn of(p: &Person) -> CaseSummary {
        let full_name = p.full_name();
        CaseSummary {
            id: p.id,
            folded_name: fold(&full_name),
            full_name,
            dui: p.dui.as_ref().map(|d| d.as_str().to_string()),
            dui_digits: p
                .dui
                .as_ref()
                .map(|d| d.as_str().chars().filter(char::is_ascii_digit).collect())
                .unwrap_or_default(),
            phone: p.phone.clone(),
            birth_date: p.birth_date,
            destination_district: p.destination_district.clone(),
            municipality: p.office().map(String::from),
            caseworker: p.caseworker,
            family_group: p.family_group,
            vulnerabilities: p.vulnerabilities.clone(),
            priority: p.priority_score(),
            open: p.status.is_open(),
            has_plan: p.plan.is_some(),
            last_return: p.latest_return().map(|r| r.date),
            returns: u32::try_from(p.return_events.len()).unwrap_or(u32::MAX),
            consents: p.consents.clone(),
            created_on: today_in_el_salvador(p.created_at),
            facts: PersonFacts::of(p),
        }
    }

    /// The form's own flags (core's rule, from the parts of the form kept here).
    pub fn flags(&self, today: NaiveDate) -> Vec<CaseFlag> {
        case_flags(
            self.birth_date.as_ref(),
            &self.vulnerabilities,
            self.returns as usize,
            &self.consents,
            today,
        )
    }
}

/// Every case (in a vector, so a caseload scan reads memory in order), plus the
/// duplicate-detection index over the same persons and the pairs marked "not the same person".
/// A form merged into another is not a case any more: it is left out of all three.
#[derive(Default)]
pub(crate) struct Cases {
    all: Vec<CaseSummary>,
    slot: HashMap<PersonId, usize>,
    pub dedup: Dedup,
    pub not_same: dedup::NotSamePerson,
    /// Every referral and follow-up, as the supervision screens read them.
    pub services: Services,
}

/// What [`Cases::load`] keeps of one person besides its summary, made on the thread that read it.
struct Loaded {
    /// The person's id as the duplicate index names it.
    id: String,
    not_same_as: Vec<String>,
    /// `None` for a form merged into another (it has no summary either).
    record: Option<dedup::Record>,
}

/// The caseload summaries [`Cases::load`] has made so far, in no particular order: what the
/// caseload answers from while unlock's read of every person goes on (`case_loading.rs`).
#[derive(Default)]
pub(crate) struct ReadSoFar {
    summaries: Mutex<Vec<CaseSummary>>,
    /// Set when the summaries have been taken into the [`Cases`] being assembled.
    taken: AtomicBool,
}

impl ReadSoFar {
    pub fn with_capacity(persons: usize) -> ReadSoFar {
        ReadSoFar {
            summaries: Mutex::new(Vec::with_capacity(persons)),
            taken: AtomicBool::new(false),
        }
    }

    /// The summaries made so far (the read goes on while this is held); empty once taken.
    pub fn summaries(&self) -> MutexGuard<'_, Vec<CaseSummary>> {
        self.summaries
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
    }

    /// Whether the read is over and the summaries have moved into the cases being assembled.
    pub fn taken(&self) -> bool {
        self.taken.load(Ordering::Acquire)
    }

    fn take(&self) -> Vec<CaseSummary> {
        let mut summaries = self.summaries();
        self.taken.store(true, Ordering::Release);
        std::mem::take(&mut *summaries)
    }
}

impl Cases {
    /// The plain sequential build, the reference [`Cases::load`] is tested against.
    #[cfg(test)]
    pub fn build(persons: &[Person]) -> Cases {
        let mut cases = Cases {
            all: Vec::with_capacity(persons.len()),
            slot: HashMap::with_capacity(persons.len()),
            dedup: Dedup::default(),
            not_same: dedup::NotSamePerson::new(),
            services: Services::default(),
        };
        for p in persons {
            cases.upsert(p);
        }
        cases
    }

    /// Every person's case from the store, as [`Cases::build`] of `store.persons()` makes
    /// them, but read and summarized on every core, each summary shown in `so_far` as soon as
    /// it is made, with the duplicate index built afterwards on a thread of its own (see
    /// [`Dedup`]): what unlock runs, behind the screen (`case_loading.rs`).
    pub fn load(store: &Store, so_far: &ReadSoFar) -> Result<Cases> {
        let loaded = store.map_persons(|p| {
            let record = p.merged_into.is_none().then(|| {
                so_far.summaries().push(CaseSummary::of(&p));
                dedup_record(&p)
            });
            Loaded {
                id: p.id.as_uuid().to_string(),
                not_same_as: p
                    .not_same_as
                    .iter()
                    .map(|other| other.as_uuid().to_string())
                    .collect(),
                record,
            }
        })?;
        // The store's order is the ids' order (UUIDs are its keys): sorted, the summaries line
        // up with the records, which came in the store's order.
        let mut all = so_far.take();
        all.sort_unstable_by_key(|c| c.id);
        let slot = all.iter().enumerate().map(|(i, c)| (c.id, i)).collect();
        let mut not_same = dedup::NotSamePerson::new();
        let mut records = Vec::with_capacity(all.len());
        for person in loaded {
            for other in &person.not_same_as {
                not_same.insert(&person.id, other);
            }
            records.extend(person.record);
        }
        Ok(Cases {
            all,
            slot,
            dedup: Dedup::in_background(records),
            not_same,
            // Read after the cases, by whoever reads the cases (case_loading.rs).
            services: Services::default(),
        })
    }

    pub fn iter(&self) -> impl Iterator<Item = &CaseSummary> {
        self.all.iter()
    }

    pub fn summaries(&self) -> &[CaseSummary] {
        &self.all
    }

    pub fn get(&self, id: &PersonId) -> Option<&CaseSummary> {
        self.slot.get(id).and_then(|&i| self.all.get(i))
    }

    pub fn upsert(&mut self, p: &Person) {
        let id = p.id.as_uuid().to_string();
        for other in &p.not_same_as {
            self.not_same.insert(&id, &other.as_uuid().to_string());
        }
        if p.merged_into.is_some() {
            self.remove(&p.id);
            return;
        }
        let summary = CaseSummary::of(p);
        match self.slot.get(&p.id) {
            Some(&i) => self.all[i] = summary,
            None => {
                self.slot.insert(p.id, self.all.len());
                self.all.push(summary);
            }
        }
        // A person the engine cannot read (no name yet) is simply not searchable for duplicates.
        if self.dedup.upsert(&dedup_record(p)).is_err() {
            self.dedup.remove(&id);
        }
    }

    fn remove(&mut self, id: &PersonId) {
        if let Some(i) = self.slot.remove(id) {
            self.all.swap_remove(i);
            if let Some(moved) = self.all.get(i) {
                self.slot.insert(moved.id, i);
            }
        }
        self.dedup.remove(&id.as_uuid().to_string());
    }
}

/// The duplicate-detection index, or its build still running on its own thread (started by
/// [`Cases::load`]): using it, to read or to change, first waits for that build. Dropping it
/// (at lock) waits too, so no personal data outlives the session on that thread.
#[derive(Default)]
pub(crate) struct Dedup {
    index: OnceLock<dedup::Index>,
    building: Mutex<Option<JoinHandle<dedup::Index>>>,
}

impl Dedup {
    /// Indexes `records` on a new thread, as [`Cases::upsert`] would one by one.
    fn in_background(records: Vec<dedup::Record>) -> Dedup {
        let build = move || {
            let mut index = dedup::Index::new();
            for record in &records {
                // A person the engine cannot read (no name yet) is simply not searchable.
                if index.upsert(record).is_err() {
                    index.remove(&record.id);
                }
            }
            index
        };
        Dedup {
            index: OnceLock::new(),
            building: Mutex::new(Some(std::thread::spawn(build))),
        }
    }

    /// The index, once built.
    fn get(&self) -> &dedup::Index {
        self.index.get_or_init(|| {
            let building = self
                .building
                .lock()
                .unwrap_or_else(|poisoned| poisoned.into_inner())
                .take();
            match building {
                // A panic while building is a panic of the one who needs the index.
                Some(handle) => handle
                    .join()
                    .unwrap_or_else(|panic| std::panic::resume_unwind(panic)),
                None => dedup::Index::new(),
            }
        })
    }
}

impl Deref for Dedup {
    type Target = dedup::Index;

    fn deref(&self) -> &dedup::Index {
        self.get()
    }
}

impl DerefMut for Dedup {
    fn deref_mut(&mut self) -> &mut dedup::Index {
        self.get();
        match self.index.get_mut() {
            Some(index) => index,
            None => unreachable!("get() has just set it"),
        }
    }
}

impl Drop for Dedup {
    fn drop(&mut self) {
        let building = self
            .building
            .get_mut()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
            .take();
        if let Some(handle) = building {
            let _ = handle.join();
        }
    }
}

/// The person as the duplicate-detection engine reads it.
pub(crate) fn dedup_record(p: &Person) -> dedup::Record {
    dedup::Record {
        id: p.id.as_uuid().to_string(),
        given_names: p.given_names.clone(),
        first_surname: p.first_surname.clone(),
        second_surname: p.second_surname.clone(),
        sex: match p.sex {
            Some(reintegra_core::person::Sex::Female) => "F".into(),
            Some(reintegra_core::person::Sex::Male) => "M".into(),
            None => String::new(),
        },
        birth_date: birth_date_text(p.birth_date.as_ref()),
        dui: p
            .dui
            .as_ref()
            .map(|d| d.as_str().to_string())
            .unwrap_or_default(),
        district: Territory::el_salvador()
            .place(&p.destination_district)
            .map(|pl| pl.district_name.clone())
            .unwrap_or_default(),
        phone: p.phone.clone(),
    }
}

pub(crate) fn birth_date_text(b: Option<&BirthDate>) -> String {
    match b {
        Some(BirthDate::Exact { date }) => date.format("%Y-%m-%d").to_string(),
        Some(b) => b
            .estimated_date()
            .map(|d| d.format("%Y").to_string())
            .unwrap_or_default(),
        None => String::new(),
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use chrono::{TimeZone, Utc};
    use reintegra_core::dui::Dui;
    use reintegra_store::Batch;
    use uuid::Uuid;

    use super::*;

    const SURNAMES: [&str; 6] = ["Hernández", "López", "Martínez", "Peña", "Cruz", "Ramos"];
    const GIVEN: [&str; 5] = ["María José", "José", "Ana", "Juan Carlos", "Rosa"];

    /// Enough persons for several pieces of work on every thread, some merged away, some
    /// marked "not the same person", some without a name (not searchable for duplicates).
    fn persons() -> Vec<Person> {
        let now = Utc.with_ymd_and_hms(2026, 3, 2, 15, 0, 0).unwrap();
        let districts: Vec<String> = Territory::el_salvador()
            .places()
            .map(|p| p.district_code.clone())
            .collect();
        let mut out: Vec<Person> = (0..3_000u32)
            .map(|n| {
                let (given, surname) = if n % 97 == 5 {
                    ("", "")
                } else {
                    (GIVEN[n as usize % 5], SURNAMES[n as usize % 6])
                };
                let mut p = Person::new(PersonId::new(Uuid::now_v7()), given, surname, now);
                if !surname.is_empty() {
                    p.second_surname = SURNAMES[(n as usize / 6) % 6].into();
                }
                p.dui = Dui::from_body(&format!("{:08}", n % 2_500));
                p.destination_district = districts[n as usize % districts.len()].clone();
                p
            })
            .collect();
        for n in (0..out.len()).step_by(101) {
            let into = out[n + 1].id;
            out[n].merged_into = Some(into);
            let other = out[n + 2].id;
            out[n + 3].not_same_as.push(other);
            out[n].not_same_as.push(other);
        }
        out
    }

    #[test]
    fn load_makes_what_build_makes() {
        let (_dir, store) = crate::test_store::new_store();
        for part in persons().chunks(500) {
            let mut batch = Batch::new();
            for p in part {
                batch.put(p).unwrap();
            }
            store.commit(batch).unwrap();
        }
        let built = Cases::build(&store.persons().unwrap());
        let loaded = Cases::load(&store, &ReadSoFar::default()).unwrap();

        let debug = |c: &Cases| c.iter().map(|s| format!("{s:?}")).collect::<Vec<_>>();
        assert_eq!(debug(&loaded), debug(&built));
        assert!(built.all.len() > 2_900 && built.all.len() < 3_000);
        for s in built.iter() {
            assert_eq!(loaded.get(&s.id).map(|c| c.id), Some(s.id));
        }
        assert_eq!(loaded.slot.len(), built.slot.len());
        assert_eq!(loaded.not_same.len(), built.not_same.len());
        assert!(!built.not_same.is_empty());

        assert_eq!(loaded.dedup.len(), built.dedup.len());
        assert!(
            built.dedup.len() < built.all.len(),
            "the unnamed are left out"
        );
        let opts = dedup::SearchOptions {
            top: 5,
            min_score: 0.0,
            not_same: Some(&built.not_same),
        };
        for p in store.persons().unwrap().iter().step_by(37) {
            let record = dedup_record(p);
            assert_eq!(
                format!("{:?}", loaded.dedup.search(&record, &opts)),
                format!("{:?}", built.dedup.search(&record, &opts)),
            );
        }
    }

    #[test]
    fn a_save_while_the_index_is_built_waits_for_it() {
        let records: Vec<dedup::Record> = persons().iter().map(dedup_record).collect();
        let mut cases = Cases {
            dedup: Dedup::in_background(records),
            ..Cases::default()
        };
        let mut p = persons().pop().unwrap();
        p.given_names = "Zoila Esperanza".into();
        cases.upsert(&p);
        assert!(cases.dedup.contains(&p.id.as_uuid().to_string()));
        assert!(cases.dedup.len() > 2_900);
        // Dropping (locking) right after a build started joins it.
        drop(Cases {
            dedup: Dedup::in_background(persons().iter().map(dedup_record).collect()),
            ..Cases::default()
        });
    }
}
