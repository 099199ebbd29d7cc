//! The sandbox side: three processes per sandbox, each a fork of the
//! single-threaded fork server, so each may run ordinary Rust code.
//!
//! ```text
//! fork server ──fork──▶ keeper   creates the namespaces, writes the id maps,
//!                         │        waits for the reaper and reports its end
//!                         └─fork─▶ reaper   PID 1 with `pid`, else a child
//!                                    │        subreaper; builds the root,
//!                                    │        brings lo up, sets the
//!                                    │        hostname, enforces the timeout
//!                                    └─fork─▶ payload  runs the test body
//!                                                (or execs the command)
//! ```
//!
//! The payload is not PID 1 so that signals it raises itself (`abort()`)
//! behave as in any process; when the reaper ends, the kernel kills every
//! other process of the PID namespace.

use std::io::Write;
use std::os::fd::{AsFd, AsRawFd, BorrowedFd, OwnedFd, RawFd};
use std::time::{Duration, Instant};

use nix::errno::Errno;
use nix::fcntl::{fcntl, FcntlArg};
use nix::sched::{unshare, CloneFlags};
use nix::sys::signal::{kill, SigSet, SigmaskHow, Signal};
use nix::sys::signalfd::{SfdFlags, SignalFd};
use nix::sys::socket::{send as sock_send, MsgFlags};
use nix::sys::wait::{waitpid, WaitPidFlag, WaitStatus};
use nix::unistd::{dup2, ForkResult, Pid};

use crate::error::{SetupError, Step};
use crate::outcome::Outcome;
use crate::private::ns;
use crate::protocol::{
    BodyResult, ExitKind, Payload, Report, Request, Rlimits, StdioLayout, TimeOffsets,
};
use crate::sys;

/// The report socket is moved to the first free descriptor at or above this
/// number, close-on-exec, out of the way of descriptors a test opens.
const REPORT_FD_MIN: RawFd = 900;

/// Sends one report; errors mean the test thread is gone and are ignored
/// by callers.
pub(crate) fn send(fd: RawFd, r: &Report) -> nix::Result<()> {
    sock_send(fd, &r.encode(), MsgFlags::MSG_NOSIGNAL).map(|_| ())
}

fn fail(report: RawFd, e: SetupError) -> ! {
    let _ = send(
        report,
        &Report::SetupFailed {
            step: e.step.code(),
            syscall: e.syscall,
            path: e.path.map(|p| {
                use std::os::unix::ffi::OsStringExt;
                p.into_os_string().into_vec()
            }),
            errno: e.errno,
        },
    );
    sys::exit_now(1)
}

/// A failed step as a [`SetupError`].
pub(crate) fn step_err(
    step: Step,
    syscall: &str,
    path: Option<&std::path::Path>,
    errno: i32,
) -> SetupError {
    SetupError {
        step,
        syscall: syscall.to_string(),
        path: path.map(|p| p.to_path_buf()),
        errno,
    }
}

fn io_errno(e: &std::io::Error) -> i32 {
    e.raw_os_error().unwrap_or(libc_eio())
}

fn libc_eio() -> i32 {
    Errno::EIO as i32
}

fn exit_kind(s: WaitStatus) -> Option<ExitKind> {
    match s {
        WaitStatus::Exited(_, c) => Some(ExitKind::Code(c)),
        WaitStatus::Signaled(_, sig, core) => Some(ExitKind::Signal {
            signal: sig as i32,
            core_dumped: core,
        }),
        _ => None,
    }
}

/// Sends `Trace` reports when the request asks for them
/// (`NS_TEST_LOG=debug`).
struct Tracer {
    report: RawFd,
    on: bool,
}

impl Tracer {
    /// Reports `step` (with `detail`) as finished, timed from `since`.
    fn done(&self, step: Step, detail: &str, since: Instant) {
        if self.on {
            let _ = send(
                self.report,
                &Report::Trace {
                    step: step.code(),
                    detail: detail.to_string(),
                    micros: since.elapsed().as_micros().min(u64::MAX as u128) as u64,
                },
            );
        }
    }
}

