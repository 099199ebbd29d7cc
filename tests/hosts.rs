//! Unfriendly hosts, reproduced: a seccomp filter like a container
//! runtime's, a masked `/proc`, and the skip policy.
//!
//! The `target_*` tests are `#[ignore]`d; the plain tests run them in a child
//! process of this binary under the simulated host condition and snapshot
//! the message a user would see.

use std::process::{Command, Output};

use ns_test::ns_test;

#[ns_test(net)]
#[ignore = "run under a simulated host condition"]
fn target_net_sandbox() {}

#[ns_test(pid)]
#[ignore = "run under a simulated host condition"]
fn target_pid_sandbox() {}

#[ns_test(net)]
#[ignore = "run under a simulated host condition"]
#[should_panic(expected = "boom")]
fn target_should_panic() {
    panic!("boom");
}

fn text(out: &Output) -> String {
    String::from_utf8_lossy(&out.stdout).into_owned() + &String::from_utf8_lossy(&out.stderr)
}

/// The panic message of `test` in libtest's output.
fn failure_message(out: &Output, test: &str) -> String {
    text(out)
        .lines()
        .skip_while(|l| !l.starts_with(&format!("thread '{test}'")))
        .skip(1)
        .take_while(|l| !l.is_empty() && !l.starts_with("note:"))
        .collect::<Vec<_>>()
        .join("\n")
}

fn this_binary(test: &str) -> Vec<String> {
    vec![
        std::env::current_exe().unwrap().display().to_string(),
        "--ignored".into(),
        "--exact".into(),
        test.into(),
    ]
}

fn under_seccomp(test: &str, skip: bool) -> Output {
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_fixture-seccomp"));
    cmd.args(this_binary(test)).env("RUST_BACKTRACE", "0");
    if skip {
        cmd.env("NS_TEST_UNSUPPORTED", "skip");
    } else {
        cmd.env_remove("NS_TEST_UNSUPPORTED");
    }
    cmd.output().unwrap()
}

#[test]
fn a_seccomp_filter_is_named_with_the_fix() {
    let out = under_seccomp("target_net_sandbox", false);
    assert!(!out.status.success(), "{}", text(&out));
    insta::assert_snapshot!(failure_message(&out, "target_net_sandbox"));
}

#[test]
fn skip_policy_turns_an_unsupported_host_into_a_visible_skip() {
    let out = under_seccomp("target_net_sandbox", true);
    let all = text(&out);
    assert!(out.status.success(), "{all}");
    let notice = all
        .lines()
        .find(|l| l.starts_with("ns-test: SKIPPED"))
        .unwrap_or_else(|| panic!("no skip notice in:\n{all}"));
    insta::assert_snapshot!(notice);
}

#[test]
fn should_panic_tests_are_skipped_as_passes_and_not_passed_by_setup_failures() {
    // Skipped: passes, like every other skipped test.
    let out = under_seccomp("target_should_panic", true);
    assert!(out.status.success(), "{}", text(&out));
    // Not skipped: the setup failure is not the expected panic.
    let out = under_seccomp("target_should_panic", false);
    assert!(!out.status.success(), "{}", text(&out));
    assert!(
        text(&out).contains("creating the namespaces"),
        "{}",
        text(&out)
    );
}

#[test]
fn a_masked_proc_is_explained() {
    // Like a container runtime: a file of the host's /proc is over-mounted,
    // so the kernel refuses a fresh /proc in a new user namespace.
    let script = "for f in /proc/kcore /proc/keys /proc/timer_list /proc/version; do \
                  [ -e $f ] && mount --bind /dev/null $f && exec \"$@\"; done; exit 99";
    let out = Command::new("unshare")
        .args([
            "--user",
            "--map-root-user",
            "--mount",
            "sh",
            "-c",
            script,
            "sh",
        ])
        .args(this_binary("target_pid_sandbox"))
        .env("RUST_BACKTRACE", "0")
        .env_remove("NS_TEST_UNSUPPORTED")
        .output()
        .unwrap();
    assert!(!out.status.success(), "{}", text(&out));
    insta::assert_snapshot!(failure_message(&out, "target_pid_sandbox"));
}

#[test]
fn other_tests_are_unaffected_by_the_policy() {
    // A test that fails for its own reasons still fails with skip set.
    let out = Command::new(std::env::current_exe().unwrap())
        .args(["--ignored", "--exact", "target_fails_on_its_own"])
        .env("NS_TEST_UNSUPPORTED", "skip")
        .env("RUST_BACKTRACE", "0")
        .output()
        .unwrap();
    assert!(!out.status.success(), "{}", text(&out));
}

#[ns_test(net)]
#[ignore = "run by other_tests_are_unaffected_by_the_policy"]
fn target_fails_on_its_own() {
    panic!("a real failure");
}

/// The `ns-test` binary built next to this test binary (by `cargo test
/// --workspace`), if it is there.
fn ns_test_binary() -> Option<std::path::PathBuf> {
    let exe = std::env::current_exe().ok()?;
    let bin = exe.parent()?.parent()?.join("ns-test");
    bin.exists().then_some(bin)
}

#[test]
fn doctor_names_the_seccomp_filter() {
    let Some(doctor) = ns_test_binary() else {
        eprintln!("skipping: the ns-test binary is not built (run cargo test --workspace)");
        return;
    };
    let out = Command::new(env!("CARGO_BIN_EXE_fixture-seccomp"))
        .arg(doctor)
        .arg("doctor")
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(1), "{}", text(&out));
    let report = String::from_utf8_lossy(&out.stdout);
    let user = report
        .lines()
        .skip_while(|l| !l.contains("user namespace"))
        .take(3)
        .collect::<Vec<_>>()
        .join("\n");
    insta::assert_snapshot!(user);
}
