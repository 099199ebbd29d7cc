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
//! - `options`, `lab`: the values of the options and of `net(...)`'s lab;
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
mod lab;
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
/// | `net(hosts = 3, delay = "100ms", loss = "5%", ...)` | the network namespace with a lab of hosts in it; see [Network lab](#network-lab) |
///
/// Options alone (`#[ns_test(timeout = "5s")]`) keep every namespace;
/// `time(...)` names the time namespace like `time` does, and `net(...)` the
/// network namespace like `net` does.
/// Mistakes are compile errors at the offending token, all reported at once:
/// an unknown or repeated argument, a malformed value, an option without
/// the namespace it needs.
///
/// # Network lab
///
/// `net(hosts = N, ...)` builds a lab of `ns_test::netlab` inside the sandbox
/// before the test function runs: hosts `h1`..`hN`, each a network namespace
/// with `eth0` at `198.18.0.<i>/15`, joined through a relay that applies
/// the link options to every path (each direction between two hosts). The
/// test reaches it with `ns_test::netlab::lab()`; everything else (one
/// link's faults, partitions, statistics, commands on a host) is that
/// runtime API.
///
/// ```
/// use ns_test::ns_test;
///
/// #[ns_test(net(hosts = 2, delay = "50ms", loss = "1%"), mnt)]
/// fn slow_link() {
///     let lab = ns_test::netlab::lab();
///     let h2 = lab.host("h2").unwrap();
///     let listener = h2.run(|| std::net::TcpListener::bind("0.0.0.0:7000")).unwrap().unwrap();
///     let h1 = lab.host("h1").unwrap();
///     // `h2` resolves: with `mnt`, the lab mounts a hosts file over /etc/hosts.
///     h1.run(|| std::net::TcpStream::connect("h2:7000")).unwrap().unwrap();
///     listener.accept().unwrap();
/// }
/// # fn main() {}
/// ```
///
/// | option | value |
/// | --- | --- |
/// | `hosts = 3` | required: 1 to 250 hosts |
/// | `delay = "100ms"` | one-way delay of every frame: a number (decimals allowed) and `ns`, `us` (or `µs`), `ms`, `s`, `m` or `h`; at most `"1h"` |
/// | `jitter = "10ms"` | each frame's delay is drawn from `delay ± jitter`, order kept; as `delay` |
/// | `loss = "5%"` | probability that a frame is dropped: a percentage from `"0%"` to `"100%"`, decimals allowed |
/// | `duplicate = "1%"` | probability that a frame is delivered twice; as `loss` |
/// | `reorder = "1%"` | probability that a frame skips the delay and overtakes the frames before it (needs a `delay`); as `loss` |
/// | `rate = "10mbit"` | rate limit, more than zero, spelled like `tc`: bits per second with `bit`, `kbit`, `mbit`, `gbit`, `tbit` (powers of 1000) or `kibit`, `mibit`, `gibit`, `tibit` (powers of 1024), any case; bytes per second with a capital `B`: `Bps`, `kBps`, `MBps`, `GBps`, `TBps`, `KiBps`, ... (`"10mbps"` is refused: `tc` reads it as bytes, most people as bits) |
/// | `queue = 1000` | frames the rate limiter holds before it drops; 1 to 1 000 000 (default 1000) |
/// | `seed = 42` | the seed of the fault sequence, fixed: it wins over `NS_TEST_NET_SEED` (without it: that variable, else random; the lab prints the seed it uses) |
///
/// Each option at most once; `net` and `net(...)` not both. Names resolve
/// through `/etc/hosts` when the sandbox has a mount namespace of its own
/// (`mnt` or `pid`); with `net(...)` alone, use `lab.resolve("h2")` or
/// `host.addr(port)`. `uid` cannot be combined with `net(...)`: the lab is
/// built as the sandbox's root. A lab that cannot be built fails the test
/// with the lab's message (the step, the call and the errno). The module
/// `ns_test::netlab`, like namespaces, exists on Linux only: on other targets
/// the expansion leaves the lab out and the test fails as unsupported (a
/// body that calls `ns_test::netlab` builds there only under
/// `#[cfg(target_os = "linux")]`).
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
