//! The test-thread side: start (once) the fork server, send it a request,
//! replay the sandbox's output into libtest's capture, and turn its reports
//! into libtest's verdict.

use std::io::{IoSlice, Write};
use std::os::fd::{AsFd, AsRawFd, OwnedFd, RawFd};
use std::os::unix::fs::MetadataExt;
use std::path::PathBuf;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use nix::errno::Errno;
use nix::poll::{poll, PollFd, PollFlags, PollTimeout};
use nix::sys::socket::{
    recv, sendmsg, socketpair, AddressFamily, ControlMessage, MsgFlags, SockFlag, SockType,
};

use crate::error::{signal_name, Error, SetupError, Step};
use crate::outcome::Failure;
use crate::private::{Body, Spec};
use crate::protocol::{
    BodyResult, ExitKind, Inspect, MountKind, MountRequest, Payload, Report, Request,
    SandboxOptions, StdioLayout, MAX_MESSAGE,
};
use crate::server::{FD_ENV, PARENT_ENV, ROLE_ENV, ROLE_SERVER};

/// How long after its timeout a sandbox that has not ended is killed from
/// the host side (the reaper inside enforces the timeout first).
const KILL_GRACE: Duration = Duration::from_secs(5);
/// How long output is still read after the sandbox reported its end (a
/// process that escaped may hold the pipe).
const DRAIN_GRACE: Duration = Duration::from_secs(2);

/// `(st_dev, st_ino)` of this executable.
pub(crate) fn exe_id() -> std::io::Result<(u64, u64)> {
    // The executable of a process never changes: look it up once.
    static ID: std::sync::OnceLock<(u64, u64)> = std::sync::OnceLock::new();
    if let Some(id) = ID.get() {
        return Ok(*id);
    }
    let m = std::fs::metadata("/proc/self/exe")?;
    Ok(*ID.get_or_init(|| (m.dev(), m.ino())))
}

struct ServerConn {
    sock: OwnedFd,
    alive: Arc<AtomicBool>,
}

static SERVER: Mutex<Option<Arc<ServerConn>>> = Mutex::new(None);

fn host_err(step: &'static str, e: impl Into<std::io::Error>) -> Error {
    Error::Host {
        step,
        source: e.into(),
    }
}

/// The fork server of this process, started on first use.
fn server() -> Result<Arc<ServerConn>, Error> {
    let mut slot = SERVER.lock().unwrap_or_else(|p| p.into_inner());
    if let Some(s) = slot.as_ref() {
        if s.alive.load(Ordering::SeqCst) {
            return Ok(s.clone());
        }
    }
    let (client, server_end) = socketpair(
        AddressFamily::Unix,
        SockType::SeqPacket,
        None,
        SockFlag::SOCK_CLOEXEC,
    )
    .map_err(|e| host_err("creating the fork server's socket", e))?;
    let alive = Arc::new(AtomicBool::new(true));
    let (tx, rx) = std::sync::mpsc::channel();
    let alive2 = alive.clone();
    // The server's parent-death signal is tied to the thread that forks it,
    // so fork from a thread that lives as long as this process.
    std::thread::Builder::new()
        .name("ns-test-fork-server".into())
        .spawn(move || {
            use std::os::unix::process::CommandExt;
            let mut cmd = std::process::Command::new("/proc/self/exe");
            cmd.arg0(crate::inspect::SERVER_ARGV0)
                // Room for the titles sandbox processes show in `ps`.
                .arg(" ".repeat(crate::inspect::TITLE_ROOM))
                .env(ROLE_ENV, ROLE_SERVER)
                .env(FD_ENV, server_end.as_raw_fd().to_string())
                .env(PARENT_ENV, std::process::id().to_string())
                .stdin(std::process::Stdio::null());
            // Coverage: one merged profile for all its sandboxes.
            if let Some(pattern) = crate::tools::server_profile_pattern() {
                cmd.env(crate::tools::LLVM_PROFILE_FILE, pattern);
            }
            match crate::sys::spawn_keeping_fd(&mut cmd, server_end.as_raw_fd()) {
                Ok(mut child) => {
                    drop(server_end);
                    let _ = tx.send(Ok(()));
                    let _ = child.wait();
                    alive2.store(false, Ordering::SeqCst);
                }
                Err(e) => {
                    alive2.store(false, Ordering::SeqCst);
                    let _ = tx.send(Err(e));
                }
            }
        })
        .map_err(|e| host_err("starting the fork server thread", e))?;
    match rx.recv() {
        Ok(Ok(())) => {}
        Ok(Err(e)) => return Err(host_err("starting the fork server", e)),
        Err(_) => {
            return Err(Error::Lost {
                detail: "the fork server thread ended before starting the server".into(),
            })
        }
    }
    let conn = Arc::new(ServerConn {
        sock: client,
        alive,
    });
    *slot = Some(conn.clone());
    Ok(conn)
}

