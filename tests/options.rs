//! The options that shape the inside of a sandbox, observed from inside:
//! identity (`uid`, `gid`), mounts (`bind`, `bind_rw`, `tmpfs`),
//! environment (`env(...)`), resource limits (`memory`, `pids`, `cpu`) and
//! clock offsets (`time(...)`).
//!
//! The `fault_*` tests fail on purpose (a missing bind source, an OOM, a
//! fork bomb, ...). They are `#[ignore]`d and do nothing unless
//! `NS_TEST_FAULTS` is set; a plain test next to each runs it in a child
//! libtest process of this binary and checks what a user would read.

mod common;

use std::io::ErrorKind;
use std::os::unix::fs::{MetadataExt, PermissionsExt};
use std::path::Path;
use std::process::Command;

use ns_test::limits::Mechanism;
use ns_test::ns_test;

fn armed() -> bool {
    std::env::var_os("NS_TEST_FAULTS").is_some()
}

/// Runs the ignored test `name` of this binary, armed, with `env`; its
/// whole output, and whether it passed.
fn run_fault(name: &str, env: &[(&str, &str)]) -> (bool, String) {
    let mut cmd = Command::new(std::env::current_exe().unwrap());
    cmd.args(["--ignored", "--exact", name, "--test-threads=1"])
        .env("NS_TEST_FAULTS", "1")
        .env("RUST_BACKTRACE", "0")
        .env_remove("RUST_TEST_NOCAPTURE")
        .env_remove("NS_TEST_UNSUPPORTED");
    for (k, v) in env {
        cmd.env(k, v);
    }
    let out = cmd.output().unwrap();
    let text =
        String::from_utf8_lossy(&out.stdout).into_owned() + &String::from_utf8_lossy(&out.stderr);
    assert!(
        text.contains("running 1 test"),
        "{name} is not a test of this binary:\n{text}"
    );
    (out.status.success(), text)
}

// ---------------------------------------------------------------- identity

#[ns_test(uid = 1000, gid = 100)]
fn runs_as_the_given_user_without_capabilities() {
    assert_eq!(common::status_field("Uid:"), "1000\t1000\t1000\t1000");
    assert_eq!(common::status_field("Gid:"), "100\t100\t100\t100");
    for caps in ["CapInh:", "CapPrm:", "CapEff:", "CapBnd:", "CapAmb:"] {
        assert_eq!(common::status_field(caps), "0000000000000000", "{caps}");
    }
    // uid 1000 is the sandbox's root underneath; root itself is unmapped.
    let map = std::fs::read_to_string("/proc/self/uid_map").unwrap();
    let fields: Vec<&str> = map.split_whitespace().collect();
    assert_eq!(fields, ["1000", "0", "1"], "{map}");
}

#[ns_test(uid = 1000)]
fn gid_defaults_to_the_uid() {
    assert_eq!(common::status_field("Gid:"), "1000\t1000\t1000\t1000");
}

#[ns_test(mnt, uid = 1000)]
fn permission_bits_hold_without_root() {
    let dir = tempfile::tempdir().unwrap();
    // What the test creates is its own.
    let file = dir.path().join("secret");
    std::fs::write(&file, "x").unwrap();
    assert_eq!(std::fs::metadata(&file).unwrap().uid(), 1000);
    // chmod 000 locks out even the owner: no CAP_DAC_OVERRIDE.
    std::fs::set_permissions(&file, std::fs::Permissions::from_mode(0o000)).unwrap();
    let e = std::fs::read(&file).unwrap_err();
    assert_eq!(e.kind(), ErrorKind::PermissionDenied, "{e}");
    // Write-only: writable, not readable.
    std::fs::set_permissions(&file, std::fs::Permissions::from_mode(0o200)).unwrap();
    std::fs::write(&file, "y").unwrap();
    assert_eq!(
        std::fs::read(&file).unwrap_err().kind(),
        ErrorKind::PermissionDenied
    );
    // A read-only directory takes no new entries.
    let ro = dir.path().join("ro");
    std::fs::create_dir(&ro).unwrap();
    std::fs::set_permissions(&ro, std::fs::Permissions::from_mode(0o500)).unwrap();
    let e = std::fs::write(ro.join("new"), "x").unwrap_err();
    assert_eq!(e.kind(), ErrorKind::PermissionDenied, "{e}");
    std::fs::set_permissions(&ro, std::fs::Permissions::from_mode(0o700)).unwrap();
}

