//! Items the `#[ns_test]` expansion refers to. Not a public API: names and
//! shapes change with the macro crate, which is always released in step.

pub use crate::outcome::{Failure, IntoOutcome, Outcome};
/// `#[ns_test]` moved below `#[rstest]`/`#[test_case]` by itself.
pub use ns_test_macros::ns_test_after;

/// Namespace bits, as the macro computes them.
pub mod ns {
    /// User namespace (always created).
    pub const USER: u32 = 1;
    /// Network namespace with `lo` up.
    pub const NET: u32 = 1 << 1;
    /// Mount namespace with a tmpfs root.
    pub const MNT: u32 = 1 << 2;
    /// PID namespace with a fresh `/proc`.
    pub const PID: u32 = 1 << 3;
    /// IPC namespace.
    pub const IPC: u32 = 1 << 4;
    /// UTS namespace.
    pub const UTS: u32 = 1 << 5;
    /// Cgroup namespace.
    pub const CGROUP: u32 = 1 << 6;
    /// Time namespace.
    pub const TIME: u32 = 1 << 7;
    /// Every namespace.
    pub const ALL: u32 = USER | NET | MNT | PID | IPC | UTS | CGROUP | TIME;
}

/// Everything the attribute says about one test, as a `static`.
#[derive(Debug, Clone, Copy)]
pub struct Spec {
    /// `module_path!()` + `::` + the fn name (crate name first).
    pub path: &'static str,
    /// Bits from [`ns`].
    pub namespaces: u32,
    /// `hostname = "..."`, applied with `uts`.
    pub hostname: Option<&'static str>,
    /// `timeout = "..."` in milliseconds; 0 = none.
    pub timeout_ms: u64,
    /// `env!("CARGO_MANIFEST_DIR")` of the crate the test is in.
    pub manifest_dir: &'static str,
    /// `uid = N, gid = N`: who the body runs as; `None` = root inside.
    pub identity: Option<Identity>,
    /// `bind`, `bind_rw`, `tmpfs`, parents before children.
    pub mounts: &'static [Mount],
    /// `env(KEY = "value", ...)`, set last.
    pub env: &'static [(&'static str, &'static str)],
    /// `memory`, `pids`, `cpu`.
    pub limits: Limits,
    /// `time(monotonic = "...", boottime = "...")`.
    pub time_offsets: TimeOffsets,
    /// `#[should_panic]`: `Some("")` bare, `Some(expected)`, else `None`.
    pub should_panic: Option<&'static str>,
}

/// The uid and gid a test body runs as, with no capabilities.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Identity {
    /// The uid inside (never 0).
    pub uid: u32,
    /// The gid inside.
    pub gid: u32,
}

/// What a mount option mounts.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum MountKind {
    /// `bind`: a host path, read-only.
    Bind,
    /// `bind_rw`: a host path, writable.
    BindRw,
    /// `tmpfs`: a fresh, empty, writable tmpfs.
    Tmpfs,
}

impl MountKind {
    /// The attribute key that asks for it.
    pub fn key(self) -> &'static str {
        match self {
            MountKind::Bind => "bind",
            MountKind::BindRw => "bind_rw",
            MountKind::Tmpfs => "tmpfs",
        }
    }
}

/// One mount of the attribute.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Mount {
    /// What it mounts.
    pub kind: MountKind,
    /// The host path as written (relative = against the package dir);
    /// empty for `tmpfs`.
    pub source: &'static str,
    /// The absolute, normalised path inside.
    pub target: &'static str,
}

/// Resource limits of a sandbox; 0 = unlimited.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Limits {
    /// `memory = "64M"`, in bytes.
    pub memory_bytes: u64,
    /// `pids = 64`: processes and threads of the test.
    pub pids: u32,
    /// `cpu = "50%"`, in percent of one CPU.
    pub cpu_percent: u32,
}

impl Limits {
    /// No limit at all.
    pub const NONE: Limits = Limits {
        memory_bytes: 0,
        pids: 0,
        cpu_percent: 0,
    };

    /// Whether any limit is set.
    pub fn any(&self) -> bool {
        *self != Limits::NONE
    }
}

/// Offsets of a time namespace's clocks; 0 = unchanged.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct TimeOffsets {
    /// Added to `CLOCK_MONOTONIC`, in milliseconds.
    pub monotonic_ms: i64,
    /// Added to `CLOCK_BOOTTIME`, in milliseconds.
    pub boottime_ms: i64,
}

impl TimeOffsets {
    /// Both clocks unchanged.
    pub const NONE: TimeOffsets = TimeOffsets {
        monotonic_ms: 0,
        boottime_ms: 0,
    };

    /// Whether either clock moves.
    pub fn any(&self) -> bool {
        *self != TimeOffsets::NONE
    }
}

impl Spec {
    /// Defaults for fields the attribute did not set.
    pub const DEFAULT: Spec = Spec {
        path: "",
        namespaces: ns::ALL,
        hostname: None,
        timeout_ms: 0,
        manifest_dir: "",
        identity: None,
        mounts: &[],
        env: &[],
        limits: Limits::NONE,
        time_offsets: TimeOffsets::NONE,
        should_panic: None,
    };
}

/// The test body, as the child calls it.
pub type Body = fn() -> Outcome;

/// Runs a test returning `()`: panics (re-raising the sandbox's panic
/// payload) when it did not pass.
#[track_caller]
pub fn run(spec: &'static Spec, body: Body) {
    #[cfg(target_os = "linux")]
    crate::parent::run_unit(spec, body);
    #[cfg(not(target_os = "linux"))]
    unsupported(spec, body);
}

/// Runs a test returning `Result`: `Err(Failure)` carries the `{:?}` of the
/// error the test returned inside the sandbox; other failures panic.
#[track_caller]
pub fn run_result(spec: &'static Spec, body: Body) -> Result<(), Failure> {
    #[cfg(target_os = "linux")]
    return crate::parent::run_result(spec, body);
    #[cfg(not(target_os = "linux"))]
    {
        unsupported(spec, body);
        Ok(())
    }
}

/// Namespaces are a Linux feature: fail, or skip with
/// `NS_TEST_UNSUPPORTED=skip`, saying so.
#[cfg(not(target_os = "linux"))]
#[track_caller]
fn unsupported(spec: &Spec, _body: Body) {
    let e = crate::error::Error::Unsupported;
    if std::env::var("NS_TEST_UNSUPPORTED").is_ok_and(|v| v.eq_ignore_ascii_case("skip")) {
        use std::io::Write;
        let _ = writeln!(
            std::io::stderr(),
            "ns-test: SKIPPED {} (NS_TEST_UNSUPPORTED=skip): {}",
            spec.path,
            e.to_string().replace('\n', " | ")
        );
    } else {
        panic!("{e}");
    }
}
