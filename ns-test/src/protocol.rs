//! The messages between a test thread, the fork server and a sandbox.
//!
//! Two channels, both `SOCK_SEQPACKET` Unix sockets, so the kernel keeps
//! message boundaries and a writer that dies mid-send delivers nothing
//! rather than half a frame:
//!
//! * the *request* channel, test thread → fork server: one [`Request`] per
//!   sandbox, with the sandbox's stdio and report socket attached as
//!   `SCM_RIGHTS`;
//! * the *report* channel, sandbox → test thread: a sequence of [`Report`]s
//!   (`Hello`, `Started`, then `SetupFailed` or `Outcome` and `Exit`).
//!
//! Each message is one tag byte followed by fields in a fixed order;
//! integers little-endian, strings and byte strings length-prefixed (u32).

use std::ffi::OsString;
use std::os::unix::ffi::{OsStrExt, OsStringExt};
use std::path::PathBuf;

pub use crate::private::{Identity, MountKind, TimeOffsets};

/// Largest message either side sends; panic messages are cut to fit.
pub const MAX_MESSAGE: usize = 128 * 1024;

/// A message could not be decoded: the peer is not speaking this protocol
/// version, or the message was cut.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DecodeError {
    /// What was being read when the input ended or did not fit.
    pub what: &'static str,
}

impl std::fmt::Display for DecodeError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "malformed message while reading {}", self.what)
    }
}

impl std::error::Error for DecodeError {}

/// Appends fields to a message buffer.
#[derive(Default)]
pub struct Encoder {
    buf: Vec<u8>,
}

impl Encoder {
    /// A message starting with `tag`.
    pub fn new(tag: u8) -> Self {
        Encoder { buf: vec![tag] }
    }
    /// Appends a `u8`.
    pub fn u8(&mut self, v: u8) -> &mut Self {
        self.buf.push(v);
        self
    }
    /// Appends a `u32`.
    pub fn u32(&mut self, v: u32) -> &mut Self {
        self.buf.extend_from_slice(&v.to_le_bytes());
        self
    }
    /// Appends an `i32`.
    pub fn i32(&mut self, v: i32) -> &mut Self {
        self.buf.extend_from_slice(&v.to_le_bytes());
        self
    }
    /// Appends a `u64`.
    pub fn u64(&mut self, v: u64) -> &mut Self {
        self.buf.extend_from_slice(&v.to_le_bytes());
        self
    }
    /// Appends a length-prefixed byte string, cut to `MAX_MESSAGE / 2`.
    pub fn bytes(&mut self, v: &[u8]) -> &mut Self {
        let v = &v[..v.len().min(MAX_MESSAGE / 2)];
        self.u32(v.len() as u32);
        self.buf.extend_from_slice(v);
        self
    }
    /// Appends a string.
    pub fn str(&mut self, v: &str) -> &mut Self {
        self.bytes(v.as_bytes())
    }
    /// Appends an optional byte string (presence byte first).
    pub fn opt_bytes(&mut self, v: Option<&[u8]>) -> &mut Self {
        match v {
            Some(v) => self.u8(1).bytes(v),
            None => self.u8(0),
        }
    }
    /// The finished message.
    pub fn finish(&mut self) -> Vec<u8> {
        std::mem::take(&mut self.buf)
    }
}

/// Reads fields from a received message.
pub struct Decoder<'a> {
    buf: &'a [u8],
}

