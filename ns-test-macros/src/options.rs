//! The options that shape the inside of the sandbox, checked at compile
//! time into the values the runtime uses:
//!
//! - identity: `uid = 1000`, `gid = 100`;
//! - mounts: `bind = "src:/dst"`, `bind_rw = "src:/dst"`, `tmpfs = "/dir"`,
//!   or several at once, `bind("a:/x", "b:/y")`;
//! - environment: `env(KEY = "value", ...)`;
//! - resource limits: `memory = "64M"`, `pids = 64`, `cpu = "50%"`;
//! - clocks: `time(monotonic = "+30d", boottime = "+1h")`.
//!
//! Each value's grammar is its own `impl Parse` (the list forms) or a plain
//! function from the literal's text to the value or an error message, so
//! the rules are unit-testable without tokens.

use std::path::{Component, Path};

use syn::ext::IdentExt;
use syn::parse::{Parse, ParseStream};
use syn::{Expr, ExprLit, Ident, Lit, LitStr, Token};

/// The uid and gid the test body runs as (`uid = N`, `gid = N`).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) struct Identity {
    /// Never 0 (that is the default) nor `u32::MAX` (no id).
    pub(crate) uid: u32,
    /// `gid`, else the same as `uid`.
    pub(crate) gid: u32,
}

/// What a mount option mounts.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum MountKind {
    /// `bind`: a host path, read-only.
    Bind,
    /// `bind_rw`: a host path, writable.
    BindRw,
    /// `tmpfs`: a fresh, empty, writable tmpfs.
    Tmpfs,
}

impl MountKind {
    /// The key that asks for it.
    pub(crate) fn key(self) -> &'static str {
        match self {
            MountKind::Bind => "bind",
            MountKind::BindRw => "bind_rw",
            MountKind::Tmpfs => "tmpfs",
        }
    }

    /// The variant's name in `::ns_test::__private::MountKind`.
    pub(crate) fn variant(self) -> &'static str {
        match self {
            MountKind::Bind => "Bind",
            MountKind::BindRw => "BindRw",
            MountKind::Tmpfs => "Tmpfs",
        }
    }

    /// The argument written correctly, for error messages.
    pub(crate) fn example(self) -> &'static str {
        match self {
            MountKind::Bind => r#"bind = "fixtures/certs:/etc/certs""#,
            MountKind::BindRw => r#"bind_rw = "fixtures/state:/var/lib/app""#,
            MountKind::Tmpfs => r#"tmpfs = "/var/lib/app""#,
        }
    }

    /// The example's value alone.
    fn example_value(self) -> &'static str {
        match self {
            MountKind::Bind => r#""fixtures/certs:/etc/certs""#,
            MountKind::BindRw => r#""fixtures/state:/var/lib/app""#,
            MountKind::Tmpfs => r#""/var/lib/app""#,
        }
    }
}

/// One mount, checked.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) struct Mount {
    /// What to mount.
    pub(crate) kind: MountKind,
    /// The host path as written (relative = against `CARGO_MANIFEST_DIR`);
    /// empty for `tmpfs`.
    pub(crate) source: String,
    /// The absolute path inside, normalised (no `.`, `..`, `//` or
    /// trailing `/`).
    pub(crate) target: String,
}

/// Parses one mount value: `"source:/target"` for the binds, `"/target"`
/// for `tmpfs`.
pub(crate) fn parse_mount(kind: MountKind, text: &str) -> Result<Mount, String> {
    let (source, target) = match kind {
        MountKind::Tmpfs => ("", text),
        MountKind::Bind | MountKind::BindRw => match text.split_once(':') {
            Some((source, target)) if !source.is_empty() => (source, target),
            Some(_) => {
                return Err(format!(
                    "`{}` value {text:?} has no source before ':'; expected \"source:/target\", e.g. {}",
                    kind.key(),
                    kind.example_value()
                ))
            }
            None => {
                return Err(format!(
                    "`{}` value {text:?} has no ':'; expected \"source:/target\", e.g. {}",
                    kind.key(),
                    kind.example_value()
                ))
            }
        },
    };
    if source.contains('\0') {
        return Err(format!(
            "`{}` source {source:?} contains a NUL byte",
            kind.key()
        ));
    }
    let target = check_target(kind, target)?;
    Ok(Mount {
        kind,
        source: source.to_owned(),
        target,
    })
}

