//! How the engine reaches the server: the [`Transport`] trait, and [`Http`], its reqwest
//! (rustls) implementation. Tests put the link simulator between `Http` and a real server.

use std::io::Read;
use std::time::Duration;

use reintegra_core::ids::UserId;
use reintegra_proto::{
    self as proto, BucketsResponse, ConflictsResponse, EnrollRequest, EnrollResponse, ErrorBody,
    PullResponse, PushResponse, RecordsResponse, ResolveRequest, ResolveResponse, StateResponse,
};
use serde::de::DeserializeOwned;
use uuid::Uuid;

use crate::SyncError;

/// One answer and what it cost on the wire (body bytes each way).
#[derive(Debug, Clone)]
pub struct Exchange<T> {
    pub message: T,
    pub sent: usize,
    pub received: usize,
}

/// The requests of the sync protocol. Every call is one HTTP exchange, safe to retry.
pub trait Transport {
    fn enroll(&self, request: &EnrollRequest) -> Result<EnrollResponse, SyncError>;
    /// Sends a compressed push body (see [`proto::pack_ops`]).
    fn push(&self, body: Vec<u8>) -> Result<Exchange<PushResponse>, SyncError>;
    fn pull(&self, after: u64, max_bytes: usize) -> Result<Exchange<PullResponse>, SyncError>;
    fn state(&self) -> Result<StateResponse, SyncError>;
    fn buckets(&self) -> Result<BucketsResponse, SyncError>;
    fn records(&self, bucket: u8) -> Result<Exchange<RecordsResponse>, SyncError>;
    /// One page of the conflict queue after conflict `after` (unresolved only unless `all`).
    /// A page of the conflict queue, read by `user` (a supervisor of the device's office).
    fn conflicts(
        &self,
        user: UserId,
        after: Option<Uuid>,
        all: bool,
    ) -> Result<ConflictsResponse, SyncError>;
    fn resolve(&self, id: Uuid, request: &ResolveRequest) -> Result<ResolveResponse, SyncError>;
    /// Which of the compressed [`proto::AppliedRequest`]'s ops the server applied (a resumed
    /// push asks before sending them again). By default none: they are all sent again, which
    /// is safe (the server answers `duplicate`), only slower.
    fn applied(&self, body: Vec<u8>) -> Result<Exchange<proto::AppliedResponse>, SyncError> {
        Ok(Exchange {
            message: proto::AppliedResponse {
                v: proto::Version::default(),
                applied: Vec::new(),
            },
            sent: body.len(),
            received: 0,
        })
    }
}

/// HTTP(S) to a `reintegra-server`.
pub struct Http {
    client: reqwest::blocking::Client,
    endpoint: String,
    token: Option<String>,
}

/// An endpoint as typed, in the one form it is kept and compared in (no spaces, no final `/`).
pub fn normalize_endpoint(endpoint: &str) -> String {
    endpoint.trim().trim_end_matches('/').to_string()
}

impl Http {
    /// `endpoint`: `https://host[:port]`, or `http://` only for a server on this machine (a
    /// loopback address or `localhost`): the token never travels unencrypted over a network.
    pub fn new(endpoint: &str, token: Option<String>) -> Result<Http, SyncError> {
        let endpoint = normalize_endpoint(endpoint);
        let parsed =
            reqwest::Url::parse(&endpoint).map_err(|_| SyncError::BadEndpoint(endpoint.clone()))?;
        let Some(host) = parsed.host_str() else {
            return Err(SyncError::BadEndpoint(endpoint));
        };
        match parsed.scheme() {
            "https" => {}
            "http" if is_loopback(host) => {}
            "http" => return Err(SyncError::PlainHttp(endpoint)),
            _ => return Err(SyncError::BadEndpoint(endpoint)),
        }
        let client = reqwest::blocking::Client::builder()
            .connect_timeout(Duration::from_secs(15))
            // A 64 KiB batch takes ~16 s at 32 kbit/s: leave room for the slowest links.
            .timeout(Duration::from_secs(180))
            // Under the server's idle deadline (15 s), so a kept-alive connection is never
            // reused just as the server closes it.
            .pool_idle_timeout(Duration::from_secs(10))
            .build()
            .map_err(|e| SyncError::Network(e.to_string()))?;
        Ok(Http {
            client,
            endpoint,
            token,
        })
    }

    fn url(&self, path: &str) -> String {
        format!("{}{path}", self.endpoint)
    }

    fn send(&self, request: reqwest::blocking::RequestBuilder) -> Result<Vec<u8>, SyncError> {
        let request = match &self.token {
            Some(token) => request.bearer_auth(token),
            None => request,
        };
        let response = request.send().map_err(from_reqwest)?;
        let status = response.status();
        let body = read_bounded(response)?;
        if status.is_success() {
            return Ok(body);
        }
        let error: Option<ErrorBody> = serde_json::from_slice(&body).ok();
        Err(match error {
            Some(e) if status.is_client_error() => SyncError::Refused {
                status: status.as_u16(),
                code: e.code,
                message: e.message,
                op_ids: e.op_ids,
            },
            _ if status.is_server_error() => SyncError::ServerError(status.as_u16()),
            _ => SyncError::Refused {
                status: status.as_u16(),
                code: "http".into(),
                message: format!("respuesta HTTP {status}"),
                op_ids: Vec::new(),
            },
        })
    }

