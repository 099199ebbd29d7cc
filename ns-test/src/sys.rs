//! Every `unsafe` block of the crate, each a thin wrapper around one
//! operation the safe wrappers in `nix` do not cover (or mark unsafe).
//!
//! Man pages: fork(2), ioctl(2) + netdevice(7), mount_setattr(2),
//! close_range(2), signal(7), execve(2).
#![allow(unsafe_code)]

use std::io;
use std::os::fd::{FromRawFd, OwnedFd, RawFd};

use nix::libc;

use crate::private::Body;

/// The fixed point fn-pointer offsets are measured from. A test thread
/// sends `body - anchor`; the fork server, the same executable, adds it back.
#[inline(never)]
pub fn anchor() -> crate::outcome::Outcome {
    crate::outcome::Outcome::Passed
}

/// `body`'s distance from [`anchor`].
pub fn body_offset(body: Body) -> u64 {
    (body as usize).wrapping_sub(anchor as *const () as usize) as u64
}

/// The test body at `offset` from [`anchor`].
///
/// Only the fork server calls this, with an offset a test thread computed
/// by [`body_offset`] in the same executable (the server checks the
/// requester's `/proc/self/exe` is its own file before forking).
pub fn body_at(offset: u64) -> Body {
    let addr = (anchor as *const () as usize).wrapping_add(offset as usize);
    // SAFETY: `addr` is `body as usize` translated into this process: the
    // server runs the same executable as the requester (checked by inode),
    // and relative distances between functions of one executable are
    // fixed at link time, whatever its load address. `Body` is a plain
    // `fn() -> Outcome`, the type the requester passed.
    unsafe { std::mem::transmute::<usize, Body>(addr) }
}

/// Runs before `main` in every process of an executable that links
/// `ns_test`. In the fork server (an environment variable says so) it
/// never returns; everywhere else it returns at once. glibc passes `main`'s
/// arguments to `.init_array` functions; the server keeps where its
/// second argument lies, to title the sandbox processes it forks.
extern "C" fn before_main(
    argc: std::ffi::c_int,
    argv: *const *mut std::ffi::c_char,
    envp: *const *const std::ffi::c_char,
) {
    // Exactly the server's role: only it never returns to the C runtime,
    // which would otherwise run the later constructors a second time.
    if std::env::var_os(crate::server::ROLE_ENV).is_some_and(|r| r == crate::server::ROLE_SERVER) {
        remember_title_area(argc, argv);
        run_later_constructors(argc, argv, envp);
    }
    crate::server::maybe_serve();
}

/// The signature glibc calls `.init_array` entries with.
type InitFn =
    extern "C" fn(std::ffi::c_int, *const *mut std::ffi::c_char, *const *const std::ffi::c_char);

extern "C" {
    // The bounds of this executable's `.init_array`, defined by the linker
    // (GNU ld, lld, mold) when referenced.
    static __init_array_start: usize;
    static __init_array_end: usize;
}

/// Runs the `.init_array` entries after [`BEFORE_MAIN`], as the C runtime
/// would once `before_main` returned. The fork server never returns, so
/// without this the constructors linked after this crate's would never run
/// in it, nor in the sandboxes it forks: LLVM's coverage profiler, for one,
/// registers there the `atexit` handler that writes a sandbox's profile.
fn run_later_constructors(
    argc: std::ffi::c_int,
    argv: *const *mut std::ffi::c_char,
    envp: *const *const std::ffi::c_char,
) {
    // The linker puts both symbols at the start and the end of the
    // `.init_array` section: relocated function pointers, `usize` each.
    let start = std::ptr::addr_of!(__init_array_start);
    let end = std::ptr::addr_of!(__init_array_end);
    let len = (end as usize).saturating_sub(start as usize) / std::mem::size_of::<usize>();
    // SAFETY: `start..end` is that section, aligned, alive as long as the
    // process, and nothing writes it after relocation.
    let entries = unsafe { std::slice::from_raw_parts(start, len) };
    let me = before_main as InitFn as usize;
    let Some(mine) = entries.iter().position(|&entry| entry == me) else {
        return;
    };
    for &entry in &entries[mine + 1..] {
        // 0 and -1 are the old `.ctors` list's terminators, not functions.
        if entry == 0 || entry == usize::MAX {
            continue;
        }
        // SAFETY: every other entry of `.init_array` is a constructor the C
        // runtime would call next with these same arguments, once each and
        // single-threaded; this process never returns to the runtime, so
        // each still runs exactly once.
        let constructor = unsafe { std::mem::transmute::<usize, InitFn>(entry) };
        constructor(argc, argv, envp);
    }
}

