//! Sync against a real `reintegra-server` on port 0, with real device stores.
#![allow(clippy::unwrap_used)]

mod common;

use std::sync::atomic::{AtomicBool, Ordering};

use common::*;
use reintegra_core::ids::UserId;
use reintegra_core::user::Role;
use reintegra_proto::{
    pack_ops, Outcome, PullResponse, PushResponse, ResolveRequest, Version, BATCH_BYTES,
};
use reintegra_server::Background;
use reintegra_sync::{Exchange, Http, SyncError, Transport};

#[test]
fn a_registration_made_offline_reaches_the_server_and_the_other_device_and_replays_change_nothing()
{
    let net = net();
    let (district, office) = office_place(0);
    let a = net.device(1, &office, &net.url());
    let b = net.device(2, &office, &net.url());
    let person = new_person("Ana", &district);
    a.store.save_person(&person).unwrap();
    let pending: Vec<_> = a
        .store
        .outbox(100)
        .unwrap()
        .into_iter()
        .map(|e| e.op)
        .collect();
    assert_eq!(pending.len(), 1);

    let report = sync(&a).unwrap();
    assert_eq!(report.progress.ops_pushed, 1);
    assert_eq!(a.store.outbox_len(), 0);
    sync(&b).unwrap();
    assert_eq!(b.store.person(person.id).unwrap(), Some(person.clone()));
    assert_eq!(local_hash(&a), net.server_hash(&a));
    assert_eq!(local_hash(&b), net.server_hash(&b));

    // Replaying the same push: every op is a duplicate, nothing new is applied.
    let before = net.op_count();
    for batch in pack_ops(&pending, BATCH_BYTES) {
        let answer = transport(&a).push(batch.body).unwrap().message;
        assert!(answer
            .results
            .iter()
            .all(|r| r.outcome == Outcome::Duplicate));
    }
    assert_eq!(net.op_count(), before);
    sync(&b).unwrap();
    assert_eq!(b.store.persons().unwrap().len(), 1);
}

/// Applies each push on the server, then loses the first answer (as a cut link would).
struct LoseFirstAnswer {
    inner: Http,
    lost: AtomicBool,
}

impl Transport for LoseFirstAnswer {
    fn enroll(
        &self,
        r: &reintegra_proto::EnrollRequest,
    ) -> Result<reintegra_proto::EnrollResponse, SyncError> {
        self.inner.enroll(r)
    }
    fn push(&self, body: Vec<u8>) -> Result<Exchange<PushResponse>, SyncError> {
        let answer = self.inner.push(body)?;
        if !self.lost.swap(true, Ordering::SeqCst) {
            return Err(SyncError::Network("connection reset".into()));
        }
        Ok(answer)
    }
    fn pull(&self, after: u64, max: usize) -> Result<Exchange<PullResponse>, SyncError> {
        self.inner.pull(after, max)
    }
    fn state(&self) -> Result<reintegra_proto::StateResponse, SyncError> {
        self.inner.state()
    }
    fn buckets(&self) -> Result<reintegra_proto::BucketsResponse, SyncError> {
        self.inner.buckets()
    }
    fn records(&self, bucket: u8) -> Result<Exchange<reintegra_proto::RecordsResponse>, SyncError> {
        self.inner.records(bucket)
    }
    fn conflicts(
        &self,
        user: UserId,
        after: Option<uuid::Uuid>,
        all: bool,
    ) -> Result<reintegra_proto::ConflictsResponse, SyncError> {
        self.inner.conflicts(user, after, all)
    }
    fn resolve(
        &self,
        id: uuid::Uuid,
        r: &ResolveRequest,
    ) -> Result<reintegra_proto::ResolveResponse, SyncError> {
        self.inner.resolve(id, r)
    }
}

