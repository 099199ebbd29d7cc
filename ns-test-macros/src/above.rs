//! Seeing a `#[test]` written *above* `#[ns_test]`.
//!
//! Attribute macros expand top-down. When the built-in `#[test]` comes
//! first, rustc registers the function there and then (a hidden, hygienic
//! `const` carrying `#[rustc_test_marker]`, which calls the function by
//! name) and hands `#[ns_test]` the rest of the item with no trace of it in
//! the tokens: the only attribute it adds is an internal trace that proc
//! macros never see. Emitting another `#[test]` would register the test
//! twice (`cargo test -- --list` shows it twice, and it runs twice).
//!
//! test-case's `#[test_case(...)]` does the same one step removed: it
//! copies `#[ns_test]` onto each case function it generates and puts a
//! `#[test]` *above* it, so that `#[test]` is never in the tokens either.
//!
//! The one place the `#[test]` can still be seen is the source file itself,
//! so this module reads it back: it finds the attribute being expanded at
//! the call site's line and column, checks that the text there is that
//! attribute, and looks at the attributes written immediately before it.
//! Whenever anything is uncertain (no file on disk, a remapped path, a
//! toolchain without span locations, text that does not match, an attribute
//! produced by another macro) the answer is "no `#[test]` above", which
//! keeps the test registered by the expansion.

use std::path::Path;

use proc_macro2::Span;

use crate::item::is_std_test;

/// What the source around `#[ns_test]` shows that its tokens do not.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub(crate) struct Above {
    /// The built-in `#[test]` is written above `#[ns_test]`, so it has been
    /// expanded and has registered the function already.
    pub(crate) std_test: bool,
    /// test-case's `#[test_case(...)]` (or `#[test_matrix(...)]`) is
    /// written above `#[ns_test]`: the function being expanded is one of its
    /// cases, which it registers with a `#[test]` above `#[ns_test]` unless
    /// the case is `async` (then a runtime attribute below registers it).
    pub(crate) test_case: bool,
}

impl Above {
    /// Looks at the source around the attribute being expanded. Only
    /// meaningful inside a procedural macro invocation.
    pub(crate) fn call_site() -> Above {
        above_at(Span::call_site()).unwrap_or_default()
    }

    /// What the attributes written above `#[ns_test]`, nearest first, say.
    fn of(attrs: &[Option<Attr<'_>>]) -> Above {
        let paths: Vec<&Attr<'_>> = attrs.iter().flatten().collect();
        let rstest = paths.iter().any(|a| a.segments.last() == Some(&"rstest"));
        Above {
            std_test: paths
                .iter()
                .any(|a| a.bare && is_std_test(a.leading_colon, &a.segments)),
            test_case: paths
                .iter()
                .any(|a| is_test_case_generator(&a.segments, rstest)),
        }
    }
}

/// Whether an attribute path names test-case's case generators. A bare
/// `#[case]` is test-case's (`use test_case::case`) unless `#[rstest]` is
/// there too: then it is rstest's.
pub(crate) fn is_test_case_generator(segments: &[&str], rstest: bool) -> bool {
    match segments {
        ["test_case" | "test_matrix"] => true,
        ["test_case", "test_case" | "case" | "test_matrix"] => true,
        ["case"] => !rstest,
        _ => false,
    }
}

/// What the attributes written immediately before `span` say; `None` when
/// they cannot be known.
fn above_at(span: Span) -> Option<Above> {
    let text = span.source_text()?;
    let start = span.start();
    if start.line == 0 {
        // Span locations are not available on this toolchain.
        return None;
    }
    let source = read(&span.local_file()?)?;
    let offset = offset_of(&source, start.line, start.column)?;
    if !source.get(offset..)?.starts_with(&text) {
        return None;
    }
    Some(Above::of(&attribute_paths_before(&source[..offset])))
}

fn read(path: &Path) -> Option<String> {
    std::fs::read_to_string(path).ok()
}

/// The byte offset of a 1-based line and a 0-based column counted in
/// characters, as `proc_macro2::LineColumn` gives them.
fn offset_of(source: &str, line: usize, column: usize) -> Option<usize> {
    let line_start = if line == 1 {
        0
    } else {
        source.match_indices('\n').nth(line - 2)?.0 + 1
    };
    let rest = source.get(line_start..)?;
    match rest.char_indices().nth(column) {
        Some((offset, _)) => Some(line_start + offset),
        None if rest.chars().count() == column => Some(source.len()),
        None => None,
    }
}

/// An attribute as written: its path, and whether that is all of it.
#[derive(Clone, Debug, PartialEq, Eq)]
struct Attr<'a> {
    /// Written with a leading `::`.
    leading_colon: bool,
    /// The path's segments.
    segments: Vec<&'a str>,
    /// Nothing follows the path (`#[test]`, not `#[test_case(1)]`).
    bare: bool,
}

