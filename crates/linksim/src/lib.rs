//! A link simulator: a TCP proxy between a device and the server that behaves like the links
//! field offices have — limited bandwidth each way, latency, random stalls, connection resets
//! mid-transfer (a reset during a response is a truncated response) — seeded, so a test or a
//! benchmark sees the same faults on every run. Presets (down/up as seen from the device) are
//! those of the sync issue: `edge`, `3g`, `3g-lossy`, `offline`.
//!
//! The model: bytes entering the link in one direction are serialized at that direction's
//! bandwidth (one queue per direction, as on a real modem) and delivered RTT/2 later; every
//! 64 KiB may stall the queue; every chunk may reset the connection with the probability that
//! gives the preset's resets per MiB.

use std::net::SocketAddr;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex, PoisonError};
use std::time::Duration;

use rand::rngs::StdRng;
use rand::{Rng, SeedableRng};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::tcp::{OwnedReadHalf, OwnedWriteHalf};
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::mpsc;
use tokio::task::JoinHandle;
use tokio::time::Instant;

/// Random stalls: with probability `per_64k` per 64 KiB, the link freezes for `min..=max`.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Stalls {
    pub per_64k: f64,
    pub min: Duration,
    pub max: Duration,
}

#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Preset {
    /// Server → device, bits per second.
    pub down_bps: u64,
    /// Device → server, bits per second.
    pub up_bps: u64,
    pub rtt: Duration,
    pub stalls: Option<Stalls>,
    /// Probability of a connection reset per MiB transferred (either way).
    pub resets_per_mib: f64,
    /// Refuses every connection.
    pub offline: bool,
}

impl Preset {
    pub const EDGE: Preset = Preset {
        down_bps: 240_000,
        up_bps: 200_000,
        rtt: Duration::from_millis(840),
        stalls: None,
        resets_per_mib: 0.0,
        offline: false,
    };
    pub const THREE_G: Preset = Preset {
        down_bps: 1_600_000,
        up_bps: 768_000,
        rtt: Duration::from_millis(300),
        stalls: None,
        resets_per_mib: 0.0,
        offline: false,
    };
    pub const THREE_G_LOSSY: Preset = Preset {
        stalls: Some(Stalls {
            per_64k: 0.2,
            min: Duration::from_secs(1),
            max: Duration::from_secs(3),
        }),
        resets_per_mib: 0.5,
        ..Preset::THREE_G
    };
    pub const OFFLINE: Preset = Preset {
        offline: true,
        ..Preset::THREE_G
    };

    /// A preset by its name in the issue and the CLI.
    pub fn named(name: &str) -> Option<Preset> {
        match name {
            "edge" => Some(Preset::EDGE),
            "3g" => Some(Preset::THREE_G),
            "3g-lossy" => Some(Preset::THREE_G_LOSSY),
            "offline" => Some(Preset::OFFLINE),
            _ => None,
        }
    }
}

/// Bytes that crossed the link, and resets it caused.
#[derive(Debug, Default)]
pub struct Counters {
    pub up: AtomicU64,
    pub down: AtomicU64,
    pub resets: AtomicU64,
    pub connections: AtomicU64,
}

/// A running proxy. Dropping it stops accepting; open connections end with their peers.
pub struct Proxy {
    addr: SocketAddr,
    counters: Arc<Counters>,
    preset: Arc<Mutex<Preset>>,
    accept: JoinHandle<()>,
}

impl Proxy {
    /// Listens on 127.0.0.1 (a free port) and forwards to `upstream` through `preset`.
    pub async fn start(upstream: SocketAddr, preset: Preset, seed: u64) -> std::io::Result<Proxy> {
        Proxy::listen(
            "127.0.0.1:0".parse().map_err(std::io::Error::other)?,
            upstream,
            preset,
            seed,
        )
        .await
    }

    pub async fn listen(
        listen: SocketAddr,
        upstream: SocketAddr,
        preset: Preset,
        seed: u64,
    ) -> std::io::Result<Proxy> {
        let listener = TcpListener::bind(listen).await?;
        let addr = listener.local_addr()?;
        let counters = Arc::new(Counters::default());
        let preset = Arc::new(Mutex::new(preset));
        let accept = tokio::spawn(accept_loop(
            listener,
            upstream,
            preset.clone(),
            counters.clone(),
            seed,
        ));
        Ok(Proxy {
            addr,
            counters,
            preset,
            accept,
        })
    }

    pub fn local_addr(&self) -> SocketAddr {
        self.addr
    }

    pub fn counters(&self) -> &Counters {
        &self.counters
    }

    /// Bytes device → server and server → device so far.
    pub fn bytes(&self) -> (u64, u64) {
        (
            self.counters.up.load(Ordering::Relaxed),
            self.counters.down.load(Ordering::Relaxed),
        )
    }

    /// Changes the link for new connections (e.g. go offline, then heal).
    pub fn set_preset(&self, preset: Preset) {
        *self.preset.lock().unwrap_or_else(PoisonError::into_inner) = preset;
    }
}

impl Drop for Proxy {
    fn drop(&mut self) {
        self.accept.abort();
    }
}

async fn accept_loop(
    listener: TcpListener,
    upstream: SocketAddr,
    preset: Arc<Mutex<Preset>>,
    counters: Arc<Counters>,
    seed: u64,
) {
    let mut index = 0u64;
    while let Ok((client, _)) = listener.accept().await {
        index += 1;
        let link = *preset.lock().unwrap_or_else(PoisonError::into_inner);
        counters.connections.fetch_add(1, Ordering::Relaxed);
        if link.offline {
            drop(client);
            continue;
        }
        let counters = counters.clone();
        // Each connection (and direction) has its own reproducible fault schedule.
        let seed = seed ^ index.wrapping_mul(0x9E37_79B9_7F4A_7C15);
        tokio::spawn(async move {
            if let Ok(server) = TcpStream::connect(upstream).await {
                connect(client, server, link, counters, seed).await;
            }
        });
    }
}

