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
///
/// Options alone (`#[ns_test(timeout = "5s")]`) keep every namespace.
/// Mistakes are compile errors at the offending token, all reported at once:
/// an unknown or repeated argument, a malformed timeout or hostname.
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