#[ns_test(net, uts, pid, uid = 1000)]
fn privileged_operations_are_refused() {
    // Ports below 1024 need CAP_NET_BIND_SERVICE.
    let e = std::net::TcpListener::bind("127.0.0.1:80").unwrap_err();
    assert_eq!(e.kind(), ErrorKind::PermissionDenied, "{e}");
    std::net::TcpListener::bind("127.0.0.1:8080").unwrap();
    // The hostname belongs to the sandbox's root (sethostname needs
    // CAP_SYS_ADMIN).
    let out = Command::new("hostname").arg("mine").output().unwrap();
    assert!(!out.status.success(), "{out:?}");
    // So does the sandbox's first process (PID 1, ns-test's reaper).
    let e = std::fs::read("/proc/1/environ").unwrap_err();
    assert_eq!(e.kind(), ErrorKind::PermissionDenied, "{e}");
}

#[ns_test(net, uts, pid)]
fn root_inside_may_do_all_that() {
    std::net::TcpListener::bind("127.0.0.1:80").unwrap();
    let out = Command::new("hostname").arg("mine").output().unwrap();
    assert!(out.status.success(), "{out:?}");
    std::fs::read("/proc/1/environ").unwrap();
}

#[ns_test(mnt, uid = 1000)]
fn home_and_runtime_dir_belong_to_the_user() {
    let home = std::env::var("HOME").unwrap();
    std::fs::write(Path::new(&home).join(".profile"), "x").unwrap();
    let runtime = std::env::var("XDG_RUNTIME_DIR").unwrap();
    assert_eq!(runtime, "/run/user/1000");
    let meta = std::fs::metadata(&runtime).unwrap();
    assert_eq!((meta.uid(), meta.mode() & 0o777), (1000, 0o700));
    std::fs::write(Path::new(&runtime).join("app.sock"), "").unwrap();
    let tmp = tempfile::NamedTempFile::new().unwrap();
    assert!(tmp.path().starts_with("/tmp"));
}

// ------------------------------------------------------------------ mounts

const CA: &str = include_str!("../fixtures/certs/ca.pem");

#[ns_test(mnt, bind = "fixtures/certs:/etc/certs")]
fn bind_puts_fixtures_at_a_fixed_path_read_only() {
    assert_eq!(std::fs::read_to_string("/etc/certs/ca.pem").unwrap(), CA);
    assert!(Path::new("/etc/certs/server.pem").exists());
    let e = std::fs::write("/etc/certs/ca.pem", "changed").unwrap_err();
    assert_eq!(e.raw_os_error(), Some(30), "expected EROFS, got {e}");
    let e = std::fs::write("/etc/certs/new.pem", "x").unwrap_err();
    assert_eq!(e.raw_os_error(), Some(30), "expected EROFS, got {e}");
    // The rest of the host's /etc is still there, still read-only.
    assert!(Path::new("/etc/passwd").exists());
    assert!(std::fs::write("/etc/ns-test-probe", "x").is_err());
}

#[ns_test(
    mnt,
    net,
    bind(
        "fixtures/etc/hosts:/etc/hosts",
        "fixtures/certs/ca.pem:/opt/app/ca.pem"
    )
)]
fn several_binds_and_single_files() {
    use std::net::ToSocketAddrs;
    let addr = ("db.test", 5432).to_socket_addrs().unwrap().next().unwrap();
    assert_eq!(addr, "127.0.0.1:5432".parse().unwrap());
    assert_eq!(std::fs::read_to_string("/opt/app/ca.pem").unwrap(), CA);
}

#[ns_test(mnt, tmpfs("/var/lib/app", "/srv/cache"))]
fn tmpfs_gives_fresh_writable_dirs() {
    for dir in ["/var/lib/app", "/srv/cache"] {
        assert_eq!(std::fs::read_dir(dir).unwrap().count(), 0, "{dir}");
        std::fs::write(Path::new(dir).join("state"), "x").unwrap();
    }
}

#[ns_test(
    mnt,
    uid = 1000,
    tmpfs = "/var/lib/app",
    bind = "fixtures/certs:/var/lib/app/certs"
)]
fn a_bind_inside_a_tmpfs_for_an_ordinary_user() {
    std::fs::write("/var/lib/app/db", "x").unwrap();
    assert_eq!(
        std::fs::read_to_string("/var/lib/app/certs/ca.pem").unwrap(),
        CA
    );
    assert!(std::fs::write("/var/lib/app/certs/x", "x").is_err());
}

