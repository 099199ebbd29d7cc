//! Where a sandbox's time goes, measured from outside the runtime:
//! namespace creation per kind (the [`crate::probe`] processes), how long a
//! dead namespace lingers, and what each namespace adds to a whole
//! [`ns_test::Sandbox`] run.

use std::ffi::OsString;
use std::process::{Command, Stdio};
use std::time::Instant;

use ns_test::{Namespaces, Sandbox};

use crate::measure::median;
use crate::probe::{KINDS, TEARDOWN_KINDS};

/// Median microseconds of `unshare(user)`, the id maps and `unshare(kind)`.
#[derive(Debug, Clone)]
pub struct UnshareCost {
    /// The namespace kind.
    pub kind: &'static str,
    /// `unshare(CLONE_NEWUSER)`.
    pub user_us: f64,
    /// `setgroups`, `uid_map`, `gid_map`.
    pub maps_us: f64,
    /// `unshare` of the kind itself (0 for `user`).
    pub kind_us: f64,
}

fn probe_output(args: &[OsString]) -> Result<String, String> {
    // `/proc/self/exe`, not the path: building the test binaries may have
    // replaced this program's file (its dev-dependencies unify features).
    let out = Command::new("/proc/self/exe")
        .args(args)
        .stdin(Stdio::null())
        .output()
        .map_err(|e| format!("starting a probe: {e}"))?;
    if !out.status.success() {
        return Err(format!(
            "probe {:?} {}: {}",
            args,
            out.status,
            String::from_utf8_lossy(&out.stderr).trim()
        ));
    }
    Ok(String::from_utf8_lossy(&out.stdout).into_owned())
}

fn numbers(line: &str) -> Vec<f64> {
    line.split_whitespace()
        .filter_map(|w| w.parse().ok())
        .collect()
}

/// Runs `samples` probes per kind, kinds interleaved.
pub fn unshare_costs(samples: usize) -> Result<Vec<UnshareCost>, String> {
    let mut raw: Vec<Vec<Vec<f64>>> = vec![Vec::new(); KINDS.len()];
    for _ in 0..samples {
        for (i, (kind, _, _)) in KINDS.iter().enumerate() {
            let out = probe_output(&["__probe-unshare".into(), (*kind).into()])?;
            raw[i].push(numbers(&out));
        }
    }
    Ok(KINDS
        .iter()
        .zip(raw)
        .map(|((kind, _, _), rows)| {
            let col = |c: usize| {
                median(
                    &rows
                        .iter()
                        .filter_map(|r| r.get(c).copied())
                        .collect::<Vec<_>>(),
                )
            };
            UnshareCost {
                kind,
                user_us: col(0),
                maps_us: col(1),
                kind_us: col(2),
            }
        })
        .collect())
}

/// How long a dead namespace of one kind lingers.
#[derive(Debug, Clone)]
pub struct Teardown {
    /// The namespace kind.
    pub kind: &'static str,
    /// Median `unshare` time once it succeeds, µs.
    pub create_us: f64,
    /// Median wait until the namespace dropped two steps before is freed, µs.
    pub linger_median_us: f64,
    /// Longest such wait, µs.
    pub linger_max_us: f64,
}

/// Runs the teardown probe for each kind that supports it.
pub fn teardown_latencies(reps: usize) -> Vec<Result<Teardown, String>> {
    TEARDOWN_KINDS
        .iter()
        .map(|kind| {
            let out = probe_output(&[
                "__probe-teardown".into(),
                (*kind).into(),
                reps.to_string().into(),
            ])?;
            let rows: Vec<Vec<f64>> = out.lines().map(numbers).collect();
            let col = |c: usize| {
                rows.iter()
                    .filter_map(|r| r.get(c).copied())
                    .collect::<Vec<_>>()
            };
            Ok(Teardown {
                kind,
                create_us: median(&col(0)),
                linger_median_us: median(&col(1)),
                linger_max_us: col(1).into_iter().fold(0.0, f64::max),
            })
        })
        .collect()
}

/// One namespace set, run through [`Sandbox`].
#[derive(Debug, Clone)]
pub struct SandboxCost {
    /// `exec only`, `user`, `user+net`, ...
    pub label: String,
    /// Median milliseconds per `Sandbox::output(/bin/true)` (or, for
    /// `exec only`, per `Command::output(/bin/true)`).
    pub ms: f64,
}

/// Times `samples` runs of `/bin/true` per namespace set, sets interleaved,
/// sequentially (one sandbox at a time).
pub fn sandbox_costs(samples: usize) -> Result<Vec<SandboxCost>, String> {
    let mut sets: Vec<(String, Option<Namespaces>)> = vec![("exec only".into(), None)];
    for (name, _, _) in KINDS {
        let ns = Namespaces::from_name(name).ok_or_else(|| format!("no namespace {name}"))?;
        let label = if *name == "user" {
            "user".to_string()
        } else {
            format!("user+{name}")
        };
        sets.push((label, Some(ns)));
    }
    sets.push(("all".into(), Some(Namespaces::ALL)));
    let true_path = ["/bin/true", "/usr/bin/true"]
        .into_iter()
        .find(|p| std::path::Path::new(p).exists())
        .ok_or("no /bin/true")?;
    // Start the fork server outside the timed runs.
    Sandbox::new(Namespaces::USER)
        .output(&Command::new(true_path))
        .map_err(|e| format!("warming up the sandbox: {e}"))?;
    let mut times: Vec<Vec<f64>> = vec![Vec::new(); sets.len()];
    for _ in 0..samples {
        for (i, (label, ns)) in sets.iter().enumerate() {
            let cmd = Command::new(true_path);
            let t = Instant::now();
            let ok = match ns {
                None => Command::new(true_path)
                    .stdout(Stdio::piped())
                    .stderr(Stdio::piped())
                    .output()
                    .map(|o| o.status.success())
                    .map_err(|e| e.to_string()),
                Some(ns) => Sandbox::new(*ns)
                    .output(&cmd)
                    .map(|o| o.status.success())
                    .map_err(|e| e.to_string()),
            };
            let ms = t.elapsed().as_secs_f64() * 1e3;
            match ok {
                Ok(true) => times[i].push(ms),
                Ok(false) => return Err(format!("{label}: /bin/true failed in the sandbox")),
                Err(e) => return Err(format!("{label}: {e}")),
            }
        }
    }
    Ok(sets
        .into_iter()
        .zip(times)
        .map(|((label, _), t)| SandboxCost {
            label,
            ms: median(&t),
        })
        .collect())
}
