//! M9, the server's part: every security event is written to the server's security log as it
//! happens — enrollments (made and refused), refused tokens (unknown or revoked), a device
//! revoked, a conflict resolved, and every op refused for who sent it or where it goes — and
//! `reintegra-server security-log` prints it with whatever a client sent escaped. Each event is
//! provoked against a real server on port 0 and then looked for.
#![allow(clippy::unwrap_used)]

use std::process::Command;

use reintegra_core::territory::Territory;
use reintegra_server::{Background, SecurityEvent};
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
            dir,
        }
    }

    fn enroll_with(&self, code: &str, id: Uuid, name: &str) -> reqwest::blocking::Response {
        self.client
            .post(format!("{}/v1/enroll", self.url))
            .body(json!({"v": 1, "code": code, "device_id": id, "device_name": name}).to_string())
            .send()
            .unwrap()
    }

    fn enroll(&self, office: &str) -> Dev {
        let code = self.server.enroll_code(office).unwrap();
        let id = Uuid::now_v7();
        let answer: Value = self.enroll_with(&code, id, "Portátil").json().unwrap();
        Dev {
            token: answer["device_token"].as_str().unwrap().to_string(),
            id,
        }
    }

    /// Pushes ops: the HTTP status and each op's status (or code).
    fn push(&self, dev: &Dev, ops: Vec<Value>) -> (u16, Vec<String>) {
        let response = self
            .client
            .post(format!("{}/v1/push", self.url))
            .bearer_auth(&dev.token)
            .body(reintegra_proto::encode(&json!({"v": 1, "ops": ops})))
            .send()
            .unwrap();
        let status = response.status().as_u16();
        if status != 200 {
            return (status, Vec::new());
        }
        let answer: reintegra_proto::PushResponse =
            reintegra_proto::decode(&response.bytes().unwrap()).unwrap();
        let codes = answer
            .results
            .into_iter()
            .map(|r| match r.outcome {
                reintegra_proto::Outcome::Applied { .. } => "applied".to_string(),
                reintegra_proto::Outcome::Duplicate => "duplicate".to_string(),
                reintegra_proto::Outcome::Rejected { code, .. } => code,
            })
            .collect();
        (status, codes)
    }

    fn push_ok(&self, dev: &Dev, ops: Vec<Value>) {
        let (status, codes) = self.push(dev, ops);
        assert_eq!(status, 200);
        assert!(codes.iter().all(|c| c == "applied"), "{codes:?}");
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

    fn resolve(&self, dev: &Dev, conflict: &Value, author: Uuid) -> u16 {
        self.client
            .post(format!(
                "{}/v1/conflicts/{}/resolve",
                self.url,
                conflict["id"].as_str().unwrap()
            ))
            .bearer_auth(&dev.token)
            .body(json!({"v": 1, "value": conflict["loser"], "author": author}).to_string())
            .send()
            .unwrap()
            .status()
            .as_u16()
    }

    fn log(&self) -> Vec<SecurityEvent> {
        let db = self.server.db();
        self.server
            .run(async move { db.security_events(None).await })
            .unwrap()
    }

    /// The events of `kind` whose detail holds `text`.
    fn events(&self, kind: &str, text: &str) -> Vec<SecurityEvent> {
        self.log()
            .into_iter()
            .filter(|e| e.kind == kind && e.detail.contains(text))
            .collect()
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
        "hlc": {"wall_ms": chrono::Utc::now().timestamp_millis(), "counter": 0,
                "node": format!("{:016x}", dev.id.as_u64_pair().1)},
        "change": {"entity": entity, "id": id, "action": action, key: body}
    })
}

fn user(id: Uuid, role: &str, office: Option<&str>) -> Value {
    json!({"id": id, "name": format!("Usuario {role}"), "role": role,
           "office_municipality": office, "active": true})
}

fn person(district: &str) -> Value {
    json!({"given_names": "Rosa", "first_surname": "Pérez", "destination_district": district,
           "phone": "7000-0000"})
}

fn some(value: impl ToString) -> Option<String> {
    Some(value.to_string())
}

