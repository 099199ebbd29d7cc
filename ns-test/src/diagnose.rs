//! Why a setup step failed on *this* host, and what to change.
//!
//! Each hint reads the host's own settings (sysctls, the seccomp mode in
//! `/proc/self/status`) so the message names the cause that applies here,
//! not a list of everything that might.

use crate::error::{SetupError, Step};

const EPERM: i32 = 1;
const ENOENT: i32 = 2;
const EACCES: i32 = 13;
const EINVAL: i32 = 22;
const ENOSPC: i32 = 28;
const ERANGE: i32 = 34;
const ENOSYS: i32 = 38;
const EUSERS: i32 = 87;

/// Host settings that decide whether namespaces can be created.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct HostFacts {
    /// `kernel.unprivileged_userns_clone` (Debian/Ubuntu patch), if present.
    pub unprivileged_userns_clone: Option<u64>,
    /// `kernel.apparmor_restrict_unprivileged_userns`, if present.
    pub apparmor_restrict: Option<u64>,
    /// `user.max_user_namespaces`.
    pub max_user_namespaces: Option<u64>,
    /// `Seccomp:` of this process (0 none, 1 strict, 2 filter).
    pub seccomp: Option<u64>,
}

impl HostFacts {
    /// Reads the facts from `/proc`.
    pub fn read() -> HostFacts {
        HostFacts {
            unprivileged_userns_clone: read_num("/proc/sys/kernel/unprivileged_userns_clone"),
            apparmor_restrict: read_num("/proc/sys/kernel/apparmor_restrict_unprivileged_userns"),
            max_user_namespaces: read_num("/proc/sys/user/max_user_namespaces"),
            seccomp: std::fs::read_to_string("/proc/self/status")
                .ok()
                .and_then(|s| {
                    s.lines()
                        .find_map(|l| l.strip_prefix("Seccomp:"))
                        .and_then(|v| v.trim().parse().ok())
                }),
        }
    }
}

fn read_num(path: &str) -> Option<u64> {
    std::fs::read_to_string(path).ok()?.trim().parse().ok()
}

/// Whether the failure means "this host cannot create the sandbox" (so
/// `NS_TEST_UNSUPPORTED=skip` applies), as opposed to a test or harness
/// problem.
pub fn is_host_limit(e: &SetupError) -> bool {
    let denied = matches!(e.errno, EPERM | EACCES | ENOSPC | EINVAL | ENOSYS | EUSERS);
    match e.step {
        Step::CreateNamespaces => true,
        Step::DenySetgroups
        | Step::WriteUidMap
        | Step::WriteGidMap
        | Step::DropIdentity
        | Step::JoinCgroup => denied,
        Step::MakeRootPrivate
        | Step::MountTmpfs
        | Step::MountProc
        | Step::MountDevpts
        | Step::MountSysfs
        | Step::PivotRoot
        | Step::LoopbackUp => matches!(e.errno, EPERM | EACCES),
        _ => false,
    }
}

/// The likely cause of `e` on this host and the fix, one line each.
pub fn hint(e: &SetupError) -> String {
    hint_with(e, &HostFacts::read())
}

/// [`hint`] against given facts (for tests).
pub fn hint_with(e: &SetupError, h: &HostFacts) -> String {
    let (cause, fix) = cause_and_fix(e, h);
    format!("likely cause: {cause}\nfix: {fix}")
}

