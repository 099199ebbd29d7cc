//! `ns-test doctor`: checks this host feature by feature, by creating the
//! same sandboxes the attribute creates.

use std::process::Command;

use crate::diagnose::HostFacts;
use crate::error::Error;
use crate::sandbox::{Namespaces, Sandbox};

/// The outcome of one check.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Status {
    /// The feature works.
    Ok,
    /// The feature does not work: why, and what to do.
    Failed {
        /// What failed (step, syscall, errno) and the likely cause.
        cause: String,
        /// The fix.
        fix: String,
    },
    /// Informational: not needed by the core, or not checkable here.
    Note(String),
}

/// One row of the doctor's table.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Check {
    /// Feature name.
    pub feature: &'static str,
    /// Whether `#[ns_test]` cannot work at all without it.
    pub core: bool,
    /// The result.
    pub status: Status,
}

/// The doctor's findings.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Findings {
    /// Host facts that decide the outcome.
    pub facts: HostFacts,
    /// Kernel release.
    pub kernel: String,
    /// The effective uid running the checks.
    pub uid: u32,
    /// One row per feature.
    pub checks: Vec<Check>,
}

impl Findings {
    /// Whether every core feature works.
    pub fn core_ok(&self) -> bool {
        self.checks
            .iter()
            .filter(|c| c.core)
            .all(|c| c.status == Status::Ok)
    }
}

fn sandbox_check(feature: &'static str, core: bool, sandbox: Sandbox, cmd: Command) -> Check {
    let status = match sandbox.output(&cmd) {
        Ok(out) if out.status.success() => Status::Ok,
        Ok(out) => Status::Failed {
            cause: format!(
                "the probe {}: {}",
                out.status,
                String::from_utf8_lossy(&out.stderr).trim()
            ),
            fix: "run with NS_TEST_LOG=debug and report this to ns-test".into(),
        },
        Err(Error::Setup(e)) => {
            let hint = e.hint();
            let mut lines = hint.lines();
            let cause = lines
                .next()
                .unwrap_or("")
                .trim_start_matches("likely cause: ")
                .to_string();
            let fix = lines
                .next()
                .unwrap_or("")
                .trim_start_matches("fix: ")
                .to_string();
            Status::Failed {
                cause: format!("{e}; {cause}"),
                fix,
            }
        }
        Err(e) => Status::Failed {
            cause: e.to_string(),
            fix: "report this to ns-test".into(),
        },
    };
    Check {
        feature,
        core,
        status,
    }
}

/// The probe command: `exe` (this binary) with a hidden subcommand, or
/// `true` when there is none.
fn probe(exe: Option<&std::path::Path>, what: &str) -> Command {
    match exe {
        Some(exe) => {
            let mut c = Command::new(exe);
            c.args(["__probe", what]);
            c
        }
        None => Command::new("true"),
    }
}

/// Runs every check. `probe_exe` is an executable that understands
/// `__probe loopback` (the `ns-test` binary), used to test that loopback
/// connects; without it that check only brings `lo` up.
pub fn examine(probe_exe: Option<&std::path::Path>) -> Findings {
    let facts = HostFacts::read();
    let kernel = std::fs::read_to_string("/proc/sys/kernel/osrelease")
        .unwrap_or_default()
        .trim()
        .to_string();
    let ns = |n: Namespaces| Sandbox::new(n);
    let user = sandbox_check(
        "user namespace",
        true,
        ns(Namespaces::USER),
        probe(None, ""),
    );
    if let Status::Failed { fix, .. } = &user.status {
        // Everything else is created inside a user namespace.
        let fix = fix.clone();
        let mut checks = vec![user];
        for (feature, core, _, _) in FEATURES {
            checks.push(Check {
                feature,
                core,
                status: Status::Failed {
                    cause: "needs a user namespace, which failed above".into(),
                    fix: fix.clone(),
                },
            });
        }
        return finish(facts, kernel, checks);
    }
    let mut checks = vec![user];
    for (feature, core, namespaces, loopback) in FEATURES {
        let cmd = probe(if loopback { probe_exe } else { None }, "loopback");
        checks.push(sandbox_check(feature, core, ns(namespaces), cmd));
    }
    finish(facts, kernel, checks)
}

/// The sandbox checks after the user namespace: feature, whether it is
/// core, the namespaces to create, whether to probe loopback inside.
const FEATURES: [(&str, bool, Namespaces, bool); 7] = [
    ("network namespace, lo up", true, Namespaces::NET, true),
    (
        "tmpfs root, pivot_root, /dev, devpts",
        true,
        Namespaces::MNT,
        false,
    ),
    ("pid namespace, fresh /proc", true, Namespaces::PID, false),
    ("ipc namespace", false, Namespaces::IPC, false),
    ("uts namespace", false, Namespaces::UTS, false),
    ("cgroup namespace", false, Namespaces::CGROUP, false),
    ("time namespace", false, Namespaces::TIME, false),
];

