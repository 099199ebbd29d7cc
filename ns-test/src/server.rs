//! The fork server: this executable, started once per test process in a
//! mode that never reaches `main`, so it stays single-threaded and can
//! `fork` a clean child per sandbox without `exec`.
//!
//! Lifecycle: the first sandbox a process asks for starts the server from a
//! thread that lives as long as the process (the server's parent-death
//! signal is tied to that thread). The server reads [`Request`]s from a
//! `SOCK_SEQPACKET` socket; for each it forks a *keeper* that builds the
//! sandbox (`crate::child`). The server ignores `SIGCHLD`, so keepers are
//! reaped by the kernel. When the test process exits, its end of the socket
//! closes and the server exits; when it is killed, the parent-death signal
//! kills the server, which kills the keepers, which kill the sandboxes.

use std::io::IoSliceMut;
use std::os::fd::{AsRawFd, OwnedFd, RawFd};

use nix::sys::signal::Signal;
use nix::sys::socket::{recvmsg, ControlMessageOwned, MsgFlags};

use crate::protocol::{Report, Request, MAX_MESSAGE};
use crate::sys;

/// Environment variable naming the process's role.
pub(crate) const ROLE_ENV: &str = "NS_TEST_INTERNAL_ROLE";
/// Role value of the fork server.
pub(crate) const ROLE_SERVER: &str = "fork-server";
/// Environment variable carrying the request socket's fd number.
pub(crate) const FD_ENV: &str = "NS_TEST_INTERNAL_FD";
/// Environment variable carrying the test process's pid (the server exits if
/// its parent is already gone).
pub(crate) const PARENT_ENV: &str = "NS_TEST_INTERNAL_PARENT";

/// Called before `main` in every process: becomes the fork server when the
/// environment says so, else returns at once.
pub(crate) fn maybe_serve() {
    match std::env::var_os(ROLE_ENV) {
        Some(v) if v == ROLE_SERVER => {}
        _ => return,
    }
    let fd: Option<RawFd> = std::env::var(FD_ENV).ok().and_then(|v| v.parse().ok());
    let parent: Option<i32> = std::env::var(PARENT_ENV).ok().and_then(|v| v.parse().ok());
    std::env::remove_var(ROLE_ENV);
    std::env::remove_var(FD_ENV);
    std::env::remove_var(PARENT_ENV);
    let Some(fd) = fd else {
        eprintln!("ns-test: fork server started without {FD_ENV}");
        sys::exit_now(2)
    };
    if parent != Some(nix::unistd::getppid().as_raw()) {
        // The test process died between fork and the parent-death signal
        // taking effect.
        sys::exit_now(0)
    }
    serve(sys::own_fd(fd))
}

/// Threads of this process, from `/proc/self/status`.
fn thread_count() -> Option<u32> {
    std::fs::read_to_string("/proc/self/status")
        .ok()?
        .lines()
        .find_map(|l| l.strip_prefix("Threads:"))?
        .trim()
        .parse()
        .ok()
}

fn serve(sock: OwnedFd) -> ! {
    // Forking is only sound while this process has one thread: another
    // crate's constructor (run before us) may have started one.
    if thread_count().is_some_and(|n| n > 1) {
        eprintln!(
            "ns-test: the fork server has more than one thread (a constructor of another crate \
             started one), so it cannot fork sandboxes safely; sandboxed tests fail"
        );
        sys::exit_now(3)
    }
    sys::set_title("server");
    // What every sandbox would otherwise look up again.
    crate::mount::warm_up();
    // Keepers are reaped by the kernel; nobody waits for them here.
    sys::set_signal_ignored(Signal::SIGCHLD, true);
    // As after Rust's runtime start-up: a write to a closed pipe is an
    // error, not a signal.
    sys::set_signal_ignored(Signal::SIGPIPE, true);
    let own_id = crate::parent::exe_id().unwrap_or((0, 0));
    let mut buf = vec![0u8; MAX_MESSAGE];
    let mut warm: Option<Warm> = None;
    let mut served = 0u64;
    loop {
        let (len, fds) = match receive(sock.as_raw_fd(), &mut buf) {
            Ok(Some(m)) => m,
            Ok(None) => sys::exit_now(0),
            Err(nix::errno::Errno::EINTR) => continue,
            Err(_) => sys::exit_now(1),
        };
        let request = Request::decode(&buf[..len]);
        let request = match request {
            Ok(r) if r.exe_id == own_id && fds.len() == r.stdio.fd_count() => r,
            other => {
                let detail = match other {
                    Ok(_) => "request from a different executable or with missing fds",
                    Err(_) => "malformed request",
                };
                if let Some(report) = fds.first() {
                    let _ = crate::child::send(
                        report.as_raw_fd(),
                        &Report::SetupFailed {
                            step: crate::error::Step::Other.code(),
                            syscall: detail.into(),
                            path: None,
                            errno: 22,
                        },
                    );
                }
                continue;
            }
        };
        // A warm keeper with these namespaces already made takes it over;
        // otherwise a keeper is forked for it.
        let key = warm_key(&request);
        let taken = match warm.take() {
            Some(w) if Some(w.key) == key => hand_over(&w, &buf[..len], &fds),
            _ => false,
        };
        served += 1;
        if let Some(k) = key.filter(|_| served > 1) {
            // Guess the next request is alike: make its namespaces while
            // this test runs. Not after the first: a process that runs one
            // test (as under nextest) would only make them for nothing.
            warm = start_warm(k, sock.as_raw_fd());
        }
        if taken {
            drop(fds);
            continue;
        }
        match sys::fork_single_threaded() {
            Ok(nix::unistd::ForkResult::Child) => {
                drop(sock);
                crate::child::keeper(request, fds, None)
            }
            Ok(nix::unistd::ForkResult::Parent { .. }) => drop(fds),
            Err(e) => {
                if let Some(report) = fds.first() {
                    let _ = crate::child::send(
                        report.as_raw_fd(),
                        &Report::SetupFailed {
                            step: crate::error::Step::Fork.code(),
                            syscall: "fork".into(),
                            path: None,
                            errno: e as i32,
                        },
                    );
                }
            }
        }
    }
}

