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

fn serve(sock: OwnedFd) -> ! {
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
        match sys::fork_single_threaded() {
            Ok(nix::unistd::ForkResult::Child) => {
                drop(sock);
                crate::child::keeper(request, fds)
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
