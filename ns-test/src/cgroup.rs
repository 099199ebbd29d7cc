//! A cgroup per sandbox, for `memory`, `pids` and `cpu`.
//!
//! The test thread creates the cgroup and writes its limits; the keeper
//! moves itself in before creating the namespaces, so every process of the
//! sandbox is in it (and, with `cgroup`, it is the root the sandbox sees);
//! when the sandbox is gone the test thread reads its events (an OOM kill,
//! a refused fork) and removes it.
//!
//! Where the cgroups go:
//!
//! - **cgroup v2**: in the lowest ancestor of this process's cgroup that
//!   this user may write (`cgroup.procs` and `cgroup.subtree_control`
//!   too): the root for root, a delegated subtree otherwise (`systemd-run
//!   --user --scope -p Delegate=yes`, a container with a delegated
//!   cgroup). This process's own cgroup holds processes, so by the
//!   no-internal-processes rule it cannot parent cgroups with controllers,
//!   unless it is the root. Each sandbox's cgroup is a sibling,
//!   `ns-test-<pid>-<n>`, of the branch this process is in.
//! - **cgroup v1** (a hybrid or legacy layout): only when this process is
//!   at the root of that controller's hierarchy and may write there (root
//!   in a VM or container where nothing else manages the hierarchy).
//!   Anywhere deeper, the hierarchy belongs to whoever put us there
//!   (systemd, a CI runner), and cgroups made inside it would change their
//!   accounting.

use std::io;
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

/// A controller a limit needs.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Controller {
    /// `memory`.
    Memory,
    /// `pids`.
    Pids,
    /// `cpu`.
    Cpu,
}

impl Controller {
    /// Every controller, in display order.
    pub const ALL: [Controller; 3] = [Controller::Memory, Controller::Pids, Controller::Cpu];

    /// The kernel's name for it.
    pub fn name(self) -> &'static str {
        match self {
            Controller::Memory => "memory",
            Controller::Pids => "pids",
            Controller::Cpu => "cpu",
        }
    }

    /// The file that holds the limit.
    pub fn limit_file(self, version: Version) -> &'static str {
        match (self, version) {
            (Controller::Memory, Version::V2) => "memory.max",
            (Controller::Memory, Version::V1) => "memory.limit_in_bytes",
            (Controller::Pids, _) => "pids.max",
            (Controller::Cpu, Version::V2) => "cpu.max",
            (Controller::Cpu, Version::V1) => "cpu.cfs_quota_us",
        }
    }
}

/// A cgroup hierarchy's version.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Version {
    /// The legacy, one-hierarchy-per-controller layout.
    V1,
    /// The unified hierarchy.
    V2,
}

impl std::fmt::Display for Version {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(match self {
            Version::V1 => "cgroup v1",
            Version::V2 => "cgroup v2",
        })
    }
}

/// What the kernel and the filesystem say; a trait so the choice of a
/// parent can be tested against a made-up host.
pub(crate) trait Host {
    /// Reads a whole file.
    fn read(&self, path: &Path) -> io::Result<String>;
    /// Whether this process may write `path` (`access(W_OK)`).
    fn writable(&self, path: &Path) -> bool;
    /// Whether `path` exists.
    fn exists(&self, path: &Path) -> bool;
}

/// The real host.
pub(crate) struct RealHost;

impl Host for RealHost {
    fn read(&self, path: &Path) -> io::Result<String> {
        std::fs::read_to_string(path)
    }
    fn writable(&self, path: &Path) -> bool {
        nix::unistd::access(path, nix::unistd::AccessFlags::W_OK).is_ok()
    }
    fn exists(&self, path: &Path) -> bool {
        path.exists()
    }
}

/// A mounted cgroup hierarchy, from `/proc/self/mountinfo`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct CgroupMount {
    /// Where it is mounted.
    pub point: PathBuf,
    /// The cgroup the mount shows as its root (`/` unless a subtree is
    /// bind-mounted).
    pub root: String,
    /// v1 or v2.
    pub version: Version,
    /// A v1 hierarchy's controllers (from its mount options).
    pub controllers: Vec<String>,
}

