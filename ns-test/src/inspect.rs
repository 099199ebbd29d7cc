//! Looking inside: setup tracing (`NS_TEST_LOG=debug`), holding a failed
//! sandbox (`NS_TEST_HOLD`), and finding live sandboxes (`ns-test ps`,
//! `ns-test enter`) from `/proc`, without a daemon or a registry.

use std::io::Write;
use std::path::PathBuf;
use std::sync::Mutex;
use std::time::Duration;

use crate::error::Step;

/// `argv[0]` of the fork server and every sandbox process it forks.
pub const SERVER_ARGV0: &str = "ns-test-fork-server";
/// Room reserved in the server's argv for a sandbox process's title.
pub const TITLE_ROOM: usize = 240;
/// How long a held sandbox waits at most, unless `NS_TEST_HOLD_SECS` says.
pub const DEFAULT_HOLD: Duration = Duration::from_secs(600);

/// Whether `NS_TEST_LOG` asks for setup tracing.
pub fn trace_enabled() -> bool {
    std::env::var("NS_TEST_LOG").is_ok_and(|v| {
        v.split(',').any(|d| {
            matches!(
                d.trim(),
                "debug" | "trace" | "ns_test=debug" | "ns_test=trace"
            )
        })
    })
}

/// Prints a finished setup step to the real stderr (not libtest's capture).
pub fn print_trace(label: &str, step: Step, detail: &str, micros: u64) {
    let detail = if detail.is_empty() {
        String::new()
    } else {
        format!(" {detail}")
    };
    let line = format!(
        "ns-test[{label}]: {step}{detail}: {}.{:03} ms\n",
        micros / 1000,
        micros % 1000
    );
    let _ = std::io::stderr().write_all(line.as_bytes());
}

fn in_ci() -> bool {
    std::env::var("CI").is_ok_and(|v| !v.is_empty() && v != "0" && v != "false")
}

/// Whether a failure of `test` should hold its sandbox: `NS_TEST_HOLD=1`
/// (every test), `NS_TEST_HOLD=<part of a test name>`, or
/// `NS_TEST_HOLD=always`. With `CI` set only `always` holds, so a value
/// left in a profile never hangs a CI run.
pub fn hold_requested(test: &str) -> bool {
    let Ok(v) = std::env::var("NS_TEST_HOLD") else {
        return false;
    };
    let v = v.trim();
    let wanted = match v {
        "" | "0" | "false" | "no" => false,
        "always" => return true,
        "1" | "true" | "yes" => true,
        filter => test.contains(filter),
    };
    if wanted && in_ci() {
        static WARNED: Mutex<bool> = Mutex::new(false);
        let mut w = WARNED.lock().unwrap_or_else(|p| p.into_inner());
        if !*w {
            *w = true;
            let _ = std::io::stderr().write_all(
                b"ns-test: NS_TEST_HOLD is ignored because CI is set; use NS_TEST_HOLD=always to hold anyway\n",
            );
        }
        return false;
    }
    wanted
}

fn hold_limit() -> Duration {
    std::env::var("NS_TEST_HOLD_SECS")
        .ok()
        .and_then(|v| v.parse().ok())
        .map_or(DEFAULT_HOLD, Duration::from_secs)
}

/// Holds the failed sandbox of `test` (reaper `reaper` on the host): prints
/// how to enter it, then waits for Enter on stdin, or the time limit. A
/// `SIGINT` ends the test process, and with it the sandbox.
pub fn hold(test: &str, reaper: i32) {
    // One held sandbox talks to the terminal at a time.
    static TERMINAL: Mutex<()> = Mutex::new(());
    let _guard = TERMINAL.lock().unwrap_or_else(|p| p.into_inner());
    let limit = hold_limit();
    let msg = format!(
        "\nns-test: test {test} failed; its sandbox is held (reaper pid {reaper}).\n\
         ns-test: enter it with:\n\
         \x20   ns-test enter {reaper}\n\
         \x20   nsenter -t {reaper} -U -n -m -p -i -u -C -T --preserve-credentials\n\
         ns-test: list live sandboxes with `ns-test ps`.\n\
         ns-test: press Enter to release it (Ctrl-C ends the run; released anyway after {}s)\n",
        limit.as_secs()
    );
    let _ = std::io::stderr().write_all(msg.as_bytes());
    wait_for_enter(limit);
    let _ = std::io::stderr().write_all(format!("ns-test: released {test}\n").as_bytes());
}

/// Waits until a line arrives on stdin, its writer goes away (a pipe at
/// end of file: whoever would press Enter is gone), or `limit` passes. A
/// stdin that is always at end of file (`/dev/null`, as under nextest)
/// waits the whole limit.
fn wait_for_enter(limit: Duration) {
    use nix::poll::{poll, PollFd, PollFlags, PollTimeout};
    use std::os::fd::AsFd;
    let deadline = std::time::Instant::now() + limit;
    let stdin = std::io::stdin();
    let mut stdin_open = true;
    loop {
        let left = deadline.saturating_duration_since(std::time::Instant::now());
        if left.is_zero() {
            return;
        }
        let ms = PollTimeout::try_from(left.as_millis().min(i32::MAX as u128) as i32)
            .unwrap_or(PollTimeout::MAX);
        if !stdin_open {
            let _ = poll(&mut [], ms);
            continue;
        }
        let fd = stdin.as_fd();
        let mut pfd = [PollFd::new(fd, PollFlags::POLLIN)];
        match poll(&mut pfd, ms) {
            Ok(0) => return,
            Ok(_) => {
                let mut line = String::new();
                match stdin.read_line(&mut line) {
                    Ok(0) if stdin_is_a_pipe() => return,
                    Ok(0) | Err(_) => stdin_open = false,
                    Ok(_) => return,
                }
            }
            Err(_) => stdin_open = false,
        }
    }
}