#[test]
fn an_answer_lost_after_the_server_applied_is_acknowledged_on_retry_without_reapplying() {
    let net = net();
    let (district, office) = office_place(0);
    let a = net.device(1, &office, &net.url());
    for name in ["Ana", "Berta", "Carla"] {
        a.store.save_person(&new_person(name, &district)).unwrap();
    }
    let lossy = LoseFirstAnswer {
        inner: transport(&a),
        lost: AtomicBool::new(false),
    };
    let before = net.op_count();
    let report = reintegra_sync::sync(&a.store, &lossy, &fast(), 1, &mut |_| {}).unwrap();
    assert_eq!(report.retries, 1);
    assert_eq!(a.store.outbox_len(), 0);
    assert_eq!(net.op_count() - before, 3, "each op applied once");
    assert_eq!(local_hash(&a), net.server_hash(&a));
}

#[test]
fn concurrent_edits_of_one_field_are_a_conflict_of_different_fields_merge_and_a_resolution_syncs() {
    let net = net();
    let (district, office) = office_place(1);
    let a = net.device(1, &office, &net.url());
    let b = net.device(2, &office, &net.url());
    let mut person = new_person("Ana", &district);
    a.store.save_person(&person).unwrap();
    sync(&a).unwrap();
    sync(&b).unwrap();

    // Both edit offline: the same field (phone) differently, and one different field each.
    person.phone = "7111-1111".into();
    person.occupation = "carpintera".into();
    a.store.save_person(&person).unwrap();
    let mut theirs = b.store.person(person.id).unwrap().unwrap();
    theirs.phone = "7222-2222".into();
    theirs.household_notes = "vive con su madre".into();
    b.store.save_person(&theirs).unwrap();

    sync(&a).unwrap();
    sync(&b).unwrap();
    sync(&a).unwrap();
    let on_a = a.store.person(person.id).unwrap().unwrap();
    let on_b = b.store.person(person.id).unwrap().unwrap();
    assert_eq!(on_a, on_b);
    assert_eq!(on_a.occupation, "carpintera");
    assert_eq!(on_a.household_notes, "vive con su madre");
    assert_eq!(local_hash(&a), net.server_hash(&a));
    assert_eq!(local_hash(&b), net.server_hash(&b));

    // Only a supervisor of the office reads the queue (it holds both sides' values).
    let supervisor = net.new_user(Role::Supervisor, Some(&office));
    let caseworker = b.store.user();
    let listed_by_caseworker = transport(&a).conflicts(caseworker, None, false);
    assert!(
        matches!(&listed_by_caseworker, Err(SyncError::Refused { status: 403, code, .. }) if code == "forbidden"),
        "{listed_by_caseworker:?}"
    );
    let conflicts = transport(&a)
        .conflicts(supervisor, None, false)
        .unwrap()
        .conflicts;
    assert_eq!(conflicts.len(), 1, "{conflicts:?}");
    let c = &conflicts[0];
    assert_eq!(
        (c.record_id, c.field.as_str()),
        (person.id.as_uuid(), "phone")
    );
    let mut values = [c.winner.clone(), c.loser.clone()];
    values.sort_by_key(|v| v.to_string());
    assert_eq!(
        values,
        ["7111-1111", "7222-2222"].map(serde_json::Value::from)
    );
    assert_eq!(c.winner, serde_json::Value::from(on_a.phone.clone()));

    // The office's supervisor resolves it; a caseworker may not, nor may anyone keep a value
    // that is neither of the two.
    let resolve = |author, value: &serde_json::Value| {
        transport(&b).resolve(
            c.id,
            &ResolveRequest {
                v: Version::default(),
                value: value.clone(),
                author,
            },
        )
    };
    let refused = resolve(caseworker, &c.loser);
    assert!(
        matches!(&refused, Err(SyncError::Refused { status: 403, code, .. }) if code == "forbidden"),
        "{refused:?}"
    );
    let refused = resolve(supervisor, &"7333-3333".into());
    assert!(
        matches!(&refused, Err(SyncError::Refused { status: 400, code, .. }) if code == "bad_resolution"),
        "{refused:?}"
    );
    // The supervisor keeps the value that lost; it reaches both devices.
    let kept = c.loser.clone();
    resolve(supervisor, &kept).unwrap();
    sync(&a).unwrap();
    sync(&b).unwrap();
    for d in [&a, &b] {
        assert_eq!(
            serde_json::Value::from(d.store.person(person.id).unwrap().unwrap().phone),
            kept
        );
        assert_eq!(local_hash(d), net.server_hash(d));
    }
    assert!(
        transport(&a)
            .conflicts(supervisor, None, false)
            .unwrap()
            .conflicts
            .is_empty(),
        "a resolved conflict is no longer listed by default"
    );
    let after = transport(&a)
        .conflicts(supervisor, None, true)
        .unwrap()
        .conflicts;
    assert_eq!(after[0].resolution, Some(kept.clone()));
    let again = resolve(supervisor, &c.winner);
    assert!(matches!(again, Err(SyncError::Refused { status: 409, .. })));
}