/// The cgroup hierarchies mounted, from `/proc/self/mountinfo` text.
pub(crate) fn parse_mountinfo(text: &str) -> Vec<CgroupMount> {
    let mut mounts = Vec::new();
    for line in text.lines() {
        // id parent major:minor root point options [optional...] - type source superoptions
        let Some((left, right)) = line.split_once(" - ") else {
            continue;
        };
        let left: Vec<&str> = left.split(' ').collect();
        let right: Vec<&str> = right.split(' ').collect();
        if left.len() < 5 || right.len() < 3 {
            continue;
        }
        let version = match right[0] {
            "cgroup2" => Version::V2,
            "cgroup" => Version::V1,
            _ => continue,
        };
        let controllers = match version {
            Version::V2 => Vec::new(),
            Version::V1 => right[2]
                .split(',')
                .filter(|o| !matches!(*o, "rw" | "ro") && !o.contains('='))
                .map(str::to_string)
                .collect(),
        };
        mounts.push(CgroupMount {
            point: PathBuf::from(unescape_octal(left[4])),
            root: unescape_octal(left[3]),
            version,
            controllers,
        });
    }
    mounts
}

/// mountinfo writes space, tab, newline and backslash as `\ooo`.
fn unescape_octal(s: &str) -> String {
    let b = s.as_bytes();
    let mut out = Vec::with_capacity(b.len());
    let mut i = 0;
    while i < b.len() {
        if b[i] == b'\\'
            && i + 3 < b.len()
            && b[i + 1..i + 4].iter().all(|c| (b'0'..=b'7').contains(c))
        {
            out.push((b[i + 1] - b'0') * 64 + (b[i + 2] - b'0') * 8 + (b[i + 3] - b'0'));
            i += 4;
        } else {
            out.push(b[i]);
            i += 1;
        }
    }
    String::from_utf8_lossy(&out).into_owned()
}

/// This process's cgroup in each hierarchy, from `/proc/self/cgroup`
/// text: `(controllers, path)`; the v2 line has no controllers.
pub(crate) fn parse_proc_cgroup(text: &str) -> Vec<(Vec<String>, String)> {
    text.lines()
        .filter_map(|line| {
            let mut parts = line.splitn(3, ':');
            let _id = parts.next()?;
            let controllers = parts.next()?;
            let path = parts.next()?;
            let controllers = controllers
                .split(',')
                .filter(|c| !c.is_empty())
                .map(|c| c.strip_prefix("name=").unwrap_or(c).to_string())
                .collect();
            Some((controllers, path.to_string()))
        })
        .collect()
}

/// The directory of cgroup `path` in `mount`, if the mount shows it.
fn dir_of(mount: &CgroupMount, path: &str) -> Option<PathBuf> {
    let rest = if mount.root == "/" {
        path
    } else {
        let rest = path.strip_prefix(mount.root.as_str())?;
        if !(rest.is_empty() || rest.starts_with('/')) {
            return None;
        }
        rest
    };
    let rest = rest.trim_start_matches('/');
    Some(if rest.is_empty() {
        mount.point.clone()
    } else {
        mount.point.join(rest)
    })
}

/// Where v2 sandbox cgroups go, and which controllers they can have.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct V2Parent {
    /// The writable ancestor.
    pub dir: PathBuf,
    /// Controllers it can give its children (`cgroup.controllers`).
    pub available: Vec<Controller>,
    /// Every controller listed there, for messages.
    pub listed: Vec<String>,
}

