//! The wire: versions checked first, bounded inflation, batches that fit and keep order.
#![allow(clippy::unwrap_used)] // tests may unwrap

use proptest::prelude::*;
use reintegra_core::hlc::Hlc;
use reintegra_core::ids::{DeviceId, UserId};
use reintegra_core::op::{Action, Change, EntityKind, Op};
use reintegra_proto::{
    check_version, decode, decode_json, encode, pack_ops, ErrorBody, OpResult, Outcome, ProtoError,
    PushRequest, PushResponse, Version, MAX_BATCH_OPS, MAX_DECOMPRESSED, PROTOCOL_VERSION,
};
use serde_json::json;
use uuid::Uuid;

/// An op creating a ~1 KB single form; `noise` makes forms differ as real ones do.
fn op(n: u128, noise: u64) -> Op {
    Op {
        op_id: Uuid::from_u128(n),
        author: UserId::new(Uuid::from_u128(1)),
        device: DeviceId::new(Uuid::from_u128(2)),
        hlc: Hlc {
            wall_ms: 1_780_000_000_000 + n as u64,
            counter: 0,
            node: 7,
        },
        base_seq: 0,
        change: Change {
            entity: EntityKind::Person,
            id: Uuid::from_u128(n << 64 | u128::from(noise)),
            action: Action::Create {
                record: json!({
                    "given_names": format!("Nombre{}", noise % 997),
                    "first_surname": format!("Apellido{}", noise % 311),
                    "phone": format!("7{:03}-{:04}", noise % 1000, noise % 9973),
                    "household_notes": scribble(noise, 500),
                    "return_events": [{"date": "2026-11-23", "country_from": "US", "id": format!("{:032x}", noise)}],
                }),
            },
        },
    }
}

/// Text that compresses like real notes do (about 2-4×), reproducibly from `seed`.
fn scribble(seed: u64, len: usize) -> String {
    const WORDS: [&str; 16] = [
        "vive", "con", "su", "madre", "en", "el", "cantón", "trabajó", "como", "albañil",
        "regresó", "de", "Estados", "Unidos", "busca", "empleo",
    ];
    let mut x = seed | 1;
    let mut out = String::new();
    while out.len() < len {
        x ^= x << 13;
        x ^= x >> 7;
        x ^= x << 17;
        out.push_str(WORDS[(x % 16) as usize]);
        out.push_str(&format!(" {} ", x % 1000));
    }
    out
}

#[test]
fn a_push_round_trips_through_a_compressed_body() {
    let request = PushRequest {
        v: Version::default(),
        ops: (0..20).map(|n| op(n, n as u64 * 31)).collect(),
    };
    let body = encode(&request);
    assert!(
        body.len() < serde_json::to_vec(&request).unwrap().len() / 3,
        "compressed"
    );
    let back: PushRequest = decode(&body).unwrap();
    assert_eq!(back, request);

    let response = PushResponse {
        v: Version::default(),
        results: vec![
            OpResult {
                op_id: Uuid::from_u128(1),
                outcome: Outcome::Duplicate,
            },
            OpResult {
                op_id: Uuid::from_u128(2),
                outcome: Outcome::Rejected {
                    code: "out_of_scope".into(),
                    reason: "otra oficina".into(),
                },
            },
        ],
        seq: 42,
    };
    let text = serde_json::to_value(&response).unwrap();
    assert_eq!(text["results"][1]["status"], "rejected");
    assert_eq!(
        decode::<PushResponse>(&encode(&response)).unwrap(),
        response
    );
}

#[test]
fn an_unknown_or_newer_version_is_refused_before_anything_else() {
    let newer = br#"{"v": 2, "ops": "whatever shape version 2 has"}"#;
    assert_eq!(
        decode_json::<PushRequest>(newer).unwrap_err(),
        ProtoError::UnsupportedVersion { found: 2 }
    );
    assert_eq!(
        check_version(br#"{"ops": []}"#).unwrap_err(),
        ProtoError::MissingVersion
    );
    assert_eq!(
        check_version(br#"{"v": "1"}"#).unwrap_err(),
        ProtoError::MissingVersion
    );
    assert_eq!(check_version(b"not json").unwrap_err().code(), "bad_json");
    let error = ErrorBody {
        v: Version::default(),
        code: "x".into(),
        message: "y".into(),
        op_ids: Vec::new(),
    };
    assert_eq!(serde_json::to_value(&error).unwrap()["v"], PROTOCOL_VERSION);
}

#[test]
fn hostile_bodies_are_refused_without_inflating_them() {
    // A zip bomb: a small body that would inflate past the limit.
    let bomb = zstd::bulk::compress(&vec![b' '; MAX_DECOMPRESSED + 10], 19).unwrap();
    assert!(bomb.len() < 4096);
    assert_eq!(
        decode::<PushRequest>(&bomb).unwrap_err().code(),
        "too_large"
    );
    assert_eq!(
        decode::<PushRequest>(b"plain text").unwrap_err().code(),
        "bad_compression"
    );
    assert_eq!(
        decode::<PushRequest>(&vec![0u8; 2 << 20])
            .unwrap_err()
            .code(),
        "too_large"
    );
}

#[test]
fn five_hundred_forms_pack_into_few_full_batches() {
    let ops: Vec<Op> = (0..500)
        .map(|n| op(n, (n as u64).wrapping_mul(0x9E37_79B9_7F4A_7C15)))
        .collect();
    let batches = pack_ops(&ops, 64 * 1024);
    let sizes: Vec<usize> = batches.iter().map(|b| b.body.len()).collect();
    assert!(sizes.iter().all(|&s| s <= 64 * 1024), "{sizes:?}");
    // Every batch but the last is reasonably full (no many tiny requests on a slow link).
    for s in &sizes[..sizes.len() - 1] {
        assert!(*s > 40 * 1024, "{sizes:?}");
    }
}

#[test]
fn tiny_ops_never_make_a_batch_of_more_than_the_servers_op_limit() {
    let ops: Vec<Op> = (0..2 * MAX_BATCH_OPS + 7)
        .map(|n| {
            let mut op = op(n as u128, 0);
            op.change.action = Action::Delete;
            op
        })
        .collect();
    let batches = pack_ops(&ops, 1 << 20);
    assert!(batches.iter().all(|b| b.ops.len() <= MAX_BATCH_OPS));
    assert_eq!(batches.len(), 3);
    assert_eq!(batches.last().map(|b| b.ops.end), Some(ops.len()));
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(24))]
    #[test]
    fn batches_fit_keep_order_and_lose_nothing(
        noises in proptest::collection::vec(any::<u64>(), 1..120),
        max_kb in 1usize..24,
    ) {
        let ops: Vec<Op> = noises.iter().enumerate().map(|(i, &n)| op(i as u128, n)).collect();
        let max = max_kb * 1024;
        let batches = pack_ops(&ops, max);
        let mut next = 0;
        let mut back = Vec::new();
        for b in &batches {
            prop_assert_eq!(b.ops.start, next);
            prop_assert!(b.body.len() <= max || b.ops.len() == 1);
            next = b.ops.end;
            let request: PushRequest = decode(&b.body).unwrap();
            back.extend(request.ops);
        }
        prop_assert_eq!(next, ops.len());
        prop_assert_eq!(back, ops);
    }
}