#[test]
fn ops_outside_the_office_are_quarantined_and_the_rest_keeps_flowing() {
    let net = net();
    let (here, office) = office_place(0);
    let (elsewhere, _) = office_place(1);
    let a = net.device(1, &office, &net.url());
    let outside = new_person("Fuera", &elsewhere);
    let inside = new_person("Dentro", &here);
    a.store.save_person(&outside).unwrap();
    a.store.save_person(&inside).unwrap();
    let before = net.op_count();
    let report = sync(&a).unwrap();
    assert_eq!(report.quarantined, 1);
    assert_eq!(a.store.outbox_len(), 0);
    let q = a.store.quarantined().unwrap();
    assert_eq!(q.len(), 1);
    assert_eq!(q[0].op.change.id, outside.id.as_uuid());
    assert_eq!(q[0].code, "out_of_scope");
    assert_eq!(net.op_count() - before, 1);
    assert_eq!(local_hash(&a), net.server_hash(&a));
}

#[test]
fn a_revoked_device_is_told_so() {
    let net = net();
    let (_, office) = office_place(0);
    let a = net.device(1, &office, &net.url());
    let id = a.store.device().to_string();
    let db = net.server.db();
    assert!(net
        .block_on(async move { db.revoke_device(&id).await })
        .unwrap());
    // A change made before the device hears of it is never sent.
    let (district, _) = office_place(0);
    a.store
        .save_person(&new_person("Revocada", &district))
        .unwrap();
    let (ops_before, pending) = (net.op_count(), a.store.outbox_len());
    let err = sync(&a).unwrap_err();
    assert_eq!(err.code(), "device_revoked");
    assert!(
        err.is_revocation(),
        "an explicit revocation: the device erases"
    );
    assert_eq!(net.op_count(), ops_before, "nothing more was pushed");
    assert_eq!(a.store.outbox_len(), pending);
}

/// A server that does not know the token (restored from an older copy, or another server at
/// the address) answers `unknown_device`: never read as a revocation.
#[test]
fn an_unknown_device_is_not_a_revocation() {
    let (net, other) = (common::net(), common::net());
    let (_, office) = office_place(0);
    let a = net.device(1, &office, &net.url());
    let mut settings = a.store.sync_settings().unwrap().unwrap();
    settings.endpoint = other.url();
    a.store.set_sync_settings(Some(&settings)).unwrap();
    let err = sync(&a).unwrap_err();
    assert_eq!(err.code(), "unknown_device");
    assert!(!err.is_revocation());
}

#[test]
fn a_pulled_page_is_applied_at_speed() {
    // Not a benchmark: checks that a big page applies in one go and the cursor moves.
    let net = net();
    let (district, office) = office_place(0);
    let a = net.device(1, &office, &net.url());
    let b = net.device(2, &office, &net.url());
    sync(&b).unwrap(); // the users
    for i in 0..300 {
        a.store
            .save_person(&new_person(&format!("P{i}"), &district))
            .unwrap();
    }
    sync(&a).unwrap();
    let report = sync(&b).unwrap();
    assert_eq!(report.progress.changes_pulled, 300);
    assert_eq!(b.store.persons().unwrap().len(), 300);
    assert_eq!(b.store.pull_cursor(), net.op_count());
    assert_eq!(local_hash(&b), net.server_hash(&b));
}

