//! Item 7 of #20: a property-based fuzz of the whole API, driven by the OpenAPI document the
//! server serves (`/v1/openapi.json`, the same as `docs/openapi.json`). For every operation of
//! the document, proptest makes requests from its schemas — parameters and bodies that match
//! them, and broken ones (a field missing or of another type, another JSON, bytes that are not
//! JSON or not zstd, more than the server reads), with the device's token, without one, or with a wrong one — and sends them
//! to a real server on port 0 where a device is enrolled and a conflict waits. Every answer must
//! be below 500, have a status the document lists for that operation, the content type the
//! document gives for that status, and a body that matches its schema (zstd bodies inflated);
//! a request the document does not allow (a parameter or body its schema refuses, a body not
//! framed as it says) must not be answered with a success.
//! Every body generated as valid must also be read by the `reintegra-proto` type its schema
//! names, so the schemas and the types cannot drift apart unseen.
//!
//! Values the fuzz cannot guess (a live enrollment code, the enrolled device's id, the users the
//! server knows, the conflict's id and values) are offered as hints by property name, three
//! times in four, so requests also reach past authentication and validation; the test fails if
//! an operation never answers 200.
//!
//! Each run draws a new seed, printed when it fails; `FUZZ_SEED=N` runs that seed again, and
//! `FUZZ_DEBUG=1` prints every answer.
#![allow(clippy::unwrap_used)]

use std::collections::{BTreeMap, HashMap};
use std::sync::Mutex;
use std::time::Duration;

use proptest::prelude::*;
use proptest::strategy::{BoxedStrategy, Union, ValueTree};
use proptest::test_runner::{Config, RngAlgorithm, TestCaseError, TestRng, TestRunner};
use reintegra_core::territory::Territory;
use reintegra_server::{Background, Limits};
use reqwest::blocking::Client;
use serde_json::{json, Map, Value};
use uuid::Uuid;

mod records;

const ZSTD: &str = reintegra_proto::CONTENT_TYPE_ZSTD_JSON;
/// Cases per operation: ten operations, 640 requests, a few seconds.
const CASES: u32 = 64;

/// A device as the server knows it.
struct Dev {
    token: String,
    id: Uuid,
}

fn node(dev: &Dev) -> String {
    format!("{:016x}", dev.id.as_u64_pair().1)
}

fn now_ms() -> i64 {
    chrono::Utc::now().timestamp_millis()
}

fn post(client: &Client, url: &str, token: Option<&str>, body: Vec<u8>) -> (u16, Vec<u8>) {
    let mut request = client.post(url).body(body);
    if let Some(token) = token {
        request = request.bearer_auth(token);
    }
    let response = request.send().unwrap();
    (
        response.status().as_u16(),
        response.bytes().unwrap().to_vec(),
    )
}

fn enroll(server: &Background, client: &Client, office: &str) -> Dev {
    let code = server.enroll_code(office).unwrap();
    let id = Uuid::now_v7();
    let body = json!({"v": 1, "code": code, "device_id": id, "device_name": "fuzz"});
    let (status, answer) = post(
        client,
        &format!("{}/v1/enroll", server.url()),
        None,
        body.to_string().into_bytes(),
    );
    assert_eq!(status, 200);
    let answer: Value = serde_json::from_slice(&answer).unwrap();
    Dev {
        token: answer["device_token"].as_str().unwrap().to_string(),
        id,
    }
}

fn op(dev: &Dev, author: Uuid, entity: &str, id: Uuid, action: &str, body: Value) -> Value {
    let (key, body) = if action == "create" {
        ("record", records::full(entity, id, &body))
    } else {
        ("fields", body)
    };
    json!({
        "op_id": Uuid::now_v7(), "author": author, "device": dev.id, "base_seq": 1,
        "hlc": {"wall_ms": now_ms(), "counter": 0, "node": node(dev)},
        "change": {"entity": entity, "id": id, "action": action, key: body}
    })
}

fn push(server: &Background, client: &Client, dev: &Dev, ops: Vec<Value>) {
    let (status, answer) = post(
        client,
        &format!("{}/v1/push", server.url()),
        Some(&dev.token),
        reintegra_proto::encode(&json!({"v": 1, "ops": ops})),
    );
    assert_eq!(status, 200);
    let answer: reintegra_proto::PushResponse = reintegra_proto::decode(&answer).unwrap();
    for r in &answer.results {
        assert!(
            matches!(r.outcome, reintegra_proto::Outcome::Applied { .. }),
            "{r:?}"
        );
    }
}

fn user(id: Uuid, role: &str, office: Option<&str>) -> Value {
    json!({"id": id, "name": format!("Usuario {role}"), "role": role,
           "office_municipality": office, "active": true})
}