/// A host directory every user may write, for `bind_rw`.
const SHARED: &str = "/tmp/ns-test-bind-rw";

#[ns_test(mnt, bind_rw = "/tmp/ns-test-bind-rw:/data")]
#[ignore = "fault"]
fn fault_bind_rw_writes_reach_the_host() {
    if !armed() {
        return;
    }
    let token = std::env::var("NS_TEST_FAULT_TOKEN").unwrap();
    std::fs::write(Path::new("/data").join(&token), "written inside").unwrap();
}

#[test]
fn bind_rw_writes_reach_the_host() {
    if std::fs::create_dir(SHARED).is_ok() {
        std::fs::set_permissions(SHARED, std::fs::Permissions::from_mode(0o1777)).unwrap();
    }
    let token = common::token("bind-rw");
    let (passed, text) = run_fault(
        "fault_bind_rw_writes_reach_the_host",
        &[("NS_TEST_FAULT_TOKEN", &token)],
    );
    assert!(passed, "{text}");
    let host = Path::new(SHARED).join(&token);
    assert_eq!(std::fs::read_to_string(&host).unwrap(), "written inside");
    std::fs::remove_file(host).unwrap();
    // Gone unless another run still uses it.
    let _ = std::fs::remove_dir(SHARED);
}

#[ns_test(mnt, bind = "fixtures/no-such-dir:/etc/app")]
#[ignore = "fault"]
fn fault_bind_source_missing() {}

#[test]
fn a_missing_bind_source_fails_the_test_naming_it() {
    let (passed, text) = run_fault("fault_bind_source_missing", &[]);
    assert!(!passed, "{text}");
    let path = Path::new(env!("CARGO_MANIFEST_DIR")).join("fixtures/no-such-dir");
    let expected = format!(
        "ns-test: bind-mounting a host path: stat({}) => ENOENT",
        path.display()
    );
    assert!(text.contains(&expected), "{expected}\nnot in:\n{text}");
    assert!(text.contains("CARGO_MANIFEST_DIR"), "{text}");
}

// ------------------------------------------------------------- environment

#[ns_test(mnt, env(RUST_LOG = "debug", "APP.MODE" = "test", HOME = "/home/app"))]
fn env_sets_variables_over_the_defaults() {
    assert_eq!(std::env::var("RUST_LOG").unwrap(), "debug");
    assert_eq!(std::env::var("APP.MODE").unwrap(), "test");
    // HOME from env(...) wins, and is made a fresh writable dir there.
    assert_eq!(std::env::var("HOME").unwrap(), "/home/app");
    assert_eq!(std::fs::read_dir("/home/app").unwrap().count(), 0);
    std::fs::write("/home/app/.apprc", "x").unwrap();
}

#[ns_test(mnt)]
fn the_sandbox_environment_is_fresh_and_writable() {
    let home = std::env::var("HOME").unwrap();
    assert_eq!(std::fs::read_dir(&home).unwrap().count(), 0, "{home}");
    assert_eq!(std::env::var("TMPDIR").unwrap(), "/tmp");
    let runtime = std::env::var("XDG_RUNTIME_DIR").unwrap();
    assert_eq!(runtime, "/run/user/0");
    std::fs::write(Path::new(&runtime).join("bus"), "").unwrap();
    for unset in ["XDG_CONFIG_HOME", "XDG_CACHE_HOME", "XDG_DATA_HOME"] {
        assert!(std::env::var_os(unset).is_none(), "{unset}");
    }
    // The working directory is what cargo test gives: the package.
    assert_eq!(
        std::env::current_dir().unwrap(),
        Path::new(env!("CARGO_MANIFEST_DIR"))
    );
}

#[ns_test(net, env(NS_TEST_OPTIONS_PROBE = "set inside"))]
fn env_works_without_mnt() {
    assert_eq!(
        std::env::var("NS_TEST_OPTIONS_PROBE").unwrap(),
        "set inside"
    );
    assert_eq!(
        std::env::current_dir().unwrap(),
        Path::new(env!("CARGO_MANIFEST_DIR"))
    );
}

// ---------------------------------------------------------- resource limits

#[ns_test(memory = "64M")]
fn memory_below_the_limit_is_usable() {
    let v = vec![1u8; 16 << 20];
    assert_eq!(v.iter().map(|b| *b as usize).sum::<usize>(), 16 << 20);
}