/// The outer attributes written immediately before the end of `prefix`,
/// nearest first: `Some(attr)` when it starts with a path (`#[test]`,
/// `#[test_case(1)]`), `None` otherwise. Comments, doc comments and
/// whitespace between them are skipped.
fn attribute_paths_before(prefix: &str) -> Vec<Option<Attr<'_>>> {
    let tokens = lex(prefix);
    let mut paths = Vec::new();
    let mut end = tokens.len();
    while end > 0 && tokens[end - 1] == Token::Punct(']') {
        let Some(open) = matching_open(&tokens[..end]) else {
            break;
        };
        // `#[...]`; an inner `#![...]` belongs to the enclosing module.
        if open == 0 || tokens[open - 1] != Token::Punct('#') {
            break;
        }
        paths.push(path_of(&tokens[open + 1..end - 1]));
        end = open - 1;
    }
    paths
}

/// The index of the bracket opening the group that ends `tokens`.
fn matching_open(tokens: &[Token<'_>]) -> Option<usize> {
    let mut depth = 0usize;
    for (index, token) in tokens.iter().enumerate().rev() {
        match token {
            Token::Punct(']' | ')' | '}') => depth += 1,
            Token::Punct('[' | '(' | '{') => {
                depth = depth.checked_sub(1)?;
                if depth == 0 {
                    return Some(index);
                }
            }
            _ => {}
        }
    }
    None
}

/// `[::]segment(::segment)*`, then anything (`(...)`, `= ...`), or `None`.
fn path_of<'a>(tokens: &[Token<'a>]) -> Option<Attr<'a>> {
    let (leading_colon, mut rest) = match tokens {
        [Token::Punct(':'), Token::Punct(':'), rest @ ..] => (true, rest),
        _ => (false, tokens),
    };
    let mut segments = Vec::new();
    loop {
        match rest {
            [Token::Word(word), tail @ ..] => {
                segments.push(*word);
                rest = tail;
            }
            _ => return None,
        }
        match rest {
            [Token::Punct(':'), Token::Punct(':'), tail @ ..] => rest = tail,
            [] | [Token::Punct('(' | '[' | '{' | '='), ..] => {
                return Some(Attr {
                    leading_colon,
                    segments,
                    bare: rest.is_empty(),
                })
            }
            _ => return None,
        }
    }
}

/// Just enough of Rust's lexical grammar to walk back over attributes:
/// words, single punctuation characters (brackets included) and literals,
/// with comments and whitespace dropped.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Token<'a> {
    /// An identifier or keyword (raw identifiers without their `r#`).
    Word(&'a str),
    /// One punctuation character.
    Punct(char),
    /// A string, character or number literal.
    Literal,
}

