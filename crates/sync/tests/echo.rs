//! Item 9 of issue 20: a device never downloads back what it just sent. Its own ops that the
//! server applied as sent (a `null` field and an absent one are the same) are left out of its
//! pulls; one the merge changed (a union of lists) comes back, since the device needs the
//! merged value. And a push cut after the server applied a batch but before the device read
//! the answer (a killed `reintegra sync`) resumes by asking which of those ops were applied,
//! instead of sending them again.
#![allow(clippy::unwrap_used)]

mod common;

use std::sync::atomic::{AtomicBool, Ordering};

use common::*;
use reintegra_core::ids::UserId;
use reintegra_proto::{PullResponse, PushResponse, ResolveRequest};
use reintegra_sync::{Exchange, Http, SyncError, Transport};

/// The first push reaches the server; its answer never reaches the device, and the run ends
/// there, as when the process is killed.
struct Killed {
    inner: Http,
    done: AtomicBool,
}

impl Transport for Killed {
    fn enroll(
        &self,
        r: &reintegra_proto::EnrollRequest,
    ) -> Result<reintegra_proto::EnrollResponse, SyncError> {
        self.inner.enroll(r)
    }
    fn push(&self, body: Vec<u8>) -> Result<Exchange<PushResponse>, SyncError> {
        let answer = self.inner.push(body)?;
        if !self.done.swap(true, Ordering::SeqCst) {
            return Err(SyncError::Refused {
                status: 499,
                code: "killed".into(),
                message: "killed".into(),
                op_ids: Vec::new(),
            });
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
fn a_cut_push_resumes_by_asking_not_by_sending_again() {
    let net = net();
    let (district, office) = office_place(1);
    let a = net.device(1, &office, &net.url());
    sync(&a).unwrap();
    let before = net.op_count();
    for i in 0..300 {
        a.store
            .save_person(&new_person(&format!("Cortada {i}"), &district))
            .unwrap();
    }
    let ids: Vec<uuid::Uuid> = a
        .store
        .outbox(1000)
        .unwrap()
        .into_iter()
        .map(|e| e.op.op_id)
        .collect();
    let killed = Killed {
        inner: transport(&a),
        done: AtomicBool::new(false),
    };
    let cut = reintegra_sync::sync(&a.store, &killed, &fast(), 1, &mut |_| {}).unwrap_err();
    assert_eq!(cut.code(), "refused");
    assert_eq!(a.store.outbox_len(), 300, "the device never heard");
    assert_eq!(net.op_count() - before, 300, "the server applied the batch");
    let report = sync(&a).unwrap();
    assert_eq!(a.store.outbox_len(), 0);
    assert_eq!(report.progress.ops_pushed, 300);
    assert_eq!(
        report.progress.batches_sent, 0,
        "nothing sent again: {report:?}"
    );
    assert!(
        report.progress.bytes_sent < 6_000,
        "asking costs a few bytes an op: {report:?}"
    );
    assert_eq!(report.progress.changes_pulled, 0);
    assert_eq!(net.op_count() - before, 300, "applied once");
    assert_eq!(local_hash(&a), net.server_hash(&a));
    // Another device asking about them learns nothing.
    let b = net.device(2, &office, &net.url());
    let body = reintegra_proto::encode(&reintegra_proto::AppliedRequest {
        v: reintegra_proto::Version::default(),
        op_ids: ids.clone(),
    });
    assert!(transport(&b)
        .applied(body)
        .unwrap()
        .message
        .applied
        .is_empty());
    let body = reintegra_proto::encode(&reintegra_proto::AppliedRequest {
        v: reintegra_proto::Version::default(),
        op_ids: ids,
    });
    assert_eq!(
        transport(&a).applied(body).unwrap().message.applied.len(),
        300
    );
}

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