/// The clone flags for the namespace bits.
pub(crate) fn clone_flags(bits: u32) -> CloneFlags {
    let mut f = CloneFlags::CLONE_NEWUSER;
    if bits & ns::NET != 0 {
        f |= CloneFlags::CLONE_NEWNET;
    }
    if bits & (ns::MNT | ns::PID) != 0 {
        // A fresh /proc for `pid` needs a mount namespace of its own.
        f |= CloneFlags::CLONE_NEWNS;
    }
    if bits & ns::PID != 0 {
        f |= CloneFlags::CLONE_NEWPID;
    }
    if bits & ns::IPC != 0 {
        f |= CloneFlags::CLONE_NEWIPC;
    }
    if bits & ns::UTS != 0 {
        f |= CloneFlags::CLONE_NEWUTS;
    }
    if bits & ns::CGROUP != 0 {
        f |= CloneFlags::CLONE_NEWCGROUP;
    }
    if bits & ns::TIME != 0 {
        f |= CloneFlags::from_bits_retain(nix::libc::CLONE_NEWTIME);
    }
    f
}

/// `unshare`, retried with backoff for up to two seconds on `ENOSPC`/
/// `EUSERS`: dead namespaces are freed tens of milliseconds after their
/// last process exits, so a burst of sandboxes can briefly exceed a low
/// `max_*_namespaces`.
pub(crate) fn unshare_retrying(flags: CloneFlags) -> Result<(), Errno> {
    let start = Instant::now();
    let mut pause = Duration::from_millis(2);
    loop {
        match unshare(flags) {
            Err(e @ (Errno::ENOSPC | Errno::EUSERS))
                if start.elapsed() < Duration::from_secs(2) && !limit_is_zero() =>
            {
                let _ = e;
                std::thread::sleep(pause);
                pause = (pause * 2).min(Duration::from_millis(100));
            }
            r => return r,
        }
    }
}

/// A limit of 0 is a setting, not a burst: no point waiting for it.
fn limit_is_zero() -> bool {
    std::fs::read_to_string("/proc/sys/user/max_user_namespaces").is_ok_and(|v| v.trim() == "0")
}

/// Writes the id maps of a user namespace this process just created: the
/// invoking user and group become 0 inside. `setgroups` is denied first,
/// as the kernel requires of an unprivileged writer.
pub(crate) fn write_id_maps(uid: u32, gid: u32) -> Result<(), SetupError> {
    let w = |step: Step, path: &str, data: String| {
        std::fs::write(path, data)
            .map_err(|e| step_err(step, "write", Some(path.as_ref()), io_errno(&e)))
    };
    w(Step::DenySetgroups, "/proc/self/setgroups", "deny".into())?;
    w(
        Step::WriteUidMap,
        "/proc/self/uid_map",
        format!("0 {uid} 1\n"),
    )?;
    w(
        Step::WriteGidMap,
        "/proc/self/gid_map",
        format!("0 {gid} 1\n"),
    )?;
    Ok(())
}

/// Writes the clock offsets of the time namespace this process just
/// created (`time_namespaces(7)`); allowed only until a process enters it.
fn write_time_offsets(offsets: TimeOffsets) -> Result<(), SetupError> {
    let line = |clock: &str, ms: i64| {
        // Seconds may be negative; nanoseconds are in [0, 1e9).
        let (secs, rest_ms) = (ms.div_euclid(1000), ms.rem_euclid(1000));
        format!("{clock} {secs} {}\n", rest_ms * 1_000_000)
    };
    let text = line("monotonic", offsets.monotonic_ms) + &line("boottime", offsets.boottime_ms);
    let path = "/proc/self/timens_offsets";
    std::fs::write(path, text).map_err(|e| {
        step_err(
            Step::TimeOffsets,
            "write",
            Some(path.as_ref()),
            io_errno(&e),
        )
    })
}

