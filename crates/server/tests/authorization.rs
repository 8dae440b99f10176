//! "The server knows who acts": attacks through the real HTTP API on a server on port 0. Each
//! test tries something forbidden next to something allowed in the same batch, and shows the
//! forbidden op refused, nothing of it applied, and the rest of the batch applied.
#![allow(clippy::unwrap_used)]

use std::sync::atomic::{AtomicU32, Ordering};

use reintegra_core::hlc::Hlc;
use reintegra_core::ids::{DeviceId, UserId};
use reintegra_core::op::{Action, Change, EntityKind, Op};
use reintegra_core::sync_state;
use reintegra_core::territory::Territory;
use reintegra_proto::{Outcome, PushRequest, PushResponse, RecordsResponse, Version};
use reintegra_server::Background;
use reqwest::blocking::Client;
use serde_json::{json, Value};
use uuid::Uuid;

mod records;

struct Net {
    server: Background,
    url: String,
    client: Client,
    dir: tempfile::TempDir,
}

struct Dev {
    token: String,
    id: DeviceId,
}

/// What became of a push: each op's outcome, or the whole batch refused (status and body).
#[derive(Debug)]
enum Pushed {
    Each(Vec<Outcome>),
    Refused(u16, Value),
}

impl Pushed {
    /// `applied`, `duplicate`, or the code of a rejection.
    fn codes(&self) -> Vec<String> {
        match self {
            Pushed::Each(outcomes) => outcomes
                .iter()
                .map(|o| match o {
                    Outcome::Applied { .. } => "applied".to_string(),
                    Outcome::Duplicate => "duplicate".to_string(),
                    Outcome::Rejected { code, .. } => code.clone(),
                })
                .collect(),
            Pushed::Refused(status, body) => panic!("batch refused: {status} {body}"),
        }
    }

    /// The reason of the `n`th op's rejection.
    fn reason(&self, n: usize) -> String {
        match self {
            Pushed::Each(outcomes) => match &outcomes[n] {
                Outcome::Rejected { reason, .. } => reason.clone(),
                other => panic!("op {n} was not rejected: {other:?}"),
            },
            Pushed::Refused(status, body) => panic!("batch refused: {status} {body}"),
        }
    }
}

fn now_ms() -> u64 {
    u64::try_from(chrono::Utc::now().timestamp_millis()).unwrap()
}

static COUNTER: AtomicU32 = AtomicU32::new(0);

fn place(n: usize) -> (String, String) {
    let p = Territory::el_salvador().prioritized().nth(n).unwrap();
    (p.district_code.clone(), p.municipality_code.clone())
}

/// Two places of different offices: (district, office) each.
fn two_offices() -> ((String, String), (String, String)) {
    let x = place(0);
    let y = Territory::el_salvador()
        .prioritized()
        .find(|p| p.municipality_code != x.1)
        .map(|p| (p.district_code.clone(), p.municipality_code.clone()))
        .unwrap();
    (x, y)
}

fn net() -> Net {
    let dir = tempfile::TempDir::new().unwrap();
    let server = Background::start(dir.path(), "127.0.0.1:0".parse().unwrap(), None).unwrap();
    Net {
        url: server.url(),
        server,
        client: Client::new(),
        dir,
    }
}

impl Net {
    fn enroll_with(&self, code: &str, device: Uuid) -> reqwest::blocking::Response {
        self.client
            .post(format!("{}/v1/enroll", self.url))
            .body(
                json!({"v": 1, "code": code, "device_id": device, "device_name": "prueba"})
                    .to_string(),
            )
            .send()
            .unwrap()
    }

    fn enroll(&self, office: &str) -> Dev {
        let id = Uuid::now_v7();
        let code = self.server.enroll_code(office).unwrap();
        let answer: Value = self.enroll_with(&code, id).json().unwrap();
        Dev {
            token: answer["device_token"].as_str().unwrap().to_string(),
            id: DeviceId::new(id),
        }
    }

    fn push(&self, dev: &Dev, ops: &[Op]) -> Pushed {
        let body = reintegra_proto::encode(&PushRequest {
            v: Version::default(),
            ops: ops.to_vec(),
        });
        let response = self
            .client
            .post(format!("{}/v1/push", self.url))
            .bearer_auth(&dev.token)
            .body(body)
            .send()
            .unwrap();
        let status = response.status().as_u16();
        let bytes = response.bytes().unwrap();
        if status != 200 {
            return Pushed::Refused(status, serde_json::from_slice(&bytes).unwrap());
        }
        let answer: PushResponse = reintegra_proto::decode(&bytes).unwrap();
        assert_eq!(answer.results.len(), ops.len());
        Pushed::Each(answer.results.into_iter().map(|r| r.outcome).collect())
    }

    /// Pushes ops that must all apply.
    fn push_ok(&self, dev: &Dev, ops: &[Op]) {
        let pushed = self.push(dev, ops);
        assert!(pushed.codes().iter().all(|c| c == "applied"), "{pushed:?}");
    }