#[ns_test(memory = "64M")]
#[ignore = "fault"]
fn fault_allocates_past_the_memory_limit() {
    if !armed() {
        return;
    }
    let mut chunks = Vec::new();
    for _ in 0..32 {
        // Written to, so the pages exist.
        chunks.push(vec![1u8; 16 << 20]);
    }
    println!("allocated {} MiB", chunks.len() * 16);
}

#[test]
fn going_past_the_memory_limit_is_reported() {
    let (passed, text) = run_fault("fault_allocates_past_the_memory_limit", &[]);
    assert!(!passed, "{text}");
    assert!(!text.contains("allocated 512 MiB"), "{text}");
    match ns_test::limits::probe().memory {
        Mechanism::Cgroup { file, .. } => {
            let expected = format!("test killed: out of memory ({file} = 64M)");
            assert!(text.contains(&expected), "{expected}\nnot in:\n{text}");
        }
        Mechanism::Rlimit { .. } => {
            assert!(text.contains("memory allocation of"), "{text}");
            assert!(text.contains("test killed by signal 6 (SIGABRT)"), "{text}");
            assert!(
                text.contains("note: memory = \"64M\" is enforced on this host with RLIMIT_DATA"),
                "{text}"
            );
            // The fallback is announced, once.
            assert_eq!(
                text.matches(
                    "ns-test: resource limits without a cgroup here: memory with RLIMIT_DATA"
                )
                .count(),
                1,
                "{text}"
            );
        }
        Mechanism::Unsupported { .. } => unreachable!("memory always has a fallback"),
    }
}

/// Spawns threads that wait until released, until one cannot be made.
fn spawn_until_refused(max: usize) -> (usize, std::io::Error) {
    let (tx, rx) = std::sync::mpsc::channel::<()>();
    let rx = std::sync::Arc::new(std::sync::Mutex::new(rx));
    let mut handles = Vec::new();
    let err = loop {
        let rx = rx.clone();
        match std::thread::Builder::new().spawn(move || {
            let _ = rx.lock().unwrap().recv();
        }) {
            Ok(h) => handles.push(h),
            Err(e) => break e,
        }
        assert!(handles.len() <= max, "no limit after {max} threads");
    };
    let n = handles.len();
    drop(tx);
    for h in handles {
        h.join().unwrap();
    }
    (n, err)
}

#[ns_test(pids = 8)]
fn pids_limits_processes_and_threads() {
    // 8 tasks: this process's main thread, the test's thread, 6 more.
    let (n, e) = spawn_until_refused(100);
    assert_eq!(n, 6, "{e}");
    assert_eq!(e.kind(), ErrorKind::WouldBlock, "{e}");
    // Once they are gone, there is room again.
    let (again, _) = spawn_until_refused(100);
    assert_eq!(again, 6);
}

#[ns_test(pids = 8, uid = 1000)]
fn pids_counts_the_same_for_an_ordinary_user() {
    let (n, e) = spawn_until_refused(100);
    assert_eq!(n, 6, "{e}");
}

#[ns_test(pids = 8)]
#[ignore = "fault"]
fn fault_fork_bomb() {
    if !armed() {
        return;
    }
    let mut threads = Vec::new();
    for _ in 0..100 {
        threads.push(std::thread::spawn(|| {
            std::thread::sleep(std::time::Duration::from_secs(5))
        }));
    }
}

#[test]
fn hitting_the_pid_limit_is_reported() {
    let (passed, text) = run_fault("fault_fork_bomb", &[]);
    assert!(!passed, "{text}");
    assert!(text.contains("Resource temporarily unavailable"), "{text}");
    match ns_test::limits::probe().pids {
        Mechanism::Cgroup { .. } => assert!(
            text.contains(
                "note: the sandbox reached its process limit (pids = 8): the kernel refused"
            ),
            "{text}"
        ),
        Mechanism::Rlimit { .. } => assert!(
            text.contains("note: pids = 8 is enforced on this host with RLIMIT_NPROC"),
            "{text}"
        ),
        Mechanism::Unsupported { .. } => {
            assert!(
                text.contains("`pids = 8` cannot be enforced on this host"),
                "{text}"
            )
        }
    }
}

