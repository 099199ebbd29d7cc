//! The filesystem a `mnt` sandbox sees, built like a short script:
//!
//! 1. make `/` private, so nothing we mount propagates to the host;
//! 2. mount a staging tmpfs on `/tmp` and `pivot_root` into it, the host
//!    root now at `/oldroot` (and the host's `/tmp` visible again there);
//! 3. mount the sandbox root, a tmpfs, at `/newroot`;
//! 4. fresh `/tmp`, `/run`, `$HOME` tmpfs;
//! 5. bind the host's system dirs read-only (`/usr`, `/bin`, `/lib*`,
//!    `/etc`, ...; symlinks of a merged `/usr` are recreated);
//! 6. bind the package dir, the test binary's dir and the working dir
//!    read-only at their usual paths;
//! 7. a minimal `/dev`: tmpfs, device nodes bound from the host, a private
//!    devpts, `/dev/shm`;
//! 8. `/proc`: fresh with `pid`, else the host's bound; `/sys`;
//! 9. the test's own mounts: `bind` (read-only), `bind_rw`, `tmpfs`; a
//!    target inside a read-only host directory (`/etc/certs`) gets that
//!    directory shadowed by a tmpfs with its entries bound back;
//! 10. make the new root read-only, `pivot_root` into it and detach the
//!     old root.

use std::ffi::{CString, OsStr, OsString};
use std::os::unix::ffi::OsStrExt;
use std::os::unix::fs::PermissionsExt;
use std::path::{Path, PathBuf};

use nix::mount::{mount, umount2, MntFlags, MsFlags};

use crate::child::step_err;
use crate::error::{SetupError, Step};
use crate::private::ns;
use crate::protocol::{MountKind, Request};

/// Host directories bound read-only at the same path, when they exist.
pub const SYSTEM_DIRS: &[&str] = &[
    "/usr", "/bin", "/sbin", "/lib", "/lib32", "/lib64", "/libx32", "/etc", "/opt",
];

/// Device nodes bound from the host into the sandbox's `/dev`.
pub const DEVICES: &[&str] = &["null", "zero", "full", "random", "urandom", "tty"];

/// The home directory inside a `mnt` sandbox when `$HOME` cannot be kept.
pub const FALLBACK_HOME: &str = "/root";

/// Where `XDG_RUNTIME_DIR` points inside a `mnt` sandbox: a fresh `0700`
/// directory for the uid the test runs as (`/run/user/0` by default).
pub fn runtime_dir(req: &Request) -> PathBuf {
    let uid = req.options.identity.map_or(0, |id| id.uid);
    PathBuf::from(format!("/run/user/{uid}"))
}

type R = Result<(), SetupError>;

fn errno_of(e: &std::io::Error) -> i32 {
    e.raw_os_error().unwrap_or(5)
}

fn mount_tmpfs(target: &Path, mode: &str, flags: MsFlags) -> R {
    let data = format!("mode={mode}");
    mount(
        Some("tmpfs"),
        target,
        Some("tmpfs"),
        flags,
        Some(data.as_str()),
    )
    .map_err(|e| step_err(Step::MountTmpfs, "mount", Some(target), e as i32))
}

/// `mkdir -p`, trying `mkdir` first: in the fresh tmpfs the parent almost
/// always exists, so this is one syscall where `create_dir_all` makes two.
fn mkdir_p(path: &Path) -> R {
    match std::fs::create_dir(path) {
        Ok(()) => Ok(()),
        Err(e) if e.kind() == std::io::ErrorKind::AlreadyExists => Ok(()),
        Err(_) => std::fs::create_dir_all(path)
            .map_err(|e| step_err(Step::CreateMountPoint, "mkdir", Some(path), errno_of(&e))),
    }
}

