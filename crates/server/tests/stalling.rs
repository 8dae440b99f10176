//! "No device can stall the others" (issue 20.3): attacks on a real server on port 0 with
//! short deadlines. A client that sends its headers or its body one byte a second, or keeps a
//! connection idle, is cut off within the deadline while another device keeps syncing; an
//! address that guesses enrollment codes runs out of attempts; a batch of too many ops, or an
//! op whose list would grow past the merge's bound, is refused with nothing of it applied.
#![allow(clippy::unwrap_used)]

use std::io::{ErrorKind, Read, Write};
use std::net::TcpStream;
use std::time::{Duration, Instant};

use reintegra_server::{Background, Limits};
use reqwest::blocking::Client;
use serde_json::{json, Value};
use uuid::Uuid;

mod records;

const HEADER_READ: Duration = Duration::from_secs(2);
const REQUEST: Duration = Duration::from_secs(4);

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

fn net(limits: Limits) -> Net {
    let dir = tempfile::TempDir::new().unwrap();
    let server =
        Background::start_with(dir.path(), "127.0.0.1:0".parse().unwrap(), None, limits).unwrap();
    Net {
        url: server.url(),
        server,
        // Never reuse a connection the server may be closing as idle.
        client: Client::builder().pool_max_idle_per_host(0).build().unwrap(),
        _dir: dir,
    }
}

fn short() -> Limits {
    Limits {
        header_read: HEADER_READ,
        request: REQUEST,
        ..Limits::default()
    }
}

impl Net {
    fn enroll_with(&self, code: &str) -> reqwest::blocking::Response {
        self.client
            .post(format!("{}/v1/enroll", self.url))
            .body(
                json!({"v": 1, "code": code, "device_id": Uuid::now_v7(), "device_name": "prueba"})
                    .to_string(),
            )
            .send()
            .unwrap()
    }

    fn enroll(&self, office: &str) -> Dev {
        let code = self.server.enroll_code(office).unwrap();
        let response = self.enroll_with(&code);
        assert_eq!(response.status().as_u16(), 200);
        let answer: Value = response.json().unwrap();
        let token = answer["device_token"].as_str().unwrap().to_string();
        let db = self.server.db();
        let t = token.clone();
        let id = self
            .server
            .run(async move { db.device_by_token(&t).await })
            .unwrap()
            .id
            .as_uuid();
        Dev { token, id }
    }

    /// Pushes one user record (`author` creates user `id`); its outcome's status.
    fn push_user(&self, dev: &Dev, author: Uuid, id: Uuid, role: &str) -> String {
        let record = json!({"id": id, "name": format!("Usuario {role}"), "role": role,
                            "active": true});
        let outcomes = self
            .push(dev, &[op(dev, author, id, "create", record)])
            .unwrap();
        outcomes[0].0.clone()
    }

    /// Pushes ops: each one's status (or rejection code) and reason, or the whole batch
    /// refused (status, body).
    fn push(&self, dev: &Dev, ops: &[Value]) -> Result<Vec<(String, String)>, (u16, Value)> {
        let body = json!({"v": 1, "ops": ops});
        let response = self
            .client
            .post(format!("{}/v1/push", self.url))
            .bearer_auth(&dev.token)
            .body(reintegra_proto::encode(&body))
            .send()
            .unwrap();
        let status = response.status().as_u16();
        let bytes = response.bytes().unwrap();
        if status != 200 {
            return Err((status, serde_json::from_slice(&bytes).unwrap()));
        }
        let answer: reintegra_proto::PushResponse = reintegra_proto::decode(&bytes).unwrap();
        Ok(answer
            .results
            .into_iter()
            .map(|r| match r.outcome {
                reintegra_proto::Outcome::Applied { .. } => ("applied".into(), String::new()),
                reintegra_proto::Outcome::Duplicate => ("duplicate".into(), String::new()),
                reintegra_proto::Outcome::Rejected { code, reason } => (code, reason),
            })
            .collect())
    }

