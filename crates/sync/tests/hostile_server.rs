//! L4, the device's side: a server (broken, hostile, or a man in the middle) that answers with
//! more than any message of the protocol cannot fill the device's memory: the client stops
//! reading at the protocol's largest body and refuses the answer.
#![allow(clippy::unwrap_used)]

use std::io::{BufRead, BufReader, Write};
use std::net::TcpListener;
use std::thread;

use reintegra_proto::{ProtoError, MAX_COMPRESSED};
use reintegra_sync::{Http, SyncError, Transport};

/// A server that answers one request with `head` and then `body_bytes` of zeros, and says how
/// many of them it managed to write before the client hung up.
fn hostile(head: &'static str, body_bytes: u64) -> (String, thread::JoinHandle<u64>) {
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let url = format!("http://{}", listener.local_addr().unwrap());
    let server = thread::spawn(move || {
        let (stream, _) = listener.accept().unwrap();
        let mut reader = BufReader::new(stream.try_clone().unwrap());
        let mut line = String::new();
        while reader.read_line(&mut line).unwrap() > 2 {
            line.clear();
        }
        let mut stream = stream;
        stream.write_all(head.as_bytes()).unwrap();
        let chunk = vec![b'0'; 64 * 1024];
        let mut written = 0;
        while written < body_bytes {
            match stream.write(&chunk) {
                Ok(0) | Err(_) => break,
                Ok(n) => written += n as u64,
            }
        }
        written
    });
    (url, server)
}

fn too_large<T: std::fmt::Debug>(answer: Result<T, SyncError>) {
    assert!(
        matches!(
            &answer,
            Err(SyncError::Protocol(ProtoError::TooLarge { limit })) if *limit == MAX_COMPRESSED
        ),
        "{answer:?}"
    );
}

#[test]
fn an_endless_answer_is_cut_at_the_largest_message_of_the_protocol() {
    // No length announced, and a body that never ends (4 GiB of it).
    let (url, server) = hostile(
        "HTTP/1.1 200 OK\r\ncontent-type: application/json\r\nconnection: close\r\n\r\n",
        4 << 30,
    );
    let http = Http::new(&url, Some("token".into())).unwrap();
    too_large(http.state());
    drop(http);
    let written = server.join().unwrap();
    assert!(
        written < 64 << 20,
        "the client stopped reading early: the server could write only {written} bytes"
    );
}

#[test]
fn an_announced_huge_answer_is_refused_before_reading_it() {
    let (url, server) = hostile(
        "HTTP/1.1 200 OK\r\ncontent-type: application/vnd.reintegra+json+zstd\r\ncontent-length: 4000000000\r\n\r\n",
        4 << 30,
    );
    let http = Http::new(&url, Some("token".into())).unwrap();
    too_large(http.pull(0, 65536));
    drop(http);
    let written = server.join().unwrap();
    assert!(written < 64 << 20, "{written}");
}

/// M4, the device's side: plain `http://` is refused for any host but this machine, before a
/// client exists (so the token is never sent unencrypted over a network); `https://` to any
/// host and `http://` to a loopback address are fine.
#[test]
fn m4_plain_http_to_another_machine_is_refused_before_anything_is_sent() {
    // A listener on every address of this machine, reached by its network address (if it
    // has one): a device told to use it over plain HTTP never connects.
    let listener = TcpListener::bind("0.0.0.0:0").unwrap();
    listener.set_nonblocking(true).unwrap();
    let port = listener.local_addr().unwrap().port();
    let network_ip = std::net::UdpSocket::bind("0.0.0.0:0")
        .and_then(|s| s.connect("192.0.2.1:9").map(|()| s))
        .and_then(|s| s.local_addr())
        .map(|a| a.ip())
        .ok()
        .filter(|ip| !ip.is_loopback() && !ip.is_unspecified());
    let mut refused = vec![
        "http://10.0.0.5:8787".to_string(),
        "http://reintegra.example.org".to_string(),
        "http://127.0.0.1.nip.io:8787".to_string(),
        "HTTP://192.168.1.20".to_string(),
    ];
    if let Some(ip) = network_ip {
        refused.push(format!("http://{ip}:{port}"));
    }
    for endpoint in &refused {
        let answer = Http::new(endpoint, Some("secreto".into()));
        let Err(e) = answer else {
            panic!("{endpoint} accepted");
        };
        assert_eq!(e.code(), "plain_http", "{endpoint}");
        assert!(e.to_string().contains("use https://"), "{e}");
    }
    std::thread::sleep(std::time::Duration::from_millis(200));
    assert!(
        listener.accept().is_err(),
        "nothing connected to the listener"
    );
    for endpoint in [
        "http://127.0.0.1:8787",
        "http://127.8.9.10:1",
        "http://localhost:8787",
        "http://[::1]:8787",
        "https://reintegra.example.org",
        "https://10.0.0.5:8443",
    ] {
        assert!(
            Http::new(endpoint, Some("secreto".into())).is_ok(),
            "{endpoint}"
        );
    }
    assert_eq!(
        Http::new("ftp://10.0.0.5", None).err().map(|e| e.code()),
        Some("bad_endpoint")
    );
}
