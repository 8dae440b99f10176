//! Item 9 of issue 20: a device never downloads back what it just sent. Its own ops that the
//! server applied as sent (a `null` field and an absent one are the same) are left out of its
//! pulls; one the merge changed (a union of lists) comes back, since the device needs the
//! merged value.
#![allow(clippy::unwrap_used)]

mod common;

use common::*;

#[test]
fn a_device_pulls_none_of_its_own_registrations_back() {
    let net = net();
    let (district, office) = office_place(1);
    let a = net.device(1, &office, &net.url());
    sync(&a).unwrap();
    // Persons as the app makes them: many fields are null until the interview fills them.
    for i in 0..40 {
        let mut p = new_person(&format!("Eco {i}"), &district);
        p.skills = vec!["carpintería".into()];
        a.store.save_person(&p).unwrap();
    }
    let report = sync(&a).unwrap();
    assert_eq!(report.progress.ops_pushed, 40);
    assert_eq!(
        report.progress.changes_pulled, 0,
        "its own registrations came back: {report:?}"
    );
    // An edit, too.
    let mut p = a.store.persons().unwrap().remove(0);
    p.occupation = "panadera".into();
    p.sex = None;
    a.store.save_person(&p).unwrap();
    let report = sync(&a).unwrap();
    assert_eq!(report.progress.changes_pulled, 0, "{report:?}");
    assert_eq!(local_hash(&a), net.server_hash(&a));
}

#[test]
fn an_op_the_merge_changed_comes_back_to_its_device() {
    let net = net();
    let (district, office) = office_place(1);
    let a = net.device(1, &office, &net.url());
    let b = net.device(2, &office, &net.url());
    let p = new_person("Unión", &district);
    a.store.save_person(&p).unwrap();
    sync(&a).unwrap();
    sync(&b).unwrap();
    // Both add a skill before either syncs: the server keeps the union.
    for (d, skill) in [(&a, "costura"), (&b, "cocina")] {
        let mut mine = d.store.person(p.id).unwrap().unwrap();
        mine.skills.push(skill.into());
        d.store.save_person(&mine).unwrap();
    }
    sync(&a).unwrap();
    let report = sync(&b).unwrap();
    assert!(report.progress.changes_pulled >= 1, "{report:?}");
    sync(&a).unwrap();
    for d in [&a, &b] {
        let mut skills = d.store.person(p.id).unwrap().unwrap().skills;
        skills.sort();
        assert_eq!(skills, ["cocina", "costura"]);
        assert_eq!(local_hash(d), net.server_hash(d));
    }
}
