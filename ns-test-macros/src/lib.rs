//! The `#[ns_test]` attribute of [ns-test]: parsing, validation and code
//! generation only. Use it through the runtime crate, which re-exports it
//! and provides everything the expansion calls:
//!
//! ```toml
//! [dev-dependencies]
//! ns-test = "0.1"
//! ```
//!
//! ```
//! use ns_test::ns_test;
//!
//! #[ns_test(net)]
//! fn binds_8080() {
//!     std::net::TcpListener::bind("127.0.0.1:8080").expect("port 8080 is free in here");
//! }
//! # fn main() {}
//! ```
//!
//! The crate is laid out as parse → validate → expand:
//!
//! - `args`: the argument grammar and its validation (namespaces, `hostname`,
//!   `timeout`); every error at its token, all reported at once;
//! - `item`: the function and its attributes — which one registers the test,
//!   which go where;
//! - `above`: seeing a `#[test]` written above `#[ns_test]`, which rustc has
//!   already expanded by the time this macro runs;
//! - `expand`: the generated code, or on error the unchanged item plus
//!   `compile_error!`s.
//!
//! [ns-test]: https://docs.rs/ns-test

mod above;
mod args;
mod diag;
mod expand;
mod item;
mod options;

use proc_macro::TokenStream;

/// Runs a test in fresh, unprivileged Linux namespaces.
///
/// ```
/// use ns_test::ns_test;
///
/// #[ns_test(net, mnt, pid, timeout = "5s")]
/// fn server_roundtrip() -> Result<(), std::io::Error> {
///     let listener = std::net::TcpListener::bind("127.0.0.1:8080")?;
///     let _client = std::net::TcpStream::connect(listener.local_addr()?)?;
///     Ok(())
/// }
/// # fn main() {}
/// ```
///
/// # Arguments
///
/// In any order, each at most once; no arguments at all means `all`.
///
/// | argument | meaning |
/// | --- | --- |
/// | `user` | user namespace; always created, naming it is allowed |
/// | `net` | private network with `lo` up |
/// | `mnt` | mount namespace with a fresh tmpfs root |
/// | `pid` | own PID tree |
/// | `ipc` | own SysV IPC and POSIX message queues |
/// | `uts` | own hostname |
/// | `cgroup` | own cgroup view |
/// | `time` | own clocks (Linux 5.6+) |
/// | `all` | every namespace above |
/// | `hostname = "box"` | the hostname inside; needs `uts` (or `all`, or no namespace named) |
/// | `timeout = "10s"` | kill the sandbox and fail the test after this long: a number (decimals allowed) and a unit, `ms`, `s`, `m` or `h` |
/// | `uid = 1000`, `gid = 100` | run the body as this uid/gid inside, without capabilities; `gid` needs `uid` and defaults to it; `uid` is not 0 |
/// | `bind = "src:/dst"` | bind host path `src` (relative: to the package directory) read-only at absolute `/dst`; needs `mnt` |
/// | `bind_rw = "src:/dst"` | the same, writable |
/// | `tmpfs = "/dst"` | a fresh writable tmpfs at `/dst`; needs `mnt` |
/// | `bind("a:/x", "b:/y")` | several of a kind (`bind_rw(..)`, `tmpfs(..)` alike); every target distinct |
/// | `env(KEY = "value", ...)` | environment variables, set last; keys are identifiers or string literals |
/// | `memory = "64M"` | memory limit: a whole number and `K`, `M` or `G` (powers of 1024), at least `1M` |
/// | `pids = 64` | at most this many processes and threads in the test; at least 2 |
/// | `cpu = "50%"` | CPU share: a whole percentage of one CPU, more than 100 for several |
/// | `time(monotonic = "+30d", boottime = "-1h")` | the time namespace, with its clocks moved by these signed offsets (`ms`, `s`, `m`, `h`, `d`) |
///
/// Options alone (`#[ns_test(timeout = "5s")]`) keep every namespace;
/// `time(...)` names the time namespace like `time` does.
/// Mistakes are compile errors at the offending token, all reported at once:
/// an unknown or repeated argument, a malformed value, an option without
/// the namespace it needs.
///
/// # The test function
///
/// A free function without parameters or generic types, returning `()` or
/// `Result<(), E: Debug>`. With other attributes:
///
/// - `#[test]` may be written above or below `#[ns_test]`, or left out;
///   the test is registered exactly once.
/// - `#[should_panic(expected = "...")]` and `#[ignore]` work as usual, above
///   or below: they apply to the panic raised inside the sandbox.
/// - An `async fn` needs its runtime's attribute below `#[ns_test]`
///   (`#[tokio::test]`, `#[async_std::test]`): the runtime then starts inside
///   the sandbox. Above `#[ns_test]`, a runtime attribute works too.
/// - Other attributes (docs, lint levels) stay on the function.
///
/// ```
/// use ns_test::ns_test;
///
/// #[ns_test(uts, hostname = "box")]
/// #[should_panic(expected = "inside")]
/// fn panics_inside() {
///     panic!("inside the sandbox");
/// }
/// # fn main() {}
/// ```
///
/// # Expansion
///
/// The function keeps its name and is nested, unchanged, in the generated
/// test; the test hands it and a `static` description of the arguments to
/// `ns_test`'s runtime, which runs it in the sandbox and reports its outcome
/// as a plain `#[test]` would.
#[proc_macro_attribute]
pub fn ns_test(args: TokenStream, item: TokenStream) -> TokenStream {
    expand::ns_test(args.into(), item.into(), above::Above::call_site()).into()
}

/// `#[ns_test]` as it re-emits itself below a test generator's attribute
/// (`#[rstest]`, `#[test_case]`) written under it: applied to each case the
/// generator makes. Internal; reached as `::ns_test::__private::ns_test_after`.
#[doc(hidden)]
#[proc_macro_attribute]
pub fn ns_test_after(args: TokenStream, item: TokenStream) -> TokenStream {
    expand::ns_test_after(args.into(), item.into()).into()
}
