//! Model test: random sequences of saves, updates, deletes, lookups, outbox acks and restarts,
//! against a plain in-memory model. Both must agree after every step.
//! `PROPTEST_CASES=256 cargo test -p reintegra-store --test model` for a longer run.
#![allow(clippy::unwrap_used)] // tests may unwrap

mod common;

use std::collections::BTreeMap;

use common::*;
use proptest::prelude::*;
use reintegra_core::follow_up::{FollowUp, FollowUpChannel};
use reintegra_core::ids::FollowUpId;
use reintegra_core::op::{Action, EntityKind};
use reintegra_core::person::Person;
use reintegra_store::{Error, Store};
use uuid::Uuid;

const GIVEN: [&str; 4] = ["Ana", "José", "Peña", "Núñez"];
const DISTRICTS: [&str; 4] = [
    "SV-AH-atiquizaya",
    "SV-AH-el-refugio",
    "SV-SS-aguilares",
    "",
];
const WORDS: [&str; 6] = ["ana", "jose", "pena", "nunez", "lopez", "ruiz"];

#[derive(Clone, Debug)]
enum Step {
    SavePerson {
        slot: u8,
        name: u8,
        district: u8,
        phone: u8,
    },
    DeletePerson {
        slot: u8,
    },
    SaveFollowUp {
        slot: u8,
        person: u8,
        day: u8,
        done: bool,
    },
    DeleteFollowUp {
        slot: u8,
    },
    Ack {
        at: u8,
    },
    Restart,
}

fn step() -> impl Strategy<Value = Step> {
    prop_oneof![
        6 => (0u8..6, 0u8..4, 0u8..4, 0u8..3).prop_map(|(slot, name, district, phone)| Step::SavePerson { slot, name, district, phone }),
        2 => (0u8..6).prop_map(|slot| Step::DeletePerson { slot }),
        4 => (0u8..4, 0u8..6, 1u8..10, any::<bool>()).prop_map(|(slot, person, day, done)| Step::SaveFollowUp { slot, person, day, done }),
        1 => (0u8..4).prop_map(|slot| Step::DeleteFollowUp { slot }),
        1 => (0u8..4).prop_map(|at| Step::Ack { at }),
        2 => Just(Step::Restart),
    ]
}

#[derive(Default)]
struct Model {
    persons: BTreeMap<u8, Person>,
    follow_ups: BTreeMap<u8, FollowUp>,
    /// (op id, entity, record id, "create" | "update" | "delete")
    outbox: Vec<(Uuid, EntityKind, Uuid, &'static str)>,
    /// (entity, id), oldest change first
    recent: Vec<(EntityKind, Uuid)>,
}

impl Model {
    fn touch(&mut self, entity: EntityKind, id: Uuid, deleted: bool) {
        self.recent.retain(|r| *r != (entity, id));
        if !deleted {
            self.recent.push((entity, id));
        }
    }
}

fn fid(slot: u8) -> FollowUpId {
    FollowUpId::new(Uuid::from_u128(
        0x0190_0000_0000_7000_9000_0000_0000_0000 + u128::from(slot),
    ))
}

fn kind_of(a: &Action) -> &'static str {
    match a {
        Action::Create { .. } => "create",
        Action::Update { .. } => "update",
        Action::Delete => "delete",
    }
}

fn sorted<T: Clone, K: Ord>(v: &[T], key: impl Fn(&T) -> K) -> Vec<T> {
    let mut v = v.to_vec();
    v.sort_by_key(key);
    v
}

fn check(store: &Store, m: &Model) -> Result<(), TestCaseError> {
    let persons: Vec<Person> = m.persons.values().cloned().collect();
    prop_assert_eq!(store.persons().unwrap(), sorted(&persons, |p| p.id));
    let fus: Vec<FollowUp> = m.follow_ups.values().cloned().collect();
    prop_assert_eq!(store.follow_ups().unwrap(), sorted(&fus, |f| f.id));
    let territory = reintegra_core::territory::Territory::el_salvador();
    for d in DISTRICTS.iter().filter(|d| !d.is_empty()) {
        let want: Vec<Person> = persons
            .iter()
            .filter(|p| p.destination_district == *d)
            .cloned()
            .collect();
        prop_assert_eq!(
            sorted(&store.persons_by_destination_district(d).unwrap(), |p| p.id),
            sorted(&want, |p| p.id)
        );
        let muni = territory.place(d).unwrap().municipality_code.clone();
        let want: Vec<Person> = persons
            .iter()
            .filter(|p| {
                territory
                    .place(&p.destination_district)
                    .is_some_and(|pl| pl.municipality_code == muni)
            })
            .cloned()
            .collect();
        prop_assert_eq!(
            sorted(
                &store.persons_by_destination_municipality(&muni).unwrap(),
                |p| p.id
            ),
            sorted(&want, |p| p.id)
        );
    }
    for w in WORDS {
        let want: Vec<Person> = persons
            .iter()
            .filter(|p| {
                reintegra_core::text::fold(&p.full_name())
                    .split(' ')
                    .any(|x| x == w)
            })
            .cloned()
            .collect();
        prop_assert_eq!(
            sorted(&store.persons_by_name_word(w).unwrap(), |p| p.id),
            sorted(&want, |p| p.id)
        );
    }
    let (from, to) = (day(2025, 1, 3), day(2025, 1, 6));
    let want: Vec<FollowUp> = fus
        .iter()
        .filter(|f| f.due_on >= from && f.due_on <= to)
        .cloned()
        .collect();
    prop_assert_eq!(
        store.follow_ups_due_between(from, to).unwrap(),
        sorted(&want, |f| (f.due_on, f.id))
    );
    let outbox: Vec<_> = store
        .outbox(usize::MAX)
        .unwrap()
        .into_iter()
        .map(|e| {
            (
                e.op.op_id,
                e.op.change.entity,
                e.op.change.id,
                kind_of(&e.op.change.action),
            )
        })
        .collect();
    prop_assert_eq!(&outbox, &m.outbox);
    let recent: Vec<_> = store
        .recent_changes(usize::MAX)
        .unwrap()
        .into_iter()
        .map(|r| (r.entity, r.id))
        .collect();
    let want: Vec<_> = m.recent.iter().rev().cloned().collect();
    prop_assert_eq!(recent, want);
    Ok(())
}

