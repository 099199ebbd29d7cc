//! The function under `#[ns_test]`: what it is, and where each of its
//! attributes goes.
//!
//! The body is never parsed: it is carried as tokens, so it keeps the user's
//! spans exactly and a syntax error inside it is reported by rustc, not by
//! this macro.

use proc_macro2::{Delimiter, Group, Span, TokenStream};
use quote::ToTokens;
use syn::parse::{Parse, ParseStream};
use syn::spanned::Spanned;
use syn::{
    Attribute, FnArg, GenericParam, Meta, Path, ReturnType, Signature, Token, Type, Visibility,
};

use crate::above::{is_test_case_generator, Above};
use crate::diag::Errors;

/// A crate that turns one parametrized function into many tests.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Generator {
    /// `#[rstest]` with `#[case]`, `#[values]` or fixtures.
    Rstest,
    /// `#[test_case(...)]` and `#[test_matrix(...)]`.
    TestCase,
}

impl Generator {
    /// The word that names it in the moved attribute's arguments.
    pub(crate) fn keyword(self) -> &'static str {
        match self {
            Generator::Rstest => "rstest",
            Generator::TestCase => "test_case",
        }
    }

    /// The generator a word names.
    pub(crate) fn from_keyword(word: &str) -> Option<Generator> {
        match word {
            "rstest" => Some(Generator::Rstest),
            "test_case" => Some(Generator::TestCase),
            _ => None,
        }
    }
}

/// What `#[ns_test]` is applied to.
pub(crate) enum Item {
    /// A test function.
    Test(TestFn),
    /// A parametrized function with its generator's attribute below
    /// `#[ns_test]`: the generator must expand first, so `#[ns_test]` moves
    /// below it and then applies to each case the generator makes.
    Generated(Generated),
}

/// A function whose cases a generator below `#[ns_test]` will make.
pub(crate) struct Generated {
    /// Which generator.
    pub(crate) generator: Generator,
    /// Its attribute (`#[rstest]`, the first `#[test_case(..)]`): emitted
    /// first, so it expands before `#[ns_test]`.
    pub(crate) first: Attribute,
    /// The other attributes, in order, that go above `#[ns_test]`.
    pub(crate) before: Vec<Attribute>,
    /// The other attributes, in order, that go below `#[ns_test]`.
    pub(crate) after: Vec<Attribute>,
    /// Visibility, signature and body, unchanged.
    pub(crate) rest: TokenStream,
}

/// A test function, validated, its attributes sorted.
pub(crate) struct TestFn {
    /// `#[should_panic]` and `#[ignore]`: libtest reads them, so they go on
    /// the outer, registered function. With copies of the `#[allow(..)]`s,
    /// which apply to both functions (rstest's case names need
    /// `non_snake_case`).
    pub(crate) libtest_attrs: Vec<Attribute>,
    /// Every other attribute, in order (doc comments, lint levels, a
    /// runtime's `#[tokio::test]`): they stay on the user's function.
    pub(crate) attrs: Vec<Attribute>,
    /// The visibility, kept on the outer function.
    pub(crate) vis: Visibility,
    /// The signature, unchanged.
    pub(crate) sig: Signature,
    /// The body, braces included, unparsed.
    pub(crate) body: Group,
    /// Who registers the test with libtest.
    pub(crate) registration: Registration,
    /// A runtime attribute (`#[tokio::test]`) is kept on the user's function.
    pub(crate) runtime: bool,
    /// What the function returns.
    pub(crate) returns: Returns,
}

/// Who tells libtest about the test.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Registration {
    /// The expansion adds `#[::core::prelude::v1::test]` to the outer
    /// function: no test attribute was written, or a `#[test]` below
    /// `#[ns_test]` was taken off, or a runtime attribute below registers
    /// only a nested (and so never collected) function.
    Expansion,
    /// A `#[test]` above `#[ns_test]`, written there or put there by
    /// test-case for each of its cases, was expanded first and already
    /// registered the function by its name: the expansion adds none.
    Above,
}