/// A keeper forked ahead of its request, its namespaces already made:
/// creating a network namespace is the most expensive step of a sandbox,
/// and with it done while the previous test runs, a test that runs alone
/// does not wait for it.
struct Warm {
    /// What it made: namespaces, uid, gid.
    key: (u32, u32, u32),
    /// Where its request goes; closing it ends the warm keeper.
    sock: OwnedFd,
}

/// The namespaces a request needs, if a warm keeper can serve it: not when
/// the keeper must join cgroups or write clock offsets before creating
/// them, and not when warm keepers are off (see [`warm_keepers_allowed`]).
fn warm_key(r: &Request) -> Option<(u32, u32, u32)> {
    if !warm_keepers_allowed() || !r.options.cgroups.is_empty() || r.options.time_offsets.any() {
        return None;
    }
    Some((r.namespaces, r.uid, r.gid))
}

/// A warm keeper holds one set of namespaces until the next request: only
/// where the namespace limits leave plenty of room (a host with
/// `user.max_user_namespaces` in the single digits needs every one for the
/// tests themselves), and unless `NS_TEST_PREFORK=0`.
fn warm_keepers_allowed() -> bool {
    static ALLOWED: std::sync::OnceLock<bool> = std::sync::OnceLock::new();
    *ALLOWED.get_or_init(|| {
        if std::env::var("NS_TEST_PREFORK").is_ok_and(|v| v == "0") {
            return false;
        }
        ["user", "net", "mnt", "pid"].iter().all(|kind| {
            std::fs::read_to_string(format!("/proc/sys/user/max_{kind}_namespaces"))
                .ok()
                .and_then(|v| v.trim().parse::<u64>().ok())
                .is_none_or(|max| max >= 64)
        })
    })
}

/// Passes a request (its bytes and descriptors) to a warm keeper.
fn hand_over(w: &Warm, bytes: &[u8], fds: &[OwnedFd]) -> bool {
    use nix::sys::socket::{sendmsg, ControlMessage};
    let raw: Vec<RawFd> = fds.iter().map(|f| f.as_raw_fd()).collect();
    sendmsg::<()>(
        w.sock.as_raw_fd(),
        &[std::io::IoSlice::new(bytes)],
        &[ControlMessage::ScmRights(&raw)],
        MsgFlags::MSG_NOSIGNAL,
        None,
    )
    .is_ok()
}

/// Forks a warm keeper for `key`; `server_sock` is closed in it.
fn start_warm(key: (u32, u32, u32), server_sock: RawFd) -> Option<Warm> {
    use nix::sys::socket::{socketpair, AddressFamily, SockFlag, SockType};
    let (ours, theirs) = socketpair(
        AddressFamily::Unix,
        SockType::SeqPacket,
        None,
        SockFlag::SOCK_CLOEXEC,
    )
    .ok()?;
    match sys::fork_single_threaded() {
        Ok(nix::unistd::ForkResult::Child) => {
            drop(ours);
            // (`warm_keeper` closes every other descriptor, `server_sock`
            // among them.)
            let _ = server_sock;
            warm_keeper(key, theirs)
        }
        Ok(nix::unistd::ForkResult::Parent { .. }) => Some(Warm { key, sock: ours }),
        Err(_) => None,
    }
}

fn warm_keeper(key: (u32, u32, u32), sock: OwnedFd) -> ! {
    // The descriptors of the request the server was handling when it forked
    // us are not ours: holding its pipes would keep that test waiting.
    let own = sock.as_raw_fd() as u32;
    sys::close_range(3, own - 1);
    sys::close_range(own + 1, u32::MAX);
    sys::set_signal_ignored(Signal::SIGCHLD, false);
    let _ = nix::sys::prctl::set_pdeathsig(Signal::SIGKILL);
    sys::set_title("keeper (ready)");
    let ahead = crate::child::create_ahead(key.0, key.1, key.2);
    let mut buf = vec![0u8; MAX_MESSAGE];
    let (len, fds) = match receive(sock.as_raw_fd(), &mut buf) {
        Ok(Some(m)) => m,
        // Not needed after all (the server moved on, or is gone).
        _ => sys::exit_now(0),
    };
    drop(sock);
    match Request::decode(&buf[..len]) {
        Ok(request) => crate::child::keeper(request, fds, Some(ahead)),
        Err(_) => sys::exit_now(2),
    }
}

/// One request and its descriptors; `None` at end of stream.
fn receive(sock: RawFd, buf: &mut [u8]) -> nix::Result<Option<(usize, Vec<OwnedFd>)>> {
    let mut cmsg = nix::cmsg_space!([RawFd; 8]);
    let mut iov = [IoSliceMut::new(buf)];
    let msg = recvmsg::<()>(sock, &mut iov, Some(&mut cmsg), MsgFlags::MSG_CMSG_CLOEXEC)?;
    let mut fds = Vec::new();
    for c in msg.cmsgs()? {
        if let ControlMessageOwned::ScmRights(raw) = c {
            fds.extend(raw.into_iter().map(sys::own_fd));
        }
    }
    if msg.bytes == 0 && fds.is_empty() {
        return Ok(None);
    }
    Ok(Some((msg.bytes, fds)))
}