impl<'a> Decoder<'a> {
    /// Starts reading `buf`.
    pub fn new(buf: &'a [u8]) -> Self {
        Decoder { buf }
    }
    fn take(&mut self, n: usize, what: &'static str) -> Result<&'a [u8], DecodeError> {
        if self.buf.len() < n {
            return Err(DecodeError { what });
        }
        let (head, tail) = self.buf.split_at(n);
        self.buf = tail;
        Ok(head)
    }
    /// Reads a `u8`.
    pub fn u8(&mut self, what: &'static str) -> Result<u8, DecodeError> {
        Ok(self.take(1, what)?[0])
    }
    /// Reads a `u32`.
    pub fn u32(&mut self, what: &'static str) -> Result<u32, DecodeError> {
        let b = self.take(4, what)?;
        Ok(u32::from_le_bytes([b[0], b[1], b[2], b[3]]))
    }
    /// Reads an `i32`.
    pub fn i32(&mut self, what: &'static str) -> Result<i32, DecodeError> {
        Ok(self.u32(what)? as i32)
    }
    /// Reads a `u64`.
    pub fn u64(&mut self, what: &'static str) -> Result<u64, DecodeError> {
        let b = self.take(8, what)?;
        let mut a = [0u8; 8];
        a.copy_from_slice(b);
        Ok(u64::from_le_bytes(a))
    }
    /// Reads a length-prefixed byte string.
    pub fn bytes(&mut self, what: &'static str) -> Result<Vec<u8>, DecodeError> {
        let n = self.u32(what)? as usize;
        Ok(self.take(n, what)?.to_vec())
    }
    /// Reads a string (invalid UTF-8 is replaced).
    pub fn string(&mut self, what: &'static str) -> Result<String, DecodeError> {
        Ok(String::from_utf8_lossy(&self.bytes(what)?).into_owned())
    }
    /// Reads an optional byte string.
    pub fn opt_bytes(&mut self, what: &'static str) -> Result<Option<Vec<u8>>, DecodeError> {
        match self.u8(what)? {
            0 => Ok(None),
            _ => Ok(Some(self.bytes(what)?)),
        }
    }
    /// Fails unless every byte was read.
    pub fn end(&self, what: &'static str) -> Result<(), DecodeError> {
        if self.buf.is_empty() {
            Ok(())
        } else {
            Err(DecodeError { what })
        }
    }
}

/// What the sandboxed process runs.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Payload {
    /// A test body in this binary, as the offset of its fn pointer from
    /// a fixed function of this crate; the server is the same binary, so the offset
    /// names the same function there.
    Body {
        /// `body as usize - anchor as usize`.
        offset: u64,
        /// Thread name to run it under (libtest's test name).
        thread_name: String,
    },
    /// A program, looked up in `PATH` like `execvp`.
    Exec {
        /// argv, program first.
        argv: Vec<OsString>,
    },
}

/// One sandbox to create, as sent to the fork server.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Request {
    /// `(st_dev, st_ino)` of the requesting binary, checked by the server.
    pub exe_id: (u64, u64),
    /// What to run.
    pub payload: Payload,
    /// Namespace bits (`__private::ns`).
    pub namespaces: u32,
    /// Hostname for `uts`.
    pub hostname: Option<String>,
    /// Kill the sandbox this long after it starts; 0 = never.
    pub timeout_ms: u64,
    /// The invoking user and group, mapped to 0 inside.
    pub uid: u32,
    /// See `uid`.
    pub gid: u32,
    /// Working directory inside.
    pub cwd: PathBuf,
    /// Host paths made reachable read-only at the same path (`mnt`).
    pub binds: Vec<PathBuf>,
    /// The environment the payload starts with.
    pub env: Vec<(OsString, OsString)>,
    /// Whether the stdin/stdout/stderr fds are attached (else `/dev/null`
    /// for stdin, and stderr shares stdout's fd).
    pub stdio: StdioLayout,
    /// How the sandbox can be inspected.
    pub inspect: Inspect,
    /// Identity, extra mounts, environment, limits and clocks.
    pub options: SandboxOptions,
}

/// What the attribute's options ask of the inside of a sandbox, resolved
/// by the test thread: sources made absolute, limits mapped to the
/// mechanism that enforces them here.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct SandboxOptions {
    /// Run the payload as this uid/gid, without capabilities (`uid = N`).
    pub identity: Option<Identity>,
    /// Extra mounts (`mnt`), parents before children.
    pub mounts: Vec<MountRequest>,
    /// Variables set last, over the sandbox's defaults (`env(...)`).
    pub set_env: Vec<(OsString, OsString)>,
    /// Cgroup directories the keeper joins before creating the namespaces.
    pub cgroups: Vec<PathBuf>,
    /// Limits enforced with rlimits in the payload (no cgroup for them).
    pub rlimits: Rlimits,
    /// Clock offsets written when the time namespace is created.
    pub time_offsets: TimeOffsets,
}

/// One extra mount.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MountRequest {
    /// `bind`, `bind_rw` or `tmpfs`.
    pub kind: MountKind,
    /// The host path, absolute; empty for `tmpfs`.
    pub source: PathBuf,
    /// The path inside, absolute.
    pub target: PathBuf,
}

/// Limits the payload applies to itself with `setrlimit`; 0 = none.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Rlimits {
    /// `RLIMIT_DATA`, in bytes.
    pub data_bytes: u64,
    /// The test's share of `RLIMIT_NPROC`: its processes and threads (the
    /// payload adds the sandbox's own processes counted with them).
    pub nproc: u32,
}