/// What the test function returns.
#[derive(Clone, Copy, Debug)]
pub(crate) enum Returns {
    /// Nothing (no return type, or `()`).
    Unit,
    /// `!`: the function never returns.
    Never,
    /// A value, expected to be a `Result<(), E: Debug>`; the span is the
    /// return type's, for errors about it.
    Value(Span),
}

/// How an attribute on the test function is treated.
enum AttrKind {
    /// The built-in `#[test]`: registers the test; taken off.
    StdTest,
    /// A runtime's `#[..::test]` (`#[tokio::test]`): registers the test
    /// and drives its future; kept on the user's function.
    RuntimeTest,
    /// `#[should_panic]` or `#[ignore]`: moved to the outer function.
    Libtest,
    /// `#[ns_test]` again.
    NsTest,
    /// `#[rstest]`: makes a test per case; must expand first.
    Rstest,
    /// `#[test_case(..)]`, `#[test_matrix(..)]` (or `#[case(..)]` from
    /// test-case, without `#[rstest]`): makes a test per case.
    TestCase,
    /// Anything else: kept on the user's function.
    Other,
}

impl AttrKind {
    fn of(attr: &Attribute, rstest: bool) -> AttrKind {
        let path = attr.path();
        let segments: Vec<String> = path.segments.iter().map(|s| s.ident.to_string()).collect();
        let segments: Vec<&str> = segments.iter().map(String::as_str).collect();
        let plain = path.segments.iter().all(|s| s.arguments.is_none());
        let is_word = matches!(attr.meta, Meta::Path(_));
        match segments.as_slice() {
            _ if plain && is_word && is_std_test(path.leading_colon.is_some(), &segments) => {
                AttrKind::StdTest
            }
            [.., "ns_test"] => AttrKind::NsTest,
            [.., "rstest"] => AttrKind::Rstest,
            _ if is_test_case_generator(&segments, rstest) => AttrKind::TestCase,
            [_, .., "test"] => AttrKind::RuntimeTest,
            ["should_panic" | "ignore"] if path.leading_colon.is_none() => AttrKind::Libtest,
            _ => AttrKind::Other,
        }
    }
}

/// Whether a path names the built-in test attribute: `test`, or
/// `core::prelude::*::test` / `std::prelude::*::test` with or without a
/// leading `::` (the same rule as tokio's).
pub(crate) fn is_std_test(leading_colon: bool, segments: &[&str]) -> bool {
    match segments {
        ["test"] => !leading_colon,
        ["core" | "std", "prelude", _, "test"] => true,
        _ => false,
    }
}

/// `tokio::test`, as written, for messages.
fn path_text(path: &Path) -> String {
    let segments: Vec<String> = path.segments.iter().map(|s| s.ident.to_string()).collect();
    let leading = if path.leading_colon.is_some() {
        "::"
    } else {
        ""
    };
    format!("{leading}{}", segments.join("::"))
}

/// The item as written: attributes, visibility, signature, body.
struct ItemFn {
    attrs: Vec<Attribute>,
    vis: Visibility,
    sig: Signature,
    body: Group,
}

impl Parse for ItemFn {
    fn parse(input: ParseStream) -> syn::Result<Self> {
        let attrs = input.call(Attribute::parse_outer)?;
        let vis = input.parse()?;
        if !fn_ahead(input) {
            return Err(input.error("#[ns_test] can only be applied to a function"));
        }
        let sig = input.parse()?;
        let body = match input.parse::<Group>() {
            Ok(body) if body.delimiter() == Delimiter::Brace => body,
            _ => return Err(input.error("expected the function body: a test needs one")),
        };
        if !input.is_empty() {
            return Err(input.error("unexpected tokens after the function"));
        }
        Ok(ItemFn {
            attrs,
            vis,
            sig,
            body,
        })
    }
}

