//! Resource limits: `memory = "64M"`, `pids = 64`, `cpu = "50%"`, and how
//! this host enforces them.
//!
//! Each limit is enforced with a cgroup per sandbox where one can be made:
//! in a cgroup v2 subtree this user may write (root, or a delegated one),
//! or at the root of a cgroup v1 hierarchy nothing else manages. Without
//! one:
//!
//! | limit | fallback | how close |
//! | --- | --- | --- |
//! | `memory` | `RLIMIT_DATA` in the test process | approximate: per process, counting its heap and private writable mappings (not page cache or shared memory, nor the sandbox's total); past it an allocation fails and Rust aborts the process |
//! | `pids` | `RLIMIT_NPROC` | the same count: since Linux 5.14 it is kept per user namespace, and each sandbox has its own; past it `fork`/`clone` fail with `EAGAIN`. Root is exempt, so it binds only unprivileged users |
//! | `cpu` | none | a test that sets it fails, or is skipped with `NS_TEST_UNSUPPORTED=skip` |
//!
//! A test process says once on stderr when a fallback applies; [`probe`]
//! tells the same to `ns-test doctor`.

use std::fmt;
use std::io::Write;
use std::path::PathBuf;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::OnceLock;

pub use crate::cgroup::Version as CgroupVersion;
use crate::cgroup::{self, Controller, Events, Limit, Parent, SandboxCgroups, V2Parent};
use crate::parent::Verdict;
use crate::private::Limits;
use crate::protocol::Rlimits;

/// The processes of ns-test's own in a sandbox besides the test's: the
/// keeper and, with a PID namespace, the reaper (without one the keeper
/// is the reaper).
pub const fn helper_processes(namespaces: u32) -> u32 {
    if namespaces & crate::private::ns::PID != 0 {
        2
    } else {
        1
    }
}

/// How one kind of limit is enforced on this host.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Mechanism {
    /// A cgroup per sandbox, made under `parent`; the limit is in `file`.
    Cgroup {
        /// v1 or v2.
        version: CgroupVersion,
        /// Where sandbox cgroups are made.
        parent: PathBuf,
        /// The file the limit is written to (`memory.max`).
        file: &'static str,
    },
    /// An rlimit of the test process, for want of a cgroup.
    Rlimit {
        /// `RLIMIT_DATA`, `RLIMIT_NPROC`.
        resource: &'static str,
        /// Why no cgroup is used.
        why_no_cgroup: String,
    },
    /// Nothing enforces it here: tests that set it fail, or are skipped
    /// with `NS_TEST_UNSUPPORTED=skip`.
    Unsupported {
        /// Why.
        why: String,
    },
}

/// Which mechanism enforces each limit on this host (for `ns-test
/// doctor`); `Display` writes one line per limit.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LimitsSupport {
    /// `memory = "64M"`.
    pub memory: Mechanism,
    /// `pids = 64`.
    pub pids: Mechanism,
    /// `cpu = "50%"`.
    pub cpu: Mechanism,
}

/// What a user can do to get cgroups.
pub const CGROUP_FIX: &str = "for cgroup limits, run the tests with a delegated cgroup v2 subtree: \
     `systemd-run --user --scope -p Delegate=yes cargo test`, or as root on a host with the unified \
     hierarchy (systemd.unified_cgroup_hierarchy=1), or in a container given its own cgroup";

impl LimitsSupport {
    fn mechanism(&self, c: Controller) -> &Mechanism {
        match c {
            Controller::Memory => &self.memory,
            Controller::Pids => &self.pids,
            Controller::Cpu => &self.cpu,
        }
    }
}

impl LimitsSupport {
    /// Each limit's name (`memory`, `pids`, `cpu`) with how it is enforced
    /// here, in words.
    pub fn describe(&self) -> Vec<(&'static str, String)> {
        Controller::ALL
            .iter()
            .map(|&c| {
                let text = match self.mechanism(c) {
                    Mechanism::Cgroup {
                        version,
                        parent,
                        file,
                    } => format!(
                        "{version} ({file}), a cgroup per sandbox under {}",
                        parent.display()
                    ),
                    Mechanism::Rlimit {
                        resource,
                        why_no_cgroup,
                    } => format!(
                        "{resource} ({}); no cgroup: {why_no_cgroup}",
                        rlimit_caveat(resource)
                    ),
                    Mechanism::Unsupported { why } => format!(
                        "not enforceable here ({why}); tests that set `{}` fail, or skip with NS_TEST_UNSUPPORTED=skip",
                        c.name()
                    ),
                };
                (c.name(), text)
            })
            .collect()
    }
}