/// What a host system dir is: looked up once per fork server, before it
/// forks any sandbox, instead of once per sandbox.
#[derive(Debug, Clone)]
enum SystemDir {
    /// A directory: bound read-only.
    Dir(&'static str),
    /// A symlink (a merged `/usr`): recreated.
    Link(&'static str, PathBuf),
}

/// The host's system dirs and device nodes, as [`SYSTEM_DIRS`] and
/// [`DEVICES`] find them on this host.
struct HostLayout {
    dirs: Vec<SystemDir>,
    devices: Vec<&'static str>,
}

static HOST_LAYOUT: std::sync::OnceLock<HostLayout> = std::sync::OnceLock::new();

fn host_layout() -> &'static HostLayout {
    HOST_LAYOUT.get_or_init(|| HostLayout {
        dirs: SYSTEM_DIRS
            .iter()
            .filter_map(|dir| match std::fs::symlink_metadata(dir) {
                Ok(m) if m.file_type().is_symlink() => std::fs::read_link(dir)
                    .ok()
                    .map(|l| SystemDir::Link(dir, l)),
                Ok(m) if m.is_dir() => Some(SystemDir::Dir(dir)),
                _ => None,
            })
            .collect(),
        devices: DEVICES
            .iter()
            .copied()
            .filter(|d| Path::new("/dev").join(d).exists())
            .collect(),
    })
}

/// Looks up the host layout now (the fork server calls this once, so its
/// children inherit the answer).
pub fn warm_up() {
    host_layout();
}

/// Creates the mount point for `source` at `target`: a directory or an
/// empty file, like the source.
fn mount_point_for(source: &Path, target: &Path) -> R {
    let meta = std::fs::metadata(source)
        .map_err(|e| step_err(Step::BindMount, "stat", Some(source), errno_of(&e)))?;
    if meta.is_dir() {
        mkdir_p(target)
    } else {
        if let Some(parent) = target.parent() {
            mkdir_p(parent)?;
        }
        if target.exists() {
            return Ok(());
        }
        std::fs::File::create(target)
            .map(drop)
            .map_err(|e| step_err(Step::CreateMountPoint, "open", Some(target), errno_of(&e)))
    }
}

/// Binds `source` at `target` (recursively), read-only unless `writable`.
fn bind(source: &Path, target: &Path, writable: bool) -> R {
    mount_point_for(source, target)?;
    mount(
        Some(source),
        target,
        None::<&str>,
        MsFlags::MS_BIND | MsFlags::MS_REC,
        None::<&str>,
    )
    .map_err(|e| step_err(Step::BindMount, "mount", Some(source), e as i32))?;
    if !writable {
        make_readonly(target)?;
    }
    Ok(())
}

/// Makes the mount at `target` read-only: recursively with
/// `mount_setattr`, else by remounting the top mount, keeping the flags the
/// kernel locks for mounts inherited from a more privileged namespace.
fn make_readonly(target: &Path) -> R {
    let c = CString::new(target.as_os_str().as_bytes())
        .map_err(|_| step_err(Step::RemountReadOnly, "mount_setattr", Some(target), 22))?;
    match crate::sys::make_readonly_recursive(&c) {
        Ok(()) => return Ok(()),
        Err(e) if e.raw_os_error() == Some(38) => {}
        Err(e) => {
            return Err(step_err(
                Step::RemountReadOnly,
                "mount_setattr",
                Some(target),
                errno_of(&e),
            ))
        }
    }
    let st = nix::sys::statvfs::statvfs(target)
        .map_err(|e| step_err(Step::RemountReadOnly, "statvfs", Some(target), e as i32))?;
    use nix::sys::statvfs::FsFlags;
    let mut flags = MsFlags::MS_REMOUNT | MsFlags::MS_BIND | MsFlags::MS_RDONLY;
    let f = st.flags();
    for (fs, ms) in [
        (FsFlags::ST_NOSUID, MsFlags::MS_NOSUID),
        (FsFlags::ST_NODEV, MsFlags::MS_NODEV),
        (FsFlags::ST_NOEXEC, MsFlags::MS_NOEXEC),
        (FsFlags::ST_NOATIME, MsFlags::MS_NOATIME),
        (FsFlags::ST_NODIRATIME, MsFlags::MS_NODIRATIME),
        (FsFlags::ST_RELATIME, MsFlags::MS_RELATIME),
    ] {
        if f.contains(fs) {
            flags |= ms;
        }
    }
    mount(None::<&str>, target, None::<&str>, flags, None::<&str>)
        .map_err(|e| step_err(Step::RemountReadOnly, "mount", Some(target), e as i32))
}

fn make_root_private() -> R {
    mount(
        None::<&str>,
        "/",
        None::<&str>,
        MsFlags::MS_REC | MsFlags::MS_PRIVATE,
        None::<&str>,
    )
    .map_err(|e| step_err(Step::MakeRootPrivate, "mount", Some("/".as_ref()), e as i32))
}

/// `pid` without `mnt`: the host's tree stays, with a fresh `/proc` over
/// the host's so `/proc` shows only the sandbox's processes.
pub fn fresh_proc_in_place() -> R {
    make_root_private()?;
    mount_proc(Path::new("/proc"))
}

fn mount_proc(target: &Path) -> R {
    mount(
        Some("proc"),
        target,
        Some("proc"),
        MsFlags::MS_NOSUID | MsFlags::MS_NODEV | MsFlags::MS_NOEXEC,
        None::<&str>,
    )
    .map_err(|e| step_err(Step::MountProc, "mount", Some(target), e as i32))
}

/// Whether a host path can be bound at its own path in a `mnt` sandbox
/// whose home is `home`: not `/` or a parent of a directory the sandbox
/// makes fresh (`/tmp`, `/run`, `/dev`, `$HOME`: binding it would hide
/// them), not inside `/proc` or `/sys`, not inside a system dir (bound
/// already).
pub fn bindable(path: &Path, home: &Path) -> bool {
    let fresh = ["/tmp", "/run", "/dev", "/proc", "/sys"]
        .iter()
        .map(Path::new)
        .chain([home]);
    path.is_absolute()
        && !fresh.into_iter().any(|m| m.starts_with(path))
        && !path.starts_with("/proc")
        && !path.starts_with("/sys")
        && !SYSTEM_DIRS.iter().any(|d| path.starts_with(d))
}

/// `/x/y` under `root`.
fn under(root: &Path, path: &Path) -> PathBuf {
    root.join(path.strip_prefix("/").unwrap_or(path))
}

/// The home directory to give a `mnt` sandbox: the test's `$HOME` path
/// when it is an ordinary directory outside the system dirs, else
/// [`FALLBACK_HOME`].
pub fn sandbox_home(req: &Request) -> PathBuf {
    // `env(HOME = "...")` first: the fresh home is made where it points.
    let home = req
        .options
        .set_env
        .iter()
        .chain(&req.env)
        .find(|(k, _)| k == "HOME")
        .map(|(_, v)| PathBuf::from(v));
    match home {
        Some(h)
            if h.is_absolute()
                && h.components().count() > 1
                && !SYSTEM_DIRS
                    .iter()
                    .chain(["/tmp", "/proc", "/dev", "/sys", "/run"].iter())
                    .any(|d| h.starts_with(d) || Path::new(d).starts_with(&h)) =>
        {
            h
        }
        _ => PathBuf::from(FALLBACK_HOME),
    }
}

/// Environment changes for a `mnt` sandbox: fresh writable `HOME`,
/// `TMPDIR`, `XDG_RUNTIME_DIR`; the other XDG dirs unset so they default
/// under the fresh `HOME`.
pub fn sandbox_env(req: &Request) -> Vec<(&'static str, Option<OsString>)> {
    vec![
        ("HOME", Some(sandbox_home(req).into_os_string())),
        ("TMPDIR", Some("/tmp".into())),
        ("XDG_RUNTIME_DIR", Some(runtime_dir(req).into_os_string())),
        ("XDG_CONFIG_HOME", None),
        ("XDG_CACHE_HOME", None),
        ("XDG_DATA_HOME", None),
        ("XDG_STATE_HOME", None),
    ]
}

/// Builds the sandbox root and switches to it (see the module docs).
pub fn build_root(req: &Request) -> R {
    // 1. Nothing propagates back to the host.
    make_root_private()?;

    // 2. Stage on a tmpfs over /tmp and pivot into it; the host root is
    //    then /oldroot, with its own /tmp visible again.
    let staging = Path::new("/tmp");
    mount_tmpfs(staging, "0755", MsFlags::MS_NOSUID | MsFlags::MS_NODEV)?;
    std::env::set_current_dir(staging)
        .map_err(|e| step_err(Step::PivotRoot, "chdir", Some(staging), errno_of(&e)))?;
    mkdir_p(Path::new("oldroot"))?;
    nix::unistd::pivot_root(".", "oldroot")
        .map_err(|e| step_err(Step::PivotRoot, "pivot_root", Some(staging), e as i32))?;
    std::env::set_current_dir("/")
        .map_err(|e| step_err(Step::PivotRoot, "chdir", Some("/".as_ref()), errno_of(&e)))?;
    let old = Path::new("/oldroot");

    // 3. The sandbox root.
    let new = Path::new("/newroot");
    mkdir_p(new)?;
    mount_tmpfs(new, "0755", MsFlags::MS_NOSUID | MsFlags::MS_NODEV)?;

    // 4. Fresh writable /tmp, /run (XDG_RUNTIME_DIR) and $HOME.
    let tmp = new.join("tmp");
    mkdir_p(&tmp)?;
    mount_tmpfs(&tmp, "1777", MsFlags::MS_NOSUID | MsFlags::MS_NODEV)?;
    let run = new.join("run");
    mkdir_p(&run)?;
    mount_tmpfs(&run, "0755", MsFlags::MS_NOSUID | MsFlags::MS_NODEV)?;
    let runtime = under(new, &runtime_dir(req));
    mkdir_p(&runtime)?;
    std::fs::set_permissions(&runtime, std::fs::Permissions::from_mode(0o700)).map_err(|e| {
        step_err(
            Step::CreateMountPoint,
            "chmod",
            Some(&runtime),
            errno_of(&e),
        )
    })?;
    let home = sandbox_home(req);
    let home_inside = under(new, &home);
    mkdir_p(&home_inside)?;
    mount_tmpfs(&home_inside, "0755", MsFlags::MS_NOSUID | MsFlags::MS_NODEV)?;

    // 5. System dirs, read-only; a merged /usr's symlinks stay symlinks.
    let layout = host_layout();
    for entry in &layout.dirs {
        match entry {
            SystemDir::Link(dir, link) => {
                let dst = under(new, Path::new(dir));
                std::os::unix::fs::symlink(link, &dst).map_err(|e| {
                    step_err(Step::CreateMountPoint, "symlink", Some(&dst), errno_of(&e))
                })?;
            }
            SystemDir::Dir(dir) => {
                bind(
                    &under(old, Path::new(dir)),
                    &under(new, Path::new(dir)),
                    false,
                )?;
            }
        }
    }

    // 6. A minimal /dev.
    let dev = new.join("dev");
    mkdir_p(&dev)?;
    mount_tmpfs(&dev, "0755", MsFlags::MS_NOSUID | MsFlags::MS_NOEXEC)?;
    for d in &layout.devices {
        bind(&old.join("dev").join(d), &dev.join(d), true)?;
    }
    let pts = dev.join("pts");
    mkdir_p(&pts)?;
    mount(
        Some("devpts"),
        &pts,
        Some("devpts"),
        MsFlags::MS_NOSUID | MsFlags::MS_NOEXEC,
        Some("newinstance,ptmxmode=0666,mode=0620"),
    )
    .map_err(|e| step_err(Step::MountDevpts, "mount", Some(&pts), e as i32))?;
    let shm = dev.join("shm");
    mkdir_p(&shm)?;
    mount_tmpfs(&shm, "1777", MsFlags::MS_NOSUID | MsFlags::MS_NODEV)?;
    for (name, target) in [
        ("ptmx", "pts/ptmx"),
        ("fd", "/proc/self/fd"),
        ("stdin", "/proc/self/fd/0"),
        ("stdout", "/proc/self/fd/1"),
        ("stderr", "/proc/self/fd/2"),
    ] {
        let link = dev.join(name);
        std::os::unix::fs::symlink(target, &link)
            .map_err(|e| step_err(Step::CreateMountPoint, "symlink", Some(&link), errno_of(&e)))?;
    }

    // 7. /proc (fresh when the PID namespace is ours) and /sys.
    let proc_dir = new.join("proc");
    mkdir_p(&proc_dir)?;
    if req.namespaces & ns::PID != 0 {
        mount_proc(&proc_dir)?;
    } else {
        mount(
            Some(&old.join("proc")),
            &proc_dir,
            None::<&str>,
            MsFlags::MS_BIND | MsFlags::MS_REC,
            None::<&str>,
        )
        .map_err(|e| step_err(Step::BindMount, "mount", Some("/proc".as_ref()), e as i32))?;
    }
    let sys_dir = new.join("sys");
    mkdir_p(&sys_dir)?;
    let fresh_sys = req.namespaces & ns::NET != 0
        && mount(
            Some("sysfs"),
            &sys_dir,
            Some("sysfs"),
            MsFlags::MS_RDONLY | MsFlags::MS_NOSUID | MsFlags::MS_NODEV | MsFlags::MS_NOEXEC,
            None::<&str>,
        )
        .is_ok();
    if !fresh_sys {
        bind(&old.join("sys"), &sys_dir, false).map_err(|e| SetupError {
            step: Step::MountSysfs,
            ..e
        })?;
    }

    // 8. The package, the test binary and the working directory, read-only
    //    at their usual paths (also when they live under /tmp, $HOME or
    //    /dev/shm): after the sandbox's own mounts, which would hide them.
    //    Not a path that holds a directory the sandbox makes fresh (`/`, a
    //    parent of /tmp or of $HOME): binding it would hide those.
    for path in &req.binds {
        if !bindable(path, &home) {
            continue;
        }
        let src = under(old, path);
        if std::fs::metadata(&src).is_err() {
            continue;
        }
        bind(&src, &under(new, path), false)?;
    }

    // 9. The test's own mounts (`bind`, `bind_rw`, `tmpfs`), over all of
    //    the above.
    user_mounts(req, old, new)?;

    // 10. Read-only root, pivot, detach the old root.
    remount_tmpfs_readonly(new).map_err(|e| SetupError {
        path: Some("/".into()),
        ..e
    })?;
    std::env::set_current_dir(new)
        .map_err(|e| step_err(Step::PivotRoot, "chdir", Some(new), errno_of(&e)))?;
    nix::unistd::pivot_root(".", ".")
        .map_err(|e| step_err(Step::PivotRoot, "pivot_root", Some(new), e as i32))?;
    umount2(".", MntFlags::MNT_DETACH).map_err(|e| {
        step_err(
            Step::PivotRoot,
            "umount2",
            Some("/oldroot".as_ref()),
            e as i32,
        )
    })?;
    std::env::set_current_dir("/")
        .map_err(|e| step_err(Step::PivotRoot, "chdir", Some("/".as_ref()), errno_of(&e)))?;
    Ok(())
}

/// Mounts the test's own `bind`, `bind_rw` and `tmpfs` in the new root
/// (`new`), parents first; sources are host paths, under `old`. Errors
/// name the host source or the path inside.
fn user_mounts(req: &Request, old: &Path, new: &Path) -> R {
    let mut shadows: Vec<PathBuf> = Vec::new();
    for m in &req.options.mounts {
        let target = under(new, &m.target);
        let inside = |e: SetupError| SetupError {
            path: Some(m.target.clone()),
            ..e
        };
        match m.kind {
            MountKind::Bind | MountKind::BindRw => {
                let src = under(old, &m.source);
                // A missing source fails here, naming the host path.
                let meta = std::fs::metadata(&src).map_err(|e| {
                    step_err(Step::BindMount, "stat", Some(&m.source), errno_of(&e))
                })?;
                mount_point(&target, meta.is_dir(), &mut shadows).map_err(inside)?;
                mount(
                    Some(&src),
                    &target,
                    None::<&str>,
                    MsFlags::MS_BIND | MsFlags::MS_REC,
                    None::<&str>,
                )
                .map_err(|e| step_err(Step::BindMount, "mount", Some(&m.source), e as i32))?;
                if m.kind == MountKind::Bind {
                    make_readonly(&target).map_err(inside)?;
                }
            }
            MountKind::Tmpfs => {
                mount_point(&target, true, &mut shadows).map_err(inside)?;
                mount_tmpfs(&target, "0755", MsFlags::MS_NOSUID | MsFlags::MS_NODEV)
                    .map_err(inside)?;
            }
        }
    }
    // Shadows stay as read-only as what they replaced; only this mount,
    // not the test's mounts on top of it.
    for dir in &shadows {
        remount_tmpfs_readonly(dir)?;
    }
    Ok(())
}

/// Makes a tmpfs this sandbox mounted read-only (only that mount, not
/// mounts on top of it).
fn remount_tmpfs_readonly(dir: &Path) -> R {
    mount(
        None::<&str>,
        dir,
        None::<&str>,
        MsFlags::MS_REMOUNT
            | MsFlags::MS_BIND
            | MsFlags::MS_RDONLY
            | MsFlags::MS_NOSUID
            | MsFlags::MS_NODEV,
        None::<&str>,
    )
    .map_err(|e| step_err(Step::RemountReadOnly, "mount", Some(dir), e as i32))
}

/// Makes `target` exist as a directory (`dir`) or a file to mount on. A
/// target that cannot be made where it is, in a read-only bind of a host
/// directory (`/etc/certs` in `/etc`), or that is a symlink, gets its
/// nearest existing ancestor shadowed first (see [`shadow`]).
fn mount_point(target: &Path, dir: bool, shadows: &mut Vec<PathBuf>) -> R {
    let create = || -> std::io::Result<()> {
        if dir {
            return std::fs::create_dir_all(target);
        }
        if let Some(parent) = target.parent() {
            std::fs::create_dir_all(parent)?;
        }
        if std::fs::symlink_metadata(target).is_ok() {
            return Ok(());
        }
        std::fs::File::create(target).map(drop)
    };
    let is_symlink =
        |p: &Path| std::fs::symlink_metadata(p).is_ok_and(|m| m.file_type().is_symlink());
    let failed = |e: std::io::Error| {
        step_err(
            Step::CreateMountPoint,
            if dir { "mkdir" } else { "open" },
            Some(target),
            errno_of(&e),
        )
    };
    if is_symlink(target) {
        // Mounting on a symlink mounts on what it points to: replace the
        // link itself with a mount point.
        let parent = target.parent().unwrap_or(Path::new("/"));
        shadow(parent, target.file_name(), shadows)?;
        return create().map_err(failed);
    }
    match create() {
        Ok(()) => Ok(()),
        Err(e) if matches!(errno_of(&e), 1 | 13 | 30) => {
            // EPERM, EACCES, EROFS: shadow the nearest existing ancestor.
            let mut ancestor = target;
            while !ancestor.exists() {
                ancestor = ancestor.parent().unwrap_or(Path::new("/"));
            }
            shadow(ancestor, None, shadows)?;
            create().map_err(failed)
        }
        Err(e) => Err(failed(e)),
    }
}

/// Replaces directory `dir` with a writable copy of itself: the original
/// is bound aside, a tmpfs with its mode goes on top, and each entry is
/// bound back (symlinks recreated), except `skip`, which is left for a
/// mount point. The tmpfs is made read-only once the test's mounts are
/// done; the entries keep their own mounts' flags.
fn shadow(dir: &Path, skip: Option<&OsStr>, shadows: &mut Vec<PathBuf>) -> R {
    if shadows.iter().any(|s| s == dir) {
        return Ok(());
    }
    // Aside in the staging root, which the final pivot detaches.
    let aside = Path::new("/shadow").join(shadows.len().to_string());
    mkdir_p(&aside)?;
    mount(
        Some(dir),
        &aside,
        None::<&str>,
        MsFlags::MS_BIND | MsFlags::MS_REC,
        None::<&str>,
    )
    .map_err(|e| step_err(Step::BindMount, "mount", Some(dir), e as i32))?;
    let mode = std::fs::metadata(&aside)
        .map(|m| m.permissions().mode() & 0o7777)
        .unwrap_or(0o755);
    mount_tmpfs(
        dir,
        &format!("{mode:o}"),
        MsFlags::MS_NOSUID | MsFlags::MS_NODEV,
    )?;
    let entries = std::fs::read_dir(&aside)
        .map_err(|e| step_err(Step::CreateMountPoint, "opendir", Some(dir), errno_of(&e)))?;
    for entry in entries.flatten() {
        let name = entry.file_name();
        if skip == Some(name.as_os_str()) {
            continue;
        }
        let (src, dst) = (aside.join(&name), dir.join(&name));
        let Ok(meta) = std::fs::symlink_metadata(&src) else {
            continue;
        };
        if meta.file_type().is_symlink() {
            let link = std::fs::read_link(&src).map_err(|e| {
                step_err(Step::CreateMountPoint, "readlink", Some(&src), errno_of(&e))
            })?;
            std::os::unix::fs::symlink(&link, &dst).map_err(|e| {
                step_err(Step::CreateMountPoint, "symlink", Some(&dst), errno_of(&e))
            })?;
            continue;
        }
        if meta.is_dir() {
            mkdir_p(&dst)?;
        } else {
            std::fs::File::create(&dst)
                .map(drop)
                .map_err(|e| step_err(Step::CreateMountPoint, "open", Some(&dst), errno_of(&e)))?;
        }
        mount(
            Some(&src),
            &dst,
            None::<&str>,
            MsFlags::MS_BIND | MsFlags::MS_REC,
            None::<&str>,
        )
        .map_err(|e| step_err(Step::BindMount, "mount", Some(&dst), e as i32))?;
    }
    shadows.push(dir.to_path_buf());
    Ok(())
}
