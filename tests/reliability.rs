//! Never hang, never leak: parent death, residue, namespace limits.
//!
//! The `victim_*` and `burst_*` tests are `#[ignore]`d and inert unless
//! `NS_TEST_RELIABILITY` is set; the plain tests below run them in a child
//! process of this same binary and watch what is left from the host.

mod common;

use std::io::{BufRead, BufReader};
use std::os::unix::process::CommandExt;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use ns_test::{ns_test, Namespaces, Sandbox};

fn armed() -> bool {
    std::env::var_os("NS_TEST_RELIABILITY").is_some()
}

/// Starts a server inside the sandbox, says so, and blocks forever.
fn start_server_and_block() {
    if !armed() {
        return;
    }
    let token = std::env::var("NS_TEST_TOKEN").unwrap();
    // Never waited for: the point is what happens to it when we are killed.
    #[allow(clippy::zombie_processes)]
    let mut server = Command::new(common::sleeper())
        .arg(&token)
        .stdout(Stdio::piped())
        .spawn()
        .unwrap();
    let mut line = String::new();
    BufReader::new(server.stdout.take().unwrap())
        .read_line(&mut line)
        .unwrap();
    assert_eq!(line.trim(), "ready");
    println!("sandbox-ready");
    loop {
        std::thread::park();
    }
}

#[ns_test]
#[ignore = "victim of a parent-death test"]
fn victim_with_pid_namespace() {
    start_server_and_block();
}

#[ns_test(net)]
#[ignore = "victim of a parent-death test"]
fn victim_without_pid_namespace() {
    start_server_and_block();
}

/// Runs one victim test of this binary in its own process group and waits
/// until its sandbox's server is up.
fn start_victim(name: &str, token: &str) -> Child {
    let mut child = Command::new(std::env::current_exe().unwrap())
        .args(["--ignored", "--exact", name, "--nocapture"])
        .env("NS_TEST_RELIABILITY", "1")
        .env("NS_TEST_TOKEN", token)
        .stdout(Stdio::piped())
        .process_group(0)
        .spawn()
        .unwrap();
    let mut out = BufReader::new(child.stdout.take().unwrap());
    let mut line = String::new();
    loop {
        line.clear();
        assert_ne!(out.read_line(&mut line).unwrap(), 0, "victim ended early");
        if line.trim() == "sandbox-ready" {
            break;
        }
    }
    // Keep reading so the victim never blocks on a full pipe.
    std::thread::spawn(move || std::io::copy(&mut out, &mut std::io::sink()));
    child
}

/// Processes on the host that belong to a test process: its descendants.
fn descendants(pid: u32) -> Vec<u32> {
    let mut all = Vec::new();
    let mut todo = vec![pid];
    while let Some(p) = todo.pop() {
        let Ok(tasks) = std::fs::read_dir(format!("/proc/{p}/task")) else {
            continue;
        };
        for t in tasks.flatten() {
            let children = std::fs::read_to_string(t.path().join("children")).unwrap_or_default();
            for c in children.split_whitespace().filter_map(|c| c.parse().ok()) {
                all.push(c);
                todo.push(c);
            }
        }
    }
    all
}

fn alive(pid: u32) -> bool {
    // A zombie has no command line: it is dead, only not yet reaped.
    std::fs::read(format!("/proc/{pid}/cmdline")).is_ok_and(|c| !c.is_empty())
}

/// Waits up to `limit` for every process in `pids` and every process
/// carrying `token` to be gone; returns the survivors.
fn survivors_after(limit: Duration, pids: &[u32], token: &str) -> Vec<u32> {
    let start = Instant::now();
    loop {
        let mut left: Vec<u32> = pids.iter().copied().filter(|p| alive(*p)).collect();
        left.extend(common::host_processes_with(token));
        if left.is_empty() || start.elapsed() > limit {
            return left;
        }
        std::thread::sleep(Duration::from_millis(10));
    }
}

fn parent_death(victim: &str, how: &str) {
    let token = common::token("victim");
    let mut child = start_victim(victim, &token);
    let tree = descendants(child.id());
    assert!(
        !common::host_processes_with(&token).is_empty(),
        "the sandbox's server should be running"
    );
    match how {
        "kill -9" => child.kill().unwrap(),
        "SIGINT to the process group" => {
            let pgid = format!("-{}", child.id());
            let ok = Command::new("kill")
                .args(["-INT", "--", &pgid])
                .status()
                .unwrap();
            assert!(ok.success());
        }
        _ => unreachable!(),
    }
    child.wait().unwrap();
    let left = survivors_after(Duration::from_secs(1), &tree, &token);
    assert_eq!(
        left,
        Vec::<u32>::new(),
        "{victim}, {how}: processes left after 1s"
    );
}

