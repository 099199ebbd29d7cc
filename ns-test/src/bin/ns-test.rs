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
usage: ns-test run [NAMESPACES] [--hostname NAME] [--timeout 10s] -- CMD [ARGS...]
       ns-test doctor [--json]

run     runs CMD in fresh, unprivileged namespaces, as #[ns_test] runs a test.
        NAMESPACES: --user --net --mnt --pid --ipc --uts --cgroup --time --all
        (none given = all)
doctor  checks, feature by feature, whether this host can run #[ns_test]
        tests, and says what to change where it cannot; exits 1 when a core
        feature fails";

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

    fn run(args: &[String]) -> Result<ExitCode, String> {
        let mut ns: Option<Namespaces> = None;
        let mut hostname = None;
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