/// Finds the cgroup v2 parent for sandbox cgroups (see the module docs),
/// or says why there is none.
pub(crate) fn find_v2(
    host: &dyn Host,
    mountinfo: &str,
    proc_cgroup: &str,
) -> Result<V2Parent, String> {
    let mounts = parse_mountinfo(mountinfo);
    let Some(mount) = mounts.iter().find(|m| m.version == Version::V2) else {
        return Err("no cgroup v2 hierarchy is mounted".into());
    };
    let own = parse_proc_cgroup(proc_cgroup);
    let Some((_, path)) = own.iter().find(|(c, _)| c.is_empty()) else {
        return Err(
            "this process is in no cgroup v2 cgroup (/proc/self/cgroup has no 0:: line)".into(),
        );
    };
    let Some(own_dir) = dir_of(mount, path) else {
        return Err(format!(
            "this process's cgroup {path} is outside the cgroup v2 mount at {}",
            mount.point.display()
        ));
    };
    // The own cgroup can parent cgroups only when it is the real root (the
    // only cgroup without `cgroup.type`); else start at its parent.
    let mut candidate = if own_dir == mount.point && !host.exists(&own_dir.join("cgroup.type")) {
        Some(own_dir.clone())
    } else if own_dir == mount.point {
        None
    } else {
        own_dir.parent().map(Path::to_path_buf)
    };
    while let Some(dir) = candidate {
        if !dir.starts_with(&mount.point) {
            break;
        }
        if host.writable(&dir)
            && host.writable(&dir.join("cgroup.procs"))
            && host.writable(&dir.join("cgroup.subtree_control"))
        {
            let listed: Vec<String> = host
                .read(&dir.join("cgroup.controllers"))
                .unwrap_or_default()
                .split_whitespace()
                .map(str::to_string)
                .collect();
            // A controller can be enabled for the children unless the
            // cgroup holds processes (the no-internal-processes rule; the
            // root is exempt), or it is enabled already.
            let enabled = host
                .read(&dir.join("cgroup.subtree_control"))
                .unwrap_or_default();
            let can_enable = !host.exists(&dir.join("cgroup.type"))
                || host
                    .read(&dir.join("cgroup.procs"))
                    .is_ok_and(|p| p.trim().is_empty());
            let available = Controller::ALL
                .into_iter()
                .filter(|c| listed.iter().any(|l| l == c.name()))
                .filter(|c| can_enable || enabled.split_whitespace().any(|e| e == c.name()))
                .collect();
            return Ok(V2Parent {
                dir,
                available,
                listed,
            });
        }
        candidate = dir.parent().map(Path::to_path_buf);
    }
    Err(format!(
        "no cgroup v2 subtree is delegated to this user: neither this process's cgroup {} \
         nor an ancestor is writable by uid {}",
        own_dir.display(),
        nix::unistd::geteuid()
    ))
}

/// Finds where v1 sandbox cgroups for `controller` go: the root of its
/// hierarchy, when this process is there and may write it.
pub(crate) fn find_v1(
    host: &dyn Host,
    mountinfo: &str,
    proc_cgroup: &str,
    controller: Controller,
) -> Result<PathBuf, String> {
    let name = controller.name();
    let mounts = parse_mountinfo(mountinfo);
    let Some(mount) = mounts
        .iter()
        .find(|m| m.version == Version::V1 && m.controllers.iter().any(|c| c == name))
    else {
        return Err(format!("no cgroup v1 {name} hierarchy is mounted"));
    };
    let own = parse_proc_cgroup(proc_cgroup);
    let Some((_, path)) = own.iter().find(|(c, _)| c.iter().any(|c| c == name)) else {
        return Err(format!("this process is in no cgroup v1 {name} cgroup"));
    };
    if path != "/" || mount.root != "/" {
        return Err(format!(
            "this process is in {path} of the cgroup v1 {name} hierarchy, which something else \
             manages; ns-test makes v1 cgroups only at a hierarchy's root"
        ));
    }
    let dir = mount.point.clone();
    if !host.writable(&dir) || !host.writable(&dir.join("cgroup.procs")) {
        return Err(format!(
            "the cgroup v1 {name} hierarchy at {} is not writable by uid {}",
            dir.display(),
            nix::unistd::geteuid()
        ));
    }
    Ok(dir)
}

/// The parent directory sandbox cgroups for a controller go in.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct Parent {
    /// v1 or v2.
    pub version: Version,
    /// The directory.
    pub dir: PathBuf,
}

/// One limit to write.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Limit {
    /// Bytes of memory (swap included).
    Memory(u64),
    /// Tasks.
    Pids(u32),
    /// Percent of one CPU.
    Cpu(u32),
}

