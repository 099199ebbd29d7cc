//! [`Host`]: one network namespace of the lab, and the ways to run code in
//! it.

use std::net::{Ipv4Addr, SocketAddr, SocketAddrV4};
use std::os::fd::{AsFd, BorrowedFd, OwnedFd};
use std::process::Command;
use std::sync::Arc;
use std::thread::JoinHandle;

use super::error::Error;
use super::{netns, sys};

/// A host of a [`Lab`](super::Lab): a network namespace with `lo` and one
/// interface, `eth0`, holding the host's address.
///
/// Code runs "on" a host when its thread is in the host's network
/// namespace: sockets it creates belong to the host, and stay so when
/// moved to another thread. Everything else (files, processes, the test's
/// memory) is shared with the test.
#[derive(Debug, Clone)]
pub struct Host {
    pub(crate) name: String,
    pub(crate) index: usize,
    pub(crate) ip: Ipv4Addr,
    pub(crate) mac: [u8; 6],
    pub(crate) netns: Arc<OwnedFd>,
}

impl Host {
    /// The name (`h1`, or as given to [`LabBuilder::host`](super::LabBuilder::host)).
    pub fn name(&self) -> &str {
        &self.name
    }

    /// The position in [`Lab::hosts`](super::Lab::hosts), from 0.
    pub fn index(&self) -> usize {
        self.index
    }

    /// The address of `eth0`: `198.18.0.1` for the first host, `.2` for the
    /// second, ...
    pub fn ip(&self) -> Ipv4Addr {
        self.ip
    }

    /// `ip():port`.
    pub fn addr(&self, port: u16) -> SocketAddr {
        SocketAddr::V4(SocketAddrV4::new(self.ip, port))
    }

    /// The MAC address of `eth0` (`02:6e:73:00:00:01` for the first host).
    pub fn mac(&self) -> [u8; 6] {
        self.mac
    }

    /// The host's network namespace, e.g. to compare with
    /// `/proc/<pid>/ns/net` or to `setns` into yourself.
    pub fn netns(&self) -> BorrowedFd<'_> {
        self.netns.as_fd()
    }

    /// Runs `f` on this host, on a new thread named after the host, and
    /// returns its result. A panic in `f` is resumed on the calling thread.
    ///
    /// ```no_run
    /// # fn demo(lab: &ns_test::netlab::Lab) -> Result<(), Box<dyn std::error::Error>> {
    /// let server = lab.host("h2")?;
    /// // A listener created on h2 stays on h2, whatever thread accepts.
    /// let listener = server.run(|| std::net::TcpListener::bind("0.0.0.0:7000"))??;
    /// # Ok(()) }
    /// ```
    pub fn run<R, F>(&self, f: F) -> Result<R, Error>
    where
        F: FnOnce() -> R + Send,
        R: Send,
    {
        std::thread::scope(|s| {
            let handle = std::thread::Builder::new()
                .name(self.name.clone())
                .spawn_scoped(s, || -> Result<R, Error> {
                    netns::enter(self.netns.as_fd(), &self.name)?;
                    Ok(f())
                })
                .map_err(|e| self.spawn_error(&e))?;
            match handle.join() {
                Ok(r) => r,
                Err(panic) => std::panic::resume_unwind(panic),
            }
        })
    }

    /// A thread for this host could not be started.
    fn spawn_error(&self, e: &std::io::Error) -> Error {
        Error::io(
            super::Step::EnterHost,
            Some(&self.name),
            "pthread_create",
            e,
        )
    }

    /// Starts `f` on this host on a new thread named after the host (a
    /// server loop, say), and returns its handle. The thread ends with the
    /// test process at the latest.
    pub fn spawn<R, F>(&self, f: F) -> Result<JoinHandle<R>, Error>
    where
        F: FnOnce() -> R + Send + 'static,
        R: Send + 'static,
    {
        let ns = self.netns.clone();
        let name = self.name.clone();
        let (tx, rx) = std::sync::mpsc::sync_channel::<Result<(), Error>>(1);
        let handle = std::thread::Builder::new()
            .name(self.name.clone())
            .spawn(move || {
                let entered = netns::enter(ns.as_fd(), &name);
                let ok = entered.is_ok();
                let _ = tx.send(entered);
                if !ok {
                    // The caller gets the error; this thread has nothing to run.
                    std::panic::resume_unwind(Box::new("netlab: setns failed"));
                }
                f()
            })
            .map_err(|e| self.spawn_error(&e))?;
        match rx.recv() {
            Ok(Ok(())) => Ok(handle),
            Ok(Err(e)) => Err(e),
            Err(_) => Err(Error::sys(
                super::Step::EnterHost,
                Some(&self.name),
                "thread",
                nix::libc::EIO,
            )),
        }
    }

    /// Prepares `cmd` to run on this host: when spawned, the child enters
    /// the host's network namespace before it executes the program, and
    /// gets `SIGKILL` when the thread that spawned it exits (so spawn
    /// long-running servers from the test's own thread, not from a
    /// short-lived one). Returns `cmd` for chaining.
    ///
    /// ```no_run
    /// # fn demo(lab: &ns_test::netlab::Lab) -> Result<(), Box<dyn std::error::Error>> {
    /// use std::process::Command;
    /// let mut server = lab.host("h2")?.command(&mut Command::new("my-server")).spawn()?;
    /// # server.kill()?; Ok(()) }
    /// ```
    pub fn command<'c>(&self, cmd: &'c mut Command) -> &'c mut Command {
        sys::enter_on_exec(cmd, self.netns.clone());
        cmd
    }
}
