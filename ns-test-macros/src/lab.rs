//! `net(hosts = 3, delay = "100ms", loss = "5%", ...)`: the network lab a
//! test starts with, checked at compile time into the values the expansion
//! hands `ns_test::netlab::Lab::from_attribute`.
//!
//! Each value's rule is a plain function from the literal's text to the
//! value or an error message, unit-testable without tokens; [`lab`] walks
//! the entries, dispatching on the key, and collects every error.

use std::time::Duration;

use proc_macro2::Span;
use syn::ext::IdentExt;
use syn::parse::{Parse, ParseStream};
use syn::{Expr, ExprLit, Ident, Lit, LitInt, LitStr, Token};

use crate::args::{parse_duration, DurationKind};
use crate::diag::Errors;

/// Every option of `net(...)`, in the order error messages list them.
pub(crate) const LAB_KEYS: &[&str] = &[
    "hosts",
    "delay",
    "jitter",
    "loss",
    "duplicate",
    "reorder",
    "rate",
    "queue",
    "seed",
];

/// The most hosts a lab has: `ns_test::netlab::MAX_HOSTS` (the runtime
/// crate cannot be a dependency of this one; `tests/netlab_attribute.rs`
/// checks the two agree).
pub(crate) const MAX_HOSTS: u64 = 250;

/// The longest link delay or jitter, as `LinkConfig::validate` allows.
const MAX_DELAY: Duration = Duration::from_secs(3600);

/// The longest rate limiter queue, in frames, as `LinkConfig::validate`
/// allows.
pub(crate) const MAX_QUEUE: u64 = 1_000_000;

/// A probability in `0.0..=1.0`, written as a percentage; never NaN, so
/// equality is total.
#[derive(Clone, Copy, Debug, PartialEq)]
pub(crate) struct Probability(pub(crate) f64);

impl Eq for Probability {}

/// The lab of `net(...)`, checked.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) struct Lab {
    /// `hosts = N`: hosts `h1`..`hN`, 1 to [`MAX_HOSTS`].
    pub(crate) hosts: u64,
    /// The link options that are set; the others keep `LinkConfig::new()`'s
    /// values.
    pub(crate) link: Link,
    /// `seed = N`: fixes the lab's seed (`NS_TEST_NET_SEED` then does not
    /// apply).
    pub(crate) seed: Option<u64>,
}

/// The `LinkConfig` of every path, as far as the attribute sets it.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub(crate) struct Link {
    /// `delay = "100ms"`: one-way, at most an hour.
    pub(crate) delay: Option<Duration>,
    /// `jitter = "10ms"`: at most an hour.
    pub(crate) jitter: Option<Duration>,
    /// `loss = "5%"`.
    pub(crate) loss: Option<Probability>,
    /// `duplicate = "1%"`.
    pub(crate) duplicate: Option<Probability>,
    /// `reorder = "1%"`.
    pub(crate) reorder: Option<Probability>,
    /// `rate = "10mbit"`, in bits per second; never 0.
    pub(crate) rate_bps: Option<u64>,
    /// `queue = 1000`, in frames.
    pub(crate) queue: Option<u64>,
}

/// An entry of `net(...)`: `hosts = 3`, `delay = "100ms"`.
pub(crate) struct LabOption {
    /// The option's name as written.
    pub(crate) key: Ident,
    /// The value as written; each option checks what it accepts.
    pub(crate) value: Expr,
}

impl Parse for LabOption {
    fn parse(input: ParseStream) -> syn::Result<Self> {
        if !input.peek(Ident::peek_any) {
            return Err(
                input.error("expected a lab option, e.g. `hosts = 3` or `delay = \"100ms\"`")
            );
        }
        let key = input.call(Ident::parse_any)?;
        if !input.peek(Token![=]) {
            let name = key.unraw().to_string();
            let example = example(&name).unwrap_or("hosts = 3");
            return Err(syn::Error::new(
                key.span(),
                format!("`{name}` needs a value, e.g. `{example}`"),
            ));
        }
        let _: Token![=] = input.parse()?;
        Ok(LabOption {
            key,
            value: input.parse()?,
        })
    }
}

/// The option written correctly, for error messages.
fn example(key: &str) -> Option<&'static str> {
    Some(match key {
        "hosts" => "hosts = 3",
        "delay" => r#"delay = "100ms""#,
        "jitter" => r#"jitter = "10ms""#,
        "loss" => r#"loss = "5%""#,
        "duplicate" => r#"duplicate = "1%""#,
        "reorder" => r#"reorder = "1%""#,
        "rate" => r#"rate = "10mbit""#,
        "queue" => "queue = 1000",
        "seed" => "seed = 42",
        _ => return None,
    })
}