/// Where the fork server's second argument lies: the bytes a sandbox
/// process overwrites with its title, which `/proc/PID/cmdline` shows.
static TITLE_AREA: std::sync::atomic::AtomicPtr<u8> =
    std::sync::atomic::AtomicPtr::new(std::ptr::null_mut());
static TITLE_LEN: std::sync::atomic::AtomicUsize = std::sync::atomic::AtomicUsize::new(0);

#[cfg(target_env = "gnu")]
fn remember_title_area(argc: std::ffi::c_int, argv: *const *mut std::ffi::c_char) {
    use std::sync::atomic::Ordering;
    if argc < 2 || argv.is_null() {
        return;
    }
    // SAFETY: glibc calls `.init_array` functions with main's argc and
    // argv: `argv` holds `argc` valid pointers to NUL-terminated strings
    // that live as long as the process.
    let (arg0, arg1) = unsafe { (*argv, *argv.add(1)) };
    if arg0.is_null() || arg1.is_null() {
        return;
    }
    // SAFETY: both are NUL-terminated strings (see above).
    let (name, area) = unsafe {
        (
            std::ffi::CStr::from_ptr(arg0),
            std::ffi::CStr::from_ptr(arg1),
        )
    };
    if name.to_bytes() != crate::inspect::SERVER_ARGV0.as_bytes() {
        return;
    }
    TITLE_LEN.store(area.to_bytes().len(), Ordering::SeqCst);
    TITLE_AREA.store(arg1.cast::<u8>(), Ordering::SeqCst);
}

#[cfg(not(target_env = "gnu"))]
fn remember_title_area(_argc: std::ffi::c_int, _argv: *const *mut std::ffi::c_char) {
    // Other libcs do not pass main's arguments to `.init_array` functions:
    // sandboxes keep the server's title.
}

/// Shows `title` as this process's second argument in `/proc/PID/cmdline`
/// (cut to the room the server reserved). Only single-threaded processes
/// forked by the fork server call it.
pub fn set_title(title: &str) {
    use std::sync::atomic::Ordering;
    let area = TITLE_AREA.load(Ordering::SeqCst);
    let len = TITLE_LEN.load(Ordering::SeqCst);
    if area.is_null() || len == 0 {
        return;
    }
    let bytes = title.as_bytes();
    let n = bytes.len().min(len);
    // SAFETY: `area` points to the `len` bytes of the server's second
    // argument plus its NUL (see `remember_title_area`); this process is a
    // fork with its own copy, single-threaded, and nothing else reads or
    // writes that memory. The final NUL stays in place.
    unsafe {
        std::ptr::copy_nonoverlapping(bytes.as_ptr(), area, n);
        std::ptr::write_bytes(area.add(n), 0, len - n);
    }
}

/// The `.init_array` entry for [`before_main`]; glibc and musl call each
/// entry before `main`, while the process is still single-threaded.
#[used]
#[link_section = ".init_array"]
pub static BEFORE_MAIN: extern "C" fn(
    std::ffi::c_int,
    *const *mut std::ffi::c_char,
    *const *const std::ffi::c_char,
) = before_main;

/// `fork()` in a process that is single-threaded (the fork server and the
/// sandbox processes it creates), so the child may run ordinary Rust code.
pub fn fork_single_threaded() -> nix::Result<nix::unistd::ForkResult> {
    // SAFETY: only called from the fork server and its children, which never
    // start a thread before forking: no lock can be held by a thread that
    // does not exist in the child.
    unsafe { nix::unistd::fork() }
}