/// Checks a mount target: absolute, not `/`, no `.` or `..`; returns it
/// normalised.
fn check_target(kind: MountKind, target: &str) -> Result<String, String> {
    let key = kind.key();
    if !target.starts_with('/') {
        return Err(format!(
            "`{key}` target {target:?} must be an absolute path inside the sandbox, e.g. {}",
            kind.example_value()
        ));
    }
    if target.contains('\0') {
        return Err(format!("`{key}` target {target:?} contains a NUL byte"));
    }
    let mut normal = String::new();
    for component in Path::new(target).components() {
        match component {
            Component::RootDir => {}
            Component::Normal(name) => {
                normal.push('/');
                normal.push_str(&name.to_string_lossy());
            }
            Component::CurDir | Component::ParentDir | Component::Prefix(_) => {
                return Err(format!(
                    "`{key}` target {target:?} must not contain `.` or `..`"
                ))
            }
        }
    }
    if normal.is_empty() {
        return Err(format!(
            "`{key}` cannot mount over `/`; the sandbox's root is always a fresh tmpfs"
        ));
    }
    Ok(normal)
}

/// An entry of `env(...)`: `KEY = "value"` or `"KEY" = "value"`.
pub(crate) struct EnvEntry {
    /// The variable's name, and where it is written.
    pub(crate) key: (String, proc_macro2::Span),
    /// The value as written; must be a string literal.
    pub(crate) value: Expr,
}

impl Parse for EnvEntry {
    fn parse(input: ParseStream) -> syn::Result<Self> {
        let key = if input.peek(LitStr) {
            let lit: LitStr = input.parse()?;
            (lit.value(), lit.span())
        } else if input.peek(Ident::peek_any) {
            let ident = input.call(Ident::parse_any)?;
            (ident.unraw().to_string(), ident.span())
        } else {
            return Err(input.error(r#"expected `KEY = "value"`"#));
        };
        if !input.peek(Token![=]) {
            return Err(syn::Error::new(
                key.1,
                format!("`{}` needs a value: `{} = \"...\"`", key.0, key.0),
            ));
        }
        let _: Token![=] = input.parse()?;
        Ok(EnvEntry {
            key,
            value: input.parse()?,
        })
    }
}

/// Checks an environment variable's name.
pub(crate) fn check_env_key(key: &str) -> Result<(), String> {
    if key.is_empty() {
        return Err("environment variable names must not be empty".to_owned());
    }
    if let Some(c) = key.chars().find(|c| *c == '=' || *c == '\0') {
        return Err(format!(
            "environment variable name {key:?} must not contain {c:?}"
        ));
    }
    if key.starts_with("NS_TEST_INTERNAL_") {
        return Err(format!(
            "environment variable {key:?} is reserved for ns-test itself"
        ));
    }
    Ok(())
}

/// The string literal of an `env` value or a clock offset.
pub(crate) fn string_literal(
    value: &Expr,
    message: impl FnOnce() -> String,
) -> syn::Result<LitStr> {
    match value {
        Expr::Lit(ExprLit {
            lit: Lit::Str(lit), ..
        }) => Ok(lit.clone()),
        _ => Err(syn::Error::new_spanned(value, message())),
    }
}

/// A clock of a time namespace whose offset can be set.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Clock {
    /// `CLOCK_MONOTONIC` (and its `_RAW`, `_COARSE` forms).
    Monotonic,
    /// `CLOCK_BOOTTIME`.
    Boottime,
}

impl Clock {
    /// Every clock, as error messages list them.
    pub(crate) const ALL: [Clock; 2] = [Clock::Monotonic, Clock::Boottime];

