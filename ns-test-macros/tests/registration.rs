//! Every attribute order registers its test exactly once, and every
//! expansion type-checks as a test (trybuild cannot show that: it compiles
//! without `--test`, where `#[test]` functions are removed first).
//!
//! The tests below are `#[ignore]`d: they are here to be compiled and
//! listed. Running them (`--ignored`) runs them in the sandbox, which is the
//! runtime's business and is tested there.

use std::process::Command;

use ns_test::ns_test;

#[ns_test]
#[ignore = "registration check"]
fn alone() {}

#[ns_test(net)]
#[test]
#[ignore = "registration check"]
fn test_below() {}

#[test]
#[ns_test(net)]
#[ignore = "registration check"]
fn test_above() {}

#[test]
#[should_panic(expected = "boom")]
#[ignore = "registration check"]
#[ns_test(net, timeout = "5s")]
fn test_above_should_panic_above() {
    panic!("boom");
}

#[test]
#[ns_test(net)]
#[should_panic(expected = "boom")]
#[ignore = "registration check"]
fn test_above_should_panic_below() {
    panic!("boom");
}

#[should_panic(expected = "boom")]
#[ns_test(uts, hostname = "box")]
#[test]
#[ignore = "registration check"]
fn test_below_should_panic_above() {
    panic!("boom");
}

#[::core::prelude::v1::test]
#[ns_test]
#[ignore = "registration check"]
fn absolute_test_above() {}

/// Docs and lint levels stay on the user's function.
#[ns_test(net, mnt, pid)]
#[allow(clippy::unnecessary_wraps)]
#[ignore = "registration check"]
fn result_return() -> Result<(), std::io::Error> {
    Ok(())
}

#[test]
#[ns_test]
#[ignore = "registration check"]
fn result_return_test_above() -> Result<(), String> {
    Ok(())
}

#[ns_test]
#[should_panic(expected = "never returns")]
#[ignore = "registration check"]
fn never_returns() -> ! {
    panic!("never returns");
}

#[ns_test]
#[tokio::test]
#[ignore = "registration check"]
async fn tokio_below() {
    tokio::task::yield_now().await;
}

#[ns_test(net)]
#[tokio::test(flavor = "multi_thread")]
#[ignore = "registration check"]
async fn tokio_below_result() -> Result<(), std::io::Error> {
    tokio::task::yield_now().await;
    Ok(())
}

#[tokio::test]
#[ns_test]
#[ignore = "registration check"]
async fn tokio_above() {
    tokio::task::yield_now().await;
}

#[test]
#[ns_test(net(hosts = 2, delay = "1ms", loss = "1%", seed = 1), mnt)]
#[ignore = "registration check"]
fn network_lab() {
    assert_eq!(ns_test::netlab::lab().hosts().len(), 2);
}

mod nested {
    use ns_test::ns_test;

    #[test]
    #[ns_test(pid)]
    #[ignore = "registration check"]
    pub fn in_a_module() {}
}

#[test]
fn each_test_is_registered_once() {
    let exe = std::env::current_exe().expect("path of this test binary");
    let output = Command::new(exe)
        .args(["--list", "--ignored"])
        .output()
        .expect("run this test binary with --list");
    assert!(output.status.success(), "{output:?}");
    let stdout = String::from_utf8(output.stdout).expect("UTF-8 test names");
    let mut listed: Vec<&str> = stdout
        .lines()
        .filter_map(|line| line.strip_suffix(": test"))
        .collect();
    listed.sort_unstable();
    assert_eq!(
        listed,
        [
            "absolute_test_above",
            "alone",
            "nested::in_a_module",
            "network_lab",
            "never_returns",
            "result_return",
            "result_return_test_above",
            "test_above",
            "test_above_should_panic_above",
            "test_above_should_panic_below",
            "test_below",
            "test_below_should_panic_above",
            "tokio_above",
            "tokio_below",
            "tokio_below_result",
        ],
        "{stdout}"
    );
}