    fn get(&self, dev: &Dev, path: &str) -> reqwest::blocking::Response {
        self.client
            .get(format!("{}{path}", self.url))
            .bearer_auth(&dev.token)
            .send()
            .unwrap()
    }

    fn seq(&self, dev: &Dev) -> u64 {
        let state: Value = self.get(dev, "/v1/state").json().unwrap();
        state["seq"].as_u64().unwrap()
    }

    /// A record as the server holds it now, if `dev` sees it.
    fn record(&self, dev: &Dev, kind: EntityKind, id: Uuid) -> Option<Value> {
        let bucket = sync_state::bucket_of(id);
        let bytes = self
            .get(dev, &format!("/v1/records?bucket={bucket}"))
            .bytes()
            .unwrap();
        let answer: RecordsResponse = reintegra_proto::decode(&bytes).unwrap();
        answer
            .records
            .into_iter()
            .find(|r| r.entity == kind && r.id == id)
            .map(|r| r.record)
    }

    /// The conflict queue of `dev`'s office, as `reader` (a supervisor there) reads it.
    fn conflicts(&self, dev: &Dev, reader: Uuid) -> Vec<Value> {
        let response = self.get(dev, &format!("/v1/conflicts?user={reader}"));
        assert_eq!(response.status().as_u16(), 200);
        let answer: Value = response.json().unwrap();
        answer["conflicts"].as_array().unwrap().clone()
    }

    fn resolve(&self, dev: &Dev, conflict: &Value, value: Value, author: Uuid) -> (u16, Value) {
        let response = self
            .client
            .post(format!(
                "{}/v1/conflicts/{}/resolve",
                self.url,
                conflict["id"].as_str().unwrap()
            ))
            .bearer_auth(&dev.token)
            .body(json!({"v": 1, "value": value, "author": author}).to_string())
            .send()
            .unwrap();
        (response.status().as_u16(), response.json().unwrap())
    }

    /// Bootstraps the first admin (central) from `dev`: its own user record, authored by itself.
    fn first_admin(&self, dev: &Dev) -> Uuid {
        let id = Uuid::now_v7();
        self.push_ok(
            dev,
            &[create(
                dev,
                id,
                EntityKind::User,
                id,
                user(id, "admin", None, true),
            )],
        );
        id
    }

    /// A user created by `admin` (from `dev`).
    fn add_user(&self, dev: &Dev, admin: Uuid, role: &str, office: Option<&str>) -> Uuid {
        let id = Uuid::now_v7();
        self.push_ok(
            dev,
            &[create(
                dev,
                admin,
                EntityKind::User,
                id,
                user(id, role, office, true),
            )],
        );
        id
    }
}

fn user(id: Uuid, role: &str, office: Option<&str>, active: bool) -> Value {
    json!({"id": id, "name": format!("Usuario {role}"), "role": role,
           "office_municipality": office, "active": active})
}

fn person(district: &str) -> Value {
    json!({"given_names": "Rosa", "first_surname": "Pérez", "destination_district": district,
           "phone": "7000-0000"})
}

fn op(dev: &Dev, author: Uuid, entity: EntityKind, id: Uuid, action: Action) -> Op {
    op_at(dev, author, entity, id, action, now_ms(), 0)
}

fn op_at(
    dev: &Dev,
    author: Uuid,
    entity: EntityKind,
    id: Uuid,
    action: Action,
    wall_ms: u64,
    base_seq: u64,
) -> Op {
    Op {
        op_id: Uuid::now_v7(),
        author: UserId::new(author),
        device: dev.id,
        hlc: Hlc {
            wall_ms,
            counter: COUNTER.fetch_add(1, Ordering::SeqCst),
            node: dev.id.as_uuid().as_u64_pair().1,
        },
        base_seq,
        change: Change {
            entity,
            id,
            action: match action {
                Action::Create { record } => Action::Create {
                    record: records::full(&kind_name(entity), id, &record),
                },
                other => other,
            },
        },
    }
}

fn kind_name(entity: EntityKind) -> String {
    serde_json::to_value(entity)
        .unwrap()
        .as_str()
        .unwrap()
        .to_string()
}

fn create(dev: &Dev, author: Uuid, entity: EntityKind, id: Uuid, record: Value) -> Op {
    op(dev, author, entity, id, Action::Create { record })
}

fn update(dev: &Dev, author: Uuid, entity: EntityKind, id: Uuid, fields: Value) -> Op {
    let fields = fields.as_object().unwrap().clone();
    op(dev, author, entity, id, Action::Update { fields })
}

fn delete(dev: &Dev, author: Uuid, entity: EntityKind, id: Uuid) -> Op {
    op(dev, author, entity, id, Action::Delete)
}

