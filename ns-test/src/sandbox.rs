//! [`Sandbox`]: the builder the attribute uses, for running any program in
//! the same kind of sandbox.

use std::ffi::OsString;
use std::ops::{BitOr, BitOrAssign};
use std::os::fd::{AsFd, OwnedFd};
use std::path::{Component, PathBuf};
use std::process::Command;
use std::time::Duration;

use crate::error::Error;
use crate::parent::{self, Stream};
use crate::private::{ns, Identity, MountKind, TimeOffsets};
use crate::protocol::{
    ExitKind, Inspect, MountRequest, Payload, Report, Request, SandboxOptions, StdioLayout,
};

/// A set of namespaces. The user namespace is always part of it: it is what
/// lets an unprivileged user create the others.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct Namespaces(u32);

impl Namespaces {
    /// Only the user namespace.
    pub const USER: Namespaces = Namespaces(ns::USER);
    /// A network namespace with `lo` up.
    pub const NET: Namespaces = Namespaces(ns::NET);
    /// A mount namespace with a tmpfs root.
    pub const MNT: Namespaces = Namespaces(ns::MNT);
    /// A PID namespace with a fresh `/proc`.
    pub const PID: Namespaces = Namespaces(ns::PID);
    /// An IPC namespace.
    pub const IPC: Namespaces = Namespaces(ns::IPC);
    /// A UTS namespace (own hostname).
    pub const UTS: Namespaces = Namespaces(ns::UTS);
    /// A cgroup namespace.
    pub const CGROUP: Namespaces = Namespaces(ns::CGROUP);
    /// A time namespace.
    pub const TIME: Namespaces = Namespaces(ns::TIME);
    /// Every namespace.
    pub const ALL: Namespaces = Namespaces(ns::ALL);

    /// The bits, as `__private::ns` defines them.
    pub const fn bits(self) -> u32 {
        self.0 | ns::USER
    }

    /// Whether every namespace of `other` is in `self`.
    pub const fn contains(self, other: Namespaces) -> bool {
        self.bits() & other.bits() == other.bits()
    }

    /// The names of the namespaces in the set, in a fixed order.
    pub fn names(self) -> Vec<&'static str> {
        NAMES
            .iter()
            .filter(|(_, bit)| self.bits() & bit != 0)
            .map(|(n, _)| *n)
            .collect()
    }

    /// The namespace called `name` (`"net"`, ...; `"all"` for every one).
    pub fn from_name(name: &str) -> Option<Namespaces> {
        if name == "all" {
            return Some(Namespaces::ALL);
        }
        NAMES
            .iter()
            .find(|(n, _)| *n == name)
            .map(|(_, b)| Namespaces(*b))
    }
}

/// Namespace names and bits, in display order.
pub const NAMES: &[(&str, u32)] = &[
    ("user", ns::USER),
    ("net", ns::NET),
    ("mnt", ns::MNT),
    ("pid", ns::PID),
    ("ipc", ns::IPC),
    ("uts", ns::UTS),
    ("cgroup", ns::CGROUP),
    ("time", ns::TIME),
];

impl BitOr for Namespaces {
    type Output = Namespaces;
    fn bitor(self, rhs: Namespaces) -> Namespaces {
        Namespaces(self.0 | rhs.0)
    }
}

impl BitOrAssign for Namespaces {
    fn bitor_assign(&mut self, rhs: Namespaces) {
        self.0 |= rhs.0;
    }
}

/// How a sandboxed program ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SandboxExit {
    /// It exited with this code.
    Code(i32),
    /// It was killed by this signal.
    Signal(i32),
    /// The timeout passed; the sandbox was killed.
    TimedOut,
}

impl SandboxExit {
    /// Exit code 0.
    pub fn success(self) -> bool {
        self == SandboxExit::Code(0)
    }
}

impl std::fmt::Display for SandboxExit {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match *self {
            SandboxExit::Code(c) => write!(f, "exited with code {c}"),
            SandboxExit::Signal(s) => {
                write!(f, "killed by signal {s} ({})", crate::error::signal_name(s))
            }
            SandboxExit::TimedOut => f.write_str("timed out"),
        }
    }
}

/// A program's captured output, as [`Command::output`] gives it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SandboxOutput {
    /// How it ended.
    pub status: SandboxExit,
    /// Everything it wrote to stdout.
    pub stdout: Vec<u8>,
    /// Everything it wrote to stderr.
    pub stderr: Vec<u8>,
}

