//! The proxy behaves like the link it claims to be: bandwidth, latency, refusals, resets at the
//! configured rate, the same faults for the same seed. Scaled-down presets keep it fast.
#![allow(clippy::unwrap_used)] // tests may unwrap

use std::net::SocketAddr;
use std::time::{Duration, Instant};

use reintegra_linksim::{Preset, Proxy};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream};

const FAST: Preset = Preset {
    down_bps: 8_000_000,
    up_bps: 4_000_000,
    rtt: Duration::from_millis(20),
    stalls: None,
    resets_per_mib: 0.0,
    offline: false,
};

/// A server that answers each request with `reply` bytes once the client half-closes.
async fn server(reply: usize) -> SocketAddr {
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    tokio::spawn(async move {
        while let Ok((mut s, _)) = listener.accept().await {
            tokio::spawn(async move {
                let mut sink = Vec::new();
                let _ = s.read_to_end(&mut sink).await;
                let _ = s.write_all(&vec![7u8; reply]).await;
                let _ = s.shutdown().await;
            });
        }
    });
    addr
}

/// Sends `up` bytes, half-closes, reads the reply: (bytes received, elapsed, ended cleanly).
async fn exchange(addr: SocketAddr, up: usize) -> (usize, Duration) {
    let t = Instant::now();
    let mut s = TcpStream::connect(addr).await.unwrap();
    let _ = s.write_all(&vec![1u8; up]).await;
    let _ = s.shutdown().await;
    let mut got = Vec::new();
    let mut buf = [0u8; 8192];
    loop {
        match s.read(&mut buf).await {
            Ok(0) | Err(_) => break,
            Ok(n) => got.extend_from_slice(&buf[..n]),
        }
    }
    (got.len(), t.elapsed())
}

#[tokio::test]
async fn bandwidth_each_way_is_what_the_preset_says() {
    let proxy = Proxy::start(server(1_000_000).await, FAST, 1)
        .await
        .unwrap();
    let (got, elapsed) = exchange(proxy.local_addr(), 500_000).await;
    assert_eq!(got, 1_000_000);
    // 500 kB up at 4 Mbit/s = 1.0 s, 1 MB down at 8 Mbit/s = 1.0 s, plus one RTT.
    let expected = 2.0 + 0.02;
    let secs = elapsed.as_secs_f64();
    assert!(
        (secs - expected).abs() / expected < 0.15,
        "{secs:.2} s, expected {expected:.2} s"
    );
    assert_eq!(proxy.bytes(), (500_000, 1_000_000));
}

#[tokio::test]
async fn a_request_costs_a_round_trip() {
    let slow = Preset {
        rtt: Duration::from_millis(300),
        ..FAST
    };
    let proxy = Proxy::start(server(100).await, slow, 1).await.unwrap();
    let (got, elapsed) = exchange(proxy.local_addr(), 100).await;
    assert_eq!(got, 100);
    let ms = elapsed.as_millis();
    assert!((290..450).contains(&ms), "{ms} ms");
}

#[tokio::test]
async fn offline_refuses_and_healing_lets_traffic_through() {
    let proxy = Proxy::start(server(10).await, Preset::OFFLINE, 1)
        .await
        .unwrap();
    let (got, _) = exchange(proxy.local_addr(), 10).await;
    assert_eq!(got, 0);
    proxy.set_preset(FAST);
    let (got, _) = exchange(proxy.local_addr(), 10).await;
    assert_eq!(got, 10);
}

#[tokio::test]
async fn resets_cut_transfers_at_the_configured_rate_reproducibly() {
    // Nearly certain reset per MiB: a 4 MiB download is cut short, at the same byte each run.
    let lossy = Preset {
        resets_per_mib: 0.9,
        down_bps: 400_000_000,
        up_bps: 400_000_000,
        rtt: Duration::from_millis(2),
        ..FAST
    };
    let upstream = server(4 << 20).await;
    let mut cut_at = Vec::new();
    for _ in 0..2 {
        let proxy = Proxy::start(upstream, lossy, 42).await.unwrap();
        let (got, _) = exchange(proxy.local_addr(), 10).await;
        assert!(got < 4 << 20, "the transfer was cut");
        assert_eq!(
            proxy
                .counters()
                .resets
                .load(std::sync::atomic::Ordering::Relaxed),
            1
        );
        cut_at.push(got);
    }
    assert_eq!(cut_at[0], cut_at[1], "same seed, same fault");

    // Without resets, the same transfer completes.
    let clean = Preset {
        resets_per_mib: 0.0,
        ..lossy
    };
    let proxy = Proxy::start(upstream, clean, 42).await.unwrap();
    assert_eq!(exchange(proxy.local_addr(), 10).await.0, 4 << 20);
}

#[test]
fn presets_are_the_issues() {
    assert_eq!(Preset::named("3g").unwrap().down_bps, 1_600_000);
    assert_eq!(Preset::named("3g").unwrap().up_bps, 768_000);
    assert_eq!(
        Preset::named("edge").unwrap().rtt,
        Duration::from_millis(840)
    );
    let lossy = Preset::named("3g-lossy").unwrap();
    assert_eq!(lossy.resets_per_mib, 0.5);
    assert_eq!(lossy.stalls.unwrap().per_64k, 0.2);
    assert!(Preset::named("offline").unwrap().offline);
    assert!(Preset::named("5g").is_none());
}