    /// Its name in `time(...)`.
    pub(crate) fn key(self) -> &'static str {
        match self {
            Clock::Monotonic => "monotonic",
            Clock::Boottime => "boottime",
        }
    }
}

/// An entry of `time(...)`: `monotonic = "+30d"`.
pub(crate) struct ClockOffset {
    /// The clock's name as written.
    pub(crate) clock: Ident,
    /// The offset as written; must be a string literal.
    pub(crate) value: Expr,
}

impl Parse for ClockOffset {
    fn parse(input: ParseStream) -> syn::Result<Self> {
        if !input.peek(Ident::peek_any) {
            return Err(input.error(r#"expected a clock offset, e.g. `monotonic = "+30d"`"#));
        }
        let clock = input.call(Ident::parse_any)?;
        if !input.peek(Token![=]) {
            return Err(syn::Error::new(
                clock.span(),
                format!("`{clock}` needs an offset: `{clock} = \"+1h\"`"),
            ));
        }
        let _: Token![=] = input.parse()?;
        Ok(ClockOffset {
            clock,
            value: input.parse()?,
        })
    }
}

/// The offsets of `time(...)`, in milliseconds (0 = unchanged).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub(crate) struct TimeOffsets {
    /// Added to `CLOCK_MONOTONIC`.
    pub(crate) monotonic_ms: i64,
    /// Added to `CLOCK_BOOTTIME`.
    pub(crate) boottime_ms: i64,
}

/// Resource limits; `None` = unlimited.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub(crate) struct Limits {
    /// `memory = "64M"`, in bytes.
    pub(crate) memory_bytes: Option<u64>,
    /// `pids = 64`.
    pub(crate) pids: Option<u32>,
    /// `cpu = "50%"`, in percent of one CPU.
    pub(crate) cpu_percent: Option<u32>,
}

impl Limits {
    /// Whether any limit is set.
    pub(crate) fn any(&self) -> bool {
        self.memory_bytes.is_some() || self.pids.is_some() || self.cpu_percent.is_some()
    }
}

/// The smallest `memory` limit: below it no test process starts.
pub(crate) const MEMORY_MIN: u64 = 1 << 20;

/// Parses a memory size: a whole number and a unit, `K`, `M` or `G`
/// (powers of 1024, as cgroups read them).
pub(crate) fn parse_memory(text: &str) -> Result<u64, String> {
    const UNITS: [(&str, u64); 3] = [("K", 1 << 10), ("M", 1 << 20), ("G", 1 << 30)];
    const EXAMPLES: &str = r#"e.g. "512K", "64M" or "2G""#;
    let split = text
        .find(|c: char| !c.is_ascii_digit())
        .unwrap_or(text.len());
    let (number, unit) = text.split_at(split);
    if number.is_empty() {
        return Err(format!(
            "invalid memory size {text:?}; expected a whole number and a unit (K, M or G), {EXAMPLES}"
        ));
    }
    if unit.is_empty() {
        return Err(format!(
            "memory size {text:?} has no unit; expected one of: K, M, G ({EXAMPLES})"
        ));
    }
    let Some((_, scale)) = UNITS.iter().find(|(name, _)| *name == unit) else {
        return Err(format!(
            "unknown unit {unit:?} in memory size {text:?}; expected one of: K, M, G (powers of 1024; {EXAMPLES})"
        ));
    };
    let bytes = number
        .parse::<u64>()
        .ok()
        .and_then(|n| n.checked_mul(*scale))
        .ok_or_else(|| format!("memory size {text:?} is too large"))?;
    if bytes < MEMORY_MIN {
        return Err(format!(
            "memory size {text:?} is too small to start a test; the least is \"1M\""
        ));
    }
    Ok(bytes)
}

/// The smallest `pids` limit: the test process and the thread the test
/// runs on.
pub(crate) const PIDS_MIN: u64 = 2;

