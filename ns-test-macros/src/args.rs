//! The arguments of `#[ns_test(...)]`: grammar first, then meaning.
//!
//! - Syntax: an [`ArgList`] of [`Arg`]s, each `key`, `key = value` or
//!   `key(...)`, every token keeping its span. Nothing is checked here beyond
//!   the shape, so the grammar never needs to change when a key is added.
//! - Meaning: [`Args::from_syntax`] walks the list once, dispatching on the
//!   key, validates every value and collects every error.
//!
//! Adding a key (`uid = 0`, `env(K = "v")`, `net(hosts = 3)`, ...) is a field
//! on [`Args`], an entry in [`KEYS`] and one arm in [`Args::from_syntax`];
//! its value's own grammar, if any, gets its own `impl Parse` next to
//! [`Arg`].

use proc_macro2::{Span, TokenStream};
use syn::ext::IdentExt;
use syn::parse::{Parse, ParseStream, Parser};
use syn::punctuated::Punctuated;
use syn::{parenthesized, token, Expr, ExprLit, Ident, Lit, LitInt, LitStr, Token};

use crate::diag::Errors;
use crate::lab::{self, Lab, LabOption};
use crate::options::{
    self, Clock, ClockOffset, EnvEntry, Identity, Limits, Mount, MountKind, TimeOffsets,
};

/// Every key the attribute accepts, in the order error messages list them.
pub(crate) const KEYS: &[&str] = &[
    "user", "net", "mnt", "pid", "ipc", "uts", "cgroup", "time", "all", "hostname", "timeout",
    "uid", "gid", "bind", "bind_rw", "tmpfs", "env", "memory", "pids", "cpu",
];

/// `HOST_NAME_MAX` on Linux.
const HOSTNAME_MAX: usize = 64;

/// A namespace the sandbox can unshare; `Namespace::ALL` is the canonical
/// order (the order of the bits in `::ns_test::__private::ns`).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Namespace {
    /// `user`: always created, it is what makes the rest unprivileged.
    User,
    /// `net`: private network with `lo` up.
    Net,
    /// `mnt`: tmpfs root.
    Mnt,
    /// `pid`: own PID tree.
    Pid,
    /// `ipc`: SysV IPC and POSIX message queues.
    Ipc,
    /// `uts`: hostname.
    Uts,
    /// `cgroup`: cgroup view.
    Cgroup,
    /// `time`: clocks (Linux 5.6+).
    Time,
}

impl Namespace {
    /// Every namespace, in canonical order.
    pub(crate) const ALL: [Namespace; 8] = [
        Namespace::User,
        Namespace::Net,
        Namespace::Mnt,
        Namespace::Pid,
        Namespace::Ipc,
        Namespace::Uts,
        Namespace::Cgroup,
        Namespace::Time,
    ];

    /// The key that names it in the attribute (`net`).
    pub(crate) fn key(self) -> &'static str {
        match self {
            Namespace::User => "user",
            Namespace::Net => "net",
            Namespace::Mnt => "mnt",
            Namespace::Pid => "pid",
            Namespace::Ipc => "ipc",
            Namespace::Uts => "uts",
            Namespace::Cgroup => "cgroup",
            Namespace::Time => "time",
        }
    }

    /// The name of its bit in `::ns_test::__private::ns` (`NET`).
    pub(crate) fn constant(self) -> &'static str {
        match self {
            Namespace::User => "USER",
            Namespace::Net => "NET",
            Namespace::Mnt => "MNT",
            Namespace::Pid => "PID",
            Namespace::Ipc => "IPC",
            Namespace::Uts => "UTS",
            Namespace::Cgroup => "CGROUP",
            Namespace::Time => "TIME",
        }
    }

    fn from_key(key: &str) -> Option<Namespace> {
        Namespace::ALL.into_iter().find(|ns| ns.key() == key)
    }
}

/// The namespaces a test asked for.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) enum Namespaces {
    /// `all`, or no namespace named at all.
    All,
    /// Exactly these, in canonical order; always starts with
    /// [`Namespace::User`].
    Only(Vec<Namespace>),
}

impl Namespaces {
    fn only(listed: &[Namespace]) -> Namespaces {
        Namespaces::Only(
            Namespace::ALL
                .into_iter()
                .filter(|ns| *ns == Namespace::User || listed.contains(ns))
                .collect(),
        )
    }

    fn contains(&self, ns: Namespace) -> bool {
        match self {
            Namespaces::All => true,
            Namespaces::Only(list) => list.contains(&ns),
        }
    }
}

/// What `#[ns_test(...)]` asks for, validated.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) struct Args {
    /// Namespaces to create.
    pub(crate) namespaces: Namespaces,
    /// `hostname = "..."`: checked against RFC 1123 and `HOST_NAME_MAX`.
    pub(crate) hostname: Option<String>,
    /// `timeout = "..."`, in milliseconds; never zero.
    pub(crate) timeout_ms: Option<u64>,
    /// `uid = N` (and `gid = N`): who the test body runs as.
    pub(crate) identity: Option<Identity>,
    /// `bind`, `bind_rw`, `tmpfs`, in source order; targets distinct.
    pub(crate) mounts: Vec<Mount>,
    /// `env(KEY = "value", ...)`, in source order; keys distinct.
    pub(crate) env: Vec<(String, String)>,
    /// `memory`, `pids`, `cpu`.
    pub(crate) limits: Limits,
    /// `time(monotonic = "...", boottime = "...")`.
    pub(crate) time_offsets: Option<TimeOffsets>,
    /// `net(hosts = 3, delay = "...", ...)`: the network lab built in the
    /// sandbox before the test body runs.
    pub(crate) lab: Option<Lab>,
}

impl Args {
    /// Parses and validates the tokens between the attribute's parentheses.
    ///
    /// A malformed list is one error at the first bad token; a well-formed
    /// list reports every invalid argument at once.
    pub(crate) fn parse(tokens: TokenStream) -> syn::Result<Args> {
        Args::from_syntax(syn::parse2(tokens)?)
    }