/// A sandbox that was sent to the server: the host ends of its channels.
pub(crate) struct Launched {
    report: OwnedFd,
    out: Option<OwnedFd>,
    err: Option<OwnedFd>,
    timeout_ms: u64,
    label: String,
}

/// Which stream a chunk of output came from.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Stream {
    /// fd 1 (or 1 and 2 merged).
    Out,
    /// fd 2.
    Err,
}

/// Where a sandbox's stdio goes.
pub(crate) enum StdioPlan {
    /// Pipes read by the caller; stderr merged into stdout when `merged`.
    Pipes {
        /// One pipe for both.
        merged: bool,
    },
    /// These descriptors, used directly by the sandbox.
    Direct([OwnedFd; 3]),
}

fn pipe() -> Result<(OwnedFd, OwnedFd), Error> {
    nix::unistd::pipe2(nix::fcntl::OFlag::O_CLOEXEC).map_err(|e| host_err("creating a pipe", e))
}

/// Sends `req` to the fork server with freshly made channels.
pub(crate) fn launch(mut req: Request, stdio: StdioPlan) -> Result<Launched, Error> {
    let (report_host, report_sandbox) = socketpair(
        AddressFamily::Unix,
        SockType::SeqPacket,
        None,
        SockFlag::SOCK_CLOEXEC,
    )
    .map_err(|e| host_err("creating the report socket", e))?;
    let mut send_fds: Vec<OwnedFd> = vec![report_sandbox];
    let (mut out, mut err) = (None, None);
    match stdio {
        StdioPlan::Pipes { merged: true } => {
            let (r, w) = pipe()?;
            out = Some(r);
            send_fds.push(w);
            req.stdio = StdioLayout::Merged;
        }
        StdioPlan::Pipes { merged: false } => {
            let (r1, w1) = pipe()?;
            let (r2, w2) = pipe()?;
            out = Some(r1);
            err = Some(r2);
            send_fds.push(w1);
            send_fds.push(w2);
            req.stdio = StdioLayout::Split;
        }
        StdioPlan::Direct(fds) => {
            send_fds.extend(fds);
            req.stdio = StdioLayout::Full;
        }
    }
    // Keep the `.init_array` entry that makes the fork server in the link.
    std::hint::black_box(&crate::sys::BEFORE_MAIN);
    if let Some(what) = req.too_long_field() {
        return Err(Error::InvalidOption {
            detail: format!(
                "{what} is longer than {} bytes, more than a sandbox request carries",
                MAX_MESSAGE / 2
            ),
        });
    }
    let bytes = req.encode();
    if bytes.len() > MAX_MESSAGE {
        return Err(Error::Lost {
            detail: format!(
                "the request is {} bytes, more than {MAX_MESSAGE}; is the environment very large?",
                bytes.len()
            ),
        });
    }
    let raw: Vec<RawFd> = send_fds.iter().map(|f| f.as_raw_fd()).collect();
    let mut attempt = 0;
    loop {
        let conn = server()?;
        let r = sendmsg::<()>(
            conn.sock.as_raw_fd(),
            &[IoSlice::new(&bytes)],
            &[ControlMessage::ScmRights(&raw)],
            MsgFlags::MSG_NOSIGNAL,
            None,
        );
        match r {
            Ok(_) => break,
            Err(Errno::EINTR) => continue,
            Err(e @ (Errno::EPIPE | Errno::ECONNRESET | Errno::ECONNREFUSED)) if attempt == 0 => {
                // The server died (killed from outside); start another.
                let _ = e;
                conn.alive.store(false, Ordering::SeqCst);
                attempt += 1;
            }
            Err(e) => return Err(host_err("sending the request to the fork server", e)),
        }
    }
    drop(send_fds);
    Ok(Launched {
        report: report_host,
        out,
        err,
        timeout_ms: req.timeout_ms,
        label: req.inspect.label,
    })
}

