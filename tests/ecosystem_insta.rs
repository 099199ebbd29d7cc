//! insta inside a `mnt` sandbox: snapshots are compared against the
//! committed ones, and a new or changed snapshot is written next to them
//! (`.snap.new`) for `cargo insta review`, though the rest of the package
//! is read-only in there.

use std::path::{Path, PathBuf};
use std::process::Command;

use ns_test::ns_test;

const PENDING: &str = "ecosystem_insta__pending_from_a_sandbox.snap.new";

fn snapshots_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/snapshots")
}

#[ns_test(mnt, uts, hostname = "snapshot-box")]
fn snapshot_inside_a_sandbox() {
    let report = format!(
        "hostname: {}\nuid_map: {}\n",
        std::fs::read_to_string("/proc/sys/kernel/hostname")
            .unwrap()
            .trim(),
        std::fs::read_to_string("/proc/self/uid_map")
            .unwrap()
            .split_whitespace()
            .next()
            .unwrap(),
    );
    insta::assert_snapshot!(report);
}

#[ns_test(mnt)]
fn insta_knows_the_workspace_root_without_cargo() {
    // The root package of this workspace: its workspace root is itself.
    let root = std::env::var_os("INSTA_WORKSPACE_ROOT").expect("set for insta");
    assert_eq!(
        std::fs::canonicalize(root).unwrap(),
        std::fs::canonicalize(env!("CARGO_MANIFEST_DIR")).unwrap()
    );
}

#[ns_test(mnt)]
fn only_snapshot_dirs_of_the_package_are_writable() {
    let package = Path::new(env!("CARGO_MANIFEST_DIR"));
    let e = std::fs::write(package.join("ns-test-probe"), "x").unwrap_err();
    assert_eq!(e.raw_os_error(), Some(30), "the package is read-only: {e}");
    // Writable as a mount; whether this user may write there is the host's
    // business (EACCES for a user who does not own the checkout).
    let probe = snapshots_dir().join(format!(".ns-test-probe-{}", std::process::id()));
    match std::fs::write(&probe, "x") {
        Ok(()) => std::fs::remove_file(&probe).unwrap(),
        Err(e) => assert_eq!(e.raw_os_error(), Some(13), "{e}"),
    }
}

/// Fails its snapshot (none is committed) when `NS_TEST_INSTA` is set.
#[ns_test(mnt)]
#[ignore = "writes a pending snapshot when NS_TEST_INSTA is set"]
fn child_pending_snapshot() {
    if std::env::var_os("NS_TEST_INSTA").is_none() {
        return;
    }
    insta::assert_snapshot!("pending_from_a_sandbox", "written from inside a sandbox");
}

/// Removes the pending snapshot however the test ends.
struct RemoveOnDrop(PathBuf);

impl Drop for RemoveOnDrop {
    fn drop(&mut self) {
        let _ = std::fs::remove_file(&self.0);
    }
}

#[test]
fn pending_snapshots_are_written_for_review() {
    let pending = snapshots_dir().join(PENDING);
    let probe = snapshots_dir().join(format!(".ns-test-host-probe-{}", std::process::id()));
    if std::fs::write(&probe, "x").is_err() {
        eprintln!(
            "skipped: {} is not writable by this user",
            snapshots_dir().display()
        );
        return;
    }
    let _ = std::fs::remove_file(&probe);
    let _cleanup = RemoveOnDrop(pending.clone());
    let out = Command::new(std::env::current_exe().unwrap())
        .args(["--ignored", "--exact", "child_pending_snapshot"])
        .env("NS_TEST_INSTA", "1")
        // As on a developer's machine: not CI, insta's default behaviour.
        .env_remove("CI")
        .env_remove("INSTA_UPDATE")
        .env_remove("INSTA_FORCE_PASS")
        .env_remove("RUST_TEST_NOCAPTURE")
        .output()
        .unwrap();
    let text =
        String::from_utf8_lossy(&out.stdout).into_owned() + &String::from_utf8_lossy(&out.stderr);
    assert!(
        !out.status.success(),
        "a new snapshot fails the test:\n{text}"
    );
    assert!(!text.contains("cargo metadata failed"), "{text}");
    let written = std::fs::read_to_string(&pending)
        .unwrap_or_else(|e| panic!("{}: {e}\n{text}", pending.display()));
    assert!(
        written.contains("written from inside a sandbox"),
        "{written}"
    );
    assert!(
        written.contains("source: tests/ecosystem_insta.rs"),
        "{written}"
    );
}
