//! Holding a failed sandbox, listing it, entering it, releasing it.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::io::{BufRead, BufReader, Write};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use ns_test::ns_test;

#[ns_test(hostname = "held-box")]
#[ignore = "held by a_held_failing_test_can_be_listed_entered_and_released"]
fn held_victim() {
    if std::env::var_os("NS_TEST_INSPECT").is_none() {
        return;
    }
    std::fs::write("/tmp/marker", "written before failing").unwrap();
    panic!("fails on purpose");
}

/// Runs after `held_victim` in the victim process and keeps it alive until
/// its stdin closes, so the check can see the held sandbox go while the
/// test process that held it still runs.
#[test]
#[ignore = "part of a_held_failing_test_can_be_listed_entered_and_released"]
fn held_victim_then_waits() {
    if std::env::var_os("NS_TEST_INSPECT").is_none() {
        return;
    }
    let _ = std::io::copy(&mut std::io::stdin(), &mut std::io::sink());
}

fn ns_test_cmd(args: &[&str]) -> std::process::Output {
    Command::new(env!("CARGO_BIN_EXE_ns-test"))
        .args(args)
        .output()
        .unwrap()
}

/// Kills the victim test process if the check fails half-way, so no held
/// sandbox outlives this test.
struct KillOnDrop(std::process::Child);

impl Drop for KillOnDrop {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

fn alive(pid: &str) -> bool {
    std::fs::read(format!("/proc/{pid}/cmdline")).is_ok_and(|c| !c.is_empty())
}

#[test]
fn a_held_failing_test_can_be_listed_entered_and_released() {
    let victim = Command::new(std::env::current_exe().unwrap())
        .args(["--ignored", "--exact", "--test-threads=1"])
        .args(["held_victim", "held_victim_then_waits"])
        .env("NS_TEST_INSPECT", "1")
        .env("NS_TEST_HOLD", "always")
        .env("NS_TEST_HOLD_SECS", "120")
        .stdin(Stdio::piped())
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let mut victim = KillOnDrop(victim);
    let mut stderr = BufReader::new(victim.0.stderr.take().unwrap());
    let mut held_at = String::new();
    let mut line = String::new();
    while stderr.read_line(&mut line).unwrap() > 0 {
        if let Some(pid) = line.trim().strip_prefix("ns-test enter ") {
            held_at = pid.to_string();
            break;
        }
        line.clear();
    }
    assert!(!held_at.is_empty(), "no hold notice");
    std::thread::spawn(move || std::io::copy(&mut stderr, &mut std::io::sink()));

    // `ns-test ps` lists it, by test name and pid.
    let ps = ns_test_cmd(&["ps", "--json"]);
    let ps = String::from_utf8_lossy(&ps.stdout);
    assert!(ps.contains(&format!("\"pid\":{held_at}")), "{ps}");
    assert!(ps.contains("\"test\":\"held_victim\""), "{ps}");
    assert!(ps.contains("\"net\":"), "{ps}");

    // `ns-test enter` shows what the test saw: hostname, interfaces, files.
    let script = "cat /proc/sys/kernel/hostname; \
                  tail -n +3 /proc/net/dev | cut -d: -f1 | tr -d ' '; \
                  cat /tmp/marker";
    let seen = ns_test_cmd(&["enter", &held_at, "--", "sh", "-c", script]);
    assert!(seen.status.success(), "{seen:?}");
    assert_eq!(
        String::from_utf8_lossy(&seen.stdout),
        "held-box\nlo\nwritten before failing"
    );
    // So does plain nsenter, with the command the notice prints.
    let nsenter = Command::new("nsenter")
        .args([
            "-t", &held_at, "-U", "-n", "-m", "-p", "-i", "-u", "-C", "-T",
        ])
        .args(["--preserve-credentials", "cat", "/tmp/marker"])
        .output();
    if let Ok(out) = nsenter {
        assert_eq!(
            String::from_utf8_lossy(&out.stdout),
            "written before failing"
        );
    }

    // Enter releases it; the test then fails as it should, and the sandbox
    // is gone.
    let mut stdin = victim.0.stdin.take().unwrap();
    stdin.write_all(b"\n").unwrap();
    // Released: the sandbox goes while the test process still runs (it is
    // now in held_victim_then_waits, reading stdin).
    let start = Instant::now();
    while alive(&held_at) && start.elapsed() < Duration::from_secs(5) {
        std::thread::sleep(Duration::from_millis(10));
    }
    assert!(
        !alive(&held_at),
        "sandbox {held_at} still alive after release"
    );
    assert!(
        victim.0.try_wait().unwrap().is_none(),
        "the victim ended early"
    );
    drop(stdin);
    let status = victim.0.wait().unwrap();
    assert!(!status.success());
    let ps = ns_test_cmd(&["ps", "--json"]);
    assert!(!String::from_utf8_lossy(&ps.stdout).contains(&format!("\"pid\":{held_at},")));
}

#[ns_test(net, mnt)]
#[ignore = "traced by setup_steps_are_traced_with_durations"]
fn traced() {}

#[test]
fn setup_steps_are_traced_with_durations() {
    let out = Command::new(std::env::current_exe().unwrap())
        .args(["--ignored", "--exact", "traced"])
        .env("NS_TEST_LOG", "debug")
        .output()
        .unwrap();
    assert!(out.status.success());
    let err = String::from_utf8_lossy(&out.stderr);
    let steps: Vec<String> = err
        .lines()
        .filter_map(|l| l.strip_prefix("ns-test[traced]: "))
        .map(|l| l.rsplit_once(": ").map_or(l, |(s, _)| s).to_string())
        .collect();
    insta::assert_snapshot!(steps.join("\n"));
    assert!(
        err.lines()
            .filter(|l| l.starts_with("ns-test[traced]"))
            .all(|l| l.ends_with(" ms")),
        "{err}"
    );
}
