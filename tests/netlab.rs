//! `ns_test::netlab`: several hosts in one sandbox, joined through a relay
//! that applies seeded link faults.

mod common;

use common::netlab::{
    blast, connect, every_pair_talks_tcp, lines_answered_with_their_length, listen, udp, PATIENCE,
};

use std::collections::BTreeSet;
use std::io::{ErrorKind, Read, Write};
use std::net::{SocketAddr, TcpStream, UdpSocket};
use std::os::fd::AsRawFd;
use std::process::Command;
use std::time::{Duration, Instant};

use ns_test::netlab::{Error, Fabric, Host, Lab, LinkConfig};
use ns_test::{ns_test, Namespaces, Sandbox};

fn ms(n: u64) -> Duration {
    Duration::from_millis(n)
}

#[ns_test(net, mnt, timeout = "60s")]
fn three_hosts_talk_tcp_between_every_pair() {
    let lab = Lab::new(3).unwrap();
    assert!(lab.etc_hosts_installed());
    every_pair_talks_tcp(&lab, 7000);
}

/// The worked example of the README.
#[ns_test(net, mnt, timeout = "60s")]
fn client_and_server_under_100ms_delay_and_5_percent_loss() -> Result<(), Box<dyn std::error::Error>>
{
    let lab = Lab::builder()
        .host("server")
        .host("client")
        .link(LinkConfig::new().delay(ms(100)).loss(0.05))
        .build()?;
    // 100 ms each way: no answer comes back in less than 200 ms.
    lines_answered_with_their_length(&lab, "server", "client", ms(200))
}

#[ns_test(net, mnt, timeout = "60s")]
fn measured_rtt_is_at_least_the_configured_delay() {
    let delay = ms(40);
    let lab = Lab::builder()
        .hosts(2)
        .link(LinkConfig::new().delay(delay))
        .build()
        .unwrap();
    let (h1, h2) = (lab.host("h1").unwrap(), lab.host("h2").unwrap());
    let listener = listen(h2, 7001);
    let started = Instant::now();
    let client = connect(h1, "h2:7001").unwrap();
    // connect() returns after SYN and SYN-ACK: one round trip.
    let handshake = started.elapsed();
    let rtts = common::echo_round_trips(&listener, client, handshake);
    // The delay is one-way, on both directions: a round trip takes twice it.
    for rtt in &rtts {
        assert!(*rtt >= 2 * delay, "rtt {rtt:?} < 2 × {delay:?}: {rtts:?}");
    }
}

#[ns_test(net, mnt, timeout = "60s")]
fn loss_ratio_is_within_tolerance() {
    let lab = Lab::builder()
        .hosts(2)
        .link(LinkConfig::new().loss(0.10))
        .build()
        .unwrap();
    let got = blast(&lab, "h1", "h2", 2000);
    let lost = 2000 - got.len();
    // 10 % of 2000 is 200; 7–13 % is over 4 standard deviations (13.4) wide.
    assert!((140..=260).contains(&lost), "lost {lost} of 2000");
    let st = lab.stats("h1", "h2").unwrap();
    assert_eq!((st.frames, st.lost as usize), (2000, lost), "{st:?}");
    // The other direction saw nothing: no ARP, no IPv6 chatter.
    assert_eq!(lab.stats("h2", "h1").unwrap().frames, 0);
}

fn drop_pattern(seed: u64) -> BTreeSet<u32> {
    let lab = Lab::builder()
        .hosts(2)
        .seed(seed)
        .link(LinkConfig::new().loss(0.3))
        .build()
        .unwrap();
    assert_eq!(lab.seed(), seed);
    blast(&lab, "h1", "h2", 500)
}

#[ns_test(net, mnt, timeout = "60s")]
fn the_same_seed_gives_the_same_drop_pattern() {
    let first = drop_pattern(42);
    let second = drop_pattern(42);
    assert_eq!(first, second);
    assert!((300..400).contains(&first.len()), "{}", first.len());
    // And another seed another one (all 500 fates equal by chance: ~0).
    assert_ne!(drop_pattern(43), first);
}