#[test]
fn tls_is_served_with_a_certificate_and_an_untrusted_one_is_reported_as_such() {
    let dir = tempfile::TempDir::new().unwrap();
    // Without a certificate, only loopback.
    let refused = Background::start(dir.path(), "0.0.0.0:0".parse().unwrap(), None);
    assert!(matches!(
        refused,
        Err(reintegra_server::StartError::PlainHttpOutsideLoopback(_))
    ));

    let cert = rcgen::generate_simple_self_signed(vec!["localhost".into()]).unwrap();
    let (cert_path, key_path) = (dir.path().join("cert.pem"), dir.path().join("key.pem"));
    std::fs::write(&cert_path, cert.cert.pem()).unwrap();
    std::fs::write(&key_path, cert.signing_key.serialize_pem()).unwrap();
    let server = Background::start(
        &dir.path().join("data"),
        "127.0.0.1:0".parse().unwrap(),
        Some(reintegra_server::Tls {
            cert: cert_path,
            key: key_path,
        }),
    )
    .unwrap();
    let url = format!("https://localhost:{}", server.local_addr().port());
    // A self-signed certificate is not trusted: the device says so and sends nothing.
    let http = Http::new(&url, None).unwrap();
    let err = http
        .enroll(&reintegra_proto::EnrollRequest {
            v: Version::default(),
            code: "X".into(),
            device_id: reintegra_core::ids::DeviceId::new(uuid::Uuid::now_v7()),
            device_name: "d".into(),
            join: false,
        })
        .unwrap_err();
    assert_eq!(err.code(), "certificate", "{err}");
    // The server does answer TLS: a client that trusts the certificate gets a real refusal.
    let ca = reqwest::Certificate::from_pem(cert.cert.pem().as_bytes()).unwrap();
    let client = reqwest::blocking::Client::builder()
        .add_root_certificate(ca)
        .build()
        .unwrap();
    let answer = client.get(format!("{url}/v1/state")).send().unwrap();
    assert_eq!(answer.status().as_u16(), 401);
}

#[test]
fn a_case_rerouted_to_an_office_reaches_it_whole_through_repair() {
    let net = net();
    let (here, office) = office_place(0);
    let (elsewhere, _) = office_place(1);
    let reception = net.device(1, "*", &net.url());
    let office_device = net.device(2, &office, &net.url());
    let mut person = new_person("Ruta", &elsewhere);
    reception.store.save_person(&person).unwrap();
    sync(&reception).unwrap();
    sync(&office_device).unwrap();
    assert_eq!(
        office_device.store.person_count(),
        0,
        "not this office's case yet"
    );

    // Reception re-routes the case to this office: only the destination changes in that op.
    person.destination_district = here;
    reception.store.save_person(&person).unwrap();
    sync(&reception).unwrap();
    let report = sync(&office_device).unwrap();
    assert_eq!(report.buckets_repaired, 1, "{report:?}");
    assert_eq!(office_device.store.person(person.id).unwrap(), Some(person));
    assert_eq!(local_hash(&office_device), net.server_hash(&office_device));
}

/// What a device's user may not do is quarantined op by op with the reason in words, and the
/// rest keeps flowing; users and roles come down to every device like any record.
#[test]
fn ops_the_author_may_not_make_are_quarantined_and_the_rest_keeps_flowing() {
    let net = net();
    let (district, office) = office_place(0);
    let desk = net.device_as(1, &office, &net.url(), Role::Reception);
    let mut arrival = new_person("Llegada", &district);
    desk.store.save_person(&arrival).unwrap();
    sync(&desk).unwrap();
    // Reception registers; it does not edit a form.
    arrival.occupation = "carpintera".into();
    desk.store.save_person(&arrival).unwrap();
    let other = new_person("Otra", &district);
    desk.store.save_person(&other).unwrap();
    let before = net.op_count();
    let report = sync(&desk).unwrap();
    assert_eq!(report.quarantined, 1, "{report:?}");
    assert_eq!(desk.store.outbox_len(), 0);
    let q = desk.store.quarantined().unwrap();
    assert_eq!(q[0].op.change.id, arrival.id.as_uuid());
    assert_eq!(q[0].code, "forbidden");
    assert!(q[0].reason.contains("recepción"), "{}", q[0].reason);
    assert_eq!(net.op_count() - before, 1, "the other registration went up");
    let users = desk.store.user_records().unwrap();
    assert!(users
        .iter()
        .any(|u| u.id == desk.store.user() && u.role == Role::Reception));
}