fn finish(facts: HostFacts, kernel: String, mut checks: Vec<Check>) -> Findings {
    // Resource limits: which mechanism enforces each here.
    for (name, text) in crate::limits::probe().describe() {
        let feature = match name {
            "memory" => "memory limit (memory = ...)",
            "pids" => "pids limit (pids = ...)",
            _ => "cpu limit (cpu = ...)",
        };
        checks.push(Check {
            feature,
            core: false,
            status: Status::Note(text),
        });
    }
    checks.push(Check {
        feature: "sch_netem",
        core: false,
        status: netem(&kernel),
    });
    Findings {
        facts,
        kernel,
        uid: nix::unistd::geteuid().as_raw(),
        checks,
    }
}

fn netem(kernel: &str) -> Status {
    let base = format!("/lib/modules/{kernel}/kernel/net/sched");
    let module = std::fs::read_dir(&base)
        .map(|d| {
            d.flatten()
                .any(|e| e.file_name().to_string_lossy().starts_with("sch_netem"))
        })
        .unwrap_or(false);
    if module {
        Status::Note("available as a module (ns-test's network lab does not need it)".into())
    } else {
        Status::Note("not found (ns-test's network lab does not need it)".into())
    }
}

impl Findings {
    /// The table, as the command prints it.
    pub fn to_text(&self) -> String {
        let mut s = String::from("ns-test doctor: can this host run #[ns_test]?\n");
        let f = &self.facts;
        let opt = |v: Option<u64>| v.map_or_else(|| "n/a".to_string(), |v| v.to_string());
        s.push_str(&format!(
            "  kernel {}, uid {}, user.max_user_namespaces {}, seccomp {}, \
             kernel.apparmor_restrict_unprivileged_userns {}, kernel.unprivileged_userns_clone {}\n\n",
            self.kernel,
            self.uid,
            opt(f.max_user_namespaces),
            match f.seccomp {
                Some(0) => "off".to_string(),
                Some(1) => "strict".to_string(),
                Some(2) => "filter".to_string(),
                other => opt(other),
            },
            opt(f.apparmor_restrict),
            opt(f.unprivileged_userns_clone),
        ));
        for c in &self.checks {
            let (mark, detail) = match &c.status {
                Status::Ok => ("ok", String::new()),
                Status::Failed { cause, fix } => (
                    if c.core { "FAILED" } else { "failed" },
                    format!("\n      cause: {cause}\n      fix:   {fix}"),
                ),
                Status::Note(n) => ("note", format!(" — {n}")),
            };
            s.push_str(&format!("  {:<8} {}{}\n", mark, c.feature, detail));
        }
        s.push('\n');
        if self.core_ok() {
            s.push_str("result: the core features work; #[ns_test] runs here\n");
        } else {
            s.push_str(
                "result: core features fail; #[ns_test] tests will fail here \
                 (or skip with NS_TEST_UNSUPPORTED=skip)\n",
            );
        }
        s
    }

    /// The findings as JSON (for CI logs).
    pub fn to_json(&self) -> String {
        fn esc(s: &str) -> String {
            let mut o = String::with_capacity(s.len() + 2);
            o.push('"');
            for ch in s.chars() {
                match ch {
                    '"' => o.push_str("\\\""),
                    '\\' => o.push_str("\\\\"),
                    '\n' => o.push_str("\\n"),
                    c if (c as u32) < 0x20 => o.push_str(&format!("\\u{:04x}", c as u32)),
                    c => o.push(c),
                }
            }
            o.push('"');
            o
        }
        let opt = |v: Option<u64>| v.map_or_else(|| "null".to_string(), |v| v.to_string());
        let checks: Vec<String> = self
            .checks
            .iter()
            .map(|c| {
                let (status, cause, fix, note) = match &c.status {
                    Status::Ok => ("ok", None, None, None),
                    Status::Failed { cause, fix } => ("failed", Some(cause), Some(fix), None),
                    Status::Note(n) => ("note", None, None, Some(n)),
                };
                let o = |v: Option<&String>| v.map_or("null".to_string(), |v| esc(v));
                format!(
                    "{{\"feature\":{},\"core\":{},\"status\":\"{}\",\"cause\":{},\"fix\":{},\"note\":{}}}",
                    esc(c.feature),
                    c.core,
                    status,
                    o(cause),
                    o(fix),
                    o(note)
                )
            })
            .collect();
        format!(
            "{{\"kernel\":{},\"uid\":{},\"max_user_namespaces\":{},\"seccomp\":{},\
             \"apparmor_restrict_unprivileged_userns\":{},\"unprivileged_userns_clone\":{},\
             \"core_ok\":{},\"checks\":[{}]}}",
            esc(&self.kernel),
            self.uid,
            opt(self.facts.max_user_namespaces),
            opt(self.facts.seccomp),
            opt(self.facts.apparmor_restrict),
            opt(self.facts.unprivileged_userns_clone),
            self.core_ok(),
            checks.join(",")
        )
    }
}