/// H1: an author the server does not know is refused, op by op; the rest of the batch applies.
#[test]
fn h1_an_unknown_author_is_refused_per_op_and_the_rest_of_the_batch_applies() {
    let net = net();
    let ((district, office), _) = two_offices();
    let hq = net.enroll("*");
    let admin = net.first_admin(&hq);
    let caseworker = net.add_user(&hq, admin, "caseworker", Some(&office));
    let dev = net.enroll(&office);
    let before = net.seq(&dev);

    let (ok1, forged, ok2) = (Uuid::now_v7(), Uuid::now_v7(), Uuid::now_v7());
    let stranger = Uuid::now_v7();
    let pushed = net.push(
        &dev,
        &[
            create(&dev, caseworker, EntityKind::Person, ok1, person(&district)),
            create(
                &dev,
                stranger,
                EntityKind::Person,
                forged,
                person(&district),
            ),
            create(&dev, caseworker, EntityKind::Person, ok2, person(&district)),
        ],
    );
    assert_eq!(pushed.codes(), ["applied", "forbidden", "applied"]);
    assert!(
        pushed.reason(1).contains("no es un usuario conocido"),
        "{}",
        pushed.reason(1)
    );
    assert_eq!(
        net.seq(&dev),
        before + 2,
        "the refused op got no sequence number"
    );
    assert!(net.record(&dev, EntityKind::Person, forged).is_none());
    assert!(net.record(&dev, EntityKind::Person, ok1).is_some());
    assert!(net.record(&dev, EntityKind::Person, ok2).is_some());
}

/// H1: a known author is refused when inactive, of another office than the device, or when
/// the role may not make the change (core's table); reception registers and adds returns only.
#[test]
fn h1_the_author_must_be_active_of_the_devices_office_and_have_the_permission() {
    let net = net();
    let ((district, office), (_, other_office)) = two_offices();
    let hq = net.enroll("*");
    let admin = net.first_admin(&hq);
    let reception = net.add_user(&hq, admin, "reception", Some(&office));
    let caseworker = net.add_user(&hq, admin, "caseworker", Some(&office));
    let elsewhere = net.add_user(&hq, admin, "caseworker", Some(&other_office));
    let leaver = net.add_user(&hq, admin, "caseworker", Some(&office));
    net.push_ok(
        &hq,
        &[update(
            &hq,
            admin,
            EntityKind::User,
            leaver,
            json!({"active": false}),
        )],
    );
    let dev = net.enroll(&office);

    let registered = Uuid::now_v7();
    let cases: [(Op, &str); 10] = [
        // Reception registers an arrival, and a return of someone already registered.
        (
            create(
                &dev,
                reception,
                EntityKind::Person,
                registered,
                person(&district),
            ),
            "applied",
        ),
        (
            update(
                &dev,
                reception,
                EntityKind::Person,
                registered,
                json!({"return_events": [records::return_event(Uuid::now_v7())], "updated_at": "2026-12-01T10:00:00Z"}),
            ),
            "applied",
        ),
        // ...but does not edit the form, does not "create" it again over the server's copy,
        // and does not refer.
        (
            update(
                &dev,
                reception,
                EntityKind::Person,
                registered,
                json!({"phone": "7999-9999"}),
            ),
            "forbidden",
        ),
        (
            create(
                &dev,
                reception,
                EntityKind::Person,
                registered,
                json!({"phone": "7999-9999", "destination_district": district}),
            ),
            "forbidden",
        ),
        (
            create(
                &dev,
                reception,
                EntityKind::Referral,
                Uuid::now_v7(),
                json!({"person": registered, "service_type": "psychosocial"}),
            ),
            "forbidden",
        ),
        // An admin sees no case content.
        (
            create(
                &dev,
                admin,
                EntityKind::Person,
                Uuid::now_v7(),
                person(&district),
            ),
            "forbidden",
        ),
        // A caseworker of another office, from this office's device.
        (
            update(
                &dev,
                elsewhere,
                EntityKind::Person,
                registered,
                json!({"phone": "7888-8888"}),
            ),
            "forbidden",
        ),
        // A deactivated user.
        (
            update(
                &dev,
                leaver,
                EntityKind::Person,
                registered,
                json!({"phone": "7777-7777"}),
            ),
            "forbidden",
        ),
        // The caseworker of the office edits the form; everyone writes their audit trail.
        (
            update(
                &dev,
                caseworker,
                EntityKind::Person,
                registered,
                json!({"occupation": "carpintera"}),
            ),
            "applied",
        ),
        (
            create(
                &dev,
                reception,
                EntityKind::Audit,
                Uuid::now_v7(),
                json!({"summary": "Nuevo ingreso", "user": reception}),
            ),
            "applied",
        ),
    ];
    let (ops, expected): (Vec<Op>, Vec<&str>) = cases.into_iter().unzip();
    let before = net.seq(&dev);
    let pushed = net.push(&dev, &ops);
    assert_eq!(pushed.codes(), expected);
    assert!(
        pushed.reason(2).contains("recepción"),
        "{}",
        pushed.reason(2)
    );
    assert!(
        pushed.reason(5).contains("administración"),
        "{}",
        pushed.reason(5)
    );
    assert!(pushed.reason(6).contains("oficina"), "{}", pushed.reason(6));
    assert!(
        pushed.reason(7).contains("desactivado"),
        "{}",
        pushed.reason(7)
    );
    assert_eq!(net.seq(&dev), before + 4);
    let form = net.record(&dev, EntityKind::Person, registered).unwrap();
    assert_eq!(
        form["phone"], "7000-0000",
        "no forbidden edit reached the form"
    );
    assert_eq!(form["occupation"], "carpintera");
    assert_eq!(form["return_events"].as_array().map(Vec::len), Some(1));
}

