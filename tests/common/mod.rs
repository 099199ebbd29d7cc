//! Helpers shared by the integration tests.
#![allow(dead_code)]

use std::sync::atomic::{AtomicU32, Ordering};

/// A token unique to this process and call, to find what a test created.
pub fn token(what: &str) -> String {
    static N: AtomicU32 = AtomicU32::new(0);
    format!(
        "ns-test-{what}-{}-{}",
        std::process::id(),
        N.fetch_add(1, Ordering::SeqCst)
    )
}

/// Host pids whose command line contains `needle`, seen from the host.
pub fn host_processes_with(needle: &str) -> Vec<u32> {
    let mut found = Vec::new();
    let Ok(dir) = std::fs::read_dir("/proc") else {
        return found;
    };
    for e in dir.flatten() {
        let Some(pid) = e.file_name().to_str().and_then(|s| s.parse::<u32>().ok()) else {
            continue;
        };
        let Ok(cmd) = std::fs::read(format!("/proc/{pid}/cmdline")) else {
            continue;
        };
        if String::from_utf8_lossy(&cmd).contains(needle) {
            // A zombie has an empty cmdline, so this is a live process.
            found.push(pid);
        }
    }
    found
}

/// Path of a fixture program built with this package.
pub fn sleeper() -> &'static str {
    env!("CARGO_BIN_EXE_fixture-sleeper")
}

/// Path of the probe fixture.
pub fn probe() -> &'static str {
    env!("CARGO_BIN_EXE_fixture-probe")
}

/// A field of `/proc/self/status` (`Uid:`, `CapEff:`), trimmed.
pub fn status_field(name: &str) -> String {
    std::fs::read_to_string("/proc/self/status")
        .unwrap()
        .lines()
        .find_map(|l| l.strip_prefix(name).map(|v| v.trim().to_string()))
        .unwrap()
}