/// Sets the rlimits that stand in for cgroups. `RLIMIT_NPROC` counts the
/// processes of this user namespace: the sandbox's helpers (keeper,
/// reaper) too, unless the payload is in a nested one (`uid = N`).
fn apply_rlimits(r: Rlimits, nested: bool, namespaces: u32) -> Result<(), SetupError> {
    use nix::sys::resource::{setrlimit, Resource};
    let set = |resource: Resource, name: &str, value: u64| {
        setrlimit(resource, value, value)
            .map_err(|e| step_err(Step::SetRlimit, name, None, e as i32))
    };
    if r.data_bytes > 0 {
        set(
            Resource::RLIMIT_DATA,
            "setrlimit(RLIMIT_DATA)",
            r.data_bytes,
        )?;
    }
    if r.nproc > 0 {
        let helpers = if nested {
            0
        } else {
            crate::limits::helper_processes(namespaces)
        };
        set(
            Resource::RLIMIT_NPROC,
            "setrlimit(RLIMIT_NPROC)",
            u64::from(r.nproc + helpers),
        )?;
    }
    Ok(())
}

/// Namespaces a keeper created before its request arrived (see
/// `server::Warm`): the expensive part of a sandbox, done while the
/// previous test ran.
pub(crate) struct Ahead {
    /// Why it could not be done; reported once a request arrives.
    result: Result<(), SetupError>,
    /// `lo` is already up.
    lo_up: bool,
    /// Each step done, with its detail and duration, for `NS_TEST_LOG`.
    took: Vec<(Step, String, u64)>,
}

fn micros_since(t: Instant) -> u64 {
    t.elapsed().as_micros().min(u64::MAX as u128) as u64
}

/// Creates the namespaces `namespaces`, writes the id maps for `uid`/`gid`
/// and brings `lo` up, in this (single-threaded) process, ahead of the
/// request that will use them.
pub(crate) fn create_ahead(namespaces: u32, uid: u32, gid: u32) -> Ahead {
    let mut a = Ahead {
        result: Ok(()),
        lo_up: false,
        took: Vec::new(),
    };
    let t = Instant::now();
    // No retry: a limit reached now is left to the keeper's own attempt
    // once its request arrives.
    if let Err(e) = unshare(clone_flags(namespaces)) {
        a.result = Err(step_err(Step::CreateNamespaces, "unshare", None, e as i32));
        return a;
    }
    a.took.push((
        Step::CreateNamespaces,
        format!("{} (ahead of time)", namespace_names(namespaces)),
        micros_since(t),
    ));
    let t = Instant::now();
    if let Err(e) = write_id_maps(uid, gid) {
        a.result = Err(e);
        return a;
    }
    a.took.push((
        Step::WriteUidMap,
        "setgroups, uid_map, gid_map (ahead of time)".into(),
        micros_since(t),
    ));
    if namespaces & ns::NET != 0 {
        let t = Instant::now();
        if let Err(e) = sys::interface_up("lo") {
            a.result = Err(step_err(
                Step::LoopbackUp,
                "ioctl(SIOCSIFFLAGS)",
                Some("lo".as_ref()),
                io_errno(&e),
            ));
            return a;
        }
        a.lo_up = true;
        a.took.push((
            Step::LoopbackUp,
            "lo (ahead of time)".into(),
            micros_since(t),
        ));
    }
    a
}

