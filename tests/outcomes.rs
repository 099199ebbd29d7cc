//! Every result kind, as a user sees it in `cargo test` output.
//!
//! The `fault_*` tests below misbehave on purpose. They are `#[ignore]`d and
//! do nothing unless `NS_TEST_FAULTS` is set; `faults_are_reported_as_users_see_them`
//! runs them in a child libtest process of this same binary (as
//! `cargo test -- --ignored` would) and snapshots its normalised output.

mod common;

use std::process::Command;

use ns_test::ns_test;

#[ns_test]
fn passes() {}

#[ns_test]
fn result_ok_passes() -> Result<(), String> {
    Ok(())
}

#[ns_test]
#[should_panic(expected = "raised inside")]
fn should_panic_matches_the_message_raised_inside() {
    panic!("raised inside the sandbox");
}

#[should_panic(expected = "below too")]
#[ns_test(net)]
fn should_panic_above_the_attribute_works() {
    panic!("it works below too");
}

#[ns_test]
#[ignore = "ignored tests stay ignored"]
fn ignored_stays_ignored() {
    panic!("an ignored test ran");
}

fn armed() -> bool {
    std::env::var_os("NS_TEST_FAULTS").is_some()
}

#[derive(Debug)]
#[allow(dead_code)]
struct MyError {
    code: u32,
}

#[ns_test]
#[ignore = "fault"]
fn fault_panic_with_output() {
    if !armed() {
        return;
    }
    println!("printed to stdout before the panic");
    eprintln!("printed to stderr before the panic");
    panic!("the panic message");
}

#[ns_test]
#[ignore = "fault"]
fn fault_returns_err() -> Result<(), MyError> {
    if !armed() {
        return Ok(());
    }
    Err(MyError { code: 3 })
}

#[ns_test]
#[ignore = "fault"]
#[allow(unsafe_code)]
fn fault_segfault() {
    if !armed() {
        return;
    }
    // SAFETY: not safe at all: this test crashes on purpose.
    unsafe { std::ptr::null_mut::<u8>().write_volatile(1) };
}

#[ns_test]
#[ignore = "fault"]
fn fault_abort() {
    if !armed() {
        return;
    }
    std::process::abort();
}

#[ns_test]
#[ignore = "fault"]
fn fault_exit_0_before_reporting() {
    if !armed() {
        return;
    }
    std::process::exit(0);
}

#[ns_test]
#[ignore = "fault"]
fn fault_exit_3() {
    if !armed() {
        return;
    }
    std::process::exit(3);
}

#[ns_test]
#[ignore = "fault"]
fn fault_stack_overflow() {
    #[allow(unconditional_recursion)]
    fn deeper(n: u64) -> u64 {
        let pad = std::hint::black_box([n; 64]);
        deeper(pad[3] + 1) + pad[0]
    }
    if !armed() {
        return;
    }
    std::hint::black_box(deeper(0));
}

#[ns_test]
#[ignore = "fault"]
fn fault_non_string_panic_payload() {
    if !armed() {
        return;
    }
    std::panic::panic_any(42u32);
}

#[ns_test]
#[ignore = "fault"]
fn fault_panic_in_a_joined_thread() {
    if !armed() {
        return;
    }
    std::thread::spawn(|| panic!("panic in a spawned thread"))
        .join()
        .expect("the spawned thread panicked");
}

#[ns_test(timeout = "1s")]
#[ignore = "fault"]
fn fault_infinite_loop() {
    if !armed() {
        return;
    }
    #[allow(clippy::empty_loop)]
    loop {}
}

#[ns_test(net, timeout = "1s")]
#[ignore = "fault"]
fn fault_blocked_in_a_syscall() {
    if !armed() {
        return;
    }
    let l = std::net::TcpListener::bind("127.0.0.1:9").unwrap();
    let _ = l.accept();
}

/// Starts a daemon (new session, parent gone) carrying the driver's token.
fn start_daemon() {
    if !armed() {
        return;
    }
    let token = std::env::var("NS_TEST_FAULT_TOKEN").unwrap();
    let out = Command::new(common::sleeper())
        .args([&token, "--daemon"])
        .output()
        .unwrap();
    assert!(out.status.success());
}

#[ns_test]
#[ignore = "fault"]
fn fault_starts_a_daemon_and_passes() {
    start_daemon();
}

#[ns_test(net)]
#[ignore = "fault"]
fn fault_starts_a_daemon_without_pid_namespace() {
    start_daemon();
}

#[ns_test]
#[ignore = "fault"]
#[allow(unsafe_code)]
fn fault_closes_its_stdout_and_stderr_then_fails() {
    if !armed() {
        return;
    }
    use std::os::fd::{FromRawFd, OwnedFd};
    println!("last words on stdout");
    // SAFETY: fds 1 and 2 are open; closing them under std's feet is the
    // point of the test (std tolerates a closed stdout: writes fail).
    drop(unsafe { OwnedFd::from_raw_fd(1) });
    drop(unsafe { OwnedFd::from_raw_fd(2) });
    panic!("failed after closing stdout and stderr");
}

