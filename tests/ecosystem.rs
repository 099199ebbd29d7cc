//! `#[ns_test]` composed with the rest of the test ecosystem, written the
//! way users write it: `#[tokio::test]` (both flavours), `#[rstest]` with
//! `#[case]`, `#[values]` and fixtures, `#[test_case]` and `#[test_matrix]`,
//! `#[should_panic]`, `#[ignore]` and `Result` — each in both attribute
//! orders. Every body checks that it runs in a sandbox of its own;
//! `each_test_is_registered_once` checks that every test and every case is
//! listed exactly once, under its own name.

use std::collections::BTreeMap;
use std::net::TcpListener;
use std::process::Command;

use ns_test::ns_test;
use rstest::{fixture, rstest};
use test_case::{test_case, test_matrix};

/// Panics unless this runs in a fresh user namespace (the invoking user is
/// the only one mapped, to root). On the host the map is the whole range.
fn assert_sandboxed() {
    let map = std::fs::read_to_string("/proc/self/uid_map").unwrap();
    let fields: Vec<&str> = map.split_whitespace().collect();
    assert_eq!(fields.len(), 3, "one uid_map line: {map}");
    assert_eq!((fields[0], fields[2]), ("0", "1"), "uid_map: {map}");
}

/// Panics unless `/tmp` is fresh, then leaves a mark in it: a case that
/// shared a sandbox (or `/tmp`) with another would find the other's mark.
fn assert_fresh_tmp(case: &str) {
    let mark = std::path::Path::new("/tmp/ns-test-ecosystem-mark");
    if let Ok(other) = std::fs::read_to_string(mark) {
        panic!("/tmp is not fresh: case {case} found the mark of case {other}");
    }
    std::fs::write(mark, case).unwrap();
}

/// Binds the fixed port every sandboxed test here uses: each has its own
/// loopback, so none of them clash, in any order or in parallel.
fn bind_8080() -> TcpListener {
    TcpListener::bind("127.0.0.1:8080").expect("port 8080 is free in a fresh network namespace")
}

// ---- tokio -------------------------------------------------------------

#[ns_test(net)]
#[tokio::test]
async fn tokio_current_thread_below() {
    assert_sandboxed();
    let flavor = tokio::runtime::Handle::current().runtime_flavor();
    assert_eq!(flavor, tokio::runtime::RuntimeFlavor::CurrentThread);
    let listener = tokio::net::TcpListener::bind("127.0.0.1:8080")
        .await
        .unwrap();
    let addr = listener.local_addr().unwrap();
    let (accepted, connected) =
        tokio::join!(listener.accept(), tokio::net::TcpStream::connect(addr));
    accepted.unwrap();
    connected.unwrap();
}

#[tokio::test]
#[ns_test(net)]
async fn tokio_current_thread_above() {
    assert_sandboxed();
    let flavor = tokio::runtime::Handle::current().runtime_flavor();
    assert_eq!(flavor, tokio::runtime::RuntimeFlavor::CurrentThread);
    let _listener = tokio::net::TcpListener::bind("127.0.0.1:8080")
        .await
        .unwrap();
}

#[ns_test(net, pid)]
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn tokio_multi_thread_below() {
    assert_sandboxed();
    let flavor = tokio::runtime::Handle::current().runtime_flavor();
    assert_eq!(flavor, tokio::runtime::RuntimeFlavor::MultiThread);
    // Work on the other worker threads runs in the same sandbox.
    let pid = tokio::spawn(async { std::process::id() }).await.unwrap();
    assert_eq!(pid, std::process::id());
    assert_eq!(pid, 2, "the test is PID 2 of its PID namespace");
    let _listener = tokio::net::TcpListener::bind("127.0.0.1:8080")
        .await
        .unwrap();
}

#[tokio::test(flavor = "multi_thread")]
#[ns_test(net)]
async fn tokio_multi_thread_above() {
    assert_sandboxed();
    let flavor = tokio::runtime::Handle::current().runtime_flavor();
    assert_eq!(flavor, tokio::runtime::RuntimeFlavor::MultiThread);
    tokio::spawn(async { bind_8080() }).await.unwrap();
}