/// Sets the disposition of `sig` to ignore (`true`) or default.
pub fn set_signal_ignored(sig: nix::sys::signal::Signal, ignore: bool) {
    let h = if ignore {
        nix::sys::signal::SigHandler::SigIgn
    } else {
        nix::sys::signal::SigHandler::SigDfl
    };
    // SAFETY: SIG_IGN and SIG_DFL install no handler code, so nothing can
    // run in signal context.
    let _ = unsafe { nix::sys::signal::signal(sig, h) };
}

/// Takes ownership of a descriptor nothing else in this process owns: one
/// the kernel just installed (`recvmsg` with `SCM_RIGHTS`, `F_DUPFD`), or
/// the fork server's socket, inherited at exec and named by its
/// environment.
pub fn own_fd(fd: RawFd) -> OwnedFd {
    // SAFETY: callers pass a descriptor that is open and that no other
    // owner in this process will close (see above); the server's socket
    // number comes from the test process that opened it for us.
    unsafe { OwnedFd::from_raw_fd(fd) }
}

/// Closes every descriptor from `first` to `last` inclusive.
pub fn close_range(first: u32, last: u32) {
    // SAFETY: close_range only closes descriptors; callers have moved every
    // descriptor they still need out of the range.
    let r = unsafe { libc::syscall(libc::SYS_close_range, first, last, 0) };
    if r != 0 {
        for fd in first..=last.min(4096) {
            let _ = nix::unistd::close(fd as RawFd);
        }
    }
}

/// Brings the interface `name` up (`SIOCGIFFLAGS`, then `SIOCSIFFLAGS` with
/// `IFF_UP`). The kernel gives `lo` 127.0.0.1/8 and ::1 when it comes up.
pub fn interface_up(name: &str) -> io::Result<()> {
    let sock = nix::sys::socket::socket(
        nix::sys::socket::AddressFamily::Inet,
        nix::sys::socket::SockType::Datagram,
        nix::sys::socket::SockFlag::SOCK_CLOEXEC,
        None,
    )
    .map_err(io::Error::from)?;
    // SAFETY: ifreq is plain old data; all-zero is a valid value.
    let mut req: libc::ifreq = unsafe { std::mem::zeroed() };
    if name.len() >= req.ifr_name.len() {
        return Err(io::Error::from_raw_os_error(libc::EINVAL));
    }
    for (d, s) in req.ifr_name.iter_mut().zip(name.bytes()) {
        *d = s as libc::c_char;
    }
    use std::os::fd::AsRawFd;
    // SAFETY: SIOCGIFFLAGS reads the interface named in `req` and writes
    // its flags into `req.ifr_ifru`; `req` outlives the call.
    if unsafe { libc::ioctl(sock.as_raw_fd(), libc::SIOCGIFFLAGS, &mut req) } < 0 {
        return Err(io::Error::last_os_error());
    }
    // SAFETY: the kernel filled the `ifru_flags` member just above.
    unsafe {
        req.ifr_ifru.ifru_flags |= (libc::IFF_UP | libc::IFF_RUNNING) as libc::c_short;
    }
    // SAFETY: SIOCSIFFLAGS reads `req`, which names the interface and holds
    // the new flags.
    if unsafe { libc::ioctl(sock.as_raw_fd(), libc::SIOCSIFFLAGS, &req) } < 0 {
        return Err(io::Error::last_os_error());
    }
    Ok(())
}

#[repr(C)]
struct MountAttr {
    attr_set: u64,
    attr_clr: u64,
    propagation: u64,
    userns_fd: u64,
}

/// Makes the mount at `path` and every mount below it read-only
/// (`mount_setattr(AT_RECURSIVE, MOUNT_ATTR_RDONLY)`, Linux ≥ 5.12).
/// `ENOSYS` tells the caller to fall back to a remount.
pub fn make_readonly_recursive(path: &std::ffi::CStr) -> io::Result<()> {
    const MOUNT_ATTR_RDONLY: u64 = 0x1;
    const AT_RECURSIVE: libc::c_uint = 0x8000;
    let attr = MountAttr {
        attr_set: MOUNT_ATTR_RDONLY,
        attr_clr: 0,
        propagation: 0,
        userns_fd: 0,
    };
    // SAFETY: `path` is NUL-terminated and `attr` is a valid mount_attr of
    // the size passed; the kernel only reads both.
    let r = unsafe {
        libc::syscall(
            libc::SYS_mount_setattr,
            libc::AT_FDCWD,
            path.as_ptr(),
            AT_RECURSIVE,
            &attr as *const MountAttr,
            std::mem::size_of::<MountAttr>(),
        )
    };
    if r < 0 {
        Err(io::Error::last_os_error())
    } else {
        Ok(())
    }
}

