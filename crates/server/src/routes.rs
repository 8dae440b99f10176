//! The `/v1` endpoints. Each handler reads the body itself (bounded), checks the protocol
//! version before anything else and answers errors as `{v, code, message}`.

use std::sync::Arc;

use axum::body::{Body, Bytes};
use axum::extract::rejection::QueryRejection;
use axum::extract::{FromRef, FromRequestParts, Path, Query, Request, State};
use axum::http::header::{AUTHORIZATION, CONTENT_TYPE};
use axum::http::request::Parts;
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use axum::{Json, Router};
use reintegra_core::ids::UserId;
use reintegra_proto::{
    self as proto, BucketsResponse, ConflictsResponse, EnrollRequest, EnrollResponse, PullResponse,
    PushRequest, PushResponse, RecordsResponse, ResolveRequest, ResolveResponse, StateResponse,
    Version, CONTENT_TYPE_ZSTD_JSON, MAX_COMPRESSED,
};
use serde::Deserialize;
use serde_json::Value;
use uuid::Uuid;

use crate::db::{Db, DeviceRow, NewEvent, SecurityKind};
use crate::error::ServerError;
use crate::limits::{self, Attempts, Guard, Limits, Peer};

/// Most ops a pull page holds, whatever their size.
const PULL_MAX_OPS: usize = 5000;

/// What every handler may reach: the data, and the enrollment attempts per address.
#[derive(Clone)]
pub struct AppState {
    db: Arc<Db>,
    enroll_attempts: Arc<Attempts>,
    auth_failures: Arc<Attempts>,
}

impl FromRef<AppState> for Arc<Db> {
    fn from_ref(app: &AppState) -> Arc<Db> {
        app.db.clone()
    }
}

/// The routes, each within the request deadline and the bound on requests at once.
pub fn router(db: Arc<Db>, limits: &Limits) -> Router {
    let app = AppState {
        db,
        enroll_attempts: Arc::new(Attempts::new(limits.enroll_burst, limits.enroll_refill)),
        auth_failures: Arc::new(Attempts::new(
            limits.auth_failure_burst,
            limits.auth_failure_refill,
        )),
    };
    Router::new()
        .route("/v1/enroll", post(enroll))
        .route("/v1/push", post(push))
        .route("/v1/push/applied", post(push_applied))
        .route("/v1/pull", get(pull))
        .route("/v1/state", get(state))
        .route("/v1/state/buckets", get(buckets))
        .route("/v1/records", get(records))
        .route("/v1/conflicts", get(conflicts))
        .route("/v1/conflicts/{id}/resolve", post(resolve))
        .route("/v1/openapi.json", get(openapi))
        .fallback(not_found)
        .layer(axum::middleware::from_fn_with_state(
            Guard::new(limits),
            limits::guard,
        ))
        .with_state(app)
}

async fn not_found() -> ServerError {
    ServerError::NotFound
}

/// The body, refused past [`MAX_COMPRESSED`] bytes without reading the rest.
async fn read_body(request: Request) -> Result<Bytes, ServerError> {
    axum::body::to_bytes(request.into_body(), MAX_COMPRESSED)
        .await
        .map_err(|_| {
            ServerError::Proto(proto::ProtoError::TooLarge {
                limit: MAX_COMPRESSED,
            })
        })
}

fn compressed<T: serde::Serialize>(message: &T) -> Response {
    (
        [(CONTENT_TYPE, CONTENT_TYPE_ZSTD_JSON)],
        Body::from(proto::encode(message)),
    )
        .into_response()
}

impl FromRequestParts<AppState> for DeviceRow {
    type Rejection = ServerError;

    /// A refused token (unknown, or of a revoked device) goes to the security log, within the
    /// address's budget of refused tokens; past it the answer is `too_many_attempts`.
    async fn from_request_parts(parts: &mut Parts, app: &AppState) -> Result<Self, ServerError> {
        let token = parts
            .headers
            .get(AUTHORIZATION)
            .and_then(|v| v.to_str().ok())
            .and_then(|v| v.strip_prefix("Bearer "))
            .ok_or(ServerError::NoToken)?;
        let refused = match app.db.device_by_token(token).await {
            Err(e @ (ServerError::UnknownDevice | ServerError::DeviceRevoked)) => e,
            other => return other,
        };
        let peer = parts.extensions.get::<Peer>().map(|p| p.0);
        if let Some(peer) = peer {
            app.auth_failures
                .take(peer)
                .map_err(ServerError::TooManyAttempts)?;
        }
        let device = match refused {
            ServerError::DeviceRevoked => app.db.revoked_device_of(token).await?,
            _ => None,
        };
        let mut event = NewEvent::new(
            SecurityKind::AuthFailed,
            format!(
                "{} en {} {}{}",
                refused.code(),
                parts.method,
                parts.uri.path(),
                from(peer)
            ),
        );
        if let Some(device) = device {
            event = event.device(device);
        }
        app.db.log_security(&[event]).await;
        Err(refused)
    }
}