#[ns_test(net)]
#[tokio::test]
async fn tokio_result_below() -> Result<(), std::io::Error> {
    assert_sandboxed();
    let _listener = tokio::net::TcpListener::bind("127.0.0.1:8080").await?;
    Ok(())
}

#[tokio::test]
#[ns_test]
#[should_panic(expected = "inside the runtime")]
async fn tokio_should_panic_above() {
    assert_sandboxed();
    tokio::task::yield_now().await;
    panic!("raised inside the runtime, inside the sandbox");
}

#[ns_test]
#[tokio::test]
#[should_panic(expected = "inside the runtime")]
async fn tokio_should_panic_below() {
    tokio::task::yield_now().await;
    panic!("raised inside the runtime, inside the sandbox");
}

#[ns_test]
#[tokio::test]
#[ignore = "ignored tests stay ignored"]
async fn tokio_ignored() {
    panic!("an ignored test ran");
}

// ---- rstest ------------------------------------------------------------

#[rstest]
#[case(1, 2)]
#[case(2, 4)]
#[case::big(100, 200)]
#[ns_test(net, mnt)]
fn rstest_cases_above(#[case] n: u32, #[case] doubled: u32) {
    assert_sandboxed();
    assert_fresh_tmp(&format!("case-{n}"));
    let _listener = bind_8080();
    assert_eq!(n * 2, doubled);
}

#[ns_test(net, mnt)]
#[rstest]
#[case(1, 2)]
#[case(2, 4)]
#[case::big(100, 200)]
fn rstest_cases_below(#[case] n: u32, #[case] doubled: u32) {
    assert_sandboxed();
    assert_fresh_tmp(&format!("case-{n}"));
    let _listener = bind_8080();
    assert_eq!(n * 2, doubled);
}

#[rstest]
#[ns_test(mnt)]
fn rstest_values_above(#[values(1, 2)] a: u8, #[values("x", "y")] b: &str) {
    assert_sandboxed();
    assert_fresh_tmp(&format!("{a}-{b}"));
}

#[ns_test(mnt)]
#[rstest]
fn rstest_values_below(#[values(1, 2)] a: u8, #[values("x", "y")] b: &str) {
    assert_sandboxed();
    assert_fresh_tmp(&format!("{a}-{b}"));
}

/// A fixture is built inside the sandbox, with the test.
#[fixture]
fn listener() -> TcpListener {
    bind_8080()
}

#[ns_test(net)]
#[rstest]
fn rstest_fixture_below(listener: TcpListener) {
    assert_sandboxed();
    assert_eq!(listener.local_addr().unwrap().port(), 8080);
}

#[rstest]
#[ns_test(net)]
fn rstest_fixture_above(listener: TcpListener) {
    assert_sandboxed();
    assert_eq!(listener.local_addr().unwrap().port(), 8080);
}

#[ns_test(net)]
#[rstest]
#[case::one(1)]
#[case::two(2)]
#[tokio::test]
async fn rstest_tokio_below(#[case] n: u64) {
    assert_sandboxed();
    tokio::time::sleep(std::time::Duration::from_millis(n)).await;
    let _listener = tokio::net::TcpListener::bind("127.0.0.1:8080")
        .await
        .unwrap();
}

#[rstest]
#[case::one(1)]
#[case::two(2)]
#[ns_test(net)]
#[tokio::test(flavor = "multi_thread")]
async fn rstest_tokio_above(#[case] n: u64) {
    assert_sandboxed();
    tokio::time::sleep(std::time::Duration::from_millis(n)).await;
    let _listener = tokio::net::TcpListener::bind("127.0.0.1:8080")
        .await
        .unwrap();
}

#[ns_test]
#[rstest]
#[case::ok(2)]
#[should_panic(expected = "odd")]
#[case::odd(3)]
fn rstest_should_panic_per_case_below(#[case] n: u32) {
    assert_sandboxed();
    assert!(n.is_multiple_of(2), "odd: {n}");
}

