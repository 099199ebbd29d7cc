//! Coverage (`-C instrument-coverage`, as cargo-llvm-cov builds): the
//! profiles of sandboxed tests land where `LLVM_PROFILE_FILE` says, one
//! merged file for all the sandboxes of a test process, none lost or
//! overwritten. `.ci/run` builds this test instrumented; in an ordinary
//! build it says so and passes.
#![allow(clippy::unwrap_used)]

use std::path::{Path, PathBuf};
use std::process::Command;

use ns_test::ns_test;

#[ns_test(mnt, pid)]
#[ignore = "run by profiles_of_sandboxed_tests_land_where_llvm_profile_file_says"]
fn covered_in_a_sandbox() {
    std::hint::black_box(1 + 1);
}

#[ns_test(mnt)]
#[ignore = "run by profiles_of_sandboxed_tests_land_where_llvm_profile_file_says"]
fn covered_in_another_sandbox() {
    std::hint::black_box(2 + 2);
}

/// Runs this test binary with `args` and `LLVM_PROFILE_FILE` pointing into
/// `dir`; the names of the profiles written there.
fn profiles_of(dir: &Path, args: &[&str]) -> Vec<String> {
    let _ = std::fs::remove_dir_all(dir);
    // Made here: a profiler started by an instrumented process makes no
    // directories (`__LLVM_PROFILE_RT_INIT_ONCE` is in its environment).
    std::fs::create_dir_all(dir).unwrap();
    let out = Command::new(std::env::current_exe().unwrap())
        .args(args)
        .env("LLVM_PROFILE_FILE", dir.join("check-%p.profraw"))
        .env_remove("RUST_TEST_NOCAPTURE")
        .output()
        .unwrap();
    assert!(out.status.success(), "{out:?}");
    let mut names: Vec<String> = std::fs::read_dir(dir)
        .map(|d| {
            d.flatten()
                .map(|e| e.file_name().to_string_lossy().into_owned())
                .collect()
        })
        .unwrap_or_default();
    names.sort();
    names
}

/// `llvm-profdata show` of `profile`, if a version that reads it is here.
fn profdata_show(profile: &Path) -> Option<String> {
    let tools = ["llvm-profdata".to_string()]
        .into_iter()
        .chain((14..=30).rev().map(|v| format!("llvm-profdata-{v}")));
    for tool in tools {
        let Ok(out) = Command::new(&tool)
            .args(["show", "--all-functions"])
            .arg(profile)
            .output()
        else {
            continue;
        };
        if out.status.success() {
            return Some(String::from_utf8_lossy(&out.stdout).into_owned());
        }
    }
    None
}

/// The largest execution count `show` gives a function whose name
/// contains `name` (the test, its body, the user's function).
fn count_of(show: &str, name: &str) -> Option<u64> {
    let lines: Vec<&str> = show.lines().collect();
    lines
        .iter()
        .enumerate()
        .filter(|(_, l)| l.trim_start().starts_with('_') && l.contains(name))
        .filter_map(|(i, _)| {
            lines[i + 1..]
                .iter()
                .take(4)
                .find_map(|l| l.trim().strip_prefix("Function count: "))
                .and_then(|c| c.parse().ok())
        })
        .max()
}

#[test]
fn profiles_of_sandboxed_tests_land_where_llvm_profile_file_says() {
    // Under the target directory, which a `mnt` sandbox sees read-only
    // (else `/tmp`, which it does not see at all).
    let exe = std::env::current_exe().unwrap();
    let name = format!("coverage-check-{}", std::process::id());
    let mut dir: PathBuf = exe.ancestors().nth(3).unwrap().join(&name);
    if std::fs::create_dir_all(&dir).is_err() {
        dir = std::env::temp_dir().join(&name);
    }
    // Removed however the test ends, skipped included: nothing left behind.
    struct RemoveOnDrop(PathBuf);
    impl Drop for RemoveOnDrop {
        fn drop(&mut self) {
            let _ = std::fs::remove_dir_all(&self.0);
        }
    }
    let _cleanup = RemoveOnDrop(dir.clone());
    if profiles_of(&dir, &["--list"]).is_empty() {
        eprintln!("skipped: this test binary is not built with -C instrument-coverage");
        return;
    }
    let names = profiles_of(
        &dir,
        &[
            "--ignored",
            "--test-threads=2",
            "--exact",
            "covered_in_a_sandbox",
            "covered_in_another_sandbox",
        ],
    );
    // This process's own profile, and the sandboxes' merged one (`%m`).
    let merged: Vec<&String> = names.iter().filter(|n| n.ends_with("_0.profraw")).collect();
    assert_eq!(names.len(), 2, "{names:?}");
    assert_eq!(merged.len(), 1, "{names:?}");
    let merged = dir.join(merged[0]);
    assert!(std::fs::metadata(&merged).unwrap().len() > 0);
    match profdata_show(&merged) {
        Some(show) => {
            assert_eq!(count_of(&show, "covered_in_a_sandbox"), Some(1), "{show}");
            assert_eq!(
                count_of(&show, "covered_in_another_sandbox"),
                Some(1),
                "{show}"
            );
        }
        None => eprintln!("note: no llvm-profdata that reads this profile; counts not checked"),
    }
}