/// Unauthenticated: every attempt costs one of the address's budget before anything is read
/// (a successful one gives it back), so codes cannot be guessed nor the endpoint flooded.
async fn enroll(
    State(app): State<AppState>,
    peer: Peer,
    request: Request,
) -> Result<Response, ServerError> {
    app.enroll_attempts
        .take(peer.0)
        .map_err(ServerError::TooManyAttempts)?;
    let mut claimed = None;
    let attempt = async {
        let body = read_body(request).await?;
        let req: EnrollRequest = proto::decode_json(&body)?;
        claimed = Some((req.device_id, req.device_name.clone()));
        let name = device_name(&req.device_name)?;
        let enrolled = app
            .db
            .enroll(&req.code, req.device_id, name, req.join)
            .await?;
        Ok::<_, ServerError>((req, enrolled))
    }
    .await;
    // The security log: who enrolled, or who tried and why not.
    let event = match &attempt {
        Ok((req, enrolled)) => {
            let event = NewEvent::new(
                SecurityKind::Enroll,
                format!("«{}»{}", req.device_name.trim(), from(Some(peer.0))),
            )
            .device(req.device_id)
            .office(&enrolled.office);
            match &enrolled.user {
                Some(user) => event.user(user.id.as_uuid()),
                None => event,
            }
        }
        Err(e) => {
            let name = claimed
                .as_ref()
                .map(|(_, name)| format!(" «{name}»"))
                .unwrap_or_default();
            let event = NewEvent::new(
                SecurityKind::EnrollRefused,
                format!("{}{name}{}", e.code(), from(Some(peer.0))),
            );
            match &claimed {
                Some((device, _)) => event.device(device),
                None => event,
            }
        }
    };
    app.db.log_security(&[event]).await;
    let (_, enrolled) = attempt?;
    app.enroll_attempts.give_back(peer.0);
    Ok(Json(EnrollResponse {
        v: Version::default(),
        device_token: enrolled.token,
        office: enrolled.office,
        server_id: app.db.server_id,
        user: enrolled.user,
    })
    .into_response())
}

/// " desde ADDRESS", for the security log.
fn from(peer: Option<std::net::SocketAddr>) -> String {
    peer.map(|p| format!(" desde {}", p.ip()))
        .unwrap_or_default()
}

/// A device name as typed, checked: 1 to 100 characters, none of them a control character
/// (a newline or an ANSI escape would forge lines or drive the admin's terminal when devices
/// are listed) nor a bidirectional override (which would show the name other than it is).
fn device_name(typed: &str) -> Result<&str, ServerError> {
    let name = typed.trim();
    if name.is_empty() || name.chars().count() > 100 {
        return Err(ServerError::BadRequest(
            "el nombre del dispositivo debe tener entre 1 y 100 caracteres".into(),
        ));
    }
    let hidden =
        |c: char| c.is_control() || matches!(c, '\u{202a}'..='\u{202e}' | '\u{2066}'..='\u{2069}');
    if name.chars().any(hidden) {
        return Err(ServerError::BadRequest(
            "el nombre del dispositivo no puede llevar caracteres de control (saltos de línea, tabuladores, secuencias de escape)".into(),
        ));
    }
    Ok(name)
}

async fn push(
    State(db): State<Arc<Db>>,
    device: DeviceRow,
    request: Request,
) -> Result<Response, ServerError> {
    let body = read_body(request).await?;
    let req: PushRequest = proto::decode(&body)?;
    if req.ops.len() > proto::MAX_BATCH_OPS {
        return Err(ServerError::TooManyOps(req.ops.len()));
    }
    let (results, seq) = db.push(&device, &req.ops).await?;
    // Compressed too: the per-op acknowledgements of a full batch are a few KB of ids.
    Ok(compressed(&PushResponse {
        v: Version::default(),
        results,
        seq,
    }))
}

/// Which of these ops of the device the server applied (a resumed push asks first).
async fn push_applied(
    State(db): State<Arc<Db>>,
    device: DeviceRow,
    request: Request,
) -> Result<Response, ServerError> {
    let body = read_body(request).await?;
    let req: proto::AppliedRequest = proto::decode(&body)?;
    if req.op_ids.len() > proto::MAX_PROBE_IDS {
        return Err(ServerError::BadRequest(format!(
            "se preguntó por {} operaciones y el máximo es {}",
            req.op_ids.len(),
            proto::MAX_PROBE_IDS
        )));
    }
    let applied = db.applied_of(&device, &req.op_ids).await?;
    Ok(compressed(&proto::AppliedResponse {
        v: Version::default(),
        applied,
    }))
}

