//! `ns-test doctor` on this host, and under simulated failures.
#![allow(clippy::unwrap_used)]

use std::process::{Command, Output};

fn doctor(wrap: Option<&str>, args: &[&str]) -> Output {
    let exe = env!("CARGO_BIN_EXE_ns-test");
    let mut cmd = match wrap {
        None => Command::new(exe),
        Some(script) => {
            let mut c = Command::new("unshare");
            c.args(["--user", "--map-root-user", "sh", "-c", script, "sh", exe]);
            c
        }
    };
    cmd.arg("doctor").args(args).output().unwrap()
}

/// Host-specific facts and notes replaced, so the table is the same on
/// every host where the same features work.
fn normalise(out: &Output) -> String {
    String::from_utf8_lossy(&out.stdout)
        .lines()
        .map(|l| {
            if l.starts_with("  kernel ") {
                "  <host facts>".to_string()
            } else if let Some(i) = l.find(" — ") {
                format!("{} — <host-specific note>", &l[..i])
            } else {
                l.to_string()
            }
        })
        .collect::<Vec<_>>()
        .join("\n")
}

#[test]
fn everything_works_here() {
    let out = doctor(None, &[]);
    assert!(out.status.success(), "{}", normalise(&out));
    insta::assert_snapshot!(normalise(&out));
}

#[test]
fn json_for_ci_logs() {
    let out = doctor(None, &["--json"]);
    assert!(out.status.success());
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(text.trim_start().starts_with('{') && text.trim_end().ends_with('}'));
    assert!(text.contains("\"core_ok\":true"), "{text}");
    assert!(text.contains("\"feature\":\"user namespace\""), "{text}");
}

#[test]
fn no_user_namespaces_left_fails_every_core_feature_and_says_why() {
    let out = doctor(
        Some("echo 0 > /proc/sys/user/max_user_namespaces && exec \"$@\""),
        &[],
    );
    assert_eq!(out.status.code(), Some(1), "{}", normalise(&out));
    insta::assert_snapshot!(normalise(&out));
}