#[ns_test]
#[ignore = "fault"]
fn fault_writes_8_mib_and_passes() {
    if !armed() {
        return;
    }
    let line = "x".repeat(1023);
    for _ in 0..8 * 1024 {
        println!("{line}");
    }
}

#[ns_test]
#[ignore = "fault"]
fn fault_binary_garbage_without_final_newline() {
    if !armed() {
        return;
    }
    use std::io::Write;
    let mut out = std::io::stdout();
    out.write_all(b"garbage: \xff\xfe\x00\x01 ok \xe2\x82")
        .unwrap();
    out.write_all(b"\xac end").unwrap();
    out.flush().unwrap();
    panic!("after garbage");
}

#[ns_test]
#[ignore = "fault"]
fn fault_closes_every_descriptor_it_did_not_open() {
    if !armed() {
        return;
    }
    let fds: Vec<i32> = std::fs::read_dir("/proc/self/fd")
        .unwrap()
        .filter_map(|e| e.ok()?.file_name().to_str()?.parse().ok())
        .filter(|fd| *fd > 2)
        .collect();
    for fd in fds {
        let _ = nix::unistd::close(fd);
    }
}

#[ns_test]
#[ignore = "fault"]
fn fault_kill_0_in_a_shell() {
    if !armed() {
        return;
    }
    // A common shell clean-up: it signals the whole process group, which
    // must be the test's own, not cargo test's.
    let _ = Command::new("sh")
        .args(["-c", "sleep 100 & trap 'kill 0' EXIT; true"])
        .status();
}

#[ns_test(timeout = "1s")]
#[ignore = "fault"]
#[should_panic]
fn fault_should_panic_but_times_out() {
    if !armed() {
        panic!("not armed");
    }
    loop {
        std::thread::park();
    }
}

#[ns_test]
#[ignore = "fault"]
#[should_panic(expected = "boom")]
fn fault_should_panic_but_exits() {
    if !armed() {
        panic!("boom");
    }
    std::process::exit(0);
}

#[ns_test]
#[ignore = "fault"]
fn fault_neighbour_passes() {}

/// Normalises libtest output: sorted result lines, no timings, thread ids
/// or line numbers.
fn normalise(s: &str) -> String {
    let mut results = Vec::new();
    let mut rest = Vec::new();
    for line in s.lines() {
        let line = strip_thread_id(line);
        let line = strip_line_numbers(&line);
        if line.starts_with("test ") && (line.ends_with(" ok") || line.ends_with("FAILED")) {
            results.push(line);
        } else if let Some(i) = line.find("; finished in ") {
            rest.push(format!("{}; finished in <time>", &line[..i]));
        } else if line.starts_with("running ") || line.starts_with("note: run with") {
            continue;
        } else {
            rest.push(line);
        }
    }
    results.sort();
    // Failure sections come in completion order: sort them by test name.
    let rest = rest.join("\n");
    let (head, tail) = match rest.rfind("\nfailures:\n") {
        Some(i) => rest.split_at(i),
        None => (rest.as_str(), ""),
    };
    let mut sections: Vec<&str> = head.split("\n---- ").collect();
    let preamble = sections.remove(0);
    sections.sort();
    let mut out = results.join("\n");
    out.push_str("\n\n");
    out.push_str(preamble);
    for s in sections {
        out.push_str("\n---- ");
        out.push_str(s);
    }
    out.push_str(tail);
    out
}

fn strip_thread_id(line: &str) -> String {
    // "thread 'name' (1234) panicked" -> "thread 'name' panicked"
    if let (Some(a), Some(b)) = (line.find("' ("), line.find(") panicked")) {
        if a < b {
            return format!("{}'{}", &line[..a], &line[b + 1..]);
        }
    }
    line.to_string()
}

fn strip_line_numbers(line: &str) -> String {
    match line.find("tests/outcomes.rs:") {
        Some(i) => {
            let tail = &line[i + "tests/outcomes.rs:".len()..];
            let end = tail
                .find(|c: char| !(c.is_ascii_digit() || c == ':'))
                .unwrap_or(tail.len());
            format!("{}tests/outcomes.rs:<line>{}", &line[..i], &tail[end..])
        }
        None => line.to_string(),
    }
}

#[test]
fn faults_are_reported_as_users_see_them() {
    let token = common::token("fault-daemon");
    let out = Command::new(std::env::current_exe().unwrap())
        .args(["--ignored", "--test-threads=4", "fault_"])
        .env("NS_TEST_FAULTS", "1")
        .env("NS_TEST_FAULT_TOKEN", &token)
        .env("RUST_BACKTRACE", "0")
        .env_remove("RUST_TEST_NOCAPTURE")
        .output()
        .unwrap();
    let text =
        String::from_utf8_lossy(&out.stdout).into_owned() + &String::from_utf8_lossy(&out.stderr);
    assert!(!out.status.success());
    // The 8 MiB test passed, so its output is not shown.
    assert!(!text.contains(&"x".repeat(1023)));
    // Nothing the faults started survives, seen from the host.
    assert_eq!(common::host_processes_with(&token), Vec::<u32>::new());
    insta::assert_snapshot!(normalise(&text));
}
