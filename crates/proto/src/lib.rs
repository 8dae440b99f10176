//! The sync wire: every message a device and the single-form endpoint exchange (see
//! `docs/sync.md`). No IO — the server and the device's sync engine do that.
//!
//! Invariants: every message carries the protocol version `v` first, and a reader checks it
//! before anything else ([`decode`] refuses an unknown or newer version with a typed error,
//! never a guess); batches travel as zstd-compressed JSON, packed by [`pack_ops`] to at most a
//! given number of compressed bytes, so a lost batch costs little on a slow link; decoding never
//! inflates past [`MAX_DECOMPRESSED`] (a hostile body cannot exhaust memory).

use std::io::Read;
use std::ops::Range;

use reintegra_core::hlc::Hlc;
use reintegra_core::ids::{DeviceId, UserId};
use reintegra_core::op::{EntityKind, Op};
use reintegra_core::user::User;
use serde::de::DeserializeOwned;
use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};
use uuid::Uuid;

#[cfg(feature = "openapi")]
pub mod schema;

/// The protocol this build speaks.
pub const PROTOCOL_VERSION: u16 = 1;
/// Default size of a push batch or a pull page, compressed.
pub const BATCH_BYTES: usize = 64 * 1024;
/// Most ops a push batch may hold, however small they are (the server refuses more:
/// `too_many_ops`), so one request is a bounded amount of work under the server's write lock.
pub const MAX_BATCH_OPS: usize = 1000;
/// Largest body a reader accepts, compressed.
pub const MAX_COMPRESSED: usize = 1 << 20;
/// Largest body a reader inflates.
pub const MAX_DECOMPRESSED: usize = 8 << 20;
/// Content type of a compressed body (zstd of JSON): push, pull and records.
pub const CONTENT_TYPE_ZSTD_JSON: &str = "application/vnd.reintegra+json+zstd";
/// zstd level of every body: a good ratio at a cost a laptop does not notice.
const LEVEL: i32 = 9;

#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum ProtoError {
    #[error("el mensaje no dice su versión de protocolo")]
    MissingVersion,
    #[error("versión de protocolo {found} no soportada; esta versión de Reintegra habla la {PROTOCOL_VERSION}")]
    UnsupportedVersion { found: u64 },
    #[error("el mensaje es demasiado grande (más de {limit} bytes)")]
    TooLarge { limit: usize },
    #[error("el mensaje no está comprimido con zstd o está dañado")]
    BadCompression,
    #[error("el mensaje no es JSON válido: {0}")]
    BadJson(String),
}

impl ProtoError {
    /// Stable code for error bodies and the UI.
    pub fn code(&self) -> &'static str {
        match self {
            ProtoError::MissingVersion => "missing_version",
            ProtoError::UnsupportedVersion { .. } => "unsupported_version",
            ProtoError::TooLarge { .. } => "too_large",
            ProtoError::BadCompression => "bad_compression",
            ProtoError::BadJson(_) => "bad_json",
        }
    }
}

/// The protocol version, to put first in every message.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct Version(pub u16);

impl Default for Version {
    fn default() -> Self {
        Version(PROTOCOL_VERSION)
    }
}

/// `POST /v1/enroll`: a device joins with a one-time code an admin created for an office.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct EnrollRequest {
    pub v: Version,
    /// The one-time code (`XXXX-XXXX-XXXX-XXXX`, from `reintegra-server enroll-code`).
    pub code: String,
    #[cfg_attr(feature = "openapi", schema(value_type = schema::DeviceId))]
    pub device_id: DeviceId,
    /// The device's name as typed: 1 to 100 characters once trimmed, no control characters nor
    /// bidirectional overrides.
    #[cfg_attr(feature = "openapi", schema(min_length = 1, max_length = 100))]
    pub device_name: String,
    /// The device sets up with an existing user (a code made for that user), not as an
    /// office's first device.
    #[serde(default)]
    pub join: bool,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct EnrollResponse {
    pub v: Version,
    /// Secret; the device keeps it encrypted, the server only its hash.
    pub device_token: String,
    /// A municipality code (`SV-…`) or `*` for every office.
    pub office: String,
    pub server_id: Uuid,
    /// For a joining device: the user's record, which it sets up with.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[cfg_attr(feature = "openapi", schema(value_type = Option<schema::User>))]
    pub user: Option<User>,
}

