//! Network namespaces by descriptor: create one on a short-lived thread
//! (`unshare(CLONE_NEWNET)` affects only the calling thread), keep it by
//! the descriptor `SIOCGSKNS` returns, and enter it on other threads with
//! `setns`.

use std::os::fd::{AsFd, BorrowedFd, OwnedFd};

use nix::sched::{setns, unshare, CloneFlags};

use super::error::{Error, Step};
use super::netlink::Netlink;

/// A fresh network namespace with an rtnetlink socket in it.
pub(crate) struct Netns {
    pub fd: OwnedFd,
    pub netlink: Netlink,
}

/// Creates a network namespace owned by this process's user namespace.
/// `who` names it in errors.
pub(crate) fn create(who: &str) -> Result<Netns, Error> {
    let spawned = std::thread::Builder::new()
        .name(format!("netlab-{who}"))
        .spawn(move || -> Result<Netns, (Step, &'static str, i32)> {
            unshare(CloneFlags::CLONE_NEWNET)
                .map_err(|e| (Step::CreateNamespace, "unshare(CLONE_NEWNET)", e as i32))?;
            let io = |step, call, e: std::io::Error| (step, call, e.raw_os_error().unwrap_or(5));
            let netlink = Netlink::open()
                .map_err(|e| io(Step::OpenNetlink, "socket(AF_NETLINK, NETLINK_ROUTE)", e))?;
            let fd = netlink
                .netns()
                .map_err(|e| io(Step::CreateNamespace, "ioctl(SIOCGSKNS)", e))?;
            Ok(Netns { fd, netlink })
        });
    let handle =
        spawned.map_err(|e| Error::io(Step::CreateNamespace, Some(who), "pthread_create", &e))?;
    match handle.join() {
        Ok(Ok(ns)) => Ok(ns),
        Ok(Err((step, call, errno))) => Err(Error::sys(step, Some(who), call, errno)),
        Err(_) => Err(Error::sys(
            Step::CreateNamespace,
            Some(who),
            "thread",
            nix::libc::EIO,
        )),
    }
}

/// Moves the calling thread into network namespace `ns`.
pub(crate) fn enter(ns: BorrowedFd<'_>, who: &str) -> Result<(), Error> {
    setns(ns.as_fd(), CloneFlags::CLONE_NEWNET)
        .map_err(|e| Error::sys(Step::EnterHost, Some(who), "setns(CLONE_NEWNET)", e as i32))
}
