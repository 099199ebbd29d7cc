//! `pid`: the test's process tree is its own, and dies with it.

mod common;

use std::process::Command;

use ns_test::{ns_test, Namespaces, Sandbox};

fn proc_pids() -> Vec<u32> {
    let mut v: Vec<u32> = std::fs::read_dir("/proc")
        .unwrap()
        .filter_map(|e| e.ok()?.file_name().to_str()?.parse().ok())
        .collect();
    v.sort();
    v
}

#[ns_test(pid)]
fn the_test_is_a_low_pid_and_proc_shows_only_the_sandbox() {
    // PID 1 is the sandbox's reaper; the test is the first process it starts.
    assert_eq!(std::process::id(), 2);
    assert_eq!(proc_pids(), [1, 2]);
}

#[ns_test(pid, mnt)]
fn with_mnt_too() {
    assert_eq!(std::process::id(), 2);
    assert_eq!(proc_pids(), [1, 2]);
}

#[ns_test(pid)]
fn children_are_visible_inside() {
    let mut child = Command::new(common::sleeper())
        .arg("inside")
        .spawn()
        .unwrap();
    assert!(proc_pids().contains(&child.id()));
    child.kill().unwrap();
    child.wait().unwrap();
}

#[test]
fn every_process_the_sandbox_started_is_gone_afterwards() {
    let token = common::token("daemon");
    let script = format!(
        "{s} {token} --daemon; {s} {token} & echo started",
        s = common::sleeper()
    );
    let out = Sandbox::new(Namespaces::PID | Namespaces::MNT)
        .output(Command::new("sh").args(["-c", &script]))
        .unwrap();
    assert!(out.status.success(), "{out:?}");
    assert_eq!(common::host_processes_with(&token), Vec::<u32>::new());
}

#[test]
fn without_pid_the_reaper_still_ends_detached_processes() {
    let token = common::token("nopid");
    let script = format!("{s} {token} --daemon; echo started", s = common::sleeper());
    let out = Sandbox::new(Namespaces::NET)
        .output(Command::new("sh").args(["-c", &script]))
        .unwrap();
    assert!(out.status.success(), "{out:?}");
    assert_eq!(common::host_processes_with(&token), Vec::<u32>::new());
}