/// The bootstrap rule: a user record created by that same unknown user is accepted only for an
/// active admin that may act from the device, while no active admin manages that office.
#[test]
fn bootstrap_a_first_admin_creates_itself_only_while_its_office_has_none() {
    let net = net();
    let ((_, office), (_, other_office)) = two_offices();
    let at_office = net.enroll(&office);
    let hq = net.enroll("*");
    let selfmade = |dev: &Dev, role: &str, office: Option<&str>| {
        let id = Uuid::now_v7();
        create(dev, id, EntityKind::User, id, user(id, role, office, true))
    };
    let not_own = {
        let (id, other) = (Uuid::now_v7(), Uuid::now_v7());
        create(
            &hq,
            id,
            EntityKind::User,
            other,
            user(other, "admin", None, true),
        )
    };
    let pushed = net.push(
        &hq,
        &[
            // Not an admin; not its own record; an inactive admin.
            selfmade(&hq, "caseworker", None),
            not_own,
            {
                let id = Uuid::now_v7();
                create(
                    &hq,
                    id,
                    EntityKind::User,
                    id,
                    user(id, "admin", None, false),
                )
            },
        ],
    );
    assert_eq!(pushed.codes(), ["forbidden", "forbidden", "forbidden"]);
    // An admin of another office than the device's, from that device: no.
    let pushed = net.push(
        &at_office,
        &[selfmade(&at_office, "admin", Some(&other_office))],
    );
    assert_eq!(pushed.codes(), ["forbidden"]);

    // The office's first admin, then a second one: only the first.
    let pushed = net.push(
        &at_office,
        &[
            selfmade(&at_office, "admin", Some(&office)),
            selfmade(&at_office, "admin", Some(&office)),
        ],
    );
    assert_eq!(pushed.codes(), ["applied", "forbidden"]);
    // No central admin yet: the first central one; after it, no office bootstraps anymore.
    let pushed = net.push(
        &hq,
        &[
            selfmade(&hq, "admin", None),
            selfmade(&hq, "admin", None),
            selfmade(&hq, "admin", Some(&other_office)),
        ],
    );
    assert_eq!(pushed.codes(), ["applied", "forbidden", "forbidden"]);
}

