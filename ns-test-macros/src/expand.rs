//! Generating the test: parse → validate → expand, with a fallback.
//!
//! The user's function is kept whole, nested inside a body function that
//! turns its return value into an `Outcome`; an outer function with the
//! user's name is what libtest registers and calls, and it hands the body and
//! a `static Spec` to the runtime:
//!
//! ```text
//! #[::core::prelude::v1::test]            // unless a #[test] above did it
//! #[should_panic] #[ignore]               // what libtest reads
//! vis fn name() [-> Result<(), Failure>] {
//!     fn __ns_test_body() -> Outcome {
//!         #[doc] #[allow] #[tokio::test]  // the user's other attributes
//!         fn name() -> R { body }         // the user's function, unchanged
//!         #[cfg(target_os = "linux")]     // with `net(hosts = N, ...)`: the lab,
//!         if let Err(e) = Lab::from_attribute(N, link) { panic!("{}", e) }
//!         IntoOutcome::into_outcome(name())
//!     }
//!     static __NS_TEST_SPEC: Spec = Spec { .., ..Spec::DEFAULT };
//!     run(&__NS_TEST_SPEC, __ns_test_body)   // or run_result
//! }
//! ```
//!
//! Every path is absolute (`::ns_test::__private`, `::core`), so the
//! expansion does not depend on what the test module imports.
//!
//! A parametrized function whose generator (`#[rstest]`, `#[test_case]`) is
//! written below `#[ns_test]` cannot be a test yet: the generator must run
//! first. So `#[ns_test]` moves itself below the generator's attribute, as
//! the hidden `ns_test_after`, and the generator copies it onto every case
//! it makes, each then run in its own sandbox:
//!
//! ```text
//! #[ns_test(net)] #[rstest] #[case(1)] fn f(#[case] n: u8) {}
//! // becomes
//! #[rstest] #[case(1)] #[::ns_test::__private::ns_test_after(rstest, net)] fn f(#[case] n: u8) {}
//! ```

use proc_macro2::{Ident, Literal, Span, TokenStream};
use quote::{quote, quote_spanned, ToTokens};

use crate::above::Above;
use crate::args::{Args, Namespaces};
use crate::item::{Generated, Generator, Item, Registration, Returns, TestFn};
use crate::lab::{Lab, Link, Probability};
use crate::options::{Identity, Limits, TimeOffsets};

/// `#[ns_test(args)] item`, given what the source shows [`Above`] it.
///
/// On any error the item comes back unchanged, followed by one
/// `compile_error!` per problem, so that IDEs and later passes still see the
/// function and no follow-up error is caused by a half-made expansion.
pub(crate) fn ns_test(args: TokenStream, item: TokenStream, above: Above) -> TokenStream {
    match analyse(args.clone(), item.clone(), above) {
        Ok((args, Item::Test(test))) => generate(&args, &test),
        Ok((_, Item::Generated(generated))) => move_below(args, generated),
        Err(error) => {
            let mut tokens = item;
            tokens.extend(error.into_compile_error());
            tokens
        }
    }
}

/// `#[ns_test_after(generator[, args])] item`: `#[ns_test(args)]` applied to
/// one case that `generator` made (see [`move_below`]).
pub(crate) fn ns_test_after(args: TokenStream, item: TokenStream) -> TokenStream {
    let mut tokens = args.into_iter();
    let generator = match tokens.next() {
        Some(proc_macro2::TokenTree::Ident(word)) => Generator::from_keyword(&word.to_string()),
        _ => None,
    };
    let Some(generator) = generator else {
        let mut tokens = item;
        tokens.extend(
            syn::Error::new(Span::call_site(), "ns_test_after is internal to #[ns_test]")
                .into_compile_error(),
        );
        return tokens;
    };
    // The comma after the generator, then `#[ns_test]`'s own arguments.
    let args: TokenStream = tokens.skip(1).collect();
    let above = Above {
        std_test: false,
        test_case: generator == Generator::TestCase,
    };
    ns_test(args, item, above)
}

/// Re-emits a parametrized function with its generator's attribute first
/// and `#[ns_test]` below it where the generator copies it onto each case
/// it makes (for rstest: after the last `#[case]`).
fn move_below(args: TokenStream, generated: Generated) -> TokenStream {
    let Generated {
        generator,
        first,
        before,
        after,
        rest,
    } = generated;
    let generator = Ident::new(generator.keyword(), Span::call_site());
    quote! {
        #first
        #(#before)*
        #[::ns_test::__private::ns_test_after(#generator, #args)]
        #(#after)*
        #rest
    }
}