impl fmt::Display for LimitsSupport {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        for (name, text) in self.describe() {
            writeln!(f, "{:8}{text}", format!("{name}:"))?;
        }
        Ok(())
    }
}

/// What an rlimit fallback means, in a few words.
fn rlimit_caveat(resource: &str) -> &'static str {
    match resource {
        "RLIMIT_DATA" => {
            "approximate: per process, its heap and private writable mappings, not the sandbox's \
             total; past it an allocation fails and Rust aborts"
        }
        _ => {
            "per sandbox: its processes and threads, counted per user namespace since Linux 5.14; \
             past it fork and thread creation fail with EAGAIN"
        }
    }
}

/// Finds which mechanism enforces each limit on this host. Reads only:
/// nothing is created.
pub fn probe() -> LimitsSupport {
    let read = |p: &str| std::fs::read_to_string(p).unwrap_or_default();
    probe_with(
        &cgroup::RealHost,
        &read("/proc/self/mountinfo"),
        &read("/proc/self/cgroup"),
        nproc_usable(),
    )
}

/// `RLIMIT_NPROC` means "per sandbox" only for a non-root user on Linux ≥
/// 5.14.
fn nproc_usable() -> Result<(), String> {
    if nix::unistd::getuid().is_root() {
        return Err("RLIMIT_NPROC does not bind root".into());
    }
    let release = std::fs::read_to_string("/proc/sys/kernel/osrelease").unwrap_or_default();
    let mut numbers = release
        .trim()
        .split(|c: char| !c.is_ascii_digit())
        .filter_map(|n| n.parse::<u32>().ok());
    let version = (numbers.next().unwrap_or(0), numbers.next().unwrap_or(0));
    if version < (5, 14) {
        return Err(format!(
            "before Linux 5.14 RLIMIT_NPROC counts all of a user's processes, not a sandbox's (this is {})",
            release.trim()
        ));
    }
    Ok(())
}

fn probe_with(
    host: &dyn cgroup::Host,
    mountinfo: &str,
    proc_cgroup: &str,
    nproc: Result<(), String>,
) -> LimitsSupport {
    let v2 = cgroup::find_v2(host, mountinfo, proc_cgroup);
    let mounts = cgroup::parse_mountinfo(mountinfo);
    let place = |c: Controller| -> Result<Parent, String> {
        let v2_reason = match &v2 {
            Ok(V2Parent { dir, available, .. }) if available.contains(&c) => {
                return Ok(Parent {
                    version: CgroupVersion::V2,
                    dir: dir.clone(),
                })
            }
            Ok(V2Parent { dir, listed, .. }) => {
                let bound_to_v1 = mounts.iter().any(|m| {
                    m.version == CgroupVersion::V1 && m.controllers.iter().any(|n| n == c.name())
                });
                format!(
                    "the cgroup v2 subtree {} offers no {} controller (it offers: {}){}",
                    dir.display(),
                    c.name(),
                    if listed.is_empty() {
                        "none".to_string()
                    } else {
                        listed.join(" ")
                    },
                    if bound_to_v1 {
                        "; the controller is bound to a cgroup v1 hierarchy (a hybrid layout)"
                    } else {
                        ""
                    }
                )
            }
            Err(e) => e.clone(),
        };
        match cgroup::find_v1(host, mountinfo, proc_cgroup, c) {
            Ok(dir) => Ok(Parent {
                version: CgroupVersion::V1,
                dir,
            }),
            Err(v1) if v1.starts_with("no cgroup v1") => Err(v2_reason),
            Err(v1) => Err(format!("{v2_reason}; {v1}")),
        }
    };
    let cgroup = |c: Controller, p: Parent| Mechanism::Cgroup {
        version: p.version,
        file: c.limit_file(p.version),
        parent: p.dir,
    };
    LimitsSupport {
        memory: match place(Controller::Memory) {
            Ok(p) => cgroup(Controller::Memory, p),
            Err(why) => Mechanism::Rlimit {
                resource: "RLIMIT_DATA",
                why_no_cgroup: why,
            },
        },
        pids: match (place(Controller::Pids), nproc) {
            (Ok(p), _) => cgroup(Controller::Pids, p),
            (Err(why), Ok(())) => Mechanism::Rlimit {
                resource: "RLIMIT_NPROC",
                why_no_cgroup: why,
            },
            (Err(why), Err(no_nproc)) => Mechanism::Unsupported {
                why: format!("no cgroup: {why}; and {no_nproc}"),
            },
        },
        cpu: match place(Controller::Cpu) {
            Ok(p) => cgroup(Controller::Cpu, p),
            Err(why) => Mechanism::Unsupported {
                why: format!("no cgroup: {why}; no rlimit means the same"),
            },
        },
    }
}

