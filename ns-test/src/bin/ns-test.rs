//! The `ns-test` command: `ns-test run [--net --mnt ...] -- CMD ARGS...`,
//! `ns-test doctor`.

#[cfg(not(target_os = "linux"))]
fn main() -> std::process::ExitCode {
    eprintln!("ns-test: namespaces need Linux; this target is not Linux");
    std::process::ExitCode::FAILURE
}

#[cfg(target_os = "linux")]
fn main() -> std::process::ExitCode {
    linux::main()
}

#[cfg(target_os = "linux")]
mod linux {
    use std::process::{Command, ExitCode};
    use std::time::Duration;

    use ns_test::{Namespaces, Sandbox, SandboxExit};

    const USAGE: &str = "\
usage: ns-test run [NAMESPACES] [--hostname NAME] [--timeout 10s] [--uid N[:G]]
                   [--bind SRC:DST] [--bind-rw SRC:DST] [--tmpfs DIR] -- CMD [ARGS...]
       ns-test doctor [--json]
       ns-test ps [--json]
       ns-test enter <TEST-NAME|PID> [-- CMD [ARGS...]]

run     runs CMD in fresh, unprivileged namespaces, as #[ns_test] runs a test.
        NAMESPACES: --user --net --mnt --pid --ipc --uts --cgroup --time --all
        (none given = all)
doctor  checks, feature by feature, whether this host can run #[ns_test]
        tests, and says what to change where it cannot; exits 1 when a core
        feature fails
ps      lists your live sandboxes: reaper pid, age, test, namespaces (inodes)
enter   runs a shell (or CMD) inside a live sandbox, with all its
        namespaces and its root, as nsenter would, without root";

    fn ps(args: &[String]) -> Result<ExitCode, String> {
        let json = match args {
            [] => false,
            [j] if j == "--json" => true,
            _ => return Err(format!("unknown ps option {args:?}\n{USAGE}")),
        };
        let all = ns_test::inspect::live_sandboxes();
        if json {
            let rows: Vec<String> = all
                .iter()
                .map(|s| {
                    let ns: Vec<String> = s
                        .namespaces
                        .iter()
                        .map(|(k, i)| format!("\"{k}\":{i}"))
                        .collect();
                    format!(
                        "{{\"pid\":{},\"test\":{:?},\"age_secs\":{},\"namespaces\":{{{}}}}}",
                        s.pid,
                        s.label,
                        s.age_secs,
                        ns.join(",")
                    )
                })
                .collect();
            println!("[{}]", rows.join(","));
        } else {
            println!("{:>8} {:>6}  {:<40} NAMESPACES", "PID", "AGE", "TEST");
            for s in &all {
                let ns: Vec<String> = s
                    .namespaces
                    .iter()
                    .map(|(k, i)| format!("{k}:{i}"))
                    .collect();
                println!(
                    "{:>8} {:>5}s  {:<40} {}",
                    s.pid,
                    s.age_secs,
                    s.label,
                    ns.join(" ")
                );
            }
        }
        Ok(ExitCode::SUCCESS)
    }

    fn enter(args: &[String]) -> Result<ExitCode, String> {
        let (target, cmd) = match args.split_first() {
            Some((t, rest)) => match rest.split_first() {
                None => (t, Vec::new()),
                Some((dd, cmd)) if dd == "--" => (t, cmd.to_vec()),
                Some(_) => return Err(format!("expected `--` before the command\n{USAGE}")),
            },
            None => return Err(format!("enter needs a test name or pid\n{USAGE}")),
        };
        let sandbox = ns_test::inspect::find_sandbox(target)?;
        // Open every namespace first, then join the user namespace (which
        // grants the capabilities to join the rest), then the others.
        let mut fds = Vec::new();
        for kind in ns_test::inspect::NS_KINDS {
            if !sandbox.namespaces.iter().any(|(k, _)| k == kind) {
                continue;
            }
            let path = format!("/proc/{}/ns/{kind}", sandbox.pid);
            let f = std::fs::File::open(&path).map_err(|e| format!("opening {path}: {e}"))?;
            fds.push((kind, f));
        }
        for (kind, f) in &fds {
            nix::sched::setns(f, nix::sched::CloneFlags::empty())
                .map_err(|e| format!("joining the sandbox's {kind} namespace: setns => {e}"))?;
        }
        std::env::set_current_dir("/").map_err(|e| format!("chdir /: {e}"))?;
        let mut command = match cmd.split_first() {
            Some((prog, rest)) => {
                let mut c = Command::new(prog);
                c.args(rest);
                c
            }
            None => Command::new(std::env::var("SHELL").unwrap_or_else(|_| "/bin/sh".into())),
        };
        // The child is created in the sandbox's PID namespace.
        let status = command
            .status()
            .map_err(|e| format!("running {:?} in the sandbox: {e}", command.get_program()))?;
        Ok(ExitCode::from(
            status.code().unwrap_or(1).clamp(0, 255) as u8
        ))
    }

    fn doctor(args: &[String]) -> Result<ExitCode, String> {
        let json = match args {
            [] => false,
            [j] if j == "--json" => true,
            _ => return Err(format!("unknown doctor option {args:?}\n{USAGE}")),
        };
        let exe = std::env::current_exe().ok();
        let findings = ns_test::doctor::examine(exe.as_deref());
        if json {
            println!("{}", findings.to_json());
        } else {
            print!("{}", findings.to_text());
        }
        Ok(if findings.core_ok() {
            ExitCode::SUCCESS
        } else {
            ExitCode::FAILURE
        })
    }

