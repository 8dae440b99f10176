//! Item 6 of issue 20: a quarantined op can be retried — re-stamped, with the record as the
//! device holds it now — or discarded, after which the device takes the server's version back.
#![allow(clippy::unwrap_used)]

mod common;

use common::*;

#[test]
fn a_retried_op_is_re_stamped_and_reaches_the_server() {
    let net = net();
    let (district, office) = office_place(1);
    let a = net.device(1, &office, &net.url());
    let mut p = new_person("Reintento", &district);
    a.store.save_person(&p).unwrap();
    let refused = a.store.outbox(10).unwrap().remove(0).op;
    // As the server does with a clock far ahead: out of the outbox, with why.
    a.store
        .quarantine(refused.op_id, "clock_ahead", "el reloj está adelantado")
        .unwrap();
    assert_eq!(a.store.outbox_len(), 0);
    // A later local edit, made while the create waited in quarantine.
    p.phone = "7222-2222".into();
    a.store.save_person(&p).unwrap();
    let later = a.store.outbox(10).unwrap().remove(0).op;
    // Pushing the edit alone cannot work: the server has no such person.
    let report = sync(&a).unwrap();
    assert_eq!(report.quarantined, 1, "{report:?}");
    // The edit was refused too (no such record on the server): it goes, the create is retried
    // with it folded in. Meanwhile neither the pull nor the repair took the device's copy.
    assert_eq!(a.store.person(p.id).unwrap().unwrap().phone, "7222-2222");
    assert!(a.store.discard_quarantined(later.op_id).unwrap().is_some());
    let retried = a.store.requeue_quarantined(refused.op_id).unwrap().unwrap();
    assert_ne!(retried.op_id, refused.op_id, "a new op id");
    assert!(retried.hlc > refused.hlc, "a new clock");
    assert_eq!(retried.author, refused.author);
    assert_eq!(
        retried.change.action,
        reintegra_core::op::Action::Create {
            record: serde_json::to_value(&p).unwrap()
        },
        "the record as the device holds it now"
    );
    assert!(a.store.quarantined().unwrap().is_empty());
    sync(&a).unwrap();
    assert_eq!(a.store.outbox_len(), 0);
    assert!(a.store.quarantined().unwrap().is_empty());
    assert_eq!(local_hash(&a), net.server_hash(&a));
    let b = net.device(2, &office, &net.url());
    sync(&b).unwrap();
    assert_eq!(b.store.person(p.id).unwrap().unwrap().phone, "7222-2222");
}

#[test]
fn a_discarded_op_is_not_sent_and_the_device_takes_the_servers_version() {
    let net = net();
    let (district, office) = office_place(1);
    let a = net.device(1, &office, &net.url());
    let mut p = new_person("Descarte", &district);
    a.store.save_person(&p).unwrap();
    sync(&a).unwrap();
    p.occupation = "albañil".into();
    a.store.save_person(&p).unwrap();
    let refused = a.store.outbox(10).unwrap().remove(0).op;
    a.store
        .quarantine(refused.op_id, "forbidden", "no puede")
        .unwrap();
    let gone = a.store.discard_quarantined(refused.op_id).unwrap().unwrap();
    assert_eq!(gone.op, refused);
    assert!(a.store.quarantined().unwrap().is_empty());
    assert_eq!(a.store.outbox_len(), 0);
    let report = sync(&a).unwrap();
    assert_eq!(report.progress.ops_pushed, 0);
    assert_eq!(a.store.person(p.id).unwrap().unwrap().occupation, "");
    assert_eq!(local_hash(&a), net.server_hash(&a));
}