/// The keeper: entered in a fresh fork of the server with the request's
/// descriptors (`[report, stdio...]`), or in a warm keeper once its request
/// arrives (`ahead`). Never returns.
pub(crate) fn keeper(req: Request, fds: Vec<OwnedFd>, ahead: Option<Ahead>) -> ! {
    sys::set_signal_ignored(Signal::SIGCHLD, false);
    let _ = nix::sys::prctl::set_pdeathsig(Signal::SIGKILL);
    let mut fds = fds.into_iter();
    let Some(report) = fds.next() else {
        sys::exit_now(2)
    };
    // Out of the way of the test's own descriptors, or as high as
    // RLIMIT_NOFILE allows (F_DUPFD fails with EINVAL above it).
    let moved = fcntl(report.as_raw_fd(), FcntlArg::F_DUPFD_CLOEXEC(REPORT_FD_MIN))
        .or_else(|_| fcntl(report.as_raw_fd(), FcntlArg::F_DUPFD_CLOEXEC(3)));
    let report_owned = match moved {
        Ok(fd) => sys::own_fd(fd),
        Err(e) => {
            let _ = send(
                report.as_raw_fd(),
                &Report::SetupFailed {
                    step: Step::Other.code(),
                    syscall: "fcntl(F_DUPFD_CLOEXEC)".into(),
                    path: None,
                    errno: e as i32,
                },
            );
            sys::exit_now(2)
        }
    };
    drop(report);
    let report = report_owned.as_raw_fd();
    let stdio: Vec<OwnedFd> = fds.collect();
    let null = std::fs::File::open("/dev/null").ok();
    let result = (|| -> nix::Result<()> {
        match req.stdio {
            StdioLayout::Merged => {
                if let Some(n) = &null {
                    dup2(n.as_raw_fd(), 0)?;
                }
                dup2(stdio[0].as_raw_fd(), 1)?;
                dup2(stdio[0].as_raw_fd(), 2)?;
            }
            StdioLayout::Split => {
                if let Some(n) = &null {
                    dup2(n.as_raw_fd(), 0)?;
                }
                dup2(stdio[0].as_raw_fd(), 1)?;
                dup2(stdio[1].as_raw_fd(), 2)?;
            }
            StdioLayout::Full => {
                dup2(stdio[0].as_raw_fd(), 0)?;
                dup2(stdio[1].as_raw_fd(), 1)?;
                dup2(stdio[2].as_raw_fd(), 2)?;
            }
        }
        Ok(())
    })();
    drop(stdio);
    drop(null);
    if let Err(e) = result {
        fail(report, step_err(Step::Other, "dup2", None, e as i32));
    }
    // Nothing of the server's or the test process's descriptors leaks in.
    sys::close_range(3, (report - 1) as u32);
    sys::close_range((report + 1) as u32, u32::MAX);

    let _ = send(
        report,
        &Report::Hello {
            pid: nix::unistd::getpid().as_raw(),
        },
    );

    sys::set_title(&format!("keeper {}", req.inspect.label));
    let trace = Tracer {
        report,
        on: req.inspect.trace,
    };

    let lo_up = match ahead {
        Some(a) => {
            // Created while the previous test ran (never with cgroups or
            // clock offsets: see `server::warm_key`).
            for (step, detail, micros) in a.took {
                if trace.on {
                    let _ = send(
                        report,
                        &Report::Trace {
                            step: step.code(),
                            detail,
                            micros,
                        },
                    );
                }
            }
            match a.result {
                Ok(()) => a.lo_up,
                // Nothing was created: do it now, as a forked keeper would.
                Err(e) if e.step == Step::CreateNamespaces => {
                    create_now(&req, report, &trace);
                    false
                }
                Err(e) => fail(report, e),
            }
        }
        None => {
            create_now(&req, report, &trace);
            false
        }
    };
    // 3. The reaper: the first process of the new PID namespace. Without
    //    one, no process needs to be first: the keeper is the reaper.
    if req.namespaces & ns::PID == 0 {
        let _ = send(
            report,
            &Report::Started {
                reaper: nix::unistd::getpid().as_raw(),
            },
        );
        reaper(&req, report_owned.as_fd(), lo_up)
    }
    match sys::fork_single_threaded() {
        Ok(ForkResult::Child) => reaper(&req, report_owned.as_fd(), lo_up),
        Ok(ForkResult::Parent { child }) => {
            let _ = send(
                report,
                &Report::Started {
                    reaper: child.as_raw(),
                },
            );
            let status = loop {
                match waitpid(child, None) {
                    Err(Errno::EINTR) => continue,
                    Ok(s) => match exit_kind(s) {
                        Some(k) => break k,
                        None => continue,
                    },
                    Err(_) => break ExitKind::Code(-1),
                }
            };
            let _ = send(report, &Report::ReaperExit(status));
            sys::exit_now(0)
        }
        Err(e) => fail(report, step_err(Step::Fork, "fork", None, e as i32)),
    }
}

