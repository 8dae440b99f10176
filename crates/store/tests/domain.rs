//! The domain API: saves, lookups, recent changes, outbox order, ack and compaction.
#![allow(clippy::unwrap_used)] // tests may unwrap

mod common;

use common::*;
use reintegra_core::follow_up::{FollowUp, FollowUpChannel};
use reintegra_core::ids::{FollowUpId, ReferralId};
use reintegra_core::op::{Action, EntityKind};
use reintegra_core::referral::{Referral, ReferralStatus, ServiceType};
use reintegra_store::{Error, Store};
use uuid::Uuid;

fn names(mut v: Vec<reintegra_core::person::Person>) -> Vec<String> {
    v.sort_by_key(|p| p.id);
    v.into_iter().map(|p| p.given_names).collect()
}

fn seed(store: &Store) {
    let dui = reintegra_core::dui::Dui::from_body("04567890").unwrap();
    store
        .save_person(&person_with(
            1,
            "Ana",
            "López",
            "Peña",
            dui.as_str(),
            "7000-0001",
            "SV-AH-atiquizaya",
        ))
        .unwrap();
}

#[test]
fn lookups_by_place_dui_name_status_and_due_date() {
    let tmp = tempfile::tempdir().unwrap();
    let store = create(&tmp.path().join("s"));
    let territory = reintegra_core::territory::Territory::el_salvador();
    let a = territory.place("SV-AH-atiquizaya").unwrap().clone();
    let b = territory.place("SV-AH-el-refugio").unwrap().clone();
    assert_eq!(a.municipality_code, b.municipality_code);
    let other = territory
        .places()
        .find(|p| p.municipality_code != a.municipality_code)
        .unwrap()
        .clone();

    seed(&store);
    let dui2 = reintegra_core::dui::Dui::from_body("01234567").unwrap();
    store
        .save_person(&person_with(
            2,
            "Beto",
            "Ruiz",
            "Ávalos",
            dui2.as_str(),
            "7000-0002",
            &b.district_code,
        ))
        .unwrap();
    let mut carla = person(3, "Carla", "Peña");
    carla.destination_district = other.district_code.clone();
    store.save_person(&carla).unwrap();

    assert_eq!(
        names(
            store
                .persons_by_destination_district(&a.district_code)
                .unwrap()
        ),
        ["Ana"]
    );
    assert_eq!(
        names(
            store
                .persons_by_destination_municipality(&a.municipality_code)
                .unwrap()
        ),
        ["Ana", "Beto"]
    );
    assert_eq!(
        names(
            store
                .persons_by_destination_municipality(&other.municipality_code)
                .unwrap()
        ),
        ["Carla"]
    );
    assert_eq!(names(store.persons_by_dui(&dui2).unwrap()), ["Beto"]);
    assert_eq!(
        names(store.persons_by_name_word("PEÑA").unwrap()),
        ["Ana", "Carla"]
    );
    assert_eq!(
        names(store.persons_by_name_word("avalos").unwrap()),
        ["Beto"]
    );
    assert!(store.persons_by_name_word("").unwrap().is_empty());

    // Moving Carla updates the indexes.
    carla.destination_district = a.district_code.clone();
    store.save_person(&carla).unwrap();
    assert_eq!(
        names(
            store
                .persons_by_destination_district(&a.district_code)
                .unwrap()
        ),
        ["Ana", "Carla"]
    );
    assert!(store
        .persons_by_destination_municipality(&other.municipality_code)
        .unwrap()
        .is_empty());

    // Referrals by status.
    let mut r1 = Referral::propose(
        ReferralId::new(Uuid::from_u128(11)),
        pid(1),
        ServiceType::Psychosocial,
        now(),
        USER,
    );
    r1.provider = Some(reintegra_core::ids::ProviderId::new(Uuid::from_u128(77)));
    let r2 = Referral::propose(
        ReferralId::new(Uuid::from_u128(12)),
        pid(2),
        ServiceType::Health,
        now(),
        USER,
    );
    store.save_referral(&r1).unwrap();
    store.save_referral(&r2).unwrap();
    assert_eq!(
        store
            .referrals_by_status(ReferralStatus::Proposed)
            .unwrap()
            .len(),
        2
    );
    r1.send(&[sharing_consent(USER)], now(), USER, None)
        .unwrap();
    store.save_referral(&r1).unwrap();
    assert_eq!(
        store.referrals_by_status(ReferralStatus::Proposed).unwrap(),
        vec![r2.clone()]
    );
    assert_eq!(
        store.referrals_by_status(ReferralStatus::Sent).unwrap(),
        vec![r1.clone()]
    );
    assert_eq!(store.referrals_of_person(pid(1)).unwrap(), vec![r1.clone()]);

    // Follow-ups by due date.
    let f = |n: u128, d: u32| {
        FollowUp::new(
            FollowUpId::new(Uuid::from_u128(100 + n)),
            pid(1),
            day(2024, 12, d),
            FollowUpChannel::Visit,
        )
    };
    let (f1, f2, mut f3) = (f(1, 10), f(2, 3), f(3, 20));
    for x in [&f1, &f2, &f3] {
        store.save_follow_up(x).unwrap();
    }
    let due: Vec<_> = store
        .follow_ups_due_between(day(2024, 12, 1), day(2024, 12, 15))
        .unwrap();
    assert_eq!(due, vec![f2.clone(), f1.clone()]);
    f3.complete(day(2024, 12, 1), "ok");
    store.save_follow_up(&f3).unwrap();
    assert_eq!(
        store.pending_follow_ups_due_by(day(2024, 12, 31)).unwrap(),
        vec![f2.clone(), f1.clone()]
    );
    assert_eq!(store.follow_ups_of_person(pid(1)).unwrap().len(), 3);
    store.delete_follow_up(f2.id).unwrap();
    assert_eq!(
        store
            .follow_ups_due_between(day(2024, 12, 1), day(2024, 12, 15))
            .unwrap(),
        vec![f1.clone()]
    );
    assert!(matches!(
        store.delete_follow_up(f2.id),
        Err(Error::NotFoundRecord { .. })
    ));

    // Recent changes: newest first, one entry per record.
    let recent = store.recent_changes(3).unwrap();
    assert_eq!(recent[0].entity, EntityKind::FollowUp);
    assert_eq!(recent[0].id, f3.id.as_uuid());
    assert_eq!(recent[1].id, f1.id.as_uuid());
    assert_eq!(store.recent(100).unwrap().len(), 3 + 2 + 2);
}

