//! Scope over time (`docs/sync.md`, "Scope"): a case re-routed from Jiquilisco to Ilopango
//! leaves the Jiquilisco laptop once the laptop's own edit of it has reached the server,
//! reaches the Ilopango laptop whole, and is never sent — neither its old ops nor new ones — to
//! a Jiquilisco laptop, including one enrolled afterwards. Real server on port 0, real stores.
#![allow(clippy::unwrap_used)] // tests may unwrap

mod common;

use std::collections::HashSet;

use chrono::{TimeZone, Utc};
use common::*;
use reintegra_core::case_note::CaseNote;
use reintegra_core::ids::CaseNoteId;
use reintegra_core::territory::Territory;
use reintegra_sync::Transport;
use uuid::Uuid;

/// A prioritized district by name, and its office.
fn place(district: &str) -> (String, String) {
    let p = Territory::el_salvador()
        .prioritized()
        .find(|p| p.district_name == district)
        .unwrap();
    (p.district_code.clone(), p.municipality_code.clone())
}

/// The ids of every record a device of this store's office is sent by a pull from the start.
fn everything_pulled(device: &Device) -> HashSet<Uuid> {
    let t = transport(device);
    let (mut after, mut ids) = (0, HashSet::new());
    loop {
        let page = t.pull(after, 1 << 20).unwrap().message;
        ids.extend(page.changes.iter().map(|c| c.op.change.id));
        if !page.more {
            return ids;
        }
        after = page.next;
    }
}

#[test]
fn a_case_moved_from_jiquilisco_to_ilopango_leaves_jiquilisco_and_reaches_ilopango_whole() {
    let net = net();
    let (jiquilisco_district, jiquilisco) = place("Jiquilisco");
    let (ilopango_district, ilopango) = place("Ilopango");
    assert_ne!(jiquilisco, ilopango);
    let j1 = net.device(1, &jiquilisco, &net.url());
    let i1 = net.device(2, &ilopango, &net.url());
    // A second Jiquilisco laptop, which hears of the move only from the server.
    let j0 = net.device(5, &jiquilisco, &net.url());

    // The case starts in Jiquilisco: a person and a note, synced.
    let mut person = new_person("Rutilia", &jiquilisco_district);
    j1.store.save_person(&person).unwrap();
    let mut note = CaseNote {
        id: CaseNoteId::new(Uuid::now_v7()),
        person: person.id,
        text: "Primera entrevista en la oficina".into(),
        author: j1.store.user(),
        at: Utc.with_ymd_and_hms(2026, 3, 2, 9, 0, 0).unwrap(),
        sensitive: false,
    };
    j1.store.save_case_note(&note).unwrap();
    sync(&j1).unwrap();
    // Ilopango has synced past the case's first ops (which it was not sent then).
    sync(&i1).unwrap();
    assert!(i1.store.person(person.id).unwrap().is_none());
    let case: HashSet<Uuid> = [person.id.as_uuid(), note.id.as_uuid()].into();
    sync(&j0).unwrap();
    assert!(j0.store.case_note(note.id).unwrap().is_some());
    assert!(
        everything_pulled(&j0).is_superset(&case),
        "Jiquilisco's case"
    );

    // On the Jiquilisco laptop, not yet synced: an edit of the note, then the re-route.
    note.text = "Se muda a Ilopango con su hermana".into();
    j1.store.save_case_note(&note).unwrap();
    person.destination_district = ilopango_district.clone();
    j1.store.save_person(&person).unwrap();
    assert!(j1.store.outbox_len() >= 2);

    sync(&j1).unwrap();
    assert!(
        j1.store.quarantined().unwrap().is_empty(),
        "the edit and the re-route were accepted"
    );
    assert_eq!(j1.store.outbox_len(), 0, "nothing unsynced left behind");
    assert!(
        j1.store.person(person.id).unwrap().is_none(),
        "the person left Jiquilisco's laptop"
    );
    assert!(
        j1.store.case_note(note.id).unwrap().is_none(),
        "and what was attached to it"
    );
    assert_eq!(local_hash(&j1), net.server_hash(&j1));

    // Ilopango gets the case whole, with Jiquilisco's last edit.
    sync(&i1).unwrap();
    let there = i1.store.person(person.id).unwrap().unwrap();
    assert_eq!(there.destination_district, ilopango_district);
    assert_eq!(
        i1.store.case_note(note.id).unwrap().unwrap().text,
        "Se muda a Ilopango con su hermana"
    );
    assert_eq!(local_hash(&i1), net.server_hash(&i1));

    // Ilopango keeps working on it: Jiquilisco is sent nothing of it, old or new.
    note.text = "Primera visita en Ilopango".into();
    note.author = i1.store.user();
    i1.store.save_case_note(&note).unwrap();
    sync(&i1).unwrap();
    assert!(i1.store.quarantined().unwrap().is_empty());
    sync(&j1).unwrap();
    assert!(j1.store.person(person.id).unwrap().is_none());
    assert!(j1.store.case_note(note.id).unwrap().is_none());
    assert!(
        everything_pulled(&j1).is_disjoint(&case),
        "no op of the case is sent to Jiquilisco any more"
    );
    // The other Jiquilisco laptop lets go of it too (the server's copy of its office no
    // longer has it), and is sent nothing of it either.
    sync(&j0).unwrap();
    assert!(j0.store.person(person.id).unwrap().is_none());
    assert!(j0.store.case_note(note.id).unwrap().is_none());
    assert!(everything_pulled(&j0).is_disjoint(&case));
    assert_eq!(local_hash(&j0), net.server_hash(&j0));

    // A laptop enrolled for Jiquilisco afterwards never receives it.
    let j2 = net.device(3, &jiquilisco, &net.url());
    assert!(everything_pulled(&j2).is_disjoint(&case));
    sync(&j2).unwrap();
    assert!(j2.store.person(person.id).unwrap().is_none());
    assert!(j2.store.case_note(note.id).unwrap().is_none());
    // A laptop enrolled for Ilopango afterwards is sent all of it.
    let i2 = net.device(4, &ilopango, &net.url());
    assert!(everything_pulled(&i2).is_superset(&case));
    sync(&i2).unwrap();
    assert_eq!(
        i2.store.case_note(note.id).unwrap().unwrap().text,
        "Primera visita en Ilopango"
    );
}