/// Steps 0–2 for a keeper that was forked for its request.
fn create_now(req: &Request, report: RawFd, trace: &Tracer) {
    // 0. The sandbox's cgroups (`memory`, `pids`, `cpu`), joined first so
    //    every process of the sandbox is in them.
    if !req.options.cgroups.is_empty() {
        let t = Instant::now();
        if let Err((path, errno)) = crate::cgroup::join(&req.options.cgroups) {
            fail(
                report,
                step_err(Step::JoinCgroup, "write", Some(&path), errno),
            );
        }
        let dirs: Vec<String> = req
            .options
            .cgroups
            .iter()
            .map(|d| d.display().to_string())
            .collect();
        trace.done(Step::JoinCgroup, &dirs.join(" "), t);
    }
    // 1. The namespaces: a user namespace, and the others owned by it.
    let t = Instant::now();
    if let Err(e) = unshare_retrying(clone_flags(req.namespaces)) {
        fail(
            report,
            step_err(Step::CreateNamespaces, "unshare", None, e as i32),
        );
    }
    trace.done(Step::CreateNamespaces, &namespace_names(req.namespaces), t);
    // 2. setgroups=deny, uid_map, gid_map: the invoking user is root inside.
    let t = Instant::now();
    if let Err(e) = write_id_maps(req.uid, req.gid) {
        fail(report, e);
    }
    trace.done(Step::WriteUidMap, "setgroups, uid_map, gid_map", t);
    // 2b. The clock offsets, before any process enters the time namespace.
    if req.namespaces & ns::TIME != 0 && req.options.time_offsets.any() {
        let t = Instant::now();
        if let Err(e) = write_time_offsets(req.options.time_offsets) {
            fail(report, e);
        }
        trace.done(Step::TimeOffsets, "/proc/self/timens_offsets", t);
    }
}

fn reaper(req: &Request, report_fd: BorrowedFd<'_>, lo_up: bool) -> ! {
    let report = report_fd.as_raw_fd();
    sys::set_title(&format!("sandbox {}", req.inspect.label));
    let trace = Tracer {
        report,
        on: req.inspect.trace,
    };
    // SIGCHLD and SIGTERM are read from a signalfd, never delivered: SIGTERM
    // is the parent-death signal (the keeper died, so the test process is
    // gone), and it must reach us even as PID 1, which ignores unhandled
    // signals — a blocked signal is queued rather than ignored.
    let mut mask = SigSet::empty();
    mask.add(Signal::SIGCHLD);
    for s in ABANDON_SIGNALS {
        mask.add(s);
    }
    let _ = mask.thread_block();
    let _ = nix::sys::prctl::set_pdeathsig(Signal::SIGTERM);
    let sfd = match SignalFd::with_flags(&mask, SfdFlags::SFD_CLOEXEC | SfdFlags::SFD_NONBLOCK) {
        Ok(s) => s,
        Err(e) => fail(report, step_err(Step::Other, "signalfd", None, e as i32)),
    };
    let pid_ns = req.namespaces & ns::PID != 0;
    if !pid_ns {
        // Orphans of the payload come to us, so we can end them.
        let _ = nix::sys::prctl::set_child_subreaper(true);
    }
    // 4. The filesystem: a tmpfs root with the host's system dirs, or just a
    //    fresh /proc for a PID namespace.
    let t = Instant::now();
    let mounted = if req.namespaces & ns::MNT != 0 {
        crate::mount::build_root(req).map(|()| (Step::PivotRoot, "tmpfs root"))
    } else if pid_ns {
        crate::mount::fresh_proc_in_place().map(|()| (Step::MountProc, "/proc"))
    } else {
        Ok((Step::Other, ""))
    };
    match mounted {
        Err(e) => fail(report, e),
        Ok((Step::Other, _)) => {}
        Ok((step, detail)) => trace.done(step, detail, t),
    }
    // 5. The network: lo up (the kernel adds 127.0.0.1/8 and ::1).
    let t = Instant::now();
    if req.namespaces & ns::NET != 0 && !lo_up {
        if let Err(e) = sys::interface_up("lo") {
            fail(
                report,
                step_err(
                    Step::LoopbackUp,
                    "ioctl(SIOCSIFFLAGS)",
                    Some("lo".as_ref()),
                    io_errno(&e),
                ),
            );
        }
        trace.done(Step::LoopbackUp, "lo", t);
    }
    // 6. The hostname.
    if req.namespaces & ns::UTS != 0 {
        let name = req.hostname.as_deref().unwrap_or(crate::DEFAULT_HOSTNAME);
        if let Err(e) = nix::unistd::sethostname(name) {
            fail(
                report,
                step_err(
                    Step::SetHostname,
                    "sethostname",
                    Some(name.as_ref()),
                    e as i32,
                ),
            );
        }
    }
    // 7. The payload.
    let child = match sys::fork_single_threaded() {
        Ok(ForkResult::Child) => {
            drop(sfd);
            let _ = nix::sys::signal::sigprocmask(SigmaskHow::SIG_UNBLOCK, Some(&mask), None);
            payload(req, report)
        }
        Ok(ForkResult::Parent { child }) => child,
        Err(e) => fail(report, step_err(Step::Fork, "fork", None, e as i32)),
    };
    let end = watch(req, report_fd, &sfd, child);
    let failed = match end {
        End::Exited(k) => k != ExitKind::Code(0),
        End::TimedOut => true,
        End::Abandoned => false,
    };
    let msg = match end {
        End::Exited(k) => Some(Report::Exit(k)),
        End::TimedOut => Some(Report::TimedOut {
            after_ms: req.timeout_ms,
        }),
        End::Abandoned => None,
    };
    if let Some(msg) = msg {
        let _ = send(report, &msg);
    }
    // 8. Held for inspection (NS_TEST_HOLD): everything the test started
    //    keeps running until the test thread lets go.
    if failed && req.inspect.hold {
        let _ = send(report, &Report::Held);
        wait_until_abandoned(report_fd, &sfd);
    }
    if !pid_ns {
        kill_descendants();
    }
    // With `pid`, this exit kills every process left in the namespace.
    sys::exit_now(0)
}