#[rstest]
#[case::zero(0)]
#[case::one(1)]
#[ns_test]
#[should_panic(expected = "every case panics")]
fn rstest_should_panic_above(#[case] n: u32) {
    panic!("every case panics ({n})");
}

#[ns_test]
#[rstest]
#[case(1)]
fn rstest_result_below(#[case] n: u32) -> Result<(), String> {
    assert_sandboxed();
    (n == 1).then_some(()).ok_or(format!("{n} != 1"))
}

#[rstest]
#[case(1)]
#[ns_test]
#[ignore = "ignored tests stay ignored"]
fn rstest_ignored_above(#[case] _n: u32) {
    panic!("an ignored test ran");
}

/// The README's example: cases and values, 4 tests.
#[ns_test(net, mnt)]
#[rstest]
#[case::small(1)]
#[case::large(1000)]
fn each_case_in_its_own_sandbox(#[case] n: u32, #[values("a", "b")] s: &str) {
    assert_sandboxed();
    assert_fresh_tmp(&format!("{n}-{s}"));
    let _listener = bind_8080();
}

// ---- test-case ---------------------------------------------------------

/// The README's example.
#[test_case(2 => 4 ; "two")]
#[test_case(0 => panics "zero")]
#[ns_test]
fn doubles(n: u32) -> u32 {
    assert_sandboxed();
    assert_ne!(n, 0, "zero");
    n * 2
}

#[test_case(1, 2 ; "one")]
#[test_case(2, 4 ; "two")]
#[ns_test(net, mnt)]
fn test_case_above(n: u32, doubled: u32) {
    assert_sandboxed();
    assert_fresh_tmp(&format!("case-{n}"));
    let _listener = bind_8080();
    assert_eq!(n * 2, doubled);
}

#[ns_test(net, mnt)]
#[test_case(1, 2 ; "one")]
#[test_case(2, 4 ; "two")]
fn test_case_below(n: u32, doubled: u32) {
    assert_sandboxed();
    assert_fresh_tmp(&format!("case-{n}"));
    let _listener = bind_8080();
    assert_eq!(n * 2, doubled);
}

#[test_case(2 => 4)]
#[test_case(0 => panics "zero")]
#[ns_test]
fn test_case_expected_above(n: u32) -> u32 {
    assert_sandboxed();
    assert_ne!(n, 0, "zero");
    n * 2
}

#[ns_test]
#[test_case(2 => 4)]
#[test_case(0 => panics "zero")]
#[test_case(3 => ignore 6)]
fn test_case_expected_below(n: u32) -> u32 {
    assert_sandboxed();
    assert_ne!(n, 0, "zero");
    assert_ne!(n, 3, "an ignored case ran");
    n * 2
}

#[test_matrix([1, 2], ["x", "y"])]
#[ns_test(mnt)]
fn test_matrix_above(a: u8, b: &str) {
    assert_sandboxed();
    assert_fresh_tmp(&format!("{a}-{b}"));
}

#[ns_test(mnt)]
#[test_matrix([1, 2], ["x", "y"])]
fn test_matrix_below(a: u8, b: &str) {
    assert_sandboxed();
    assert_fresh_tmp(&format!("{a}-{b}"));
}

#[test_case(1 ; "one")]
#[ns_test(net)]
#[tokio::test]
async fn test_case_tokio_above(n: u64) {
    assert_sandboxed();
    tokio::time::sleep(std::time::Duration::from_millis(n)).await;
    let _listener = tokio::net::TcpListener::bind("127.0.0.1:8080")
        .await
        .unwrap();
}

#[ns_test(net)]
#[test_case(1 ; "one")]
#[tokio::test(flavor = "multi_thread")]
async fn test_case_tokio_below(n: u64) {
    assert_sandboxed();
    tokio::time::sleep(std::time::Duration::from_millis(n)).await;
    let _listener = tokio::net::TcpListener::bind("127.0.0.1:8080")
        .await
        .unwrap();
}

