//! Crypto-erase (a revoked device): once erased, the data directory holds only the marker; no
//! file can be opened or decrypted with the old passphrase, and none of the people's names,
//! DUIs or phones, nor the wrapped data key of any slot, is left in any byte.
#![allow(clippy::unwrap_used)] // tests may unwrap

mod common;

use common::*;
use reintegra_store::{erased_marker, finish_erase, forget_erased, LockedStore, ERASED_MARKER};

fn contains(hay: &[u8], needle: &[u8]) -> bool {
    hay.windows(needle.len()).any(|w| w == needle)
}

/// Every `"wrapped":"<hex>"` value (a slot's wrapped data key) found in the raw files.
fn wrapped_keys_on_disk(dir: &std::path::Path) -> Vec<Vec<u8>> {
    let needle = b"\"wrapped\":\"";
    let mut out = Vec::new();
    for file in files_under(dir) {
        let bytes = std::fs::read(&file).unwrap();
        let mut at = 0;
        while let Some(i) = bytes[at..].windows(needle.len()).position(|w| w == needle) {
            let start = at + i + needle.len();
            let end = bytes[start..]
                .iter()
                .position(|b| *b == b'"')
                .map_or(bytes.len(), |e| start + e);
            out.push(bytes[start..end].to_vec());
            at = end;
        }
    }
    out.sort();
    out.dedup();
    out
}

const PEOPLE: [(&str, &str, &str, &str); 2] = [
    ("Josefina", "Hernández", "04567890-1", "7123-4567"),
    ("Maximiliano", "Quintanilla", "01234567-?", "6012-3344"),
];

fn fill(store: &reintegra_store::Store) -> Vec<Vec<u8>> {
    let mut secrets = Vec::new();
    for (n, (given, surname, dui, phone)) in PEOPLE.iter().enumerate() {
        let dui = reintegra_core::dui::Dui::from_body(&dui[..8]).unwrap();
        let p = person_with(
            n as u128,
            given,
            surname,
            "Peña",
            dui.as_str(),
            phone,
            "SV-US-usulutan-oeste",
        );
        store.save_person(&p).unwrap();
        for s in [
            given.to_string(),
            surname.to_string(),
            dui.as_str().to_string(),
            phone.to_string(),
        ] {
            secrets.push(s.into_bytes());
        }
    }
    // A second user's slot: every slot goes, not only the signed-in one.
    store
        .add_user(
            "beto",
            USER,
            "otra clave segura 2",
            reintegra_store::KdfParams::INSECURE_FAST,
        )
        .unwrap();
    secrets
}

#[test]
fn an_erased_store_leaves_only_its_marker_and_nothing_that_decrypts() {
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path().join("store");
    let store = create(&dir);
    let secrets = fill(&store);
    store.flush().unwrap();
    let wrapped = wrapped_keys_on_disk(&dir);
    assert!(
        wrapped.len() >= 2,
        "the test must see the slots it wants gone (found {})",
        wrapped.len()
    );

    let marker = br#"{"revoked_at":"2026-12-02T01:00:00Z","office":"SV-US-usulutan-oeste"}"#;
    store.erase(marker).unwrap();

    let left = files_under(&dir);
    assert_eq!(left, vec![dir.join(ERASED_MARKER)], "only the marker stays");
    assert_eq!(erased_marker(&dir).unwrap(), marker.to_vec());
    assert!(LockedStore::open(&dir).is_err(), "nothing to open");
    for file in files_under(tmp.path()) {
        let bytes = std::fs::read(&file).unwrap();
        for s in secrets.iter().chain(&wrapped) {
            assert!(
                !contains(&bytes, s),
                "{} still holds {:?}",
                file.display(),
                String::from_utf8_lossy(s)
            );
        }
    }
}

#[test]
fn destroyed_keys_open_nothing_and_a_cut_erase_is_finished_later() {
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path().join("store");
    let store = create(&dir);
    fill(&store);
    // The erase is cut after the keys went (the files are still there).
    store.destroy_keys().unwrap();
    drop(store);
    let opened = LockedStore::open(&dir).and_then(|l| l.unlock(LOGIN, PASS));
    assert!(opened.is_err(), "the old passphrase opens nothing");
    assert!(files_under(&dir).len() > 1, "files not deleted yet");

    // Without a marker nothing is deleted: finishing is only for an erase that started.
    finish_erase(&dir).unwrap();
    assert!(files_under(&dir).len() > 1);

    std::fs::write(dir.join(ERASED_MARKER), b"{}").unwrap();
    finish_erase(&dir).unwrap();
    assert_eq!(files_under(&dir), vec![dir.join(ERASED_MARKER)]);

    // Set up again from nothing: the marker goes, a new store can be made there.
    forget_erased(&dir).unwrap();
    assert!(files_under(&dir).is_empty());
    let again = create(&dir);
    assert!(again.persons().unwrap().is_empty());
}