/// Signals that make the reaper end the sandbox: SIGTERM is its
/// parent-death signal; the others reach it when a terminal or a CI runner
/// signals the whole process group of `cargo test`.
const ABANDON_SIGNALS: [Signal; 4] = [
    Signal::SIGTERM,
    Signal::SIGINT,
    Signal::SIGHUP,
    Signal::SIGQUIT,
];

/// How the reaper's watch ended.
enum End {
    /// The payload exited so.
    Exited(ExitKind),
    /// The timeout passed; the payload was killed.
    TimedOut,
    /// The test process is gone (its end of the report socket closed, or
    /// the keeper died): nobody is waiting for a result.
    Abandoned,
}

/// Waits for the payload to end, reaping every other child on the way,
/// while watching the timeout and the test process.
fn watch(req: &Request, report: BorrowedFd<'_>, sfd: &SignalFd, child: Pid) -> End {
    use nix::poll::{poll, PollFd, PollFlags, PollTimeout};
    use std::os::fd::AsFd;
    let deadline =
        (req.timeout_ms > 0).then(|| Instant::now() + Duration::from_millis(req.timeout_ms));
    loop {
        loop {
            match waitpid(Pid::from_raw(-1), Some(WaitPidFlag::WNOHANG)) {
                Ok(WaitStatus::StillAlive) | Err(Errno::ECHILD) => break,
                Ok(s) if s.pid() == Some(child) => {
                    if let Some(k) = exit_kind(s) {
                        return End::Exited(k);
                    }
                }
                Ok(_) | Err(Errno::EINTR) => continue,
                Err(_) => break,
            }
        }
        let timeout = match deadline {
            Some(d) => {
                let left = d.saturating_duration_since(Instant::now());
                if left.is_zero() {
                    let _ = kill(child, Signal::SIGKILL);
                    return End::TimedOut;
                }
                PollTimeout::try_from(left.as_millis().min(i32::MAX as u128) as i32)
                    .unwrap_or(PollTimeout::MAX)
            }
            None => PollTimeout::NONE,
        };
        let mut pfds = [
            PollFd::new(sfd.as_fd(), PollFlags::POLLIN),
            // Nothing is ever sent to us on the report socket: readable
            // means end of stream, the test process is gone.
            PollFd::new(
                report,
                // POLLIN alone: end of stream is readable, and POLLHUP is
                // always reported. (Asking for POLLRDHUP would make nix's
                // `revents()` None, as it has no flag for it.)
                PollFlags::POLLIN,
            ),
        ];
        let _ = poll(&mut pfds, timeout);
        if pfds[1].revents().is_some_and(|r| !r.is_empty()) {
            let _ = kill(child, Signal::SIGKILL);
            return End::Abandoned;
        }
        while let Ok(Some(info)) = sfd.read_signal() {
            if ABANDON_SIGNALS.iter().any(|s| *s as u32 == info.ssi_signo) {
                let _ = kill(child, Signal::SIGKILL);
                return End::Abandoned;
            }
        }
    }
}