fn cause_and_fix(e: &SetupError, h: &HostFacts) -> (String, String) {
    let apparmor = h.apparmor_restrict == Some(1);
    let apparmor_fix = "sudo sysctl -w kernel.apparmor_restrict_unprivileged_userns=0 \
        (in GitHub Actions: a step `run: sudo sysctl -w kernel.apparmor_restrict_unprivileged_userns=0`)"
        .to_string();
    match (e.step, e.errno) {
        (Step::CreateNamespaces, EINVAL) => (
            "this kernel has no user namespaces (built without CONFIG_USER_NS, WSL1, or older than 3.8), \
             or unshare was called from a multi-threaded process, which would be a bug in ns-test"
                .into(),
            "run on a kernel with user namespaces; if this kernel has them, report this message to ns-test".into(),
        ),
        (Step::CreateNamespaces, ENOSPC) if h.max_user_namespaces == Some(0) => (
            "user namespaces are switched off on this host: user.max_user_namespaces = 0".into(),
            "sudo sysctl -w user.max_user_namespaces=15000".into(),
        ),
        (Step::CreateNamespaces, ENOSPC) | (Step::CreateNamespaces, EUSERS) => (
            format!(
                "a namespace limit is reached: user.max_user_namespaces = {} (or a max_*_namespaces of \
                 another kind is 0 or exhausted); dead namespaces are freed tens of ms after their last \
                 process exits, and ns-test already retried for 2s",
                h.max_user_namespaces
                    .map_or_else(|| "unknown".to_string(), |v| v.to_string())
            ),
            "sudo sysctl -w user.max_user_namespaces=15000 (and the other user.max_*_namespaces), \
             or run fewer tests at once (--test-threads)"
                .into(),
        ),
        (Step::CreateNamespaces, EPERM) | (Step::CreateNamespaces, EACCES) => {
            if h.unprivileged_userns_clone == Some(0) {
                (
                    "unprivileged user namespaces are disabled (kernel.unprivileged_userns_clone=0)".into(),
                    "sudo sysctl -w kernel.unprivileged_userns_clone=1".into(),
                )
            } else if h.seccomp == Some(2) {
                (
                    "a seccomp filter on this process forbids creating namespaces \
                     (Seccomp: 2 in /proc/self/status; Docker's default profile does this)"
                        .into(),
                    "run the container with --security-opt seccomp=unconfined, or a profile that \
                     allows unshare/clone with namespace flags"
                        .into(),
                )
            } else if h.max_user_namespaces == Some(0) {
                (
                    "user namespaces are switched off: user.max_user_namespaces = 0".into(),
                    "sudo sysctl -w user.max_user_namespaces=15000".into(),
                )
            } else if apparmor {
                (
                    "AppArmor restricts unprivileged user namespaces \
                     (kernel.apparmor_restrict_unprivileged_userns=1; Ubuntu 23.10+, GitHub Actions ubuntu-24.04)"
                        .into(),
                    apparmor_fix,
                )
            } else {
                (
                    "this host forbids unprivileged namespaces (a security module, a container runtime, \
                     or a hardened kernel)"
                        .into(),
                    "run `ns-test doctor` to see which namespaces work here, or set \
                     NS_TEST_UNSUPPORTED=skip to skip these tests"
                        .into(),
                )
            }
        }
        (step, EPERM) | (step, EACCES) if apparmor && step != Step::Exec && step != Step::Chdir => (
            format!(
                "the namespaces were created but AppArmor denies using them \
                 (kernel.apparmor_restrict_unprivileged_userns=1; Ubuntu 23.10+, GitHub Actions ubuntu-24.04); \
                 the failing step was {step}"
            ),
            apparmor_fix,
        ),
        (Step::MountProc, EPERM) => (
            "the kernel refuses a fresh /proc because parts of the host /proc are over-mounted \
             (a container's masked paths)"
                .into(),
            "drop `pid` from the attribute (the host /proc is then bound instead), or run the container \
             with --security-opt systempaths=unconfined"
                .into(),
        ),
        (Step::BindMount, ENOENT) if e.syscall == "stat" => (
            "the source of a `bind`/`bind_rw` option does not exist on the host (a relative source \
             is resolved against the package directory, CARGO_MANIFEST_DIR)"
                .into(),
            "create it, or correct the path in the attribute".into(),
        ),
        (Step::TimeOffsets, ERANGE) => (
            "the offset would move the clock before zero (a negative offset larger than the time \
             since boot) or too far ahead"
                .into(),
            "use a smaller negative offset, or a positive one".into(),
        ),
        (Step::DropIdentity, _) => (
            "`uid`/`gid` run the test in a nested user namespace, and this host refused one \
             (user.max_user_namespaces reached, or nested namespaces restricted)"
                .into(),
            "raise user.max_user_namespaces, or drop `uid`/`gid` from the attribute".into(),
        ),
        (Step::JoinCgroup, _) => (
            "this user may not move processes into the sandbox's cgroup (the cgroup subtree is not \
             fully delegated)"
                .into(),
            crate::limits::CGROUP_FIX.into(),
        ),
        (Step::Chdir, _) => (
            "the working directory is not inside the sandbox".into(),
            "make it reachable (it is bound when it is the package directory) or change to it in the test"
                .into(),
        ),
        (Step::Exec, _) => (
            "the program could not be executed inside the sandbox".into(),
            "check that it exists at that path inside the sandbox (with `mnt`, only system dirs, the \
             package and the test binary are there)"
                .into(),
        ),
        _ => (
            "not a known host restriction".into(),
            "run `ns-test doctor`; if it shows nothing wrong, report this message to ns-test".into(),
        ),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn err(step: Step, errno: i32) -> SetupError {
        SetupError {
            step,
            syscall: "unshare".into(),
            path: None,
            errno,
        }
    }

    #[test]
    fn seccomp_is_named_when_it_applies() {
        let h = HostFacts {
            seccomp: Some(2),
            ..HostFacts::default()
        };
        let s = hint_with(&err(Step::CreateNamespaces, EPERM), &h);
        assert!(s.contains("seccomp"), "{s}");
    }

    #[test]
    fn apparmor_after_create() {
        let h = HostFacts {
            apparmor_restrict: Some(1),
            ..HostFacts::default()
        };
        let s = hint_with(&err(Step::WriteUidMap, EPERM), &h);
        assert!(s.contains("apparmor_restrict_unprivileged_userns=0"), "{s}");
    }

    /// Every message, for the host conditions this machine cannot
    /// reproduce (AppArmor, the Debian sysctl, WSL1) and those it can.
    #[test]
    fn messages_for_each_host_condition() {
        let cases: Vec<(&str, SetupError, HostFacts)> = vec![
            (
                "EINVAL: no user namespaces in this kernel",
                err(Step::CreateNamespaces, EINVAL),
                HostFacts::default(),
            ),
            (
                "ENOSPC: limit exhausted",
                err(Step::CreateNamespaces, ENOSPC),
                HostFacts {
                    max_user_namespaces: Some(15000),
                    ..HostFacts::default()
                },
            ),
            (
                "ENOSPC: limit 0",
                err(Step::CreateNamespaces, ENOSPC),
                HostFacts {
                    max_user_namespaces: Some(0),
                    ..HostFacts::default()
                },
            ),
            (
                "EPERM: Debian sysctl",
                err(Step::CreateNamespaces, EPERM),
                HostFacts {
                    unprivileged_userns_clone: Some(0),
                    ..HostFacts::default()
                },
            ),
            (
                "EPERM: seccomp",
                err(Step::CreateNamespaces, EPERM),
                HostFacts {
                    seccomp: Some(2),
                    ..HostFacts::default()
                },
            ),
            (
                "EPERM after create: AppArmor",
                err(Step::WriteUidMap, EPERM),
                HostFacts {
                    apparmor_restrict: Some(1),
                    ..HostFacts::default()
                },
            ),
            (
                "EACCES mounting after create: AppArmor",
                err(Step::MountTmpfs, EACCES),
                HostFacts {
                    apparmor_restrict: Some(1),
                    ..HostFacts::default()
                },
            ),
            (
                "EPERM: masked /proc",
                err(Step::MountProc, EPERM),
                HostFacts::default(),
            ),
        ];
        let text: Vec<String> = cases
            .into_iter()
            .map(|(name, e, h)| format!("## {name}\n{e}\n{}", hint_with(&e, &h)))
            .collect();
        insta::assert_snapshot!(text.join("\n\n"));
    }

    #[test]
    fn host_limits_are_skippable_but_test_problems_are_not() {
        assert!(is_host_limit(&err(Step::CreateNamespaces, ENOSPC)));
        assert!(is_host_limit(&err(Step::MountProc, EPERM)));
        assert!(!is_host_limit(&err(Step::Exec, 2)));
        assert!(!is_host_limit(&err(Step::Chdir, 2)));
    }
}