/// The server, its document, the enrolled device the fuzz speaks as, and the hints.
struct World {
    server: Background,
    client: Client,
    doc: Value,
    dev: Dev,
    hints: HashMap<&'static str, Vec<Value>>,
    _dir: tempfile::TempDir,
}

/// A server with an office that works: an admin, a caseworker and a supervisor, two devices of
/// the office, a person whose phone both devices changed at once (one conflict).
fn world() -> World {
    let dir = tempfile::TempDir::new().unwrap();
    // Budgets large enough that the fuzz reaches past them (429 stays a documented answer).
    let limits = Limits {
        enroll_burst: 100_000,
        auth_failure_burst: 100_000,
        ..Limits::default()
    };
    let server =
        Background::start_with(dir.path(), "127.0.0.1:0".parse().unwrap(), None, limits).unwrap();
    // A connection per request: the server closes a connection whose request body it did not
    // read (an early refusal), and a pooled client could send the next request on it first.
    let client = Client::builder()
        .timeout(Duration::from_secs(30))
        .pool_max_idle_per_host(0)
        .build()
        .unwrap();
    let place = Territory::el_salvador().prioritized().next().unwrap();
    let (district, office) = (&place.district_code, &place.municipality_code);
    let hq = enroll(&server, &client, "*");
    let (admin, caseworker, supervisor) = (Uuid::now_v7(), Uuid::now_v7(), Uuid::now_v7());
    let create_user = |author, id, role, office| {
        let mut op = op(&hq, author, "user", id, "create", user(id, role, office));
        op["base_seq"] = json!(0);
        op
    };
    push(
        &server,
        &client,
        &hq,
        vec![create_user(admin, admin, "admin", None)],
    );
    push(
        &server,
        &client,
        &hq,
        vec![
            create_user(admin, caseworker, "caseworker", Some(office)),
            create_user(admin, supervisor, "supervisor", Some(office)),
        ],
    );
    let (a, b) = (
        enroll(&server, &client, office),
        enroll(&server, &client, office),
    );
    let person = Uuid::now_v7();
    let record = json!({"given_names": "Rosa", "first_surname": "Pérez",
                        "destination_district": district, "phone": "7000-0000"});
    let mut create = op(&a, caseworker, "person", person, "create", record);
    create["base_seq"] = json!(0);
    push(&server, &client, &a, vec![create]);
    for (dev, phone) in [(&a, "7111-1111"), (&b, "7222-2222")] {
        let edit = op(
            dev,
            caseworker,
            "person",
            person,
            "update",
            json!({"phone": phone}),
        );
        push(&server, &client, dev, vec![edit]);
    }
    let (status, conflicts) = {
        let response = client
            .get(format!("{}/v1/conflicts?user={supervisor}", server.url()))
            .bearer_auth(&a.token)
            .send()
            .unwrap();
        (
            response.status().as_u16(),
            response.json::<Value>().unwrap(),
        )
    };
    assert_eq!(status, 200, "{conflicts}");
    let conflict = conflicts["conflicts"][0]["id"].clone();
    assert!(
        conflict.is_string(),
        "the world has a conflict: {conflicts}"
    );

    let doc: Value = client
        .get(format!("{}/v1/openapi.json", server.url()))
        .send()
        .unwrap()
        .json()
        .unwrap();
    assert_eq!(doc, reintegra_server::openapi::document());

    let hints = HashMap::from([
        ("code", vec![json!(CODE)]),
        ("author", vec![json!(supervisor), json!(caseworker)]),
        ("user", vec![json!(supervisor), json!(admin)]),
        ("device", vec![json!(a.id)]),
        ("node", vec![json!(node(&a))]),
        ("wall_ms", vec![json!(now_ms())]),
        ("id", vec![conflict]),
        ("value", vec![json!("7111-1111"), json!("7222-2222")]),
        ("entity", vec![json!("person")]),
    ]);
    World {
        server,
        client,
        doc,
        dev: a,
        hints,
        _dir: dir,
    }
}

/// Stands for a fresh enrollment code, made when the request is sent.
const CODE: &str = "<fresh enrollment code>";

/// The schema a `$ref` names.
fn resolve<'a>(doc: &'a Value, schema: &'a Value) -> &'a Value {
    match schema.get("$ref").and_then(Value::as_str) {
        Some(r) => {
            let name = r.trim_start_matches("#/components/schemas/");
            resolve(doc, &doc["components"]["schemas"][name])
        }
        None => schema,
    }
}

