//! A server for callers that are not async (tests, benchmarks, tools): it runs on a runtime of
//! its own, and every call into it is made from a thread of its own, so it works the same from
//! plain code and from inside another runtime.

use std::future::Future;
use std::net::SocketAddr;
use std::path::Path;
use std::sync::Arc;

use crate::{start_with, Db, Limits, Running, ServerError, StartError, Tls};

pub struct Background {
    rt: Option<tokio::runtime::Runtime>,
    running: Option<Running>,
}

impl Background {
    /// Starts a server on `addr` (port 0: any free port) with its data in `data_dir`.
    pub fn start(
        data_dir: &Path,
        addr: SocketAddr,
        tls: Option<Tls>,
    ) -> Result<Background, StartError> {
        Background::start_with(data_dir, addr, tls, Limits::default())
    }

    /// [`Background::start`] with other timeouts and limits.
    pub fn start_with(
        data_dir: &Path,
        addr: SocketAddr,
        tls: Option<Tls>,
        limits: Limits,
    ) -> Result<Background, StartError> {
        let rt =
            tokio::runtime::Runtime::new().map_err(|source| StartError::Listen { addr, source })?;
        let running = off_thread(|| rt.block_on(start_with(data_dir, addr, tls, limits)))?;
        Ok(Background {
            rt: Some(rt),
            running: Some(running),
        })
    }

    fn running(&self) -> &Running {
        // Both are only taken in `drop`.
        self.running
            .as_ref()
            .unwrap_or_else(|| unreachable!("server already stopped"))
    }

    pub fn local_addr(&self) -> SocketAddr {
        self.running().local_addr()
    }

    pub fn url(&self) -> String {
        self.running().url()
    }

    pub fn db(&self) -> Arc<Db> {
        self.running().db.clone()
    }

    /// Runs a future (e.g. a call on [`Background::db`]) on the server's runtime and waits.
    pub fn run<F>(&self, future: F) -> F::Output
    where
        F: Future + Send,
        F::Output: Send,
    {
        let rt = self
            .rt
            .as_ref()
            .unwrap_or_else(|| unreachable!("server already stopped"));
        off_thread(|| rt.block_on(future))
    }

    /// A one-time enrollment code for `office` (`*` or a municipality code): its first device.
    pub fn enroll_code(&self, office: &str) -> Result<String, ServerError> {
        let db = self.db();
        self.run(async move { db.new_enroll_code(office, None).await })
    }

    /// A one-time code for the user `login` to join another device to `office`.
    pub fn join_code(&self, office: &str, login: &str) -> Result<String, ServerError> {
        let db = self.db();
        self.run(async move { db.new_enroll_code(office, Some(login)).await })
    }
}

impl Drop for Background {
    fn drop(&mut self) {
        if let (Some(running), Some(rt)) = (self.running.take(), self.rt.take()) {
            off_thread(|| {
                let _ = rt.block_on(running.stop());
            });
            rt.shutdown_background();
        }
    }
}

/// Runs `f` on a scoped thread: blocking on a runtime is not allowed inside another one.
fn off_thread<T: Send>(f: impl FnOnce() -> T + Send) -> T {
    std::thread::scope(|scope| match scope.spawn(f).join() {
        Ok(value) => value,
        Err(panic) => std::panic::resume_unwind(panic),
    })
}
