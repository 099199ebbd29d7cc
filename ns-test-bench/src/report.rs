//! The printed report: Markdown, so a run can be pasted into RESULTS.md.

use std::time::Duration;

use crate::steps::{SandboxCost, Teardown, UnshareCost};

/// One variant's medians, per thread count.
#[derive(Debug, Clone)]
pub struct Row {
    /// Short name (`plain`, `ns_net`, `unshare_all`, ...).
    pub key: &'static str,
    /// What the row measures.
    pub label: &'static str,
    /// `(threads, median ms per test, every round's ms per test)`.
    pub ms: Vec<(usize, f64, Vec<f64>)>,
}

impl Row {
    fn at(&self, threads: usize) -> Option<f64> {
        self.ms
            .iter()
            .find(|(t, _, _)| *t == threads)
            .map(|(_, m, _)| *m)
    }
}

/// The burst of sandboxed tests started at once.
#[derive(Debug, Clone, Default)]
pub struct Burst {
    /// The binaries started together.
    pub processes: Vec<String>,
    /// `--test-threads` of each.
    pub threads: usize,
    /// Sandboxed tests in all.
    pub tests: usize,
    /// Passed.
    pub passed: usize,
    /// Failed.
    pub failed: usize,
    /// Mentions of `ENOSPC`/`EUSERS` in the output.
    pub limit_errors: usize,
    /// Wall time until the last binary ended.
    pub wall: Duration,
    /// Output of failed binaries.
    pub excerpts: Vec<String>,
}

/// The per-step measurements.
#[derive(Debug)]
pub struct Steps {
    /// `unshare` per kind, in a fresh process.
    pub unshare: Vec<UnshareCost>,
    /// How long dead namespaces linger.
    pub teardown: Vec<Result<Teardown, String>>,
    /// Whole [`ns_test::Sandbox`] runs per namespace set.
    pub sandbox: Vec<SandboxCost>,
}

/// Everything [`print()`] prints.
#[derive(Debug)]
pub struct Report<'a> {
    /// Tests per variant.
    pub tests: usize,
    /// Rounds per job.
    pub rounds: usize,
    /// Thread counts measured.
    pub threads: &'a [usize],
    /// The table.
    pub rows: &'a [Row],
    /// The burst, when run.
    pub burst: Option<&'a Burst>,
    /// The step costs, when measured.
    pub steps: Option<&'a Steps>,
    /// Runs that did not pass.
    pub failures: &'a [String],
    /// Load average before and after.
    pub load: (&'a str, &'a str),
    /// Seconds the table took.
    pub matrix_secs: f64,
    /// The idleness waited for before each job.
    pub quiet: f64,
    /// Jobs that started although the machine was not that idle after 20 s.
    pub noisy_starts: usize,
    /// Jobs run.
    pub jobs: usize,
}

fn read(path: &str) -> String {
    std::fs::read_to_string(path)
        .map(|s| s.trim().to_string())
        .unwrap_or_else(|_| "?".into())
}

fn cpu_model() -> String {
    read("/proc/cpuinfo")
        .lines()
        .find_map(|l| l.strip_prefix("model name"))
        .and_then(|l| l.split_once(':'))
        .map_or_else(|| "?".into(), |(_, m)| m.trim().to_string())
}

fn fmt_ms(ms: Option<f64>) -> String {
    match ms {
        Some(m) if m.is_finite() => format!("{m:.3}"),
        _ => "–".into(),
    }
}

fn verdict(met: bool) -> &'static str {
    if met {
        "met"
    } else {
        "**missed**"
    }
}