/// Any JSON, small.
fn any_json() -> BoxedStrategy<Value> {
    let leaf = prop_oneof![
        Just(Value::Null),
        any::<bool>().prop_map(Value::from),
        any::<i64>().prop_map(Value::from),
        any::<u64>().prop_map(Value::from),
        (-1e9f64..1e9).prop_map(Value::from),
        "[a-zA-Z0-9 ñé\\-]{0,12}".prop_map(Value::from),
        Just(json!("\u{202e}\n\u{0}")),
    ];
    leaf.prop_recursive(2, 8, 3, |inner| {
        prop_oneof![
            prop::collection::vec(inner.clone(), 0..3).prop_map(Value::from),
            prop::collection::btree_map("[a-z_]{1,8}", inner, 0..3)
                .prop_map(|m| Value::Object(m.into_iter().collect())),
        ]
    })
    .boxed()
}

fn types(schema: &Value) -> Vec<&str> {
    match &schema["type"] {
        Value::String(t) => vec![t.as_str()],
        Value::Array(ts) => ts.iter().filter_map(Value::as_str).collect(),
        _ => Vec::new(),
    }
}

/// Values that match `schema`; a property named by a hint takes the hint half of the time.
fn generate(
    doc: &Value,
    schema: &Value,
    hints: &HashMap<&'static str, Vec<Value>>,
    depth: u32,
) -> BoxedStrategy<Value> {
    let schema = resolve(doc, schema);
    if let Some(all) = schema.get("allOf").and_then(Value::as_array) {
        let parts: Vec<_> = all.iter().map(|s| generate(doc, s, hints, depth)).collect();
        return parts
            .prop_map(|parts| {
                let mut merged = Map::new();
                for part in parts {
                    if let Value::Object(m) = part {
                        merged.extend(m);
                    }
                }
                Value::Object(merged)
            })
            .boxed();
    }
    if let Some(one) = schema
        .get("oneOf")
        .or_else(|| schema.get("anyOf"))
        .and_then(Value::as_array)
    {
        return Union::new(one.iter().map(|s| generate(doc, s, hints, depth))).boxed();
    }
    if let Some(values) = schema.get("enum").and_then(Value::as_array) {
        return prop::sample::select(values.clone()).boxed();
    }
    let ts = types(schema);
    if ts.is_empty() {
        return any_json();
    }
    Union::new(
        ts.into_iter()
            .map(|t| of_type(doc, schema, t, hints, depth)),
    )
    .boxed()
}

fn of_type(
    doc: &Value,
    schema: &Value,
    t: &str,
    hints: &HashMap<&'static str, Vec<Value>>,
    depth: u32,
) -> BoxedStrategy<Value> {
    match t {
        "null" => Just(Value::Null).boxed(),
        "boolean" => any::<bool>().prop_map(Value::from).boxed(),
        "integer" => {
            let min = schema["minimum"].as_i64();
            let max = schema["maximum"].as_u64();
            match (min, max, schema["format"].as_str()) {
                (Some(0), Some(max), _) => prop_oneof![0..=max.min(9), 0..=max]
                    .prop_map(Value::from)
                    .boxed(),
                (Some(0), None, Some("int32")) => prop_oneof![0u64..10, 0..=u64::from(u32::MAX)]
                    .prop_map(Value::from)
                    .boxed(),
                (Some(0), None, _) => prop_oneof![0u64..10, any::<u64>()]
                    .prop_map(Value::from)
                    .boxed(),
                _ => any::<i64>().prop_map(Value::from).boxed(),
            }
        }
        "number" => (-1e9f64..1e9).prop_map(Value::from).boxed(),
        "string" => {
            if schema["format"] == "uuid" {
                any::<u128>()
                    .prop_map(|n| json!(Uuid::from_u128(n)))
                    .boxed()
            } else if let Some(pattern) = schema["pattern"].as_str() {
                let pattern = pattern.trim_start_matches('^').trim_end_matches('$');
                proptest::string::string_regex(pattern)
                    .unwrap()
                    .prop_map(Value::from)
                    .boxed()
            } else {
                let min = schema["minLength"].as_u64().unwrap_or(0);
                let max = schema["maxLength"].as_u64().unwrap_or(16).min(16);
                prop_oneof![
                    6 => proptest::string::string_regex(&format!("[a-zA-Z0-9ñé]{{{min},{max}}}"))
                        .unwrap(),
                    1 => "[a-zA-Z0-9 ñé\\-]{0,16}",
                    1 => Just("\u{1b}[31m\n".to_string()),
                    1 => Just("x".repeat(200)),
                ]
                .prop_map(Value::from)
                .boxed()
            }
        }
        "array" => {
            let items = generate(doc, &schema["items"], hints, depth + 1);
            let most = if depth > 3 { 1 } else { 3 };
            prop::collection::vec(items, 0..=most)
                .prop_map(Value::from)
                .boxed()
        }
        "object" => object(doc, schema, hints, depth),
        other => panic!("the fuzz does not know the type {other}"),
    }
}