/// Checks a `pids` limit.
pub(crate) fn check_pids(n: u64) -> Result<u32, String> {
    if n < PIDS_MIN {
        return Err(format!(
            "`pids = {n}` leaves no room: the test itself needs {PIDS_MIN} (its process and the thread it runs on)"
        ));
    }
    u32::try_from(n).map_err(|_| format!("`pids = {n}` is too large"))
}

/// Parses a CPU share: a whole percentage of one CPU, `"50%"`; more than
/// 100 allows several CPUs (`"200%"`).
pub(crate) fn parse_cpu(text: &str) -> Result<u32, String> {
    const EXAMPLES: &str = r#"e.g. "50%" (half a CPU) or "200%" (two CPUs)"#;
    let Some(number) = text.strip_suffix('%') else {
        return Err(format!(
            "invalid CPU share {text:?}; expected a whole percentage of one CPU, {EXAMPLES}"
        ));
    };
    if number.is_empty() || !number.bytes().all(|b| b.is_ascii_digit()) {
        return Err(format!(
            "invalid CPU share {text:?}; expected a whole percentage of one CPU, {EXAMPLES}"
        ));
    }
    let percent: u32 = number
        .parse()
        .ok()
        .filter(|p| *p <= 100_000)
        .ok_or_else(|| format!("CPU share {text:?} is too large"))?;
    if percent == 0 {
        return Err(format!("CPU share {text:?} must be greater than zero"));
    }
    Ok(percent)
}

/// Checks a uid or gid.
pub(crate) fn check_id(key: &str, n: u64) -> Result<u32, String> {
    if key == "uid" && n == 0 {
        return Err(
            "`uid = 0` is the default (root inside); give the non-root uid to run as, e.g. `uid = 1000`"
                .to_owned(),
        );
    }
    match u32::try_from(n) {
        Ok(id) if id != u32::MAX => Ok(id),
        _ => Err(format!(
            "`{key} = {n}` is not a valid id; the largest is {}",
            u32::MAX - 1
        )),
    }
}