impl Limit {
    fn controller(self) -> Controller {
        match self {
            Limit::Memory(_) => Controller::Memory,
            Limit::Pids(_) => Controller::Pids,
            Limit::Cpu(_) => Controller::Cpu,
        }
    }
}

/// The period `cpu` quotas are expressed in, in microseconds.
const CPU_PERIOD_US: u64 = 100_000;

fn io_text(what: &str, path: &Path, e: &io::Error) -> String {
    format!(
        "{what}({}) => {} ({e})",
        path.display(),
        crate::error::errno_name(e.raw_os_error().unwrap_or(5))
    )
}

fn write(path: &Path, value: &str) -> Result<(), String> {
    std::fs::write(path, value).map_err(|e| io_text("write", path, &e))
}

/// The cgroups of one sandbox: one directory (v2), or one per v1
/// hierarchy. Removed when dropped.
#[derive(Debug)]
pub(crate) struct SandboxCgroups {
    dirs: Vec<(Version, PathBuf, Vec<Controller>)>,
}

/// What happened in a sandbox's cgroups.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub(crate) struct Events {
    /// Processes the OOM killer ended.
    pub oom_kills: u64,
    /// Forks and clones refused by `pids.max`.
    pub pids_max: u64,
}

/// Reads `key N` from a flat-keyed file.
fn keyed(text: &str, key: &str) -> u64 {
    text.lines()
        .find_map(|l| {
            let (k, v) = l.split_once(' ')?;
            (k == key).then(|| v.trim().parse().ok()).flatten()
        })
        .unwrap_or(0)
}

impl SandboxCgroups {
    /// Creates `name` under the parents of `limits` and writes the limits.
    pub(crate) fn create(limits: &[(Parent, Limit)], name: &str) -> Result<SandboxCgroups, String> {
        let mut made = SandboxCgroups { dirs: Vec::new() };
        for (parent, limit) in limits {
            let dir = parent.dir.join(name);
            let index = match made.dirs.iter().position(|(_, d, _)| *d == dir) {
                Some(i) => i,
                None => {
                    if parent.version == Version::V2 {
                        enable(&parent.dir, limits)?;
                    }
                    std::fs::create_dir(&dir).map_err(|e| io_text("mkdir", &dir, &e))?;
                    made.dirs.push((parent.version, dir.clone(), Vec::new()));
                    made.dirs.len() - 1
                }
            };
            made.dirs[index].2.push(limit.controller());
            write_limit(parent.version, &dir, *limit)?;
        }
        Ok(made)
    }

    /// The directories the keeper joins.
    pub(crate) fn dirs(&self) -> Vec<PathBuf> {
        self.dirs.iter().map(|(_, d, _)| d.clone()).collect()
    }

    /// OOM kills and refused forks so far.
    pub(crate) fn events(&self) -> Events {
        let mut ev = Events::default();
        for (version, dir, controllers) in &self.dirs {
            let read = |f: &str| std::fs::read_to_string(dir.join(f)).unwrap_or_default();
            if controllers.contains(&Controller::Memory) {
                ev.oom_kills += match version {
                    Version::V2 => keyed(&read("memory.events"), "oom_kill"),
                    Version::V1 => keyed(&read("memory.oom_control"), "oom_kill"),
                };
            }
            if controllers.contains(&Controller::Pids) {
                ev.pids_max += keyed(&read("pids.events"), "max");
            }
        }
        ev
    }
}

impl Drop for SandboxCgroups {
    /// Ends whatever is left in the cgroups and removes them; a cgroup
    /// whose last process is still exiting is retried for two seconds.
    fn drop(&mut self) {
        for (version, dir, _) in &self.dirs {
            let deadline = Instant::now() + Duration::from_secs(2);
            loop {
                match version {
                    Version::V2 => {
                        let _ = std::fs::write(dir.join("cgroup.kill"), "1");
                    }
                    Version::V1 => {
                        let procs =
                            std::fs::read_to_string(dir.join("cgroup.procs")).unwrap_or_default();
                        for pid in procs.split_whitespace().filter_map(|p| p.parse().ok()) {
                            let _ = nix::sys::signal::kill(
                                nix::unistd::Pid::from_raw(pid),
                                nix::sys::signal::Signal::SIGKILL,
                            );
                        }
                    }
                }
                match std::fs::remove_dir(dir) {
                    Err(e) if e.raw_os_error() == Some(16) && Instant::now() < deadline => {
                        std::thread::sleep(Duration::from_millis(10));
                    }
                    _ => break,
                }
            }
        }
    }
}

