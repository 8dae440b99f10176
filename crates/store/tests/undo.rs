//! An import undone as one batch while none of it has left the device: every record written is
//! put back (created ones gone, changed ones as they were, their index entries too) and their
//! ops leave the outbox — and nothing is undone once an op was sent or a record changed since.
#![allow(clippy::unwrap_used)]

mod common;

use common::*;
use reintegra_store::error::{Error, UndoRefused};
use reintegra_store::Batch;
use uuid::Uuid;

#[test]
fn a_batch_is_taken_back_whole_while_it_waits_in_the_outbox() {
    let dir = tempfile::tempdir().unwrap();
    let store = create(dir.path());
    let ana = person_with(1, "Ana", "López", "", "04567890-3", "7111-2222", "SV-US-JQ");
    store.save_person(&ana).unwrap();
    let before = store.outbox_len();

    let token = Uuid::now_v7();
    let mut changed = ana.clone();
    changed.phone = "7999-0000".into();
    let rosa = person_with(
        2,
        "Rosa",
        "Pérez",
        "",
        "01234567-8",
        "7333-4444",
        "SV-US-JQ",
    );
    let mut batch = Batch::new();
    batch.put(&changed).unwrap().put(&rosa).unwrap();
    store.commit_undoable(batch, token).unwrap();
    assert_eq!(store.outbox_len(), before + 2);
    assert_eq!(
        store
            .persons_by_dui(rosa.dui.as_ref().unwrap())
            .unwrap()
            .len(),
        1
    );

    assert_eq!(store.undo(token).unwrap(), 2);
    assert_eq!(
        store.outbox_len(),
        before,
        "the batch's ops left the outbox"
    );
    assert_eq!(store.person(rosa.id).unwrap(), None, "the new form is gone");
    assert!(store
        .persons_by_dui(rosa.dui.as_ref().unwrap())
        .unwrap()
        .is_empty());
    assert_eq!(store.person(ana.id).unwrap().unwrap().phone, "7111-2222");
    assert_eq!(
        store
            .persons_by_dui(ana.dui.as_ref().unwrap())
            .unwrap()
            .len(),
        1
    );
    assert!(
        matches!(
            store.undo(token),
            Err(Error::CannotUndo(UndoRefused::NothingToUndo))
        ),
        "only once"
    );

    // After a reopen the store reads as before the batch.
    drop(store);
    let store = reopen(dir.path());
    assert_eq!(store.person(rosa.id).unwrap(), None);
    assert_eq!(store.person(ana.id).unwrap().unwrap().phone, "7111-2222");
    assert_eq!(store.outbox_len(), before);
}

#[test]
fn nothing_is_undone_once_an_op_was_sent_or_a_record_changed_since() {
    let dir = tempfile::tempdir().unwrap();
    let store = create(dir.path());

    // Sent: the server acknowledged the batch's ops.
    let sent = Uuid::now_v7();
    let mut batch = Batch::new();
    batch.put(&person(1, "Ana", "López")).unwrap();
    let saved = store.commit_undoable(batch, sent).unwrap();
    store.ack_through(saved[0].op_id.unwrap()).unwrap();
    assert!(matches!(
        store.undo(sent),
        Err(Error::CannotUndo(UndoRefused::AlreadySent))
    ));
    assert!(store.person(pid(1)).unwrap().is_some(), "nothing undone");

    // Changed since: an edit after the batch would be lost.
    let edited = Uuid::now_v7();
    let mut rosa = person(2, "Rosa", "Pérez");
    let mut batch = Batch::new();
    batch.put(&rosa).unwrap();
    store.commit_undoable(batch, edited).unwrap();
    rosa.phone = "7555-1212".into();
    store.save_person(&rosa).unwrap();
    let waiting = store.outbox_len();
    assert!(matches!(
        store.undo(edited),
        Err(Error::CannotUndo(UndoRefused::ChangedSince))
    ));
    assert_eq!(store.person(rosa.id).unwrap().unwrap().phone, "7555-1212");
    assert_eq!(store.outbox_len(), waiting, "nothing undone");
}

#[test]
fn a_sent_batch_forgets_how_to_undo_and_a_waiting_one_keeps_it() {
    let dir = tempfile::tempdir().unwrap();
    let store = create(dir.path());
    let sent = Uuid::now_v7();
    let mut batch = Batch::new();
    batch.put(&person(1, "Ana", "López")).unwrap();
    let saved = store.commit_undoable(batch, sent).unwrap();
    store.ack_through(saved[0].op_id.unwrap()).unwrap();
    let waiting = Uuid::now_v7();
    let mut batch = Batch::new();
    batch.put(&person(2, "Rosa", "Pérez")).unwrap();
    store.commit_undoable(batch, waiting).unwrap();

    assert_eq!(store.forget_sent_undos().unwrap(), 1);
    assert_eq!(store.forget_sent_undos().unwrap(), 0);
    assert_eq!(
        store.undo(waiting).unwrap(),
        1,
        "the waiting one still undoes"
    );
}