/// Everything a sandbox reported.
#[derive(Debug, Default)]
pub(crate) struct Collected {
    /// Reports in arrival order.
    pub reports: Vec<Report>,
    /// The host killed the sandbox after its timeout plus a grace period.
    pub killed_from_host: bool,
    /// A report could not be decoded.
    pub garbled: bool,
}

impl Collected {
    /// The keeper's and the reaper's host pids, as far as reported.
    fn pids(&self) -> (Option<i32>, Option<i32>) {
        let keeper = self.reports.iter().find_map(|r| match r {
            Report::Hello { pid } => Some(*pid),
            _ => None,
        });
        let reaper = self.reports.iter().find_map(|r| match r {
            Report::Started { reaper } => Some(*reaper),
            _ => None,
        });
        (keeper, reaper)
    }
}

/// Reads reports and output until the sandbox is gone, passing output to
/// `sink` as it arrives.
pub(crate) fn collect(l: Launched, sink: &mut dyn FnMut(Stream, &[u8])) -> Collected {
    let mut c = Collected::default();
    let kill_at = (l.timeout_ms > 0)
        .then(|| Instant::now() + Duration::from_millis(l.timeout_ms) + KILL_GRACE);
    let mut report = Some(l.report);
    let mut out = l.out;
    let mut err = l.err;
    let mut drain_until: Option<Instant> = None;
    let mut msg = vec![0u8; MAX_MESSAGE];
    let mut chunk = vec![0u8; 64 * 1024];
    loop {
        if report.is_none() && out.is_none() && err.is_none() {
            break;
        }
        let now = Instant::now();
        let mut wake = None::<Instant>;
        if let Some(d) = drain_until {
            if now >= d {
                break;
            }
            wake = Some(d);
        }
        if let Some(k) = kill_at {
            if !c.killed_from_host && report.is_some() {
                if now >= k {
                    c.killed_from_host = true;
                    // The reaper ends everything in the sandbox when told
                    // (SIGTERM) or when the keeper dies; kill both.
                    use nix::sys::signal::{kill, Signal};
                    use nix::unistd::Pid;
                    let (keeper, reaper) = c.pids();
                    if let Some(r) = reaper {
                        let _ = kill(Pid::from_raw(r), Signal::SIGTERM);
                    }
                    // (Without a PID namespace they are one process, which
                    // must get the SIGTERM to end its descendants.)
                    if let Some(k) = keeper.filter(|k| Some(*k) != reaper) {
                        let _ = kill(Pid::from_raw(k), Signal::SIGKILL);
                    }
                    drain_until.get_or_insert(now + DRAIN_GRACE);
                    continue;
                }
                wake = Some(wake.map_or(k, |w| w.min(k)));
            }
        }
        let timeout = match wake {
            None => PollTimeout::NONE,
            Some(w) => {
                let ms = w.saturating_duration_since(now).as_millis() + 1;
                PollTimeout::try_from(ms.min(i32::MAX as u128) as i32).unwrap_or(PollTimeout::MAX)
            }
        };
        let (r_ready, o_ready, e_ready) = {
            let mut pfds = Vec::with_capacity(3);
            let mut idx = [None; 3];
            for (i, fd) in [&report, &out, &err].into_iter().enumerate() {
                if let Some(fd) = fd {
                    idx[i] = Some(pfds.len());
                    pfds.push(PollFd::new(fd.as_fd(), PollFlags::POLLIN));
                }
            }
            match poll(&mut pfds, timeout) {
                Ok(_) | Err(Errno::EINTR) => {}
                Err(_) => break,
            }
            let ready = |i: usize| {
                idx[i]
                    .and_then(|j| pfds[j].revents())
                    .is_some_and(|r| !r.is_empty())
            };
            (ready(0), ready(1), ready(2))
        };
        if r_ready {
            if let Some(fd) = &report {
                match recv(fd.as_raw_fd(), &mut msg, MsgFlags::MSG_DONTWAIT) {
                    Ok(0) => {
                        report = None;
                        drain_until.get_or_insert(Instant::now() + DRAIN_GRACE);
                    }
                    Ok(n) => match Report::decode(&msg[..n]) {
                        Ok(Report::Trace {
                            step,
                            detail,
                            micros,
                        }) => crate::inspect::print_trace(
                            &l.label,
                            Step::from_code(step),
                            &detail,
                            micros,
                        ),
                        Ok(Report::Held) => {
                            let (_, reaper) = c.pids();
                            crate::inspect::hold(&l.label, reaper.unwrap_or(0));
                            // Closing our end releases the sandbox.
                            report = None;
                            drain_until.get_or_insert(Instant::now() + DRAIN_GRACE);
                        }
                        Ok(r) => c.reports.push(r),
                        Err(_) => c.garbled = true,
                    },
                    Err(Errno::EAGAIN | Errno::EINTR) => {}
                    Err(_) => report = None,
                }
            }
        }
        for (ready, slot, stream) in [
            (o_ready, &mut out, Stream::Out),
            (e_ready, &mut err, Stream::Err),
        ] {
            if !ready {
                continue;
            }
            if let Some(fd) = slot.as_ref() {
                match nix::unistd::read(fd.as_raw_fd(), &mut chunk) {
                    Ok(0) => *slot = None,
                    Ok(n) => sink(stream, &chunk[..n]),
                    Err(Errno::EAGAIN | Errno::EINTR) => {}
                    Err(_) => *slot = None,
                }
            }
        }
    }
    c
}