#[test_case(1 ; "one")]
#[ns_test]
fn test_case_result_above(n: u32) -> Result<(), String> {
    assert_sandboxed();
    (n == 1).then_some(()).ok_or(format!("{n} != 1"))
}

#[ns_test]
#[test_case(1 ; "one")]
#[ignore = "ignored tests stay ignored"]
fn test_case_ignored_below(_n: u32) {
    panic!("an ignored test ran");
}

// ---- std ---------------------------------------------------------------

#[ns_test]
#[should_panic(expected = "inside")]
fn should_panic_below() {
    assert_sandboxed();
    panic!("raised inside the sandbox");
}

#[should_panic(expected = "inside")]
#[ns_test]
fn should_panic_above() {
    panic!("raised inside the sandbox");
}

#[ns_test]
#[ignore = "ignored tests stay ignored"]
fn ignored() {
    panic!("an ignored test ran");
}

#[ns_test(net)]
fn result_ok() -> Result<(), std::io::Error> {
    assert_sandboxed();
    let _listener = TcpListener::bind("127.0.0.1:8080")?;
    Ok(())
}

// ---- HOME, XDG_*, TMPDIR -----------------------------------------------

/// Tools that keep state under `$HOME`, the XDG dirs or `$TMPDIR` find
/// fresh, writable, empty ones, whatever the host's variables say.
#[ns_test(mnt)]
fn home_xdg_and_tmpdir_are_fresh_and_writable() {
    let home = std::path::PathBuf::from(std::env::var_os("HOME").unwrap());
    assert_eq!(std::fs::read_dir(&home).unwrap().count(), 0, "fresh $HOME");
    for var in [
        "XDG_CONFIG_HOME",
        "XDG_CACHE_HOME",
        "XDG_DATA_HOME",
        "XDG_STATE_HOME",
    ] {
        assert_eq!(std::env::var_os(var), None, "{var} defaults under $HOME");
    }
    for default in [".config", ".cache", ".local/share", ".local/state"] {
        let dir = home.join(default).join("app");
        std::fs::create_dir_all(&dir).unwrap();
        std::fs::write(dir.join("state"), "x").unwrap();
    }
    let runtime = std::path::PathBuf::from(std::env::var_os("XDG_RUNTIME_DIR").unwrap());
    assert_eq!(
        std::fs::read_dir(&runtime).unwrap().count(),
        0,
        "fresh runtime dir"
    );
    std::fs::write(runtime.join("app.sock"), "x").unwrap();
    assert_eq!(std::env::var_os("TMPDIR").unwrap(), "/tmp");
    let file = tempfile::NamedTempFile::new().unwrap();
    assert!(file.path().starts_with("/tmp"));
}

/// The host's XDG variables do not leak into the sandbox.
#[test]
fn host_xdg_dirs_stay_outside() {
    let out = Command::new(std::env::current_exe().unwrap())
        .args(["--exact", "home_xdg_and_tmpdir_are_fresh_and_writable"])
        .env("XDG_CONFIG_HOME", "/nonexistent/host/config")
        .env("XDG_CACHE_HOME", "/nonexistent/host/cache")
        .env("XDG_DATA_HOME", "/nonexistent/host/data")
        .env("XDG_STATE_HOME", "/nonexistent/host/state")
        .env("XDG_RUNTIME_DIR", "/nonexistent/host/run")
        .env("TMPDIR", "/nonexistent/host/tmp")
        .output()
        .unwrap();
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(out.status.success(), "{stdout}");
    assert!(stdout.contains("1 passed"), "{stdout}");
}

// ---- registration ------------------------------------------------------

