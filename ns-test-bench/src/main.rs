//! `ns-test-bench`: what a sandbox per test costs.
//!
//! ```text
//! cargo run -p ns-test-bench --release -- [--tests 500] [--rounds 3]
//!     [--threads 1,2] [--samples 100] [--quiet 0.10] [--no-burst] [--no-steps]
//! ```
//!
//! Builds five test binaries of 500 trivial tests each (plain `#[test]`,
//! `#[ns_test(user)]`, `#[ns_test(net)]`, `#[ns_test]`, and rusty-fork's
//! `rusty_fork_test!`), then runs them and three floors — the plain
//! binary run once per test (`<plain> --exact T`), under `unshare -Urn`,
//! and under `unshare -Urnmpiuf -C --mount-proc` — interleaved
//! (round-robin over variants, `--rounds` times, median kept), at each
//! thread count. It prints milliseconds per test, the ratios issue 5 sets
//! targets for, a burst of 4 × `--tests` sandboxed tests run at once, and
//! the cost of each step measured from outside the runtime. It asserts
//! nothing about time: it prints.

mod build;
mod measure;
mod probe;
mod report;
mod steps;

use std::collections::BTreeMap;
use std::ffi::OsString;
use std::path::PathBuf;
use std::process::ExitCode;
use std::time::{Duration, Instant};

use measure::{median, Run};

/// Command-line options.
#[derive(Debug, Clone)]
struct Options {
    tests: usize,
    rounds: usize,
    threads: Vec<usize>,
    samples: usize,
    burst: bool,
    steps: bool,
    /// Wait for the machine to be this idle before each job (0 = no wait).
    quiet: f64,
}

const USAGE: &str = "\
usage: ns-test-bench [--tests N] [--rounds R] [--threads 1,2] [--samples K]
                     [--quiet F] [--no-burst] [--no-steps]

  --tests N     tests per variant, at most 500 (default 500)
  --rounds R    interleaved rounds; the median is reported (default 3)
  --threads L   libtest --test-threads values, comma-separated (default 1,2)
  --samples K   samples per step measurement (default 100)
  --quiet F     before each job, wait (up to 20 s) until all CPUs together
                are less than this fraction busy (default 0.10; 0 = no wait)
  --no-burst    skip the burst of 4 x N sandboxed tests
  --no-steps    skip the per-step measurements";

fn parse_options(args: &[String]) -> Result<Options, String> {
    let mut o = Options {
        tests: 500,
        rounds: 3,
        threads: vec![1, 2],
        samples: 100,
        burst: true,
        steps: true,
        quiet: 0.10,
    };
    let mut it = args.iter();
    while let Some(a) = it.next() {
        let mut value = |name: &str| {
            it.next()
                .cloned()
                .ok_or_else(|| format!("{name} needs a value"))
        };
        let number = |name: &str, v: String| -> Result<usize, String> {
            v.parse()
                .ok()
                .filter(|n| *n > 0)
                .ok_or_else(|| format!("{name}: expected a positive number, got `{v}`"))
        };
        match a.as_str() {
            "--tests" => o.tests = number("--tests", value("--tests")?)?,
            "--rounds" => o.rounds = number("--rounds", value("--rounds")?)?,
            "--samples" => o.samples = number("--samples", value("--samples")?)?,
            "--threads" => {
                o.threads = value("--threads")?
                    .split(',')
                    .map(|t| number("--threads", t.trim().to_string()))
                    .collect::<Result<_, _>>()?;
            }
            "--quiet" => {
                let v = value("--quiet")?;
                o.quiet = v
                    .parse::<f64>()
                    .ok()
                    .filter(|q| (0.0..=1.0).contains(q))
                    .ok_or_else(|| format!("--quiet: expected a fraction 0..1, got `{v}`"))?;
            }
            "--no-burst" => o.burst = false,
            "--no-steps" => o.steps = false,
            "-h" | "--help" => return Err(USAGE.to_string()),
            other => return Err(format!("unknown argument `{other}`\n{USAGE}")),
        }
    }
    if o.tests > 500 {
        return Err("--tests: the test binaries hold 500 tests each".into());
    }
    Ok(o)
}

/// How one measured variant is run.
#[derive(Debug, Clone)]
enum How {
    /// This libtest binary over the selected tests.
    Libtest(PathBuf),
    /// This command once per test.
    Processes(Vec<OsString>),
}

/// A row of the table.
#[derive(Debug, Clone)]
struct Variant {
    key: &'static str,
    label: &'static str,
    how: How,
}

