//! Errors: a setup step that failed inside the sandbox, or a failure to
//! reach the sandbox at all, each with what to do about it.

use std::fmt;
use std::path::PathBuf;

/// A setup step, in the order the sandbox performs them. The names are the
/// ones error messages and `NS_TEST_LOG` use.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum Step {
    /// `unshare(CLONE_NEWUSER | ...)`: creating the namespaces.
    CreateNamespaces,
    /// Writing `deny` to `/proc/self/setgroups`.
    DenySetgroups,
    /// Writing `/proc/self/uid_map`.
    WriteUidMap,
    /// Writing `/proc/self/gid_map`.
    WriteGidMap,
    /// Forking the sandbox's reaper or payload process.
    Fork,
    /// Making `/` a private mount tree.
    MakeRootPrivate,
    /// Mounting a tmpfs (the new root, `/tmp`, `/dev`, `$HOME`).
    MountTmpfs,
    /// Bind-mounting a host path into the sandbox.
    BindMount,
    /// Making a bind mount read-only.
    RemountReadOnly,
    /// Creating a directory, file or symlink in the new root.
    CreateMountPoint,
    /// Mounting a fresh `/proc`.
    MountProc,
    /// Mounting a private `devpts` instance.
    MountDevpts,
    /// Mounting `/sys`.
    MountSysfs,
    /// `pivot_root` into the new root, or detaching the old one.
    PivotRoot,
    /// Bringing `lo` up.
    LoopbackUp,
    /// Setting the hostname.
    SetHostname,
    /// Changing into the working directory.
    Chdir,
    /// Executing the program (`Sandbox::command`).
    Exec,
    /// Moving the sandbox into its cgroup (`memory`, `pids`, `cpu`).
    JoinCgroup,
    /// Writing `/proc/self/timens_offsets` (`time(monotonic = ...)`).
    TimeOffsets,
    /// Becoming `uid`/`gid` without capabilities (a nested user
    /// namespace, its id maps, dropping capabilities).
    DropIdentity,
    /// Setting a resource limit with `setrlimit`.
    SetRlimit,
    /// Any other step.
    Other,
}

impl Step {
    /// All steps, in code order.
    pub const ALL: [Step; 23] = [
        Step::CreateNamespaces,
        Step::DenySetgroups,
        Step::WriteUidMap,
        Step::WriteGidMap,
        Step::Fork,
        Step::MakeRootPrivate,
        Step::MountTmpfs,
        Step::BindMount,
        Step::RemountReadOnly,
        Step::CreateMountPoint,
        Step::MountProc,
        Step::MountDevpts,
        Step::MountSysfs,
        Step::PivotRoot,
        Step::LoopbackUp,
        Step::SetHostname,
        Step::Chdir,
        Step::Exec,
        Step::JoinCgroup,
        Step::TimeOffsets,
        Step::DropIdentity,
        Step::SetRlimit,
        Step::Other,
    ];

    /// The wire code.
    pub fn code(self) -> u8 {
        Step::ALL
            .iter()
            .position(|s| *s == self)
            .unwrap_or(Step::ALL.len() - 1) as u8
    }

    /// The step for a wire code.
    pub fn from_code(code: u8) -> Step {
        Step::ALL.get(code as usize).copied().unwrap_or(Step::Other)
    }

    /// What the step does, as a gerund phrase.
    pub fn describe(self) -> &'static str {
        match self {
            Step::CreateNamespaces => "creating the namespaces",
            Step::DenySetgroups => "denying setgroups in the user namespace",
            Step::WriteUidMap => "writing the uid map",
            Step::WriteGidMap => "writing the gid map",
            Step::Fork => "forking the sandbox process",
            Step::MakeRootPrivate => "making / a private mount tree",
            Step::MountTmpfs => "mounting a tmpfs",
            Step::BindMount => "bind-mounting a host path",
            Step::RemountReadOnly => "making a bind mount read-only",
            Step::CreateMountPoint => "creating a mount point in the new root",
            Step::MountProc => "mounting a fresh /proc",
            Step::MountDevpts => "mounting devpts",
            Step::MountSysfs => "mounting /sys",
            Step::PivotRoot => "switching to the new root (pivot_root)",
            Step::LoopbackUp => "bringing lo up",
            Step::SetHostname => "setting the hostname",
            Step::Chdir => "changing to the working directory",
            Step::Exec => "executing the program",
            Step::JoinCgroup => "moving the sandbox into its cgroup",
            Step::TimeOffsets => "setting the clock offsets of the time namespace",
            Step::DropIdentity => "switching to the test's uid/gid without capabilities",
            Step::SetRlimit => "setting a resource limit",
            Step::Other => "setting up the sandbox",
        }
    }
}

impl fmt::Display for Step {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.describe())
    }
}

/// A setup step failed inside the sandbox.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SetupError {
    /// The step.
    pub step: Step,
    /// The syscall that failed (`"unshare"`, `"mount"`, ...).
    pub syscall: String,
    /// The path it was called on, if any.
    pub path: Option<PathBuf>,
    /// The errno.
    pub errno: i32,
}