/// C1: users and providers drive authorization and referral slips on every device: only a
/// user who may manage users (providers: edit the directory) writes them, an office admin only
/// within its office, and nobody deletes them.
#[test]
fn c1_users_and_providers_are_written_only_by_who_may_and_never_deleted() {
    let net = net();
    let ((_, office), (_, other_office)) = two_offices();
    let hq = net.enroll("*");
    let admin = net.first_admin(&hq);
    let caseworker = net.add_user(&hq, admin, "caseworker", Some(&office));
    let supervisor = net.add_user(&hq, admin, "supervisor", Some(&office));
    let office_admin = net.add_user(&hq, admin, "admin", Some(&office));
    let dev = net.enroll(&office);
    let provider = Uuid::now_v7();
    net.push_ok(
        &dev,
        &[create(
            &dev,
            supervisor,
            EntityKind::Provider,
            provider,
            json!({"id": provider, "name": "INSAFORP", "contact": {"phone": "2222-2222"}}),
        )],
    );

    let newcomer = Uuid::now_v7();
    let colleague = Uuid::now_v7();
    let cases: [(Op, &str); 11] = [
        // A caseworker promotes itself, makes a user, rewrites a provider's contact.
        (
            update(
                &dev,
                caseworker,
                EntityKind::User,
                caseworker,
                json!({"role": "supervisor"}),
            ),
            "forbidden",
        ),
        (
            create(
                &dev,
                caseworker,
                EntityKind::User,
                newcomer,
                user(newcomer, "admin", None, true),
            ),
            "forbidden",
        ),
        (
            update(
                &dev,
                caseworker,
                EntityKind::Provider,
                provider,
                json!({"contact": {"phone": "6666-6666"}}),
            ),
            "forbidden",
        ),
        // A supervisor edits the directory but manages no users.
        (
            update(
                &dev,
                supervisor,
                EntityKind::User,
                caseworker,
                json!({"active": false}),
            ),
            "forbidden",
        ),
        (
            update(
                &dev,
                supervisor,
                EntityKind::Provider,
                provider,
                json!({"name": "INSAFORP Usulután"}),
            ),
            "applied",
        ),
        // Nobody deletes a user or a provider (a tombstone is forever, on every device).
        (
            delete(&dev, supervisor, EntityKind::Provider, provider),
            "forbidden",
        ),
        (
            delete(&dev, office_admin, EntityKind::User, caseworker),
            "forbidden",
        ),
        // An office admin manages its office's users, not central ones, nor moves one out.
        (
            create(
                &dev,
                office_admin,
                EntityKind::User,
                newcomer,
                user(newcomer, "admin", None, true),
            ),
            "forbidden",
        ),
        (
            update(
                &dev,
                office_admin,
                EntityKind::User,
                caseworker,
                json!({"office_municipality": other_office}),
            ),
            "forbidden",
        ),
        (
            create(
                &dev,
                office_admin,
                EntityKind::User,
                colleague,
                user(colleague, "reception", Some(&office), true),
            ),
            "applied",
        ),
        (
            update(
                &dev,
                office_admin,
                EntityKind::User,
                caseworker,
                json!({"name": "Ana M."}),
            ),
            "applied",
        ),
    ];
    let (ops, expected): (Vec<Op>, Vec<&str>) = cases.into_iter().unzip();
    let before = net.seq(&dev);
    let pushed = net.push(&dev, &ops);
    assert_eq!(pushed.codes(), expected);
    assert!(
        pushed.reason(6).contains("desactívelos"),
        "{}",
        pushed.reason(6)
    );
    assert_eq!(net.seq(&dev), before + 3);
    let cw = net.record(&dev, EntityKind::User, caseworker).unwrap();
    assert_eq!(
        (
            &cw["role"],
            &cw["active"],
            &cw["office_municipality"],
            &cw["name"]
        ),
        (
            &json!("caseworker"),
            &json!(true),
            &json!(office),
            &json!("Ana M.")
        )
    );
    assert!(net.record(&dev, EntityKind::User, newcomer).is_none());
    let p = net.record(&dev, EntityKind::Provider, provider).unwrap();
    assert_eq!(p["contact"]["phone"], "2222-2222");
    assert_eq!(p["name"], "INSAFORP Usulután");
}

/// H2: only an active supervisor of the record's current office (or central) resolves, from a
/// device that may write the record where it is now, and only with the winner or the loser.
/// A re-routed case takes its conflicts to its new office.
#[test]
fn h2_a_conflict_is_resolved_by_a_supervisor_of_the_records_current_office_with_a_value_in_it() {
    let net = net();
    let ((district, office), (other_district, other_office)) = two_offices();
    let hq = net.enroll("*");
    let admin = net.first_admin(&hq);
    let caseworker = net.add_user(&hq, admin, "caseworker", Some(&office));
    let supervisor = net.add_user(&hq, admin, "supervisor", Some(&office));
    let other_supervisor = net.add_user(&hq, admin, "supervisor", Some(&other_office));
    let central = net.add_user(&hq, admin, "caseworker", None);
    let (a, b) = (net.enroll(&office), net.enroll(&office));
    let other = net.enroll(&other_office);

    // A person, and two concurrent edits of its phone: a conflict.
    let p = Uuid::now_v7();
    net.push_ok(
        &a,
        &[create(
            &a,
            caseworker,
            EntityKind::Person,
            p,
            person(&district),
        )],
    );
    let base = net.seq(&a);
    let phone = |dev: &Dev, value: &str| {
        let fields = json!({"phone": value}).as_object().unwrap().clone();
        op_at(
            dev,
            caseworker,
            EntityKind::Person,
            p,
            Action::Update { fields },
            now_ms(),
            base,
        )
    };
    net.push_ok(&a, &[phone(&a, "7111-1111")]);
    net.push_ok(&b, &[phone(&b, "7222-2222")]);
    // The queue holds both sides' values: only a supervisor of the office reads it.
    for (reader, why) in [
        (caseworker, "no permite resolver conflictos"),
        (Uuid::now_v7(), "no es un usuario conocido"),
        (other_supervisor, "es de la oficina"),
    ] {
        let response = net.get(&a, &format!("/v1/conflicts?user={reader}"));
        assert_eq!(response.status().as_u16(), 403);
        let body: Value = response.json().unwrap();
        assert!(body["message"].as_str().unwrap().contains(why), "{body}");
    }
    let conflicts = net.conflicts(&a, supervisor);
    assert_eq!(conflicts.len(), 1, "{conflicts:?}");
    let c = &conflicts[0];
    let loser = c["loser"].clone();

    for (author, why) in [
        (caseworker, "no permite resolver conflictos"),
        (Uuid::now_v7(), "no es un usuario conocido"),
        (other_supervisor, "es de la oficina"),
    ] {
        let (status, body) = net.resolve(&a, c, loser.clone(), author);
        assert_eq!(
            (status, body["code"].as_str()),
            (403, Some("forbidden")),
            "{body}"
        );
        assert!(body["message"].as_str().unwrap().contains(why), "{body}");
    }
    let (status, body) = net.resolve(&a, c, json!("7333-3333"), supervisor);
    assert_eq!(
        (status, body["code"].as_str()),
        (400, Some("bad_resolution")),
        "{body}"
    );
    let seq = net.seq(&a);

    // The case moves to another office (by a device that had pulled everything): its
    // conflict goes with it.
    let fields = json!({"destination_district": other_district});
    let reroute = Action::Update {
        fields: fields.as_object().unwrap().clone(),
    };
    net.push_ok(
        &hq,
        &[op_at(
            &hq,
            central,
            EntityKind::Person,
            p,
            reroute,
            now_ms(),
            seq,
        )],
    );
    assert!(
        net.conflicts(&a, supervisor).is_empty(),
        "the old office no longer sees it"
    );
    assert_eq!(net.conflicts(&other, other_supervisor).len(), 1);
    let (status, body) = net.resolve(&a, c, loser.clone(), supervisor);
    assert_eq!(
        (status, body["code"].as_str()),
        (404, Some("unknown_conflict")),
        "{body}"
    );
    // The old office's supervisor, from a device of every office, no longer supervises it.
    let (status, body) = net.resolve(&hq, c, loser.clone(), supervisor);
    assert_eq!(
        (status, body["code"].as_str()),
        (403, Some("forbidden")),
        "{body}"
    );
    assert_eq!(net.seq(&hq), seq + 1, "only the re-route was applied");
    assert_ne!(
        net.record(&hq, EntityKind::Person, p).unwrap()["phone"],
        loser
    );

    let (status, body) = net.resolve(&other, c, loser.clone(), other_supervisor);
    assert_eq!(status, 200, "{body}");
    assert_eq!(
        net.record(&other, EntityKind::Person, p).unwrap()["phone"],
        loser
    );
}

