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
//!         IntoOutcome::into_outcome(name())
//!     }
//!     static __NS_TEST_SPEC: Spec = Spec { .., ..Spec::DEFAULT };
//!     run(&__NS_TEST_SPEC, __ns_test_body)   // or run_result
//! }
//! ```
//!
//! Every path is absolute (`::ns_test::__private`, `::core`), so the
//! expansion does not depend on what the test module imports.

use proc_macro2::{Ident, Literal, Span, TokenStream};
use quote::{quote, quote_spanned};

use crate::above::Above;
use crate::args::{Args, Namespaces};
use crate::item::{Registration, Returns, TestFn};

/// `#[ns_test(args)] item`, given what the source shows [`Above`] it.
///
/// On any error the item comes back unchanged, followed by one
/// `compile_error!` per problem, so that IDEs and later passes still see the
/// function and no follow-up error is caused by a half-made expansion.
pub(crate) fn ns_test(args: TokenStream, item: TokenStream, above: Above) -> TokenStream {
    match analyse(args, item.clone(), above) {
        Ok((args, test)) => generate(&args, &test),
        Err(error) => {
            let mut tokens = item;
            tokens.extend(error.into_compile_error());
            tokens
        }
    }
}

/// Parses and validates both halves, reporting the errors of both.
fn analyse(args: TokenStream, item: TokenStream, above: Above) -> syn::Result<(Args, TestFn)> {
    match (Args::parse(args), TestFn::analyse(item, above)) {
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

    quote! {
        #register
        #(#libtest_attrs)*
        #vis fn #name() #output {
            #allow_nested_test
            fn __ns_test_body() -> ::ns_test::__private::Outcome {
                #(#attrs)*
                #sig #body
                #into_outcome
            }
            // `..DEFAULT` has no effect today; it is there for fields to come.
            #[allow(clippy::needless_update)]
            static __NS_TEST_SPEC: ::ns_test::__private::Spec = ::ns_test::__private::Spec {
                path: ::core::concat!(::core::module_path!(), "::", ::core::stringify!(#name)),
                namespaces: #namespaces,
                hostname: #hostname,
                timeout_ms: #timeout_ms,
                manifest_dir: ::core::env!("CARGO_MANIFEST_DIR"),
                ..::ns_test::__private::Spec::DEFAULT
            };
            ::ns_test::__private::#run(&__NS_TEST_SPEC, __ns_test_body)
        }
    }
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
            Above { std_test: true },
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