/// Whether a function signature starts here: `fn`, after any of `const`,
/// `async`, `unsafe`, `extern "abi"`.
fn fn_ahead(input: ParseStream) -> bool {
    let fork = input.fork();
    let _ = fork.parse::<Option<Token![const]>>();
    let _ = fork.parse::<Option<Token![async]>>();
    let _ = fork.parse::<Option<Token![unsafe]>>();
    let _ = fork.parse::<Option<syn::Abi>>();
    fork.peek(Token![fn])
}

impl Item {
    /// Parses the item: a test function, or a parametrized function whose
    /// generator's attribute is below `#[ns_test]` (checked no further: each
    /// case is checked when `#[ns_test]` applies to it).
    pub(crate) fn analyse(item: TokenStream, above: Above) -> syn::Result<Item> {
        let item: ItemFn = syn::parse2(item)?;
        let rstest = item
            .attrs
            .iter()
            .any(|a| matches!(AttrKind::of(a, false), AttrKind::Rstest));
        let generator =
            item.attrs
                .iter()
                .enumerate()
                .find_map(|(i, a)| match AttrKind::of(a, rstest) {
                    AttrKind::Rstest => Some((i, Generator::Rstest)),
                    AttrKind::TestCase if !rstest => Some((i, Generator::TestCase)),
                    _ => None,
                });
        let Some((index, generator)) = generator else {
            return TestFn::check(item, above).map(Item::Test);
        };
        let ItemFn {
            mut attrs,
            vis,
            sig,
            body,
        } = item;
        let first = attrs.remove(index);
        // rstest gives the attributes written before a `#[case]` to that
        // case alone, and those after the last one to every case: that is
        // where `#[ns_test]` goes. test-case gives every other attribute to
        // every case.
        let split = match generator {
            Generator::Rstest => attrs
                .iter()
                .rposition(|a| a.path().segments.first().is_some_and(|s| s.ident == "case"))
                .map_or(0, |last_case| last_case + 1),
            Generator::TestCase => 0,
        };
        let after = attrs.split_off(split);
        let mut rest = TokenStream::new();
        vis.to_tokens(&mut rest);
        sig.to_tokens(&mut rest);
        body.to_tokens(&mut rest);
        Ok(Item::Generated(Generated {
            generator,
            first,
            before: attrs,
            after,
            rest,
        }))
    }
}

impl TestFn {
    /// Parses the item and checks it can be a test: a free, non-generic,
    /// parameterless function, registered at most once, async only with a
    /// runtime attribute. Every problem is reported, each at its token.
    #[cfg(test)]
    pub(crate) fn analyse(item: TokenStream, above: Above) -> syn::Result<TestFn> {
        TestFn::check(syn::parse2(item)?, above)
    }