/// M8: a referral, follow-up or note follows its person; it cannot be moved to a person of an
/// office the device may not write (nor, from a device of every office, of an office its author
/// does not work). Moving it within the office (a merge of duplicates does) is fine.
#[test]
fn m8_a_child_record_cannot_be_moved_to_a_person_of_another_office() {
    let net = net();
    let ((district, office), (other_district, _)) = two_offices();
    let hq = net.enroll("*");
    let admin = net.first_admin(&hq);
    let caseworker = net.add_user(&hq, admin, "caseworker", Some(&office));
    let central = net.add_user(&hq, admin, "caseworker", None);
    let (here, here_too, there) = (Uuid::now_v7(), Uuid::now_v7(), Uuid::now_v7());
    net.push_ok(
        &hq,
        &[
            create(&hq, central, EntityKind::Person, here, person(&district)),
            create(
                &hq,
                central,
                EntityKind::Person,
                here_too,
                person(&district),
            ),
            create(
                &hq,
                central,
                EntityKind::Person,
                there,
                person(&other_district),
            ),
        ],
    );
    let dev = net.enroll(&office);
    let referral = Uuid::now_v7();
    net.push_ok(
        &dev,
        &[create(
            &dev,
            caseworker,
            EntityKind::Referral,
            referral,
            json!({"person": here, "service_type": "psychosocial"}),
        )],
    );

    // From the office's device: the whole batch is refused naming the move, nothing applied.
    let before = net.seq(&dev);
    let moved = update(
        &dev,
        caseworker,
        EntityKind::Referral,
        referral,
        json!({"person": there}),
    );
    let note = Uuid::now_v7();
    let note_op = create(
        &dev,
        caseworker,
        EntityKind::CaseNote,
        note,
        json!({"person": here, "text": "llamó"}),
    );
    match net.push(&dev, &[moved.clone(), note_op.clone()]) {
        Pushed::Refused(403, body) => {
            assert_eq!(body["code"], "out_of_scope");
            assert_eq!(body["op_ids"], json!([moved.op_id]));
        }
        other => panic!("{other:?}"),
    }
    assert_eq!(net.seq(&dev), before);
    // The device quarantines the move and sends the rest: it applies.
    net.push_ok(&dev, &[note_op]);
    // From a device of every office, by an author who does not work the other office.
    let pushed = net.push(
        &hq,
        &[
            update(
                &hq,
                caseworker,
                EntityKind::Referral,
                referral,
                json!({"person": there}),
            ),
            update(
                &hq,
                caseworker,
                EntityKind::Referral,
                referral,
                json!({"person": here_too}),
            ),
        ],
    );
    assert_eq!(pushed.codes(), ["forbidden", "applied"]);
    let r = net.record(&dev, EntityKind::Referral, referral).unwrap();
    assert_eq!(r["person"], json!(here_too), "moved within the office only");
    assert!(net.record(&dev, EntityKind::CaseNote, note).is_some());
}