/// Parses a clock offset: an optional sign, a number and a unit, `"+30d"`,
/// `"-2h"`, `"1.5h"`; in milliseconds.
pub(crate) fn parse_offset(text: &str) -> Result<i64, String> {
    let (negative, magnitude) = match text.as_bytes().first() {
        Some(b'+') => (false, &text[1..]),
        Some(b'-') => (true, &text[1..]),
        _ => (false, text),
    };
    let ms = crate::args::parse_duration(magnitude, text, &crate::args::OFFSET)?;
    let ms = i64::try_from(ms).map_err(|_| format!("offset {text:?} is too large"))?;
    Ok(if negative { -ms } else { ms })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn mounts() {
        let m = parse_mount(MountKind::Bind, "fixtures/certs:/etc/certs/").expect("valid");
        assert_eq!(
            m,
            Mount {
                kind: MountKind::Bind,
                source: "fixtures/certs".into(),
                target: "/etc/certs".into()
            }
        );
        let m = parse_mount(MountKind::BindRw, "/srv/data:/var//lib/./app").expect("valid");
        assert_eq!(
            (m.source.as_str(), m.target.as_str()),
            ("/srv/data", "/var/lib/app")
        );
        let m = parse_mount(MountKind::Tmpfs, "/var/lib/app").expect("valid");
        assert_eq!((m.source.as_str(), m.target.as_str()), ("", "/var/lib/app"));
        let m = parse_mount(MountKind::Bind, "../shared:/shared").expect("valid");
        assert_eq!(m.source, "../shared");
    }

    #[test]
    fn bad_mounts() {
        let bad = |kind, s| parse_mount(kind, s).expect_err(s);
        assert!(bad(MountKind::Bind, "fixtures/certs").contains("has no ':'"));
        assert!(bad(MountKind::Bind, ":/etc/certs").contains("has no source"));
        assert!(bad(MountKind::Bind, "a:etc/certs").contains("must be an absolute path"));
        assert!(bad(MountKind::Bind, "a:").contains("must be an absolute path"));
        assert!(bad(MountKind::BindRw, "a:/etc/../x").contains("must not contain `.` or `..`"));
        assert!(bad(MountKind::Tmpfs, "/").contains("cannot mount over `/`"));
        assert!(bad(MountKind::Tmpfs, "//").contains("cannot mount over `/`"));
        assert!(bad(MountKind::Tmpfs, "var/lib").starts_with("`tmpfs` target \"var/lib\""));
    }

    #[test]
    fn memory_sizes() {
        assert_eq!(parse_memory("64M"), Ok(64 << 20));
        assert_eq!(parse_memory("1024K"), Ok(1 << 20));
        assert_eq!(parse_memory("2G"), Ok(2 << 30));
        let bad = |s| parse_memory(s).expect_err(s);
        assert!(bad("64").contains("has no unit"));
        assert!(bad("64MB").starts_with(r#"unknown unit "MB""#));
        assert!(bad("64 M").starts_with(r#"unknown unit " M""#));
        assert!(bad("M").starts_with("invalid memory size"));
        assert!(bad("-1M").starts_with("invalid memory size"));
        assert!(bad("1.5G").starts_with(r#"unknown unit ".5G""#));
        assert!(bad("512K").contains("too small"));
        assert!(bad("99999999999999999999G").ends_with("is too large"));
    }

    #[test]
    fn cpu_shares() {
        assert_eq!(parse_cpu("50%"), Ok(50));
        assert_eq!(parse_cpu("250%"), Ok(250));
        let bad = |s| parse_cpu(s).expect_err(s);
        assert!(bad("50").starts_with("invalid CPU share"));
        assert!(bad("0.5").starts_with("invalid CPU share"));
        assert!(bad("12.5%").starts_with("invalid CPU share"));
        assert!(bad("%").starts_with("invalid CPU share"));
        assert_eq!(bad("0%"), r#"CPU share "0%" must be greater than zero"#);
        assert!(bad("100001%").ends_with("is too large"));
    }

    #[test]
    fn pids_and_ids() {
        assert_eq!(check_pids(64), Ok(64));
        assert!(check_pids(1).expect_err("1").contains("leaves no room"));
        assert_eq!(check_id("uid", 1000), Ok(1000));
        assert_eq!(check_id("gid", 0), Ok(0));
        assert!(check_id("uid", 0)
            .expect_err("0")
            .contains("is the default"));
        assert!(check_id("gid", u64::from(u32::MAX))
            .expect_err("max")
            .contains("not a valid id"));
    }

    #[test]
    fn offsets() {
        assert_eq!(parse_offset("+30d"), Ok(30 * 86_400_000));
        assert_eq!(parse_offset("30d"), Ok(30 * 86_400_000));
        assert_eq!(parse_offset("-1.5h"), Ok(-5_400_000));
        assert_eq!(parse_offset("+0s"), Ok(0));
        assert_eq!(parse_offset("250ms"), Ok(250));
        let bad = |s| parse_offset(s).expect_err(s);
        assert!(
            bad("+30").contains(r#"offset "+30" has no unit"#),
            "{}",
            bad("+30")
        );
        assert!(bad("+30y").starts_with(r#"unknown unit "y" in offset "+30y""#));
        assert!(bad("soon").starts_with(r#"invalid offset "soon""#));
        assert!(bad("+-1d").starts_with(r#"invalid offset "+-1d""#));
    }

    #[test]
    fn env_keys() {
        assert_eq!(check_env_key("RUST_LOG"), Ok(()));
        assert_eq!(check_env_key("my.var"), Ok(()));
        assert!(check_env_key("").is_err());
        assert!(check_env_key("A=B").expect_err("=").contains("'='"));
        assert!(check_env_key("NS_TEST_INTERNAL_ROLE")
            .expect_err("reserved")
            .contains("reserved"));
    }
}