/// Gives the entries of `net(...)` their meaning, recording every error in
/// `errors`; `net` is the key's span, where a missing `hosts` is reported.
/// `None` when `hosts` is missing or invalid.
pub(crate) fn lab(entries: Vec<LabOption>, net: Span, errors: &mut Errors) -> Option<Lab> {
    let mut seen: Vec<String> = Vec::new();
    let mut hosts = None;
    let mut link = Link::default();
    let mut seed = None;
    for LabOption { key, value } in &entries {
        let name = key.unraw().to_string();
        let Some(example) = example(&name) else {
            errors.at(
                key.span(),
                format!(
                    "unknown lab option '{name}'; expected one of: {}",
                    LAB_KEYS.join(", ")
                ),
            );
            continue;
        };
        if seen.contains(&name) {
            errors.at(key.span(), format!("`{name}` set multiple times"));
            continue;
        }
        seen.push(name.clone());
        let checked = match name.as_str() {
            "hosts" => int(&name, value, example).and_then(|(lit, n)| {
                check_hosts(n)
                    .map(|n| hosts = Some(n))
                    .map_err(|m| syn::Error::new(lit.span(), m))
            }),
            "queue" => int(&name, value, example).and_then(|(lit, n)| {
                check_queue(n)
                    .map(|n| link.queue = Some(n))
                    .map_err(|m| syn::Error::new(lit.span(), m))
            }),
            "seed" => int(&name, value, example).map(|(_, n)| seed = Some(n)),
            _ => string(&name, value, example).and_then(|lit| {
                let text = lit.value();
                let set = match name.as_str() {
                    "delay" => parse_link_duration("delay", &text).map(|d| link.delay = Some(d)),
                    "jitter" => parse_link_duration("jitter", &text).map(|d| link.jitter = Some(d)),
                    "loss" => parse_percent("loss", &text).map(|p| link.loss = Some(p)),
                    "duplicate" => {
                        parse_percent("duplicate", &text).map(|p| link.duplicate = Some(p))
                    }
                    "reorder" => parse_percent("reorder", &text).map(|p| link.reorder = Some(p)),
                    _ => parse_rate(&text).map(|r| link.rate_bps = Some(r)),
                };
                set.map_err(|m| syn::Error::new(lit.span(), m))
            }),
        };
        errors.take(checked);
    }
    let Some(hosts) = hosts else {
        if !seen.iter().any(|k| k == "hosts") {
            errors.at(
                net,
                r#"`net(...)` needs `hosts = N`, the number of hosts of the lab, e.g. `net(hosts = 3, delay = "10ms")`"#,
            );
        }
        return None;
    };
    Some(Lab { hosts, link, seed })
}

/// The integer literal of `key = N`, and its value as a `u64`.
fn int(key: &str, value: &Expr, example: &str) -> syn::Result<(LitInt, u64)> {
    match value {
        Expr::Lit(ExprLit {
            lit: Lit::Int(lit), ..
        }) if lit.suffix().is_empty() => match lit.base10_parse::<u64>() {
            Ok(n) => Ok((lit.clone(), n)),
            Err(_) => Err(syn::Error::new(
                lit.span(),
                format!("`{key} = {}` is too large", lit.base10_digits()),
            )),
        },
        _ => Err(syn::Error::new_spanned(
            value,
            format!("`{key}` expects an integer, e.g. `{example}`"),
        )),
    }
}

/// The string literal of `key = "..."`.
fn string(key: &str, value: &Expr, example: &str) -> syn::Result<LitStr> {
    match value {
        Expr::Lit(ExprLit {
            lit: Lit::Str(lit), ..
        }) => Ok(lit.clone()),
        _ => Err(syn::Error::new_spanned(
            value,
            format!("`{key}` expects a string literal, e.g. `{example}`"),
        )),
    }
}

/// Checks `hosts = N`.
pub(crate) fn check_hosts(n: u64) -> Result<u64, String> {
    if (1..=MAX_HOSTS).contains(&n) {
        Ok(n)
    } else {
        Err(format!("`hosts = {n}`: a lab has 1 to {MAX_HOSTS} hosts"))
    }
}