/// M9 (server part): the audit trail is append-only; an update or delete of an entry, or a
/// "create" that rewrites one, is refused op by op.
#[test]
fn m9_audit_entries_are_append_only() {
    let net = net();
    let ((_, office), _) = two_offices();
    let hq = net.enroll("*");
    let admin = net.first_admin(&hq);
    let caseworker = net.add_user(&hq, admin, "caseworker", Some(&office));
    let dev = net.enroll(&office);
    let entry = Uuid::now_v7();
    let body = json!({"id": entry, "user": caseworker, "action": "export", "summary": "Hoja de referencia"});
    net.push_ok(
        &dev,
        &[create(
            &dev,
            caseworker,
            EntityKind::Audit,
            entry,
            body.clone(),
        )],
    );

    let next = Uuid::now_v7();
    let before = net.seq(&dev);
    let pushed = net.push(
        &dev,
        &[
            update(
                &dev,
                caseworker,
                EntityKind::Audit,
                entry,
                json!({"summary": "nada"}),
            ),
            delete(&dev, caseworker, EntityKind::Audit, entry),
            delete(&dev, admin, EntityKind::Audit, entry),
            create(
                &dev,
                caseworker,
                EntityKind::Audit,
                entry,
                json!({"summary": "otra cosa"}),
            ),
            create(
                &dev,
                caseworker,
                EntityKind::Audit,
                next,
                json!({"summary": "Inicio de sesión"}),
            ),
        ],
    );
    assert_eq!(
        pushed.codes(),
        [
            "forbidden",
            "forbidden",
            "forbidden",
            "forbidden",
            "applied"
        ]
    );
    assert!(pushed.reason(0).contains("solo admite entradas nuevas"));
    assert_eq!(net.seq(&dev), before + 1);
    // Audit entries never come down to devices; the server's copy is checked by sending the
    // same entry again: unchanged, it is still accepted.
    net.push_ok(
        &dev,
        &[create(&dev, caseworker, EntityKind::Audit, entry, body)],
    );
}

/// M12: `GET /v1/forms/{id}` (a whole file, sensitive notes included, to any device) is gone,
/// from the router and from the OpenAPI document.
#[test]
fn m12_the_whole_form_endpoint_is_gone() {
    let net = net();
    let ((district, office), _) = two_offices();
    let hq = net.enroll("*");
    let admin = net.first_admin(&hq);
    let caseworker = net.add_user(&hq, admin, "caseworker", Some(&office));
    let dev = net.enroll(&office);
    let p = Uuid::now_v7();
    net.push_ok(
        &dev,
        &[create(
            &dev,
            caseworker,
            EntityKind::Person,
            p,
            person(&district),
        )],
    );
    let response = net.get(&dev, &format!("/v1/forms/{p}"));
    assert_eq!(response.status().as_u16(), 404);
    let body: Value = response.json().unwrap();
    assert_eq!(body["code"], "not_found");
    let doc = reintegra_server::openapi::document();
    assert!(doc["paths"]
        .as_object()
        .unwrap()
        .keys()
        .all(|k| !k.contains("forms")));
}

/// H3: a device id enrolls once. A second enrollment of a known id (even with a good code) is
/// refused with 409 `device_exists`: the original keeps its token, a revoked one stays revoked,
/// and the code is not spent.
#[test]
fn h3_enrolling_a_known_device_id_is_refused_and_the_device_keeps_its_token() {
    let net = net();
    let ((_, office), (_, other_office)) = two_offices();
    let original = net.enroll(&office);
    let code = net.server.enroll_code(&other_office).unwrap();
    let response = net.enroll_with(&code, original.id.as_uuid());
    assert_eq!(response.status().as_u16(), 409);
    let body: Value = response.json().unwrap();
    assert_eq!(body["code"], "device_exists", "{body}");
    assert!(body["message"]
        .as_str()
        .unwrap()
        .contains("ya hay un dispositivo"));
    assert_eq!(net.get(&original, "/v1/state").status().as_u16(), 200);
    let devices = {
        let db = net.server.db();
        net.server.run(async move { db.devices().await }).unwrap()
    };
    assert_eq!(devices.len(), 1);
    assert_eq!(
        devices[0].office, office,
        "the office did not change either"
    );

    // A revoked device is not revived by enrolling its id again.
    let db = net.server.db();
    let id = original.id.to_string();
    assert!(net
        .server
        .run(async move { db.revoke_device(&id).await })
        .unwrap());
    let again = net.enroll_with(&code, original.id.as_uuid());
    assert_eq!(again.status().as_u16(), 409);
    let response = net.get(&original, "/v1/state");
    assert_eq!(response.status().as_u16(), 401);
    let body: Value = response.json().unwrap();
    assert_eq!(body["code"], "device_revoked");

    // The refused code was not spent: a new device enrolls with it.
    let fresh = net.enroll_with(&code, Uuid::now_v7());
    assert_eq!(fresh.status().as_u16(), 200);
}