/// A case re-routed while this laptop still has an edit of it waiting stays until the edit
/// has been answered; what is attached to a person this laptop does not hold goes too.
#[test]
fn a_case_with_work_waiting_stays_until_it_has_gone_up() {
    let net = net();
    let (jiquilisco_district, jiquilisco) = place("Jiquilisco");
    let (ilopango_district, _) = place("Ilopango");
    let j1 = net.device(1, &jiquilisco, &net.url());
    let mut person = new_person("Eulalia", &jiquilisco_district);
    j1.store.save_person(&person).unwrap();
    sync(&j1).unwrap();
    person.destination_district = ilopango_district;
    j1.store.save_person(&person).unwrap();
    // Before the sync: the re-route waits in the outbox, so nothing leaves.
    assert_eq!(j1.store.drop_out_of_scope(&jiquilisco).unwrap(), 0);
    assert!(j1.store.person(person.id).unwrap().is_some());
    sync(&j1).unwrap();
    assert!(j1.store.person(person.id).unwrap().is_none());
}

/// A laptop enrolled again for another office (M7): what the old office's cases left on it goes
/// once its own work has gone up, and the new office's cases come whole.
#[test]
fn a_laptop_enrolled_again_for_another_office_keeps_only_the_new_office() {
    let net = net();
    let (jiquilisco_district, jiquilisco) = place("Jiquilisco");
    let (ilopango_district, ilopango) = place("Ilopango");
    let j1 = net.device(1, &jiquilisco, &net.url());
    let i1 = net.device(2, &ilopango, &net.url());
    let old_case = new_person("Jacinta", &jiquilisco_district);
    j1.store.save_person(&old_case).unwrap();
    sync(&j1).unwrap();
    let new_case = new_person("Ilse", &ilopango_district);
    i1.store.save_person(&new_case).unwrap();
    sync(&i1).unwrap();

    // The laptop moves to Ilopango: a new code, a new enrollment.
    reintegra_sync::enroll(&j1.store, &net.url(), &net.code(&ilopango), "d1").unwrap();
    sync(&j1).unwrap();
    assert!(
        j1.store.person(old_case.id).unwrap().is_none(),
        "Jiquilisco's case left"
    );
    assert!(
        j1.store.person(new_case.id).unwrap().is_some(),
        "Ilopango's case came"
    );
    assert_eq!(local_hash(&j1), net.server_hash(&j1));
}