/// CPU seconds this process has used (utime + stime), from
/// `/proc/self/stat` in clock ticks (100 per second on Linux).
fn cpu_seconds() -> f64 {
    let stat = std::fs::read_to_string("/proc/self/stat").unwrap();
    let after_comm = &stat[stat.rfind(')').unwrap() + 2..];
    let f: Vec<&str> = after_comm.split_whitespace().collect();
    let ticks: u64 = f[11].parse::<u64>().unwrap() + f[12].parse::<u64>().unwrap();
    ticks as f64 / 100.0
}

#[ns_test(cpu = "20%")]
#[ignore = "fault"]
fn fault_cpu_is_throttled() {
    if !armed() {
        return;
    }
    let start = std::time::Instant::now();
    let cpu0 = cpu_seconds();
    let mut x = 0u64;
    while start.elapsed() < std::time::Duration::from_millis(1500) {
        x = std::hint::black_box(x.wrapping_add(1));
    }
    let share = (cpu_seconds() - cpu0) / start.elapsed().as_secs_f64();
    println!("cpu share {share:.2}");
    assert!(
        share < 0.45,
        "a busy loop got {share:.2} of a CPU under cpu = 20%"
    );
}

#[test]
fn cpu_is_throttled_or_refused_clearly() {
    let (passed, text) = run_fault("fault_cpu_is_throttled", &[]);
    match ns_test::limits::probe().cpu {
        Mechanism::Cgroup { .. } => assert!(passed, "{text}"),
        _ => {
            assert!(!passed, "{text}");
            assert!(
                text.contains("ns-test: `cpu = \"20%\"` cannot be enforced on this host"),
                "{text}"
            );
            assert!(text.contains("NS_TEST_UNSUPPORTED=skip"), "{text}");
            let (passed, text) =
                run_fault("fault_cpu_is_throttled", &[("NS_TEST_UNSUPPORTED", "skip")]);
            assert!(passed, "{text}");
            assert!(
                text.contains("ns-test: SKIPPED fault_cpu_is_throttled (NS_TEST_UNSUPPORTED=skip)"),
                "{text}"
            );
        }
    }
}

#[test]
fn the_mechanisms_are_reported_for_doctor() {
    let support = ns_test::limits::probe();
    let text = support.to_string();
    assert!(text.starts_with("memory: "), "{text}");
    assert!(text.contains("\npids:   "), "{text}");
    assert!(text.contains("\ncpu:    "), "{text}");
}

// ------------------------------------------------------------------ clocks

/// Seconds of `CLOCK_MONOTONIC`, which `Instant` reads (its `Debug` shows
/// the raw `timespec`).
fn monotonic_seconds() -> u64 {
    let debug = format!("{:?}", std::time::Instant::now());
    let rest = &debug[debug.find("tv_sec: ").unwrap() + 8..];
    rest[..rest.find(',').unwrap()].parse().unwrap()
}

/// `/proc/self/timens_offsets`, one `clock seconds nanoseconds` a line.
fn offsets() -> Vec<String> {
    std::fs::read_to_string("/proc/self/timens_offsets")
        .unwrap()
        .lines()
        .map(|l| l.split_whitespace().collect::<Vec<_>>().join(" "))
        .collect()
}

#[ns_test(time(monotonic = "+30d", boottime = "+1h"))]
fn time_offsets_move_the_clocks() {
    assert_eq!(offsets(), ["monotonic 2592000 0", "boottime 3600 0"]);
    assert!(monotonic_seconds() >= 30 * 86_400);
    // /proc/uptime shows the boottime clock of the time namespace.
    let uptime: f64 = std::fs::read_to_string("/proc/uptime")
        .unwrap()
        .split_whitespace()
        .next()
        .unwrap()
        .parse()
        .unwrap();
    assert!(uptime >= 3600.0, "{uptime}");
}

#[ns_test(net, time(boottime = "+1.5s"))]
fn an_offset_alone_gives_a_time_namespace() {
    assert_eq!(offsets(), ["monotonic 0 0", "boottime 1 500000000"]);
}

#[ns_test(time(monotonic = "-3650d"))]
#[ignore = "fault"]
fn fault_clock_before_boot() {}

#[test]
fn an_offset_before_boot_fails_setup_clearly() {
    let (passed, text) = run_fault("fault_clock_before_boot", &[]);
    assert!(!passed, "{text}");
    assert!(
        text.contains(
            "ns-test: setting the clock offsets of the time namespace: \
             write(/proc/self/timens_offsets) => ERANGE"
        ),
        "{text}"
    );
}