    fn get_json<T: DeserializeOwned>(&self, path: &str) -> Result<T, SyncError> {
        let body = self.send(self.client.get(self.url(path)))?;
        Ok(proto::decode_json(&body)?)
    }

    fn get_compressed<T: DeserializeOwned>(&self, path: &str) -> Result<Exchange<T>, SyncError> {
        let body = self.send(self.client.get(self.url(path)))?;
        Ok(Exchange {
            received: body.len(),
            message: proto::decode(&body)?,
            sent: 0,
        })
    }
}

/// Whether `host` is this machine: `localhost`, 127.0.0.0/8 or `::1` (as the server's own rule
/// for plain HTTP).
fn is_loopback(host: &str) -> bool {
    let bare = host.trim_start_matches('[').trim_end_matches(']');
    host.eq_ignore_ascii_case("localhost")
        || bare
            .parse::<std::net::IpAddr>()
            .is_ok_and(|ip| ip.is_loopback())
}

/// The body of an answer, refused past [`proto::MAX_COMPRESSED`] bytes without reading the rest
/// (no answer of the protocol is bigger: a server that sends more is broken or hostile, and a
/// device must not fill its memory with it).
fn read_bounded(response: reqwest::blocking::Response) -> Result<Vec<u8>, SyncError> {
    let too_large = || {
        SyncError::Protocol(proto::ProtoError::TooLarge {
            limit: proto::MAX_COMPRESSED,
        })
    };
    if response
        .content_length()
        .is_some_and(|n| n > proto::MAX_COMPRESSED as u64)
    {
        return Err(too_large());
    }
    let mut body = Vec::new();
    response
        .take(proto::MAX_COMPRESSED as u64 + 1)
        .read_to_end(&mut body)
        .map_err(|e| SyncError::Network(error_chain(&e)))?;
    if body.len() > proto::MAX_COMPRESSED {
        return Err(too_large());
    }
    Ok(body)
}

fn from_reqwest(e: reqwest::Error) -> SyncError {
    let text = error_chain(&e);
    if text.contains("certificate") || text.contains("InvalidCertificate") || text.contains("tls") {
        SyncError::Certificate(text)
    } else if e.is_timeout() || e.is_connect() {
        SyncError::Offline(text)
    } else {
        SyncError::Network(text)
    }
}

fn error_chain(e: &dyn std::error::Error) -> String {
    let mut text = e.to_string();
    let mut source = e.source();
    while let Some(s) = source {
        text.push_str(": ");
        text.push_str(&s.to_string());
        source = s.source();
    }
    text
}

impl Transport for Http {
    fn enroll(&self, request: &EnrollRequest) -> Result<EnrollResponse, SyncError> {
        let body = serde_json::to_vec(request).map_err(|e| SyncError::Network(e.to_string()))?;
        let answer = self.send(
            self.client
                .post(self.url("/v1/enroll"))
                .header("content-type", "application/json")
                .body(body),
        )?;
        Ok(proto::decode_json(&answer)?)
    }

    fn push(&self, body: Vec<u8>) -> Result<Exchange<PushResponse>, SyncError> {
        let sent = body.len();
        let answer = self.send(
            self.client
                .post(self.url("/v1/push"))
                .header("content-type", proto::CONTENT_TYPE_ZSTD_JSON)
                .body(body),
        )?;
        Ok(Exchange {
            received: answer.len(),
            message: proto::decode(&answer)?,
            sent,
        })
    }

    fn applied(&self, body: Vec<u8>) -> Result<Exchange<proto::AppliedResponse>, SyncError> {
        let sent = body.len();
        let answer = self.send(
            self.client
                .post(self.url("/v1/push/applied"))
                .header("content-type", proto::CONTENT_TYPE_ZSTD_JSON)
                .body(body),
        )?;
        Ok(Exchange {
            received: answer.len(),
            message: proto::decode(&answer)?,
            sent,
        })
    }

    fn pull(&self, after: u64, max_bytes: usize) -> Result<Exchange<PullResponse>, SyncError> {
        self.get_compressed(&format!("/v1/pull?after={after}&max_bytes={max_bytes}"))
    }

    fn state(&self) -> Result<StateResponse, SyncError> {
        self.get_json("/v1/state")
    }

    fn buckets(&self) -> Result<BucketsResponse, SyncError> {
        self.get_json("/v1/state/buckets")
    }

    fn records(&self, bucket: u8) -> Result<Exchange<RecordsResponse>, SyncError> {
        self.get_compressed(&format!("/v1/records?bucket={bucket}"))
    }

    fn conflicts(
        &self,
        user: UserId,
        after: Option<Uuid>,
        all: bool,
    ) -> Result<ConflictsResponse, SyncError> {
        let after = after.map(|id| format!("&after={id}")).unwrap_or_default();
        self.get_json(&format!("/v1/conflicts?user={user}&all={all}{after}"))
    }

    fn resolve(&self, id: Uuid, request: &ResolveRequest) -> Result<ResolveResponse, SyncError> {
        let body = serde_json::to_vec(request).map_err(|e| SyncError::Network(e.to_string()))?;
        let answer = self.send(
            self.client
                .post(self.url(&format!("/v1/conflicts/{id}/resolve")))
                .header("content-type", "application/json")
                .body(body),
        )?;
        Ok(proto::decode_json(&answer)?)
    }
}