/// A recipe for fresh namespaces, to run a program in.
///
/// ```no_run
/// use ns_test::{Namespaces, Sandbox};
/// use std::process::Command;
///
/// let out = Sandbox::new(Namespaces::NET | Namespaces::MNT)
///     .output(Command::new("ip").args(["-o", "link"]))?;
/// assert!(String::from_utf8_lossy(&out.stdout).contains("lo"));
/// # Ok::<(), ns_test::Error>(())
/// ```
#[derive(Debug, Clone)]
pub struct Sandbox {
    namespaces: Namespaces,
    hostname: Option<String>,
    timeout: Option<Duration>,
    binds: Vec<PathBuf>,
    identity: Option<(u32, u32)>,
    mounts: Vec<(MountKind, PathBuf, PathBuf)>,
    clocks: (i64, i64),
}

impl Default for Sandbox {
    fn default() -> Self {
        Sandbox::new(Namespaces::ALL)
    }
}

impl Sandbox {
    /// A sandbox with these namespaces (and always a user namespace).
    pub fn new(namespaces: Namespaces) -> Sandbox {
        Sandbox {
            namespaces,
            hostname: None,
            timeout: None,
            binds: Vec::new(),
            identity: None,
            mounts: Vec::new(),
            clocks: (0, 0),
        }
    }

    /// The namespaces.
    pub fn namespaces(&self) -> Namespaces {
        self.namespaces
    }

    /// The hostname inside (with [`Namespaces::UTS`]; default `ns-test`).
    pub fn hostname(mut self, name: impl Into<String>) -> Sandbox {
        self.hostname = Some(name.into());
        self
    }

    /// Kill the whole sandbox this long after it starts.
    pub fn timeout(mut self, timeout: Duration) -> Sandbox {
        self.timeout = Some(timeout);
        self
    }

    /// Make a host path reachable read-only at the same path (with
    /// [`Namespaces::MNT`]; the working directory always is).
    pub fn bind(mut self, path: impl Into<PathBuf>) -> Sandbox {
        self.binds.push(path.into());
        self
    }

    /// Run the program as `uid`/`gid` inside, with no capabilities (setup
    /// still runs as the namespace's root), as `#[ns_test(uid = N, gid =
    /// M)]` does. `uid` 0 is the default: root inside.
    pub fn run_as(mut self, uid: u32, gid: u32) -> Sandbox {
        self.identity = (uid != 0).then_some((uid, gid));
        self
    }

    /// Bind host path `source` read-only at `target` inside (with
    /// [`Namespaces::MNT`]), as `bind = "source:target"` does; a relative
    /// `source` is resolved against the working directory.
    pub fn bind_at(self, source: impl Into<PathBuf>, target: impl Into<PathBuf>) -> Sandbox {
        self.mount(MountKind::Bind, source.into(), target.into())
    }

    /// Like [`Sandbox::bind_at`], writable: writes reach the host.
    pub fn bind_rw_at(self, source: impl Into<PathBuf>, target: impl Into<PathBuf>) -> Sandbox {
        self.mount(MountKind::BindRw, source.into(), target.into())
    }

    /// A fresh, empty, writable tmpfs at `target` (with
    /// [`Namespaces::MNT`]).
    pub fn tmpfs(self, target: impl Into<PathBuf>) -> Sandbox {
        self.mount(MountKind::Tmpfs, PathBuf::new(), target.into())
    }

    fn mount(mut self, kind: MountKind, source: PathBuf, target: PathBuf) -> Sandbox {
        self.mounts.push((kind, source, target));
        self
    }

    /// Move the time namespace's monotonic and boottime clocks by these
    /// many milliseconds (with [`Namespaces::TIME`]).
    pub fn clock_offsets(mut self, monotonic_ms: i64, boottime_ms: i64) -> Sandbox {
        self.clocks = (monotonic_ms, boottime_ms);
        self
    }

    /// The identity, mounts and clocks, checked as the attribute checks
    /// them at compile time.
    fn options(&self, cwd: &std::path::Path) -> Result<SandboxOptions, Error> {
        let invalid = |detail: String| Error::InvalidOption { detail };
        let needs = |flag: Namespaces, what: &str, ns: &str| {
            if self.namespaces.contains(flag) {
                Ok(())
            } else {
                Err(invalid(format!("{what} needs the {ns} namespace")))
            }
        };
        let mut mounts = Vec::new();
        for (kind, source, target) in &self.mounts {
            needs(
                Namespaces::MNT,
                &format!("mounting {}", target.display()),
                "mnt",
            )?;
            let plain = target.is_absolute()
                && target.components().count() > 1
                && target
                    .components()
                    .all(|c| matches!(c, Component::RootDir | Component::Normal(_)));
            if !plain {
                return Err(invalid(format!(
                    "mount target {} must be an absolute path without `.` or `..`, and not /",
                    target.display()
                )));
            }
            let source = match kind {
                MountKind::Tmpfs => PathBuf::new(),
                _ => {
                    let path = cwd.join(source);
                    std::fs::canonicalize(&path).unwrap_or(path)
                }
            };
            mounts.push(MountRequest {
                kind: *kind,
                source,
                target: target.clone(),
            });
        }
        // Parents before children.
        mounts.sort_by_key(|m| m.target.components().count());
        let time_offsets = TimeOffsets {
            monotonic_ms: self.clocks.0,
            boottime_ms: self.clocks.1,
        };
        if time_offsets.any() {
            needs(Namespaces::TIME, "moving the clocks", "time")?;
        }
        Ok(SandboxOptions {
            identity: self.identity.map(|(uid, gid)| Identity { uid, gid }),
            mounts,
            time_offsets,
            ..SandboxOptions::default()
        })
    }