fn lex(source: &str) -> Vec<Token<'_>> {
    let bytes = source.as_bytes();
    let at = |i: usize| bytes.get(i).copied().unwrap_or(0);
    let mut tokens = Vec::new();
    let mut i = 0;
    while i < bytes.len() {
        let c = bytes[i];
        match c {
            _ if c.is_ascii_whitespace() => i += 1,
            b'/' if at(i + 1) == b'/' => {
                i = source[i..].find('\n').map_or(bytes.len(), |n| i + n);
            }
            b'/' if at(i + 1) == b'*' => i = skip_block_comment(bytes, i),
            b'"' => {
                i = skip_quoted(bytes, i + 1, b'"');
                tokens.push(Token::Literal);
            }
            b'\'' => {
                // A character literal, or the tick of a lifetime or label.
                let next = source[i + 1..].chars().next().map_or(0, char::len_utf8);
                if at(i + 1) == b'\\' {
                    i = skip_quoted(bytes, i + 1, b'\'');
                    tokens.push(Token::Literal);
                } else if next > 0 && at(i + 1 + next) == b'\'' {
                    i += next + 2;
                    tokens.push(Token::Literal);
                } else {
                    i += 1;
                    tokens.push(Token::Punct('\''));
                }
            }
            b'0'..=b'9' => {
                i += 1;
                while is_word_byte(at(i)) || (at(i) == b'.' && at(i + 1).is_ascii_digit()) {
                    i += 1;
                }
                tokens.push(Token::Literal);
            }
            _ if is_word_byte(c) => {
                let start = i;
                while is_word_byte(at(i)) {
                    i += 1;
                }
                let word = &source[start..i];
                let hashes = bytes[i..].iter().take_while(|b| **b == b'#').count();
                match word {
                    "r" | "br" | "cr" if at(i + hashes) == b'"' => {
                        i = skip_raw_string(bytes, i + hashes + 1, hashes);
                        tokens.push(Token::Literal);
                    }
                    "b" | "c" if at(i) == b'"' => {
                        i = skip_quoted(bytes, i + 1, b'"');
                        tokens.push(Token::Literal);
                    }
                    "b" if at(i) == b'\'' => {
                        i = skip_quoted(bytes, i + 1, b'\'');
                        tokens.push(Token::Literal);
                    }
                    "r" if hashes == 1 && is_word_byte(at(i + 1)) => {
                        // A raw identifier: the word after `r#`.
                        let start = i + 1;
                        i = start;
                        while is_word_byte(at(i)) {
                            i += 1;
                        }
                        tokens.push(Token::Word(&source[start..i]));
                    }
                    _ => tokens.push(Token::Word(word)),
                }
            }
            _ => {
                i += 1;
                tokens.push(Token::Punct(char::from(c)));
            }
        }
    }
    tokens
}

/// Identifier characters; every byte of a non-ASCII character counts, so
/// words always end on a character boundary.
fn is_word_byte(b: u8) -> bool {
    b.is_ascii_alphanumeric() || b == b'_' || b >= 0x80
}

/// Skips `/* ... */` (nested) starting at its `/`; returns the index after.
fn skip_block_comment(bytes: &[u8], mut i: usize) -> usize {
    let mut depth = 0usize;
    while i < bytes.len() {
        match (bytes[i], bytes.get(i + 1).copied()) {
            (b'/', Some(b'*')) => {
                depth += 1;
                i += 2;
            }
            (b'*', Some(b'/')) => {
                depth -= 1;
                i += 2;
                if depth == 0 {
                    return i;
                }
            }
            _ => i += 1,
        }
    }
    bytes.len()
}

/// Skips to after the closing `quote`, honouring backslash escapes; `i` is
/// just after the opening quote.
fn skip_quoted(bytes: &[u8], mut i: usize, quote: u8) -> usize {
    while i < bytes.len() {
        match bytes[i] {
            b'\\' => i += 2,
            b if b == quote => return i + 1,
            _ => i += 1,
        }
    }
    bytes.len()
}

/// Skips to after `"` followed by `hashes` `#`; `i` is just after the
/// opening `"`.
fn skip_raw_string(bytes: &[u8], mut i: usize, hashes: usize) -> usize {
    while i < bytes.len() {
        if bytes[i] == b'"'
            && bytes[i + 1..]
                .iter()
                .take(hashes)
                .filter(|b| **b == b'#')
                .count()
                == hashes
        {
            return i + 1 + hashes;
        }
        i += 1;
    }
    bytes.len()
}

#[cfg(test)]
mod tests {
    use super::*;

    /// What the attributes right before the last `#[ns_test` in `source`
    /// say.
    fn above(source: &str) -> Above {
        let offset = source.rfind("#[ns_test").expect("marker");
        Above::of(&attribute_paths_before(&source[..offset]))
    }

    /// Whether a std `#[test]` is written right before the last
    /// `#[ns_test` in `source`.
    fn test_above(source: &str) -> bool {
        above(source).std_test
    }

