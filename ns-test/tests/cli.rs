//! The `ns-test run` command, as a user runs it.
#![allow(clippy::unwrap_used)]

use std::process::Command;

fn ns_test(args: &[&str]) -> std::process::Output {
    Command::new(env!("CARGO_BIN_EXE_ns-test"))
        .args(args)
        .output()
        .unwrap()
}

#[test]
fn run_shows_only_loopback() {
    if Command::new("ip").arg("-V").output().is_err() {
        eprintln!("skipping: iproute2 is not installed");
        return;
    }
    let out = ns_test(&["run", "--net", "--mnt", "--", "ip", "-o", "link"]);
    assert!(out.status.success(), "{out:?}");
    let text = String::from_utf8_lossy(&out.stdout);
    assert_eq!(text.lines().count(), 1, "{text}");
    assert!(text.contains(": lo:"), "{text}");
}

#[test]
fn run_passes_the_exit_code_through() {
    let out = ns_test(&["run", "--", "sh", "-c", "exit 7"]);
    assert_eq!(out.status.code(), Some(7));
}

#[test]
fn run_sets_the_hostname() {
    let out = ns_test(&[
        "run",
        "--uts",
        "--hostname",
        "box",
        "--",
        "cat",
        "/proc/sys/kernel/hostname",
    ]);
    assert_eq!(String::from_utf8_lossy(&out.stdout).trim(), "box");
}

#[test]
fn run_kills_on_timeout() {
    let out = ns_test(&["run", "--timeout", "200ms", "--", "sleep", "100"]);
    assert_eq!(out.status.code(), Some(124));
    assert!(String::from_utf8_lossy(&out.stderr).contains("timed out"));
}

#[test]
fn a_missing_program_is_reported_with_its_path() {
    let out = ns_test(&["run", "--net", "--", "/no/such/program"]);
    assert_eq!(out.status.code(), Some(2));
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(
        err.contains("executing the program: execvp(/no/such/program) => ENOENT"),
        "{err}"
    );
}

#[test]
fn bad_usage_says_how() {
    let out = ns_test(&["run", "--nett", "--", "true"]);
    assert_eq!(out.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&out.stderr).contains("unknown option --nett"));
}

#[test]
fn run_takes_the_attributes_inside_options() {
    let certs = concat!(env!("CARGO_MANIFEST_DIR"), "/../fixtures/certs");
    let bind = format!("{certs}:/etc/certs");
    let out = ns_test(&[
        "run",
        "--mnt",
        "--uid",
        "1000:100",
        "--bind",
        &bind,
        "--tmpfs",
        "/var/lib/app",
        "--",
        "sh",
        "-c",
        "id -u; id -g; ls /etc/certs; touch /var/lib/app/state && echo writable; \
         grep CapEff /proc/self/status",
    ]);
    assert!(out.status.success(), "{out:?}");
    assert_eq!(
        String::from_utf8_lossy(&out.stdout),
        "1000\n100\nca.pem\nserver.pem\nwritable\nCapEff:\t0000000000000000\n"
    );
}

#[test]
fn run_refuses_options_without_their_namespace() {
    let out = ns_test(&["run", "--net", "--tmpfs", "/x", "--", "true"]);
    assert_eq!(out.status.code(), Some(2));
    assert_eq!(
        String::from_utf8_lossy(&out.stderr).trim(),
        "ns-test: mounting /x needs the mnt namespace"
    );
}

#[test]
fn an_argument_too_long_to_send_is_an_error_not_cut() {
    let long = "x".repeat(70 * 1024);
    let out = ns_test(&["run", "--net", "--", "echo", &long]);
    assert_eq!(out.status.code(), Some(2));
    assert!(
        String::from_utf8_lossy(&out.stderr).contains("an argument of 71680 bytes is longer than"),
        "{out:?}"
    );
}