#[test]
fn m9_every_security_event_is_in_the_servers_log_and_printed_escaped() {
    let net = Net::new();
    let mut places = Territory::el_salvador().prioritized();
    let here = places.next().unwrap();
    let there = places
        .find(|p| p.municipality_code != here.municipality_code)
        .unwrap();
    let (district, office) = (&here.district_code, &here.municipality_code);

    // Enrollment, made: the device, its office and where it came from.
    let hq = net.enroll("*");
    let made = net.events("enroll", "«Portátil» desde 127.0.0.1");
    assert_eq!(made.len(), 1, "{:?}", net.log());
    assert_eq!(
        (&made[0].device, &made[0].office),
        (&some(hq.id), &some("*"))
    );

    // Enrollment, refused: a wrong code, and a name that would drive the terminal.
    let guessed = Uuid::now_v7();
    assert_eq!(
        net.enroll_with("AAAA-BBBB-CCCC-DDDD", guessed, "intruso")
            .status()
            .as_u16(),
        403
    );
    let refused = net.events(
        "enroll_refused",
        "bad_enroll_code «intruso» desde 127.0.0.1",
    );
    assert_eq!(refused.len(), 1, "{:?}", net.log());
    assert_eq!(refused[0].device, some(guessed));
    let code = net.server.enroll_code("*").unwrap();
    let evil = "portátil\u{1b}[2J\u{1b}[31m\nfalso\tenroll";
    assert_eq!(
        net.enroll_with(&code, Uuid::now_v7(), evil)
            .status()
            .as_u16(),
        400
    );
    assert_eq!(net.events("enroll_refused", "bad_request").len(), 1);

    // A token the server does not know.
    let stranger = Dev {
        token: "0".repeat(64),
        id: Uuid::now_v7(),
    };
    let response = net
        .client
        .get(format!("{}/v1/state", net.url))
        .bearer_auth(&stranger.token)
        .send()
        .unwrap();
    assert_eq!(response.status().as_u16(), 401);
    assert_eq!(
        net.events(
            "auth_failed",
            "unknown_device en GET /v1/state desde 127.0.0.1"
        )
        .len(),
        1
    );

    // Ops refused by authorization (an author the server does not know), out of the office,
    // and of another device: each one, with its author, even when the batch was refused whole.
    let (admin, caseworker, supervisor) = (Uuid::now_v7(), Uuid::now_v7(), Uuid::now_v7());
    net.push_ok(
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
    net.push_ok(
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
    let nobody = Uuid::now_v7();
    let forged = op(
        &a,
        nobody,
        "person",
        Uuid::now_v7(),
        "create",
        person(district),
        0,
    );
    let (_, codes) = net.push(&a, vec![forged.clone()]);
    assert_eq!(codes, ["forbidden"]);
    let forbidden = net.events("op_refused", forged["op_id"].as_str().unwrap());
    assert_eq!(forbidden.len(), 1, "{:?}", net.log());
    assert_eq!(
        (
            &forbidden[0].device,
            &forbidden[0].office,
            &forbidden[0].user
        ),
        (&some(a.id), &some(office), &some(nobody))
    );
    assert!(
        forbidden[0].detail.contains("forbidden: "),
        "{}",
        forbidden[0].detail
    );
    let elsewhere = op(
        &a,
        caseworker,
        "person",
        Uuid::now_v7(),
        "create",
        person(&there.district_code),
        0,
    );
    assert_eq!(net.push(&a, vec![elsewhere.clone()]).0, 403);
    let outside = net.events("op_refused", elsewhere["op_id"].as_str().unwrap());
    assert_eq!(outside.len(), 1);
    assert!(
        outside[0].detail.contains("out_of_scope"),
        "{}",
        outside[0].detail
    );
    let not_mine = op(
        &b,
        caseworker,
        "person",
        Uuid::now_v7(),
        "create",
        person(district),
        0,
    );
    assert_eq!(net.push(&a, vec![not_mine.clone()]).0, 400);
    assert_eq!(
        net.events("op_refused", not_mine["op_id"].as_str().unwrap())
            .len(),
        1
    );

    // A conflict: a resolution refused (a caseworker may not), then made by the supervisor.
    let p = Uuid::now_v7();
    net.push_ok(
        &a,
        vec![op(
            &a,
            caseworker,
            "person",
            p,
            "create",
            person(district),
            0,
        )],
    );
    let base = net.seq(&a);
    for (dev, phone) in [(&a, "7111-1111"), (&b, "7222-2222")] {
        net.push_ok(
            dev,
            vec![op(
                dev,
                caseworker,
                "person",
                p,
                "update",
                json!({"phone": phone}),
                base,
            )],
        );
    }
    let conflicts: Value = net
        .client
        .get(format!("{}/v1/conflicts?user={supervisor}", net.url))
        .bearer_auth(&a.token)
        .send()
        .unwrap()
        .json()
        .unwrap();
    let conflict = &conflicts["conflicts"][0];
    let id = conflict["id"].as_str().unwrap();
    assert_eq!(net.resolve(&a, conflict, caseworker), 403);
    let refused = net.events("op_refused", &format!("resolución del conflicto {id}"));
    assert_eq!(refused.len(), 1);
    assert_eq!(refused[0].user, some(caseworker));
    assert_eq!(net.resolve(&a, conflict, supervisor), 200);
    let resolved = net.events("resolve_conflict", id);
    assert_eq!(resolved.len(), 1);
    assert_eq!(
        (&resolved[0].device, &resolved[0].user),
        (&some(a.id), &some(supervisor))
    );

    // A device revoked, and its token refused afterwards: both name the device.
    let db = net.server.db();
    let revoked = b.id.to_string();
    assert!(net
        .server
        .run(async move { db.revoke_device(&revoked).await })
        .unwrap());
    let revocation = net.events("revoke_device", "");
    assert_eq!(revocation.len(), 1);
    assert_eq!(
        (&revocation[0].device, &revocation[0].office),
        (&some(b.id), &some(office))
    );
    let response = net
        .client
        .get(format!("{}/v1/pull?after=0", net.url))
        .bearer_auth(&b.token)
        .send()
        .unwrap();
    assert_eq!(response.status().as_u16(), 401);
    let after = net.events("auth_failed", "device_revoked en GET /v1/pull");
    assert_eq!(after.len(), 1);
    assert_eq!(after[0].device, some(b.id));

    // The command prints all of it, one line per event, what clients sent escaped.
    let log = Command::new(env!("CARGO_BIN_EXE_reintegra-server"))
        .args(["security-log", "--data"])
        .arg(net.dir.path())
        .output()
        .unwrap();
    assert!(
        log.status.success(),
        "{}",
        String::from_utf8_lossy(&log.stderr)
    );
    let text = String::from_utf8(log.stdout).unwrap();
    assert!(
        !text.contains('\u{1b}'),
        "a raw escape reached the terminal"
    );
    assert!(
        text.contains("portátil\\u{1b}[2J\\u{1b}[31m\\u{a}falso\\u{9}enroll"),
        "{text}"
    );
    let lines: Vec<&str> = text.lines().collect();
    assert_eq!(lines.len(), net.log().len(), "{text}");
    assert!(lines.iter().all(|l| l.split('\t').count() == 6), "{text}");
    for kind in [
        "enroll",
        "enroll_refused",
        "auth_failed",
        "revoke_device",
        "resolve_conflict",
        "op_refused",
    ] {
        assert!(
            lines.iter().any(|l| l.split('\t').nth(1) == Some(kind)),
            "{kind} missing:\n{text}"
        );
    }
    let tomorrow = (chrono::Utc::now() + chrono::Duration::days(1))
        .format("%Y-%m-%d")
        .to_string();
    let later = Command::new(env!("CARGO_BIN_EXE_reintegra-server"))
        .args(["security-log", "--since", &tomorrow, "--data"])
        .arg(net.dir.path())
        .output()
        .unwrap();
    assert!(later.status.success());
    assert!(later.stdout.is_empty(), "nothing since tomorrow");
    let nonsense = Command::new(env!("CARGO_BIN_EXE_reintegra-server"))
        .args(["security-log", "--since", "ayer", "--data"])
        .arg(net.dir.path())
        .output()
        .unwrap();
    assert!(!nonsense.status.success());
    assert!(String::from_utf8_lossy(&nonsense.stderr).contains("no es una fecha"));
}