/// `POST /v1/push`: a batch of the device's ops, oldest first.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct PushRequest {
    pub v: Version,
    #[cfg_attr(feature = "openapi", schema(value_type = Vec<schema::Op>))]
    pub ops: Vec<Op>,
}

/// What became of one pushed op.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "status", rename_all = "snake_case")]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub enum Outcome {
    /// Applied now. `superseded`: fields of this op that lost to a concurrent write, with the
    /// value the server kept (the device applies them).
    Applied {
        #[serde(default, skip_serializing_if = "Map::is_empty")]
        superseded: Map<String, Value>,
    },
    /// Applied before (a retry): nothing changed.
    Duplicate,
    /// Refused, with why in words; the device quarantines it and goes on.
    Rejected { code: String, reason: String },
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct OpResult {
    pub op_id: Uuid,
    #[serde(flatten)]
    pub outcome: Outcome,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct PushResponse {
    pub v: Version,
    /// One per pushed op, in the same order.
    pub results: Vec<OpResult>,
    /// The server's sequence after this batch.
    pub seq: u64,
}

/// Most op ids one `POST /v1/push/applied` may ask about.
pub const MAX_PROBE_IDS: usize = 10_000;

/// `POST /v1/push/applied`: which of these ops of the device — sent before, their answer never
/// read (the sync was cut) — the server has applied. A resumed push asks first and sends only
/// the others.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct AppliedRequest {
    pub v: Version,
    pub op_ids: Vec<Uuid>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct AppliedResponse {
    pub v: Version,
    /// The asked ops of this device the server applied (the rest it never applied).
    pub applied: Vec<Uuid>,
}

/// One applied op as a pull returns it: its effective change, numbered by the server.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct Pulled {
    pub seq: u64,
    #[cfg_attr(feature = "openapi", schema(value_type = schema::Op))]
    pub op: Op,
}

/// `GET /v1/pull?after=SEQ&max_bytes=N`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct PullResponse {
    pub v: Version,
    pub changes: Vec<Pulled>,
    /// The cursor to ask next (never above the server's sequence: a device whose cursor is
    /// ahead of it is told so by a smaller `next`).
    pub next: u64,
    pub more: bool,
    /// Which server answered, and which life of it (absent from older servers).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub server: Option<ServerMark>,
}

/// The server's id and epoch. The epoch goes up when the server is restored from an older
/// copy (`reintegra-server restored`): a device that sees another id or epoch than it knew,
/// or a cursor ahead of the server, starts its cursor again and repairs (`docs/sync.md`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct ServerMark {
    pub id: Uuid,
    pub epoch: u64,
}

/// `GET /v1/state`: for divergence checks.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct StateResponse {
    pub v: Version,
    pub seq: u64,
    /// Hex BLAKE3 of the 256 bucket hashes (`docs/sync.md`).
    pub hash: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub server: Option<ServerMark>,
}

/// `GET /v1/state/buckets`: the 256 bucket hashes, to find where two copies differ.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct BucketsResponse {
    pub v: Version,
    pub buckets: Vec<String>,
}

/// A record as the server holds it now (repair).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct RemoteRecord {
    #[cfg_attr(feature = "openapi", schema(value_type = schema::EntityKind))]
    pub entity: EntityKind,
    pub id: Uuid,
    /// The record's JSON form (the domain type of its kind).
    pub record: Value,
}

/// `GET /v1/records?bucket=B`: every record of a bucket in the device's scope (compressed).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct RecordsResponse {
    pub v: Version,
    pub records: Vec<RemoteRecord>,
}