#[test]
fn outbox_in_order_ack_and_compaction_survive_restart() {
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path().join("s");
    let store = create(&dir);
    let mut p = person(1, "Ana", "López");
    let mut ops = vec![store.save_person(&p).unwrap().op_id.unwrap()];
    p.phone = "7000-0000".into();
    ops.push(store.save_person(&p).unwrap().op_id.unwrap());
    // Unchanged: no op.
    assert_eq!(store.save_person(&p).unwrap().op_id, None);
    ops.push(
        store
            .save_person(&person(2, "Beto", "Ruiz"))
            .unwrap()
            .op_id
            .unwrap(),
    );
    ops.push(store.delete_person(pid(2)).unwrap().op_id.unwrap());

    let outbox = store.outbox(10).unwrap();
    assert_eq!(outbox.iter().map(|e| e.op.op_id).collect::<Vec<_>>(), ops);
    assert!(outbox
        .windows(2)
        .all(|w| w[0].op.hlc < w[1].op.hlc && w[0].seq < w[1].seq));
    assert!(matches!(outbox[0].op.change.action, Action::Create { .. }));
    match &outbox[1].op.change.action {
        Action::Update { fields } => assert_eq!(fields.keys().collect::<Vec<_>>(), ["phone"]),
        other => panic!("{other:?}"),
    }
    assert!(matches!(outbox[3].op.change.action, Action::Delete));
    // Paging: the batch after the second op.
    let next = store.outbox_after(outbox[1].seq, 1).unwrap();
    assert_eq!(next, vec![outbox[2].clone()]);
    assert!(store.outbox_after(outbox[3].seq, 10).unwrap().is_empty());
    assert_eq!(outbox[0].op.device, DEVICE);
    assert_eq!(outbox[0].op.author, USER);
    drop(store);

    let store = reopen(&dir);
    assert_eq!(store.outbox_len(), 4);
    assert_eq!(store.ack_through(ops[1]).unwrap(), 2);
    assert!(matches!(
        store.ack_through(ops[0]),
        Err(Error::UnknownOp(_))
    ));
    // New ops keep growing after the old ones and their clocks keep increasing.
    let last_hlc = store.outbox(10).unwrap().last().unwrap().op.hlc;
    let new = store.save_person(&person(3, "Carla", "Peña")).unwrap();
    assert!(new.hlc > last_hlc);
    drop(store);
    let store = reopen(&dir);
    let left: Vec<_> = store
        .outbox(10)
        .unwrap()
        .into_iter()
        .map(|e| e.op.op_id)
        .collect();
    assert_eq!(left, vec![ops[2], ops[3], new.op_id.unwrap()]);
    assert_eq!(store.ack_through(new.op_id.unwrap()).unwrap(), 3);
    assert_eq!(store.outbox_len(), 0);
    assert_eq!(store.person(pid(1)).unwrap().unwrap().phone, "7000-0000");
    assert_eq!(store.person(pid(2)).unwrap(), None);
}