fn object(
    doc: &Value,
    schema: &Value,
    hints: &HashMap<&'static str, Vec<Value>>,
    depth: u32,
) -> BoxedStrategy<Value> {
    let required: Vec<&str> = schema["required"]
        .as_array()
        .map(|r| r.iter().filter_map(Value::as_str).collect())
        .unwrap_or_default();
    let mut fields: Vec<BoxedStrategy<Option<(String, Value)>>> = Vec::new();
    if let Some(properties) = schema["properties"].as_object() {
        for (name, property) in properties {
            let mut value = generate(doc, property, hints, depth + 1);
            if let Some(hinted) = hints.get(name.as_str()) {
                value = prop_oneof![3 => prop::sample::select(hinted.clone()), 1 => value].boxed();
            }
            let name = name.clone();
            let field = if required.contains(&name.as_str()) {
                value.prop_map(move |v| Some((name.clone(), v))).boxed()
            } else {
                prop::option::of(value)
                    .prop_map(move |v| v.map(|v| (name.clone(), v)))
                    .boxed()
            };
            fields.push(field);
        }
    }
    let extra = match schema.get("additionalProperties") {
        Some(Value::Bool(false)) | None if schema.get("properties").is_some() => {
            Just(BTreeMap::new()).boxed()
        }
        _ => prop::collection::btree_map("[a-z_]{1,8}", any_json(), 0..3).boxed(),
    };
    (fields, extra)
        .prop_map(|(fields, extra)| {
            let mut map: Map<String, Value> = extra.into_iter().collect();
            map.extend(fields.into_iter().flatten());
            Value::Object(map)
        })
        .boxed()
}

/// Why a value does not match a schema, if it does not.
fn check(doc: &Value, schema: &Value, value: &Value, at: &str) -> Result<(), String> {
    let schema = resolve(doc, schema);
    if let Some(all) = schema.get("allOf").and_then(Value::as_array) {
        for s in all {
            check(doc, s, value, at)?;
        }
    }
    if let Some(one) = schema.get("oneOf").and_then(Value::as_array) {
        let matching = one
            .iter()
            .filter(|s| check(doc, s, value, at).is_ok())
            .count();
        if matching != 1 {
            return Err(format!(
                "{at}: {value} matches {matching} of the oneOf, not 1"
            ));
        }
    }
    if let Some(values) = schema.get("enum").and_then(Value::as_array) {
        if !values.contains(value) {
            return Err(format!("{at}: {value} is none of {values:?}"));
        }
    }
    let ts = types(schema);
    if ts.is_empty() {
        return Ok(());
    }
    let is = |t: &str| match t {
        "null" => value.is_null(),
        "boolean" => value.is_boolean(),
        "integer" => value.is_i64() || value.is_u64(),
        "number" => value.is_number(),
        "string" => value.is_string(),
        "array" => value.is_array(),
        "object" => value.is_object(),
        _ => false,
    };
    if !ts.iter().any(|t| is(t)) {
        return Err(format!("{at}: {value} is not {ts:?}"));
    }
    if let Some(n) = value.as_f64() {
        if schema["minimum"].as_f64().is_some_and(|min| n < min)
            || schema["maximum"].as_f64().is_some_and(|max| n > max)
        {
            return Err(format!("{at}: {value} is out of bounds"));
        }
    }
    if let Some(s) = value.as_str() {
        if schema["format"] == "uuid" && Uuid::parse_str(s).is_err() {
            return Err(format!("{at}: {s:?} is not a UUID"));
        }
        if let Some(pattern) = schema["pattern"].as_str() {
            if !regex::Regex::new(pattern).unwrap().is_match(s) {
                return Err(format!("{at}: {s:?} does not match {pattern}"));
            }
        }
    }
    if let Some(items) = value.as_array() {
        for (i, item) in items.iter().enumerate() {
            check(doc, &schema["items"], item, &format!("{at}[{i}]"))?;
        }
    }
    if let Some(map) = value.as_object() {
        for name in schema["required"].as_array().into_iter().flatten() {
            let name = name.as_str().unwrap_or_default();
            if !map.contains_key(name) {
                return Err(format!("{at}: {name} is missing"));
            }
        }
        let properties = schema["properties"].as_object();
        for (name, v) in map {
            match properties.and_then(|p| p.get(name)) {
                Some(s) => check(doc, s, v, &format!("{at}.{name}"))?,
                None => match schema.get("additionalProperties") {
                    Some(Value::Bool(false)) => {
                        return Err(format!("{at}: {name} is not a property"))
                    }
                    Some(s) if s.is_object() => check(doc, s, v, &format!("{at}.{name}"))?,
                    _ => {}
                },
            }
        }
    }
    Ok(())
}