/// Replays a sandbox's output through `print!`/`eprint!`, so libtest's
/// capture (a thread-local of this thread) sees it: hidden for passing
/// tests, shown for failing ones, streamed with `--nocapture`. Invalid
/// UTF-8 is replaced; a sequence cut between two reads is kept for the
/// next.
#[derive(Default)]
pub(crate) struct Replay {
    pending: [Vec<u8>; 2],
}

impl Replay {
    pub(crate) fn feed(&mut self, stream: Stream, bytes: &[u8]) {
        let i = (stream == Stream::Err) as usize;
        let buf = &mut self.pending[i];
        buf.extend_from_slice(bytes);
        let cut = match std::str::from_utf8(buf) {
            Ok(_) => buf.len(),
            Err(e) if e.error_len().is_none() => e.valid_up_to(),
            Err(_) => buf.len(),
        };
        let text = String::from_utf8_lossy(&buf[..cut]).into_owned();
        buf.drain(..cut);
        emit(stream, &text);
    }

    pub(crate) fn finish(&mut self) {
        for (i, stream) in [Stream::Out, Stream::Err].into_iter().enumerate() {
            let rest = std::mem::take(&mut self.pending[i]);
            if !rest.is_empty() {
                emit(stream, &String::from_utf8_lossy(&rest));
            }
        }
    }
}

fn emit(stream: Stream, text: &str) {
    if text.is_empty() {
        return;
    }
    match stream {
        Stream::Out => print!("{text}"),
        Stream::Err => eprint!("{text}"),
    }
}

/// Whether libtest shows output as it comes (`--nocapture`): then stdout
/// and stderr stay apart; otherwise both go into one capture buffer and one
/// pipe keeps their relative order.
fn nocapture() -> bool {
    if std::env::var_os("RUST_TEST_NOCAPTURE").is_some_and(|v| v != "0") {
        return true;
    }
    std::env::args().any(|a| a == "--nocapture" || a == "--no-capture")
}