/// L5: codes carry 80 bits, readable in groups, typed however; the server keeps only a hash
/// keyed with its own secret (in the data directory, not in the database).
#[test]
fn l5_enrollment_codes_carry_80_bits_and_are_kept_as_a_keyed_hash() {
    let net = net();
    let code = net.server.enroll_code("*").unwrap();
    let groups: Vec<&str> = code.split('-').collect();
    assert_eq!(groups.len(), 4, "{code}");
    let alphabet = "0123456789ABCDEFGHJKMNPQRSTVWXYZ";
    assert!(groups
        .iter()
        .all(|g| g.len() == 4 && g.chars().all(|c| alphabet.contains(c))));
    let normalized = code.replace('-', "");
    assert_eq!(normalized.len() * 5, 80);

    let key_file = net.dir.path().join("enroll-code.key");
    let key_hex = std::fs::read_to_string(&key_file).unwrap();
    let key: [u8; 32] = (0..32)
        .map(|i| u8::from_str_radix(&key_hex.trim()[2 * i..2 * i + 2], 16).unwrap())
        .collect::<Vec<_>>()
        .try_into()
        .unwrap();
    let db_file = net.dir.path().join("reintegra-server.sqlite");
    let stored: Vec<Vec<u8>> = net.server.run(async move {
        let pool = sqlx::SqlitePool::connect(&format!("sqlite:{}", db_file.display()))
            .await
            .unwrap();
        sqlx::query_scalar("SELECT code_hash FROM enroll_codes")
            .fetch_all(&pool)
            .await
            .unwrap()
    });
    assert_eq!(
        stored,
        [blake3::keyed_hash(&key, normalized.as_bytes())
            .as_bytes()
            .to_vec()]
    );
    assert_ne!(
        stored[0],
        blake3::hash(normalized.as_bytes()).as_bytes().to_vec()
    );
    // Typed in lower case without dashes, it still works (once).
    let typed = normalized.to_lowercase();
    assert_eq!(
        net.enroll_with(&typed, Uuid::now_v7()).status().as_u16(),
        200
    );
    assert_eq!(
        net.enroll_with(&code, Uuid::now_v7()).status().as_u16(),
        403
    );
}

/// L6: a clock more than 10 minutes ahead is refused (it would win every merge for as long);
/// a few minutes ahead is accepted. The rest of the batch applies.
#[test]
fn l6_a_clock_more_than_ten_minutes_ahead_is_refused() {
    let net = net();
    let ((district, office), _) = two_offices();
    let hq = net.enroll("*");
    let admin = net.first_admin(&hq);
    let caseworker = net.add_user(&hq, admin, "caseworker", Some(&office));
    let dev = net.enroll(&office);
    let minute = 60 * 1000;
    let (ahead, slightly) = (Uuid::now_v7(), Uuid::now_v7());
    let at = |id: Uuid, wall_ms: u64| {
        let record = person(&district);
        op_at(
            &dev,
            caseworker,
            EntityKind::Person,
            id,
            Action::Create { record },
            wall_ms,
            0,
        )
    };
    let pushed = net.push(
        &dev,
        &[
            at(ahead, now_ms() + 11 * minute),
            at(slightly, now_ms() + 5 * minute),
        ],
    );
    assert_eq!(pushed.codes(), ["clock_ahead", "applied"]);
    assert!(net.record(&dev, EntityKind::Person, ahead).is_none());
    assert!(net.record(&dev, EntityKind::Person, slightly).is_some());
}

/// L6: a device cannot stamp its ops with another device's HLC node (which would let it win
/// every last-writer-wins tie against that device): the batch is refused, nothing applied.
#[test]
fn l6_an_op_stamped_with_another_devices_node_is_refused() {
    let net = net();
    let ((district, office), _) = two_offices();
    let hq = net.enroll("*");
    let admin = net.first_admin(&hq);
    let caseworker = net.add_user(&hq, admin, "caseworker", Some(&office));
    let (dev, victim) = (net.enroll(&office), net.enroll(&office));
    let id = Uuid::now_v7();
    let mut forged = create(&dev, caseworker, EntityKind::Person, id, person(&district));
    forged.hlc.node = victim.id.as_uuid().as_u64_pair().1;
    let before = net.seq(&dev);
    match net.push(&dev, &[forged]) {
        Pushed::Refused(400, body) => assert!(
            body["message"]
                .as_str()
                .unwrap()
                .contains("otro dispositivo"),
            "{body}"
        ),
        other => panic!("{other:?}"),
    }
    assert_eq!(net.seq(&dev), before, "nothing applied");
    assert!(net.record(&dev, EntityKind::Person, id).is_none());
    // Its own node is fine.
    net.push_ok(
        &dev,
        &[create(
            &dev,
            caseworker,
            EntityKind::Person,
            id,
            person(&district),
        )],
    );
}