/// [`probe`], once per process.
fn support() -> &'static LimitsSupport {
    static SUPPORT: OnceLock<LimitsSupport> = OnceLock::new();
    SUPPORT.get_or_init(probe)
}

/// `64M`, as the attribute would write a size.
pub(crate) fn format_bytes(bytes: u64) -> String {
    for (unit, scale) in [("G", 1u64 << 30), ("M", 1 << 20), ("K", 1 << 10)] {
        if bytes >= scale && bytes.is_multiple_of(scale) {
            return format!("{}{unit}", bytes / scale);
        }
    }
    format!("{bytes}")
}

/// How a sandbox's limits are enforced.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub(crate) struct How {
    /// The memory limit's file when a cgroup enforces it.
    memory_file: Option<&'static str>,
    /// `RLIMIT_DATA` enforces `memory`.
    memory_rlimit: bool,
    /// `RLIMIT_NPROC` enforces `pids`.
    pids_rlimit: bool,
}

/// A sandbox's limits, ready: its cgroups made, its rlimits chosen.
#[derive(Debug)]
pub(crate) struct Prepared {
    limits: Limits,
    how: How,
    cgroups: Option<SandboxCgroups>,
    rlimits: Rlimits,
}

/// Why a sandbox's limits cannot be prepared.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Unprepared {
    /// The message.
    pub message: String,
    /// The host cannot enforce a limit (so `NS_TEST_UNSUPPORTED=skip`
    /// applies), as opposed to a failure making the cgroup.
    pub unsupported: bool,
}

impl Prepared {
    /// No limits.
    pub(crate) fn none() -> Prepared {
        Prepared {
            limits: Limits::NONE,
            how: How::default(),
            cgroups: None,
            rlimits: Rlimits::default(),
        }
    }

    /// The cgroup directories the keeper joins.
    pub(crate) fn cgroup_dirs(&self) -> Vec<PathBuf> {
        self.cgroups.as_ref().map_or_else(Vec::new, |c| c.dirs())
    }

    /// The rlimits the payload sets.
    pub(crate) fn rlimits(&self) -> Rlimits {
        self.rlimits
    }

    /// Reads what happened in the cgroups, removes them, and adds to
    /// `verdict` what the limits explain (an OOM kill, a refused fork).
    pub(crate) fn finish(mut self, verdict: Verdict) -> Verdict {
        let events = self
            .cgroups
            .as_ref()
            .map(|c| c.events())
            .unwrap_or_default();
        drop(self.cgroups.take());
        let (verdict, notes) = explain(verdict, self.limits, self.how, events);
        for note in notes {
            // Into libtest's capture: shown with the failure.
            eprintln!("{note}");
        }
        verdict
    }
}