/// The case is moved by another laptop (central) while a Jiquilisco laptop, offline, still
/// edits it: that edit, made before the laptop could know, is taken (not refused as another
/// office's), reaches Ilopango, and then the case leaves the Jiquilisco laptop. A change the
/// laptop makes after it has heard of the move is refused as another office's.
#[test]
fn an_edit_made_before_hearing_of_a_move_elsewhere_still_reaches_the_server() {
    use reintegra_core::user::Role;
    let net = net();
    let (jiquilisco_district, jiquilisco) = place("Jiquilisco");
    let (ilopango_district, ilopango) = place("Ilopango");
    let j1 = net.device(1, &jiquilisco, &net.url());
    let i1 = net.device(2, &ilopango, &net.url());
    let central = net.device_as(3, "*", &net.url(), Role::Caseworker);
    let mut person = new_person("Teodora", &jiquilisco_district);
    j1.store.save_person(&person).unwrap();
    let mut note = CaseNote {
        id: CaseNoteId::new(Uuid::now_v7()),
        person: person.id,
        text: "Primera entrevista".into(),
        author: j1.store.user(),
        at: Utc.with_ymd_and_hms(2026, 3, 2, 9, 0, 0).unwrap(),
        sensitive: false,
    };
    j1.store.save_case_note(&note).unwrap();
    sync(&j1).unwrap();
    sync(&central).unwrap();

    // Central re-routes the case to Ilopango; Jiquilisco, offline, edits the note meanwhile.
    let mut moved = central.store.person(person.id).unwrap().unwrap();
    moved.destination_district = ilopango_district.clone();
    central.store.save_person(&moved).unwrap();
    sync(&central).unwrap();
    assert!(central.store.quarantined().unwrap().is_empty());
    note.text = "Dice que se muda a Ilopango".into();
    j1.store.save_case_note(&note).unwrap();
    person.phone = "7999-0000".into();
    j1.store.save_person(&person).unwrap();

    sync(&j1).unwrap();
    assert!(
        j1.store.quarantined().unwrap().is_empty(),
        "taken: made before the laptop could know"
    );
    assert_eq!(j1.store.outbox_len(), 0);
    assert!(
        j1.store.person(person.id).unwrap().is_none(),
        "then it left"
    );
    assert!(j1.store.case_note(note.id).unwrap().is_none());

    sync(&i1).unwrap();
    let there = i1.store.person(person.id).unwrap().unwrap();
    assert_eq!(
        there.destination_district, ilopango_district,
        "it stayed moved"
    );
    assert_eq!(there.phone, "7999-0000");
    assert_eq!(
        i1.store.case_note(note.id).unwrap().unwrap().text,
        "Dice que se muda a Ilopango"
    );

    // Having heard of it, the laptop may not write the case any more.
    let mut late = note.clone();
    late.text = "Nota tardía".into();
    j1.store.save_case_note(&late).unwrap();
    sync(&j1).unwrap();
    let refused = j1.store.quarantined().unwrap();
    assert_eq!(refused.len(), 1, "{refused:?}");
    assert_eq!(refused[0].code, "out_of_scope");
    let _ = jiquilisco;
}