/// Enables the controllers `limits` need for the children of `parent` (v2).
fn enable(parent: &Path, limits: &[(Parent, Limit)]) -> Result<(), String> {
    let file = parent.join("cgroup.subtree_control");
    let enabled = std::fs::read_to_string(&file).map_err(|e| io_text("read", &file, &e))?;
    for (p, limit) in limits {
        let name = limit.controller().name();
        if p.dir == parent && !enabled.split_whitespace().any(|c| c == name) {
            write(&file, &format!("+{name}"))?;
        }
    }
    Ok(())
}

fn write_limit(version: Version, dir: &Path, limit: Limit) -> Result<(), String> {
    match (version, limit) {
        (Version::V2, Limit::Memory(bytes)) => {
            write(&dir.join("memory.max"), &bytes.to_string())?;
            // The limit is on memory, not on RAM: no swapping past it.
            let swap = dir.join("memory.swap.max");
            if swap.exists() {
                write(&swap, "0")?;
            }
        }
        (Version::V1, Limit::Memory(bytes)) => {
            write(&dir.join("memory.limit_in_bytes"), &bytes.to_string())?;
            let memsw = dir.join("memory.memsw.limit_in_bytes");
            if memsw.exists() {
                write(&memsw, &bytes.to_string())?;
            }
        }
        (_, Limit::Pids(n)) => write(&dir.join("pids.max"), &n.to_string())?,
        (Version::V2, Limit::Cpu(percent)) => write(
            &dir.join("cpu.max"),
            &format!(
                "{} {CPU_PERIOD_US}",
                u64::from(percent) * CPU_PERIOD_US / 100
            ),
        )?,
        (Version::V1, Limit::Cpu(percent)) => {
            write(&dir.join("cpu.cfs_period_us"), &CPU_PERIOD_US.to_string())?;
            write(
                &dir.join("cpu.cfs_quota_us"),
                &(u64::from(percent) * CPU_PERIOD_US / 100).to_string(),
            )?;
        }
    }
    Ok(())
}

/// Removes sandbox cgroups under `parent` left by test processes that
/// are gone (killed before they could clean up). A cgroup still holding
/// a process is not removed (`EBUSY`).
pub(crate) fn remove_stale(parent: &Path) {
    let Ok(entries) = std::fs::read_dir(parent) else {
        return;
    };
    for entry in entries.flatten() {
        let name = entry.file_name();
        let Some(rest) = name.to_str().and_then(|n| n.strip_prefix("ns-test-")) else {
            continue;
        };
        let Some(pid) = rest.split('-').next().and_then(|p| p.parse::<u32>().ok()) else {
            continue;
        };
        if !Path::new(&format!("/proc/{pid}")).exists() {
            let _ = std::fs::remove_dir(entry.path());
        }
    }
}