impl SetupError {
    /// The errno's symbolic name (`EPERM`), or its number.
    pub fn errno_name(&self) -> String {
        errno_name(self.errno)
    }

    /// The likely cause on this host and the fix, from
    /// [`crate::diagnose`].
    pub fn hint(&self) -> String {
        crate::diagnose::hint(self)
    }
}

impl fmt::Display for SetupError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}: {}(", self.step, self.syscall)?;
        if let Some(p) = &self.path {
            write!(f, "{}", p.display())?;
        }
        write!(
            f,
            ") => {} ({})",
            self.errno_name(),
            std::io::Error::from_raw_os_error(self.errno)
        )
    }
}

impl std::error::Error for SetupError {}

/// Why a sandbox could not be created or run.
#[derive(Debug)]
#[non_exhaustive]
pub enum Error {
    /// A step inside the sandbox failed.
    Setup(SetupError),
    /// A step on the host side (starting the fork server, creating pipes)
    /// failed.
    Host {
        /// What was being done.
        step: &'static str,
        /// The underlying error.
        source: std::io::Error,
    },
    /// The sandbox broke off without saying why (it was killed from
    /// outside, or the fork server died).
    Lost {
        /// What is known.
        detail: String,
    },
    /// A [`crate::Sandbox`] option is not usable as given.
    InvalidOption {
        /// Which option, and why.
        detail: String,
    },
    /// Namespaces are a Linux feature.
    Unsupported,
}

impl Error {
    /// Whether `NS_TEST_UNSUPPORTED=skip` may turn this into a skip: the
    /// host cannot create the sandbox (as opposed to a bug or a test
    /// problem).
    pub fn is_host_unsupported(&self) -> bool {
        match self {
            Error::Unsupported => true,
            Error::Setup(e) => crate::diagnose::is_host_limit(e),
            _ => false,
        }
    }
}

impl fmt::Display for Error {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Error::Setup(e) => write!(f, "ns-test: {e}\n{}", e.hint()),
            Error::Host { step, source } => write!(f, "ns-test: {step}: {source}"),
            Error::Lost { detail } => write!(f, "ns-test: the sandbox broke off: {detail}"),
            Error::InvalidOption { detail } => write!(f, "ns-test: {detail}"),
            Error::Unsupported => write!(
                f,
                "ns-test: namespaces need Linux; this target is not Linux\n\
                 fix: run these tests on Linux, or set NS_TEST_UNSUPPORTED=skip to skip them"
            ),
        }
    }
}

impl std::error::Error for Error {
    fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
        match self {
            Error::Setup(e) => Some(e),
            Error::Host { source, .. } => Some(source),
            _ => None,
        }
    }
}

/// The symbolic name of an errno (`EPERM`).
pub fn errno_name(errno: i32) -> String {
    let name = match errno {
        1 => "EPERM",
        2 => "ENOENT",
        3 => "ESRCH",
        4 => "EINTR",
        5 => "EIO",
        7 => "E2BIG",
        8 => "ENOEXEC",
        9 => "EBADF",
        11 => "EAGAIN",
        12 => "ENOMEM",
        13 => "EACCES",
        14 => "EFAULT",
        16 => "EBUSY",
        17 => "EEXIST",
        19 => "ENODEV",
        20 => "ENOTDIR",
        21 => "EISDIR",
        22 => "EINVAL",
        24 => "EMFILE",
        28 => "ENOSPC",
        30 => "EROFS",
        34 => "ERANGE",
        36 => "ENAMETOOLONG",
        38 => "ENOSYS",
        40 => "ELOOP",
        95 => "EOPNOTSUPP",
        _ => return format!("errno {errno}"),
    };
    name.to_string()
}

/// The name of a signal (`SIGSEGV`).
pub fn signal_name(signal: i32) -> String {
    let name = match signal {
        1 => "SIGHUP",
        2 => "SIGINT",
        3 => "SIGQUIT",
        4 => "SIGILL",
        5 => "SIGTRAP",
        6 => "SIGABRT",
        7 => "SIGBUS",
        8 => "SIGFPE",
        9 => "SIGKILL",
        10 => "SIGUSR1",
        11 => "SIGSEGV",
        12 => "SIGUSR2",
        13 => "SIGPIPE",
        14 => "SIGALRM",
        15 => "SIGTERM",
        24 => "SIGXCPU",
        25 => "SIGXFSZ",
        31 => "SIGSYS",
        _ => return format!("SIG{signal}"),
    };
    name.to_string()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn step_codes_roundtrip() {
        for s in Step::ALL {
            assert_eq!(Step::from_code(s.code()), s);
        }
        assert_eq!(Step::from_code(200), Step::Other);
    }

    #[test]
    fn setup_error_names_step_syscall_path_errno() {
        let e = SetupError {
            step: Step::MountProc,
            syscall: "mount".into(),
            path: Some("/proc".into()),
            errno: 1,
        };
        assert_eq!(
            e.to_string(),
            "mounting a fresh /proc: mount(/proc) => EPERM (Operation not permitted (os error 1))"
        );
    }
}
