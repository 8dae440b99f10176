//! Bad input gets a 4xx with a clear `{v, code, message}` body — never a 5xx or a panic — and
//! the OpenAPI document lists exactly what the server answers.
#![allow(clippy::unwrap_used)]

use std::path::Path;

use reintegra_core::territory::Territory;
use reintegra_server::Background;
use reqwest::blocking::{Client, RequestBuilder};
use serde_json::{json, Value};
use uuid::Uuid;

struct Server {
    server: Background,
    url: String,
    _dir: tempfile::TempDir,
}

fn server() -> Server {
    let dir = tempfile::TempDir::new().unwrap();
    let server = Background::start(dir.path(), "127.0.0.1:0".parse().unwrap(), None).unwrap();
    Server {
        url: server.url(),
        server,
        _dir: dir,
    }
}

impl Server {
    /// The device id a token was enrolled with.
    fn device_of(&self, token: &str) -> Uuid {
        let db = self.server.db();
        let token = token.to_string();
        self.server
            .run(async move { db.device_by_token(&token).await })
            .unwrap()
            .id
            .as_uuid()
    }

    fn enroll(&self, office: &str) -> String {
        let code = self.server.enroll_code(office).unwrap();
        let answer: Value = Client::new()
            .post(format!("{}/v1/enroll", self.url))
            .body(
                json!({"v": 1, "code": code, "device_id": Uuid::now_v7(), "device_name": "t"})
                    .to_string(),
            )
            .send()
            .unwrap()
            .json()
            .unwrap();
        answer["device_token"].as_str().unwrap().to_string()
    }

    fn state(&self, token: &str) -> Value {
        Client::new()
            .get(format!("{}/v1/state", self.url))
            .bearer_auth(token)
            .send()
            .unwrap()
            .json()
            .unwrap()
    }
}

/// Sends and checks: the expected 4xx status and code, with a message in words.
fn refused(request: RequestBuilder, status: u16, code: &str) {
    let response = request.send().unwrap();
    assert_eq!(response.status().as_u16(), status, "expected {code}");
    let body: Value = response.json().unwrap();
    assert_eq!(body["v"], 1);
    assert_eq!(body["code"], code, "{body}");
    assert!(body["message"].as_str().unwrap().len() > 10, "{body}");
}

fn zstd(json: &Value) -> Vec<u8> {
    reintegra_proto::encode(json)
}

