//! `reintegra-server`: the single-form endpoint devices sync with (`docs/sync.md`).
//!
//! Invariants: every op is applied at most once (by op id) and a push batch is applied in one
//! transaction; bad input gets a 4xx with `{v, code, message}`, never a 5xx or a panic; only
//! hashes of enrollment codes and device tokens are kept; plain HTTP is served only on a
//! loopback address (anything else needs a certificate: TLS with rustls); no client can hold
//! the server: headers, requests and idle connections have deadlines, requests served at once
//! are bounded, and enrollment attempts are budgeted per address ([`Limits`]).

mod background;
mod db;
mod error;
mod limits;
pub mod log;
pub mod openapi;
mod routes;
pub mod validate;

use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::sync::Arc;

pub use background::Background;
pub use db::{parse_since, valid_office, Db, DeviceInfo, DeviceRow, Enrolled, SecurityEvent};
pub use error::ServerError;
pub use limits::Limits;

/// A certificate chain and its private key, PEM files.
#[derive(Debug, Clone)]
pub struct Tls {
    pub cert: PathBuf,
    pub key: PathBuf,
}

/// A server answering on a socket until it is dropped or [`Running::stop`] is called.
pub struct Running {
    addr: SocketAddr,
    handle: axum_server::Handle,
    task: tokio::task::JoinHandle<std::io::Result<()>>,
    pub db: Arc<Db>,
}

impl Running {
    /// The address it listens on (the real port when started on port 0).
    pub fn local_addr(&self) -> SocketAddr {
        self.addr
    }

    pub fn url(&self) -> String {
        format!("http://{}", self.addr)
    }

    /// Stops accepting, lets requests in flight finish, and waits.
    pub async fn stop(mut self) -> std::io::Result<()> {
        self.handle
            .graceful_shutdown(Some(std::time::Duration::from_secs(5)));
        (&mut self.task).await.unwrap_or(Ok(()))
    }

    /// Waits until the server stops (for the binary).
    pub async fn wait(mut self) -> std::io::Result<()> {
        (&mut self.task).await.unwrap_or(Ok(()))
    }
}

impl Drop for Running {
    fn drop(&mut self) {
        self.handle.shutdown();
    }
}

/// Why the server could not start.
#[derive(Debug, thiserror::Error)]
pub enum StartError {
    #[error("sin certificado solo se sirve HTTP en una dirección local (127.0.0.1, ::1); {0} necesita --cert y --key")]
    PlainHttpOutsideLoopback(SocketAddr),
    #[error("no se pudo leer el certificado o la clave: {0}")]
    Tls(std::io::Error),
    #[error("no se pudo escuchar en {addr}: {source}")]
    Listen {
        addr: SocketAddr,
        source: std::io::Error,
    },
    #[error(transparent)]
    Data(#[from] ServerError),
}

/// The deadlines of a connection itself, which hyper keeps only with a timer: HTTP/1 headers
/// must arrive within `header_read` (the same deadline bounds an idle kept-alive connection
/// waiting for its next request); HTTP/2 connections are pinged and dropped when the peer
/// stops answering.
fn connection_deadlines(
    builder: &mut hyper_util::server::conn::auto::Builder<hyper_util::rt::TokioExecutor>,
    limits: &Limits,
) {
    builder
        .http1()
        .timer(hyper_util::rt::TokioTimer::new())
        .header_read_timeout(limits.header_read)
        .keep_alive(true);
    builder
        .http2()
        .timer(hyper_util::rt::TokioTimer::new())
        .keep_alive_interval(limits.header_read)
        .keep_alive_timeout(limits.header_read)
        .max_concurrent_streams(32);
}

/// Opens the data in `data_dir` and serves on `addr` (port 0: any free port).
pub async fn start(
    data_dir: &Path,
    addr: SocketAddr,
    tls: Option<Tls>,
) -> Result<Running, StartError> {
    start_with(data_dir, addr, tls, Limits::default()).await
}

/// [`start`] with other timeouts and limits (tests make them short).
pub async fn start_with(
    data_dir: &Path,
    addr: SocketAddr,
    tls: Option<Tls>,
    limits: Limits,
) -> Result<Running, StartError> {
    if tls.is_none() && !addr.ip().is_loopback() {
        return Err(StartError::PlainHttpOutsideLoopback(addr));
    }
    let db = Arc::new(Db::open(data_dir).await?);
    let listener =
        std::net::TcpListener::bind(addr).map_err(|source| StartError::Listen { addr, source })?;
    listener
        .set_nonblocking(true)
        .map_err(|source| StartError::Listen { addr, source })?;
    let local = listener
        .local_addr()
        .map_err(|source| StartError::Listen { addr, source })?;
    let app =
        routes::router(db.clone(), &limits).into_make_service_with_connect_info::<SocketAddr>();
    let handle = axum_server::Handle::new();
    let task = match tls {
        None => {
            let mut server = axum_server::from_tcp(listener).handle(handle.clone());
            connection_deadlines(server.http_builder(), &limits);
            tokio::spawn(async move { server.serve(app).await })
        }
        Some(tls) => {
            let config = axum_server::tls_rustls::RustlsConfig::from_pem_file(&tls.cert, &tls.key)
                .await
                .map_err(StartError::Tls)?;
            let mut server = axum_server::from_tcp_rustls(listener, config).handle(handle.clone());
            connection_deadlines(server.http_builder(), &limits);
            tokio::spawn(async move { server.serve(app).await })
        }
    };
    Ok(Running {
        addr: local,
        handle,
        task,
        db,
    })
}
