//! `#[ns_test(net(hosts = N, ...))]`: the network lab built by the
//! attribute, reached from the test with `ns_test::netlab::lab()`.

mod common;

use std::collections::BTreeSet;
use std::io::{BufRead, BufReader, Read, Write};
use std::net::{TcpListener, TcpStream, UdpSocket};
use std::time::{Duration, Instant};

use ns_test::netlab::{lab, Host, Lab, LinkConfig};
use ns_test::ns_test;

const PATIENCE: Duration = Duration::from_secs(10);

fn listen(host: &Host, port: u16) -> TcpListener {
    host.run(move || TcpListener::bind(("0.0.0.0", port)))
        .unwrap()
        .unwrap()
}

fn connect(host: &Host, to: &str) -> TcpStream {
    let to = to.to_string();
    let s = host.run(move || TcpStream::connect(to)).unwrap().unwrap();
    s.set_read_timeout(Some(PATIENCE)).unwrap();
    s
}

fn udp(host: &Host, port: u16) -> UdpSocket {
    let s = host
        .run(move || UdpSocket::bind(("0.0.0.0", port)))
        .unwrap()
        .unwrap();
    s.set_read_timeout(Some(PATIENCE)).unwrap();
    s
}

#[ns_test(net(hosts = 3), mnt, timeout = "60s")]
fn three_hosts_talk_tcp_by_name() {
    let lab = lab();
    let names: Vec<&str> = lab.hosts().iter().map(Host::name).collect();
    assert_eq!(names, ["h1", "h2", "h3"]);
    assert!(lab.etc_hosts_installed());
    // Every host answers each connection with its own name.
    let servers: Vec<_> = lab
        .hosts()
        .iter()
        .map(|h| {
            let listener = listen(h, 7000);
            let name = h.name().to_string();
            std::thread::spawn(move || {
                for _ in 0..2 {
                    let (mut s, _) = listener.accept().unwrap();
                    s.write_all(name.as_bytes()).unwrap();
                }
            })
        })
        .collect();
    for a in lab.hosts() {
        for b in lab.hosts().iter().filter(|b| b.name() != a.name()) {
            let mut s = connect(a, &format!("{}:7000", b.name()));
            assert_eq!(s.local_addr().unwrap().ip(), a.ip());
            let mut answer = String::new();
            s.read_to_string(&mut answer).unwrap();
            assert_eq!(answer, b.name());
        }
    }
    for s in servers {
        s.join().unwrap();
    }
}

/// The worked example of the README's "Network lab" section.
#[ns_test(net(hosts = 2, delay = "100ms", loss = "5%"), mnt, timeout = "60s")]
fn client_and_server_under_100ms_delay_and_5_percent_loss() -> Result<(), Box<dyn std::error::Error>>
{
    let lab = ns_test::netlab::lab();
    // The server: a thread on h2 answering each line with its length.
    let listener = lab
        .host("h2")?
        .run(|| TcpListener::bind("0.0.0.0:8080"))??;
    let server = std::thread::spawn(move || -> std::io::Result<()> {
        let (conn, _) = listener.accept()?;
        let mut out = conn.try_clone()?;
        for line in BufReader::new(conn).lines() {
            writeln!(out, "{}", line?.len())?;
        }
        Ok(())
    });
    // The client, on h1, finds the server by name.
    let conn = lab.host("h1")?.run(|| TcpStream::connect("h2:8080"))??;
    conn.set_read_timeout(Some(Duration::from_secs(30)))?;
    let mut answers = BufReader::new(conn.try_clone()?).lines();
    let mut out = conn;
    for word in ["a", "bb", "ccc", "dddd", "eeeee"] {
        let sent = Instant::now();
        writeln!(out, "{word}")?;
        let answer = answers.next().ok_or("the server hung up")??;
        assert_eq!(answer, word.len().to_string());
        // 100 ms each way: no answer comes back in less than 200 ms.
        assert!(sent.elapsed() >= Duration::from_millis(200));
    }
    drop((out, answers));
    server.join().map_err(|_| "the server panicked")??;
    Ok(())
}

#[ns_test(net(hosts = 2, delay = "20ms"), mnt, timeout = "60s")]
fn round_trips_take_at_least_twice_the_delay() {
    let lab = lab();
    let (h1, h2) = (lab.host("h1").unwrap(), lab.host("h2").unwrap());
    assert_eq!(
        lab.path_config("h2", "h1").unwrap().delay,
        Duration::from_millis(20)
    );
    let listener = listen(h2, 7001);
    let started = Instant::now();
    let client = connect(h1, "h2:7001");
    let handshake = started.elapsed();
    let rtts = common::echo_round_trips(&listener, client, handshake);
    for rtt in &rtts {
        assert!(*rtt >= Duration::from_millis(40), "{rtt:?} in {rtts:?}");
    }
}

