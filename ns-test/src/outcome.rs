//! How a test body's result crosses the sandbox boundary.

use std::fmt;

/// What a test body returned (a panic is caught separately).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Outcome {
    /// `()` or `Ok(())`.
    Passed,
    /// `Err(e)`, as `format!("{e:?}")`.
    Failed(String),
}

/// Turns a test fn's return value into an [`Outcome`]: implemented for the
/// return types libtest accepts for tests, `()` and `Result<(), E: Debug>`.
pub trait IntoOutcome {
    /// The outcome.
    fn into_outcome(self) -> Outcome;
}

impl IntoOutcome for () {
    fn into_outcome(self) -> Outcome {
        Outcome::Passed
    }
}

impl<E: fmt::Debug> IntoOutcome for Result<(), E> {
    fn into_outcome(self) -> Outcome {
        match self {
            Ok(()) => Outcome::Passed,
            Err(e) => Outcome::Failed(format!("{e:?}")),
        }
    }
}

/// The error a `Result`-returning test failed with inside the sandbox. Its
/// `Debug` is the original error's `Debug`, so libtest prints
/// `Error: <your error>` exactly as for a plain test.
#[derive(Clone, PartialEq, Eq)]
pub struct Failure(pub String);

impl fmt::Debug for Failure {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

impl fmt::Display for Failure {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

impl std::error::Error for Failure {}