    fn check(item: ItemFn, above: Above) -> syn::Result<TestFn> {
        let ItemFn {
            attrs: all_attrs,
            vis,
            sig,
            body,
        } = item;
        let mut errors = Errors::default();

        // Attributes: who registers the test, what goes where.
        let mut registered_by = above
            .std_test
            .then(|| "the `#[test]` above `#[ns_test]`".to_owned());
        let mut registration_attr = |attr: &Attribute, errors: &mut Errors| {
            let this = format!("`#[{}]`", path_text(attr.path()));
            match &registered_by {
                Some(first) => errors.push(syn::Error::new_spanned(
                    attr,
                    format!("this test is already registered by {first}"),
                )),
                None => registered_by = Some(this),
            }
        };
        let mut attrs = Vec::new();
        let mut libtest_attrs = Vec::new();
        let mut runtime = false;
        for attr in all_attrs {
            match AttrKind::of(&attr, false) {
                AttrKind::StdTest => registration_attr(&attr, &mut errors),
                AttrKind::RuntimeTest => {
                    registration_attr(&attr, &mut errors);
                    runtime = true;
                    attrs.push(attr);
                }
                AttrKind::Libtest => libtest_attrs.push(attr),
                AttrKind::NsTest => errors.push(syn::Error::new_spanned(
                    &attr,
                    "#[ns_test] is applied more than once",
                )),
                AttrKind::Other | AttrKind::Rstest | AttrKind::TestCase => {
                    if attr.path().is_ident("allow") {
                        libtest_attrs.push(attr.clone());
                    }
                    attrs.push(attr);
                }
            }
        }
        // A case test-case made from a sync function: its `#[test]` is above.
        let registered_by_test_case =
            above.test_case && registered_by.is_none() && sig.asyncness.is_none();

        // Signature: what libtest (and the re-executed child) can call.
        if let Some(asyncness) = &sig.asyncness {
            if !runtime {
                errors.at(
                    asyncness.span,
                    "async test functions need a runtime attribute below #[ns_test], e.g. #[tokio::test]",
                );
            }
        }
        if let Some(unsafety) = &sig.unsafety {
            errors.at(unsafety.span, "unsafe functions cannot be used as tests");
        }
        for param in &sig.generics.params {
            match param {
                GenericParam::Lifetime(_) => {}
                GenericParam::Type(_) | GenericParam::Const(_) => errors.push(
                    syn::Error::new_spanned(param, "test functions cannot be generic"),
                ),
            }
        }
        for input in &sig.inputs {
            match input {
                FnArg::Receiver(receiver) => errors.push(syn::Error::new_spanned(
                    receiver,
                    "`self` receivers are not allowed: a test is a free function, not a method",
                )),
                FnArg::Typed(param) => errors.push(syn::Error::new_spanned(
                    param,
                    "test functions take no parameters; for one test per case, add \
                     `#[rstest]` with `#[case(..)]`, or `#[test_case(..)]`, above or below #[ns_test]",
                )),
            }
        }
        if let Some(variadic) = &sig.variadic {
            errors.push(syn::Error::new_spanned(
                variadic,
                "test functions take no parameters",
            ));
        }

        let registration = if above.std_test || registered_by_test_case {
            Registration::Above
        } else {
            Registration::Expansion
        };
        let returns = match &sig.output {
            ReturnType::Default => Returns::Unit,
            ReturnType::Type(_, ty) => match &**ty {
                Type::Tuple(tuple) if tuple.elems.is_empty() => Returns::Unit,
                Type::Never(_) => Returns::Never,
                ty => Returns::Value(ty.span()),
            },
        };
        errors.finish(TestFn {
            libtest_attrs,
            attrs,
            vis,
            sig,
            body,
            registration,
            runtime,
            returns,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use quote::quote;

    fn analyse(item: TokenStream) -> Result<TestFn, Vec<String>> {
        analyse_with(item, Above::default())
    }

    fn analyse_with(item: TokenStream, above: Above) -> Result<TestFn, Vec<String>> {
        TestFn::analyse(item, above).map_err(|e| e.into_iter().map(|e| e.to_string()).collect())
    }

    fn errors(item: TokenStream) -> Vec<String> {
        match analyse(item) {
            Ok(_) => panic!("expected errors"),
            Err(errors) => errors,
        }
    }

    fn names(attrs: &[Attribute]) -> Vec<String> {
        attrs.iter().map(|a| path_text(a.path())).collect()
    }

    #[test]
    fn std_test_paths() {
        assert!(is_std_test(false, &["test"]));
        assert!(!is_std_test(true, &["test"]));
        assert!(is_std_test(true, &["core", "prelude", "v1", "test"]));
        assert!(is_std_test(false, &["std", "prelude", "rust_2021", "test"]));
        assert!(!is_std_test(false, &["tokio", "test"]));
        assert!(!is_std_test(false, &["alloc", "prelude", "v1", "test"]));
    }

    #[test]
    fn attributes_are_sorted() {
        let test = analyse(quote! {
            /// Docs.
            #[test]
            #[should_panic(expected = "boom")]
            #[allow(unused)]
            #[ignore = "slow"]
            fn name() {}
        })
        .unwrap_or_else(|e| panic!("{e:?}"));
        assert_eq!(names(&test.attrs), ["doc", "allow"]);
        assert_eq!(
            names(&test.libtest_attrs),
            ["should_panic", "allow", "ignore"]
        );
        assert_eq!(test.registration, Registration::Expansion);
        assert!(!test.runtime);
        assert!(matches!(test.returns, Returns::Unit));
    }

    #[test]
    fn runtime_attribute_stays() {
        let test = analyse(quote! {
            #[tokio::test(flavor = "multi_thread")]
            async fn name() -> Result<(), String> { Ok(()) }
        })
        .unwrap_or_else(|e| panic!("{e:?}"));
        assert_eq!(names(&test.attrs), ["tokio::test"]);
        assert!(test.runtime);
        assert!(matches!(test.returns, Returns::Value(_)));
    }

    #[test]
    fn test_above_is_not_registered_again() {
        let test = analyse_with(
            quote!(
                fn name() {}
            ),
            Above {
                std_test: true,
                ..Above::default()
            },
        )
        .unwrap_or_else(|e| panic!("{e:?}"));
        assert_eq!(test.registration, Registration::Above);
        assert_eq!(
            analyse_with(
                quote!(
                    #[test]
                    fn name() {}
                ),
                Above {
                    std_test: true,
                    ..Above::default()
                }
            )
            .err()
            .unwrap_or_default(),
            ["this test is already registered by the `#[test]` above `#[ns_test]`"]
        );
    }

    #[test]
    fn registered_at_most_once() {
        assert_eq!(
            errors(quote!(
                #[test]
                #[::core::prelude::v1::test]
                fn name() {}
            )),
            ["this test is already registered by `#[test]`"]
        );
        assert_eq!(
            errors(quote!(
                #[tokio::test]
                #[test]
                async fn name() {}
            )),
            ["this test is already registered by `#[tokio::test]`"]
        );
    }

    #[test]
    fn return_types() {
        for item in [
            quote!(
                fn name() {}
            ),
            quote!(
                fn name() -> () {}
            ),
        ] {
            let test = analyse(item).unwrap_or_else(|e| panic!("{e:?}"));
            assert!(matches!(test.returns, Returns::Unit));
        }
        let test = analyse(quote!(
            fn name() -> ! {
                loop {}
            }
        ))
        .unwrap_or_else(|e| panic!("{e:?}"));
        assert!(matches!(test.returns, Returns::Never));
        let test = analyse(quote!(
            fn name() -> std::io::Result<()> {
                Ok(())
            }
        ))
        .unwrap_or_else(|e| panic!("{e:?}"));
        assert!(matches!(test.returns, Returns::Value(_)));
    }

    #[test]
    fn not_a_function() {
        assert_eq!(
            errors(quote!(
                struct Name;
            )),
            ["#[ns_test] can only be applied to a function"]
        );
        assert_eq!(
            errors(quote!(
                const NAME: u8 = 0;
            )),
            ["#[ns_test] can only be applied to a function"]
        );
        assert_eq!(
            errors(quote!(
                fn name();
            )),
            ["expected the function body: a test needs one"]
        );
    }

    #[test]
    fn qualifiers_are_functions() {
        assert!(analyse(quote!(
            const fn name() {}
        ))
        .is_ok());
        assert!(analyse(quote!(
            extern "C" fn name() {}
        ))
        .is_ok());
        assert!(analyse(quote!(
            pub(crate) fn name<'a>() {}
        ))
        .is_ok());
    }

    #[test]
    fn every_signature_problem_is_reported() {
        assert_eq!(
            errors(quote! {
                #[ns_test]
                async unsafe fn name<T, const N: usize>(&self, a: T) {}
            }),
            [
                "#[ns_test] is applied more than once",
                "async test functions need a runtime attribute below #[ns_test], e.g. #[tokio::test]",
                "unsafe functions cannot be used as tests",
                "test functions cannot be generic",
                "test functions cannot be generic",
                "`self` receivers are not allowed: a test is a free function, not a method",
                "test functions take no parameters; for one test per case, add `#[rstest]` \
                 with `#[case(..)]`, or `#[test_case(..)]`, above or below #[ns_test]",
            ]
        );
    }
}