/// Sends `count` numbered datagrams from `from` to `to` in batches and
/// returns the numbers that arrived (see `tests/netlab.rs::blast`).
fn blast(lab: &Lab, from: &str, to: &str, count: u32) -> BTreeSet<u32> {
    let (a, b) = (lab.host(from).unwrap(), lab.host(to).unwrap());
    let rx = udp(b, 9000);
    let tx = udp(a, 0);
    let dest = b.addr(9000);
    let before = lab.stats(from, to).unwrap();
    let mut read = before.delivered;
    let mut got = BTreeSet::new();
    for batch in (0..count).collect::<Vec<_>>().chunks(100) {
        for seq in batch {
            tx.send_to(&seq.to_be_bytes(), dest).unwrap();
        }
        let sent = before.frames + u64::from(batch[batch.len() - 1]) + 1;
        let delivered = lab.wait_frames(from, to, sent, PATIENCE).unwrap().delivered;
        while read < delivered {
            let mut buf = [0u8; 4];
            rx.recv(&mut buf).unwrap();
            got.insert(u32::from_be_bytes(buf));
            read += 1;
        }
    }
    assert_eq!(lab.ring_drops().unwrap(), 0, "the relay kept up");
    got
}

#[ns_test(net(hosts = 2, loss = "10%"), timeout = "60s")]
fn loss_set_by_the_attribute_is_observed() {
    let lab = lab();
    let got = blast(lab, "h1", "h2", 2000);
    let lost = 2000 - got.len();
    // 10 % of 2000 is 200; 7–13 % is over 4 standard deviations wide.
    assert!((140..=260).contains(&lost), "lost {lost} of 2000");
    assert_eq!(lab.stats("h1", "h2").unwrap().lost as usize, lost);
}

/// The attribute's seed is the lab's, and replays: a lab built by hand with
/// the same seed and link drops the same datagrams.
#[ns_test(net(hosts = 2, loss = "30%", seed = 42), timeout = "60s")]
fn the_attribute_seed_gives_the_same_drop_pattern_twice() {
    let lab = lab();
    assert_eq!(lab.seed(), 42);
    let first = blast(lab, "h1", "h2", 500);
    let again = Lab::builder()
        .hosts(2)
        .seed(42)
        .link(LinkConfig::new().loss(0.3))
        .build()
        .unwrap();
    assert_eq!(blast(&again, "h1", "h2", 500), first);
    assert!((300..400).contains(&first.len()), "{}", first.len());
}

/// A seed in the attribute is fixed: `NS_TEST_NET_SEED` does not override it.
#[ns_test(net(hosts = 1, seed = 7), env(NS_TEST_NET_SEED = "9"))]
fn the_attribute_seed_wins_over_the_environment() {
    assert_eq!(lab().seed(), 7);
}

/// Without a seed in the attribute, `NS_TEST_NET_SEED` sets it.
#[ns_test(net(hosts = 1), env(NS_TEST_NET_SEED = "0x2a"))]
fn without_a_seed_the_environment_sets_it() {
    assert_eq!(lab().seed(), 42);
}

#[ns_test(net(
    hosts = 2,
    delay = "1.5ms",
    jitter = "250us",
    loss = "0.5%",
    duplicate = "1%",
    reorder = "2%",
    rate = "1.5MBps",
    queue = 64,
))]
fn every_link_option_reaches_the_lab() {
    let expected = LinkConfig::new()
        .delay(Duration::from_micros(1500))
        .jitter(Duration::from_micros(250))
        .loss(0.005)
        .duplicate(0.01)
        .reorder(0.02)
        .rate_bps(12_000_000)
        .queue(64);
    for (from, to) in [("h1", "h2"), ("h2", "h1")] {
        assert_eq!(lab().path_config(from, to).unwrap(), expected);
    }
}

/// `net(...)` alone makes only the network namespace: no `/etc/hosts`
/// overlay, so names go through the lab.
#[ns_test(net(hosts = 2), timeout = "60s")]
fn without_mnt_names_resolve_through_the_lab() {
    let lab = lab();
    assert!(!lab.etc_hosts_installed());
    let h2 = lab.resolve("h2").unwrap();
    let listener = listen(lab.host("h2").unwrap(), 7002);
    connect(lab.host("h1").unwrap(), &format!("{h2}:7002"));
    listener.accept().unwrap();
}

#[ns_test(net(hosts = 2), mnt)]
fn a_result_test_reaches_its_lab() -> Result<(), Box<dyn std::error::Error>> {
    assert_eq!(lab().host("h2")?.ip().to_string(), "198.18.0.2");
    Ok(())
}

/// The lab is built before the runtime starts, on the sandbox's side.
#[ns_test(net(hosts = 2))]
#[tokio::test]
async fn an_async_test_reaches_its_lab() {
    tokio::task::yield_now().await;
    assert_eq!(lab().hosts().len(), 2);
}

/// A lab that cannot be built fails the test with the lab's message: here
/// `pids = 2` leaves no room for the thread that creates a host.
#[ns_test(net(hosts = 2), pids = 2)]
#[should_panic(expected = "netlab: creating a network namespace for h1: pthread_create => EAGAIN")]
fn a_lab_that_cannot_be_built_fails_the_test() {
    unreachable!("the body does not run without its lab");
}

/// Tests without `net(...)` have no lab.
#[ns_test(net)]
fn bare_net_has_no_lab() {
    assert!(ns_test::netlab::try_lab().is_none());
}

/// The attribute checks `hosts` against its own copy of the limit.
#[test]
fn the_attribute_and_the_runtime_agree_on_the_host_limit() {
    assert_eq!(
        ns_test::netlab::MAX_HOSTS,
        250,
        "update ns-test-macros/src/lab.rs"
    );
}