/// Checks `queue = N`.
pub(crate) fn check_queue(n: u64) -> Result<u64, String> {
    if (1..=MAX_QUEUE).contains(&n) {
        Ok(n)
    } else {
        Err(format!(
            "`queue = {n}`: the rate limiter's queue holds 1 to {MAX_QUEUE} frames"
        ))
    }
}

/// A link's delay or jitter: nanoseconds to hours.
const LINK_DURATION: DurationKind = DurationKind {
    what: "delay",
    shape: "a number and a unit",
    units: &[
        ("ns", 1),
        ("us", 1_000),
        ("µs", 1_000),
        ("ms", 1_000_000),
        ("s", 1_000_000_000),
        ("m", 60_000_000_000),
        ("h", 3_600_000_000_000),
    ],
    base: "nanoseconds",
    unit_prose: "ns, us, ms, s, m or h",
    unit_list: "ns, us, ms, s, m, h",
    examples: r#"e.g. "100ms", "250us" or "1.5s""#,
    zero: true,
};

/// Parses `delay` or `jitter` (`what`): a number (decimals allowed) and a
/// unit, `ns` to `h`, at most an hour.
pub(crate) fn parse_link_duration(what: &'static str, text: &str) -> Result<Duration, String> {
    let kind = DurationKind {
        what,
        ..LINK_DURATION
    };
    let ns = parse_duration(text, text, &kind)?;
    let d = Duration::from_nanos(ns);
    if d > MAX_DELAY {
        return Err(format!(
            "{what} {text:?} is longer than the limit of \"1h\""
        ));
    }
    Ok(d)
}

/// A decimal number as written: its whole part and its fraction's digits.
fn decimal(number: &str) -> Option<(&str, &str)> {
    let (whole, fraction) = number.split_once('.').unwrap_or((number, ""));
    let digits = |s: &str| s.bytes().all(|b| b.is_ascii_digit());
    (!whole.is_empty() && digits(whole) && digits(fraction) && !number.ends_with('.'))
        .then_some((whole, fraction))
}

/// Parses `loss`, `duplicate` or `reorder` (`what`): a percentage from
/// `"0%"` to `"100%"`, decimals allowed, into a probability (the nearest
/// `f64` to the exact value, as the literal `0.05` would be).
pub(crate) fn parse_percent(what: &str, text: &str) -> Result<Probability, String> {
    const EXAMPLES: &str = r#"e.g. "5%" or "0.5%""#;
    let parsed = text.strip_suffix('%').and_then(decimal);
    let Some((whole, fraction)) = parsed else {
        return Err(format!(
            "invalid {what} {text:?}; expected a percentage from 0% to 100%, {EXAMPLES}"
        ));
    };
    let whole = whole.trim_start_matches('0');
    let above = whole.len() > 3
        || whole.parse::<u32>().unwrap_or(0) > 100
        || (whole == "100" && fraction.bytes().any(|b| b != b'0'));
    if above {
        return Err(format!("{what} {text:?} is more than 100%"));
    }
    // value / 100, written in decimal and parsed once: correctly rounded.
    let scaled = format!(
        "{}.{fraction}e-2",
        if whole.is_empty() { "0" } else { whole }
    );
    scaled
        .parse::<f64>()
        .map(Probability)
        .map_err(|_| format!("invalid {what} {text:?}; {EXAMPLES}"))
}