#[derive(Clone, Copy)]
enum Direction {
    Up,
    Down,
}

async fn connect(
    client: TcpStream,
    server: TcpStream,
    link: Preset,
    counters: Arc<Counters>,
    seed: u64,
) {
    let _ = client.set_nodelay(true);
    let _ = server.set_nodelay(true);
    let (client_read, client_write) = client.into_split();
    let (server_read, server_write) = server.into_split();
    let (reset_tx, mut reset_rx) = mpsc::channel::<()>(2);
    let up = tokio::spawn(pump(
        client_read,
        server_write,
        link,
        Direction::Up,
        counters.clone(),
        seed,
        reset_tx.clone(),
    ));
    let down = tokio::spawn(pump(
        server_read,
        client_write,
        link,
        Direction::Down,
        counters.clone(),
        seed ^ 1,
        reset_tx,
    ));
    // A reset in either direction ends both, at once (the peers see the connection drop).
    let (up_abort, down_abort) = (up.abort_handle(), down.abort_handle());
    tokio::select! {
        _ = reset_rx.recv() => {
            up_abort.abort();
            down_abort.abort();
        }
        _ = async { let _ = up.await; let _ = down.await; } => {}
    }
}

const CHUNK: usize = 16 * 1024;
const STALL_EVERY: f64 = 64.0 * 1024.0;
const MIB: f64 = 1024.0 * 1024.0;

/// Moves one direction: read, queue at the bandwidth, deliver RTT/2 later, in order.
async fn pump(
    mut from: OwnedReadHalf,
    to: OwnedWriteHalf,
    link: Preset,
    direction: Direction,
    counters: Arc<Counters>,
    seed: u64,
    reset: mpsc::Sender<()>,
) {
    // Faults are drawn in byte space (not per read), so a seed gives the same faults at the
    // same bytes however the OS splits the stream.
    let mut stall_rng = StdRng::seed_from_u64(seed);
    let mut reset_rng = StdRng::seed_from_u64(seed.rotate_left(17) ^ 0x5EED);
    let next_reset = next_event_after(0, link.resets_per_mib, MIB, &mut reset_rng);
    let mut next_stall = link
        .stalls
        .and_then(|s| next_event_after(0, s.per_64k, STALL_EVERY, &mut stall_rng));
    let bps = match direction {
        Direction::Up => link.up_bps,
        Direction::Down => link.down_bps,
    }
    .max(1);
    let one_way = link.rtt / 2;
    let (tx, rx) = mpsc::unbounded_channel::<(Instant, Vec<u8>)>();
    let writer = tokio::spawn(deliver(to, rx));
    let mut free_at = Instant::now();
    let mut moved = 0u64;
    let mut buf = vec![0u8; CHUNK];
    loop {
        let n = match from.read(&mut buf).await {
            Ok(0) | Err(_) => break,
            Ok(n) => n,
        };
        let now = Instant::now();
        let serialize = Duration::from_secs_f64(n as f64 * 8.0 / bps as f64);
        free_at = free_at.max(now) + serialize;
        if let Some(stalls) = link.stalls {
            while let Some(at) = next_stall.filter(|at| *at < moved + n as u64) {
                free_at += stall_rng.gen_range(stalls.min..=stalls.max);
                next_stall = next_event_after(at, stalls.per_64k, STALL_EVERY, &mut stall_rng);
            }
        }
        let counter = match direction {
            Direction::Up => &counters.up,
            Direction::Down => &counters.down,
        };
        if next_reset.is_some_and(|at| at < moved + n as u64) {
            // Part of this chunk gets through, then the connection drops (counted first, so
            // whoever sees the cut also sees the count).
            let part = next_reset.map_or(0, |at| (at - moved) as usize);
            counter.fetch_add(part as u64, Ordering::Relaxed);
            counters.resets.fetch_add(1, Ordering::Relaxed);
            let _ = tx.send((free_at + one_way, buf[..part].to_vec()));
            drop(tx);
            let _ = writer.await;
            let _ = reset.send(()).await;
            return;
        }
        moved += n as u64;
        counter.fetch_add(n as u64, Ordering::Relaxed);
        if tx.send((free_at + one_way, buf[..n].to_vec())).is_err() {
            break;
        }
    }
    drop(tx);
    let _ = writer.await;
}

/// The byte after `from` at which the next event happens (None: never), events arriving with
/// probability `per_span` within any `span` bytes (exponential gaps: a short transfer has its
/// fair, smaller chance too).
fn next_event_after(from: u64, per_span: f64, span: f64, rng: &mut StdRng) -> Option<u64> {
    if per_span <= 0.0 {
        return None;
    }
    let rate = -(1.0 - per_span.min(0.999_999)).ln() / span;
    let gap = -(1.0 - rng.gen::<f64>()).ln() / rate;
    Some(from + gap as u64)
}

async fn deliver(mut to: OwnedWriteHalf, mut rx: mpsc::UnboundedReceiver<(Instant, Vec<u8>)>) {
    while let Some((at, bytes)) = rx.recv().await {
        tokio::time::sleep_until(at).await;
        if to.write_all(&bytes).await.is_err() {
            return;
        }
    }
    let _ = to.shutdown().await;
}