    /// A user record as the server holds it now.
    fn user(&self, dev: &Dev, id: Uuid) -> Option<Value> {
        let bucket = reintegra_core::sync_state::bucket_of(id);
        let bytes = self
            .client
            .get(format!("{}/v1/records?bucket={bucket}", self.url))
            .bearer_auth(&dev.token)
            .send()
            .unwrap()
            .bytes()
            .unwrap();
        let answer: reintegra_proto::RecordsResponse = reintegra_proto::decode(&bytes).unwrap();
        answer
            .records
            .into_iter()
            .find(|r| r.id == id)
            .map(|r| r.record)
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

/// An op of `dev` on the user record `id` (`create` with the record, or `update` with fields).
fn op(dev: &Dev, author: Uuid, id: Uuid, action: &str, body: Value) -> Value {
    let now = chrono::Utc::now().timestamp_millis();
    let (key, body) = if action == "create" {
        ("record", records::full("user", id, &body))
    } else {
        ("fields", body)
    };
    json!({
        "op_id": Uuid::now_v7(), "author": author, "device": dev.id,
        "hlc": {"wall_ms": now, "counter": 0, "node": format!("{:016x}", dev.id.as_u64_pair().1)},
        "change": {"entity": "user", "id": id, "action": action, key: body}
    })
}

/// How a raw connection ended: after how long, having sent how many bytes, with what answer.
struct Cut {
    after: Duration,
    sent: usize,
    answer: String,
}

/// Sends `head` whole, then `slow` one byte a second, until the server closes the connection
/// (or 30 s pass: then it was never cut).
fn trickle(addr: std::net::SocketAddr, head: &[u8], slow: &[u8]) -> Cut {
    let mut stream = TcpStream::connect(addr).unwrap();
    stream
        .set_read_timeout(Some(Duration::from_secs(1)))
        .unwrap();
    let start = Instant::now();
    stream.write_all(head).unwrap();
    let mut answer = Vec::new();
    let mut sent = 0;
    let mut buf = [0u8; 4096];
    while start.elapsed() < Duration::from_secs(30) {
        if sent < slow.len() && stream.write_all(&slow[sent..=sent]).is_ok() {
            sent += 1;
        }
        // Waits up to a second for the server: an answer, or the connection's end.
        match stream.read(&mut buf) {
            Ok(0) => break,
            Ok(n) => answer.extend_from_slice(&buf[..n]),
            Err(e) if matches!(e.kind(), ErrorKind::WouldBlock | ErrorKind::TimedOut) => {}
            Err(_) => break,
        }
    }
    Cut {
        after: start.elapsed(),
        sent,
        answer: String::from_utf8_lossy(&answer).into_owned(),
    }
}

/// The admin of the `*` device, created by itself (the server's bootstrap).
fn admin(net: &Net, hq: &Dev) -> Uuid {
    let admin = Uuid::now_v7();
    assert_eq!(net.push_user(hq, admin, admin, "admin"), "applied");
    admin
}

#[test]
fn m5_a_client_sending_its_headers_one_byte_a_second_is_cut_off_while_another_device_syncs() {
    let net = net(short());
    let hq = net.enroll("*");
    let admin = admin(&net, &hq);
    let addr = net.server.local_addr();
    let headers = b"POST /v1/push HTTP/1.1\r\nhost: reintegra\r\ncontent-length: 2\r\n\r\n{}";
    let slow = std::thread::spawn(move || trickle(addr, b"", headers));
    // Meanwhile the other device keeps pushing and reading.
    let mut synced = 0;
    while !slow.is_finished() {
        assert_eq!(
            net.push_user(&hq, admin, Uuid::now_v7(), "caseworker"),
            "applied"
        );
        net.seq(&hq);
        synced += 1;
        std::thread::sleep(Duration::from_millis(200));
    }
    let cut = slow.join().unwrap();
    assert!(
        cut.after < HEADER_READ + Duration::from_secs(3),
        "cut after {:?}",
        cut.after
    );
    assert!(cut.sent < headers.len(), "the headers never completed");
    assert!(!cut.answer.contains("200 OK"), "{}", cut.answer);
    assert!(
        synced >= 3,
        "the other device synced {synced} times meanwhile"
    );
    assert_eq!(
        net.seq(&hq),
        1 + synced,
        "every push of the other device applied"
    );
}

#[test]
fn m5_a_body_sent_one_byte_a_second_is_cut_off_at_the_request_deadline_with_nothing_applied() {
    let net = net(short());
    let hq = net.enroll("*");
    let admin = admin(&net, &hq);
    let before = net.seq(&hq);
    let head = format!(
        "POST /v1/push HTTP/1.1\r\nhost: reintegra\r\nauthorization: Bearer {}\r\ncontent-length: 100000\r\n\r\n",
        hq.token
    );
    let addr = net.server.local_addr();
    let slow = std::thread::spawn(move || trickle(addr, head.as_bytes(), &[0u8; 100_000]));
    while !slow.is_finished() {
        assert_eq!(
            net.push_user(&hq, admin, Uuid::now_v7(), "caseworker"),
            "applied"
        );
        std::thread::sleep(Duration::from_millis(300));
    }
    let cut = slow.join().unwrap();
    assert!(
        cut.after < REQUEST + Duration::from_secs(3),
        "cut after {:?}",
        cut.after
    );
    assert!(cut.answer.starts_with("HTTP/1.1 503"), "{}", cut.answer);
    assert!(
        cut.answer.contains("\"code\":\"timeout\""),
        "{}",
        cut.answer
    );
    assert!(cut.answer.contains("tardó demasiado"), "{}", cut.answer);
    // Only the other device's pushes were applied.
    let pushed_meanwhile = net.seq(&hq) - before;
    assert!(pushed_meanwhile >= 3, "{pushed_meanwhile}");
}

#[test]
fn m5_an_idle_kept_alive_connection_is_closed_after_the_header_deadline() {
    let net = net(short());
    let request = b"GET /v1/openapi.json HTTP/1.1\r\nhost: reintegra\r\n\r\n";
    let cut = trickle(net.server.local_addr(), request, b"");
    assert!(cut.answer.starts_with("HTTP/1.1 200"), "{}", cut.answer);
    assert!(
        cut.after < HEADER_READ + Duration::from_secs(3),
        "closed after {:?}",
        cut.after
    );
}

#[test]
fn m5_an_address_guessing_enrollment_codes_runs_out_of_attempts_and_a_good_code_stays_unused() {
    let net = net(Limits {
        enroll_burst: 3,
        enroll_refill: Duration::from_secs(3600),
        ..short()
    });
    // A real enrollment costs nothing of the budget.
    let hq = net.enroll("*");
    for _ in 0..3 {
        let guess = net.enroll_with("AAAA-BBBB-CCCC-DDDD");
        assert_eq!(guess.status().as_u16(), 403);
    }
    let code = net.server.enroll_code("*").unwrap();
    for attempt in [
        net.enroll_with("AAAA-BBBB-CCCC-EEEE"),
        net.enroll_with(&code),
    ] {
        assert_eq!(attempt.status().as_u16(), 429);
        let wait: u64 = attempt.headers()["retry-after"]
            .to_str()
            .unwrap()
            .parse()
            .unwrap();
        assert!(wait > 60, "{wait}");
        let body: Value = attempt.json().unwrap();
        assert_eq!(body["code"], "too_many_attempts");
        assert!(body["message"]
            .as_str()
            .unwrap()
            .contains("demasiados intentos"));
    }
    // The good code was not spent, and enrolled devices are not affected.
    let db = net.server.db();
    let spent = net
        .server
        .run(async move {
            db.enroll(
                &code,
                reintegra_core::ids::DeviceId::new(Uuid::now_v7()),
                "otro",
                false,
            )
            .await
        })
        .is_ok();
    assert!(spent, "the code was still good");
    assert_eq!(net.seq(&hq), 0);
}

#[test]
fn h6_a_batch_of_more_ops_than_the_limit_is_refused_whole() {
    let net = net(short());
    let hq = net.enroll("*");
    let admin = admin(&net, &hq);
    let before = net.seq(&hq);
    let ops: Vec<Value> = (0..=reintegra_proto::MAX_BATCH_OPS)
        .map(|_| {
            let id = Uuid::now_v7();
            op(
                &hq,
                admin,
                id,
                "create",
                json!({"id": id, "name": "x", "role": "caseworker", "active": true}),
            )
        })
        .collect();
    let (status, body) = net.push(&hq, &ops).unwrap_err();
    assert_eq!(status, 413);
    assert_eq!(body["code"], "too_many_ops");
    let message = body["message"].as_str().unwrap();
    assert!(message.contains("lotes más pequeños"), "{message}");
    assert_eq!(net.seq(&hq), before, "nothing of the batch applied");
    // At the limit it is a batch like any other.
    let applied = net
        .push(&hq, &ops[..reintegra_proto::MAX_BATCH_OPS])
        .unwrap();
    assert!(applied.iter().all(|(code, _)| code == "applied"));
}

/// A set merged with a list sent whole is linear and bounded: a list at the bound merges; one
/// that would make the record's list longer (alone, or once merged) is refused with its reason
/// and the record keeps what it had, while the rest of the batch applies.
#[test]
fn h6_a_huge_list_is_refused_and_the_rest_of_the_batch_applies() {
    use reintegra_core::merge::MAX_LIST_ITEMS;
    let net = net(short());
    let hq = net.enroll("*");
    let admin = admin(&net, &hq);
    let target = Uuid::now_v7();
    let ids = |n: usize| -> Vec<String> { (0..n).map(|_| Uuid::now_v7().to_string()).collect() };
    let created = net
        .push(
            &hq,
            &[op(
                &hq,
                admin,
                target,
                "create",
                json!({"id": target, "name": "Destino", "role": "caseworker", "active": true,
                       "not_same_as": ids(MAX_LIST_ITEMS)}),
            )],
        )
        .unwrap();
    assert_eq!(created[0].0, "applied");

    let other = Uuid::now_v7();
    let pushed = net
        .push(
            &hq,
            &[
                // 50,000 items sent whole (2 MB of JSON, inside the body limits).
                op(
                    &hq,
                    admin,
                    target,
                    "update",
                    json!({"not_same_as": ids(50_000), "name": "Cambiado"}),
                ),
                // Only one more, but merged it passes the bound.
                op(&hq, admin, target, "update", json!({"not_same_as": ids(1)})),
                op(
                    &hq,
                    admin,
                    other,
                    "create",
                    json!({"id": other, "name": "Otra", "role": "caseworker", "active": true}),
                ),
            ],
        )
        .unwrap();
    let codes: Vec<&str> = pushed.iter().map(|(code, _)| code.as_str()).collect();
    assert_eq!(codes, ["list_too_long", "list_too_long", "applied"]);
    assert!(
        pushed[0].1.contains("pasaría de 1000 elementos"),
        "{}",
        pushed[0].1
    );
    let kept = net.user(&hq, target).unwrap();
    assert_eq!(kept["name"], "Destino", "nothing of a refused op applied");
    assert_eq!(
        kept["not_same_as"].as_array().unwrap().len(),
        MAX_LIST_ITEMS
    );
    assert!(net.user(&hq, other).is_some());
}