/// A body as sent: the schema's value, or one broken on purpose.
#[derive(Debug, Clone)]
enum Body {
    Valid(Value),
    /// The value without one of its top-level fields (by index).
    Without(Value, usize),
    /// The value with one top-level field replaced by any JSON.
    Replaced(Value, usize, Value),
    /// Any JSON at all.
    Other(Value),
    /// Bytes, not necessarily JSON or zstd.
    Bytes(Vec<u8>),
    /// The JSON of the value, not compressed (or compressed where JSON is expected).
    OtherFraming(Value),
    /// More bytes than the server reads.
    Huge,
}

fn body(valid: BoxedStrategy<Value>) -> BoxedStrategy<Body> {
    prop_oneof![
        6 => valid.clone().prop_map(Body::Valid),
        1 => (valid.clone(), 0..8usize).prop_map(|(v, i)| Body::Without(v, i)),
        1 => (valid.clone(), 0..8usize, any_json()).prop_map(|(v, i, x)| Body::Replaced(v, i, x)),
        1 => any_json().prop_map(Body::Other),
        1 => prop::collection::vec(any::<u8>(), 0..64).prop_map(Body::Bytes),
        1 => valid.prop_map(Body::OtherFraming),
        1 => Just(Body::Huge),
    ]
    .boxed()
}

fn edit(mut value: Value, index: usize, with: Option<Value>) -> Value {
    if let Value::Object(map) = &mut value {
        if let Some(key) = map.keys().nth(index % map.len().max(1)).cloned() {
            match with {
                Some(x) => map.insert(key, x),
                None => map.remove(&key),
            };
        }
    }
    value
}

/// Replaces the stand-ins in a value by live values (a fresh enrollment code).
fn live(value: &mut Value, server: &Background) {
    match value {
        Value::String(s) if s == CODE => *s = server.enroll_code("*").unwrap(),
        Value::Array(items) => items.iter_mut().for_each(|v| live(v, server)),
        Value::Object(map) => map.values_mut().for_each(|v| live(v, server)),
        _ => {}
    }
}

/// The bytes of a body for a request whose document content type is `content_type`.
fn bytes(body: &Body, content_type: &str, server: &Background) -> Vec<u8> {
    let frame = |mut v: Value, compressed: bool| {
        live(&mut v, server);
        if compressed {
            reintegra_proto::encode(&v)
        } else {
            serde_json::to_vec(&v).unwrap()
        }
    };
    let zstd = content_type == ZSTD;
    match body.clone() {
        Body::Valid(v) | Body::Other(v) => frame(v, zstd),
        Body::Without(v, i) => frame(edit(v, i, None), zstd),
        Body::Replaced(v, i, x) => frame(edit(v, i, Some(x)), zstd),
        Body::OtherFraming(v) => frame(v, !zstd),
        Body::Bytes(b) => b,
        Body::Huge => vec![b' '; reintegra_proto::MAX_COMPRESSED + 1],
    }
}

/// A parameter's value as sent: one its schema allows, or a string that is not.
fn param(doc: &Value, schema: &Value, required: bool) -> BoxedStrategy<Option<String>> {
    let text = |v: Value| match v {
        Value::String(s) => s,
        other => other.to_string(),
    };
    let valid = generate(doc, schema, &HashMap::new(), 0).prop_map(move |v| Some(text(v)));
    // Just past the bound, where a schema and the server most often disagree.
    let past_max = match schema["maximum"].as_u64() {
        Some(max) if max < u64::MAX => (max + 1).to_string(),
        _ => "18446744073709551616".to_string(),
    };
    let broken = prop_oneof![
        "[a-zA-Z0-9_\\-]{0,10}".prop_map(Some),
        Just(Some("-1".to_string())),
        Just(Some(past_max)),
    ];
    if required {
        prop_oneof![6 => valid, 2 => broken, 1 => Just(None)].boxed()
    } else {
        prop_oneof![3 => valid, 1 => broken, 3 => Just(None)].boxed()
    }
}

/// One request of an operation.
#[derive(Debug, Clone)]
struct Call {
    params: Vec<(String, String, Option<String>)>,
    /// Which hinted value replaces a parameter of that name, if any (index into the hints).
    hinted: Vec<Option<usize>>,
    body: Option<Body>,
    /// 0: the device's token; 1: none; 2: a token the server never gave.
    auth: u8,
}

#[derive(Default, Debug)]
struct Seen {
    statuses: BTreeMap<(String, u16), u32>,
}

