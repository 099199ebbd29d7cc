//! libtest's command-line flags work on sandboxed tests as on any test.
//!
//! The `child_*` tests are the subjects: `flag_*` tests run this same binary
//! with a flag and a `child_` filter (as `cargo test -- FLAG child_` would)
//! and check what a user would see. The failing subject is `#[ignore]`d and
//! does nothing unless `NS_TEST_FLAGS` is set, so a plain run passes.

use std::process::{Command, Output};

use ns_test::ns_test;

const PASSING_OUT: &str = "stdout of a passing sandboxed test";
const PASSING_ERR: &str = "stderr of a passing sandboxed test";
const PASSING_CHILD: &str = "output of a child process of a passing sandboxed test";
const FAILING_OUT: &str = "stdout of a failing sandboxed test";
const IGNORED_OUT: &str = "stdout of an ignored sandboxed test";

#[ns_test(net)]
fn child_passes_and_prints() {
    println!("{PASSING_OUT}");
    eprintln!("{PASSING_ERR}");
    let status = Command::new("sh")
        .args(["-c", &format!("echo '{PASSING_CHILD}'")])
        .status()
        .unwrap();
    assert!(status.success());
}

#[ns_test(net)]
fn child_passes_and_prints_too() {
    println!("{PASSING_OUT} (too)");
}

#[ns_test]
#[ignore = "fails on purpose when NS_TEST_FLAGS is set"]
fn child_fails_and_prints() {
    if std::env::var_os("NS_TEST_FLAGS").is_none() {
        return;
    }
    println!("{FAILING_OUT}");
    panic!("failing on purpose");
}

#[ns_test(pid)]
#[ignore = "runs only when asked for"]
fn child_ignored_prints() {
    println!("{IGNORED_OUT}");
}

/// Runs this test binary with `args`, the failing subject armed.
fn run(args: &[&str]) -> Output {
    run_with(args, &[])
}

fn run_with(args: &[&str], env: &[(&str, &str)]) -> Output {
    let mut cmd = Command::new(std::env::current_exe().unwrap());
    cmd.args(args)
        .env("NS_TEST_FLAGS", "1")
        .env("RUST_BACKTRACE", "0")
        .env_remove("RUST_TEST_NOCAPTURE")
        .env_remove("RUST_TEST_THREADS");
    for (k, v) in env {
        cmd.env(k, v);
    }
    cmd.output().unwrap()
}

fn stdout(out: &Output) -> String {
    String::from_utf8_lossy(&out.stdout).into_owned()
}

fn stderr(out: &Output) -> String {
    String::from_utf8_lossy(&out.stderr).into_owned()
}

/// `(name, result)` of each `test NAME ... RESULT` line, sorted.
fn results(out: &Output) -> Vec<(String, String)> {
    let mut r: Vec<(String, String)> = stdout(out)
        .lines()
        .filter_map(|l| l.strip_prefix("test "))
        .filter_map(|l| l.split_once(" ... "))
        .map(|(name, result)| (name.to_string(), result.to_string()))
        .collect();
    r.sort();
    r
}

fn pairs(expected: &[(&str, &str)]) -> Vec<(String, String)> {
    expected
        .iter()
        .map(|(n, r)| (n.to_string(), r.to_string()))
        .collect()
}

#[test]
fn flag_default_capture_hides_passing_output_and_shows_failing_output() {
    let out = run(&["--include-ignored", "child_"]);
    let text = stdout(&out) + &stderr(&out);
    assert!(!out.status.success(), "{text}");
    assert_eq!(
        results(&out),
        pairs(&[
            ("child_fails_and_prints", "FAILED"),
            ("child_ignored_prints", "ok"),
            ("child_passes_and_prints", "ok"),
            ("child_passes_and_prints_too", "ok"),
        ]),
        "{text}"
    );
    for hidden in [PASSING_OUT, PASSING_ERR, PASSING_CHILD, IGNORED_OUT] {
        assert!(!text.contains(hidden), "{hidden:?} shown:\n{text}");
    }
    let section = stdout(&out);
    let section = &section[section
        .find("---- child_fails_and_prints stdout ----")
        .expect("a failure section")..];
    assert!(section.contains(FAILING_OUT), "{text}");
    assert!(section.contains("failing on purpose"), "{text}");
}

#[test]
fn flag_nocapture_streams_output_of_passing_tests() {
    for flags in [&["--nocapture"][..], &["--no-capture"][..]] {
        let out = run(&[flags, &["--exact", "child_passes_and_prints"]].concat());
        let (o, e) = (stdout(&out), stderr(&out));
        assert!(out.status.success(), "{flags:?}: {o}{e}");
        // stdout and stderr stay apart, as without a sandbox.
        assert!(o.contains(PASSING_OUT), "{flags:?}: {o}");
        assert!(o.contains(PASSING_CHILD), "{flags:?}: {o}");
        assert!(e.contains(PASSING_ERR), "{flags:?}: {e}");
        assert!(!o.contains(PASSING_ERR), "{flags:?}: {o}");
    }
}

#[test]
fn flag_rust_test_nocapture_streams_output_of_passing_tests() {
    let out = run_with(
        &["--exact", "child_passes_and_prints"],
        &[("RUST_TEST_NOCAPTURE", "1")],
    );
    assert!(out.status.success());
    assert!(stdout(&out).contains(PASSING_OUT), "{}", stdout(&out));
    assert!(stderr(&out).contains(PASSING_ERR), "{}", stderr(&out));
}