    /// Hidden probes the doctor runs inside sandboxes.
    fn probe(args: &[String]) -> ExitCode {
        match args.first().map(String::as_str) {
            Some("loopback") => {
                for addr in ["127.0.0.1:0", "[::1]:0"] {
                    let ok = std::net::TcpListener::bind(addr).and_then(|l| {
                        let to = l.local_addr()?;
                        std::net::TcpStream::connect(to).map(|_| l)
                    });
                    if let Err(e) = ok {
                        eprintln!("connecting on {addr}: {e}");
                        return ExitCode::FAILURE;
                    }
                }
                ExitCode::SUCCESS
            }
            _ => ExitCode::from(2),
        }
    }

    fn parse_duration(s: &str) -> Option<Duration> {
        let (num, unit) = s.split_at(s.find(|c: char| !c.is_ascii_digit())?);
        let n: u64 = num.parse().ok()?;
        Some(match unit {
            "ms" => Duration::from_millis(n),
            "s" => Duration::from_secs(n),
            "m" => Duration::from_secs(n * 60),
            "h" => Duration::from_secs(n * 3600),
            _ => return None,
        })
    }

    /// A `run` option that maps to a [`Sandbox`] builder call.
    enum Opt {
        RunAs(u32, u32),
        Bind(bool, String, String),
        Tmpfs(String),
    }

    fn run(args: &[String]) -> Result<ExitCode, String> {
        let mut ns: Option<Namespaces> = None;
        let mut hostname = None;
        let mut options: Vec<Opt> = Vec::new();
        let mut timeout = None;
        let mut it = args.iter();
        let mut cmd: Vec<String> = Vec::new();
        while let Some(a) = it.next() {
            match a.as_str() {
                "--" => {
                    cmd = it.by_ref().cloned().collect();
                    break;
                }
                "--hostname" => {
                    hostname = Some(it.next().ok_or("--hostname needs a value")?.clone())
                }
                "--uid" => {
                    let v = it
                        .next()
                        .ok_or("--uid needs a value, e.g. 1000 or 1000:100")?;
                    let (u, g) = v.split_once(':').unwrap_or((v, v));
                    let (Ok(u), Ok(g)) = (u.parse::<u32>(), g.parse::<u32>()) else {
                        return Err(format!("bad --uid {v:?}; e.g. 1000 or 1000:100"));
                    };
                    options.push(Opt::RunAs(u, g));
                }
                flag @ ("--bind" | "--bind-rw") => {
                    let v = it.next().ok_or(format!("{flag} needs SRC:DST"))?;
                    let (src, dst) = v
                        .split_once(':')
                        .ok_or(format!("bad {flag} {v:?}; expected SRC:DST"))?;
                    options.push(Opt::Bind(flag == "--bind-rw", src.into(), dst.into()));
                }
                "--tmpfs" => {
                    let v = it.next().ok_or("--tmpfs needs a directory")?;
                    options.push(Opt::Tmpfs(v.clone()));
                }
                "--timeout" => {
                    let v = it.next().ok_or("--timeout needs a value")?;
                    timeout =
                        Some(parse_duration(v).ok_or(format!("bad --timeout {v:?}; e.g. 10s"))?);
                }
                flag if flag.starts_with("--") => {
                    let n = Namespaces::from_name(&flag[2..])
                        .ok_or_else(|| format!("unknown option {flag}\n{USAGE}"))?;
                    ns = Some(ns.map_or(n, |m| m | n));
                }
                _ => {
                    cmd = std::iter::once(a.clone())
                        .chain(it.by_ref().cloned())
                        .collect();
                    break;
                }
            }
        }
        let Some((prog, rest)) = cmd.split_first() else {
            return Err(format!("no command given\n{USAGE}"));
        };
        let mut sandbox = Sandbox::new(ns.unwrap_or(Namespaces::ALL));
        if let Some(h) = hostname {
            sandbox = sandbox.hostname(h);
        }
        if let Some(t) = timeout {
            sandbox = sandbox.timeout(t);
        }
        for o in options {
            sandbox = match o {
                Opt::RunAs(u, g) => sandbox.run_as(u, g),
                Opt::Bind(false, src, dst) => sandbox.bind_at(src, dst),
                Opt::Bind(true, src, dst) => sandbox.bind_rw_at(src, dst),
                Opt::Tmpfs(dir) => sandbox.tmpfs(dir),
            };
        }
        let mut command = Command::new(prog);
        command.args(rest);
        match sandbox.status(&command) {
            Ok(SandboxExit::Code(c)) => Ok(ExitCode::from(c.clamp(0, 255) as u8)),
            Ok(SandboxExit::Signal(s)) => {
                eprintln!("ns-test: {prog} {}", SandboxExit::Signal(s));
                Ok(ExitCode::from((128 + s).clamp(0, 255) as u8))
            }
            Ok(SandboxExit::TimedOut) => {
                eprintln!("ns-test: {prog} timed out; the sandbox was killed");
                Ok(ExitCode::from(124))
            }
            Err(e) => Err(e.to_string()),
        }
    }

    pub(crate) fn main() -> ExitCode {
        let args: Vec<String> = std::env::args().skip(1).collect();
        let result = match args.first().map(String::as_str) {
            Some("run") => run(&args[1..]),
            Some("doctor") => doctor(&args[1..]),
            Some("ps") => ps(&args[1..]),
            Some("enter") => enter(&args[1..]),
            Some("__probe") => return probe(&args[1..]),
            Some("-h" | "--help" | "help") | None => {
                println!("{USAGE}");
                return ExitCode::SUCCESS;
            }
            Some(other) => Err(format!("unknown command {other:?}\n{USAGE}")),
        };
        match result {
            Ok(code) => code,
            Err(msg) => {
                eprintln!("{msg}");
                ExitCode::from(2)
            }
        }
    }
}