/// Spawns `cmd` with `fd` inherited (its close-on-exec flag cleared in the
/// child) and `SIGKILL` as the child's parent-death signal.
///
/// The parent-death signal fires when the *thread* that forks exits, so
/// callers spawn from a thread that lives as long as the process.
pub fn spawn_keeping_fd(
    cmd: &mut std::process::Command,
    fd: RawFd,
) -> io::Result<std::process::Child> {
    use std::os::unix::process::CommandExt;
    // SAFETY: the closure runs between fork and exec and makes only
    // async-signal-safe system calls (fcntl, prctl); it allocates nothing.
    unsafe {
        cmd.pre_exec(move || {
            if libc::fcntl(fd, libc::F_SETFD, 0) < 0 {
                return Err(io::Error::last_os_error());
            }
            if libc::prctl(libc::PR_SET_PDEATHSIG, libc::SIGKILL as libc::c_ulong) < 0 {
                return Err(io::Error::last_os_error());
            }
            Ok(())
        })
    };
    cmd.spawn()
}

/// Ends the process at once with `code`, without running exit handlers
/// (for processes whose parent owns every resource they hold).
pub fn exit_now(code: i32) -> ! {
    // SAFETY: _exit takes no pointers and never returns.
    unsafe { libc::_exit(code) }
}

/// Drops every capability of this (single-threaded) process for good: the
/// bounding set (so no file capability can grant one back on `execve`),
/// the ambient set, then the effective, permitted and inheritable sets.
///
/// Man pages: capabilities(7), prctl(2) (`PR_CAPBSET_DROP`,
/// `PR_CAP_AMBIENT`), capset(2).
pub fn drop_capabilities() -> io::Result<()> {
    // Capabilities are numbered from 0 to cap_last_cap; PR_CAPBSET_DROP
    // fails with EINVAL past the last one this kernel knows.
    for cap in 0..64 {
        // SAFETY: PR_CAPBSET_DROP takes an integer argument and touches no
        // memory of ours.
        let r = unsafe { libc::prctl(libc::PR_CAPBSET_DROP, cap as libc::c_ulong, 0, 0, 0) };
        if r < 0 {
            let e = io::Error::last_os_error();
            if e.raw_os_error() == Some(libc::EINVAL) && cap > 0 {
                break;
            }
            return Err(e);
        }
    }
    // SAFETY: PR_CAP_AMBIENT_CLEAR_ALL takes integer arguments only.
    let r = unsafe {
        libc::prctl(
            libc::PR_CAP_AMBIENT,
            libc::PR_CAP_AMBIENT_CLEAR_ALL as libc::c_ulong,
            0,
            0,
            0,
        )
    };
    // EINVAL: a kernel without ambient capabilities (< 4.3) has none to clear.
    if r < 0 && io::Error::last_os_error().raw_os_error() != Some(libc::EINVAL) {
        return Err(io::Error::last_os_error());
    }
    #[repr(C)]
    struct Header {
        version: u32,
        pid: libc::c_int,
    }
    #[repr(C)]
    #[derive(Clone, Copy)]
    struct Data {
        effective: u32,
        permitted: u32,
        inheritable: u32,
    }
    const LINUX_CAPABILITY_VERSION_3: u32 = 0x2008_0522;
    let mut header = Header {
        version: LINUX_CAPABILITY_VERSION_3,
        pid: 0,
    };
    let data = [Data {
        effective: 0,
        permitted: 0,
        inheritable: 0,
    }; 2];
    // SAFETY: capset reads a version-3 header and two data structs (64
    // capability bits), which is what `header` and `data` are; both outlive
    // the call. pid 0 is this thread, the only one.
    let r = unsafe { libc::syscall(libc::SYS_capset, &mut header as *mut Header, data.as_ptr()) };
    if r < 0 {
        return Err(io::Error::last_os_error());
    }
    Ok(())
}
