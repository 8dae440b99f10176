//! What keeps one client from stalling the others: a deadline for every request (reading its
//! body included), a bound on requests served at once, and a per-address budget of enrollment
//! attempts. (Reading a request's headers — and waiting for the next request on a kept-alive
//! connection — has its own deadline, set on the connection in [`crate::start_with`].)
//!
//! A request that waits for a free slot waits inside its deadline; one that runs out of time
//! is answered `503 timeout` and dropped: its transaction rolls back and the write lock is
//! released, so a retry is safe (every op is applied at most once).

use std::collections::HashMap;
use std::net::{IpAddr, SocketAddr};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use axum::extract::{ConnectInfo, Request, State};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use tokio::sync::Semaphore;

use crate::error::ServerError;

/// The server's timeouts and limits.
#[derive(Debug, Clone)]
pub struct Limits {
    /// Longest a request may take, from its headers to its answer: waiting for a slot,
    /// reading the body (a full 1 MiB body at 64 kbit/s takes ~130 s) and the work.
    pub request: Duration,
    /// Longest a client may take to send a request's headers, and the longest a kept-alive
    /// connection may stay idle before its next request.
    pub header_read: Duration,
    /// Requests served at once; more wait for a slot (within their deadline).
    pub concurrent: usize,
    /// Enrollment attempts an address may make at once; a spent attempt comes back every
    /// [`Limits::enroll_refill`]. A successful enrollment costs nothing.
    pub enroll_burst: u32,
    pub enroll_refill: Duration,
    /// Refused tokens an address may send at once (each one is written to the security log);
    /// one more every [`Limits::auth_failure_refill`]. Past it: `429 too_many_attempts`.
    pub auth_failure_burst: u32,
    pub auth_failure_refill: Duration,
}

impl Default for Limits {
    fn default() -> Self {
        Limits {
            request: Duration::from_secs(150),
            header_read: Duration::from_secs(15),
            concurrent: 64,
            enroll_burst: 10,
            enroll_refill: Duration::from_secs(30),
            auth_failure_burst: 30,
            auth_failure_refill: Duration::from_secs(2),
        }
    }
}

/// The request deadline and the slots, shared by every connection.
#[derive(Clone)]
pub struct Guard {
    request: Duration,
    slots: Arc<Semaphore>,
}

impl Guard {
    pub fn new(limits: &Limits) -> Guard {
        Guard {
            request: limits.request,
            slots: Arc::new(Semaphore::new(limits.concurrent.max(1))),
        }
    }
}

/// The middleware around every route: a slot, then the handler, both within the deadline.
pub async fn guard(State(guard): State<Guard>, request: Request, next: Next) -> Response {
    let served = async {
        let _slot = guard.slots.acquire().await;
        next.run(request).await
    };
    match tokio::time::timeout(guard.request, served).await {
        Ok(response) => response,
        Err(_) => ServerError::Timeout.into_response(),
    }
}

/// Most addresses whose attempts are remembered; past it, addresses with a full budget are
/// forgotten first (they lose nothing), then the budget of new ones starts empty.
const MAX_ADDRESSES: usize = 10_000;

/// A token bucket per client address (IPv6 by its /64: one subscriber's whole prefix).
pub struct Attempts {
    burst: f64,
    refill: Duration,
    buckets: Mutex<HashMap<IpAddr, (f64, Instant)>>,
}

impl Attempts {
    pub fn new(burst: u32, refill: Duration) -> Attempts {
        Attempts {
            burst: f64::from(burst.max(1)),
            refill: refill.max(Duration::from_millis(1)),
            buckets: Mutex::new(HashMap::new()),
        }
    }

    fn key(addr: SocketAddr) -> IpAddr {
        match addr.ip() {
            IpAddr::V6(v6) => match v6.to_ipv4_mapped() {
                Some(v4) => IpAddr::V4(v4),
                None => {
                    let s = v6.segments();
                    IpAddr::V6(std::net::Ipv6Addr::new(s[0], s[1], s[2], s[3], 0, 0, 0, 0))
                }
            },
            v4 => v4,
        }
    }

    /// Takes one attempt for `addr`, or says how many seconds until it may try again.
    pub fn take(&self, addr: SocketAddr) -> Result<(), u64> {
        let now = Instant::now();
        let key = Self::key(addr);
        let mut buckets = self.buckets.lock().unwrap_or_else(|e| e.into_inner());
        if buckets.len() >= MAX_ADDRESSES && !buckets.contains_key(&key) {
            let (burst, refill) = (self.burst, self.refill);
            buckets.retain(|_, (tokens, at)| {
                *tokens + now.duration_since(*at).as_secs_f64() / refill.as_secs_f64() < burst
            });
            if buckets.len() >= MAX_ADDRESSES {
                return Err(self.refill.as_secs().max(1));
            }
        }
        let (tokens, at) = buckets.entry(key).or_insert((self.burst, now));
        let refilled = *tokens + now.duration_since(*at).as_secs_f64() / self.refill.as_secs_f64();
        *tokens = refilled.min(self.burst);
        *at = now;
        if *tokens >= 1.0 {
            *tokens -= 1.0;
            Ok(())
        } else {
            let wait = (1.0 - *tokens) * self.refill.as_secs_f64();
            Err(wait.ceil().max(1.0) as u64)
        }
    }

    /// Gives back an attempt that succeeded.
    pub fn give_back(&self, addr: SocketAddr) {
        let mut buckets = self.buckets.lock().unwrap_or_else(|e| e.into_inner());
        if let Some((tokens, _)) = buckets.get_mut(&Self::key(addr)) {
            *tokens = (*tokens + 1.0).min(self.burst);
        }
    }
}

/// The client's address, as the connection gives it.
pub type Peer = ConnectInfo<SocketAddr>;

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_address_spends_its_burst_then_waits_and_a_success_costs_nothing() {
        let attempts = Attempts::new(2, Duration::from_secs(60));
        let a: SocketAddr = "10.0.0.1:5000".parse().unwrap_or_else(|e| panic!("{e}"));
        let other: SocketAddr = "10.0.0.2:5000".parse().unwrap_or_else(|e| panic!("{e}"));
        assert_eq!(attempts.take(a), Ok(()));
        attempts.give_back(a);
        assert_eq!(attempts.take(a), Ok(()));
        assert_eq!(attempts.take(a), Ok(()));
        assert!(matches!(attempts.take(a), Err(wait) if (1..=60).contains(&wait)));
        assert_eq!(attempts.take(other), Ok(()), "another address has its own");
        // Another port of the same host, and another address of one IPv6 /64, are the same.
        let same: SocketAddr = "10.0.0.1:6000".parse().unwrap_or_else(|e| panic!("{e}"));
        assert!(attempts.take(same).is_err());
        let v6a: SocketAddr = "[2001:db8:1:2::1]:1"
            .parse()
            .unwrap_or_else(|e| panic!("{e}"));
        let v6b: SocketAddr = "[2001:db8:1:2:ffff::9]:1"
            .parse()
            .unwrap_or_else(|e| panic!("{e}"));
        assert_eq!(attempts.take(v6a), Ok(()));
        assert_eq!(attempts.take(v6b), Ok(()));
        assert!(attempts.take(v6a).is_err());
    }
}
