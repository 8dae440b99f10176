//! H5: the server checks what it stores. A device pushes, in one batch against a real server
//! on port 0, a good record, a malformed one, one with enum values this build does not know,
//! an oversized list, a record whose id is not the op's and an update that would leave a
//! record without a required field: each bad op is refused alone with a reason (nothing of it
//! applied, it goes to the security log), the unknown enum values are kept as sent and reach
//! another device verbatim, and the rest of the batch applies.
#![allow(clippy::unwrap_used)]

use std::sync::atomic::{AtomicU32, Ordering};

use reintegra_core::territory::Territory;
use reintegra_server::Background;
use reqwest::blocking::Client;
use serde_json::{json, Value};
use uuid::Uuid;

mod records;

struct Net {
    server: Background,
    url: String,
    client: Client,
    _dir: tempfile::TempDir,
}

struct Dev {
    token: String,
    id: Uuid,
}

impl Net {
    fn new() -> Net {
        let dir = tempfile::TempDir::new().unwrap();
        let server = Background::start(dir.path(), "127.0.0.1:0".parse().unwrap(), None).unwrap();
        Net {
            url: server.url(),
            server,
            client: Client::new(),
            _dir: dir,
        }
    }

    fn enroll(&self, office: &str) -> Dev {
        let code = self.server.enroll_code(office).unwrap();
        let id = Uuid::now_v7();
        let answer: Value = self
            .client
            .post(format!("{}/v1/enroll", self.url))
            .body(
                json!({"v": 1, "code": code, "device_id": id, "device_name": "Portátil"})
                    .to_string(),
            )
            .send()
            .unwrap()
            .json()
            .unwrap();
        Dev {
            token: answer["device_token"].as_str().unwrap().to_string(),
            id,
        }
    }

    /// Pushes ops: each op's status (or refusal code) and reason.
    fn push(&self, dev: &Dev, ops: &[Value]) -> Vec<(String, String)> {
        let response = self
            .client
            .post(format!("{}/v1/push", self.url))
            .bearer_auth(&dev.token)
            .body(reintegra_proto::encode(&json!({"v": 1, "ops": ops})))
            .send()
            .unwrap();
        assert_eq!(response.status().as_u16(), 200);
        let answer: reintegra_proto::PushResponse =
            reintegra_proto::decode(&response.bytes().unwrap()).unwrap();
        answer
            .results
            .into_iter()
            .map(|r| match r.outcome {
                reintegra_proto::Outcome::Applied { .. } => ("applied".into(), String::new()),
                reintegra_proto::Outcome::Duplicate => ("duplicate".into(), String::new()),
                reintegra_proto::Outcome::Rejected { code, reason } => (code, reason),
            })
            .collect()
    }

    fn pull(&self, dev: &Dev) -> reintegra_proto::PullResponse {
        let response = self
            .client
            .get(format!("{}/v1/pull?after=0&max_bytes=1000000", self.url))
            .bearer_auth(&dev.token)
            .send()
            .unwrap();
        assert_eq!(response.status().as_u16(), 200);
        reintegra_proto::decode(&response.bytes().unwrap()).unwrap()
    }

    fn seq(&self, dev: &Dev) -> u64 {
        let state: Value = self
            .client
            .get(format!("{}/v1/state", self.url))
            .bearer_auth(&dev.token)
            .send()
            .unwrap()
            .json()
            .unwrap();
        state["seq"].as_u64().unwrap()
    }
}

/// Ops made within one millisecond still order one after the other.
static COUNTER: AtomicU32 = AtomicU32::new(0);

fn op(dev: &Dev, author: Uuid, entity: &str, id: Uuid, action: &str, body: Value) -> Value {
    let key = if action == "create" {
        "record"
    } else {
        "fields"
    };
    json!({
        "op_id": Uuid::now_v7(), "author": author, "device": dev.id,
        "hlc": {"wall_ms": chrono::Utc::now().timestamp_millis(),
                "counter": COUNTER.fetch_add(1, Ordering::SeqCst),
                "node": format!("{:016x}", dev.id.as_u64_pair().1)},
        "change": {"entity": entity, "id": id, "action": action, key: body}
    })
}

fn person(id: Uuid, district: &str, extra: Value) -> Value {
    let mut p = records::full(
        "person",
        id,
        &json!({"given_names": "Rosa", "first_surname": "Pérez",
                "destination_district": district, "phone": "7000-0000"}),
    );
    for (k, v) in extra.as_object().unwrap() {
        p[k] = v.clone();
    }
    p
}

