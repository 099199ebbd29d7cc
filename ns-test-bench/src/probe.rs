//! Step costs measured without the runtime: a fresh, single-threaded copy
//! of this program creates namespaces itself and times each system call.
//!
//! * `__probe-unshare KIND`: `unshare(CLONE_NEWUSER)`, the id maps, then
//!   `unshare` of KIND; prints the three durations in microseconds.
//! * `__probe-teardown KIND REPS`: in a user namespace whose
//!   `max_KIND_namespaces` is set to 2, replaces its KIND namespace REPS
//!   times; each new `unshare` fails with `ENOSPC` until the kernel has
//!   freed the namespace dropped two steps earlier, so the wait measures
//!   how long a dead namespace lingers. Prints `create_us wait_us` per rep.
//!
//! Each probe runs in its own process: `unshare(CLONE_NEWUSER)` needs a
//! single-threaded caller, and a process is the unit the runtime pays for.

use std::time::{Duration, Instant};

use nix::errno::Errno;
use nix::sched::{unshare, CloneFlags};

/// Namespace kinds the probes know, with their clone flag and the
/// `/proc/sys/user` limit that counts them.
pub const KINDS: &[(&str, CloneFlags, &str)] = &[
    ("user", CloneFlags::empty(), "max_user_namespaces"),
    ("net", CloneFlags::CLONE_NEWNET, "max_net_namespaces"),
    ("mnt", CloneFlags::CLONE_NEWNS, "max_mnt_namespaces"),
    ("pid", CloneFlags::CLONE_NEWPID, "max_pid_namespaces"),
    ("ipc", CloneFlags::CLONE_NEWIPC, "max_ipc_namespaces"),
    ("uts", CloneFlags::CLONE_NEWUTS, "max_uts_namespaces"),
    (
        "cgroup",
        CloneFlags::CLONE_NEWCGROUP,
        "max_cgroup_namespaces",
    ),
    (
        "time",
        CloneFlags::from_bits_retain(nix::libc::CLONE_NEWTIME),
        "max_time_namespaces",
    ),
];

/// Kinds whose namespace can be replaced repeatedly by one process (a new
/// PID or time namespace is only for children, and only once).
pub const TEARDOWN_KINDS: &[&str] = &["net", "mnt", "ipc", "uts", "cgroup"];

fn kind(name: &str) -> Result<(CloneFlags, &'static str), String> {
    KINDS
        .iter()
        .find(|(n, _, _)| *n == name)
        .map(|(_, f, l)| (*f, *l))
        .ok_or_else(|| format!("unknown namespace kind `{name}`"))
}

fn micros(d: Duration) -> f64 {
    d.as_secs_f64() * 1e6
}

/// A user namespace with the invoking user as root; returns the time of
/// the `unshare` and of the three map writes.
fn enter_user_namespace() -> Result<(Duration, Duration), String> {
    let (uid, gid) = (nix::unistd::geteuid(), nix::unistd::getegid());
    let t0 = Instant::now();
    unshare(CloneFlags::CLONE_NEWUSER).map_err(|e| format!("unshare(CLONE_NEWUSER): {e}"))?;
    let t1 = Instant::now();
    let write = |path: &str, data: String| {
        std::fs::write(path, data).map_err(|e| format!("writing {path}: {e}"))
    };
    write("/proc/self/setgroups", "deny".into())?;
    write("/proc/self/uid_map", format!("0 {uid} 1\n"))?;
    write("/proc/self/gid_map", format!("0 {gid} 1\n"))?;
    Ok((t1 - t0, t1.elapsed()))
}

/// `__probe-unshare KIND`: see the module docs.
pub fn probe_unshare(name: &str) -> Result<String, String> {
    let (flags, _) = kind(name)?;
    let (user, maps) = enter_user_namespace()?;
    let t = Instant::now();
    if !flags.is_empty() {
        unshare(flags).map_err(|e| format!("unshare({name}): {e}"))?;
    }
    let ns = t.elapsed();
    Ok(format!(
        "{:.1} {:.1} {:.1}",
        micros(user),
        micros(maps),
        micros(ns)
    ))
}

/// `__probe-teardown KIND REPS`: see the module docs.
pub fn probe_teardown(name: &str, reps: usize) -> Result<String, String> {
    let (flags, limit) = kind(name)?;
    if flags.is_empty() {
        return Err("the user namespace cannot be probed this way".into());
    }
    enter_user_namespace()?;
    let path = format!("/proc/sys/user/{limit}");
    std::fs::write(&path, "2").map_err(|e| format!("writing {path}: {e}"))?;
    // The first two fit under the limit; from then on each new namespace
    // waits for the one dropped two steps before to be freed.
    for _ in 0..2 {
        unshare(flags).map_err(|e| format!("unshare({name}): {e}"))?;
    }
    let mut lines = Vec::with_capacity(reps);
    let give_up = Duration::from_secs(5);
    for _ in 0..reps {
        let start = Instant::now();
        loop {
            let t = Instant::now();
            match unshare(flags) {
                Ok(()) => {
                    let create = t.elapsed();
                    lines.push(format!("{:.1} {:.1}", micros(create), micros(t - start)));
                    break;
                }
                Err(Errno::ENOSPC | Errno::EUSERS) if start.elapsed() < give_up => {
                    std::thread::sleep(Duration::from_micros(50));
                }
                Err(e) => return Err(format!("unshare({name}): {e}")),
            }
        }
    }
    Ok(lines.join("\n"))
}