/// Inspection settings of a sandbox (`NS_TEST_LOG`, `NS_TEST_HOLD`).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Inspect {
    /// The name `ns-test ps` shows (the test name, or the program).
    pub label: String,
    /// Keep the sandbox alive after a failing test until the test thread
    /// closes the report socket.
    pub hold: bool,
    /// Report each setup step with its duration.
    pub trace: bool,
}

/// Which fds travel with a request, in `SCM_RIGHTS` order after the report
/// socket.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum StdioLayout {
    /// `[report, out]`: stdout and stderr share one pipe (keeps their order
    /// when libtest captures both into one buffer); stdin is `/dev/null`.
    Merged,
    /// `[report, out, err]`; stdin is `/dev/null`.
    Split,
    /// `[report, in, out, err]`.
    Full,
}

impl StdioLayout {
    /// How many fds travel with the request.
    pub fn fd_count(self) -> usize {
        match self {
            StdioLayout::Merged => 2,
            StdioLayout::Split => 3,
            StdioLayout::Full => 4,
        }
    }
}

const REQUEST: u8 = b'R';

impl Request {
    /// A field longer than a message field may be (the encoder would cut
    /// it): what it is, for the error.
    pub fn too_long_field(&self) -> Option<String> {
        let limit = MAX_MESSAGE / 2;
        let long = |b: &[u8]| b.len() > limit;
        if let Payload::Exec { argv } = &self.payload {
            if let Some(a) = argv.iter().find(|a| long(a.as_bytes())) {
                return Some(format!("an argument of {} bytes", a.len()));
            }
        }
        if let Some((k, _)) = self
            .env
            .iter()
            .find(|(k, v)| long(k.as_bytes()) || long(v.as_bytes()))
        {
            return Some(format!("environment variable {}", k.to_string_lossy()));
        }
        if long(self.cwd.as_os_str().as_bytes()) {
            return Some("the working directory".into());
        }
        None
    }

    /// Encodes the request.
    pub fn encode(&self) -> Vec<u8> {
        let mut e = Encoder::new(REQUEST);
        e.u64(self.exe_id.0).u64(self.exe_id.1);
        match &self.payload {
            Payload::Body {
                offset,
                thread_name,
            } => {
                e.u8(0).u64(*offset).str(thread_name);
            }
            Payload::Exec { argv } => {
                e.u8(1).u32(argv.len() as u32);
                for a in argv {
                    e.bytes(a.as_bytes());
                }
            }
        }
        e.u32(self.namespaces)
            .opt_bytes(self.hostname.as_deref().map(str::as_bytes))
            .u64(self.timeout_ms)
            .u32(self.uid)
            .u32(self.gid)
            .bytes(self.cwd.as_os_str().as_bytes());
        e.u32(self.binds.len() as u32);
        for b in &self.binds {
            e.bytes(b.as_os_str().as_bytes());
        }
        e.u32(self.env.len() as u32);
        for (k, v) in &self.env {
            e.bytes(k.as_bytes()).bytes(v.as_bytes());
        }
        e.u8(match self.stdio {
            StdioLayout::Merged => 0,
            StdioLayout::Split => 1,
            StdioLayout::Full => 2,
        });
        e.str(&self.inspect.label)
            .u8(self.inspect.hold as u8)
            .u8(self.inspect.trace as u8);
        self.options.encode(&mut e);
        e.finish()
    }