/// Makes the cgroups (or picks the rlimits) for `limits`.
pub(crate) fn prepare(limits: Limits, namespaces: u32) -> Result<Prepared, Unprepared> {
    if !limits.any() {
        return Ok(Prepared::none());
    }
    let support = support();
    let mut cgroup_limits: Vec<(Parent, Limit)> = Vec::new();
    let mut how = How::default();
    let mut rlimits = Rlimits::default();
    let mut fallbacks = Vec::new();
    let wanted = [
        (Controller::Memory, limits.memory_bytes > 0),
        (Controller::Pids, limits.pids > 0),
        (Controller::Cpu, limits.cpu_percent > 0),
    ];
    for (c, wanted) in wanted {
        if !wanted {
            continue;
        }
        match support.mechanism(c) {
            Mechanism::Cgroup {
                version,
                parent,
                file,
            } => {
                let limit = match c {
                    Controller::Memory => {
                        how.memory_file = Some(file);
                        Limit::Memory(limits.memory_bytes)
                    }
                    Controller::Pids => {
                        Limit::Pids(limits.pids.saturating_add(helper_processes(namespaces)))
                    }
                    Controller::Cpu => Limit::Cpu(limits.cpu_percent),
                };
                let parent = Parent {
                    version: *version,
                    dir: parent.clone(),
                };
                cgroup_limits.push((parent, limit));
            }
            Mechanism::Rlimit { resource, .. } => {
                match c {
                    Controller::Memory => {
                        how.memory_rlimit = true;
                        rlimits.data_bytes = limits.memory_bytes;
                    }
                    _ => {
                        how.pids_rlimit = true;
                        rlimits.nproc = limits.pids;
                    }
                }
                fallbacks.push(format!("{} with {resource}", c.name()));
            }
            Mechanism::Unsupported { why } => {
                let setting = match c {
                    Controller::Memory => {
                        format!("memory = \"{}\"", format_bytes(limits.memory_bytes))
                    }
                    Controller::Pids => format!("pids = {}", limits.pids),
                    Controller::Cpu => format!("cpu = \"{}%\"", limits.cpu_percent),
                };
                return Err(Unprepared {
                    message: format!(
                        "ns-test: `{setting}` cannot be enforced on this host: {why}\nfix: {CGROUP_FIX}; \
                         or set NS_TEST_UNSUPPORTED=skip to skip tests that need it"
                    ),
                    unsupported: true,
                });
            }
        }
    }
    if !fallbacks.is_empty() {
        notice_once(support, &fallbacks);
    }
    let cgroups = if cgroup_limits.is_empty() {
        None
    } else {
        static SWEPT: std::sync::Once = std::sync::Once::new();
        SWEPT.call_once(|| {
            for c in Controller::ALL {
                if let Mechanism::Cgroup { parent, .. } = support.mechanism(c) {
                    cgroup::remove_stale(parent);
                }
            }
        });
        static NEXT: AtomicU64 = AtomicU64::new(0);
        let name = format!(
            "ns-test-{}-{}",
            std::process::id(),
            NEXT.fetch_add(1, Ordering::Relaxed)
        );
        Some(
            SandboxCgroups::create(&cgroup_limits, &name).map_err(|e| Unprepared {
                message: format!("ns-test: creating the sandbox's cgroup: {e}"),
                unsupported: false,
            })?,
        )
    };
    Ok(Prepared {
        limits,
        how,
        cgroups,
        rlimits,
    })
}

/// Says once per process, on the real stderr, which limits fall back to
/// rlimits and why.
fn notice_once(support: &LimitsSupport, fallbacks: &[String]) {
    static SAID: AtomicBool = AtomicBool::new(false);
    if SAID.swap(true, Ordering::Relaxed) {
        return;
    }
    let mut text = format!(
        "ns-test: resource limits without a cgroup here: {} (`ns-test doctor` shows this again):\n",
        fallbacks.join(", ")
    );
    for line in support.to_string().lines() {
        text.push_str("  ");
        text.push_str(line);
        text.push('\n');
    }
    let _ = std::io::stderr().write_all(text.as_bytes());
}

