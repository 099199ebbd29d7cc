//! Compile errors, one file per message under `ui/fail` with the expected
//! output beside it (`TRYBUILD=overwrite` regenerates it: read the diff), and
//! inputs that must be accepted under `ui/pass`.
//!
//! trybuild compiles without `--test`, where `#[test]` functions are removed
//! before type checking: these tests show what the macro accepts and
//! rejects. `registration.rs` compiles the expansions as tests.

#[test]
fn ui() {
    let cases = trybuild::TestCases::new();
    cases.compile_fail("tests/ui/fail/*.rs");
    cases.pass("tests/ui/pass/*.rs");
}