fn variants(bins: &BTreeMap<String, PathBuf>, one_test: &str) -> Vec<Variant> {
    let lib = |key: &'static str, label: &'static str| Variant {
        key,
        label,
        how: How::Libtest(bins[key].clone()),
    };
    let plain = bins["plain"].clone().into_os_string();
    let once = |key: &'static str, label: &'static str, prefix: &[&str]| {
        let mut argv: Vec<OsString> = prefix.iter().map(OsString::from).collect();
        argv.push(plain.clone());
        argv.extend(["--exact".into(), one_test.into()]);
        Variant {
            key,
            label,
            how: How::Processes(argv),
        }
    };
    vec![
        lib("plain", "plain `#[test]`"),
        lib("rusty_fork", "rusty-fork `rusty_fork_test!`"),
        lib("ns_user", "`#[ns_test(user)]`"),
        lib("ns_net", "`#[ns_test(net)]`"),
        lib("ns_all", "`#[ns_test]` (all)"),
        once("exec", "floor: `<plain> --exact T` (exec)", &[]),
        once(
            "unshare_urn",
            "floor: `unshare -Urn <plain> --exact T`",
            &["unshare", "-Urn"],
        ),
        once(
            "unshare_all",
            "floor: `unshare -Urnmpiuf -C --mount-proc <plain> ...`",
            &["unshare", "-Urnmpiuf", "-C", "--mount-proc"],
        ),
    ]
}

fn run_variant(v: &Variant, threads: usize, names: Option<&[String]>, n: usize) -> Run {
    match &v.how {
        How::Libtest(bin) => measure::run_libtest(bin, threads, names, n),
        How::Processes(argv) => measure::run_processes(argv, n, threads),
    }
}

fn load_average() -> String {
    std::fs::read_to_string("/proc/loadavg")
        .map(|s| s.split_whitespace().take(3).collect::<Vec<_>>().join(" "))
        .unwrap_or_else(|_| "?".into())
}

fn main() -> ExitCode {
    let args: Vec<String> = std::env::args().skip(1).collect();
    // Probe processes: this program re-executed for one measurement.
    match args.first().map(String::as_str) {
        Some("__probe-unshare") => {
            return probe_exit(probe::probe_unshare(args.get(1).map_or("", |s| s)))
        }
        Some("__probe-teardown") => {
            let reps = args.get(2).and_then(|r| r.parse().ok()).unwrap_or(20);
            return probe_exit(probe::probe_teardown(args.get(1).map_or("", |s| s), reps));
        }
        _ => {}
    }
    let opts = match parse_options(&args) {
        Ok(o) => o,
        Err(e) => {
            eprintln!("{e}");
            return ExitCode::from(2);
        }
    };
    match bench(&opts) {
        Ok(true) => ExitCode::SUCCESS,
        Ok(false) => ExitCode::from(1),
        Err(e) => {
            eprintln!("ns-test-bench: {e}");
            ExitCode::from(2)
        }
    }
}

fn probe_exit(r: Result<String, String>) -> ExitCode {
    match r {
        Ok(out) => {
            println!("{out}");
            ExitCode::SUCCESS
        }
        Err(e) => {
            eprintln!("{e}");
            ExitCode::from(1)
        }
    }
}