    /// Decodes a request.
    pub fn decode(buf: &[u8]) -> Result<Request, DecodeError> {
        let mut d = Decoder::new(buf);
        if d.u8("request tag")? != REQUEST {
            return Err(DecodeError {
                what: "request tag",
            });
        }
        let exe_id = (d.u64("exe id")?, d.u64("exe id")?);
        let payload = match d.u8("payload kind")? {
            0 => Payload::Body {
                offset: d.u64("body offset")?,
                thread_name: d.string("thread name")?,
            },
            1 => {
                let n = d.u32("argc")?;
                let mut argv = Vec::new();
                for _ in 0..n {
                    argv.push(OsString::from_vec(d.bytes("argv")?));
                }
                Payload::Exec { argv }
            }
            _ => {
                return Err(DecodeError {
                    what: "payload kind",
                })
            }
        };
        let namespaces = d.u32("namespaces")?;
        let hostname = d
            .opt_bytes("hostname")?
            .map(|b| String::from_utf8_lossy(&b).into_owned());
        let timeout_ms = d.u64("timeout")?;
        let uid = d.u32("uid")?;
        let gid = d.u32("gid")?;
        let cwd = PathBuf::from(OsString::from_vec(d.bytes("cwd")?));
        let mut binds = Vec::new();
        for _ in 0..d.u32("bind count")? {
            binds.push(PathBuf::from(OsString::from_vec(d.bytes("bind")?)));
        }
        let mut env = Vec::new();
        for _ in 0..d.u32("env count")? {
            let k = OsString::from_vec(d.bytes("env key")?);
            let v = OsString::from_vec(d.bytes("env value")?);
            env.push((k, v));
        }
        let stdio = match d.u8("stdio layout")? {
            0 => StdioLayout::Merged,
            1 => StdioLayout::Split,
            2 => StdioLayout::Full,
            _ => {
                return Err(DecodeError {
                    what: "stdio layout",
                })
            }
        };
        let inspect = Inspect {
            label: d.string("label")?,
            hold: d.u8("hold")? != 0,
            trace: d.u8("trace")? != 0,
        };
        let options = SandboxOptions::decode(&mut d)?;
        d.end("request end")?;
        Ok(Request {
            exe_id,
            payload,
            namespaces,
            hostname,
            timeout_ms,
            uid,
            gid,
            cwd,
            binds,
            env,
            stdio,
            inspect,
            options,
        })
    }
}

impl SandboxOptions {
    fn encode(&self, e: &mut Encoder) {
        match self.identity {
            Some(Identity { uid, gid }) => e.u8(1).u32(uid).u32(gid),
            None => e.u8(0),
        };
        e.u32(self.mounts.len() as u32);
        for m in &self.mounts {
            e.u8(match m.kind {
                MountKind::Bind => 0,
                MountKind::BindRw => 1,
                MountKind::Tmpfs => 2,
            })
            .bytes(m.source.as_os_str().as_bytes())
            .bytes(m.target.as_os_str().as_bytes());
        }
        e.u32(self.set_env.len() as u32);
        for (k, v) in &self.set_env {
            e.bytes(k.as_bytes()).bytes(v.as_bytes());
        }
        e.u32(self.cgroups.len() as u32);
        for c in &self.cgroups {
            e.bytes(c.as_os_str().as_bytes());
        }
        e.u64(self.rlimits.data_bytes)
            .u32(self.rlimits.nproc)
            .u64(self.time_offsets.monotonic_ms as u64)
            .u64(self.time_offsets.boottime_ms as u64);
    }

    fn decode(d: &mut Decoder<'_>) -> Result<SandboxOptions, DecodeError> {
        let path = |d: &mut Decoder<'_>, what| -> Result<PathBuf, DecodeError> {
            Ok(PathBuf::from(OsString::from_vec(d.bytes(what)?)))
        };
        let identity = match d.u8("identity")? {
            0 => None,
            _ => Some(Identity {
                uid: d.u32("identity uid")?,
                gid: d.u32("identity gid")?,
            }),
        };
        let mut mounts = Vec::new();
        for _ in 0..d.u32("mount count")? {
            let kind = match d.u8("mount kind")? {
                0 => MountKind::Bind,
                1 => MountKind::BindRw,
                2 => MountKind::Tmpfs,
                _ => return Err(DecodeError { what: "mount kind" }),
            };
            mounts.push(MountRequest {
                kind,
                source: path(d, "mount source")?,
                target: path(d, "mount target")?,
            });
        }
        let mut set_env = Vec::new();
        for _ in 0..d.u32("set env count")? {
            let k = OsString::from_vec(d.bytes("set env key")?);
            let v = OsString::from_vec(d.bytes("set env value")?);
            set_env.push((k, v));
        }
        let mut cgroups = Vec::new();
        for _ in 0..d.u32("cgroup count")? {
            cgroups.push(path(d, "cgroup")?);
        }
        let rlimits = Rlimits {
            data_bytes: d.u64("rlimit data")?,
            nproc: d.u32("rlimit nproc")?,
        };
        let time_offsets = TimeOffsets {
            monotonic_ms: d.u64("monotonic offset")? as i64,
            boottime_ms: d.u64("boottime offset")? as i64,
        };
        Ok(SandboxOptions {
            identity,
            mounts,
            set_env,
            cgroups,
            rlimits,
            time_offsets,
        })
    }
}