/// The libtest name of the running test: the thread's name, else the path
/// without the crate name.
fn test_name(spec: &Spec) -> String {
    match std::thread::current().name() {
        Some(n) if n != "main" => n.to_string(),
        _ => spec
            .path
            .split_once("::")
            .map_or(spec.path, |(_, rest)| rest)
            .to_string(),
    }
}

/// Paths a test needs at their usual place: the package, the test binary's
/// target dir, the working directory, and `extra`; none inside another.
pub(crate) fn default_binds(manifest_dir: &str, extra: &[PathBuf]) -> Vec<PathBuf> {
    let mut binds = extra.to_vec();
    if !manifest_dir.is_empty() {
        binds.push(PathBuf::from(manifest_dir));
    }
    static EXE: std::sync::OnceLock<Option<PathBuf>> = std::sync::OnceLock::new();
    let exe = EXE.get_or_init(|| std::fs::read_link("/proc/self/exe").ok());
    if let Some(exe) = exe {
        if let Some(dir) = exe.parent() {
            // target/debug/deps/x -> target/debug, so CARGO_BIN_EXE_* work.
            let dir = if dir.ends_with("deps") {
                dir.parent().unwrap_or(dir)
            } else {
                dir
            };
            binds.push(dir.to_path_buf());
        }
    }
    if let Ok(cwd) = std::env::current_dir() {
        binds.push(cwd);
    }
    // Only what a sandbox can bind (not `/`, not a parent of its fresh
    // /tmp or $HOME), then drop paths inside another bound path.
    let home = std::env::var_os("HOME")
        .map_or_else(|| PathBuf::from(crate::mount::FALLBACK_HOME), PathBuf::from);
    binds.retain(|b| crate::mount::bindable(b, &home));
    binds.sort();
    binds.dedup();
    let mut kept: Vec<PathBuf> = Vec::new();
    for b in binds {
        if !kept.iter().any(|k| b.starts_with(k)) {
            kept.push(b);
        }
    }
    kept
}

/// The request for a test body.
fn body_request(spec: &Spec, body: Body) -> Result<Request, Error> {
    let name = test_name(spec);
    Ok(Request {
        exe_id: exe_id().map_err(|e| host_err("reading /proc/self/exe", e))?,
        payload: Payload::Body {
            offset: crate::sys::body_offset(body),
            thread_name: name.clone(),
        },
        namespaces: spec.namespaces | crate::private::ns::USER,
        hostname: spec.hostname.map(str::to_string),
        timeout_ms: spec.timeout_ms,
        uid: nix::unistd::geteuid().as_raw(),
        gid: nix::unistd::getegid().as_raw(),
        cwd: std::env::current_dir().unwrap_or_else(|_| PathBuf::from(spec.manifest_dir)),
        binds: default_binds(spec.manifest_dir, &[]),
        env: std::env::vars_os().collect(),
        stdio: StdioLayout::Merged,
        inspect: Inspect {
            label: name.clone(),
            // A `#[should_panic]` test fails by not panicking, which the
            // sandbox cannot tell from passing: never held.
            hold: spec.should_panic.is_none() && crate::inspect::hold_requested(&name),
            trace: crate::inspect::trace_enabled(),
        },
        options: sandbox_options(spec),
    })
}

/// The attribute's identity, mounts, environment and clock options, with
/// mount sources made absolute (relative to the package directory) and
/// symlinks resolved, since the sandbox looks them up under its old root.
/// Limits are added by [`crate::limits::prepare`].
fn sandbox_options(spec: &Spec) -> SandboxOptions {
    let mounts = spec
        .mounts
        .iter()
        .map(|m| {
            let source = if m.kind == MountKind::Tmpfs {
                PathBuf::new()
            } else {
                let path = PathBuf::from(spec.manifest_dir).join(m.source);
                std::fs::canonicalize(&path).unwrap_or(path)
            };
            MountRequest {
                kind: m.kind,
                source,
                target: PathBuf::from(m.target),
            }
        })
        .collect();
    SandboxOptions {
        identity: spec.identity,
        mounts,
        set_env: spec
            .env
            .iter()
            .map(|(k, v)| ((*k).into(), (*v).into()))
            .collect(),
        time_offsets: spec.time_offsets,
        ..SandboxOptions::default()
    }
}

