//! Helpers shared by the network-lab tests (`tests/netlab.rs`, built with
//! the runtime API, and `tests/netlab_attribute.rs`, built by the
//! attribute).

use std::collections::BTreeSet;
use std::io::{BufRead, BufReader, Read, Write};
use std::net::{TcpListener, TcpStream, UdpSocket};
use std::time::{Duration, Instant};

use ns_test::netlab::{Host, Lab};

/// How long any single network step may take before the test fails.
pub const PATIENCE: Duration = Duration::from_secs(10);

/// A listener on `host`, port `port`, on all its addresses.
pub fn listen(host: &Host, port: u16) -> TcpListener {
    host.run(move || TcpListener::bind(("0.0.0.0", port)))
        .unwrap()
        .unwrap()
}

/// A TCP connection from `host` to `to` (a `name:port` or an address).
pub fn connect(host: &Host, to: &str) -> std::io::Result<TcpStream> {
    let to = to.to_string();
    let s = host.run(move || TcpStream::connect(to)).unwrap()?;
    s.set_read_timeout(Some(PATIENCE))?;
    s.set_write_timeout(Some(PATIENCE))?;
    Ok(s)
}

/// A UDP socket on `host`, port `port` (0: any).
pub fn udp(host: &Host, port: u16) -> UdpSocket {
    let s = host
        .run(move || UdpSocket::bind(("0.0.0.0", port)))
        .unwrap()
        .unwrap();
    s.set_read_timeout(Some(PATIENCE)).unwrap();
    s
}

/// Every host serves on `port`; every other host connects by name and is
/// answered with the server's name and the address the client came from.
pub fn every_pair_talks_tcp(lab: &Lab, port: u16) {
    let hosts = lab.hosts();
    let servers: Vec<_> = hosts
        .iter()
        .map(|h| {
            let listener = listen(h, port);
            let name = h.name().to_string();
            let clients = hosts.len() - 1;
            std::thread::spawn(move || {
                for _ in 0..clients {
                    let (mut s, peer) = listener.accept().unwrap();
                    let mut who = [0u8; 2];
                    s.read_exact(&mut who).unwrap();
                    writeln!(
                        s,
                        "{name} saw {} from {peer}",
                        String::from_utf8_lossy(&who)
                    )
                    .unwrap();
                }
            })
        })
        .collect();
    for a in hosts {
        for b in hosts.iter().filter(|b| b.name() != a.name()) {
            // By name: /etc/hosts lists every host.
            let mut s = connect(a, &format!("{}:{port}", b.name())).unwrap();
            assert_eq!(s.peer_addr().unwrap(), b.addr(port));
            assert_eq!(s.local_addr().unwrap().ip(), a.ip());
            s.write_all(a.name().as_bytes()).unwrap();
            let mut answer = String::new();
            s.read_to_string(&mut answer).unwrap();
            let from = s.local_addr().unwrap();
            assert_eq!(
                answer,
                format!("{} saw {} from {from}\n", b.name(), a.name())
            );
        }
    }
    for s in servers {
        s.join().unwrap();
    }
}

/// The README's worked example: a server on `server` answers each line
/// with its length; `client` finds it by name and checks every answer
/// took at least `min_round_trip`.
pub fn lines_answered_with_their_length(
    lab: &Lab,
    server: &str,
    client: &str,
    min_round_trip: Duration,
) -> Result<(), Box<dyn std::error::Error>> {
    let listener = lab
        .host(server)?
        .run(|| TcpListener::bind("0.0.0.0:8080"))??;
    let serving = std::thread::spawn(move || -> std::io::Result<()> {
        let (conn, _) = listener.accept()?;
        let mut out = conn.try_clone()?;
        for line in BufReader::new(conn).lines() {
            writeln!(out, "{}", line?.len())?;
        }
        Ok(())
    });
    let to = format!("{server}:8080");
    let conn = lab.host(client)?.run(|| TcpStream::connect(to))??;
    conn.set_read_timeout(Some(Duration::from_secs(30)))?;
    let mut answers = BufReader::new(conn.try_clone()?).lines();
    let mut out = conn;
    for word in ["a", "bb", "ccc", "dddd", "eeeee"] {
        let sent = Instant::now();
        writeln!(out, "{word}")?;
        let answer = answers.next().ok_or("the server hung up")??;
        assert_eq!(answer, word.len().to_string());
        assert!(sent.elapsed() >= min_round_trip, "{:?}", sent.elapsed());
    }
    drop((out, answers));
    serving.join().map_err(|_| "the server panicked")??;
    Ok(())
}

/// Sends `count` numbered datagrams from `from` to `to` in batches the
/// receiving socket's buffer holds, and returns the numbers that arrived.
/// After each batch, `wait_frames` says the relay has delivered or dropped
/// all of it, and the path's `delivered` counter says how many to read.
pub fn blast(lab: &Lab, from: &str, to: &str, count: u32) -> BTreeSet<u32> {
    let (a, b) = (lab.host(from).unwrap(), lab.host(to).unwrap());
    let rx = udp(b, 9000);
    let tx = udp(a, 0);
    let dest = b.addr(9000);
    let mut got = BTreeSet::new();
    let before = lab.stats(from, to).unwrap();
    let mut read = before.delivered;
    for batch in (0..count).collect::<Vec<_>>().chunks(100) {
        for seq in batch {
            tx.send_to(&seq.to_be_bytes(), dest).unwrap();
        }
        let sent = before.frames + u64::from(batch[batch.len() - 1]) + 1;
        let delivered = lab.wait_frames(from, to, sent, PATIENCE).unwrap().delivered;
        while read < delivered {
            let mut buf = [0u8; 4];
            let (n, src) = rx.recv_from(&mut buf).unwrap();
            assert_eq!((n, src.ip()), (4, std::net::IpAddr::V4(a.ip())));
            got.insert(u32::from_be_bytes(buf));
            read += 1;
        }
    }
    assert_eq!(lab.ring_drops().unwrap(), 0, "the relay kept up");
    got
}