/// Two concurrent writes of one field: the value kept and the one that lost.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct Conflict {
    pub id: Uuid,
    #[cfg_attr(feature = "openapi", schema(value_type = schema::EntityKind))]
    pub entity: EntityKind,
    pub record_id: Uuid,
    pub field: String,
    pub winner: Value,
    #[cfg_attr(feature = "openapi", schema(value_type = schema::DeviceId))]
    pub winner_device: DeviceId,
    #[cfg_attr(feature = "openapi", schema(value_type = schema::Hlc))]
    pub winner_hlc: Hlc,
    pub loser: Value,
    #[cfg_attr(feature = "openapi", schema(value_type = schema::DeviceId))]
    pub loser_device: DeviceId,
    #[cfg_attr(feature = "openapi", schema(value_type = schema::Hlc))]
    pub loser_hlc: Hlc,
    /// The value a supervisor chose, once resolved.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub resolution: Option<Value>,
}

/// `GET /v1/conflicts?after=ID&limit=N&all=BOOL`: one page of the conflict queue, oldest first
/// (by id). Unresolved conflicts only, unless `all=true`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct ConflictsResponse {
    pub v: Version,
    pub conflicts: Vec<Conflict>,
    /// There are more: ask again with `after` = this id.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub next: Option<Uuid>,
}

/// Conflicts a page holds when the request does not say.
pub const CONFLICTS_PAGE: usize = 200;
/// Most conflicts a page holds, whatever the request asks.
pub const MAX_CONFLICTS_PAGE: usize = 1000;

/// `POST /v1/conflicts/{id}/resolve`: the value to keep (it is applied as a new op).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct ResolveRequest {
    pub v: Version,
    pub value: Value,
    #[cfg_attr(feature = "openapi", schema(value_type = schema::UserId))]
    pub author: UserId,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct ResolveResponse {
    pub v: Version,
    /// The server sequence of the resolving op.
    pub seq: u64,
}

/// Every 4xx/5xx body.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct ErrorBody {
    pub v: Version,
    pub code: String,
    pub message: String,
    /// The ops a refusal is about (`out_of_scope`), for the device to quarantine.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub op_ids: Vec<Uuid>,
}

/// Compresses a message's JSON.
pub fn encode<T: Serialize>(message: &T) -> Vec<u8> {
    // Serializing our own types to a Vec cannot fail (no maps with non-string keys).
    let json = serde_json::to_vec(message).unwrap_or_default();
    compress(&json)
}

fn compress(json: &[u8]) -> Vec<u8> {
    zstd::bulk::compress(json, LEVEL).unwrap_or_default()
}

/// Inflates a body (bounded), checks its version, then reads the message.
pub fn decode<T: DeserializeOwned>(body: &[u8]) -> Result<T, ProtoError> {
    if body.len() > MAX_COMPRESSED {
        return Err(ProtoError::TooLarge {
            limit: MAX_COMPRESSED,
        });
    }
    let json = inflate(body)?;
    decode_json(&json)
}

/// Reads an uncompressed JSON message (small requests such as enrollment), version first.
pub fn decode_json<T: DeserializeOwned>(json: &[u8]) -> Result<T, ProtoError> {
    check_version(json)?;
    serde_json::from_slice(json).map_err(|e| ProtoError::BadJson(e.to_string()))
}

fn inflate(body: &[u8]) -> Result<Vec<u8>, ProtoError> {
    let decoder = zstd::stream::read::Decoder::new(body).map_err(|_| ProtoError::BadCompression)?;
    let mut json = Vec::new();
    decoder
        .take(MAX_DECOMPRESSED as u64 + 1)
        .read_to_end(&mut json)
        .map_err(|_| ProtoError::BadCompression)?;
    if json.len() > MAX_DECOMPRESSED {
        return Err(ProtoError::TooLarge {
            limit: MAX_DECOMPRESSED,
        });
    }
    Ok(json)
}