/// What libtest should see.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum Verdict {
    Passed,
    /// Re-raise this panic payload.
    Panicked(String),
    /// The test returned `Err`; its `Debug`.
    Returned(String),
    /// The harness says the test failed (crash, timeout, setup).
    Failed(String),
    /// The host cannot create the sandbox and `NS_TEST_UNSUPPORTED=skip`.
    Skipped(String),
}

/// Formats a millisecond count as the attribute would write it.
pub(crate) fn format_ms(ms: u64) -> String {
    if ms.is_multiple_of(3_600_000) {
        format!("{}h", ms / 3_600_000)
    } else if ms.is_multiple_of(60_000) {
        format!("{}m", ms / 60_000)
    } else if ms.is_multiple_of(1000) {
        format!("{}s", ms / 1000)
    } else {
        format!("{ms}ms")
    }
}

/// "killed by signal 11 (SIGSEGV)" / "exited with code 3".
pub(crate) fn describe_exit(k: ExitKind) -> String {
    match k {
        ExitKind::Code(c) => format!("exited with code {c}"),
        ExitKind::Signal {
            signal,
            core_dumped,
        } => format!(
            "killed by signal {signal} ({}){}",
            signal_name(signal),
            if core_dumped { ", core dumped" } else { "" }
        ),
    }
}

/// The setup failure among `reports`, if any.
pub(crate) fn setup_error(reports: &[Report]) -> Option<SetupError> {
    reports.iter().find_map(|r| match r {
        Report::SetupFailed {
            step,
            syscall,
            path,
            errno,
        } => Some(SetupError {
            step: Step::from_code(*step),
            syscall: syscall.clone(),
            path: path.as_ref().map(|p| {
                use std::os::unix::ffi::OsStringExt;
                PathBuf::from(std::ffi::OsString::from_vec(p.clone()))
            }),
            errno: *errno,
        }),
        _ => None,
    })
}

fn skip_unsupported() -> bool {
    std::env::var("NS_TEST_UNSUPPORTED").is_ok_and(|v| v.eq_ignore_ascii_case("skip"))
}

/// Turns a sandbox's reports into libtest's verdict.
pub(crate) fn verdict(c: &Collected, timeout_ms: u64) -> Verdict {
    if let Some(e) = setup_error(&c.reports) {
        let err = Error::Setup(e);
        if err.is_host_unsupported() && skip_unsupported() {
            return Verdict::Skipped(err.to_string());
        }
        return Verdict::Failed(err.to_string());
    }
    let timed_out = c.killed_from_host
        || c.reports
            .iter()
            .any(|r| matches!(r, Report::TimedOut { .. }));
    if timed_out {
        return Verdict::Failed(format!(
            "test timed out after {}; the sandbox and every process in it were killed",
            format_ms(timeout_ms)
        ));
    }
    let body = c.reports.iter().find_map(|r| match r {
        Report::Body(b) => Some(b.clone()),
        _ => None,
    });
    let exit = c.reports.iter().find_map(|r| match r {
        Report::Exit(k) => Some(*k),
        _ => None,
    });
    let reaper = c.reports.iter().find_map(|r| match r {
        Report::ReaperExit(k) => Some(*k),
        _ => None,
    });
    match (body, exit) {
        (Some(BodyResult::Passed), Some(ExitKind::Code(0))) => Verdict::Passed,
        (Some(BodyResult::Passed), Some(k)) => Verdict::Failed(format!(
            "test passed, but its process then {}",
            describe_exit(k)
        )),
        (Some(BodyResult::Panicked { message }), _) => Verdict::Panicked(message),
        (Some(BodyResult::Failed { debug }), _) => Verdict::Returned(debug),
        (None, Some(k @ ExitKind::Signal { .. })) => {
            Verdict::Failed(format!("test {}", describe_exit(k)))
        }
        (None, Some(ExitKind::Code(c))) => Verdict::Failed(format!(
            "test process exited with code {c} without reporting a result \
             (did the test call std::process::exit, or close descriptors it did not open?)"
        )),
        (Some(BodyResult::Passed), None) | (None, None) => Verdict::Failed(match reaper {
            Some(k) => format!(
                "the sandbox ended before the test reported a result: its reaper {}",
                describe_exit(k)
            ),
            None if c.garbled => "the sandbox sent a malformed report".to_string(),
            None => "the sandbox broke off before the test reported a result \
                     (was it killed from outside, or did the fork server die?)"
                .to_string(),
        }),
    }
}