fn run(steps: Vec<Step>) -> Result<(), TestCaseError> {
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path().join("s");
    let mut store = create(&dir);
    let mut m = Model::default();
    for step in steps {
        match step {
            Step::SavePerson {
                slot,
                name,
                district,
                phone,
            } => {
                let mut p = m
                    .persons
                    .get(&slot)
                    .cloned()
                    .unwrap_or_else(|| person(u128::from(slot), GIVEN[0], "López"));
                p.given_names = GIVEN[usize::from(name)].into();
                if slot % 2 == 1 {
                    p.first_surname = "Ruiz".into();
                }
                p.destination_district = DISTRICTS[usize::from(district)].into();
                p.phone = format!("7000-000{phone}");
                let old = m.persons.get(&slot).cloned();
                let saved = store.save_person(&p).unwrap();
                match (old, saved.op_id) {
                    (Some(o), None) => prop_assert_eq!(o, p.clone()),
                    (None, None) => prop_assert!(false, "a new person wrote no op"),
                    (old, Some(op)) => {
                        prop_assert!(old.as_ref() != Some(&p), "an unchanged save wrote an op");
                        let kind = if old.is_some() { "update" } else { "create" };
                        m.outbox
                            .push((op, EntityKind::Person, p.id.as_uuid(), kind));
                        m.touch(EntityKind::Person, p.id.as_uuid(), false);
                    }
                }
                m.persons.insert(slot, p);
            }
            Step::DeletePerson { slot } => {
                let id = pid(u128::from(slot));
                match (store.delete_person(id), m.persons.remove(&slot)) {
                    (Ok(saved), Some(_)) => {
                        m.outbox.push((
                            saved.op_id.unwrap(),
                            EntityKind::Person,
                            id.as_uuid(),
                            "delete",
                        ));
                        m.touch(EntityKind::Person, id.as_uuid(), true);
                    }
                    (Err(Error::NotFoundRecord { .. }), None) => {}
                    (r, _) => prop_assert!(false, "delete: {r:?}"),
                }
            }
            Step::SaveFollowUp {
                slot,
                person,
                day: d,
                done,
            } => {
                let mut f = m.follow_ups.get(&slot).cloned().unwrap_or_else(|| {
                    FollowUp::new(
                        fid(slot),
                        pid(u128::from(person)),
                        day(2025, 1, 1),
                        FollowUpChannel::Phone,
                    )
                });
                f.due_on = day(2025, 1, u32::from(d));
                f.done_on = done.then(|| day(2025, 1, 2));
                let old = m.follow_ups.get(&slot).cloned();
                let saved = store.save_follow_up(&f).unwrap();
                match saved.op_id {
                    None => prop_assert_eq!(old, Some(f.clone())),
                    Some(op) => {
                        let kind = if old.is_some() { "update" } else { "create" };
                        m.outbox
                            .push((op, EntityKind::FollowUp, f.id.as_uuid(), kind));
                        m.touch(EntityKind::FollowUp, f.id.as_uuid(), false);
                    }
                }
                m.follow_ups.insert(slot, f);
            }
            Step::DeleteFollowUp { slot } => match (
                store.delete_follow_up(fid(slot)),
                m.follow_ups.remove(&slot),
            ) {
                (Ok(saved), Some(_)) => {
                    m.outbox.push((
                        saved.op_id.unwrap(),
                        EntityKind::FollowUp,
                        fid(slot).as_uuid(),
                        "delete",
                    ));
                    m.touch(EntityKind::FollowUp, fid(slot).as_uuid(), true);
                }
                (Err(Error::NotFoundRecord { .. }), None) => {}
                (r, _) => prop_assert!(false, "delete follow-up: {r:?}"),
            },
            Step::Ack { at } => {
                if !m.outbox.is_empty() {
                    let i = usize::from(at) * (m.outbox.len() - 1) / 3;
                    let n = store.ack_through(m.outbox[i].0).unwrap();
                    prop_assert_eq!(n, i + 1);
                    m.outbox.drain(..=i);
                }
            }
            Step::Restart => {
                drop(store);
                store = reopen(&dir);
            }
        }
        check(&store, &m)?;
    }
    Ok(())
}

fn cases() -> u32 {
    std::env::var("PROPTEST_CASES")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(24)
}

proptest! {
    #![proptest_config(ProptestConfig { cases: cases(), max_shrink_iters: 200, ..ProptestConfig::default() })]

    #[test]
    fn store_agrees_with_a_model_across_restarts(steps in proptest::collection::vec(step(), 1..40)) {
        run(steps)?;
    }
}