#[test]
fn every_operation_answers_only_what_the_document_lists() {
    let w = world();
    let seen = Mutex::new(Seen::default());
    let paths = w.doc["paths"].as_object().unwrap().clone();
    let seed = std::env::var("FUZZ_SEED")
        .ok()
        .and_then(|s| s.parse().ok())
        .unwrap_or_else(rand::random::<u64>);
    let mut operations = 0;
    for (path, item) in &paths {
        for (method, operation) in item.as_object().unwrap() {
            operations += 1;
            fuzz_operation(&w, path, method, operation, &seen, seed);
        }
    }
    assert_eq!(operations, reintegra_server::openapi::ENDPOINTS.len());
    let seen = seen.into_inner().unwrap();
    eprintln!("statuses seen per operation: {:?}", seen.statuses);
    // The fuzz reaches every operation's success (hints let it past tokens and checks).
    for e in reintegra_server::openapi::ENDPOINTS {
        let method = match e.method {
            utoipa::openapi::HttpMethod::Post => "POST",
            _ => "GET",
        };
        let name = format!("{method} {}", e.path);
        assert!(
            seen.statuses.contains_key(&(name.clone(), 200)),
            "{name} never answered 200 (FUZZ_SEED={seed}): {:?}",
            seen.statuses
        );
    }
}

fn fuzz_operation(
    w: &World,
    path: &str,
    method: &str,
    operation: &Value,
    seen: &Mutex<Seen>,
    seed: u64,
) {
    let doc = &w.doc;
    let name = format!("{} {path}", method.to_uppercase());
    let mut param_strategies = Vec::new();
    let mut names = Vec::new();
    for p in operation["parameters"].as_array().into_iter().flatten() {
        let required = p["required"] == true;
        names.push((
            p["name"].as_str().unwrap().to_string(),
            p["in"].as_str().unwrap().to_string(),
        ));
        param_strategies.push(param(doc, &p["schema"], required));
    }
    let hint_counts: Vec<usize> = names
        .iter()
        .map(|(n, _)| w.hints.get(n.as_str()).map_or(0, Vec::len))
        .collect();
    let hinted = hint_counts
        .iter()
        .map(|&n| {
            if n == 0 {
                Just(None).boxed()
            } else {
                prop_oneof![3 => (0..n).prop_map(Some), 1 => Just(None)].boxed()
            }
        })
        .collect::<Vec<_>>();
    let request = operation
        .get("requestBody")
        .and_then(|b| b["content"].as_object())
        .and_then(|c| c.iter().next())
        .map(|(ct, media)| (ct.clone(), media["schema"].clone()));
    let body_strategy = match &request {
        Some((_, schema)) => body(generate(doc, schema, &w.hints, 0))
            .prop_map(Some)
            .boxed(),
        None => Just(None).boxed(),
    };
    let secured = operation.get("security").is_some();
    let names_for_call = names.clone();
    let calls = (
        param_strategies,
        hinted,
        body_strategy,
        prop_oneof![8 => Just(0u8), 1 => Just(1u8), 1 => Just(2u8)],
    )
        .prop_map(move |(values, hinted, body, auth)| Call {
            params: names_for_call
                .iter()
                .cloned()
                .zip(values)
                .map(|((n, place), v)| (n, place, v))
                .collect(),
            hinted,
            body,
            auth,
        });
    let config = Config {
        cases: CASES,
        failure_persistence: None,
        ..Config::default()
    };
    let mut seed_bytes = [0u8; 32];
    seed_bytes[..8].copy_from_slice(&seed.to_le_bytes());
    let rng = TestRng::from_seed(RngAlgorithm::ChaCha, &seed_bytes);
    let mut runner = TestRunner::new_with_rng(config, rng);
    let judge = |call: Call| -> Result<u16, TestCaseError> {
        let (status, answer) = send(w, path, method, &call, request.as_ref());
        seen.lock()
            .unwrap()
            .statuses
            .entry((name.clone(), status))
            .and_modify(|n| *n += 1)
            .or_insert(1);
        if status == CLOSED {
            return Ok(status);
        }
        if std::env::var_os("FUZZ_DEBUG").is_some() {
            eprintln!("{name} {status} {}", String::from_utf8_lossy(&answer.1));
        }
        if status >= 500 {
            return Err(TestCaseError::fail(format!(
                "{name}: {status} {}",
                String::from_utf8_lossy(&answer.1)
            )));
        }
        let Some(documented) = operation["responses"].get(status.to_string()) else {
            return Err(TestCaseError::fail(format!(
                "{name} answered {status}, which the document does not list: {}",
                String::from_utf8_lossy(&answer.1)
            )));
        };
        let (content_type, media) = documented["content"]
            .as_object()
            .and_then(|c| c.iter().next())
            .unwrap();
        if !answer.0.starts_with(content_type.as_str()) {
            return Err(TestCaseError::fail(format!(
                "{name} {status}: content type {} where the document says {content_type}",
                answer.0
            )));
        }
        let value: Value = if content_type == ZSTD {
            reintegra_proto::decode(&answer.1)
                .map_err(|e| TestCaseError::fail(format!("{name} {status}: {e}")))?
        } else {
            serde_json::from_slice(&answer.1)
                .map_err(|e| TestCaseError::fail(format!("{name} {status}: {e}")))?
        };
        check(doc, &media["schema"], &value, "body")
            .map_err(|e| TestCaseError::fail(format!("{name} {status}: {e}")))?;
        if status < 300 {
            if let Some(why) = breaks_document(doc, operation, &call, request.as_ref(), &w.hints) {
                return Err(TestCaseError::fail(format!(
                    "{name} answered {status} to a request the document does not allow: {why}"
                )));
            }
        }
        if !secured && call.auth == 0 && status == 401 {
            return Err(TestCaseError::fail(format!("{name} asked for a token")));
        }
        if let (Some(Body::Valid(v)), Some((_, schema))) = (&call.body, &request) {
            readable(schema, v).map_err(|e| {
                TestCaseError::fail(format!("{name}: a body the schema allows is not read: {e}"))
            })?;
        }
        Ok(status)
    };
    // First the plainest request the document allows, with the hints: it must succeed.
    let plain = Call {
        params: names
            .iter()
            .zip(operation["parameters"].as_array().into_iter().flatten())
            .map(|((n, place), p)| {
                let value = match w.hints.get(n.as_str()) {
                    Some(hinted) => Some(text(&hinted[0])),
                    None if p["required"] == true => {
                        Some(text(&plainest(doc, &p["schema"], &w.hints)))
                    }
                    None => None,
                };
                (n.clone(), place.clone(), value)
            })
            .collect(),
        hinted: vec![None; names.len()],
        body: request
            .as_ref()
            .map(|(_, schema)| Body::Valid(plainest(doc, schema, &w.hints))),
        auth: 0,
    };
    match judge(plain.clone()) {
        Ok(200) => {}
        Ok(status) => panic!("{name}: the plainest request {plain:?} answered {status}"),
        Err(e) => panic!("{name}: the plainest request {plain:?}: {e}"),
    }
    let result = runner.run(&calls, |call| judge(call).map(drop));
    if let Err(e) = result {
        panic!("{e} (FUZZ_SEED={seed})");
    }
}