/// Parses and validates both halves, reporting the errors of both.
fn analyse(args: TokenStream, item: TokenStream, above: Above) -> syn::Result<(Args, Item)> {
    match (Args::parse(args), Item::analyse(item, above)) {
        (Ok(args), Ok(test)) => Ok((args, test)),
        (Err(mut error), Err(more)) => {
            error.combine(more);
            Err(error)
        }
        (Err(error), Ok(_)) | (Ok(_), Err(error)) => Err(error),
    }
}

fn generate(args: &Args, test: &TestFn) -> TokenStream {
    let TestFn {
        libtest_attrs,
        attrs,
        vis,
        sig,
        body,
        registration,
        runtime,
        returns,
    } = test;
    let name = &sig.ident;

    let register = match registration {
        Registration::Expansion => quote!(#[::core::prelude::v1::test]),
        Registration::Above => quote!(),
    };
    // A runtime attribute (`#[tokio::test]`) expands to a `#[test]` fn nested
    // in the body function: never collected by libtest, so harmless, but
    // rustc would warn that it "cannot test inner items".
    let allow_nested_test = if *runtime {
        quote!(#[allow(unnameable_test_items)])
    } else {
        quote!()
    };
    let (output, run) = match returns {
        Returns::Unit | Returns::Never => (quote!(), quote!(run)),
        Returns::Value(_) => (
            quote!(-> ::core::result::Result<(), ::ns_test::__private::Failure>),
            quote!(run_result),
        ),
    };
    let into_outcome = match returns {
        Returns::Unit => quote!(::ns_test::__private::IntoOutcome::into_outcome(#name())),
        // `!` coerces to `Outcome`; through `IntoOutcome` it would rely on
        // the never-type fallback, an error in edition 2024.
        Returns::Never => quote!(#name()),
        // A return type without `IntoOutcome` is reported at the type.
        Returns::Value(span) => quote_spanned! {*span=>
            ::ns_test::__private::IntoOutcome::into_outcome(#name())
        },
    };
    let namespaces = namespaces(&args.namespaces);
    let hostname = match &args.hostname {
        Some(hostname) => quote!(::core::option::Option::Some(#hostname)),
        None => quote!(::core::option::Option::None),
    };
    let timeout_ms = Literal::u64_unsuffixed(args.timeout_ms.unwrap_or(0));
    let mut options = options(args);
    if let Some(expected) = should_panic(libtest_attrs) {
        // The runtime needs it too: a harness failure must not pass as the
        // expected panic, and a skip must.
        options.push(quote!(should_panic: ::core::option::Option::Some(#expected)));
    }
    let lab = args.lab.as_ref().map(lab);

    quote! {
        #register
        #(#libtest_attrs)*
        #vis fn #name() #output {
            #allow_nested_test
            fn __ns_test_body() -> ::ns_test::__private::Outcome {
                #(#attrs)*
                #sig #body
                #lab
                #into_outcome
            }
            // `..DEFAULT` fills the options the attribute does not set (and
            // is needless when it sets them all).
            #[allow(clippy::needless_update)]
            static __NS_TEST_SPEC: ::ns_test::__private::Spec = ::ns_test::__private::Spec {
                path: ::core::concat!(::core::module_path!(), "::", ::core::stringify!(#name)),
                namespaces: #namespaces,
                hostname: #hostname,
                timeout_ms: #timeout_ms,
                manifest_dir: ::core::env!("CARGO_MANIFEST_DIR"),
                #(#options,)*
                ..::ns_test::__private::Spec::DEFAULT
            };
            ::ns_test::__private::#run(&__NS_TEST_SPEC, __ns_test_body)
        }
    }
}

/// What `#[should_panic]` expects of the panic message: `""` for a bare
/// `#[should_panic]`, else its `expected` (or `= "..."`) string; `None`
/// without the attribute.
fn should_panic(libtest_attrs: &[syn::Attribute]) -> Option<String> {
    let attr = libtest_attrs
        .iter()
        .find(|a| a.path().is_ident("should_panic"))?;
    let expected = match &attr.meta {
        syn::Meta::Path(_) => None,
        syn::Meta::NameValue(nv) => match &nv.value {
            syn::Expr::Lit(syn::ExprLit {
                lit: syn::Lit::Str(s),
                ..
            }) => Some(s.value()),
            _ => None,
        },
        syn::Meta::List(_) => {
            let mut found = None;
            let _ = attr.parse_nested_meta(|m| {
                if m.path.is_ident("expected") {
                    let s: syn::LitStr = m.value()?.parse()?;
                    found = Some(s.value());
                }
                Ok(())
            });
            found
        }
    };
    Some(expected.unwrap_or_default())
}

/// The `Spec` fields of the options that are set (`field: value`); the
/// others come from `Spec::DEFAULT`, so a test without options expands as
/// before they existed.
fn options(args: &Args) -> Vec<TokenStream> {
    let private = quote!(::ns_test::__private);
    let mut fields = Vec::new();
    if let Some(Identity { uid, gid }) = args.identity {
        let (uid, gid) = (Literal::u32_unsuffixed(uid), Literal::u32_unsuffixed(gid));
        fields.push(quote! {
            identity: ::core::option::Option::Some(#private::Identity { uid: #uid, gid: #gid })
        });
    }
    if !args.mounts.is_empty() {
        let mounts = args.mounts.iter().map(|m| {
            let kind = Ident::new(m.kind.variant(), Span::call_site());
            let (source, target) = (&m.source, &m.target);
            quote! {
                #private::Mount { kind: #private::MountKind::#kind, source: #source, target: #target }
            }
        });
        fields.push(quote!(mounts: &[#(#mounts),*]));
    }
    if !args.env.is_empty() {
        let env = args.env.iter().map(|(k, v)| quote!((#k, #v)));
        fields.push(quote!(env: &[#(#env),*]));
    }
    if args.limits.any() {
        let Limits {
            memory_bytes,
            pids,
            cpu_percent,
        } = args.limits;
        let memory_bytes = Literal::u64_unsuffixed(memory_bytes.unwrap_or(0));
        let pids = Literal::u32_unsuffixed(pids.unwrap_or(0));
        let cpu_percent = Literal::u32_unsuffixed(cpu_percent.unwrap_or(0));
        fields.push(quote! {
            limits: #private::Limits {
                memory_bytes: #memory_bytes,
                pids: #pids,
                cpu_percent: #cpu_percent,
            }
        });
    }
    if let Some(TimeOffsets {
        monotonic_ms,
        boottime_ms,
    }) = args.time_offsets
    {
        let monotonic_ms = Literal::i64_unsuffixed(monotonic_ms);
        let boottime_ms = Literal::i64_unsuffixed(boottime_ms);
        fields.push(quote! {
            time_offsets: #private::TimeOffsets {
                monotonic_ms: #monotonic_ms,
                boottime_ms: #boottime_ms,
            }
        });
    }
    fields
}

/// Builds the lab of `net(hosts = N, ...)` where the body runs, inside the
/// sandbox, before the test function; a failure to build it is the test's
/// failure, with the lab's message. `ns_test::netlab` exists on Linux only:
/// elsewhere the statement is compiled out (and `run` reports the platform).
fn lab(lab: &Lab) -> TokenStream {
    let Lab { hosts, link, seed } = lab;
    let netlab = quote!(::ns_test::netlab);
    let hosts = Literal::u64_unsuffixed(*hosts);
    let Link {
        delay,
        jitter,
        loss,
        duplicate,
        reorder,
        rate_bps,
        queue,
    } = link;
    let mut config = quote!(#netlab::LinkConfig::new());
    let mut set = |method: &str, value: TokenStream| {
        let method = Ident::new(method, Span::call_site());
        config.extend(quote!(.#method(#value)));
    };
    for (method, d) in [("delay", delay), ("jitter", jitter)] {
        if let Some(d) = d {
            set(method, duration(*d));
        }
    }
    for (method, p) in [
        ("loss", loss),
        ("duplicate", duplicate),
        ("reorder", reorder),
    ] {
        if let Some(Probability(p)) = p {
            set(method, Literal::f64_unsuffixed(*p).into_token_stream());
        }
    }
    if let Some(bps) = rate_bps {
        set(
            "rate_bps",
            Literal::u64_unsuffixed(*bps).into_token_stream(),
        );
    }
    if let Some(frames) = queue {
        set(
            "queue",
            Literal::u64_unsuffixed(*frames).into_token_stream(),
        );
    }
    let build = match seed {
        None => quote!(#netlab::Lab::from_attribute(#hosts, #config)),
        Some(seed) => {
            let seed = Literal::u64_unsuffixed(*seed);
            quote! {
                #netlab::Lab::from_attribute_seeded(#hosts, #config, ::core::option::Option::Some(#seed))
            }
        }
    };
    quote! {
        #[cfg(target_os = "linux")]
        if let ::core::result::Result::Err(__ns_test_lab_error) = #build {
            ::core::panic!("{}", __ns_test_lab_error);
        }
    }
}

/// `Duration::from_secs(n)`, or `from_millis`, `from_micros`, `from_nanos`:
/// the largest unit that holds `d` exactly.
fn duration(d: std::time::Duration) -> TokenStream {
    let ns = d.as_nanos();
    let (constructor, n) = [
        ("from_secs", 1_000_000_000),
        ("from_millis", 1_000_000),
        ("from_micros", 1_000),
    ]
    .into_iter()
    .find(|(_, unit)| ns.is_multiple_of(*unit))
    .map_or(("from_nanos", ns), |(c, unit)| (c, ns / unit));
    let constructor = Ident::new(constructor, Span::call_site());
    let n = Literal::u128_unsuffixed(n);
    quote!(::core::time::Duration::#constructor(#n))
}

/// `ns::ALL`, or `ns::USER | ns::NET | ...`.
fn namespaces(namespaces: &Namespaces) -> TokenStream {
    let bits: Vec<Ident> = match namespaces {
        Namespaces::All => vec![Ident::new("ALL", Span::call_site())],
        Namespaces::Only(list) => list
            .iter()
            .map(|ns| Ident::new(ns.constant(), Span::call_site()))
            .collect(),
    };
    quote!(#(::ns_test::__private::ns::#bits)|*)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn pretty(tokens: TokenStream) -> String {
        match syn::parse2::<syn::File>(tokens.clone()) {
            Ok(file) => prettyplease::unparse(&file),
            Err(error) => panic!("does not parse ({error}):\n{tokens}"),
        }
    }

    /// Snapshots the expansion of `#[ns_test(args)] item`, below its input.
    fn snapshot(name: &str, args: TokenStream, item: TokenStream, above: Above) {
        let mut input = TokenStream::new();
        if above.std_test {
            input.extend(quote!(#[test]));
        }
        if args.is_empty() {
            input.extend(quote!(#[ns_test] #item));
        } else {
            input.extend(quote!(#[ns_test(#args)] #item));
        }
        let expansion = pretty(ns_test(args, item, above));
        let snapshot = format!("{}\n// expands to:\n\n{expansion}", pretty(input));
        insta::with_settings!({ omit_expression => true }, {
            insta::assert_snapshot!(name, snapshot);
        });
    }

    fn below() -> Above {
        Above::default()
    }

    #[test]
    fn no_args() {
        snapshot(
            "no_args",
            quote!(),
            quote! {
                fn name() {
                    let answer = 42;
                    assert_eq!(answer, 42);
                }
            },
            below(),
        );
    }

    #[test]
    fn net_and_timeout() {
        snapshot(
            "net_and_timeout",
            quote!(net, timeout = "5s"),
            quote! {
                /// Binds a fixed port.
                #[allow(clippy::unwrap_used)]
                pub fn binds_8080() {
                    std::net::TcpListener::bind("127.0.0.1:8080").unwrap();
                }
            },
            below(),
        );
    }

    #[test]
    fn hostname() {
        snapshot(
            "hostname",
            quote!(uts, net, hostname = "box"),
            quote! {
                fn name() {}
            },
            below(),
        );
    }

    #[test]
    fn result_return() {
        snapshot(
            "result_return",
            quote!(net, mnt, pid),
            quote! {
                fn name() -> Result<(), std::io::Error> {
                    Ok(())
                }
            },
            below(),
        );
    }

    #[test]
    fn should_panic_and_ignore() {
        snapshot(
            "should_panic_and_ignore",
            quote!(net, timeout = "1.5s"),
            quote! {
                #[should_panic(expected = "boom")]
                #[ignore = "slow"]
                fn name() {
                    panic!("boom");
                }
            },
            below(),
        );
    }

    #[test]
    fn std_test_below() {
        snapshot(
            "std_test_below",
            quote!(pid),
            quote! {
                #[test]
                fn name() {}
            },
            below(),
        );
    }

    #[test]
    fn std_test_above() {
        snapshot(
            "std_test_above",
            quote!(pid),
            quote! {
                #[should_panic]
                fn name() {}
            },
            Above {
                std_test: true,
                ..Above::default()
            },
        );
    }

    #[test]
    fn tokio_below() {
        snapshot(
            "tokio_below",
            quote!(),
            quote! {
                #[tokio::test]
                async fn name() -> Result<(), String> {
                    tokio::task::yield_now().await;
                    Ok(())
                }
            },
            below(),
        );
    }

    #[test]
    fn rstest_below() {
        snapshot(
            "rstest_below",
            quote!(net),
            quote! {
                #[rstest]
                #[case(1)]
                #[case::two(2)]
                #[should_panic]
                fn name(#[case] n: u16, #[values("a", "b")] s: &str) {}
            },
            below(),
        );
    }

    #[test]
    fn test_case_below() {
        snapshot(
            "test_case_below",
            quote!(),
            quote! {
                /// Docs.
                #[test_case(1 => 2; "one")]
                #[test_case(2 => 4)]
                fn name(n: u16) -> u16 {
                    n * 2
                }
            },
            below(),
        );
    }

    #[test]
    fn test_case_case() {
        // What test-case hands `#[ns_test]` for one sync case: its `#[test]`
        // is above, so the expansion registers nothing.
        let item = quote! {
            #[allow(clippy::bool_assert_comparison)]
            fn test_case_1_one() {
                let _result = super::name(1);
            }
        };
        let tokens = ns_test_after(quote!(test_case, net), item.clone()).to_string();
        assert!(!tokens.contains("prelude :: v1 :: test"), "{tokens}");
        // An async case is registered by its runtime attribute, below.
        let item = quote! {
            #[tokio::test]
            async fn test_case_1_one() {
                let _result = super::name(1).await;
            }
        };
        let tokens = ns_test_after(quote!(test_case), item).to_string();
        assert!(tokens.contains("prelude :: v1 :: test"), "{tokens}");
        // rstest's cases carry their `#[test]`, below.
        let item = quote! {
            #[test]
            fn case_1() {}
        };
        let tokens = ns_test_after(quote!(rstest, pid), item).to_string();
        assert_eq!(
            tokens.matches("prelude :: v1 :: test").count(),
            1,
            "{tokens}"
        );
    }

    #[test]
    fn identity_and_mounts() {
        snapshot(
            "identity_and_mounts",
            quote!(
                mnt,
                uid = 1000,
                gid = 100,
                bind = "fixtures/certs:/etc/certs",
                bind_rw("fixtures/state:/var/lib/app/state"),
                tmpfs = "/var/lib/app",
            ),
            quote! {
                fn name() {}
            },
            below(),
        );
    }

    #[test]
    fn env_limits_and_clocks() {
        snapshot(
            "env_limits_and_clocks",
            quote!(
                net,
                pid,
                time(monotonic = "+30d", boottime = "-1h"),
                env(RUST_LOG = "debug", "APP.MODE" = "test"),
                memory = "64M",
                pids = 64,
                cpu = "50%",
            ),
            quote! {
                fn name() {}
            },
            below(),
        );
    }

    #[test]
    fn network_lab() {
        snapshot(
            "network_lab",
            quote!(net(hosts = 3, delay = "100ms", loss = "5%")),
            quote! {
                fn name() {
                    let lab = ns_test::netlab::lab();
                    assert_eq!(lab.hosts().len(), 3);
                }
            },
            below(),
        );
    }

    #[test]
    fn network_lab_every_option() {
        snapshot(
            "network_lab_every_option",
            quote!(
                mnt,
                net(
                    hosts = 2,
                    delay = "1.5s",
                    jitter = "250us",
                    loss = "0.1%",
                    duplicate = "1%",
                    reorder = "100%",
                    rate = "1.5MBps",
                    queue = 64,
                    seed = 42,
                ),
            ),
            quote! {
                fn name() -> Result<(), String> {
                    Ok(())
                }
            },
            below(),
        );
    }

    #[test]
    fn error_keeps_the_item() {
        let item = quote! {
            #[test]
            fn name() {}
        };
        let tokens = ns_test(quote!(nett, timeout = "0s"), item.clone(), below()).to_string();
        assert!(tokens.starts_with(&item.to_string()), "{tokens}");
        assert_eq!(tokens.matches("compile_error").count(), 2, "{tokens}");
    }

    #[test]
    fn args_and_item_errors_together() {
        let tokens = ns_test(
            quote!(nett),
            quote!(
                async fn name() {}
            ),
            below(),
        )
        .to_string();
        assert!(tokens.contains("unknown namespace"), "{tokens}");
        assert!(tokens.contains("async test functions"), "{tokens}");
    }
}