/// How the test body ended, as the sandboxed process saw it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum BodyResult {
    /// Returned `()` or `Ok(())`.
    Passed,
    /// Panicked; the payload as a string (`Box<dyn Any>` when it was not
    /// one).
    Panicked {
        /// The panic message.
        message: String,
    },
    /// Returned `Err(e)`; `format!("{e:?}")`.
    Failed {
        /// The error's `Debug` text.
        debug: String,
    },
}

/// How a process ended, from `waitpid`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ExitKind {
    /// `exit(code)`.
    Code(i32),
    /// Killed by this signal.
    Signal {
        /// Signal number.
        signal: i32,
        /// Whether a core was dumped.
        core_dumped: bool,
    },
}

/// A message from the sandbox to the test thread.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Report {
    /// The sandbox's first process exists; its pid on the host.
    Hello {
        /// Host pid of the keeper process.
        pid: i32,
    },
    /// The namespaces exist; the reaper's pid on the host (kill it and the
    /// whole sandbox goes).
    Started {
        /// Host pid of the reaper.
        reaper: i32,
    },
    /// A setup step failed.
    SetupFailed {
        /// The step (a `crate::error::Step` code).
        step: u8,
        /// The syscall that failed.
        syscall: String,
        /// The path it was called on, if any.
        path: Option<Vec<u8>>,
        /// The errno.
        errno: i32,
    },
    /// The test body's result.
    Body(BodyResult),
    /// The payload process ended so.
    Exit(ExitKind),
    /// The reaper ended so (sent by the keeper when the reaper is gone,
    /// whether or not it reported).
    ReaperExit(ExitKind),
    /// The timeout passed; the reaper killed the payload and everything it
    /// started.
    TimedOut {
        /// The timeout, in milliseconds.
        after_ms: u64,
    },
    /// The test failed and its sandbox is held for inspection until the
    /// test thread closes its end of the report socket.
    Held,
    /// A setup step finished (`NS_TEST_LOG=debug`).
    Trace {
        /// The step (a `crate::error::Step` code).
        step: u8,
        /// A detail, e.g. the path mounted.
        detail: String,
        /// How long it took, in microseconds.
        micros: u64,
    },
}

impl Report {
    /// Encodes the report.
    pub fn encode(&self) -> Vec<u8> {
        match self {
            Report::Hello { pid } => Encoder::new(b'H').i32(*pid).finish(),
            Report::Started { reaper } => Encoder::new(b'S').i32(*reaper).finish(),
            Report::SetupFailed {
                step,
                syscall,
                path,
                errno,
            } => Encoder::new(b'F')
                .u8(*step)
                .str(syscall)
                .opt_bytes(path.as_deref())
                .i32(*errno)
                .finish(),
            Report::Body(BodyResult::Passed) => Encoder::new(b'P').finish(),
            Report::Body(BodyResult::Panicked { message }) => {
                Encoder::new(b'!').str(message).finish()
            }
            Report::Body(BodyResult::Failed { debug }) => Encoder::new(b'E').str(debug).finish(),
            Report::Exit(k) => encode_exit(b'X', k),
            Report::ReaperExit(k) => encode_exit(b'Y', k),
            Report::TimedOut { after_ms } => Encoder::new(b'T').u64(*after_ms).finish(),
            Report::Held => Encoder::new(b'h').finish(),
            Report::Trace {
                step,
                detail,
                micros,
            } => Encoder::new(b't')
                .u8(*step)
                .str(detail)
                .u64(*micros)
                .finish(),
        }
    }

    /// Decodes a report.
    pub fn decode(buf: &[u8]) -> Result<Report, DecodeError> {
        let mut d = Decoder::new(buf);
        let r = match d.u8("report tag")? {
            b'H' => Report::Hello { pid: d.i32("pid")? },
            b'S' => Report::Started {
                reaper: d.i32("reaper pid")?,
            },
            b'F' => Report::SetupFailed {
                step: d.u8("step")?,
                syscall: d.string("syscall")?,
                path: d.opt_bytes("path")?,
                errno: d.i32("errno")?,
            },
            b'P' => Report::Body(BodyResult::Passed),
            b'!' => Report::Body(BodyResult::Panicked {
                message: d.string("panic message")?,
            }),
            b'E' => Report::Body(BodyResult::Failed {
                debug: d.string("error")?,
            }),
            b'X' => Report::Exit(decode_exit(&mut d)?),
            b'Y' => Report::ReaperExit(decode_exit(&mut d)?),
            b'T' => Report::TimedOut {
                after_ms: d.u64("timeout")?,
            },
            b'h' => Report::Held,
            b't' => Report::Trace {
                step: d.u8("step")?,
                detail: d.string("detail")?,
                micros: d.u64("micros")?,
            },
            _ => return Err(DecodeError { what: "report tag" }),
        };
        d.end("report end")?;
        Ok(r)
    }
}