/// The plainest value a schema allows: required properties only, the first hint where there
/// is one, the first choice of every choice, empty lists, the smallest numbers, short strings.
fn plainest(doc: &Value, schema: &Value, hints: &HashMap<&'static str, Vec<Value>>) -> Value {
    let schema = resolve(doc, schema);
    if let Some(all) = schema.get("allOf").and_then(Value::as_array) {
        let mut merged = Map::new();
        for part in all {
            if let Value::Object(m) = plainest(doc, part, hints) {
                merged.extend(m);
            }
        }
        return Value::Object(merged);
    }
    if let Some(first) = schema
        .get("oneOf")
        .or_else(|| schema.get("anyOf"))
        .and_then(|c| c.get(0))
    {
        return plainest(doc, first, hints);
    }
    if let Some(first) = schema.get("enum").and_then(|e| e.get(0)) {
        return first.clone();
    }
    match types(schema).into_iter().find(|t| *t != "null") {
        None if types(schema).is_empty() => json!({}),
        None => Value::Null,
        Some("boolean") => json!(false),
        Some("integer") => json!(schema["minimum"].as_u64().unwrap_or(0)),
        Some("number") => json!(0),
        Some("string") if schema["format"] == "uuid" => json!(Uuid::now_v7()),
        Some("string") => match schema["pattern"].as_str() {
            Some(pattern) => {
                let pattern = pattern.trim_start_matches('^').trim_end_matches('$');
                let tree = proptest::string::string_regex(pattern)
                    .unwrap()
                    .new_tree(&mut TestRunner::deterministic())
                    .unwrap();
                json!(tree.current())
            }
            None => json!("a".repeat(schema["minLength"].as_u64().unwrap_or(1).max(1) as usize)),
        },
        Some("array") => json!([]),
        Some("object") => {
            let mut map = Map::new();
            for name in schema["required"].as_array().into_iter().flatten() {
                let name = name.as_str().unwrap_or_default();
                let value = match hints.get(name) {
                    Some(hinted) => hinted[0].clone(),
                    None => plainest(doc, &schema["properties"][name], hints),
                };
                map.insert(name.to_string(), value);
            }
            Value::Object(map)
        }
        Some(other) => panic!("the fuzz does not know the type {other}"),
    }
}

/// The request body, as the proto type its schema names reads it.
fn readable(schema: &Value, value: &Value) -> Result<(), String> {
    use reintegra_proto::*;
    let v = value.clone();
    let read = match schema["$ref"].as_str().unwrap_or_default() {
        "#/components/schemas/EnrollRequest" => {
            serde_json::from_value::<EnrollRequest>(v).map(drop)
        }
        "#/components/schemas/PushRequest" => serde_json::from_value::<PushRequest>(v).map(drop),
        "#/components/schemas/AppliedRequest" => {
            serde_json::from_value::<AppliedRequest>(v).map(drop)
        }
        "#/components/schemas/ResolveRequest" => {
            serde_json::from_value::<ResolveRequest>(v).map(drop)
        }
        other => return Err(format!("no proto type for {other}")),
    };
    read.map_err(|e| format!("{e}: {value}"))
}