/// Prints the report to stdout.
pub fn print(r: &Report<'_>) {
    let nproc = std::thread::available_parallelism().map_or(0, |n| n.get());
    println!("## Machine\n");
    println!("- CPUs (nproc): {nproc}; CPU: {}", cpu_model());
    println!("- kernel: {}", read("/proc/sys/kernel/osrelease"));
    println!(
        "- user: uid {}; user.max_net_namespaces = {}",
        nix::unistd::geteuid(),
        read("/proc/sys/user/max_net_namespaces")
    );
    println!("- load average before / after: {} / {}", r.load.0, r.load.1);
    if r.quiet > 0.0 {
        println!(
            "- before each job: waited for < {:.0}% CPU busy (all CPUs); {} of {} jobs \
             started on a busier machine after 20 s of waiting",
            r.quiet * 100.0,
            r.noisy_starts,
            r.jobs
        );
    }
    println!();
    let threads: Vec<String> = r.threads.iter().map(|t| t.to_string()).collect();
    println!("## Command\n");
    println!(
        "`cargo run -p ns-test-bench --release -- --tests {} --rounds {} --threads {}`",
        r.tests,
        r.rounds,
        threads.join(",")
    );
    println!();

    println!(
        "## Milliseconds per test\n\nMedian of {} interleaved rounds of {} tests \
         (each round's value in brackets); {:.0} s in all.\n",
        r.rounds, r.tests, r.matrix_secs
    );
    let first = r.threads.first().copied().unwrap_or(1);
    let mut header = String::from("| variant |");
    let mut rule = String::from("| --- |");
    for t in r.threads {
        header += &format!(" {t} thread{} |", if *t == 1 { "" } else { "s" });
        rule += " ---: |";
    }
    for t in r.threads.iter().skip(1) {
        header += &format!(" speed-up {first}→{t} |");
        rule += " ---: |";
    }
    println!("{header}\n{rule}");
    for row in r.rows {
        let mut line = format!("| {} |", row.label);
        for (_, m, runs) in &row.ms {
            let each: Vec<String> = runs.iter().map(|x| format!("{x:.2}")).collect();
            line += &format!(" {} [{}] |", fmt_ms(Some(*m)), each.join(", "));
        }
        for t in r.threads.iter().skip(1) {
            let s = row.at(first).zip(row.at(*t)).map(|(a, b)| a / b);
            line += &format!(" {} |", s.map_or("–".into(), |s| format!("{s:.2}×")));
        }
        println!("{line}");
    }
    println!();
    print_targets(r);
    if let Some(b) = r.burst {
        print_burst(b);
    }
    if let Some(s) = r.steps {
        print_steps(s);
    }
    if !r.failures.is_empty() {
        println!("## Failed runs\n");
        for f in r.failures {
            println!("```\n{f}\n```");
        }
        println!();
    }
}

fn row<'a>(r: &'a Report<'_>, key: &str) -> Option<&'a Row> {
    r.rows.iter().find(|row| row.key == key)
}

fn print_targets(r: &Report<'_>) {
    println!("## Targets (issue 5)\n");
    println!(
        "Ratios of the medians; in brackets the same ratio from each variant's \
         best round (least disturbed by other load).\n"
    );
    println!("| target | threads | measured (medians) | best rounds | goal | |");
    println!("| --- | ---: | --- | ---: | --- | --- |");
    let median = |key: &str, t: usize| row(r, key).and_then(|row| row.at(t));
    let best = |key: &str, t: usize| {
        row(r, key).and_then(|row| {
            row.ms
                .iter()
                .find(|(th, _, _)| *th == t)
                .map(|(_, _, runs)| crate::measure::min(runs))
        })
    };
    let net_ratio = |get: &dyn Fn(&str, usize) -> Option<f64>, t: usize| {
        let (plain, net, rf) = (get("plain", t)?, get("ns_net", t)?, get("rusty_fork", t)?);
        Some((net - plain, rf - plain))
    };
    for &t in r.threads {
        if let (Some((net_o, rf_o)), Some((bn, br))) = (net_ratio(&median, t), net_ratio(&best, t))
        {
            let ratio = net_o / rf_o;
            println!(
                "| `ns_test(net)` overhead ÷ rusty-fork overhead | {t} | {net_o:.3} ÷ {rf_o:.3} ms = {ratio:.2} | {:.2} | ≤ 1.00 | {} |",
                bn / br,
                verdict(ratio <= 1.0)
            );
        }
    }
    for &t in r.threads {
        let pair = |get: &dyn Fn(&str, usize) -> Option<f64>| {
            Some((get("ns_all", t)?, get("unshare_all", t)?))
        };
        if let (Some((all, floor)), Some((ba, bf))) = (pair(&median), pair(&best)) {
            let ratio = all / floor;
            println!(
                "| `ns_test` (all) ÷ `unshare -Urnmpiuf -C --mount-proc` floor | {t} | {all:.3} ÷ {floor:.3} ms = {ratio:.2} | {:.2} | ≤ 1.50 | {} |",
                ba / bf,
                verdict(ratio <= 1.5)
            );
        }
    }
    let first = r.threads.first().copied().unwrap_or(1);
    for &t in r.threads.iter().skip(1) {
        for key in ["ns_user", "ns_net", "ns_all"] {
            let pair =
                |get: &dyn Fn(&str, usize) -> Option<f64>| Some((get(key, first)?, get(key, t)?));
            if let (Some((a, b)), Some((ba, bb)), Some(row)) =
                (pair(&median), pair(&best), row(r, key))
            {
                let s = a / b;
                println!(
                    "| speed-up, {} | {first}→{t} | {a:.3} ÷ {b:.3} ms = {s:.2}× | {:.2}× | ≥ 1.60× | {} |",
                    row.label,
                    ba / bb,
                    verdict(s >= 1.6)
                );
            }
        }
    }
    if let Some(b) = r.burst {
        println!(
            "| burst of {} sandboxed tests: failures, ENOSPC/EUSERS | {}×{} | {} failed, {} limit errors | | 0, 0 | {} |",
            b.tests,
            b.processes.len(),
            b.threads,
            b.failed,
            b.limit_errors,
            verdict(b.failed == 0 && b.limit_errors == 0 && b.passed == b.tests)
        );
    }
    println!();
}