/// Every test and case above is listed once, under its own name: what
/// `cargo test -- --list` and `cargo nextest list` show.
#[test]
fn each_test_is_registered_once() {
    let out = Command::new(std::env::current_exe().unwrap())
        .args(["--list", "--include-ignored"])
        .env_remove("RUST_TEST_NOCAPTURE")
        .output()
        .unwrap();
    assert!(out.status.success(), "{out:?}");
    let stdout = String::from_utf8(out.stdout).unwrap();
    let mut counts = BTreeMap::<&str, usize>::new();
    for name in stdout.lines().filter_map(|l| l.strip_suffix(": test")) {
        *counts.entry(name).or_default() += 1;
    }
    let twice: Vec<_> = counts.iter().filter(|(_, n)| **n > 1).collect();
    assert!(twice.is_empty(), "listed more than once: {twice:?}");
    let listed: Vec<&str> = counts.keys().copied().collect();
    let expected = [
        "doubles::test_case_1_two",
        "doubles::test_case_2_0_expects_panicking_some_zero_",
        "each_case_in_its_own_sandbox::case_1_small::s_1___a__",
        "each_case_in_its_own_sandbox::case_1_small::s_2___b__",
        "each_case_in_its_own_sandbox::case_2_large::s_1___a__",
        "each_case_in_its_own_sandbox::case_2_large::s_2___b__",
        "each_test_is_registered_once",
        "home_xdg_and_tmpdir_are_fresh_and_writable",
        "host_xdg_dirs_stay_outside",
        "ignored",
        "result_ok",
        "rstest_cases_above::case_1",
        "rstest_cases_above::case_2",
        "rstest_cases_above::case_3_big",
        "rstest_cases_below::case_1",
        "rstest_cases_below::case_2",
        "rstest_cases_below::case_3_big",
        "rstest_fixture_above",
        "rstest_fixture_below",
        "rstest_ignored_above::case_1",
        "rstest_result_below::case_1",
        "rstest_should_panic_above::case_1_zero",
        "rstest_should_panic_above::case_2_one",
        "rstest_should_panic_per_case_below::case_1_ok",
        "rstest_should_panic_per_case_below::case_2_odd",
        "rstest_tokio_above::case_1_one",
        "rstest_tokio_above::case_2_two",
        "rstest_tokio_below::case_1_one",
        "rstest_tokio_below::case_2_two",
        "rstest_values_above::a_1_1::b_1___x__",
        "rstest_values_above::a_1_1::b_2___y__",
        "rstest_values_above::a_2_2::b_1___x__",
        "rstest_values_above::a_2_2::b_2___y__",
        "rstest_values_below::a_1_1::b_1___x__",
        "rstest_values_below::a_1_1::b_2___y__",
        "rstest_values_below::a_2_2::b_1___x__",
        "rstest_values_below::a_2_2::b_2___y__",
        "should_panic_above",
        "should_panic_below",
        "test_case_above::test_case_1_one",
        "test_case_above::test_case_2_two",
        "test_case_below::test_case_1_one",
        "test_case_below::test_case_2_two",
        "test_case_expected_above::test_case_1_2_expects_4",
        "test_case_expected_above::test_case_2_0_expects_panicking_some_zero_",
        "test_case_expected_below::test_case_1_2_expects_4",
        "test_case_expected_below::test_case_2_0_expects_panicking_some_zero_",
        "test_case_expected_below::test_case_3_3_expects_inconclusive6",
        "test_case_ignored_below::test_case_1_one",
        "test_case_result_above::test_case_1_one",
        "test_case_tokio_above::test_case_1_one",
        "test_case_tokio_below::test_case_1_one",
        "test_matrix_above::test_case_1_1_x_expects",
        "test_matrix_above::test_case_2_1_y_expects",
        "test_matrix_above::test_case_3_2_x_expects",
        "test_matrix_above::test_case_4_2_y_expects",
        "test_matrix_below::test_case_1_1_x_expects",
        "test_matrix_below::test_case_2_1_y_expects",
        "test_matrix_below::test_case_3_2_x_expects",
        "test_matrix_below::test_case_4_2_y_expects",
        "tokio_current_thread_above",
        "tokio_current_thread_below",
        "tokio_ignored",
        "tokio_multi_thread_above",
        "tokio_multi_thread_below",
        "tokio_result_below",
        "tokio_should_panic_above",
        "tokio_should_panic_below",
    ];
    assert_eq!(listed, expected, "{stdout}");
}