/// Parses `rate`: a number (decimals allowed) and a unit spelled as `tc`
/// spells it, into bits per second, more than zero. Bits: `bit`, `kbit`,
/// `mbit`, `gbit`, `tbit` (powers of 1000) and `kibit`, `mibit`, `gibit`,
/// `tibit` (powers of 1024), any case. Bytes: `Bps`, `kBps`, `MBps`,
/// `GBps`, `TBps`, `KiBps`, ..., with a capital `B`: `tc` reads `mbps` as
/// megabytes, where most people mean megabits, so a lowercase `bps` is
/// refused as ambiguous.
pub(crate) fn parse_rate(text: &str) -> Result<u64, String> {
    const EXAMPLES: &str = r#"e.g. "10mbit", "512kbit" or "1.5MBps""#;
    const PREFIXES: [(&str, u128); 9] = [
        ("", 1),
        ("k", 1_000),
        ("m", 1_000_000),
        ("g", 1_000_000_000),
        ("t", 1_000_000_000_000),
        ("ki", 1 << 10),
        ("mi", 1 << 20),
        ("gi", 1 << 30),
        ("ti", 1 << 40),
    ];
    let split = text
        .find(|c: char| !(c.is_ascii_digit() || c == '.'))
        .unwrap_or(text.len());
    let (number, unit) = text.split_at(split);
    let Some((whole, fraction)) = decimal(number) else {
        return Err(format!(
            "invalid rate {text:?}; expected a number and a unit (kbit, mbit, gbit, ...), {EXAMPLES}"
        ));
    };
    if unit.is_empty() {
        return Err(format!(
            "rate {text:?} has no unit; expected bits per second (bit, kbit, mbit, gbit, tbit, kibit, mibit, gibit, tibit) or bytes per second (Bps, kBps, MBps, GBps, TBps, KiBps, MiBps, GiBps, TiBps), {EXAMPLES}"
        ));
    }
    let lower = unit.to_ascii_lowercase();
    let (prefix, bits_per_unit) = if let Some(prefix) = lower.strip_suffix("bit") {
        (prefix, 1)
    } else if let Some(prefix) = unit.strip_suffix("Bps") {
        (prefix, 8)
    } else if let Some(prefix) = unit.strip_suffix("bps") {
        return Err(format!(
            "rate {text:?} is ambiguous: `tc` reads {unit:?} as bytes per second, many people as bits; write {:?} for bits or {:?} for bytes per second",
            format!("{number}{}bit", prefix.to_ascii_lowercase()),
            format!("{number}{}Bps", byte_prefix(prefix)),
        ));
    } else {
        return Err(format!(
            "unknown unit {unit:?} in rate {text:?}; expected bits per second (kbit, mbit, gbit, ...) or bytes per second (kBps, MBps, ...), {EXAMPLES}"
        ));
    };
    let Some((_, scale)) = PREFIXES
        .iter()
        .find(|(p, _)| p.eq_ignore_ascii_case(prefix))
    else {
        return Err(format!(
            "unknown unit {unit:?} in rate {text:?}; expected bits per second (kbit, mbit, gbit, ...) or bytes per second (kBps, MBps, ...), {EXAMPLES}"
        ));
    };
    let scale = scale * bits_per_unit;
    let too_large = || format!("rate {text:?} is too large");
    if whole.trim_start_matches('0').len() > 20 || fraction.len() > 20 {
        return Err(too_large());
    }
    let digits = |s: &str| -> u128 { s.bytes().fold(0, |n, d| n * 10 + u128::from(d - b'0')) };
    let denominator = 10u128.pow(fraction.len() as u32);
    let fraction_bits = digits(fraction) * scale;
    if fraction_bits % denominator != 0 {
        return Err(format!(
            "rate {text:?} is not a whole number of bits per second"
        ));
    }
    let bits = digits(whole) * scale + fraction_bits / denominator;
    if bits == 0 {
        return Err(format!(
            "rate {text:?} must be greater than zero (leave `rate` out for no limit)"
        ));
    }
    u64::try_from(bits).map_err(|_| too_large())
}