    #[test]
    fn finds_test_case_above() {
        for source in [
            "#[test_case(1)]\n#[ns_test]\nfn f(x: u8) {}",
            "#[test_case(1 => 2; \"one\")]\n#[test_case(2)]\n#[ns_test(net)]",
            "#[test_case::test_case(1)]\n#[ns_test]",
            "#[::test_case::case(1)]\n#[ns_test]",
            "#[case(1)]\n#[ns_test]",
            "#[test_matrix([1, 2], [3])]\n#[ns_test]",
        ] {
            assert_eq!(
                above(source),
                Above {
                    std_test: false,
                    test_case: true
                },
                "{source}"
            );
        }
        for source in [
            "#[rstest]\n#[case(1)]\n#[ns_test]",
            "#[rstest::rstest]\n#[case::one(1)]\n#[ns_test]",
            "#[test]\n#[ns_test]",
            "#[test_case]\nfn g() {}\n#[ns_test]",
            "#[tokio::test]\n#[ns_test]",
        ] {
            assert!(!above(source).test_case, "{source}");
        }
    }

    #[test]
    fn finds_test_directly_above() {
        assert!(test_above("#[test]\n#[ns_test]\nfn f() {}"));
        assert!(test_above("#[test] #[ns_test(net)] fn f() {}"));
        assert!(test_above("#[::core::prelude::v1::test]\n#[ns_test]"));
        assert!(test_above("#[std::prelude::rust_2021::test]\n#[ns_test]"));
    }

    #[test]
    fn looks_past_other_attributes_and_comments() {
        let source = r#"
            /// Doc comment with a ] and a " in it.
            #[test]
            // a comment ]
            #[should_panic(expected = "a ] in a string")]
            /* block /* nested */ ] */
            #[ignore]
            #[cfg_attr(miri, ignore)]
            #[ns_test]
            fn f() {}
        "#;
        assert!(test_above(source));
    }

    #[test]
    fn no_test_above() {
        assert!(!test_above("#[ns_test]\n#[test]\nfn f() {}"));
        assert!(!test_above("#[tokio::test]\n#[ns_test]\nasync fn f() {}"));
        assert!(!test_above("#[::test]\n#[ns_test]\nfn f() {}"));
        assert!(!test_above("#[test(x)]\n#[ns_test]\nfn f() {}"));
    }

    #[test]
    fn stops_at_the_previous_item() {
        assert!(!test_above("#[test]\nfn g() {}\n#[ns_test]\nfn f() {}"));
        assert!(!test_above("#[test]\nconst X: [u8; 1] = [0];\n#[ns_test]"));
        assert!(!test_above("#![test]\n#[ns_test]\nfn f() {}"));
        assert!(!test_above("let x = v[test]; #[ns_test]"));
    }

    #[test]
    fn literals_do_not_confuse_the_lexer() {
        let source = r##"
            const A: &str = r#"#[ns_test] "quoted" ]"#;
            const B: char = '"';
            const C: char = '\'';
            const D: &[u8] = b"]\"[";
            fn g<'a>(x: &'a str) -> &'a str { 'outer: loop { break 'outer x; } }
            const E: f64 = 1.5e3 + 0x1F as f64;
            const F: u8 = b'[';
            const r#G: &str = "é]";
            #[test]
            #[ns_test]
            fn f() {}
        "##;
        assert!(test_above(source));
        assert_eq!(
            lex(r#"r#type 'a' 'b "s" 1..2"#),
            [
                Token::Word("type"),
                Token::Literal,
                Token::Punct('\''),
                Token::Word("b"),
                Token::Literal,
                Token::Literal,
                Token::Punct('.'),
                Token::Punct('.'),
                Token::Literal,
            ]
        );
    }

    #[test]
    fn offsets_count_characters() {
        let source = "ab\n\u{e9}\u{e9}#[ns_test]\n";
        let offset = offset_of(source, 2, 2).expect("in range");
        assert!(source[offset..].starts_with("#[ns_test]"));
        assert_eq!(offset_of(source, 1, 0), Some(0));
        assert_eq!(offset_of(source, 9, 0), None);
    }
}
