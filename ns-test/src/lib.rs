//! Run each test in fresh, unprivileged Linux namespaces.
//!
//! ```
//! use ns_test::ns_test;
//!
//! #[ns_test(net)]
//! fn binds_8080() {
//!     // Every test has its own loopback: no port clashes, no `#[serial]`.
//!     let l = std::net::TcpListener::bind("127.0.0.1:8080").unwrap();
//!     std::net::TcpStream::connect(l.local_addr().unwrap()).unwrap();
//! }
//! ```
//!
//! `#[ns_test(...)]` takes the namespaces to create (`user`, `net`, `mnt`,
//! `pid`, `ipc`, `uts`, `cgroup`, `time`, `all`; none = all), plus
//! `hostname = "..."` and `timeout = "10s"`, and options for the inside:
//! `uid = 1000`, `bind = "fixtures/certs:/etc/certs"`, `bind_rw`, `tmpfs`,
//! `env(KEY = "value")`, `memory = "64M"`, `pids = 64`, `cpu = "50%"`,
//! `time(monotonic = "+30d")` (see [`limits`] for how limits are enforced).
//! A user namespace is always created, mapping the invoking user to root
//! inside, so no privileges are needed.
//!
//! # How it works
//!
//! libtest runs each test on a thread of a multi-threaded process, where
//! `unshare(CLONE_NEWUSER)` fails and `fork` without `exec` is unsafe. So the
//! first sandboxed test of a process starts a *fork server*: this same
//! executable, re-executed in a mode that takes over before `main` and so
//! stays single-threaded. For each test the server forks a keeper that
//! creates the namespaces; inside, a reaper (PID 1 with `pid`) builds the
//! root filesystem and forks the process that calls the test body. The body
//! is found by its distance from a fixed function of this crate. Output
//! comes back over pipes and is replayed into libtest's capture; the result
//! (passed, panicked with message, returned `Err`, setup failed at step S
//! with errno E) comes over a separate socket, with the exit status or
//! signal as the cross-check. When the test process dies, the server, the
//! keepers and every sandbox die with it.
//!
//! Non-Linux targets compile; their sandboxed tests fail (or skip with
//! `NS_TEST_UNSUPPORTED=skip`) with a message saying why.
#![deny(unsafe_code)]
#![warn(missing_docs)]

pub use ns_test_macros::ns_test;

#[cfg(target_os = "linux")]
mod cgroup;
#[cfg(target_os = "linux")]
mod child;
#[cfg(target_os = "linux")]
pub mod diagnose;
#[cfg(target_os = "linux")]
pub mod doctor;
pub mod error;
#[cfg(target_os = "linux")]
mod identity;
#[cfg(target_os = "linux")]
pub mod inspect;
#[cfg(target_os = "linux")]
pub mod limits;
#[cfg(target_os = "linux")]
mod mount;
#[cfg(target_os = "linux")]
pub mod netlab;
mod outcome;
#[cfg(target_os = "linux")]
mod parent;
#[cfg(target_os = "linux")]
pub mod protocol;
#[cfg(target_os = "linux")]
mod sandbox;
#[cfg(target_os = "linux")]
mod server;
#[cfg(target_os = "linux")]
mod sys;
#[cfg(target_os = "linux")]
mod tools;

#[doc(hidden)]
pub mod __private {
    pub use crate::private::*;
}
mod private;

pub use error::{Error, SetupError, Step};
pub use outcome::Failure;
#[cfg(target_os = "linux")]
pub use sandbox::{Namespaces, Sandbox, SandboxExit, SandboxOutput, NAMES};

/// The README's examples, compiled as doctests.
#[cfg(doctest)]
#[doc = include_str!("../../README.md")]
pub struct ReadmeDoctests;

/// The hostname of a `uts` sandbox when the attribute sets none.
pub const DEFAULT_HOSTNAME: &str = "ns-test";