/// Whether a parameter's value as sent is one its schema allows.
fn param_allowed(schema: &Value, value: Option<&str>, required: bool) -> bool {
    let Some(value) = value else {
        return !required;
    };
    match schema["type"].as_str() {
        Some("integer") => value.parse::<u64>().is_ok_and(|n| {
            schema["maximum"].as_u64().is_none_or(|max| n <= max)
                && schema["minimum"].as_u64().is_none_or(|min| n >= min)
        }),
        Some("boolean") => value == "true" || value == "false",
        Some("string") if schema["format"] == "uuid" => Uuid::parse_str(value).is_ok(),
        _ => true,
    }
}

/// Why a call breaks the document (a parameter or the body it does not allow), if it does:
/// the server must then refuse it.
fn breaks_document(
    doc: &Value,
    operation: &Value,
    call: &Call,
    request: Option<&(String, Value)>,
    hints: &HashMap<&'static str, Vec<Value>>,
) -> Option<String> {
    let parameters = operation["parameters"]
        .as_array()
        .cloned()
        .unwrap_or_default();
    for (p, ((name, _, value), hinted)) in
        parameters.iter().zip(call.params.iter().zip(&call.hinted))
    {
        let value = match hinted {
            Some(i) => Some(text(&hints[name.as_str()][*i])),
            None => value.clone(),
        };
        if !param_allowed(&p["schema"], value.as_deref(), p["required"] == true) {
            return Some(format!("parameter {name}={value:?}"));
        }
    }
    let (Some(body), Some((_, schema))) = (&call.body, request) else {
        return None;
    };
    let sent = match body.clone() {
        Body::Valid(_) => return None,
        Body::Bytes(_) | Body::Huge | Body::OtherFraming(_) => {
            return Some(format!("a body not framed as the document says: {body:?}"))
        }
        Body::Without(v, i) => edit(v, i, None),
        Body::Replaced(v, i, x) => edit(v, i, Some(x)),
        Body::Other(v) => v,
    };
    check(doc, schema, &sent, "body").err()
}

fn text(value: &Value) -> String {
    match value {
        Value::String(s) => s.clone(),
        other => other.to_string(),
    }
}

/// Sends a call; the answer's status, content type and body.
fn send(
    w: &World,
    path: &str,
    method: &str,
    call: &Call,
    request: Option<&(String, Value)>,
) -> (u16, (String, Vec<u8>)) {
    let mut url_path = path.to_string();
    let mut query = Vec::new();
    for ((name, place, value), hinted) in call.params.iter().zip(&call.hinted) {
        let value = match hinted {
            Some(i) => Some(text(&w.hints[name.as_str()][*i])),
            None => value.clone(),
        };
        match (place.as_str(), value) {
            ("path", Some(v)) => url_path = url_path.replace(&format!("{{{name}}}"), &v),
            ("path", None) => url_path = url_path.replace(&format!("{{{name}}}"), "x"),
            (_, Some(v)) => query.push(format!("{name}={v}")),
            (_, None) => {}
        }
    }
    let mut url = format!("{}{url_path}", w.server.url());
    if !query.is_empty() {
        url = format!("{url}?{}", query.join("&"));
    }
    let mut builder = match method {
        "get" => w.client.get(&url),
        "post" => w.client.post(&url),
        other => panic!("the fuzz does not know the method {other}"),
    };
    builder = match call.auth {
        0 => builder.bearer_auth(&w.dev.token),
        1 => builder,
        _ => builder.bearer_auth("0".repeat(64)),
    };
    if let (Some(body), Some((content_type, _))) = (&call.body, request) {
        builder = builder
            .header("content-type", content_type.as_str())
            .body(bytes(body, content_type, &w.server));
    }
    let response = match builder.send() {
        Ok(response) => response,
        // The server reads no more than 1 MiB: it answers 413 and closes the connection, and
        // the client, still sending, may see the close before the answer. That is a refusal.
        Err(e) if matches!(call.body, Some(Body::Huge)) && e.is_request() => {
            return (CLOSED, (String::new(), Vec::new()))
        }
        Err(e) => panic!("{method} {url}: {e}"),
    };
    let status = response.status().as_u16();
    let content_type = response
        .headers()
        .get("content-type")
        .and_then(|v| v.to_str().ok())
        .unwrap_or_default()
        .to_string();
    (status, (content_type, response.bytes().unwrap().to_vec()))
}

/// Not a status: the connection was closed on a body larger than the server reads.
const CLOSED: u16 = 0;