fn run_spec(spec: &Spec, body: Body) -> Verdict {
    if !cfg!(target_os = "linux") {
        let e = Error::Unsupported;
        return if skip_unsupported() {
            Verdict::Skipped(e.to_string())
        } else {
            Verdict::Failed(e.to_string())
        };
    }
    let mut req = match body_request(spec, body) {
        Ok(r) => r,
        Err(e) => return Verdict::Failed(e.to_string()),
    };
    let limits =
        match crate::limits::prepare(spec.limits, spec.namespaces | crate::private::ns::USER) {
            Ok(l) => l,
            Err(e) if e.unsupported && skip_unsupported() => {
                return announce_skip(spec, Verdict::Skipped(e.message))
            }
            Err(e) => return Verdict::Failed(e.message),
        };
    req.options.cgroups = limits.cgroup_dirs();
    req.options.rlimits = limits.rlimits();
    // insta and coverage inside a `mnt` sandbox.
    crate::tools::adapt(&mut req, spec.manifest_dir);
    let launched = match launch(
        req,
        StdioPlan::Pipes {
            merged: !nocapture(),
        },
    ) {
        Ok(l) => l,
        Err(e) => return Verdict::Failed(e.to_string()),
    };
    let mut replay = Replay::default();
    let c = collect(launched, &mut |s, b| replay.feed(s, b));
    replay.finish();
    let v = limits.finish(verdict(&c, spec.timeout_ms));
    announce_skip(spec, v)
}

/// Prints the skip notice of a `Skipped` verdict.
fn announce_skip(spec: &Spec, v: Verdict) -> Verdict {
    if let Verdict::Skipped(why) = &v {
        // Straight to the real stderr: libtest hides a passing test's
        // captured output, and a skip must be visible.
        let notice = format!(
            "ns-test: SKIPPED {} (NS_TEST_UNSUPPORTED=skip): {}\n",
            test_name(spec),
            why.lines().collect::<Vec<_>>().join(" | ")
        );
        let _ = std::io::stderr().write_all(notice.as_bytes());
    }
    v
}

/// `run` for tests returning `()`.
#[track_caller]
pub(crate) fn run_unit(spec: &Spec, body: Body) {
    match (run_spec(spec, body), spec.should_panic) {
        (Verdict::Passed, _) | (Verdict::Skipped(_), None) => {}
        // A skipped `#[should_panic]` test passes too: with the panic it
        // expects (the skip notice is already printed).
        (Verdict::Skipped(_), Some(expected)) => {
            std::panic::resume_unwind(Box::new(expected.to_string()))
        }
        (Verdict::Panicked(msg), _) => std::panic::resume_unwind(Box::new(msg)),
        (Verdict::Returned(debug), _) => panic!("Error: {debug}"),
        // The harness's own failure (a crash, a timeout, a setup error) is
        // not the panic a `#[should_panic]` test expects: say what happened
        // and return, so libtest fails it ("did not panic as expected").
        (Verdict::Failed(msg), Some(_)) => eprintln!("{msg}"),
        (Verdict::Failed(msg), None) => panic!("{msg}"),
    }
}

/// `run` for tests returning `Result`.
#[track_caller]
pub(crate) fn run_result(spec: &Spec, body: Body) -> Result<(), Failure> {
    match run_spec(spec, body) {
        Verdict::Passed | Verdict::Skipped(_) => Ok(()),
        Verdict::Panicked(msg) => std::panic::resume_unwind(Box::new(msg)),
        Verdict::Returned(debug) => Err(Failure(debug)),
        Verdict::Failed(msg) => panic!("{msg}"),
    }
}