#[derive(Deserialize)]
struct PullQuery {
    after: u64,
    #[serde(default = "default_max_bytes")]
    max_bytes: usize,
}

fn default_max_bytes() -> usize {
    proto::BATCH_BYTES
}

async fn pull(
    State(db): State<Arc<Db>>,
    device: DeviceRow,
    q: Result<Query<PullQuery>, QueryRejection>,
) -> Result<Response, ServerError> {
    let Query(q) = q.map_err(|e| ServerError::BadRequest(e.body_text()))?;
    let max_bytes = q.max_bytes.clamp(4 * 1024, MAX_COMPRESSED);
    // Ops compress ~5× and average well under 2 KB: ask for enough to fill the page, then
    // trim until the compressed page fits.
    let mut limit = (max_bytes * 5 / 1024).clamp(16, PULL_MAX_OPS);
    loop {
        let (changes, next, more) = db.pull(&device, q.after, limit).await?;
        let page = PullResponse {
            v: Version::default(),
            changes,
            next,
            more,
            server: Some(db.mark()),
        };
        let body = proto::encode(&page);
        if body.len() <= max_bytes || page.changes.len() <= 1 {
            return Ok(([(CONTENT_TYPE, CONTENT_TYPE_ZSTD_JSON)], Body::from(body)).into_response());
        }
        let fit = page.changes.len() * max_bytes / body.len();
        limit = (fit * 95 / 100).clamp(1, page.changes.len() - 1);
    }
}

async fn state(State(db): State<Arc<Db>>, device: DeviceRow) -> Result<Response, ServerError> {
    let (seq, hasher) = db.state(&device.office).await?;
    Ok(Json(StateResponse {
        v: Version::default(),
        seq,
        hash: hasher.state_hash(),
        server: Some(db.mark()),
    })
    .into_response())
}

async fn buckets(State(db): State<Arc<Db>>, device: DeviceRow) -> Result<Response, ServerError> {
    let (_, hasher) = db.state(&device.office).await?;
    Ok(Json(BucketsResponse {
        v: Version::default(),
        buckets: hasher.bucket_hashes(),
    })
    .into_response())
}

#[derive(Deserialize)]
struct BucketQuery {
    bucket: u8,
}

async fn records(
    State(db): State<Arc<Db>>,
    device: DeviceRow,
    q: Result<Query<BucketQuery>, QueryRejection>,
) -> Result<Response, ServerError> {
    let Query(q) = q.map_err(|e| ServerError::BadRequest(e.body_text()))?;
    let records = db.bucket_records(&device.office, q.bucket).await?;
    Ok(compressed(&RecordsResponse {
        v: Version::default(),
        records,
    }))
}

#[derive(Deserialize)]
struct ConflictsQuery {
    /// Who reads: a supervisor of the device's office.
    user: UserId,
    after: Option<Uuid>,
    limit: Option<usize>,
    #[serde(default)]
    all: bool,
}

/// A page of the conflict queue (unresolved only unless `all=true`), small enough for any
/// device to read (its JSON stays under [`MAX_COMPRESSED`]).
async fn conflicts(
    State(db): State<Arc<Db>>,
    device: DeviceRow,
    q: Result<Query<ConflictsQuery>, QueryRejection>,
) -> Result<Response, ServerError> {
    let Query(q) = q.map_err(|e| ServerError::BadRequest(e.body_text()))?;
    db.may_list_conflicts(&device, q.user).await?;
    let limit = q
        .limit
        .unwrap_or(proto::CONFLICTS_PAGE)
        .clamp(1, proto::MAX_CONFLICTS_PAGE);
    let (conflicts, more) = db
        .conflicts(
            &device.office,
            q.after,
            limit,
            q.all,
            MAX_COMPRESSED * 3 / 4,
        )
        .await?;
    let next = if more {
        conflicts.last().map(|c| c.id)
    } else {
        None
    };
    Ok(Json(ConflictsResponse {
        v: Version::default(),
        conflicts,
        next,
    })
    .into_response())
}

async fn resolve(
    State(db): State<Arc<Db>>,
    device: DeviceRow,
    Path(id): Path<String>,
    request: Request,
) -> Result<Response, ServerError> {
    let id = Uuid::parse_str(&id).map_err(|_| ServerError::UnknownConflict)?;
    let body = read_body(request).await?;
    let req: ResolveRequest = proto::decode_json(&body)?;
    let seq = db.resolve(&device, id, req.value, req.author).await?;
    Ok(Json(ResolveResponse {
        v: Version::default(),
        seq,
    })
    .into_response())
}

async fn openapi() -> Json<Value> {
    Json(crate::openapi::document())
}