    /// Gives each argument its meaning; the one place that knows the keys.
    fn from_syntax(list: ArgList) -> syn::Result<Args> {
        let mut errors = Errors::default();
        let mut seen: Vec<String> = Vec::new();
        let mut listed = Vec::new();
        let mut all = false;
        let mut hostname: Option<(String, Span)> = None;
        let mut timeout_ms = None;
        let mut uid: Option<u32> = None;
        let mut gid: Option<(u32, Span)> = None;
        let mut mounts: Vec<Mount> = Vec::new();
        let mut mount_keys: Vec<(Span, String)> = Vec::new();
        let mut env: Vec<(String, String)> = Vec::new();
        let mut limits = Limits::default();
        let mut time_offsets = None;
        let mut lab = None;
        // The key of `net(...)`, when the list form is given.
        let mut lab_key: Option<Span> = None;

        for arg in &list.args {
            let key = arg.key.unraw().to_string();
            if !KEYS.contains(&key.as_str()) {
                errors.at(arg.key.span(), unknown_key(&key, &arg.value));
                continue;
            }
            if key == "net" && seen.contains(&key) && lab_key.is_some() != arg.is_list() {
                errors.at(
                    arg.key.span(),
                    "`net` and `net(...)` both given: `net(...)` makes the network namespace too; drop the bare `net`",
                );
                continue;
            }
            if seen.contains(&key) {
                let hint = match key.as_str() {
                    "bind" | "bind_rw" | "tmpfs" => {
                        format!("; list several in one: `{key}(\"...\", \"...\")`")
                    }
                    "env" => "; list every variable in one: `env(A = \"1\", B = \"2\")`".to_owned(),
                    "net" if arg.is_list() => {
                        "; give every lab option in one: `net(hosts = 3, delay = \"10ms\")`"
                            .to_owned()
                    }
                    _ => String::new(),
                };
                errors.at(arg.key.span(), format!("`{key}` set multiple times{hint}"));
                continue;
            }
            seen.push(key.clone());

            match key.as_str() {
                "all" => {
                    if errors.take(arg.flag()).is_some() {
                        all = true;
                    }
                }
                "hostname" => {
                    if let Some(lit) = errors.take(arg.string(r#"hostname = "box""#)) {
                        match check_hostname(&lit.value()) {
                            Ok(()) => hostname = Some((lit.value(), arg.key.span())),
                            Err(message) => errors.at(lit.span(), message),
                        }
                    }
                }
                "timeout" => {
                    if let Some(lit) = errors.take(arg.string(r#"timeout = "10s""#)) {
                        match parse_duration_ms(&lit.value()) {
                            Ok(ms) => timeout_ms = Some(ms),
                            Err(message) => errors.at(lit.span(), message),
                        }
                    }
                }
                "uid" | "gid" => {
                    let example = format!("{key} = 1000");
                    if let Some(lit) = errors.take(arg.int(&example)) {
                        match lit.base10_parse::<u64>().map_err(|e| e.to_string()).and_then(|n| options::check_id(&key, n)) {
                            Ok(id) if key == "uid" => uid = Some(id),
                            Ok(id) => gid = Some((id, arg.key.span())),
                            Err(message) => errors.at(lit.span(), message),
                        }
                    }
                }
                "bind" | "bind_rw" | "tmpfs" => {
                    let kind = match key.as_str() {
                        "bind" => MountKind::Bind,
                        "bind_rw" => MountKind::BindRw,
                        _ => MountKind::Tmpfs,
                    };
                    for lit in errors.take(arg.strings(kind.example())).unwrap_or_default() {
                        match options::parse_mount(kind, &lit.value()) {
                            Ok(mount) => {
                                if let Some(earlier) = mounts.iter().find(|m| m.target == mount.target) {
                                    errors.at(
                                        lit.span(),
                                        format!(
                                            "`{}` is mounted twice (by `{}` too); give each mount its own target",
                                            mount.target,
                                            earlier.kind.key()
                                        ),
                                    );
                                } else {
                                    mounts.push(mount);
                                }
                            }
                            Err(message) => errors.at(lit.span(), message),
                        }
                    }
                    mount_keys.push((arg.key.span(), key.clone()));
                }
                "env" => {
                    let entries: Vec<EnvEntry> = errors
                        .take(arg.list(r#"env(RUST_LOG = "debug")"#))
                        .unwrap_or_default();
                    for entry in entries {
                        let (name, span) = entry.key;
                        let value = options::string_literal(&entry.value, || {
                            format!("the value of `{name}` must be a string literal, e.g. `{name} = \"1\"`")
                        });
                        let Some(value) = errors.take(value) else {
                            continue;
                        };
                        if let Err(message) = options::check_env_key(&name) {
                            errors.at(span, message);
                        } else if env.iter().any(|(k, _)| *k == name) {
                            errors.at(span, format!("`{name}` set multiple times in `env`"));
                        } else if value.value().contains('\0') {
                            errors.at(value.span(), format!("the value of `{name}` contains a NUL byte"));
                        } else {
                            env.push((name, value.value()));
                        }
                    }
                }
                "memory" => {
                    if let Some(lit) = errors.take(arg.string(r#"memory = "64M""#)) {
                        match options::parse_memory(&lit.value()) {
                            Ok(bytes) => limits.memory_bytes = Some(bytes),
                            Err(message) => errors.at(lit.span(), message),
                        }
                    }
                }
                "pids" => {
                    if let Some(lit) = errors.take(arg.int("pids = 64")) {
                        match lit.base10_parse::<u64>().map_err(|e| e.to_string()).and_then(options::check_pids) {
                            Ok(n) => limits.pids = Some(n),
                            Err(message) => errors.at(lit.span(), message),
                        }
                    }
                }
                "cpu" => {
                    if let Some(lit) = errors.take(arg.string(r#"cpu = "50%""#)) {
                        match options::parse_cpu(&lit.value()) {
                            Ok(percent) => limits.cpu_percent = Some(percent),
                            Err(message) => errors.at(lit.span(), message),
                        }
                    }
                }
                "net" => match &arg.value {
                    ArgValue::Flag => listed.push(Namespace::Net),
                    ArgValue::List { .. } => {
                        listed.push(Namespace::Net);
                        lab_key = Some(arg.key.span());
                        let entries: Vec<LabOption> = errors
                            .take(arg.list("net(hosts = 3)"))
                            .unwrap_or_default();
                        if !entries.is_empty() {
                            lab = lab::lab(entries, arg.key.span(), &mut errors);
                        }
                    }
                    ArgValue::Assign { eq, value } => errors.push(syn::Error::new_spanned(
                        quote::quote!(#eq #value),
                        r#"`net` takes no value; write `net`, or `net(hosts = 3, delay = "10ms")` for a lab of hosts"#,
                    )),
                },
                "time" => match &arg.value {
                    ArgValue::Flag => listed.push(Namespace::Time),
                    ArgValue::List { .. } => {
                        listed.push(Namespace::Time);
                        let entries: Vec<ClockOffset> = errors
                            .take(arg.list(r#"time(monotonic = "+30d")"#))
                            .unwrap_or_default();
                        time_offsets = Some(clock_offsets(entries, &mut errors));
                    }
                    ArgValue::Assign { eq, value } => errors.push(syn::Error::new_spanned(
                        quote::quote!(#eq #value),
                        r#"`time` takes no value; write `time`, or `time(monotonic = "+30d", boottime = "+1h")` to move its clocks"#,
                    )),
                },
                namespace => {
                    if let Some(ns) = Namespace::from_key(namespace) {
                        if errors.take(arg.flag()).is_some() {
                            listed.push(ns);
                        }
                    }
                }
            }
        }

        // Rules between arguments.
        let namespaces = if all || listed.is_empty() {
            Namespaces::All
        } else {
            Namespaces::only(&listed)
        };
        if let Some((_, key)) = &hostname {
            if !namespaces.contains(Namespace::Uts) {
                errors.at(
                    *key,
                    "`hostname` needs the UTS namespace: add `uts` to the list (or use `all`)",
                );
            }
        }
        if !namespaces.contains(Namespace::Mnt) {
            for (span, key) in &mount_keys {
                errors.at(
                    *span,
                    format!(
                        "`{key}` needs the mount namespace: add `mnt` to the list (or use `all`)"
                    ),
                );
            }
        }
        if let (Some(net), Some(_)) = (lab_key, uid) {
            errors.at(
                net,
                "`net(...)` cannot be combined with `uid`: the lab is built where the test body runs, \
                 and `uid` drops the capabilities a lab needs (CAP_SYS_ADMIN, CAP_NET_ADMIN)",
            );
        }
        if let (Some((_, key)), None) = (&gid, uid) {
            errors.at(
                *key,
                "`gid` needs `uid`: the test runs as root unless `uid = N` is set too",
            );
        }
        // Targets are mounted parents first, so a bind can land in a tmpfs.
        mounts.sort_by_key(|m| m.target.matches('/').count());

        errors.finish(Args {
            namespaces,
            hostname: hostname.map(|(name, _)| name),
            timeout_ms,
            identity: uid.map(|uid| Identity {
                uid,
                gid: gid.map_or(uid, |(gid, _)| gid),
            }),
            mounts,
            env,
            limits,
            time_offsets,
            lab,
        })
    }
}

/// The whole argument list: `arg, arg, ...`, trailing comma allowed, empty
/// allowed.
pub(crate) struct ArgList {
    /// The arguments, in source order.
    pub(crate) args: Punctuated<Arg, Token![,]>,
}

impl Parse for ArgList {
    fn parse(input: ParseStream) -> syn::Result<Self> {
        Ok(ArgList {
            args: Punctuated::parse_terminated(input)?,
        })
    }
}

/// One argument, as written.
pub(crate) struct Arg {
    /// The key; keywords are accepted here so that they get the
    /// "unknown argument" message rather than a parse error.
    pub(crate) key: Ident,
    /// What follows the key.
    pub(crate) value: ArgValue,
}

/// What follows a key.
pub(crate) enum ArgValue {
    /// Nothing: `net`.
    Flag,
    /// `= value`: `timeout = "10s"`. Any expression parses; each key checks
    /// what it accepts, so a wrong value is reported at the value.
    Assign {
        /// The `=`.
        eq: Token![=],
        /// The value.
        value: Box<Expr>,
    },
    /// `(...)`: `env(K = "v")`. The contents stay unparsed until a key that
    /// takes a list parses them with its own grammar.
    List {
        /// The parentheses.
        paren: token::Paren,
        /// The tokens inside them.
        tokens: TokenStream,
    },
}

impl Parse for Arg {
    fn parse(input: ParseStream) -> syn::Result<Self> {
        if !input.peek(Ident::peek_any) {
            return Err(input.error(
                "expected a namespace (`net`, `mnt`, `pid`, ...) or an option like `timeout = \"10s\"`",
            ));
        }
        let key = input.call(Ident::parse_any)?;
        let value = if input.peek(Token![=]) {
            ArgValue::Assign {
                eq: input.parse()?,
                value: input.parse()?,
            }
        } else if input.peek(token::Paren) {
            let content;
            let paren = parenthesized!(content in input);
            ArgValue::List {
                paren,
                tokens: content.parse()?,
            }
        } else {
            ArgValue::Flag
        };
        Ok(Arg { key, value })
    }
}

impl Arg {
    /// Whether this is `key(...)`.
    fn is_list(&self) -> bool {
        matches!(self.value, ArgValue::List { .. })
    }

    /// Checks that this is a bare flag: `net`, not `net = ...` or `net(...)`.
    fn flag(&self) -> syn::Result<()> {
        match &self.value {
            ArgValue::Flag => Ok(()),
            ArgValue::Assign { eq, value } => Err(syn::Error::new_spanned(
                quote::quote!(#eq #value),
                format!("`{}` takes no value; write just `{}`", self.key, self.key),
            )),
            ArgValue::List { paren, .. } => Err(syn::Error::new(
                paren.span.join(),
                format!(
                    "`{}` takes no arguments; write just `{}`",
                    self.key, self.key
                ),
            )),
        }
    }

    /// The string literal of `key = "..."`; `example` is the whole argument
    /// written correctly, for the error message.
    fn string(&self, example: &str) -> syn::Result<LitStr> {
        let message = || format!("`{}` expects a string literal, e.g. `{example}`", self.key);
        match &self.value {
            ArgValue::Assign { value, .. } => match &**value {
                Expr::Lit(ExprLit {
                    lit: Lit::Str(lit), ..
                }) => Ok(lit.clone()),
                _ => Err(syn::Error::new_spanned(value, message())),
            },
            ArgValue::Flag => Err(syn::Error::new(self.key.span(), message())),
            ArgValue::List { paren, .. } => Err(syn::Error::new(paren.span.join(), message())),
        }
    }
}

impl Arg {
    /// The integer literal of `key = N`; `example` is the whole argument
    /// written correctly, for the error message.
    fn int(&self, example: &str) -> syn::Result<LitInt> {
        let message = || format!("`{}` expects an integer, e.g. `{example}`", self.key);
        match &self.value {
            ArgValue::Assign { value, .. } => match &**value {
                Expr::Lit(ExprLit {
                    lit: Lit::Int(lit), ..
                }) if lit.suffix().is_empty() => Ok(lit.clone()),
                _ => Err(syn::Error::new_spanned(value, message())),
            },
            ArgValue::Flag => Err(syn::Error::new(self.key.span(), message())),
            ArgValue::List { paren, .. } => Err(syn::Error::new(paren.span.join(), message())),
        }
    }

    /// The string literals of `key = "..."` or `key("...", "...")`, at
    /// least one.
    fn strings(&self, example: &str) -> syn::Result<Vec<LitStr>> {
        match &self.value {
            ArgValue::List { .. } => {
                let mut errors = Errors::default();
                let lits = self
                    .list::<Expr>(example)?
                    .iter()
                    .filter_map(|value| {
                        errors.take(options::string_literal(value, || {
                            format!(
                                "`{}(...)` takes string literals, e.g. `{example}`",
                                self.key
                            )
                        }))
                    })
                    .collect();
                errors.finish(lits)
            }
            _ => Ok(vec![self.string(example)?]),
        }
    }

    /// The entries of `key(a, b, ...)`, each parsed as `T`; at least one.
    fn list<T: Parse>(&self, example: &str) -> syn::Result<Vec<T>> {
        let ArgValue::List { paren, tokens } = &self.value else {
            let span = match &self.value {
                ArgValue::Assign { eq, value } => {
                    return Err(syn::Error::new_spanned(
                        quote::quote!(#eq #value),
                        format!("`{}` takes a list, e.g. `{example}`", self.key),
                    ))
                }
                _ => self.key.span(),
            };
            return Err(syn::Error::new(
                span,
                format!("`{}` takes a list, e.g. `{example}`", self.key),
            ));
        };
        let entries = Punctuated::<T, Token![,]>::parse_terminated.parse2(tokens.clone())?;
        if entries.is_empty() {
            return Err(syn::Error::new(
                paren.span.join(),
                format!("`{}(...)` is empty; write e.g. `{example}`", self.key),
            ));
        }
        Ok(entries.into_iter().collect())
    }
}

/// The offsets of `time(...)`: each clock at most once.
fn clock_offsets(entries: Vec<ClockOffset>, errors: &mut Errors) -> TimeOffsets {
    let mut offsets = TimeOffsets::default();
    let mut seen: Vec<Clock> = Vec::new();
    for entry in entries {
        let name = entry.clock.unraw().to_string();
        let Some(clock) = Clock::ALL.into_iter().find(|c| c.key() == name) else {
            let names: Vec<&str> = Clock::ALL.iter().map(|c| c.key()).collect();
            errors.at(
                entry.clock.span(),
                format!(
                    "unknown clock '{name}'; expected one of: {} (a time namespace cannot move the wall clock, CLOCK_REALTIME)",
                    names.join(", ")
                ),
            );
            continue;
        };
        if seen.contains(&clock) {
            errors.at(entry.clock.span(), format!("`{name}` set multiple times"));
            continue;
        }
        seen.push(clock);
        let lit = options::string_literal(&entry.value, || {
            format!("the offset of `{name}` must be a string literal, e.g. `{name} = \"+30d\"`")
        });
        let Some(lit) = errors.take(lit) else {
            continue;
        };
        match options::parse_offset(&lit.value()) {
            Ok(ms) => match clock {
                Clock::Monotonic => offsets.monotonic_ms = ms,
                Clock::Boottime => offsets.boottime_ms = ms,
            },
            Err(message) => errors.at(lit.span(), message),
        }
    }
    offsets
}

/// The message for a key that is not in [`KEYS`].
fn unknown_key(key: &str, value: &ArgValue) -> String {
    let what = match value {
        ArgValue::Flag => "namespace",
        ArgValue::Assign { .. } | ArgValue::List { .. } => "argument",
    };
    format!(
        "unknown {what} '{key}'; expected one of: {}",
        KEYS.join(", ")
    )
}

/// Checks a hostname the way the network will: RFC 1123 labels (letters,
/// digits and inner `-`, 1 to 63 bytes, separated by single dots), at most
/// `HOST_NAME_MAX` bytes in all.
pub(crate) fn check_hostname(name: &str) -> Result<(), String> {
    const RULE: &str = "hostnames are letters, digits and '-', in dot-separated labels (RFC 1123)";
    if name.is_empty() {
        return Err("hostname must not be empty".to_owned());
    }
    if name.len() > HOSTNAME_MAX {
        return Err(format!(
            "hostname is {} bytes long; the limit is {HOSTNAME_MAX}",
            name.len()
        ));
    }
    for label in name.split('.') {
        if label.is_empty() {
            return Err(format!("hostname {name:?} has an empty label; {RULE}"));
        }
        if let Some(c) = label
            .chars()
            .find(|c| !(c.is_ascii_alphanumeric() || *c == '-'))
        {
            return Err(format!(
                "invalid character {c:?} in hostname {name:?}; {RULE}"
            ));
        }
        if label.len() > 63 {
            return Err(format!(
                "hostname label {label:?} is {} bytes long; the limit is 63",
                label.len()
            ));
        }
        if label.starts_with('-') || label.ends_with('-') {
            return Err(format!(
                "hostname label {label:?} must not start or end with '-'; {RULE}"
            ));
        }
    }
    Ok(())
}

/// How one kind of duration is written: what error messages call it, its
/// units, and whether zero is allowed.
pub(crate) struct DurationKind {
    /// `timeout`, `offset`.
    pub(crate) what: &'static str,
    /// What the text holds, for "expected ...".
    pub(crate) shape: &'static str,
    /// Unit names and their length in [`base`](DurationKind::base) units.
    pub(crate) units: &'static [(&'static str, u128)],
    /// The unit of the result, plural: "milliseconds".
    pub(crate) base: &'static str,
    /// The units as prose: "ms, s, m or h".
    pub(crate) unit_prose: &'static str,
    /// The units as a list: "ms, s, m, h".
    pub(crate) unit_list: &'static str,
    /// "e.g. ..." examples.
    pub(crate) examples: &'static str,
    /// Whether zero is a valid value.
    pub(crate) zero: bool,
}

/// `timeout = "10s"`.
pub(crate) const TIMEOUT: DurationKind = DurationKind {
    what: "timeout",
    shape: "a number and a unit",
    units: &[("ms", 1), ("s", 1_000), ("m", 60_000), ("h", 3_600_000)],
    base: "milliseconds",
    unit_prose: "ms, s, m or h",
    unit_list: "ms, s, m, h",
    examples: r#"e.g. "500ms", "10s", "1.5m" or "2h""#,
    zero: false,
};

/// A clock offset of `time(...)`, without its sign.
pub(crate) const OFFSET: DurationKind = DurationKind {
    what: "offset",
    shape: "an optional sign, a number and a unit",
    units: &[
        ("ms", 1),
        ("s", 1_000),
        ("m", 60_000),
        ("h", 3_600_000),
        ("d", 86_400_000),
    ],
    base: "milliseconds",
    unit_prose: "ms, s, m, h or d",
    unit_list: "ms, s, m, h, d",
    examples: r#"e.g. "+30d", "-2h" or "+1.5h""#,
    zero: true,
};

/// Parses a duration such as `"500ms"`, `"10s"`, `"1.5m"` or `"2h"` into
/// whole milliseconds, greater than zero.
pub(crate) fn parse_duration_ms(text: &str) -> Result<u64, String> {
    parse_duration(text, text, &TIMEOUT)
}

/// Parses `text`, a number (decimals allowed) and one of `kind`'s units,
/// into a whole number of `kind`'s base unit (milliseconds, nanoseconds);
/// error messages show `shown`, the value as the user wrote it.
pub(crate) fn parse_duration(text: &str, shown: &str, kind: &DurationKind) -> Result<u64, String> {
    // Enough for any u64 of milliseconds; keeps the arithmetic in u128.
    const MAX_DIGITS: usize = 20;
    let DurationKind {
        what,
        shape,
        units,
        base,
        unit_prose,
        unit_list,
        examples,
        zero,
    } = kind;

    let split = text
        .find(|c: char| !(c.is_ascii_digit() || c == '.'))
        .unwrap_or(text.len());
    let (number, unit) = text.split_at(split);
    let (whole, fraction) = number.split_once('.').unwrap_or((number, ""));
    let well_formed = !whole.is_empty()
        && whole.bytes().all(|b| b.is_ascii_digit())
        && fraction.bytes().all(|b| b.is_ascii_digit())
        && !number.ends_with('.');
    if !well_formed {
        return Err(format!(
            "invalid {what} {shown:?}; expected {shape} ({unit_prose}), {examples}"
        ));
    }
    if unit.is_empty() {
        return Err(format!(
            "{what} {shown:?} has no unit; expected one of: {unit_list} ({examples})"
        ));
    }
    let Some((_, scale)) = units.iter().find(|(name, _)| *name == unit) else {
        return Err(format!(
            "unknown unit {unit:?} in {what} {shown:?}; expected one of: {unit_list} ({examples})"
        ));
    };
    let too_large = || format!("{what} {shown:?} is too large");
    if whole.trim_start_matches('0').len() > MAX_DIGITS {
        return Err(too_large());
    }
    if fraction.len() > MAX_DIGITS {
        return Err(format!("{what} {shown:?} has too many decimal places"));
    }
    let digits = |s: &str| -> u128 {
        s.bytes()
            .fold(0, |n, digit| n * 10 + u128::from(digit - b'0'))
    };
    let denominator = 10u128.pow(fraction.len() as u32);
    let fraction_scaled = digits(fraction) * scale;
    if fraction_scaled % denominator != 0 {
        return Err(format!("{what} {shown:?} is not a whole number of {base}"));
    }
    let value = digits(whole) * scale + fraction_scaled / denominator;
    if value == 0 && !zero {
        return Err(format!("{what} {shown:?} must be greater than zero"));
    }
    u64::try_from(value).map_err(|_| too_large())
}

#[cfg(test)]
mod tests {
    use super::*;
    use quote::quote;

    fn parse(tokens: TokenStream) -> Result<Args, Vec<String>> {
        Args::parse(tokens).map_err(|e| e.into_iter().map(|e| e.to_string()).collect())
    }

    fn only(list: &[Namespace]) -> Namespaces {
        Namespaces::Only(list.to_vec())
    }

    #[test]
    fn keys_name_every_namespace() {
        for ns in Namespace::ALL {
            assert!(KEYS.contains(&ns.key()), "{ns:?}");
        }
        assert_eq!(KEYS.len(), Namespace::ALL.len() + 12);
    }

    #[test]
    fn no_arguments_means_all() {
        let expected = Args {
            namespaces: Namespaces::All,
            hostname: None,
            timeout_ms: None,
            identity: None,
            mounts: Vec::new(),
            env: Vec::new(),
            limits: Limits::default(),
            time_offsets: None,
            lab: None,
        };
        assert_eq!(parse(quote!()), Ok(expected.clone()));
        assert_eq!(parse(quote!(all)), Ok(expected));
    }

    #[test]
    fn options_alone_keep_all_namespaces() {
        let args = parse(quote!(timeout = "5s", hostname = "box")).expect("valid");
        assert_eq!(args.namespaces, Namespaces::All);
        assert_eq!(args.hostname.as_deref(), Some("box"));
        assert_eq!(args.timeout_ms, Some(5_000));
    }

    #[test]
    fn namespaces_in_canonical_order_with_user() {
        use Namespace::*;
        let args = parse(quote!(time, net, pid,)).expect("valid");
        assert_eq!(args.namespaces, only(&[User, Net, Pid, Time]));
        let args = parse(quote!(user)).expect("valid");
        assert_eq!(args.namespaces, only(&[User]));
        let args = parse(quote!(net, all)).expect("valid");
        assert_eq!(args.namespaces, Namespaces::All);
    }

    #[test]
    fn hostname_with_uts() {
        let args = parse(quote!(uts, hostname = "build-01.example")).expect("valid");
        assert_eq!(args.namespaces, only(&[Namespace::User, Namespace::Uts]));
        assert_eq!(args.hostname.as_deref(), Some("build-01.example"));
    }

    #[test]
    fn unknown_key_lists_every_key() {
        assert_eq!(
            parse(quote!(nett)),
            Err(vec![
                "unknown namespace 'nett'; expected one of: user, net, mnt, pid, ipc, uts, cgroup, time, all, hostname, timeout, uid, gid, bind, bind_rw, tmpfs, env, memory, pids, cpu".to_owned()
            ])
        );
        let errors = parse(quote!(memroy = "1G")).expect_err("unknown");
        assert!(errors[0].starts_with("unknown argument 'memroy'; expected one of: user,"));
    }

    #[test]
    fn every_error_is_reported() {
        let errors = parse(quote!(net, nett, net, timeout = 5, hostname = "")).expect_err("bad");
        assert_eq!(
            errors,
            [
                "unknown namespace 'nett'; expected one of: user, net, mnt, pid, ipc, uts, cgroup, time, all, hostname, timeout, uid, gid, bind, bind_rw, tmpfs, env, memory, pids, cpu",
                "`net` set multiple times",
                r#"`timeout` expects a string literal, e.g. `timeout = "10s"`"#,
                "hostname must not be empty",
            ]
        );
    }

    #[test]
    fn hostname_needs_uts_when_namespaces_are_listed() {
        assert_eq!(
            parse(quote!(net, hostname = "box")),
            Err(vec![
                "`hostname` needs the UTS namespace: add `uts` to the list (or use `all`)"
                    .to_owned()
            ])
        );
        assert!(parse(quote!(net, all, hostname = "box")).is_ok());
    }

    #[test]
    fn values_have_the_right_shape() {
        assert_eq!(
            parse(quote!(pid = "yes")),
            Err(vec!["`pid` takes no value; write just `pid`".to_owned()])
        );
        assert_eq!(
            parse(quote!(all(1))),
            Err(vec!["`all` takes no arguments; write just `all`".to_owned()])
        );
        assert_eq!(
            parse(quote!(timeout)),
            Err(vec![
                r#"`timeout` expects a string literal, e.g. `timeout = "10s"`"#.to_owned()
            ])
        );
        assert_eq!(
            parse(quote!(hostname = HOST)),
            Err(vec![
                r#"`hostname` expects a string literal, e.g. `hostname = "box"`"#.to_owned()
            ])
        );
    }

    #[test]
    fn identity() {
        let args = parse(quote!(uid = 1000)).expect("valid");
        assert_eq!(
            args.identity,
            Some(Identity {
                uid: 1000,
                gid: 1000
            })
        );
        let args = parse(quote!(gid = 100, uid = 1000)).expect("valid");
        assert_eq!(
            args.identity,
            Some(Identity {
                uid: 1000,
                gid: 100
            })
        );
        assert_eq!(
            parse(quote!(gid = 100)),
            Err(vec![
                "`gid` needs `uid`: the test runs as root unless `uid = N` is set too".to_owned()
            ])
        );
        assert_eq!(
            parse(quote!(uid = "1000")),
            Err(vec![
                "`uid` expects an integer, e.g. `uid = 1000`".to_owned()
            ])
        );
        assert_eq!(
            parse(quote!(uid = 1000u32)),
            Err(vec![
                "`uid` expects an integer, e.g. `uid = 1000`".to_owned()
            ])
        );
        assert!(parse(quote!(uid = 0)).expect_err("root")[0].contains("is the default"));
        assert!(parse(quote!(uid = 99999999999)).expect_err("big")[0].contains("not a valid id"));
    }

    #[test]
    fn mounts() {
        let args = parse(quote!(
            mnt,
            bind = "fixtures/certs:/etc/certs",
            bind_rw("state:/var/lib/app/state", "/srv:/srv"),
            tmpfs = "/var/lib/app",
        ))
        .expect("valid");
        let targets: Vec<(MountKind, &str, &str)> = args
            .mounts
            .iter()
            .map(|m| (m.kind, m.source.as_str(), m.target.as_str()))
            .collect();
        // Parents before children, else in source order.
        assert_eq!(
            targets,
            [
                (MountKind::BindRw, "/srv", "/srv"),
                (MountKind::Bind, "fixtures/certs", "/etc/certs"),
                (MountKind::Tmpfs, "", "/var/lib/app"),
                (MountKind::BindRw, "state", "/var/lib/app/state"),
            ]
        );
        // Options alone keep every namespace, `mnt` included.
        assert!(parse(quote!(tmpfs = "/data")).is_ok());
    }

    #[test]
    fn mount_errors() {
        assert_eq!(
            parse(quote!(net, bind = "a:/a")),
            Err(vec![
                "`bind` needs the mount namespace: add `mnt` to the list (or use `all`)".to_owned()
            ])
        );
        assert_eq!(
            parse(quote!(tmpfs = "/a", bind_rw = "x:/a")),
            Err(vec![
                "`/a` is mounted twice (by `tmpfs` too); give each mount its own target".to_owned()
            ])
        );
        assert_eq!(
            parse(quote!(bind = "a:/a", bind = "b:/b")),
            Err(vec![
                r#"`bind` set multiple times; list several in one: `bind("...", "...")`"#
                    .to_owned()
            ])
        );
        assert_eq!(
            parse(quote!(tmpfs())),
            Err(vec![
                r#"`tmpfs(...)` is empty; write e.g. `tmpfs = "/var/lib/app"`"#.to_owned()
            ])
        );
        assert_eq!(
            parse(quote!(bind)),
            Err(vec![
                r#"`bind` expects a string literal, e.g. `bind = "fixtures/certs:/etc/certs"`"#
                    .to_owned()
            ])
        );
        assert!(parse(quote!(bind("a:/a", 3))).is_err());
    }

    #[test]
    fn environment() {
        let args =
            parse(quote!(env(RUST_LOG = "debug", "my.var" = "", r#type = "x"))).expect("valid");
        assert_eq!(
            args.env,
            [
                ("RUST_LOG".to_owned(), "debug".to_owned()),
                ("my.var".to_owned(), String::new()),
                ("type".to_owned(), "x".to_owned()),
            ]
        );
        assert_eq!(
            parse(quote!(env(A = "1", A = "2"))),
            Err(vec!["`A` set multiple times in `env`".to_owned()])
        );
        assert_eq!(
            parse(quote!(env(A = 1))),
            Err(vec![
                r#"the value of `A` must be a string literal, e.g. `A = "1"`"#.to_owned()
            ])
        );
        assert_eq!(
            parse(quote!(env = "A=1")),
            Err(vec![
                r#"`env` takes a list, e.g. `env(RUST_LOG = "debug")`"#.to_owned()
            ])
        );
        assert!(parse(quote!(env(A))).is_err());
    }

    #[test]
    fn limits() {
        let args = parse(quote!(memory = "64M", pids = 64, cpu = "50%")).expect("valid");
        assert_eq!(
            args.limits,
            Limits {
                memory_bytes: Some(64 << 20),
                pids: Some(64),
                cpu_percent: Some(50)
            }
        );
        assert_eq!(
            parse(quote!(pids = "64")),
            Err(vec![
                "`pids` expects an integer, e.g. `pids = 64`".to_owned()
            ])
        );
        assert_eq!(
            parse(quote!(memory = 64)),
            Err(vec![
                r#"`memory` expects a string literal, e.g. `memory = "64M"`"#.to_owned()
            ])
        );
    }

    #[test]
    fn clock_offsets() {
        use Namespace::*;
        let args = parse(quote!(net, time(monotonic = "+30d", boottime = "-1h"))).expect("valid");
        assert_eq!(args.namespaces, only(&[User, Net, Time]));
        assert_eq!(
            args.time_offsets,
            Some(TimeOffsets {
                monotonic_ms: 30 * 86_400_000,
                boottime_ms: -3_600_000
            })
        );
        assert_eq!(parse(quote!(time)).expect("valid").time_offsets, None);
        let errors = parse(quote!(time(realtime = "+1h"))).expect_err("realtime");
        assert!(
            errors[0].starts_with("unknown clock 'realtime'; expected one of: monotonic, boottime")
        );
        assert_eq!(
            parse(quote!(time(monotonic = "+1h", monotonic = "+2h"))),
            Err(vec!["`monotonic` set multiple times".to_owned()])
        );
        assert!(parse(quote!(time = "+1h")).expect_err("assign")[0]
            .starts_with("`time` takes no value"));
        assert!(parse(quote!(time())).expect_err("empty")[0].starts_with("`time(...)` is empty"));
        assert!(parse(quote!(time(monotonic = 5))).is_err());
    }

    #[test]
    fn network_lab() {
        use crate::lab::{Lab, Link, Probability};
        use std::time::Duration;
        use Namespace::*;
        let args = parse(quote!(net(hosts = 3))).expect("valid");
        assert_eq!(args.namespaces, only(&[User, Net]));
        assert_eq!(
            args.lab,
            Some(Lab {
                hosts: 3,
                link: Link::default(),
                seed: None
            })
        );
        let args = parse(quote!(
            mnt,
            net(
                hosts = 250,
                delay = "100ms",
                jitter = "10ms",
                loss = "5%",
                duplicate = "1%",
                reorder = "0.5%",
                rate = "10mbit",
                queue = 1000,
                seed = 0x2a,
            ),
        ))
        .expect("valid");
        assert_eq!(args.namespaces, only(&[User, Net, Mnt]));
        assert_eq!(
            args.lab,
            Some(Lab {
                hosts: 250,
                link: Link {
                    delay: Some(Duration::from_millis(100)),
                    jitter: Some(Duration::from_millis(10)),
                    loss: Some(Probability(0.05)),
                    duplicate: Some(Probability(0.01)),
                    reorder: Some(Probability(0.005)),
                    rate_bps: Some(10_000_000),
                    queue: Some(1000),
                },
                seed: Some(42),
            })
        );
        // Bare `net` is still the namespace alone; `all` keeps every one.
        assert_eq!(parse(quote!(net)).expect("valid").lab, None);
        let args = parse(quote!(all, net(hosts = 1))).expect("valid");
        assert_eq!(args.namespaces, Namespaces::All);
        // Options alone still keep every namespace; `net(...)` names one.
        let args = parse(quote!(timeout = "5s", net(hosts = 2))).expect("valid");
        assert_eq!(args.namespaces, only(&[User, Net]));
    }

    #[test]
    fn network_lab_errors() {
        let one = |tokens| parse(tokens).expect_err("invalid");
        assert_eq!(
            one(quote!(net, net(hosts = 3))),
            ["`net` and `net(...)` both given: `net(...)` makes the network namespace too; drop the bare `net`"]
        );
        assert_eq!(
            one(quote!(net(hosts = 3), net)),
            ["`net` and `net(...)` both given: `net(...)` makes the network namespace too; drop the bare `net`"]
        );
        assert_eq!(
            one(quote!(net(hosts = 3), net(hosts = 2))),
            [
                r#"`net` set multiple times; give every lab option in one: `net(hosts = 3, delay = "10ms")`"#
            ]
        );
        assert_eq!(
            one(quote!(net(delay = "10ms"))),
            [
                r#"`net(...)` needs `hosts = N`, the number of hosts of the lab, e.g. `net(hosts = 3, delay = "10ms")`"#
            ]
        );
        assert_eq!(
            one(quote!(net())),
            ["`net(...)` is empty; write e.g. `net(hosts = 3)`"]
        );
        assert_eq!(
            one(quote!(net = 3)),
            [
                r#"`net` takes no value; write `net`, or `net(hosts = 3, delay = "10ms")` for a lab of hosts"#
            ]
        );
        assert_eq!(
            one(quote!(net(hosts = 3, dealy = "10ms"))),
            ["unknown lab option 'dealy'; expected one of: hosts, delay, jitter, loss, duplicate, reorder, rate, queue, seed"]
        );
        assert_eq!(
            one(quote!(net(hosts = 3, hosts = 4))),
            ["`hosts` set multiple times"]
        );
        assert_eq!(
            one(quote!(net(hosts = 3, seed))),
            ["`seed` needs a value, e.g. `seed = 42`"]
        );
        assert_eq!(
            one(quote!(net(hosts = "3"))),
            ["`hosts` expects an integer, e.g. `hosts = 3`"]
        );
        assert_eq!(
            one(quote!(net(hosts = 3, loss = 0.05))),
            [r#"`loss` expects a string literal, e.g. `loss = "5%"`"#]
        );
        assert_eq!(
            one(quote!(net(hosts = 3, seed = 99999999999999999999))),
            ["`seed = 99999999999999999999` is too large"]
        );
        assert_eq!(
            one(quote!(mnt, uid = 1000, net(hosts = 2))),
            ["`net(...)` cannot be combined with `uid`: the lab is built where the test body runs, and `uid` drops the capabilities a lab needs (CAP_SYS_ADMIN, CAP_NET_ADMIN)"]
        );
        // Every mistake at once, `hosts` missing included.
        assert_eq!(
            one(quote!(net(
                hosts = 0,
                delay = "2h",
                jitter = "1.5ns",
                loss = "101%",
                rate = "0kbit",
                queue = 0,
            ))),
            [
                "`hosts = 0`: a lab has 1 to 250 hosts",
                r#"delay "2h" is longer than the limit of "1h""#,
                r#"jitter "1.5ns" is not a whole number of nanoseconds"#,
                r#"loss "101%" is more than 100%"#,
                r#"rate "0kbit" must be greater than zero (leave `rate` out for no limit)"#,
                "`queue = 0`: the rate limiter's queue holds 1 to 1000000 frames",
            ]
        );
    }

    #[test]
    fn malformed_list_is_a_parse_error() {
        assert!(parse(quote!(net mnt)).is_err());
        assert!(parse(quote!("net")).is_err());
        assert!(parse(quote!(timeout = )).is_err());
    }

    #[test]
    fn keywords_are_unknown_keys_not_parse_errors() {
        let errors = parse(quote!(type)).expect_err("unknown");
        assert!(errors[0].starts_with("unknown namespace 'type'"));
    }

    #[test]
    fn durations() {
        assert_eq!(parse_duration_ms("500ms"), Ok(500));
        assert_eq!(parse_duration_ms("10s"), Ok(10_000));
        assert_eq!(parse_duration_ms("2m"), Ok(120_000));
        assert_eq!(parse_duration_ms("1h"), Ok(3_600_000));
        assert_eq!(parse_duration_ms("1.5s"), Ok(1_500));
        assert_eq!(parse_duration_ms("0.25m"), Ok(15_000));
        assert_eq!(parse_duration_ms("007s"), Ok(7_000));
        assert_eq!(parse_duration_ms("1.0ms"), Ok(1));
    }

    #[test]
    fn bad_durations() {
        let err = |s| parse_duration_ms(s).expect_err(s);
        assert!(err("abc").starts_with(r#"invalid timeout "abc"; expected a number and a unit"#));
        assert!(err("").starts_with("invalid timeout"));
        assert!(err(".5s").starts_with("invalid timeout"));
        assert!(err("5.s").starts_with("invalid timeout"));
        assert!(err("1.2.3s").starts_with("invalid timeout"));
        assert!(err("-1s").starts_with("invalid timeout"));
        assert!(err(" 5s").starts_with("invalid timeout"));
        assert!(err("5").starts_with(r#"timeout "5" has no unit"#));
        assert!(err("5sec").starts_with(r#"unknown unit "sec" in timeout "5sec""#));
        assert!(err("5 s").starts_with(r#"unknown unit " s""#));
        assert_eq!(err("0s"), r#"timeout "0s" must be greater than zero"#);
        assert_eq!(err("0.0h"), r#"timeout "0.0h" must be greater than zero"#);
        assert_eq!(
            err("1.5ms"),
            r#"timeout "1.5ms" is not a whole number of milliseconds"#
        );
        assert_eq!(
            err("99999999999999999999h"),
            r#"timeout "99999999999999999999h" is too large"#
        );
        assert!(err("1000000000000000000000000000000000000000000s").ends_with("is too large"));
        assert!(
            err("1.0000000000000000000000000000000000000001s").ends_with("too many decimal places")
        );
    }

    #[test]
    fn hostnames() {
        assert_eq!(check_hostname("box"), Ok(()));
        assert_eq!(check_hostname("a-b.c-d.0"), Ok(()));
        assert_eq!(check_hostname(&"a".repeat(63)), Ok(()));
        let bad = |s: &str| check_hostname(s).expect_err(s);
        assert_eq!(bad(""), "hostname must not be empty");
        assert_eq!(
            bad(&"a.".repeat(33)),
            "hostname is 66 bytes long; the limit is 64"
        );
        assert!(bad(&"a".repeat(64)).starts_with("hostname label"));
        assert!(bad("a..b").contains("has an empty label"));
        assert!(bad("box.").contains("has an empty label"));
        assert!(bad("my_box").starts_with("invalid character '_' in hostname \"my_box\""));
        assert!(bad("bøx").starts_with("invalid character 'ø'"));
        assert!(bad("-box").contains("must not start or end with '-'"));
        assert!(bad("a.box-").contains("must not start or end with '-'"));
    }
}
