//! L11: the conflict queue comes in pages and, unless asked, holds only what is still to be
//! resolved: a device never receives the whole history of conflicts (with every personal value
//! in them) in one answer. Against a real server on port 0.
#![allow(clippy::unwrap_used)]

use std::collections::HashSet;

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

fn now_ms() -> i64 {
    chrono::Utc::now().timestamp_millis()
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
                json!({"v": 1, "code": code, "device_id": id, "device_name": "prueba"}).to_string(),
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

    /// Pushes ops that must all apply; the server's sequence after them.
    fn push(&self, dev: &Dev, ops: Vec<Value>) -> u64 {
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
        for r in &answer.results {
            assert!(
                matches!(r.outcome, reintegra_proto::Outcome::Applied { .. }),
                "{r:?}"
            );
        }
        answer.seq
    }

    fn get(&self, dev: &Dev, query: &str) -> (u16, Value) {
        let response = self
            .client
            .get(format!("{}/v1/conflicts{query}", self.url))
            .bearer_auth(&dev.token)
            .send()
            .unwrap();
        (response.status().as_u16(), response.json().unwrap())
    }

    /// Every page, following `next`: the pages' sizes and all their conflicts.
    fn pages(&self, dev: &Dev, query: &str) -> (Vec<usize>, Vec<Value>) {
        let (mut sizes, mut all) = (Vec::new(), Vec::new());
        let mut after = String::new();
        loop {
            let (status, page) = self.get(dev, &format!("?{query}{after}"));
            assert_eq!(status, 200, "{page}");
            let conflicts = page["conflicts"].as_array().unwrap().clone();
            sizes.push(conflicts.len());
            all.extend(conflicts);
            match page["next"].as_str() {
                Some(next) => after = format!("&after={next}"),
                None => return (sizes, all),
            }
        }
    }
}

fn op(
    dev: &Dev,
    author: Uuid,
    entity: &str,
    id: Uuid,
    action: &str,
    body: Value,
    base: u64,
) -> Value {
    let (key, body) = if action == "create" {
        ("record", records::full(entity, id, &body))
    } else {
        ("fields", body)
    };
    json!({
        "op_id": Uuid::now_v7(), "author": author, "device": dev.id, "base_seq": base,
        "hlc": {"wall_ms": now_ms(), "counter": 0, "node": format!("{:016x}", dev.id.as_u64_pair().1)},
        "change": {"entity": entity, "id": id, "action": action, key: body}
    })
}

fn user(id: Uuid, role: &str, office: Option<&str>) -> Value {
    json!({"id": id, "name": format!("Usuario {role}"), "role": role,
           "office_municipality": office, "active": true})
}

#[test]
fn l11_the_conflict_queue_is_paged_and_lists_only_what_is_unresolved_unless_asked() {
    let net = Net::new();
    let place = Territory::el_salvador().prioritized().next().unwrap();
    let (district, office) = (&place.district_code, &place.municipality_code);
    let hq = net.enroll("*");
    let (admin, caseworker, supervisor) = (Uuid::now_v7(), Uuid::now_v7(), Uuid::now_v7());
    net.push(
        &hq,
        vec![op(
            &hq,
            admin,
            "user",
            admin,
            "create",
            user(admin, "admin", None),
            0,
        )],
    );
    net.push(
        &hq,
        vec![
            op(
                &hq,
                admin,
                "user",
                caseworker,
                "create",
                user(caseworker, "caseworker", Some(office)),
                0,
            ),
            op(
                &hq,
                admin,
                "user",
                supervisor,
                "create",
                user(supervisor, "supervisor", Some(office)),
                0,
            ),
        ],
    );
    let (a, b) = (net.enroll(office), net.enroll(office));

    // 201 persons, each phone edited on both devices at once: 201 conflicts.
    let persons: Vec<Uuid> = (0..201).map(|_| Uuid::now_v7()).collect();
    let base = net.push(
        &a,
        persons
            .iter()
            .map(|&p| {
                let record = json!({"given_names": "Rosa", "first_surname": "Pérez",
                                    "destination_district": district, "phone": "7000-0000"});
                op(&a, caseworker, "person", p, "create", record, 0)
            })
            .collect(),
    );
    for (dev, phone) in [(&a, "7111-1111"), (&b, "7222-2222")] {
        let edits = persons
            .iter()
            .map(|&p| {
                op(
                    dev,
                    caseworker,
                    "person",
                    p,
                    "update",
                    json!({"phone": phone}),
                    base,
                )
            })
            .collect();
        net.push(dev, edits);
    }

    // By default: pages of 200, oldest first, each conflict once.
    // The queue is read by a supervisor of the office (`user`).
    let by = |query: &str| match query {
        "" => format!("user={supervisor}"),
        q => format!("user={supervisor}&{q}"),
    };
    let (sizes, listed) = net.pages(&a, &by(""));
    assert_eq!(sizes, [200, 1]);
    let ids: Vec<&str> = listed.iter().map(|c| c["id"].as_str().unwrap()).collect();
    let mut sorted = ids.clone();
    sorted.sort();
    assert_eq!(ids, sorted, "in id order");
    assert_eq!(ids.iter().collect::<HashSet<_>>().len(), 201);
    // A smaller page, and limits out of range kept in range.
    let (sizes, _) = net.pages(&a, &by("limit=50"));
    assert_eq!(sizes, [50, 50, 50, 50, 1]);
    let (sizes, _) = net.pages(&a, &by("limit=0"));
    assert_eq!(sizes.len(), 201, "at least one per page");
    let (sizes, _) = net.pages(&a, &by("limit=1000000"));
    assert_eq!(sizes, [201], "at most 1000 a page");

    // A resolved conflict leaves the default list; all=true still shows it, with its value.
    let first = &listed[0];
    let resolved = net
        .client
        .post(format!(
            "{}/v1/conflicts/{}/resolve",
            net.url,
            first["id"].as_str().unwrap()
        ))
        .bearer_auth(&a.token)
        .body(json!({"v": 1, "value": first["loser"], "author": supervisor}).to_string())
        .send()
        .unwrap();
    assert_eq!(resolved.status().as_u16(), 200);
    let (_, open) = net.pages(&a, &by(""));
    assert_eq!(open.len(), 200);
    assert!(open.iter().all(|c| c["id"] != first["id"]));
    let (_, everything) = net.pages(&a, &by("all=true"));
    assert_eq!(everything.len(), 201);
    assert_eq!(everything[0]["resolution"], first["loser"]);

    // Nonsense is a 400, never a page.
    for bad in ["limit=-1", "limit=abc", "after=not-an-id", "all=maybe"] {
        let (status, body) = net.get(&a, &format!("?{}", by(bad)));
        assert_eq!(
            (status, body["code"].as_str()),
            (400, Some("bad_request")),
            "{bad}"
        );
    }
}