/// Reaps children until the test thread closes its end of the report
/// socket or the keeper dies.
fn wait_until_abandoned(report: BorrowedFd<'_>, sfd: &SignalFd) {
    use nix::poll::{poll, PollFd, PollFlags, PollTimeout};
    loop {
        let mut pfds = [
            PollFd::new(sfd.as_fd(), PollFlags::POLLIN),
            PollFd::new(
                report,
                // POLLIN alone: end of stream is readable, and POLLHUP is
                // always reported. (Asking for POLLRDHUP would make nix's
                // `revents()` None, as it has no flag for it.)
                PollFlags::POLLIN,
            ),
        ];
        if poll(&mut pfds, PollTimeout::NONE).is_err() {
            return;
        }
        if pfds[1].revents().is_some_and(|r| !r.is_empty()) {
            return;
        }
        while let Ok(Some(info)) = sfd.read_signal() {
            if ABANDON_SIGNALS.iter().any(|s| *s as u32 == info.ssi_signo) {
                return;
            }
        }
        while let Ok(s) = waitpid(Pid::from_raw(-1), Some(WaitPidFlag::WNOHANG)) {
            if s == WaitStatus::StillAlive {
                break;
            }
        }
    }
}

/// "net mnt pid ..." for the namespace bits.
fn namespace_names(bits: u32) -> String {
    crate::sandbox::NAMES
        .iter()
        .filter(|(_, b)| bits & b != 0)
        .map(|(n, _)| *n)
        .collect::<Vec<_>>()
        .join(" ")
}

/// Kills every remaining descendant: orphans are re-parented to this
/// process (a child subreaper), so repeat until none is left.
fn kill_descendants() {
    let me = nix::unistd::getpid();
    for _ in 0..1000 {
        let children = children_of(me.as_raw());
        if children.is_empty() {
            // Reap what is left (zombies are not listed as running).
            while let Ok(s) = waitpid(Pid::from_raw(-1), Some(WaitPidFlag::WNOHANG)) {
                if s == WaitStatus::StillAlive {
                    break;
                }
            }
            return;
        }
        for c in &children {
            let _ = kill(Pid::from_raw(*c), Signal::SIGKILL);
        }
        for _ in &children {
            let _ = waitpid(Pid::from_raw(-1), None);
        }
    }
}

/// The children of `pid`: from `/proc/PID/task/PID/children`, or, on
/// kernels without it (`CONFIG_PROC_CHILDREN`), by scanning every
/// process's parent in `/proc/*/stat`.
fn children_of(pid: i32) -> Vec<i32> {
    if let Ok(list) = std::fs::read_to_string(format!("/proc/{pid}/task/{pid}/children")) {
        return list
            .split_whitespace()
            .filter_map(|p| p.parse().ok())
            .collect();
    }
    let Ok(dir) = std::fs::read_dir("/proc") else {
        return Vec::new();
    };
    dir.flatten()
        .filter_map(|e| e.file_name().to_str()?.parse::<i32>().ok())
        .filter(|p| {
            std::fs::read_to_string(format!("/proc/{p}/stat"))
                .ok()
                .and_then(|stat| {
                    // Fields after the command, which may contain spaces.
                    let rest = stat.rsplit_once(')')?.1;
                    rest.split_whitespace().nth(1)?.parse::<i32>().ok()
                })
                == Some(pid)
        })
        .collect()
}