/// Moves this process into each of `dirs` (the keeper, before it creates
/// the namespaces); the error names the file and errno.
pub(crate) fn join(dirs: &[PathBuf]) -> Result<(), (PathBuf, i32)> {
    for dir in dirs {
        let procs = dir.join("cgroup.procs");
        std::fs::write(&procs, "0").map_err(|e| (procs, e.raw_os_error().unwrap_or(5)))?;
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::collections::{HashMap, HashSet};

    /// A made-up host: file contents, and the paths this user may write.
    #[derive(Default)]
    struct Fake {
        files: HashMap<PathBuf, String>,
        writable: HashSet<PathBuf>,
    }

    impl Fake {
        fn file(mut self, p: &str, text: &str) -> Self {
            self.files.insert(p.into(), text.into());
            self
        }
        fn delegated(mut self, dir: &str) -> Self {
            for f in ["", "cgroup.procs", "cgroup.subtree_control"] {
                self.writable.insert(Path::new(dir).join(f));
            }
            self
        }
    }

    impl Host for Fake {
        fn read(&self, path: &Path) -> io::Result<String> {
            self.files
                .get(path)
                .cloned()
                .ok_or_else(|| io::Error::from_raw_os_error(2))
        }
        fn writable(&self, path: &Path) -> bool {
            self.writable.contains(path)
        }
        fn exists(&self, path: &Path) -> bool {
            self.files.contains_key(path)
        }
    }

    /// This machine's layout: v1 controllers, an empty v2 "unified".
    const HYBRID: &str = "\
30 24 0:26 / /sys/fs/cgroup rw,relatime - tmpfs tmpfs rw,mode=755
31 30 0:27 / /sys/fs/cgroup/cpu rw,relatime - cgroup cgroup rw,cpu
34 30 0:30 / /sys/fs/cgroup/memory rw,relatime - cgroup cgroup rw,memory
37 30 0:33 / /sys/fs/cgroup/pids rw,relatime - cgroup cgroup rw,pids
38 30 0:34 / /sys/fs/cgroup/systemd rw,relatime - cgroup cgroup rw,name=systemd
39 30 0:35 / /sys/fs/cgroup/unified rw,relatime - cgroup2 cgroup2 rw
";
    const HYBRID_OWN: &str =
        "8:pids:/\n4:memory:/process_api/abc\n1:cpu:/\n9:name=systemd:/\n0::/\n";

    /// A systemd host: v2 only.
    const UNIFIED: &str =
        "25 1 0:23 / /sys/fs/cgroup rw,nosuid,nodev,noexec,relatime shared:4 - cgroup2 cgroup2 rw,nsdelegate\n";
    const USER_SCOPE: &str =
        "0::/user.slice/user-1000.slice/user@1000.service/app.slice/run-1.scope\n";

    #[test]
    fn parses_mountinfo_and_proc_cgroup() {
        let m = parse_mountinfo(HYBRID);
        assert_eq!(m.len(), 5);
        assert_eq!(m[0].controllers, ["cpu"]);
        assert!(
            m[3].controllers.is_empty(),
            "a named hierarchy has no controller"
        );
        assert_eq!(m[4].version, Version::V2);
        assert_eq!(m[4].point, Path::new("/sys/fs/cgroup/unified"));
        let own = parse_proc_cgroup(HYBRID_OWN);
        assert_eq!(
            own[1],
            (vec!["memory".to_string()], "/process_api/abc".to_string())
        );
        assert_eq!(own[4], (vec![], "/".to_string()));
        assert_eq!(unescape_octal(r"/a\040b"), "/a b");
    }

    #[test]
    fn v2_in_a_delegated_user_subtree() {
        let app = "/sys/fs/cgroup/user.slice/user-1000.slice/user@1000.service/app.slice";
        let host = Fake::default()
            .delegated(app)
            .delegated("/sys/fs/cgroup/user.slice/user-1000.slice/user@1000.service")
            .file(&format!("{app}/cgroup.controllers"), "cpu memory pids\n");
        let p = find_v2(&host, UNIFIED, USER_SCOPE).expect("delegated");
        assert_eq!(p.dir, Path::new(app));
        assert_eq!(p.available, Controller::ALL);
    }

    #[test]
    fn v2_parent_with_processes_offers_only_what_is_enabled() {
        let app = "/sys/fs/cgroup/user.slice/user-1000.slice/user@1000.service/app.slice";
        let host = Fake::default()
            .delegated(app)
            .file(&format!("{app}/cgroup.type"), "domain\n")
            .file(&format!("{app}/cgroup.procs"), "4242\n")
            .file(&format!("{app}/cgroup.controllers"), "cpu memory pids\n")
            .file(&format!("{app}/cgroup.subtree_control"), "memory\n");
        let p = find_v2(&host, UNIFIED, USER_SCOPE).expect("delegated");
        assert_eq!(p.available, [Controller::Memory]);
    }

    #[test]
    fn v2_without_delegation_says_so() {
        let e = find_v2(&Fake::default(), UNIFIED, USER_SCOPE).expect_err("none");
        assert!(e.contains("no cgroup v2 subtree is delegated"), "{e}");
    }

    #[test]
    fn v2_root_of_a_hybrid_host_has_no_controllers() {
        let host = Fake::default()
            .delegated("/sys/fs/cgroup/unified")
            .file("/sys/fs/cgroup/unified/cgroup.controllers", "hugetlb\n");
        let p = find_v2(&host, HYBRID, HYBRID_OWN).expect("root");
        assert_eq!(p.dir, Path::new("/sys/fs/cgroup/unified"));
        assert_eq!(p.available, []);
        assert_eq!(p.listed, ["hugetlb"]);
    }

    #[test]
    fn v2_namespace_root_with_processes_is_not_a_parent() {
        // In a container's cgroup namespace "/" is not the real root (it
        // has cgroup.type) and holds our processes.
        let host = Fake::default()
            .delegated("/sys/fs/cgroup")
            .file("/sys/fs/cgroup/cgroup.type", "domain\n");
        let e = find_v2(&host, UNIFIED, "0::/\n").expect_err("not a parent");
        assert!(e.contains("no cgroup v2 subtree"), "{e}");
    }

    #[test]
    fn v1_only_at_a_hierarchy_root() {
        let host = Fake::default()
            .delegated("/sys/fs/cgroup/pids")
            .delegated("/sys/fs/cgroup/memory")
            .delegated("/sys/fs/cgroup/memory/process_api");
        let pids = find_v1(&host, HYBRID, HYBRID_OWN, Controller::Pids);
        assert_eq!(pids, Ok(PathBuf::from("/sys/fs/cgroup/pids")));
        let memory = find_v1(&host, HYBRID, HYBRID_OWN, Controller::Memory).expect_err("managed");
        assert!(memory.contains("/process_api/abc"), "{memory}");
        let cpu = find_v1(&host, HYBRID, HYBRID_OWN, Controller::Cpu).expect_err("read-only");
        assert!(cpu.contains("not writable"), "{cpu}");
    }

    #[test]
    fn limits_are_written_in_each_versions_format() {
        let tmp = std::env::temp_dir().join(format!("ns-test-cgroup-unit-{}", std::process::id()));
        let v2 = tmp.join("v2");
        std::fs::create_dir_all(&v2).unwrap_or_else(|e| panic!("{e}"));
        std::fs::write(v2.join("cgroup.subtree_control"), "").unwrap_or_else(|e| panic!("{e}"));
        let parent = Parent {
            version: Version::V2,
            dir: v2.clone(),
        };
        let cg = SandboxCgroups::create(
            &[
                (parent.clone(), Limit::Memory(64 << 20)),
                (parent.clone(), Limit::Pids(66)),
                (parent, Limit::Cpu(50)),
            ],
            "box",
        )
        .unwrap_or_else(|e| panic!("{e}"));
        let read = |f: &str| std::fs::read_to_string(v2.join("box").join(f)).unwrap_or_default();
        assert_eq!(read("memory.max"), "67108864");
        assert_eq!(read("pids.max"), "66");
        assert_eq!(read("cpu.max"), "50000 100000");
        // The last write wins in a plain file; the kernel keeps each.
        assert_eq!(
            std::fs::read_to_string(v2.join("cgroup.subtree_control")).unwrap_or_default(),
            "+cpu"
        );
        std::fs::write(v2.join("box/memory.events"), "low 0\noom 1\noom_kill 1\n")
            .unwrap_or_else(|e| panic!("{e}"));
        std::fs::write(v2.join("box/pids.events"), "max 3\n").unwrap_or_else(|e| panic!("{e}"));
        assert_eq!(
            cg.events(),
            Events {
                oom_kills: 1,
                pids_max: 3
            }
        );
        assert_eq!(cg.dirs(), [v2.join("box")]);
        let _ = std::fs::remove_dir_all(&tmp);
    }
}