/// Runs everything and prints the report; `Ok(false)` when a run failed.
fn bench(o: &Options) -> Result<bool, String> {
    let load_before = load_average();
    eprintln!("building the test binaries (release)...");
    let bins = build::build_test_binaries()?;
    let all_names = build::list_tests(&bins["plain"])?;
    for (target, bin) in &bins {
        let n = build::list_tests(bin)?.len();
        if n < o.tests {
            return Err(format!(
                "{target} has {n} tests, fewer than --tests {}",
                o.tests
            ));
        }
    }
    let names: Option<Vec<String>> = (o.tests < all_names.len()).then(|| {
        let mut v = all_names.clone();
        v.sort();
        v.truncate(o.tests);
        v
    });
    let one_test = all_names
        .first()
        .ok_or("the plain binary lists no test")?
        .clone();
    let variants = variants(&bins, &one_test);

    // (variant index, threads) → per-round ms per test.
    let mut jobs: Vec<(usize, usize)> = Vec::new();
    for &t in &o.threads {
        for i in 0..variants.len() {
            jobs.push((i, t));
        }
    }
    let mut per_test: BTreeMap<(usize, usize), Vec<f64>> = BTreeMap::new();
    let mut failures: Vec<String> = Vec::new();
    let mut noisy_starts = 0;
    let started = Instant::now();
    for round in 0..o.rounds {
        // Round-robin, starting one job later each round, so slow drift of
        // the machine does not favour any one variant.
        let mut order = jobs.clone();
        order.rotate_left(round * jobs.len() / o.rounds.max(1));
        for (i, t) in order {
            let v = &variants[i];
            if o.quiet > 0.0 {
                let busy = measure::wait_until_quiet(o.quiet, Duration::from_secs(20));
                if busy >= o.quiet {
                    noisy_starts += 1;
                }
            }
            eprint!(
                "round {}/{}: {:<60} threads={t} ... ",
                round + 1,
                o.rounds,
                v.label
            );
            let run = run_variant(v, t, names.as_deref(), o.tests);
            let ms = run.wall.as_secs_f64() * 1e3 / o.tests as f64;
            eprintln!("{ms:.3} ms/test");
            if run.failed > 0 || run.passed != o.tests {
                failures.push(format!(
                    "{} threads={t}: {} passed, {} failed\n{}",
                    v.key,
                    run.passed,
                    run.failed,
                    run.failure_excerpt.unwrap_or_default()
                ));
            }
            per_test.entry((i, t)).or_default().push(ms);
        }
    }
    let matrix_secs = started.elapsed().as_secs_f64();

    let burst = if o.burst {
        eprintln!("burst: 4 x {} sandboxed tests at once...", o.tests);
        if o.quiet > 0.0 {
            measure::wait_until_quiet(o.quiet, Duration::from_secs(20));
        }
        Some(run_burst(&bins, o.tests, names.as_deref()))
    } else {
        None
    };

    let steps = if o.steps {
        eprintln!("steps: probes, teardown, Sandbox per namespace...");
        Some(report::Steps {
            unshare: steps::unshare_costs(o.samples)?,
            teardown: steps::teardown_latencies(o.samples.min(50)),
            sandbox: steps::sandbox_costs(o.samples)?,
        })
    } else {
        None
    };

    let rows: Vec<report::Row> = variants
        .iter()
        .enumerate()
        .map(|(i, v)| report::Row {
            key: v.key,
            label: v.label,
            ms: o
                .threads
                .iter()
                .map(|t| {
                    let runs = per_test.get(&(i, *t)).cloned().unwrap_or_default();
                    (*t, median(&runs), runs)
                })
                .collect(),
        })
        .collect();
    let load_after = load_average();
    report::print(&report::Report {
        tests: o.tests,
        rounds: o.rounds,
        threads: &o.threads,
        rows: &rows,
        burst: burst.as_ref(),
        steps: steps.as_ref(),
        failures: &failures,
        load: (&load_before, &load_after),
        matrix_secs,
        quiet: o.quiet,
        noisy_starts,
        jobs: jobs.len() * o.rounds,
    });
    let burst_failed = burst
        .as_ref()
        .is_some_and(|b| b.failed > 0 || b.limit_errors > 0);
    Ok(failures.is_empty() && !burst_failed)
}

/// The sandboxed binaries started all at once, each at `nproc` threads.
fn run_burst(
    bins: &BTreeMap<String, PathBuf>,
    tests: usize,
    names: Option<&[String]>,
) -> report::Burst {
    let threads = std::thread::available_parallelism().map_or(2, |n| n.get());
    let targets = ["ns_user", "ns_net", "ns_all", "ns_all"];
    let started = Instant::now();
    let children: Vec<_> = targets
        .iter()
        .map(|t| (t, measure::spawn_libtest(&bins[*t], threads, names)))
        .collect();
    let mut b = report::Burst {
        processes: targets.iter().map(|t| t.to_string()).collect(),
        threads,
        tests: tests * targets.len(),
        ..report::Burst::default()
    };
    for (target, child) in children {
        let run = match child {
            Ok(c) => measure::finish_libtest(c, started, tests),
            Err(e) => Run {
                failed: tests,
                failure_excerpt: Some(format!("starting {target}: {e}")),
                ..Run::default()
            },
        };
        b.passed += run.passed;
        b.failed += run.failed;
        b.limit_errors += run.limit_errors;
        if let Some(e) = run.failure_excerpt {
            b.excerpts.push(format!("{target}: {e}"));
        }
    }
    b.wall = started.elapsed();
    b
}

#[cfg(test)]
mod tests {
    use super::*;

    fn strings(v: &[&str]) -> Vec<String> {
        v.iter().map(|s| s.to_string()).collect()
    }

    #[test]
    fn default_options() {
        let o = parse_options(&[]).unwrap();
        assert_eq!((o.tests, o.rounds, o.threads.clone()), (500, 3, vec![1, 2]));
        assert!(o.burst && o.steps);
        assert_eq!(o.quiet, 0.10);
    }

    #[test]
    fn parses_every_option() {
        let o = parse_options(&strings(&[
            "--tests",
            "100",
            "--rounds",
            "5",
            "--threads",
            "1,2,4",
            "--samples",
            "7",
            "--no-burst",
            "--no-steps",
        ]))
        .unwrap();
        assert_eq!((o.tests, o.rounds, o.samples), (100, 5, 7));
        assert_eq!(o.threads, vec![1, 2, 4]);
        assert!(!o.burst && !o.steps);
    }

    #[test]
    fn rejects_bad_options() {
        assert!(parse_options(&strings(&["--tests", "501"])).is_err());
        assert!(parse_options(&strings(&["--tests", "0"])).is_err());
        assert!(parse_options(&strings(&["--rounds"])).is_err());
        assert!(parse_options(&strings(&["--frobnicate"])).is_err());
        assert!(parse_options(&strings(&["--quiet", "2"])).is_err());
    }
}