/// What the limits explain about `verdict`: a `Failed` message rewritten
/// or extended, and notes to print with the test's output.
pub(crate) fn explain(
    verdict: Verdict,
    limits: Limits,
    how: How,
    ev: Events,
) -> (Verdict, Vec<String>) {
    let mut notes = Vec::new();
    let memory = format_bytes(limits.memory_bytes);
    let mut verdict = verdict;
    let failed_message = |v: &Verdict| -> Option<String> {
        match v {
            Verdict::Failed(m) | Verdict::Panicked(m) | Verdict::Returned(m) => Some(m.clone()),
            _ => None,
        }
    };
    if ev.oom_kills > 0 {
        let file = how.memory_file.unwrap_or("memory.max");
        match &verdict {
            Verdict::Failed(m) if m.contains("signal 9 (SIGKILL)") => {
                verdict = Verdict::Failed(format!("test killed: out of memory ({file} = {memory})"));
            }
            _ => notes.push(format!(
                "note: the out-of-memory killer ended {} process{} of this sandbox ({file} = {memory})",
                ev.oom_kills,
                if ev.oom_kills == 1 { "" } else { "es" }
            )),
        }
    }
    if ev.pids_max > 0 && failed_message(&verdict).is_some() {
        notes.push(format!(
            "note: the sandbox reached its process limit (pids = {}): the kernel refused {} fork/clone call{} \
             with EAGAIN (\"Resource temporarily unavailable\")",
            limits.pids,
            ev.pids_max,
            if ev.pids_max == 1 { "" } else { "s" }
        ));
    }
    if how.memory_rlimit {
        if let Verdict::Failed(m) = &verdict {
            if m.contains("signal 6 (SIGABRT)") {
                notes.push(format!(
                    "note: memory = \"{memory}\" is enforced on this host with RLIMIT_DATA (per process, no cgroup): \
                     an allocation past it fails, and Rust aborts the process when an allocation fails \
                     (\"memory allocation of N bytes failed\")"
                ));
            }
        }
    }
    if how.pids_rlimit {
        let eagain = failed_message(&verdict).is_some_and(|m| {
            m.contains("Resource temporarily unavailable")
                || m.contains("WouldBlock")
                || m.contains("os error 11")
        });
        if eagain {
            notes.push(format!(
                "note: pids = {} is enforced on this host with RLIMIT_NPROC (no cgroup): creating a process or \
                 thread past it fails with EAGAIN (\"Resource temporarily unavailable\")",
                limits.pids
            ));
        }
    }
    // A harness failure carries its notes in its message; a panic or an
    // `Err` is the test's own, so its notes go with its output.
    if let Verdict::Failed(m) = &mut verdict {
        for note in notes.drain(..) {
            m.push('\n');
            m.push_str(&note);
        }
    }
    (verdict, notes)
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::collections::{HashMap, HashSet};
    use std::path::Path;

    struct Fake {
        writable: HashSet<PathBuf>,
        files: HashMap<PathBuf, String>,
    }

    impl cgroup::Host for Fake {
        fn read(&self, path: &Path) -> std::io::Result<String> {
            self.files
                .get(path)
                .cloned()
                .ok_or_else(|| std::io::Error::from_raw_os_error(2))
        }
        fn writable(&self, path: &Path) -> bool {
            self.writable.iter().any(|w| path.starts_with(w))
        }
        fn exists(&self, path: &Path) -> bool {
            self.files.contains_key(path)
        }
    }

    const HYBRID: &str = "\
31 30 0:27 / /sys/fs/cgroup/cpu rw,relatime - cgroup cgroup rw,cpu
34 30 0:30 / /sys/fs/cgroup/memory rw,relatime - cgroup cgroup rw,memory
37 30 0:33 / /sys/fs/cgroup/pids rw,relatime - cgroup cgroup rw,pids
39 30 0:35 / /sys/fs/cgroup/unified rw,relatime - cgroup2 cgroup2 rw
";
    const HYBRID_OWN: &str = "8:pids:/\n4:memory:/process_api/abc\n1:cpu:/\n0::/\n";

    fn hybrid(root: bool) -> Fake {
        let mut files = HashMap::new();
        files.insert(
            PathBuf::from("/sys/fs/cgroup/unified/cgroup.controllers"),
            "hugetlb\n".to_string(),
        );
        Fake {
            writable: if root {
                [PathBuf::from("/sys/fs/cgroup")].into()
            } else {
                HashSet::new()
            },
            files,
        }
    }

    #[test]
    fn this_machine_as_root() {
        let s = probe_with(&hybrid(true), HYBRID, HYBRID_OWN, Err("root".into()));
        assert!(
            matches!(&s.memory, Mechanism::Rlimit { resource: "RLIMIT_DATA", why_no_cgroup }
                if why_no_cgroup.contains("hybrid") && why_no_cgroup.contains("/process_api/abc")),
            "{s}"
        );
        assert!(
            matches!(
                &s.pids,
                Mechanism::Cgroup {
                    version: CgroupVersion::V1,
                    file: "pids.max",
                    ..
                }
            ),
            "{s}"
        );
        assert!(
            matches!(
                &s.cpu,
                Mechanism::Cgroup {
                    version: CgroupVersion::V1,
                    file: "cpu.cfs_quota_us",
                    ..
                }
            ),
            "{s}"
        );
    }

    #[test]
    fn this_machine_as_a_user() {
        let s = probe_with(&hybrid(false), HYBRID, HYBRID_OWN, Ok(()));
        assert!(
            matches!(
                &s.memory,
                Mechanism::Rlimit {
                    resource: "RLIMIT_DATA",
                    ..
                }
            ),
            "{s}"
        );
        assert!(
            matches!(
                &s.pids,
                Mechanism::Rlimit {
                    resource: "RLIMIT_NPROC",
                    ..
                }
            ),
            "{s}"
        );
        assert!(matches!(&s.cpu, Mechanism::Unsupported { .. }), "{s}");
        let text = s.to_string();
        assert_eq!(text.lines().count(), 3, "{text}");
        assert!(text.contains("not enforceable here"), "{text}");
    }

    #[test]
    fn root_without_any_cgroup_cannot_limit_pids() {
        let s = probe_with(
            &hybrid(false),
            HYBRID,
            HYBRID_OWN,
            Err("RLIMIT_NPROC does not bind root".into()),
        );
        assert!(
            matches!(&s.pids, Mechanism::Unsupported { why } if why.contains("does not bind root")),
            "{s}"
        );
    }

    #[test]
    fn sizes() {
        assert_eq!(format_bytes(64 << 20), "64M");
        assert_eq!(format_bytes(1 << 30), "1G");
        assert_eq!(format_bytes(1536 << 10), "1536K");
        assert_eq!(format_bytes(1000), "1000");
    }

    fn limits() -> Limits {
        Limits {
            memory_bytes: 64 << 20,
            pids: 64,
            cpu_percent: 0,
        }
    }

    #[test]
    fn an_oom_kill_is_named() {
        let how = How {
            memory_file: Some("memory.max"),
            ..How::default()
        };
        let ev = Events {
            oom_kills: 1,
            pids_max: 0,
        };
        let (v, notes) = explain(
            Verdict::Failed("test killed by signal 9 (SIGKILL)".into()),
            limits(),
            how,
            ev,
        );
        assert_eq!(
            v,
            Verdict::Failed("test killed: out of memory (memory.max = 64M)".into())
        );
        assert!(notes.is_empty());
        // A child was killed, the test then panicked: a note.
        let (v, notes) = explain(Verdict::Panicked("child died".into()), limits(), how, ev);
        assert_eq!(v, Verdict::Panicked("child died".into()));
        assert_eq!(
            notes,
            ["note: the out-of-memory killer ended 1 process of this sandbox (memory.max = 64M)"]
        );
    }

    #[test]
    fn a_pids_hit_is_named() {
        let ev = Events {
            oom_kills: 0,
            pids_max: 3,
        };
        let (_, notes) = explain(
            Verdict::Panicked("spawn failed".into()),
            limits(),
            How::default(),
            ev,
        );
        assert!(notes[0].starts_with("note: the sandbox reached its process limit (pids = 64)"));
        let (_, notes) = explain(Verdict::Passed, limits(), How::default(), ev);
        assert!(notes.is_empty());
        let how = How {
            pids_rlimit: true,
            ..How::default()
        };
        let (_, notes) = explain(
            Verdict::Panicked(
                "failed to spawn thread: Os { code: 11, kind: WouldBlock, .. }".into(),
            ),
            limits(),
            how,
            Events::default(),
        );
        assert!(notes[0].contains("RLIMIT_NPROC"), "{notes:?}");
    }

    #[test]
    fn an_abort_under_rlimit_data_is_explained_in_the_message() {
        let how = How {
            memory_rlimit: true,
            ..How::default()
        };
        let (v, notes) = explain(
            Verdict::Failed("test killed by signal 6 (SIGABRT)".into()),
            limits(),
            how,
            Events::default(),
        );
        assert!(notes.is_empty());
        let Verdict::Failed(m) = v else {
            panic!("{v:?}")
        };
        assert!(
            m.starts_with("test killed by signal 6 (SIGABRT)\nnote: memory = \"64M\" is enforced"),
            "{m}"
        );
    }
}
