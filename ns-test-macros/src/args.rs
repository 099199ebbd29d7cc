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
use syn::parse::{Parse, ParseStream};
use syn::punctuated::Punctuated;
use syn::{parenthesized, token, Expr, ExprLit, Ident, Lit, LitStr, Token};

use crate::diag::Errors;

/// Every key the attribute accepts, in the order error messages list them.
pub(crate) const KEYS: &[&str] = &[
    "user", "net", "mnt", "pid", "ipc", "uts", "cgroup", "time", "all", "hostname", "timeout",
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

        for arg in &list.args {
            let key = arg.key.unraw().to_string();
            if !KEYS.contains(&key.as_str()) {
                errors.at(arg.key.span(), unknown_key(&key, &arg.value));
                continue;
            }
            if seen.contains(&key) {
                errors.at(arg.key.span(), format!("`{key}` set multiple times"));
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

        errors.finish(Args {
            namespaces,
            hostname: hostname.map(|(name, _)| name),
            timeout_ms,
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
        #[allow(dead_code)] // Read by the first key that takes a list.
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

/// Parses a duration such as `"500ms"`, `"10s"`, `"1.5m"` or `"2h"` into
/// whole milliseconds, greater than zero.
pub(crate) fn parse_duration_ms(text: &str) -> Result<u64, String> {
    const UNITS: [(&str, u128); 4] = [("ms", 1), ("s", 1_000), ("m", 60_000), ("h", 3_600_000)];
    const EXAMPLES: &str = r#"e.g. "500ms", "10s", "1.5m" or "2h""#;
    // Enough for any u64 of milliseconds; keeps the arithmetic in u128.
    const MAX_DIGITS: usize = 20;

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
            "invalid timeout {text:?}; expected a number and a unit (ms, s, m or h), {EXAMPLES}"
        ));
    }
    if unit.is_empty() {
        return Err(format!(
            "timeout {text:?} has no unit; expected one of: ms, s, m, h ({EXAMPLES})"
        ));
    }
    let Some((_, scale)) = UNITS.iter().find(|(name, _)| *name == unit) else {
        return Err(format!(
            "unknown unit {unit:?} in timeout {text:?}; expected one of: ms, s, m, h ({EXAMPLES})"
        ));
    };
    let too_large = || format!("timeout {text:?} is too large");
    if whole.trim_start_matches('0').len() > MAX_DIGITS {
        return Err(too_large());
    }
    if fraction.len() > MAX_DIGITS {
        return Err(format!("timeout {text:?} has too many decimal places"));
    }
    let digits = |s: &str| -> u128 {
        s.bytes()
            .fold(0, |n, digit| n * 10 + u128::from(digit - b'0'))
    };
    let denominator = 10u128.pow(fraction.len() as u32);
    let fraction_scaled = digits(fraction) * scale;
    if fraction_scaled % denominator != 0 {
        return Err(format!(
            "timeout {text:?} is not a whole number of milliseconds"
        ));
    }
    let ms = digits(whole) * scale + fraction_scaled / denominator;
    if ms == 0 {
        return Err(format!("timeout {text:?} must be greater than zero"));
    }
    u64::try_from(ms).map_err(|_| too_large())
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
        assert_eq!(KEYS.len(), Namespace::ALL.len() + 3);
    }

    #[test]
    fn no_arguments_means_all() {
        let expected = Args {
            namespaces: Namespaces::All,
            hostname: None,
            timeout_ms: None,
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
                "unknown namespace 'nett'; expected one of: user, net, mnt, pid, ipc, uts, cgroup, time, all, hostname, timeout".to_owned()
            ])
        );
        let errors = parse(quote!(memory = "1G")).expect_err("unknown");
        assert!(errors[0].starts_with("unknown argument 'memory'; expected one of: user,"));
    }

    #[test]
    fn every_error_is_reported() {
        let errors = parse(quote!(net, nett, net, timeout = 5, hostname = "")).expect_err("bad");
        assert_eq!(
            errors,
            [
                "unknown namespace 'nett'; expected one of: user, net, mnt, pid, ipc, uts, cgroup, time, all, hostname, timeout",
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
            parse(quote!(net = "yes")),
            Err(vec!["`net` takes no value; write just `net`".to_owned()])
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