#[ns_test(net, mnt, timeout = "60s")]
fn a_partition_makes_connections_time_out_and_heal_restores_them() {
    let lab = Lab::new(3).unwrap();
    let (h1, h2, h3) = (
        lab.host("h1").unwrap(),
        lab.host("h2").unwrap(),
        lab.host("h3").unwrap(),
    );
    let listener = listen(h2, 7002);
    let mut client = connect(h1, "h2:7002").unwrap();
    let (mut server, _) = listener.accept().unwrap();

    lab.partition(&["h1"], &["h2", "h3"]).unwrap();
    // Sent, but it cannot arrive.
    client.write_all(b"across").unwrap();
    server.set_read_timeout(Some(ms(300))).unwrap();
    let e = server.read(&mut [0u8; 6]).unwrap_err();
    assert!(
        matches!(e.kind(), ErrorKind::WouldBlock | ErrorKind::TimedOut),
        "{e}"
    );
    // A new connection times out.
    let addr = h2.addr(7002);
    let e = h1
        .run(move || TcpStream::connect_timeout(&addr, ms(300)))
        .unwrap()
        .unwrap_err();
    assert_eq!(e.kind(), ErrorKind::TimedOut, "{e}");
    // The other side of the partition is fine.
    connect(h3, "h2:7002").unwrap();
    let _ = listener.accept().unwrap();
    assert!(lab.stats("h1", "h2").unwrap().partitioned > 0);

    lab.heal().unwrap();
    // TCP retransmits what was sent during the partition.
    server.set_read_timeout(Some(PATIENCE)).unwrap();
    let mut b = [0u8; 6];
    server.read_exact(&mut b).unwrap();
    assert_eq!(&b, b"across");
    connect(h1, "h2:7002").unwrap();
}

#[ns_test(timeout = "60s")]
fn faults_change_while_the_test_runs() {
    let lab = Lab::new(2).unwrap();
    assert_eq!(blast(&lab, "h1", "h2", 100).len(), 100);
    lab.set_path("h1", "h2", &LinkConfig::new().loss(1.0))
        .unwrap();
    assert_eq!(lab.path_config("h1", "h2").unwrap().loss, 1.0);
    assert_eq!(lab.path_config("h2", "h1").unwrap().loss, 0.0);
    let rx = udp(lab.host("h2").unwrap(), 9001);
    let tx = udp(lab.host("h1").unwrap(), 0);
    tx.send_to(b"x", lab.host("h2").unwrap().addr(9001))
        .unwrap();
    let st = lab.wait_frames("h1", "h2", 101, PATIENCE).unwrap();
    assert_eq!(st.lost, 1);
    rx.set_nonblocking(true).unwrap();
    assert_eq!(
        rx.recv(&mut [0u8; 1]).unwrap_err().kind(),
        ErrorKind::WouldBlock
    );
    lab.set_all(&LinkConfig::new()).unwrap();
    tx.send_to(b"y", lab.host("h2").unwrap().addr(9001))
        .unwrap();
    lab.wait_frames("h1", "h2", 102, PATIENCE).unwrap();
    rx.set_nonblocking(false).unwrap();
    let mut b = [0u8; 1];
    rx.recv(&mut b).unwrap();
    assert_eq!(&b, b"y");
}

#[ns_test(net, mnt, timeout = "60s")]
fn duplication_and_reordering_show_at_the_receiver() {
    let lab = Lab::builder()
        .hosts(2)
        .link(LinkConfig::new().delay(ms(5)).duplicate(0.2).reorder(0.3))
        .build()
        .unwrap();
    let (h1, h2) = (lab.host("h1").unwrap(), lab.host("h2").unwrap());
    let rx = udp(h2, 9002);
    let tx = udp(h1, 0);
    for seq in 0..200u32 {
        tx.send_to(&seq.to_be_bytes(), h2.addr(9002)).unwrap();
    }
    let st = lab.wait_frames("h1", "h2", 200, PATIENCE).unwrap();
    let mut order = Vec::new();
    for _ in 0..st.delivered {
        let mut b = [0u8; 4];
        rx.recv(&mut b).unwrap();
        order.push(u32::from_be_bytes(b));
    }
    let distinct: BTreeSet<u32> = order.iter().copied().collect();
    assert_eq!(distinct.len(), 200, "no loss configured");
    assert_eq!(order.len() as u64, 200 + st.duplicated);
    assert!((15..=70).contains(&st.duplicated), "{st:?}");
    // A frame that skipped the delay overtook the ones sent before it:
    // those arrive after a higher number.
    let mut highest = 0;
    let mut late = 0;
    for seq in &order {
        if *seq < highest {
            late += 1;
        }
        highest = highest.max(*seq);
    }
    assert!(late >= 10, "{late} frames arrived late; {st:?}");
    assert!((30..=90).contains(&st.reordered), "{st:?}");
}

