//! `#[ns_test(net(hosts = N, ...))]`: the network lab built by the
//! attribute, reached from the test with `ns_test::netlab::lab()`.

mod common;

use common::netlab::{
    blast, connect, every_pair_talks_tcp, lines_answered_with_their_length, listen,
};

use std::time::{Duration, Instant};

use ns_test::netlab::{lab, Host, Lab, LinkConfig};
use ns_test::ns_test;

#[ns_test(net(hosts = 3), mnt, timeout = "60s")]
fn three_hosts_talk_tcp_by_name() {
    let lab = lab();
    let names: Vec<&str> = lab.hosts().iter().map(Host::name).collect();
    assert_eq!(names, ["h1", "h2", "h3"]);
    assert!(lab.etc_hosts_installed());
    every_pair_talks_tcp(lab, 7000);
}

/// The worked example of the README's "Network lab" section.
#[ns_test(net(hosts = 2, delay = "100ms", loss = "5%"), mnt, timeout = "60s")]
fn client_and_server_under_100ms_delay_and_5_percent_loss() -> Result<(), Box<dyn std::error::Error>>
{
    // The server on h2, the client on h1; 100 ms each way: no answer comes
    // back in less than 200 ms.
    lines_answered_with_their_length(lab(), "h2", "h1", Duration::from_millis(200))
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
    let client = connect(h1, "h2:7001").unwrap();
    let handshake = started.elapsed();
    let rtts = common::echo_round_trips(&listener, client, handshake);
    for rtt in &rtts {
        assert!(*rtt >= Duration::from_millis(40), "{rtt:?} in {rtts:?}");
    }
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
    connect(lab.host("h1").unwrap(), &format!("{h2}:7002")).unwrap();
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