#[test]
fn kill_9_of_the_test_process_leaves_no_sandbox_process() {
    parent_death("victim_with_pid_namespace", "kill -9");
    parent_death("victim_without_pid_namespace", "kill -9");
}

#[test]
fn sigint_to_the_process_group_leaves_no_sandbox_process() {
    parent_death("victim_with_pid_namespace", "SIGINT to the process group");
    parent_death(
        "victim_without_pid_namespace",
        "SIGINT to the process group",
    );
}

fn open_fds() -> usize {
    std::fs::read_dir("/proc/self/fd").unwrap().count()
}

#[test]
fn no_descriptors_mounts_or_files_are_left_on_the_host() {
    let sandbox = Sandbox::new(Namespaces::ALL);
    let cmd = Command::new("true");
    // The first sandbox starts this process's fork server (one socket).
    assert!(sandbox.output(&cmd).unwrap().status.success());
    let fds = open_fds();
    let mounts = std::fs::read_to_string("/proc/self/mountinfo").unwrap();
    let tmp: Vec<_> = std::fs::read_dir("/tmp")
        .unwrap()
        .flatten()
        .map(|e| e.path())
        .collect();
    for _ in 0..20 {
        assert!(sandbox.output(&cmd).unwrap().status.success());
    }
    assert_eq!(open_fds(), fds, "descriptors leaked");
    assert_eq!(
        std::fs::read_to_string("/proc/self/mountinfo").unwrap(),
        mounts
    );
    let tmp_after: Vec<_> = std::fs::read_dir("/tmp")
        .unwrap()
        .flatten()
        .map(|e| e.path())
        .collect();
    let new: Vec<_> = tmp_after
        .iter()
        .filter(|p| !tmp.contains(p))
        .filter(|p| p.to_string_lossy().contains("ns-test"))
        .collect();
    assert!(new.is_empty(), "left in /tmp: {new:?}");
}

#[ns_test]
#[ignore = "run under a namespace limit by namespace_limits_are_retried_then_reported"]
fn burst_of_sandboxes() {
    if !armed() {
        return;
    }
    for i in 0..30 {
        let out = Sandbox::new(Namespaces::NET).output(&Command::new("true"));
        assert!(out.is_ok(), "sandbox {i}: {}", out.unwrap_err());
    }
}

#[ns_test]
#[ignore = "run under a namespace limit by namespace_limits_are_retried_then_reported"]
fn one_sandbox() {}

/// Runs `test` of this binary inside an outer user namespace whose
/// `user.max_user_namespaces` is `limit`.
fn under_limit(limit: u32, test: &str) -> std::process::Output {
    let script = format!(
        "echo {limit} > /proc/sys/user/max_user_namespaces && exec \"$0\" --ignored --exact {test}"
    );
    Command::new("unshare")
        .args(["--user", "--map-root-user", "sh", "-c", &script])
        .arg(std::env::current_exe().unwrap())
        .env("NS_TEST_RELIABILITY", "1")
        .env("RUST_BACKTRACE", "0")
        .output()
        .unwrap()
}

#[test]
fn namespace_limits_are_retried_then_reported() {
    // Room for the sandbox in the test and one more: each sandbox's
    // namespaces must be freed before the next fits, which the bounded
    // retry waits for.
    let out = under_limit(3, "burst_of_sandboxes");
    let text =
        String::from_utf8_lossy(&out.stdout).into_owned() + &String::from_utf8_lossy(&out.stderr);
    assert!(out.status.success(), "{text}");

    // No room at all: a clear message naming the limit and the fix.
    let out = under_limit(0, "one_sandbox");
    let text =
        String::from_utf8_lossy(&out.stdout).into_owned() + &String::from_utf8_lossy(&out.stderr);
    assert!(!out.status.success(), "{text}");
    let message: String = text
        .lines()
        .skip_while(|l| !l.starts_with("thread 'one_sandbox'"))
        .skip(1)
        .take_while(|l| !l.is_empty() && !l.starts_with("note:"))
        .collect::<Vec<_>>()
        .join("\n");
    insta::assert_snapshot!(message);
}
