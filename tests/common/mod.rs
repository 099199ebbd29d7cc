//! Helpers shared by the integration tests.
#![allow(dead_code)]

pub mod netlab;

use std::sync::atomic::{AtomicU32, Ordering};

/// A token unique to this process and call, to find what a test created.
pub fn token(what: &str) -> String {
    static N: AtomicU32 = AtomicU32::new(0);
    format!(
        "ns-test-{what}-{}-{}",
        std::process::id(),
        N.fetch_add(1, Ordering::SeqCst)
    )
}

/// Host pids whose command line contains `needle`, seen from the host.
pub fn host_processes_with(needle: &str) -> Vec<u32> {
    let mut found = Vec::new();
    let Ok(dir) = std::fs::read_dir("/proc") else {
        return found;
    };
    for e in dir.flatten() {
        let Some(pid) = e.file_name().to_str().and_then(|s| s.parse::<u32>().ok()) else {
            continue;
        };
        let Ok(cmd) = std::fs::read(format!("/proc/{pid}/cmdline")) else {
            continue;
        };
        if String::from_utf8_lossy(&cmd).contains(needle) {
            // A zombie has an empty cmdline, so this is a live process.
            found.push(pid);
        }
    }
    found
}

/// Path of a fixture program built with this package.
pub fn sleeper() -> &'static str {
    env!("CARGO_BIN_EXE_fixture-sleeper")
}

/// Path of the probe fixture.
pub fn probe() -> &'static str {
    env!("CARGO_BIN_EXE_fixture-probe")
}

/// A field of `/proc/self/status` (`Uid:`, `CapEff:`), trimmed.
pub fn status_field(name: &str) -> String {
    std::fs::read_to_string("/proc/self/status")
        .unwrap()
        .lines()
        .find_map(|l| l.strip_prefix(name).map(|v| v.trim().to_string()))
        .unwrap()
}

/// One-byte round trips over a TCP connection to `listener`: the
/// handshake's (`handshake`, timed by the caller around `connect`), then
/// five echoes.
pub fn echo_round_trips(
    listener: &std::net::TcpListener,
    mut client: std::net::TcpStream,
    handshake: std::time::Duration,
) -> Vec<std::time::Duration> {
    use std::io::{Read, Write};
    let (mut server, _) = listener.accept().unwrap();
    client.set_nodelay(true).unwrap();
    server.set_nodelay(true).unwrap();
    server
        .set_read_timeout(Some(std::time::Duration::from_secs(30)))
        .unwrap();
    let echo = std::thread::spawn(move || {
        let mut b = [0u8; 1];
        for _ in 0..5 {
            server.read_exact(&mut b).unwrap();
            server.write_all(&b).unwrap();
        }
    });
    let mut rtts = vec![handshake];
    for i in 0..5u8 {
        let t = std::time::Instant::now();
        client.write_all(&[i]).unwrap();
        let mut b = [0u8; 1];
        client.read_exact(&mut b).unwrap();
        assert_eq!(b[0], i);
        rtts.push(t.elapsed());
    }
    echo.join().unwrap();
    rtts
}