#[test]
fn stores_can_be_shared_between_threads() {
    fn assert_send_sync<T: Send + Sync>() {}
    assert_send_sync::<Store>();
    assert_send_sync::<reintegra_store::LockedStore>();
    assert_send_sync::<Error>();
}

#[test]
fn worklist_lookups_read_many_records_in_order_and_follow_state_changes() {
    use reintegra_core::ids::UserId;
    let tmp = tempfile::tempdir().unwrap();
    let store = create(&tmp.path().join("s"));
    let me = UserId::new(Uuid::from_u128(500));
    let other = UserId::new(Uuid::from_u128(501));
    // Enough follow-ups that the lookup opens them on several threads.
    let mut mine = Vec::new();
    for n in 0..700u128 {
        let mut f = FollowUp::new(
            FollowUpId::new(Uuid::from_u128(10_000 + n)),
            pid(1),
            day(2026, 11, 1) + chrono::Duration::days((n % 40) as i64),
            FollowUpChannel::Visit,
        );
        f.assigned_to = Some(if n % 7 == 0 { other } else { me });
        if f.assigned_to == Some(me) {
            mine.push(f.id);
        }
        store.save_follow_up(&f).unwrap();
    }
    let far = day(2030, 1, 1);
    let mut found: Vec<_> = store
        .pending_follow_ups_for(me, far)
        .unwrap()
        .into_iter()
        .map(|f| f.id)
        .collect();
    found.sort();
    assert_eq!(found, mine, "every pending one");
    // Only those due by a day, by due date.
    let due_by = day(2026, 11, 5);
    let early = store.pending_follow_ups_for(me, due_by).unwrap();
    assert!(early.iter().all(|f| f.due_on <= due_by));
    assert!(early.windows(2).all(|w| w[0].due_on <= w[1].due_on));
    let expected = mine
        .iter()
        .filter(|id| (id.as_uuid().as_u128() - 10_000) % 40 <= 4)
        .count();
    assert_eq!(early.len(), expected);

    // Done follow-ups leave the worklist index.
    let mut first = store.follow_up(mine[0]).unwrap().unwrap();
    first.complete(day(2026, 11, 2), "hecho");
    store.save_follow_up(&first).unwrap();
    assert_eq!(
        store.pending_follow_ups_for(me, far).unwrap().len(),
        mine.len() - 1
    );

    // Referrals by status and who took the last step.
    let mut r = Referral::propose(
        ReferralId::new(Uuid::from_u128(90)),
        pid(1),
        ServiceType::Health,
        now(),
        me,
    );
    r.provider = Some(reintegra_core::ids::ProviderId::new(Uuid::from_u128(3)));
    r.reason = "control".into();
    r.send(&[sharing_consent(me)], now(), me, None).unwrap();
    store.save_referral(&r).unwrap();
    assert_eq!(
        store
            .referrals_in_status_by(ReferralStatus::Sent, me)
            .unwrap()
            .len(),
        1
    );
    assert!(store
        .referrals_in_status_by(ReferralStatus::Sent, other)
        .unwrap()
        .is_empty());
    r.transition(ReferralStatus::Accepted, now(), other)
        .unwrap();
    store.save_referral(&r).unwrap();
    assert!(store
        .referrals_in_status_by(ReferralStatus::Sent, me)
        .unwrap()
        .is_empty());
    // Re-indexing (as after an upgrade) changes nothing for records already indexed.
    assert_eq!(store.upgrade_indexes().unwrap(), 0);
}

/// A consent to share with any provider, for sending referrals in these tests.
fn sharing_consent(by: reintegra_core::ids::UserId) -> reintegra_core::consent::Consent {
    reintegra_core::consent::Consent::new(
        reintegra_core::ids::ConsentId::new(Uuid::from_u128(0xC0)),
        reintegra_core::consent::ConsentPurpose::ReferralSharing {
            provider: None,
            service_type: None,
        },
        now().date_naive() - chrono::Duration::days(1),
        by,
    )
}