fn print_burst(b: &Burst) {
    println!("## Burst\n");
    println!(
        "{} test binaries ({}) started at once, each at `--test-threads={}`: \
         {} sandboxed tests, {} passed, {} failed, {} `ENOSPC`/`EUSERS` mentions, \
         {:.2} s wall ({:.0} sandboxes/s).\n",
        b.processes.len(),
        b.processes.join(", "),
        b.threads,
        b.tests,
        b.passed,
        b.failed,
        b.limit_errors,
        b.wall.as_secs_f64(),
        b.tests as f64 / b.wall.as_secs_f64().max(1e-9)
    );
    for e in &b.excerpts {
        println!("```\n{e}\n```");
    }
}

fn print_steps(s: &Steps) {
    println!("## Steps, measured outside the runtime\n");
    println!(
        "`unshare` in a fresh single-threaded process (median µs): the user \
         namespace, its id maps (`setgroups`, `uid_map`, `gid_map`), then the \
         kind alone.\n"
    );
    println!("| kind | unshare(user) µs | id maps µs | unshare(kind) µs |");
    println!("| --- | ---: | ---: | ---: |");
    for u in &s.unshare {
        println!(
            "| {} | {:.0} | {:.0} | {:.0} |",
            u.kind, u.user_us, u.maps_us, u.kind_us
        );
    }
    println!();
    println!(
        "Teardown: with `max_KIND_namespaces = 2`, how long a new `unshare` \
         waits for a namespace dropped two steps before to be freed (the \
         kernel frees some kinds asynchronously).\n"
    );
    println!("| kind | unshare µs | linger median µs | linger max µs |");
    println!("| --- | ---: | ---: | ---: |");
    for t in &s.teardown {
        match t {
            Ok(t) => println!(
                "| {} | {:.0} | {:.0} | {:.0} |",
                t.kind, t.create_us, t.linger_median_us, t.linger_max_us
            ),
            Err(e) => println!("| ? | – | – | {e} |"),
        }
    }
    println!();
    println!(
        "Whole `ns_test::Sandbox::output(/bin/true)` per namespace set, one at a \
         time (median ms; the fork server already running; `exec only` is \
         `Command::output` without a sandbox).\n"
    );
    let user = s.sandbox.iter().find(|c| c.label == "user").map(|c| c.ms);
    println!("| namespaces | ms | + over `user` |");
    println!("| --- | ---: | ---: |");
    for c in &s.sandbox {
        let delta = user
            .filter(|_| c.label != "exec only")
            .map_or("–".into(), |u| format!("{:+.3}", c.ms - u));
        println!("| {} | {:.3} | {} |", c.label, c.ms, delta);
    }
    println!();
}