#[test]
fn flag_nocapture_shows_a_failing_test_as_it_runs() {
    let out = run(&[
        "--nocapture",
        "--ignored",
        "--exact",
        "child_fails_and_prints",
    ]);
    assert!(!out.status.success());
    let text = stdout(&out) + &stderr(&out);
    assert!(stdout(&out).contains(FAILING_OUT), "{text}");
    assert!(text.contains("failing on purpose"), "{text}");
}

#[test]
fn flag_show_output_shows_passing_output_under_successes() {
    let out = run(&["--show-output", "--exact", "child_passes_and_prints"]);
    let o = stdout(&out);
    assert!(out.status.success(), "{o}");
    let successes = &o[o.find("successes:").expect("a successes section")..];
    let section = &successes[successes
        .find("---- child_passes_and_prints stdout ----")
        .expect("the test's section")..];
    // Captured, stdout and stderr share one buffer, in order.
    for shown in [PASSING_OUT, PASSING_ERR, PASSING_CHILD] {
        assert!(section.contains(shown), "{shown:?} missing:\n{o}");
    }
    assert!(section.find(PASSING_OUT) < section.find(PASSING_ERR), "{o}");
}

#[test]
fn flag_ignored_and_include_ignored_select_ignored_tests() {
    let out = run(&["child_"]);
    assert!(out.status.success(), "{}", stdout(&out));
    assert_eq!(
        results(&out),
        pairs(&[
            (
                "child_fails_and_prints",
                "ignored, fails on purpose when NS_TEST_FLAGS is set"
            ),
            ("child_ignored_prints", "ignored, runs only when asked for"),
            ("child_passes_and_prints", "ok"),
            ("child_passes_and_prints_too", "ok"),
        ])
    );
    let out = run(&["--ignored", "--nocapture", "child_ignored"]);
    assert!(out.status.success(), "{}", stdout(&out));
    assert_eq!(results(&out), pairs(&[("child_ignored_prints", "ok")]));
    assert!(stdout(&out).contains(IGNORED_OUT), "{}", stdout(&out));
    let out = run(&["--include-ignored", "child_ignored"]);
    assert_eq!(results(&out), pairs(&[("child_ignored_prints", "ok")]));
}

#[test]
fn flag_exact_and_skip_filter() {
    let out = run(&["--exact", "child_passes_and_prints"]);
    assert_eq!(results(&out), pairs(&[("child_passes_and_prints", "ok")]));
    let out = run(&["child_passes_and_prints"]);
    assert_eq!(
        results(&out),
        pairs(&[
            ("child_passes_and_prints", "ok"),
            ("child_passes_and_prints_too", "ok")
        ])
    );
    let out = run(&[
        "--skip",
        "too",
        "--skip",
        "fails",
        "--include-ignored",
        "child_",
    ]);
    assert!(out.status.success(), "{}", stdout(&out));
    assert_eq!(
        results(&out),
        pairs(&[
            ("child_ignored_prints", "ok"),
            ("child_passes_and_prints", "ok")
        ])
    );
    // With --exact, --skip matches whole names too.
    let out = run(&[
        "--exact",
        "--skip",
        "child_passes_and_prints",
        "child_passes_and_prints",
        "child_passes_and_prints_too",
    ]);
    assert_eq!(
        results(&out),
        pairs(&[("child_passes_and_prints_too", "ok")])
    );
}

#[test]
fn flag_test_threads() {
    for threads in ["--test-threads=1", "--test-threads=8"] {
        let out = run(&[threads, "--include-ignored", "--skip", "fails", "child_"]);
        assert!(out.status.success(), "{threads}: {}", stdout(&out));
        assert!(
            stdout(&out).contains("test result: ok. 3 passed"),
            "{threads}: {}",
            stdout(&out)
        );
    }
}

#[test]
fn flag_color() {
    let out = run(&["--color", "always", "--exact", "child_passes_and_prints"]);
    assert!(stdout(&out).contains("\u{1b}[32mok"), "{}", stdout(&out));
    let out = run(&["--color=never", "--exact", "child_passes_and_prints"]);
    assert!(!stdout(&out).contains('\u{1b}'), "{}", stdout(&out));
    assert!(stdout(&out).contains("... ok"), "{}", stdout(&out));
}

#[test]
fn flag_quiet() {
    let out = run(&["-q", "--include-ignored", "child_"]);
    let o = stdout(&out);
    assert!(!out.status.success());
    assert!(results(&out).is_empty(), "{o}");
    // The terse progress: dots, and the failure by name (or an `F` before
    // Rust 1.80).
    assert!(
        o.contains("child_fails_and_prints --- FAILED") || o.contains(".F") || o.contains("F."),
        "{o}"
    );
    assert!(o.contains("3 passed; 1 failed"), "{o}");
    assert!(o.contains("failing on purpose"), "{o}");
    assert!(!o.contains(PASSING_OUT), "{o}");
}

#[test]
fn flag_list_shows_each_test_once() {
    let out = run(&["--list", "child_"]);
    assert!(out.status.success());
    assert_eq!(
        stdout(&out)
            .lines()
            .filter(|l| l.ends_with(": test"))
            .collect::<Vec<_>>(),
        [
            "child_fails_and_prints: test",
            "child_ignored_prints: test",
            "child_passes_and_prints: test",
            "child_passes_and_prints_too: test",
        ]
    );
    let out = run(&["--list", "--ignored", "child_"]);
    assert_eq!(
        stdout(&out)
            .lines()
            .filter(|l| l.ends_with(": test"))
            .collect::<Vec<_>>(),
        ["child_fails_and_prints: test", "child_ignored_prints: test"]
    );
    // What cargo-nextest reads.
    let out = run(&["--list", "--format", "terse", "child_passes"]);
    assert_eq!(
        stdout(&out),
        "child_passes_and_prints: test\nchild_passes_and_prints_too: test\n"
    );
}