/// The server does not hand out a person's whole form (`/v1/forms/…` is gone): devices sync
/// records, each by what their office may see.
#[test]
fn the_whole_single_form_is_not_served() {
    let net = net();
    let (district, office) = office_place(0);
    let a = net.device(1, &office, &net.url());
    let person = new_person("Formulario", &district);
    a.store.save_person(&person).unwrap();
    sync(&a).unwrap();
    let token = a.store.sync_settings().unwrap().unwrap().device_token;
    let response = reqwest::blocking::Client::new()
        .get(format!("{}/v1/forms/{}", net.url(), person.id.as_uuid()))
        .bearer_auth(token)
        .send()
        .unwrap();
    assert_eq!(response.status().as_u16(), 404);
}

/// M4: an enrolled device cannot be pointed at a plain-HTTP server on another machine (its
/// token would travel unencrypted); its settings stay as they were and it keeps syncing.
#[test]
fn an_endpoint_over_plain_http_elsewhere_is_refused_and_the_settings_stay() {
    let net = net();
    let (_, office) = office_place(0);
    let a = net.device(1, &office, &net.url());
    let (before, device) = (a.store.sync_settings().unwrap().unwrap(), a.store.device());
    let refused = reintegra_sync::enroll(
        &a.store,
        "http://192.168.1.20:8787",
        &net.code(&office),
        "a",
    );
    assert!(
        matches!(&refused, Err(e) if e.code() == "plain_http"),
        "{refused:?}"
    );
    assert_eq!(a.store.sync_settings().unwrap().unwrap(), before);
    assert_eq!(a.store.device(), device);
    sync(&a).unwrap();
}

/// M4: another address is a new enrollment, never the old token sent somewhere new. At another
/// address of the same server the store enrolls as a new device, keeps its cursor and its
/// waiting work (now the new device's); at another server it also starts pulling from 0.
#[test]
fn another_address_is_a_new_enrollment_and_another_server_a_new_cursor() {
    let net = net();
    let (district, office) = office_place(0);
    let a = net.device(1, &office, &net.url());
    a.store
        .save_person(&new_person("Primera", &district))
        .unwrap();
    sync(&a).unwrap();
    let (old, old_device, cursor) = (
        a.store.sync_settings().unwrap().unwrap(),
        a.store.device(),
        a.store.pull_cursor(),
    );
    assert!(cursor > 0);
    let waiting = new_person("Pendiente", &district);
    a.store.save_person(&waiting).unwrap();

    // The same server by another name (localhost for 127.0.0.1).
    let other_name = net.url().replace("127.0.0.1", "localhost");
    let settings = reintegra_sync::enroll(&a.store, &other_name, &net.code(&office), "a").unwrap();
    assert_ne!(settings.device_token, old.device_token, "a new token");
    assert_eq!(settings.server_id, old.server_id);
    assert_ne!(a.store.device(), old_device, "a new device id");
    assert_eq!(
        a.store.pull_cursor(),
        cursor,
        "same server: the cursor holds"
    );
    let ops = a.store.outbox(10).unwrap();
    assert_eq!(ops.len(), 1);
    assert_eq!(
        ops[0].op.device,
        a.store.device(),
        "the waiting op is the new device's"
    );
    sync(&a).unwrap();
    assert!(
        a.store.quarantined().unwrap().is_empty(),
        "the server took it"
    );
    assert_eq!(a.store.outbox_len(), 0);
    assert_eq!(local_hash(&a), net.server_hash(&a));

    // Another server: a new cursor, and everything of the office comes from it.
    let other = common::net();
    other.add_user(
        a.store.user(),
        reintegra_core::user::Role::Caseworker,
        Some(&office),
    );
    let moved = reintegra_sync::enroll(&a.store, &other.url(), &other.code(&office), "a").unwrap();
    assert_ne!(moved.server_id, old.server_id);
    assert_eq!(
        a.store.pull_cursor(),
        0,
        "another server: pull from the start"
    );
}