#[ns_test(net, mnt, timeout = "60s")]
fn a_rate_limit_paces_a_transfer() {
    // 4 Mbit/s: 200 kB (1.6 Mbit of payload) take at least 400 ms.
    let lab = Lab::builder()
        .hosts(2)
        .link(LinkConfig::new().rate_bps(4_000_000))
        .build()
        .unwrap();
    let listener = listen(lab.host("h2").unwrap(), 7003);
    let reader = std::thread::spawn(move || {
        let (mut s, _) = listener.accept().unwrap();
        let mut all = Vec::new();
        s.read_to_end(&mut all).unwrap();
        all.len()
    });
    let mut client = connect(lab.host("h1").unwrap(), "h2:7003").unwrap();
    let started = Instant::now();
    client.write_all(&vec![7u8; 200_000]).unwrap();
    drop(client);
    assert_eq!(reader.join().unwrap(), 200_000);
    let took = started.elapsed();
    assert!(took >= ms(400), "{took:?}");
}

#[ns_test(net, timeout = "60s")]
fn without_mnt_names_resolve_through_the_lab() {
    let before = std::fs::read_to_string("/etc/hosts").unwrap_or_default();
    let lab = Lab::new(2).unwrap();
    assert!(!lab.etc_hosts_installed());
    assert_eq!(
        std::fs::read_to_string("/etc/hosts").unwrap_or_default(),
        before
    );
    let h2 = lab.resolve("h2").unwrap();
    assert_eq!(h2.to_string(), "198.18.0.2");
    assert!(lab.hosts_file().contains("198.18.0.2\th2\n"));
    let listener = listen(lab.host("h2").unwrap(), 7004);
    connect(
        lab.host("h1").unwrap(),
        &SocketAddr::from((h2, 7004)).to_string(),
    )
    .unwrap();
    listener.accept().unwrap();
}

/// `pid` brings a private mount namespace over the host's tree: the
/// overlay is mounted there, not on the host.
#[ns_test(net, pid, timeout = "60s")]
fn with_pid_but_not_mnt_names_resolve_too() {
    let lab = Lab::new(2).unwrap();
    assert!(lab.etc_hosts_installed());
    let hosts = std::fs::read_to_string("/etc/hosts").unwrap();
    assert!(
        hosts.ends_with("198.18.0.1\th1\n198.18.0.2\th2\n"),
        "{hosts}"
    );
    drop(lab);
    assert!(!std::fs::read_to_string("/etc/hosts")
        .unwrap()
        .contains("netlab"));
}

#[ns_test(net, mnt, timeout = "60s")]
fn a_quiet_lab_sends_nothing() {
    let lab = Lab::new(3).unwrap();
    lab.wait_idle(PATIENCE).unwrap();
    for a in lab.hosts() {
        for b in lab.hosts() {
            assert_eq!(lab.stats(a.name(), b.name()).unwrap().frames, 0);
        }
    }
}

#[ns_test(net, mnt, timeout = "60s")]
fn the_kernel_bridge_and_a_direct_cable_join_hosts_too() {
    for fabric in [Fabric::Bridge, Fabric::Direct] {
        let lab = Lab::builder().hosts(2).fabric(fabric).build().unwrap();
        let listener = listen(lab.host("h2").unwrap(), 7005);
        connect(lab.host("h1").unwrap(), "h2:7005").unwrap();
        listener.accept().unwrap();
        assert!(matches!(
            lab.set_all(&LinkConfig::new().loss(0.5)),
            Err(Error::NoRelay { .. })
        ));
    }
}

