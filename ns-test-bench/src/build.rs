//! Building the measured test binaries and finding them in cargo's output.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};

/// The benchmark's test targets, as named in `Cargo.toml`.
pub const TARGETS: &[&str] = &["plain", "ns_user", "ns_net", "ns_all", "rusty_fork"];

/// Builds every target of [`TARGETS`] in release mode and returns the
/// executable of each, by target name.
///
/// Runs `cargo test -p ns-test-bench --release --no-run
/// --message-format=json --test ...` in this package's directory; cargo's
/// human-readable progress goes to our stderr.
pub fn build_test_binaries() -> Result<BTreeMap<String, PathBuf>, String> {
    let cargo = std::env::var_os("CARGO").unwrap_or_else(|| "cargo".into());
    let mut cmd = Command::new(&cargo);
    cmd.current_dir(env!("CARGO_MANIFEST_DIR"))
        .args([
            "test",
            "-p",
            "ns-test-bench",
            "--release",
            "--no-run",
            "--message-format=json",
        ])
        .stdout(Stdio::piped())
        .stderr(Stdio::inherit());
    for t in TARGETS {
        cmd.args(["--test", t]);
    }
    let out = cmd
        .output()
        .map_err(|e| format!("running `{}`: {e}", Path::new(&cargo).display()))?;
    if !out.status.success() {
        return Err(format!("building the test binaries: cargo {}", out.status));
    }
    let found = executables(&String::from_utf8_lossy(&out.stdout));
    match TARGETS.iter().find(|t| !found.contains_key(**t)) {
        Some(missing) => Err(format!(
            "cargo built no executable for test target `{missing}`"
        )),
        None => Ok(found),
    }
}

/// The test executables named in cargo's `--message-format=json` output,
/// by target name.
pub fn executables(json_lines: &str) -> BTreeMap<String, PathBuf> {
    let mut found = BTreeMap::new();
    for line in json_lines.lines() {
        let Ok(msg) = serde_json::from_str::<serde_json::Value>(line) else {
            continue;
        };
        if msg["reason"] != "compiler-artifact" || msg["profile"]["test"] != true {
            continue;
        }
        let (Some(name), Some(exe)) = (msg["target"]["name"].as_str(), msg["executable"].as_str())
        else {
            continue;
        };
        found.insert(name.to_string(), PathBuf::from(exe));
    }
    found
}

/// The names of the tests in `binary`, as `--list` prints them.
pub fn list_tests(binary: &Path) -> Result<Vec<String>, String> {
    let out = Command::new(binary)
        .args(["--list", "--format", "terse"])
        .stderr(Stdio::inherit())
        .output()
        .map_err(|e| format!("running `{} --list`: {e}", binary.display()))?;
    if !out.status.success() {
        return Err(format!("`{} --list` {}", binary.display(), out.status));
    }
    Ok(String::from_utf8_lossy(&out.stdout)
        .lines()
        .filter_map(|l| l.strip_suffix(": test"))
        .map(str::to_string)
        .collect())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn finds_test_executables_in_cargo_json() {
        let json = r#"{"reason":"compiler-artifact","target":{"name":"serde"},"profile":{"test":false},"executable":null}
{"reason":"compiler-artifact","target":{"name":"ns_net"},"profile":{"test":true},"executable":"/t/release/deps/ns_net-1"}
{"reason":"compiler-artifact","target":{"name":"ns-test-bench"},"profile":{"test":false},"executable":"/t/release/ns-test-bench"}
{"reason":"build-finished","success":true}
not json"#;
        let found = executables(json);
        assert_eq!(found.len(), 1);
        assert_eq!(found["ns_net"], PathBuf::from("/t/release/deps/ns_net-1"));
    }
}