#[test]
fn h5_each_bad_op_is_refused_alone_and_unknown_enum_values_are_kept() {
    let net = Net::new();
    let place = Territory::el_salvador().prioritized().next().unwrap();
    let (district, office) = (&place.district_code, &place.municipality_code);
    let hq = net.enroll("*");
    let admin = Uuid::now_v7();
    let caseworker = Uuid::now_v7();
    let users = [
        op(
            &hq,
            admin,
            "user",
            admin,
            "create",
            records::full("user", admin, &json!({"role": "admin", "name": "Admin"})),
        ),
        op(
            &hq,
            admin,
            "user",
            caseworker,
            "create",
            records::full(
                "user",
                caseworker,
                &json!({"role": "caseworker", "office_municipality": office}),
            ),
        ),
    ];
    assert!(net.push(&hq, &users).iter().all(|(c, _)| c == "applied"));
    let dev = net.enroll(office);
    let seq_before = net.seq(&dev);

    let (good, malformed, newer, long, other_id, broken) = (
        Uuid::now_v7(),
        Uuid::now_v7(),
        Uuid::now_v7(),
        Uuid::now_v7(),
        Uuid::now_v7(),
        Uuid::now_v7(),
    );
    let ops = [
        op(
            &dev,
            caseworker,
            "person",
            good,
            "create",
            person(good, district, json!({})),
        ),
        // A sex that is a number.
        op(
            &dev,
            caseworker,
            "person",
            malformed,
            "create",
            person(malformed, district, json!({"sex": 7})),
        ),
        // A newer client's values: kept.
        op(
            &dev,
            caseworker,
            "person",
            newer,
            "create",
            person(
                newer,
                district,
                json!({"sex": "intersex",
                                           "vulnerabilities": ["pregnant", "climate_displaced"]}),
            ),
        ),
        // A list past the bound.
        op(
            &dev,
            caseworker,
            "person",
            long,
            "create",
            person(
                long,
                district,
                json!({"return_events": (0..1001)
               .map(|_| records::return_event(Uuid::now_v7())).collect::<Vec<_>>()}),
            ),
        ),
        // The record says it is another one.
        op(
            &dev,
            caseworker,
            "person",
            other_id,
            "create",
            person(Uuid::now_v7(), district, json!({})),
        ),
        op(
            &dev,
            caseworker,
            "person",
            broken,
            "create",
            person(broken, district, json!({})),
        ),
        // Removing a required field.
        op(
            &dev,
            caseworker,
            "person",
            broken,
            "update",
            json!({"given_names": null}),
        ),
        // A number where a list is.
        op(
            &dev,
            caseworker,
            "person",
            good,
            "update",
            json!({"skills": 5}),
        ),
        op(
            &dev,
            caseworker,
            "person",
            good,
            "update",
            json!({"phone": "7111-1111"}),
        ),
    ];
    let results = net.push(&dev, &ops);
    let codes: Vec<&str> = results.iter().map(|(c, _)| c.as_str()).collect();
    assert_eq!(
        codes,
        [
            "applied",
            "invalid",
            "applied",
            "list_too_long",
            "invalid",
            "applied",
            "invalid",
            "invalid",
            "applied"
        ],
        "{results:?}"
    );
    assert!(results[1].1.contains("«sex»"), "{}", results[1].1);
    assert!(results[3].1.contains("1000"), "{}", results[3].1);
    assert!(
        results[4].1.contains("no es el de la operación"),
        "{}",
        results[4].1
    );
    assert!(results[6].1.contains("given_names"), "{}", results[6].1);
    assert_eq!(
        net.seq(&dev),
        seq_before + 4,
        "nothing of a refused op applied"
    );

    // Another device gets what applied, the newer values verbatim, and nothing else.
    let other = net.enroll(office);
    let pulled = net.pull(&other);
    let ids: Vec<Uuid> = pulled.changes.iter().map(|c| c.op.change.id).collect();
    for refused in [malformed, long, other_id] {
        assert!(!ids.contains(&refused));
    }
    let records: Value = net
        .client
        .get(format!(
            "{}/v1/records?bucket={}",
            net.url,
            reintegra_core::sync_state::bucket_of(newer)
        ))
        .bearer_auth(&other.token)
        .send()
        .map(|r| reintegra_proto::decode::<Value>(&r.bytes().unwrap()).unwrap())
        .unwrap();
    let kept = records["records"]
        .as_array()
        .unwrap()
        .iter()
        .find(|r| r["id"] == json!(newer))
        .unwrap();
    assert_eq!(kept["record"]["sex"], "intersex");
    assert_eq!(
        kept["record"]["vulnerabilities"],
        json!(["pregnant", "climate_displaced"])
    );

    // Every refusal is in the security log, with its reason.
    let db = net.server.db();
    let log = net
        .server
        .run(async move { db.security_events(None).await })
        .unwrap();
    let invalid = log
        .iter()
        .filter(|e| e.kind == "op_refused" && e.detail.contains(": invalid: "))
        .count();
    assert_eq!(invalid, 4, "{log:?}");
}