#[ns_test(net, mnt, pid, timeout = "60s")]
fn commands_and_threads_run_in_the_host_namespace() {
    let lab = Lab::new(2).unwrap();
    let h2 = lab.host("h2").unwrap();
    let ns_inode = |path: String| std::fs::metadata(path).unwrap().ino();
    use std::os::unix::fs::MetadataExt;
    let host_ns = ns_inode(format!("/proc/self/fd/{}", h2.netns().as_raw_fd()));
    assert_ne!(host_ns, ns_inode("/proc/self/ns/net".into()));

    let mut child = h2
        .command(&mut Command::new(common::sleeper()))
        .arg("netlab-cmd")
        .stdout(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    let mut ready = [0u8; 6];
    child
        .stdout
        .as_mut()
        .unwrap()
        .read_exact(&mut ready)
        .unwrap();
    assert_eq!(ns_inode(format!("/proc/{}/ns/net", child.id())), host_ns);
    child.kill().unwrap();
    child.wait().unwrap();

    let in_thread = h2
        .spawn(move || ns_inode("/proc/thread-self/ns/net".into()))
        .unwrap();
    assert_eq!(in_thread.join().unwrap(), host_ns);
    assert_eq!(
        h2.run(|| std::thread::current().name().map(str::to_string))
            .unwrap()
            .as_deref(),
        Some("h2")
    );
}

#[ns_test(net, mnt, timeout = "60s")]
fn a_command_dies_with_the_thread_that_spawned_it() {
    let lab = Lab::new(1).unwrap();
    let h1 = lab.host("h1").unwrap().clone();
    let mut child = std::thread::spawn(move || {
        h1.command(&mut Command::new(common::sleeper()))
            .arg("netlab-orphan")
            .stdout(std::process::Stdio::null())
            .spawn()
            .unwrap()
    })
    .join()
    .unwrap();
    let status = child.wait().unwrap();
    use std::os::unix::process::ExitStatusExt;
    assert_eq!(status.signal(), Some(9), "{status:?}");
}

#[ns_test(net, mnt, timeout = "30s")]
fn bad_input_is_a_typed_error() {
    assert!(matches!(Lab::new(0), Err(Error::HostCount { .. })));
    assert!(matches!(
        Lab::builder().host("a").host("a").build(),
        Err(Error::BadHostName { .. })
    ));
    assert!(matches!(
        Lab::builder()
            .hosts(2)
            .link(LinkConfig::new().loss(2.0))
            .build(),
        Err(Error::Config { field: "loss", .. })
    ));
    let lab = Lab::new(2).unwrap();
    let e = lab.host("h9").unwrap_err();
    assert_eq!(
        e.to_string(),
        "netlab: no host named 'h9'; the hosts are: h1, h2"
    );
}

/// What `#[ns_test(net(hosts = 3, delay = "10ms"))]` expands to.
#[ns_test(net, mnt, timeout = "60s")]
fn the_attribute_entry_point_builds_one_lab_per_test() {
    assert!(ns_test::netlab::try_lab().is_none());
    let lab = Lab::from_attribute(3, LinkConfig::new().delay(ms(10))).unwrap();
    assert!(std::ptr::eq(lab, ns_test::netlab::lab()));
    assert_eq!(lab.hosts().len(), 3);
    assert_eq!(lab.path_config("h3", "h1").unwrap().delay, ms(10));
    let listener = listen(lab.host("h3").unwrap(), 7006);
    connect(lab.host("h1").unwrap(), "h3:7006").unwrap();
    listener.accept().unwrap();
}

#[test]
fn outside_a_sandbox_a_lab_is_refused() {
    let e = Lab::new(2).unwrap_err();
    assert!(matches!(e, Error::NotInSandbox), "{e}");
    assert!(e.to_string().contains("#[ns_test(net)]"), "{e}");
}

/// Not a test of its own: `a_host_server_process_is_gone_after_the_test`
/// runs it inside a sandbox, where it starts servers on a host and leaves
/// them running.
#[test]
#[ignore = "helper, run inside a sandbox by a_host_server_process_is_gone_after_the_test"]
fn helper_leaves_servers_running_on_a_host() {
    let Ok(token) = std::env::var("NETLAB_HELPER_TOKEN") else {
        return;
    };
    let lab = Lab::new(2).unwrap();
    let h2 = lab.host("h2").unwrap();
    // A server spawned from this thread, and a daemon that detached itself
    // (no parent-death signal reaches it): both left running.
    let server = h2
        .command(&mut Command::new(common::sleeper()))
        .arg(&token)
        .stdout(std::process::Stdio::null())
        .spawn()
        .unwrap();
    let out = h2
        .command(&mut Command::new(common::sleeper()))
        .args([&token, "--daemon"])
        .output()
        .unwrap();
    let daemon: u32 = String::from_utf8_lossy(&out.stdout).trim().parse().unwrap();
    println!("servers {} {daemon} started", server.id());
    std::mem::forget(server);
    std::mem::forget(lab);
}

#[test]
fn a_host_server_process_is_gone_after_the_test() {
    let exe = std::env::current_exe().unwrap();
    for namespaces in [Namespaces::NET | Namespaces::MNT, Namespaces::ALL] {
        let token = common::token("netlab-server");
        let out = Sandbox::new(namespaces)
            .timeout(Duration::from_secs(30))
            .output(
                Command::new(&exe)
                    .args([
                        "--exact",
                        "helper_leaves_servers_running_on_a_host",
                        "--ignored",
                        "--nocapture",
                    ])
                    .env("NETLAB_HELPER_TOKEN", &token),
            )
            .unwrap();
        let text = String::from_utf8_lossy(&out.stdout);
        assert!(out.status.success() && text.contains("started"), "{out:?}");
        assert_eq!(common::host_processes_with(&token), Vec::<u32>::new());
    }
}

/// Receives one datagram, busy-polling a non-blocking socket when `spin`.
fn recv_one(s: &UdpSocket, buf: &mut [u8], spin: bool) -> SocketAddr {
    let deadline = Instant::now() + PATIENCE;
    loop {
        match s.recv_from(buf) {
            Ok((_, from)) => return from,
            Err(e) if spin && e.kind() == ErrorKind::WouldBlock && Instant::now() < deadline => {}
            Err(e) => panic!("{e}"),
        }
    }
}

/// 1-byte UDP echo between two hosts: 5000 round trips after 500 to warm
/// up, sorted. With `spin`, both ends busy-poll, so no wake-up of theirs
/// is measured.
fn echo_rtts(h1: &Host, h2: &Host, port: u16, spin: bool) -> Vec<Duration> {
    let server = udp(h2, port);
    let client = udp(h1, 0);
    client.connect(h2.addr(port)).unwrap();
    server.set_nonblocking(spin).unwrap();
    client.set_nonblocking(spin).unwrap();
    let echo = std::thread::spawn(move || {
        let mut b = [0u8; 1];
        for _ in 0..5500 {
            let from = recv_one(&server, &mut b, spin);
            server.send_to(&b, from).unwrap();
        }
    });
    let mut rtts = Vec::with_capacity(5000);
    for i in 0..5500 {
        let t = Instant::now();
        client.send(&[1]).unwrap();
        recv_one(&client, &mut [0u8; 1], spin);
        if i >= 500 {
            rtts.push(t.elapsed());
        }
    }
    echo.join().unwrap();
    rtts.sort();
    rtts
}

/// The relay's cost, against a kernel bridge and a direct veth pair:
/// `cargo test --release --test netlab relay_cost -- --ignored --nocapture`.
#[ns_test(net, mnt, timeout = "120s")]
#[ignore = "benchmark: prints the relay's latency and throughput"]
fn relay_cost() {
    let us = |d: Duration| d.as_secs_f64() * 1e6;
    println!(
        "{:<7} {:>8} {:>9} {:>9} {:>10} {:>12}",
        "fabric", "setup", "rtt p50", "rtt p99", "spin p50", "tcp bulk"
    );
    for fabric in [Fabric::Direct, Fabric::Bridge, Fabric::Relay] {
        let t = Instant::now();
        let lab = Lab::builder().hosts(2).fabric(fabric).build().unwrap();
        let setup = t.elapsed();
        let (h1, h2) = (lab.host("h1").unwrap(), lab.host("h2").unwrap());
        let rtts = echo_rtts(h1, h2, 9100, false);
        let spun = echo_rtts(h1, h2, 9101, true);
        // Throughput: 512 MiB over one TCP connection.
        const TOTAL: usize = 512 << 20;
        let listener = listen(h2, 7100);
        let sink = std::thread::spawn(move || {
            let (mut s, _) = listener.accept().unwrap();
            let mut buf = vec![0u8; 1 << 16];
            let mut n = 0;
            loop {
                match s.read(&mut buf).unwrap() {
                    0 => break n,
                    k => n += k,
                }
            }
        });
        let mut c = connect(h1, "h2:7100").unwrap();
        let chunk = vec![0u8; 1 << 16];
        let t = Instant::now();
        for _ in 0..TOTAL / chunk.len() {
            c.write_all(&chunk).unwrap();
        }
        drop(c);
        assert_eq!(sink.join().unwrap(), TOTAL);
        let secs = t.elapsed().as_secs_f64();
        println!(
            "{:<7} {:>6.1}ms {:>7.1}µs {:>7.1}µs {:>8.1}µs {:>7.0} Mbit/s",
            format!("{fabric:?}"),
            setup.as_secs_f64() * 1e3,
            us(rtts[rtts.len() / 2]),
            us(rtts[rtts.len() * 99 / 100]),
            us(spun[spun.len() / 2]),
            TOTAL as f64 * 8.0 / secs / 1e6
        );
    }
}
