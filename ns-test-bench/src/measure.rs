//! Running one measured job: a libtest binary over N tests, or N processes
//! of a floor command, at a given number of threads.

use std::ffi::OsString;
use std::path::Path;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

/// What one run of a job gave.
#[derive(Debug, Clone, Default)]
pub struct Run {
    /// Wall-clock time of the whole run.
    pub wall: Duration,
    /// Tests (or processes) that passed.
    pub passed: usize,
    /// Tests (or processes) that failed.
    pub failed: usize,
    /// Mentions of `ENOSPC`/`EUSERS` (namespace limits) in the output.
    pub limit_errors: usize,
    /// The first lines of output of a failed run, for the report.
    pub failure_excerpt: Option<String>,
}

/// The libtest arguments selecting `names` (all tests when `None`).
pub fn filter_args(names: Option<&[String]>) -> Vec<OsString> {
    match names {
        None => Vec::new(),
        Some(names) => std::iter::once(OsString::from("--exact"))
            .chain(names.iter().map(OsString::from))
            .collect(),
    }
}

/// A [`Command`] with the environment libtest reads cleared, so the
/// caller's `RUST_TEST_THREADS`/`RUST_TEST_NOCAPTURE` cannot skew a run.
fn command(program: impl AsRef<std::ffi::OsStr>) -> Command {
    let mut cmd = Command::new(program);
    cmd.env_remove("RUST_TEST_THREADS")
        .env_remove("RUST_TEST_NOCAPTURE")
        .env_remove("NS_TEST_UNSUPPORTED")
        .stdin(Stdio::null());
    cmd
}

/// Counts mentions of namespace-limit errors in libtest output.
pub fn count_limit_errors(output: &str) -> usize {
    [
        "ENOSPC",
        "No space left on device",
        "EUSERS",
        "Too many users",
    ]
    .iter()
    .map(|needle| output.matches(needle).count())
    .sum()
}

/// `(passed, failed)` summed over libtest's `test result:` lines.
pub fn parse_libtest_summary(output: &str) -> Option<(usize, usize)> {
    let mut total = None;
    for line in output.lines() {
        let Some(rest) = line.trim().strip_prefix("test result: ") else {
            continue;
        };
        // "ok. 498 passed; 2 failed; 0 ignored; ..."
        let count = |word: &str| -> Option<usize> {
            rest.split(';').find_map(|part| {
                let mut words = part.split_whitespace().rev();
                (words.next()? == word).then_some(())?;
                words.next()?.parse().ok()
            })
        };
        let (p, f) = (count("passed")?, count("failed")?);
        let (tp, tf) = total.unwrap_or((0, 0));
        total = Some((tp + p, tf + f));
    }
    total
}

/// Starts `binary` over the selected tests at `threads` test threads.
pub fn spawn_libtest(
    binary: &Path,
    threads: usize,
    names: Option<&[String]>,
) -> std::io::Result<std::process::Child> {
    command(binary)
        .arg("-q")
        .arg(format!("--test-threads={threads}"))
        .args(filter_args(names))
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
}