#[test]
fn bad_input_is_a_4xx_with_a_clear_body() {
    let s = server();
    let c = Client::new();
    let u = |p: &str| format!("{}{p}", s.url);
    let token = s.enroll("*");
    let auth = format!("Bearer {token}");

    refused(c.post(u("/v1/enroll")).body("{not json"), 400, "bad_json");
    refused(
        c.post(u("/v1/enroll")).body(r#"{"v": 99, "code": "x"}"#),
        400,
        "unsupported_version",
    );
    refused(
        c.post(u("/v1/enroll")).body(r#"{"code": "x"}"#),
        400,
        "missing_version",
    );
    refused(
        c.post(u("/v1/enroll")).body(
            json!({"v": 1, "code": "NOPE-NOPE", "device_id": Uuid::now_v7(), "device_name": "x"})
                .to_string(),
        ),
        403,
        "bad_enroll_code",
    );
    refused(
        c.post(u("/v1/push"))
            .body(zstd(&json!({"v": 1, "ops": []}))),
        401,
        "no_token",
    );
    refused(
        c.post(u("/v1/push"))
            .header("authorization", "Bearer 00")
            .body(vec![1, 2]),
        401,
        "unknown_device",
    );
    refused(
        c.post(u("/v1/push"))
            .header("authorization", &auth)
            .body("plain"),
        400,
        "bad_compression",
    );
    refused(
        c.post(u("/v1/push"))
            .header("authorization", &auth)
            .body(zstd(&json!({"v": 2, "ops": []}))),
        400,
        "unsupported_version",
    );
    refused(
        c.post(u("/v1/push"))
            .header("authorization", &auth)
            .body(zstd(&json!({"v": 1, "ops": [{"op_id": 5}]}))),
        400,
        "bad_json",
    );
    // Its own client: the server answers before reading the rest and closes that connection.
    refused(
        Client::new()
            .post(u("/v1/push"))
            .header("authorization", &auth)
            .body(vec![0u8; 2 << 20]),
        413,
        "too_large",
    );
    refused(
        c.get(u("/v1/pull")).header("authorization", &auth),
        400,
        "bad_request",
    );
    refused(
        c.get(u("/v1/pull?after=-1")).header("authorization", &auth),
        400,
        "bad_request",
    );
    refused(
        c.get(u("/v1/records?bucket=999"))
            .header("authorization", &auth),
        400,
        "bad_request",
    );
    refused(
        c.post(u(&format!("/v1/conflicts/{}/resolve", Uuid::now_v7())))
            .header("authorization", &auth)
            .body(json!({"v": 1, "value": 1, "author": Uuid::now_v7()}).to_string()),
        404,
        "unknown_conflict",
    );
    refused(c.get(u("/v2/anything")), 404, "not_found");
}

#[test]
fn ops_of_another_device_or_office_are_refused_whole() {
    let s = server();
    let c = Client::new();
    let place = Territory::el_salvador().prioritized().next().unwrap();
    let elsewhere = Territory::el_salvador()
        .places()
        .find(|p| p.municipality_code != place.municipality_code)
        .unwrap();
    let token = s.enroll(&place.municipality_code);
    assert_eq!(s.state(&token)["seq"], 0);
    let op = |device: Uuid, district: &str| {
        json!({
            "op_id": Uuid::now_v7(), "author": Uuid::now_v7(), "device": device,
            "hlc": {"wall_ms": 1, "counter": 0, "node": node_of(device)},
            "change": {"entity": "person", "id": Uuid::now_v7(), "action": "create",
                       "record": {"destination_district": district}}
        })
    };
    // Another device's op.
    refused(
        c.post(format!("{}/v1/push", s.url))
            .bearer_auth(&token)
            .body(zstd(
                &json!({"v": 1, "ops": [op(Uuid::now_v7(), &place.district_code)]}),
            )),
        400,
        "bad_request",
    );
    // An op on a person of another office: the whole batch is refused, naming the op.
    let device: Value = c
        .get(format!("{}/v1/conflicts?user={}", s.url, Uuid::now_v7()))
        .bearer_auth(&token)
        .send()
        .unwrap()
        .json()
        .unwrap();
    assert_eq!(
        device["code"], "forbidden",
        "the queue is a supervisor's: {device}"
    );
    let me = s.device_of(&token);
    let inside = op(me, &place.district_code);
    let outside = op(me, &elsewhere.district_code);
    let response = c
        .post(format!("{}/v1/push", s.url))
        .bearer_auth(&token)
        .body(zstd(&json!({"v": 1, "ops": [inside, outside.clone()]})))
        .send()
        .unwrap();
    assert_eq!(response.status().as_u16(), 403);
    let body: Value = response.json().unwrap();
    assert_eq!(body["code"], "out_of_scope");
    assert_eq!(body["op_ids"], json!([outside["op_id"]]));
    assert_eq!(
        s.state(&token)["seq"],
        0,
        "nothing of a refused batch is applied"
    );
}

#[test]
fn the_openapi_document_lists_what_the_server_answers() {
    let s = server();
    let c = Client::new();
    let doc: Value = c
        .get(format!("{}/v1/openapi.json", s.url))
        .send()
        .unwrap()
        .json()
        .unwrap();
    assert_eq!(doc, reintegra_server::openapi::document());
    for e in reintegra_server::openapi::ENDPOINTS {
        assert!(doc["paths"][e.path].is_object(), "{} undocumented", e.path);
        let path = e.path.replace("{id}", &Uuid::nil().to_string());
        let method = match e.method {
            utoipa::openapi::HttpMethod::Post => reqwest::Method::POST,
            _ => reqwest::Method::GET,
        };
        let response = c
            .request(method, format!("{}{path}", s.url))
            .send()
            .unwrap();
        assert!(response.status().as_u16() < 500, "{path}");
        let body: Value = response.json().unwrap_or(Value::Null);
        assert_ne!(
            body["code"], "not_found",
            "{path} is documented but not served"
        );
    }
    let file = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../docs/openapi.json");
    let pretty = serde_json::to_string_pretty(&doc).unwrap() + "\n";
    if std::env::var_os("UPDATE_OPENAPI").is_some() {
        std::fs::write(&file, &pretty).unwrap();
    }
    assert_eq!(
        std::fs::read_to_string(&file).unwrap_or_default(),
        pretty,
        "docs/openapi.json is stale: run UPDATE_OPENAPI=1 cargo test -p reintegra-server"
    );
}

/// L7: a device name that would forge lines or drive the admin's terminal when devices are
/// listed (a newline, an ANSI escape, a bidirectional override) is refused, and the code it
/// came with stays unused.
#[test]
fn l7_a_device_name_with_control_characters_is_refused_and_its_code_stays_unused() {
    let s = server();
    let c = Client::new();
    let code = s.server.enroll_code("*").unwrap();
    let enroll = |name: &str| {
        c.post(format!("{}/v1/enroll", s.url)).body(
            json!({"v": 1, "code": code, "device_id": Uuid::now_v7(), "device_name": name})
                .to_string(),
        )
    };
    for name in [
        "portátil\u{1b}[2J\u{1b}[31mrevocado",
        "portátil\nabc\t*\t2026-01-01\tactivo",
        "tab\tname",
        "borrar\u{7f}",
        "nombre \u{202e}lanigiro",
    ] {
        refused(enroll(name), 400, "bad_request");
    }
    let db = s.server.db();
    let devices = s.server.run(async move { db.devices().await }).unwrap();
    assert!(devices.is_empty(), "nothing enrolled: {devices:?}");
    let ok = enroll("Portátil de recepción Nº 2").send().unwrap();
    assert_eq!(ok.status().as_u16(), 200, "the code was not spent");
}

/// A device's HLC node as the wire writes it (16 hex digits).
fn node_of(device: Uuid) -> String {
    format!("{:016x}", device.as_u64_pair().1)
}

/// L4: when the database fails, the client hears that the server cannot answer now, and
/// nothing of the database: no SQL, no table, no stored value. The detail is the server's.
#[test]
fn l4_a_failing_database_answers_without_database_text() {
    let s = server();
    let c = Client::new();
    let token = s.enroll("*");
    let me = s.device_of(&token);
    let person = Uuid::now_v7();
    // The office's first admin, creating itself.
    let push = json!({"v": 1, "ops": [{
        "op_id": Uuid::now_v7(), "author": person, "device": me,
        "hlc": {"wall_ms": 1, "counter": 0, "node": node_of(me)},
        "change": {"entity": "user", "id": person, "action": "create",
                   "record": {"id": person, "name": "Rosa Secreta", "role": "admin", "active": true}}
    }]});
    let pushed = c
        .post(format!("{}/v1/push", s.url))
        .bearer_auth(&token)
        .body(zstd(&push))
        .send()
        .unwrap();
    assert_eq!(pushed.status().as_u16(), 200);

    // Break the database under the running server: one table gone, one stored row damaged.
    let file = s._dir.path().join("reintegra-server.sqlite");
    let rt = tokio::runtime::Runtime::new().unwrap();
    rt.block_on(async move {
        use sqlx::ConnectOptions;
        let mut conn = sqlx::sqlite::SqliteConnectOptions::new()
            .filename(file)
            .connect()
            .await
            .unwrap();
        sqlx::raw_sql(
            "DROP TABLE conflicts;
             UPDATE records SET state = '{\"value\": \"Rosa Secreta\"';",
        )
        .execute(&mut conn)
        .await
        .unwrap();
    });
    let answers = [
        (
            // The reader's user record is the damaged row.
            c.get(format!("{}/v1/conflicts?user={person}", s.url))
                .bearer_auth(&token),
            500,
            "corrupt",
        ),
        (
            c.get(format!(
                "{}/v1/records?bucket={}",
                s.url,
                reintegra_core::sync_state::bucket_of(person)
            ))
            .bearer_auth(&token),
            500,
            "corrupt",
        ),
    ];
    for (request, status, code) in answers {
        let response = request.send().unwrap();
        assert_eq!(response.status().as_u16(), status, "{code}");
        let body: Value = response.json().unwrap();
        assert_eq!(body["code"], code);
        let message = body["message"].as_str().unwrap();
        assert!(message.contains("vuelva a intentar"), "{message}");
        for internal in [
            "conflicts",
            "table",
            "SELECT",
            "sqlite",
            "Rosa",
            "EOF",
            "line",
        ] {
            assert!(
                !message.to_lowercase().contains(&internal.to_lowercase()),
                "{message} names {internal}"
            );
        }
    }
}
