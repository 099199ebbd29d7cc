//! `net`: a private network with only a working loopback.

use std::io::{Read, Write};
use std::net::{TcpListener, TcpStream};
use std::process::Command;

use ns_test::{ns_test, Namespaces, Sandbox};

/// Binds the fixed port every one of these tests uses, and talks to itself.
fn roundtrip_on_8080() {
    let listener = TcpListener::bind("127.0.0.1:8080").expect("port 8080 is free in a fresh netns");
    let mut client = TcpStream::connect("127.0.0.1:8080").unwrap();
    let (mut server, _) = listener.accept().unwrap();
    client.write_all(b"ping").unwrap();
    let mut buf = [0u8; 4];
    server.read_exact(&mut buf).unwrap();
    assert_eq!(&buf, b"ping");
}

macro_rules! thirty_two_tests_on_port_8080 {
    ($($name:ident)*) => {$(
        #[ns_test(net)]
        fn $name() {
            roundtrip_on_8080();
        }
    )*};
}

thirty_two_tests_on_port_8080! {
    port_8080_01 port_8080_02 port_8080_03 port_8080_04 port_8080_05 port_8080_06 port_8080_07 port_8080_08
    port_8080_09 port_8080_10 port_8080_11 port_8080_12 port_8080_13 port_8080_14 port_8080_15 port_8080_16
    port_8080_17 port_8080_18 port_8080_19 port_8080_20 port_8080_21 port_8080_22 port_8080_23 port_8080_24
    port_8080_25 port_8080_26 port_8080_27 port_8080_28 port_8080_29 port_8080_30 port_8080_31 port_8080_32
}

fn interfaces() -> Vec<String> {
    let mut v: Vec<String> = std::fs::read_to_string("/proc/net/dev")
        .unwrap()
        .lines()
        .skip(2)
        .map(|l| l.split(':').next().unwrap().trim().to_string())
        .collect();
    v.sort();
    v
}

#[ns_test(net)]
fn only_loopback_exists() {
    assert_eq!(interfaces(), ["lo"]);
}

#[ns_test(net)]
fn ipv6_loopback_connects() {
    let l = TcpListener::bind("[::1]:0").unwrap();
    TcpStream::connect(l.local_addr().unwrap()).unwrap();
}

#[ns_test(net)]
fn nothing_else_is_reachable() {
    // No route: the sandbox has no interface but lo.
    let e = TcpStream::connect("192.0.2.1:80").unwrap_err();
    assert_eq!(e.raw_os_error(), Some(101), "expected ENETUNREACH, got {e}");
}

#[test]
fn the_host_keeps_its_interfaces_while_the_sandbox_sees_only_lo() {
    let out = Sandbox::new(Namespaces::NET)
        .output(Command::new("cat").arg("/proc/net/dev"))
        .unwrap();
    assert!(out.status.success(), "{out:?}");
    let inside: Vec<String> = String::from_utf8_lossy(&out.stdout)
        .lines()
        .skip(2)
        .map(|l| l.split(':').next().unwrap().trim().to_string())
        .collect();
    assert_eq!(inside, ["lo"]);
    // The host side is untouched: it still has its own interfaces, lo among them.
    assert!(interfaces().contains(&"lo".to_string()));
}

#[test]
fn ip_link_shows_only_lo() {
    if Command::new("ip").arg("-V").output().is_err() {
        eprintln!("skipping: iproute2 is not installed");
        return;
    }
    let out = Sandbox::new(Namespaces::NET | Namespaces::MNT)
        .output(Command::new("ip").args(["-o", "link"]))
        .unwrap();
    let text = String::from_utf8_lossy(&out.stdout);
    assert_eq!(text.lines().count(), 1, "{text}");
    assert!(text.contains(": lo:") && text.contains("UP"), "{text}");
}