/// Waits for a [`spawn_libtest`] child and reads its verdicts.
pub fn finish_libtest(child: std::process::Child, started: Instant, expected: usize) -> Run {
    let out = match child.wait_with_output() {
        Ok(o) => o,
        Err(e) => {
            return Run {
                wall: started.elapsed(),
                failed: expected,
                failure_excerpt: Some(format!("waiting for the test binary: {e}")),
                ..Run::default()
            }
        }
    };
    let wall = started.elapsed();
    let text = format!(
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    let (passed, failed) = parse_libtest_summary(&text).unwrap_or((0, expected));
    let bad = !out.status.success() || passed != expected;
    Run {
        wall,
        passed,
        failed: if bad {
            failed.max(expected - passed.min(expected))
        } else {
            0
        },
        limit_errors: count_limit_errors(&text),
        failure_excerpt: bad.then(|| excerpt(&text, &out.status)),
    }
}

fn excerpt(text: &str, status: &std::process::ExitStatus) -> String {
    let mut lines: Vec<&str> = text
        .lines()
        .filter(|l| !l.trim().is_empty() && !l.chars().all(|c| c == '.'))
        .take(12)
        .collect();
    let last = format!("(exit: {status})");
    lines.push(&last);
    lines.join("\n")
}

/// Runs `binary` over the selected tests at `threads` test threads.
pub fn run_libtest(
    binary: &Path,
    threads: usize,
    names: Option<&[String]>,
    expected: usize,
) -> Run {
    let started = Instant::now();
    match spawn_libtest(binary, threads, names) {
        Ok(child) => finish_libtest(child, started, expected),
        Err(e) => Run {
            wall: started.elapsed(),
            failed: expected,
            failure_excerpt: Some(format!("starting {}: {e}", binary.display())),
            ..Run::default()
        },
    }
}

/// Runs `argv` to completion `count` times, `workers` at a time, and times
/// the whole batch. Output is discarded; a non-zero exit is a failure.
pub fn run_processes(argv: &[OsString], count: usize, workers: usize) -> Run {
    let workers = workers.clamp(1, count.max(1));
    let started = Instant::now();
    let results: Vec<(usize, usize, Option<String>)> = std::thread::scope(|s| {
        let handles: Vec<_> = (0..workers)
            .map(|w| {
                let share = count / workers + usize::from(w < count % workers);
                s.spawn(move || {
                    let (mut ok, mut bad, mut first_error) = (0, 0, None);
                    for _ in 0..share {
                        let status = command(&argv[0])
                            .args(&argv[1..])
                            .stdout(Stdio::null())
                            .stderr(Stdio::null())
                            .status();
                        match status {
                            Ok(s) if s.success() => ok += 1,
                            other => {
                                bad += 1;
                                first_error.get_or_insert_with(|| format!("{other:?}"));
                            }
                        }
                    }
                    (ok, bad, first_error)
                })
            })
            .collect();
        handles
            .into_iter()
            .map(|h| h.join().unwrap_or((0, 0, Some("worker panicked".into()))))
            .collect()
    });
    let wall = started.elapsed();
    let mut run = Run {
        wall,
        ..Run::default()
    };
    for (ok, bad, err) in results {
        run.passed += ok;
        run.failed += bad;
        if run.failure_excerpt.is_none() {
            run.failure_excerpt = err.map(|e| {
                format!(
                    "{}: {e}",
                    argv.iter()
                        .map(|a| a.to_string_lossy())
                        .collect::<Vec<_>>()
                        .join(" ")
                )
            });
        }
    }
    run
}

/// `(busy, total)` clock ticks of all CPUs, from the `cpu` line of
/// `/proc/stat`.
fn cpu_ticks() -> Option<(u64, u64)> {
    let stat = std::fs::read_to_string("/proc/stat").ok()?;
    let line = stat.lines().next()?.strip_prefix("cpu ")?;
    let v: Vec<u64> = line
        .split_whitespace()
        .filter_map(|x| x.parse().ok())
        .collect();
    let total: u64 = v.iter().take(8).sum();
    let idle = v.get(3)? + v.get(4)?;
    Some((total - idle, total))
}

/// Waits until the machine has been quiet (all CPUs together less than
/// `threshold` busy) for one 200 ms window, or `max` has passed: other
/// work (a build, the kernel still freeing the last job's namespaces)
/// would otherwise be charged to the next job. Returns the busy fraction
/// of the last window.
pub fn wait_until_quiet(threshold: f64, max: Duration) -> f64 {
    let start = Instant::now();
    loop {
        let Some((b0, t0)) = cpu_ticks() else {
            return f64::NAN;
        };
        std::thread::sleep(Duration::from_millis(200));
        let Some((b1, t1)) = cpu_ticks() else {
            return f64::NAN;
        };
        let busy = (b1 - b0) as f64 / (t1 - t0).max(1) as f64;
        if busy < threshold || start.elapsed() >= max {
            return busy;
        }
    }
}

/// The smallest of `values`; `NaN` when empty.
pub fn min(values: &[f64]) -> f64 {
    values.iter().copied().fold(f64::NAN, f64::min)
}

/// The median of `values` (the mean of the middle two for an even count);
/// `NaN` when empty.
pub fn median(values: &[f64]) -> f64 {
    let mut v: Vec<f64> = values.iter().copied().filter(|x| !x.is_nan()).collect();
    if v.is_empty() {
        return f64::NAN;
    }
    v.sort_by(f64::total_cmp);
    let n = v.len();
    if n % 2 == 1 {
        v[n / 2]
    } else {
        (v[n / 2 - 1] + v[n / 2]) / 2.0
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn median_of_odd_and_even_counts() {
        assert_eq!(median(&[3.0, 1.0, 2.0]), 2.0);
        assert_eq!(median(&[4.0, 1.0, 3.0, 2.0]), 2.5);
        assert!(median(&[]).is_nan());
    }

    #[test]
    fn reads_libtest_summary() {
        let out = "running 500 tests\n....\ntest result: ok. 498 passed; 2 failed; 0 ignored; \
                   0 measured; 0 filtered out; finished in 1.20s\n";
        assert_eq!(parse_libtest_summary(out), Some((498, 2)));
        let failed = "test result: FAILED. 1 passed; 3 failed; 0 ignored; 0 measured";
        assert_eq!(parse_libtest_summary(failed), Some((1, 3)));
        assert_eq!(parse_libtest_summary("nothing"), None);
    }

    #[test]
    fn min_ignores_nothing_but_empty() {
        assert_eq!(min(&[3.0, 1.0, 2.0]), 1.0);
        assert!(min(&[]).is_nan());
    }

    #[test]
    fn quiet_wait_returns_a_fraction() {
        let busy = wait_until_quiet(1.1, Duration::ZERO);
        assert!((0.0..=1.0).contains(&busy), "{busy}");
    }

    #[test]
    fn counts_namespace_limit_errors() {
        let out = "creating namespaces: unshare => ENOSPC\nother\nNo space left on device";
        assert_eq!(count_limit_errors(out), 2);
    }

    #[test]
    fn runs_processes_on_workers() {
        let argv = [OsString::from("true")];
        let run = run_processes(&argv, 5, 2);
        assert_eq!((run.passed, run.failed), (5, 0));
        let run = run_processes(&[OsString::from("false")], 3, 4);
        assert_eq!((run.passed, run.failed), (0, 3));
        assert!(run.failure_excerpt.is_some());
    }
}