fn stdin_is_a_pipe() -> bool {
    use std::os::unix::fs::FileTypeExt;
    std::fs::metadata("/proc/self/fd/0")
        .map(|m| m.file_type().is_fifo() || m.file_type().is_socket())
        .unwrap_or(false)
}

/// A live sandbox, as `ns-test ps` lists it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LiveSandbox {
    /// The reaper's pid on the host: enter the sandbox through it.
    pub pid: i32,
    /// The test name (or the program, for `Sandbox` commands).
    pub label: String,
    /// `(namespace, inode)` for each namespace that differs from the
    /// caller's.
    pub namespaces: Vec<(String, u64)>,
    /// Seconds since the reaper started.
    pub age_secs: u64,
}

/// Namespace kinds, as `/proc/PID/ns` names them.
pub const NS_KINDS: [&str; 8] = ["user", "net", "mnt", "pid", "ipc", "uts", "cgroup", "time"];

fn ns_inode(pid: &str, kind: &str) -> Option<u64> {
    let link = std::fs::read_link(format!("/proc/{pid}/ns/{kind}")).ok()?;
    let s = link.to_string_lossy();
    s.split_once(":[")?.1.trim_end_matches(']').parse().ok()
}

fn uptime_secs() -> f64 {
    std::fs::read_to_string("/proc/uptime")
        .ok()
        .and_then(|s| s.split_whitespace().next()?.parse().ok())
        .unwrap_or(0.0)
}

fn start_secs(pid: &str) -> Option<f64> {
    let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).ok()?;
    // Fields after the command (which may contain spaces) start after ')'.
    let rest = stat.rsplit_once(')')?.1;
    let ticks: f64 = rest.split_whitespace().nth(19)?.parse().ok()?;
    Some(ticks / 100.0)
}

/// The live sandboxes of this user, found by the titles their reapers
/// carry in `/proc/PID/cmdline`.
pub fn live_sandboxes() -> Vec<LiveSandbox> {
    let me = nix::unistd::getuid().as_raw();
    let mut found = Vec::new();
    let Ok(dir) = std::fs::read_dir("/proc") else {
        return found;
    };
    let uptime = uptime_secs();
    for e in dir.flatten() {
        let name = e.file_name();
        let Some(pid) = name
            .to_str()
            .filter(|s| s.bytes().all(|b| b.is_ascii_digit()))
        else {
            continue;
        };
        use std::os::unix::fs::MetadataExt;
        if e.metadata().map(|m| m.uid()).ok() != Some(me) {
            continue;
        }
        let Ok(cmd) = std::fs::read(format!("/proc/{pid}/cmdline")) else {
            continue;
        };
        let mut parts = cmd.split(|b| *b == 0);
        if parts.next() != Some(SERVER_ARGV0.as_bytes()) {
            continue;
        }
        let title = String::from_utf8_lossy(parts.next().unwrap_or_default()).into_owned();
        let Some(label) = title.strip_prefix("sandbox ") else {
            continue;
        };
        let namespaces = NS_KINDS
            .iter()
            .filter_map(|k| {
                let theirs = ns_inode(pid, k)?;
                (ns_inode("self", k) != Some(theirs)).then(|| (k.to_string(), theirs))
            })
            .collect();
        found.push(LiveSandbox {
            pid: pid.parse().unwrap_or(0),
            label: label.trim().to_string(),
            namespaces,
            age_secs: start_secs(pid).map_or(0, |s| (uptime - s).max(0.0) as u64),
        });
    }
    found.sort_by_key(|s| s.pid);
    found
}

/// The sandbox `what` names: a reaper pid, or a test name (exact, else the
/// only one containing it).
pub fn find_sandbox(what: &str) -> Result<LiveSandbox, String> {
    let all = live_sandboxes();
    if let Ok(pid) = what.parse::<i32>() {
        return all
            .into_iter()
            .find(|s| s.pid == pid)
            .ok_or_else(|| format!("no live sandbox of yours has pid {pid} (see `ns-test ps`)"));
    }
    if let Some(s) = all.iter().find(|s| s.label == what) {
        return Ok(s.clone());
    }
    let matching: Vec<&LiveSandbox> = all.iter().filter(|s| s.label.contains(what)).collect();
    match matching.as_slice() {
        [one] => Ok((*one).clone()),
        [] => Err(format!(
            "no live sandbox matches {what:?} (see `ns-test ps`)"
        )),
        many => Err(format!(
            "{} sandboxes match {what:?}: {}; give a pid",
            many.len(),
            many.iter()
                .map(|s| format!("{} ({})", s.label, s.pid))
                .collect::<Vec<_>>()
                .join(", ")
        )),
    }
}

/// The root directory of a live sandbox, as seen from the host.
pub fn root_of(pid: i32) -> PathBuf {
    PathBuf::from(format!("/proc/{pid}/root"))
}