/// Reads only `v`: an unknown or newer version is refused before the rest is interpreted.
pub fn check_version(json: &[u8]) -> Result<(), ProtoError> {
    #[derive(Deserialize)]
    struct Only {
        v: Option<Value>,
    }
    let only: Only =
        serde_json::from_slice(json).map_err(|e| ProtoError::BadJson(e.to_string()))?;
    match only.v {
        None => Err(ProtoError::MissingVersion),
        Some(Value::Number(n)) if n.as_u64() == Some(u64::from(PROTOCOL_VERSION)) => Ok(()),
        Some(Value::Number(n)) => Err(ProtoError::UnsupportedVersion {
            found: n.as_u64().unwrap_or(u64::MAX),
        }),
        Some(_) => Err(ProtoError::MissingVersion),
    }
}

/// One push batch: which ops it holds and its compressed body (a [`PushRequest`]).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Batch {
    pub ops: Range<usize>,
    pub body: Vec<u8>,
}

/// Packs `ops` (in order) into push batches of at most `max_bytes` compressed and
/// [`MAX_BATCH_OPS`] ops each; an op too big for any batch goes alone. Each op is serialized
/// once; a batch is compressed a few times at most (the ratio learnt from the previous batch sizes the first guess, each try resizes).
pub fn pack_ops(ops: &[Op], max_bytes: usize) -> Vec<Batch> {
    let jsons: Vec<Vec<u8>> = ops
        .iter()
        .map(|op| serde_json::to_vec(op).unwrap_or_default())
        .collect();
    let mut batches = Vec::new();
    let mut ratio = 4.0_f64; // raw bytes per compressed byte; JSON of forms compresses ~4-6×
    let mut start = 0;
    while start < jsons.len() {
        // Guess how many ops fit, from the ratio; then shrink until the batch fits.
        let budget = (max_bytes as f64 * ratio * 0.95) as usize;
        let mut end = start;
        let mut raw = 0;
        while end < jsons.len()
            && end - start < MAX_BATCH_OPS
            && (end == start || raw + jsons[end].len() <= budget)
        {
            raw += jsons[end].len() + 1;
            end += 1;
        }
        let mut tries = 0;
        loop {
            tries += 1;
            let body = push_body(&jsons[start..end]);
            let raw_len: usize = jsons[start..end].iter().map(|j| j.len() + 1).sum();
            let fits = body.len() <= max_bytes || end - start == 1;
            let underfull =
                body.len() < max_bytes * 4 / 5 && end < jsons.len() && end - start < MAX_BATCH_OPS;
            if fits && (!underfull || tries >= 4) {
                ratio = (raw_len as f64 / body.len().max(1) as f64).max(1.0);
                batches.push(Batch {
                    ops: start..end,
                    body,
                });
                break;
            }
            // Resize by what this try measured: fewer ops if too big, more if far from full.
            let target_raw =
                (raw_len as f64 * max_bytes as f64 / body.len().max(1) as f64 * 0.92) as usize;
            let mut new_end = start;
            let mut raw = 0;
            while new_end < jsons.len()
                && new_end - start < MAX_BATCH_OPS
                && (new_end == start || raw + jsons[new_end].len() < target_raw)
            {
                raw += jsons[new_end].len() + 1;
                new_end += 1;
            }
            end = if fits {
                new_end.max(end)
            } else {
                new_end.min(end - 1).max(start + 1)
            };
        }
        start = end;
    }
    batches
}

/// The compressed JSON of a [`PushRequest`] from already serialized ops.
fn push_body(ops: &[Vec<u8>]) -> Vec<u8> {
    let mut json = Vec::with_capacity(ops.iter().map(|o| o.len() + 1).sum::<usize>() + 20);
    json.extend_from_slice(format!("{{\"v\":{PROTOCOL_VERSION},\"ops\":[").as_bytes());
    for (i, op) in ops.iter().enumerate() {
        if i > 0 {
            json.push(b',');
        }
        json.extend_from_slice(op);
    }
    json.extend_from_slice(b"]}");
    compress(&json)
}