fn encode_exit(tag: u8, k: &ExitKind) -> Vec<u8> {
    match *k {
        ExitKind::Code(c) => Encoder::new(tag).u8(0).i32(c).finish(),
        ExitKind::Signal {
            signal,
            core_dumped,
        } => Encoder::new(tag)
            .u8(1)
            .i32(signal)
            .u8(core_dumped as u8)
            .finish(),
    }
}

fn decode_exit(d: &mut Decoder<'_>) -> Result<ExitKind, DecodeError> {
    match d.u8("exit kind")? {
        0 => Ok(ExitKind::Code(d.i32("exit code")?)),
        1 => Ok(ExitKind::Signal {
            signal: d.i32("signal")?,
            core_dumped: d.u8("core")? != 0,
        }),
        _ => Err(DecodeError { what: "exit kind" }),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn request_roundtrips() {
        let r = Request {
            exe_id: (1, 2),
            payload: Payload::Body {
                offset: 0xdead,
                thread_name: "a::b".into(),
            },
            namespaces: 0xff,
            hostname: Some("box".into()),
            timeout_ms: 5000,
            uid: 1000,
            gid: 100,
            cwd: "/src/x".into(),
            binds: vec!["/src/x".into(), "/t".into()],
            env: vec![("A".into(), "1".into())],
            stdio: StdioLayout::Split,
            inspect: Inspect {
                label: "a::b".into(),
                hold: true,
                trace: false,
            },
            options: SandboxOptions {
                identity: Some(Identity {
                    uid: 1000,
                    gid: 100,
                }),
                mounts: vec![
                    MountRequest {
                        kind: MountKind::Bind,
                        source: "/src/x/fixtures/certs".into(),
                        target: "/etc/certs".into(),
                    },
                    MountRequest {
                        kind: MountKind::Tmpfs,
                        source: PathBuf::new(),
                        target: "/var/lib/app".into(),
                    },
                ],
                set_env: vec![("RUST_LOG".into(), "debug".into())],
                cgroups: vec!["/sys/fs/cgroup/ns-test-1-1".into()],
                rlimits: Rlimits {
                    data_bytes: 64 << 20,
                    nproc: 64,
                },
                time_offsets: TimeOffsets {
                    monotonic_ms: -1,
                    boottime_ms: 86_400_000,
                },
            },
        };
        assert_eq!(Request::decode(&r.encode()), Ok(r.clone()));
        let plain = Request {
            options: SandboxOptions::default(),
            ..r.clone()
        };
        assert_eq!(Request::decode(&plain.encode()), Ok(plain));
        let e = Request {
            payload: Payload::Exec {
                argv: vec!["ip".into(), "link".into()],
            },
            hostname: None,
            ..r
        };
        assert_eq!(Request::decode(&e.encode()), Ok(e));
    }

    #[test]
    fn reports_roundtrip() {
        for r in [
            Report::Hello { pid: 7 },
            Report::Started { reaper: 8 },
            Report::SetupFailed {
                step: 3,
                syscall: "mount".into(),
                path: Some(b"/proc".to_vec()),
                errno: 1,
            },
            Report::Body(BodyResult::Passed),
            Report::Body(BodyResult::Panicked {
                message: "boom".into(),
            }),
            Report::Body(BodyResult::Failed { debug: "E".into() }),
            Report::Exit(ExitKind::Code(3)),
            Report::Exit(ExitKind::Signal {
                signal: 11,
                core_dumped: true,
            }),
            Report::ReaperExit(ExitKind::Code(0)),
            Report::TimedOut { after_ms: 10 },
            Report::Held,
            Report::Trace {
                step: 2,
                detail: "/usr".into(),
                micros: 12,
            },
        ] {
            assert_eq!(Report::decode(&r.encode()), Ok(r));
        }
    }

    #[test]
    fn cut_messages_are_errors() {
        let m = Report::Body(BodyResult::Panicked {
            message: "boom".into(),
        })
        .encode();
        for n in 0..m.len() {
            assert!(Report::decode(&m[..n]).is_err(), "prefix {n} decoded");
        }
        let mut long = m.clone();
        long.push(0);
        assert!(Report::decode(&long).is_err());
    }
}