/// A prefix as byte rates are usually written: `k`, `M`, `G`, `T`, `Ki`,
/// `Mi`, ...
fn byte_prefix(prefix: &str) -> String {
    let lower = prefix.to_ascii_lowercase();
    match lower.as_str() {
        "k" | "" => lower,
        _ => {
            let mut chars = lower.chars();
            chars
                .next()
                .map(|c| c.to_ascii_uppercase())
                .into_iter()
                .chain(chars)
                .collect()
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn p(x: f64) -> Probability {
        Probability(x)
    }

    #[test]
    fn durations() {
        let ok = |s| parse_link_duration("delay", s).expect(s);
        assert_eq!(ok("100ms"), Duration::from_millis(100));
        assert_eq!(ok("0ms"), Duration::ZERO);
        assert_eq!(ok("250us"), Duration::from_micros(250));
        assert_eq!(ok("250µs"), Duration::from_micros(250));
        assert_eq!(ok("1.5s"), Duration::from_millis(1500));
        assert_eq!(ok("0.5ms"), Duration::from_micros(500));
        assert_eq!(ok("7ns"), Duration::from_nanos(7));
        assert_eq!(ok("1h"), Duration::from_secs(3600));
        assert_eq!(ok("60m"), Duration::from_secs(3600));
        let bad = |s| parse_link_duration("jitter", s).expect_err(s);
        assert_eq!(
            bad("1.5ns"),
            r#"jitter "1.5ns" is not a whole number of nanoseconds"#
        );
        assert_eq!(
            bad("61m"),
            r#"jitter "61m" is longer than the limit of "1h""#
        );
        assert_eq!(
            bad("3600.000000001s"),
            r#"jitter "3600.000000001s" is longer than the limit of "1h""#
        );
        assert!(bad("10")
            .starts_with(r#"jitter "10" has no unit; expected one of: ns, us, ms, s, m, h"#));
        assert!(bad("10d").starts_with(r#"unknown unit "d" in jitter "10d""#));
        assert!(bad("-1ms").starts_with(r#"invalid jitter "-1ms""#));
        assert!(bad("99999999999999999999h").ends_with("is too large"));
    }

    #[test]
    fn percentages() {
        let ok = |s| parse_percent("loss", s).expect(s);
        assert_eq!(ok("5%"), p(0.05));
        assert_eq!(ok("0%"), p(0.0));
        assert_eq!(ok("100%"), p(1.0));
        assert_eq!(ok("100.00%"), p(1.0));
        assert_eq!(ok("0.5%"), p(0.005));
        assert_eq!(ok("12.345%"), p(0.12345));
        assert_eq!(ok("007%"), p(0.07));
        let bad = |s| parse_percent("loss", s).expect_err(s);
        assert_eq!(bad("100.01%"), r#"loss "100.01%" is more than 100%"#);
        assert_eq!(bad("150%"), r#"loss "150%" is more than 100%"#);
        assert_eq!(
            bad("99999999999999999999%"),
            r#"loss "99999999999999999999%" is more than 100%"#
        );
        assert!(bad("5").starts_with(r#"invalid loss "5"; expected a percentage from 0% to 100%"#));
        assert!(bad("0.05").starts_with("invalid loss"));
        assert!(bad("-1%").starts_with("invalid loss"));
        assert!(bad("5 %").starts_with("invalid loss"));
        assert!(bad("%").starts_with("invalid loss"));
        assert!(bad(".5%").starts_with("invalid loss"));
    }

    #[test]
    fn rates() {
        let ok = |s| parse_rate(s).expect(s);
        assert_eq!(ok("10mbit"), 10_000_000);
        assert_eq!(ok("10Mbit"), 10_000_000);
        assert_eq!(ok("512kbit"), 512_000);
        assert_eq!(ok("1gbit"), 1_000_000_000);
        assert_eq!(ok("2tbit"), 2_000_000_000_000);
        assert_eq!(ok("9600bit"), 9600);
        assert_eq!(ok("1kibit"), 1024);
        assert_eq!(ok("1Mibit"), 1 << 20);
        assert_eq!(ok("1.5mbit"), 1_500_000);
        assert_eq!(ok("125Bps"), 1000);
        assert_eq!(ok("1kBps"), 8000);
        assert_eq!(ok("1KBps"), 8000);
        assert_eq!(ok("1.5MBps"), 12_000_000);
        assert_eq!(ok("1KiBps"), 8192);
        let bad = |s| parse_rate(s).expect_err(s);
        assert_eq!(
            bad("10mbps"),
            r#"rate "10mbps" is ambiguous: `tc` reads "mbps" as bytes per second, many people as bits; write "10mbit" for bits or "10MBps" for bytes per second"#
        );
        assert!(bad("10Mbps").contains("is ambiguous"));
        assert!(bad("10").starts_with(r#"rate "10" has no unit"#));
        assert!(bad("10mb").starts_with(r#"unknown unit "mb" in rate "10mb""#));
        assert!(bad("10xbit").starts_with(r#"unknown unit "xbit""#));
        assert!(bad("fast").starts_with(r#"invalid rate "fast""#));
        assert_eq!(
            bad("0mbit"),
            r#"rate "0mbit" must be greater than zero (leave `rate` out for no limit)"#
        );
        assert_eq!(
            bad("0.1bit"),
            r#"rate "0.1bit" is not a whole number of bits per second"#
        );
        assert!(bad("99999999tbit").ends_with("is too large"));
    }

    #[test]
    fn counts() {
        assert_eq!(check_hosts(1), Ok(1));
        assert_eq!(check_hosts(250), Ok(250));
        assert_eq!(
            check_hosts(0),
            Err("`hosts = 0`: a lab has 1 to 250 hosts".to_owned())
        );
        assert!(check_hosts(251).is_err());
        assert_eq!(check_queue(1_000_000), Ok(1_000_000));
        assert!(check_queue(0)
            .expect_err("0")
            .contains("1 to 1000000 frames"));
        assert!(check_queue(1_000_001).is_err());
    }
}
