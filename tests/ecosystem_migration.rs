//! The README's migration guide, as tests.
//!
//! Before: a suite whose tests all start a server on `127.0.0.1:8080`,
//! serialised with `#[serial]` so they do not collide (and flaky anyway
//! under `cargo nextest`, where `#[serial]` does nothing across
//! processes). After: plain `#[ns_test(net)]` tests, each with its own
//! loopback, running in parallel on the same fixed port. And a test that
//! needs port 80, which passes without root: the invoking user is root in
//! the sandbox's user namespace, which owns its network namespace.

use std::io::{BufRead, BufReader, Write};
use std::net::{TcpListener, TcpStream};
use std::thread::JoinHandle;

use ns_test::ns_test;

/// A tiny line server: answers each request line with `reply`, once.
fn serve_once(listener: TcpListener, reply: &'static str) -> JoinHandle<String> {
    std::thread::spawn(move || {
        let (stream, _) = listener.accept().unwrap();
        let mut request = String::new();
        BufReader::new(&stream).read_line(&mut request).unwrap();
        (&stream).write_all(reply.as_bytes()).unwrap();
        request
    })
}

fn request(addr: &str, line: &str) -> String {
    let mut stream = TcpStream::connect(addr).unwrap();
    stream.write_all(line.as_bytes()).unwrap();
    let mut reply = String::new();
    BufReader::new(&stream).read_line(&mut reply).unwrap();
    reply
}

// Before:
//
//     #[test]
//     #[serial]
//     fn health() {
//         let server = serve_once(TcpListener::bind("127.0.0.1:8080").unwrap(), "ok\n");
//         ...
//     }

#[ns_test(net)]
fn health_on_8080() {
    let server = serve_once(TcpListener::bind("127.0.0.1:8080").unwrap(), "ok\n");
    assert_eq!(request("127.0.0.1:8080", "GET /health\n"), "ok\n");
    assert_eq!(server.join().unwrap(), "GET /health\n");
}

#[ns_test(net)]
fn echo_on_8080() {
    let server = serve_once(TcpListener::bind("127.0.0.1:8080").unwrap(), "hello\n");
    assert_eq!(request("127.0.0.1:8080", "ECHO hello\n"), "hello\n");
    assert_eq!(server.join().unwrap(), "ECHO hello\n");
}

#[ns_test(net)]
fn ipv6_on_8080() {
    let server = serve_once(TcpListener::bind("[::1]:8080").unwrap(), "v6\n");
    assert_eq!(request("[::1]:8080", "PING\n"), "v6\n");
    assert_eq!(server.join().unwrap(), "PING\n");
}

/// Many tests, one port, at the same time: each holds `127.0.0.1:8080` in
/// its own sandbox while the others do.
#[ns_test(net)]
#[tokio::test]
async fn port_8080_held_while_others_run() {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:8080")
        .await
        .unwrap();
    let accept = tokio::spawn(async move { listener.accept().await.map(|_| ()) });
    tokio::time::sleep(std::time::Duration::from_millis(200)).await;
    tokio::net::TcpStream::connect("127.0.0.1:8080")
        .await
        .unwrap();
    accept.await.unwrap().unwrap();
}

/// Port 80 without root: binding a port below 1024 needs
/// `CAP_NET_BIND_SERVICE` in the user namespace that owns the network
/// namespace, which the sandbox's root has.
#[ns_test(net)]
fn port_80_without_root() {
    let server = serve_once(
        TcpListener::bind("0.0.0.0:80").unwrap(),
        "HTTP/1.0 200 OK\n",
    );
    assert_eq!(
        request("127.0.0.1:80", "GET / HTTP/1.0\n"),
        "HTTP/1.0 200 OK\n"
    );
    server.join().unwrap();
    // Port 443 and a UDP privileged port too.
    let _tls = TcpListener::bind("127.0.0.1:443").unwrap();
    let _dns = std::net::UdpSocket::bind("127.0.0.1:53").unwrap();
}

/// What the sandboxed test above needs, seen from the host: an
/// unprivileged user cannot bind port 80 there.
#[test]
fn port_80_needs_privileges_on_the_host() {
    let uid = std::fs::read_to_string("/proc/self/status")
        .unwrap()
        .lines()
        .find_map(|l| l.strip_prefix("Uid:"))
        .and_then(|l| l.split_whitespace().nth(1).map(str::to_string))
        .unwrap();
    let unprivileged_start: u16 =
        std::fs::read_to_string("/proc/sys/net/ipv4/ip_unprivileged_port_start")
            .map_or(1024, |s| s.trim().parse().unwrap_or(1024));
    if uid == "0" || unprivileged_start <= 80 {
        eprintln!("skipped: this user may bind port 80 on the host");
        return;
    }
    let e = TcpListener::bind("127.0.0.1:80").unwrap_err();
    assert_eq!(e.kind(), std::io::ErrorKind::PermissionDenied, "{e}");
}