fn payload(req: &Request, report: RawFd) -> ! {
    sys::set_title(&format!("payload {}", req.inspect.label));
    let _ = nix::sys::prctl::set_pdeathsig(Signal::SIGKILL);
    // Its own session and process group, as a test binary has under a
    // terminal of its own: a `kill 0` in the test (a common shell clean-up)
    // ends the test, not `cargo test`; nor can it reach the terminal. Not
    // for a command given the caller's own stdio (`Sandbox::status`), which
    // may be an interactive program.
    if req.stdio != StdioLayout::Full {
        let _ = nix::unistd::setsid();
    }
    // The environment the test thread had, adjusted to the sandbox.
    for (k, _) in std::env::vars_os() {
        std::env::remove_var(k);
    }
    for (k, v) in &req.env {
        std::env::set_var(k, v);
    }
    if req.namespaces & ns::MNT != 0 {
        for (k, v) in crate::mount::sandbox_env(req) {
            match v {
                Some(v) => std::env::set_var(k, v),
                None => std::env::remove_var(k),
            }
        }
    }
    // `env(KEY = "value")` last: it wins over everything above.
    for (k, v) in &req.options.set_env {
        std::env::set_var(k, v);
    }
    if let Err(e) = std::env::set_current_dir(&req.cwd) {
        fail(
            report,
            step_err(Step::Chdir, "chdir", Some(&req.cwd), io_errno(&e)),
        );
    }
    // `uid = N`: an ordinary user from here on; then the rlimits that
    // stand in for missing cgroups.
    if let Some(id) = req.options.identity {
        if let Err(e) = crate::identity::become_user(id) {
            fail(report, e);
        }
    }
    if let Err(e) = apply_rlimits(
        req.options.rlimits,
        req.options.identity.is_some(),
        req.namespaces,
    ) {
        fail(report, e);
    }
    match &req.payload {
        Payload::Body {
            offset,
            thread_name,
        } => run_body(*offset, thread_name, report),
        Payload::Exec { argv } => exec(argv, report),
    }
}

fn run_body(offset: u64, thread_name: &str, report: RawFd) -> ! {
    let body = sys::body_at(offset);
    let spawned = std::thread::Builder::new()
        .name(thread_name.to_string())
        .spawn(body);
    let handle = match spawned {
        Ok(h) => h,
        Err(e) => fail(
            report,
            step_err(Step::Other, "pthread_create", None, io_errno(&e)),
        ),
    };
    let result = match handle.join() {
        Ok(Outcome::Passed) => BodyResult::Passed,
        Ok(Outcome::Failed(debug)) => BodyResult::Failed { debug },
        Err(payload) => BodyResult::Panicked {
            message: panic_message(payload.as_ref()),
        },
    };
    let _ = std::io::stdout().flush();
    let _ = std::io::stderr().flush();
    let code = if result == BodyResult::Passed { 0 } else { 101 };
    let _ = send(report, &Report::Body(result));
    // `exit`, not `_exit`: exit handlers (coverage profiles) run. 101 on
    // failure, like libtest, so the reaper knows to hold a failed sandbox.
    std::process::exit(code)
}

/// The panic payload as libtest would match it against `expected`.
pub(crate) fn panic_message(payload: &(dyn std::any::Any + Send)) -> String {
    if let Some(s) = payload.downcast_ref::<&'static str>() {
        (*s).to_string()
    } else if let Some(s) = payload.downcast_ref::<String>() {
        s.clone()
    } else {
        "Box<dyn Any>".to_string()
    }
}

fn exec(argv: &[std::ffi::OsString], report: RawFd) -> ! {
    use std::os::unix::ffi::OsStrExt;
    let cargs: Vec<std::ffi::CString> = argv
        .iter()
        .filter_map(|a| std::ffi::CString::new(a.as_bytes()).ok())
        .collect();
    let Some(prog) = cargs.first() else {
        fail(
            report,
            step_err(Step::Exec, "execvp", None, Errno::EINVAL as i32),
        )
    };
    sys::set_signal_ignored(Signal::SIGPIPE, false);
    let e = nix::unistd::execvp(prog, &cargs).unwrap_err();
    let path = std::path::PathBuf::from(std::ffi::OsStr::from_bytes(prog.as_bytes()));
    fail(
        report,
        step_err(Step::Exec, "execvp", Some(&path), e as i32),
    )
}