    fn request(&self, cmd: &Command) -> Result<Request, Error> {
        let mut argv: Vec<OsString> = vec![cmd.get_program().to_os_string()];
        argv.extend(cmd.get_args().map(|a| a.to_os_string()));
        let mut env: Vec<(OsString, OsString)> = std::env::vars_os().collect();
        for (k, v) in cmd.get_envs() {
            env.retain(|(ek, _)| ek != k);
            if let Some(v) = v {
                env.push((k.to_os_string(), v.to_os_string()));
            }
        }
        let cwd = match cmd.get_current_dir() {
            Some(d) => d.to_path_buf(),
            None => std::env::current_dir().map_err(|e| Error::Host {
                step: "reading the working directory",
                source: e,
            })?,
        };
        let options = self.options(&cwd)?;
        let mut extra = self.binds.clone();
        extra.push(cwd.clone());
        let binds = parent::default_binds("", &extra);
        Ok(Request {
            exe_id: parent::exe_id().map_err(|e| Error::Host {
                step: "reading /proc/self/exe",
                source: e,
            })?,
            payload: Payload::Exec { argv },
            namespaces: self.namespaces.bits(),
            hostname: self.hostname.clone(),
            timeout_ms: self.timeout.map_or(0, |t| t.as_millis().max(1) as u64),
            uid: nix::unistd::geteuid().as_raw(),
            gid: nix::unistd::getegid().as_raw(),
            cwd,
            binds,
            env,
            stdio: StdioLayout::Merged,
            inspect: Inspect {
                label: cmd.get_program().to_string_lossy().into_owned(),
                hold: false,
                trace: crate::inspect::trace_enabled(),
            },
            options,
        })
    }

    /// Runs `cmd` in a fresh sandbox with this process's stdin, stdout and
    /// stderr, and waits for it.
    pub fn status(&self, cmd: &Command) -> Result<SandboxExit, Error> {
        let req = self.request(cmd)?;
        let dup = |fd: std::os::fd::BorrowedFd<'_>| -> Result<OwnedFd, Error> {
            fd.try_clone_to_owned().map_err(|e| Error::Host {
                step: "duplicating stdio",
                source: e,
            })
        };
        let fds = [
            dup(std::io::stdin().as_fd())?,
            dup(std::io::stdout().as_fd())?,
            dup(std::io::stderr().as_fd())?,
        ];
        let l = parent::launch(req, parent::StdioPlan::Direct(fds))?;
        let c = parent::collect(l, &mut |_, _| {});
        exit_of(&c)
    }

    /// Runs `cmd` in a fresh sandbox, capturing its stdout and stderr.
    pub fn output(&self, cmd: &Command) -> Result<SandboxOutput, Error> {
        let req = self.request(cmd)?;
        let l = parent::launch(req, parent::StdioPlan::Pipes { merged: false })?;
        let (mut stdout, mut stderr) = (Vec::new(), Vec::new());
        let c = parent::collect(l, &mut |s, b| match s {
            Stream::Out => stdout.extend_from_slice(b),
            Stream::Err => stderr.extend_from_slice(b),
        });
        Ok(SandboxOutput {
            status: exit_of(&c)?,
            stdout,
            stderr,
        })
    }
}

fn exit_of(c: &parent::Collected) -> Result<SandboxExit, Error> {
    if let Some(e) = parent::setup_error(&c.reports) {
        return Err(Error::Setup(e));
    }
    if c.killed_from_host
        || c.reports
            .iter()
            .any(|r| matches!(r, Report::TimedOut { .. }))
    {
        return Ok(SandboxExit::TimedOut);
    }
    match c.reports.iter().find_map(|r| match r {
        Report::Exit(k) => Some(*k),
        _ => None,
    }) {
        Some(ExitKind::Code(code)) => Ok(SandboxExit::Code(code)),
        Some(ExitKind::Signal { signal, .. }) => Ok(SandboxExit::Signal(signal)),
        None => Err(Error::Lost {
            detail: "the sandbox ended without reporting how the program exited".into(),
        }),
    }
}
