//! `mnt`: a tmpfs root with the system dirs read-only, a fresh `/tmp`, the
//! package reachable at its usual path.

mod common;

use std::path::Path;
use std::process::Command;

use ns_test::{ns_test, Namespaces, Sandbox};

#[ns_test(mnt)]
fn root_and_etc_are_not_writable() {
    for p in ["/etc/ns-test-probe", "/ns-test-probe", "/usr/ns-test-probe"] {
        let e = std::fs::write(p, "x").unwrap_err();
        assert_eq!(e.raw_os_error(), Some(30), "{p}: expected EROFS, got {e}");
    }
}

/// Whether `p` is on the way to a path the sandbox binds (the package and
/// the test binary may live under /tmp).
fn leads_to_a_bound_path(p: &Path) -> bool {
    let exe = std::env::current_exe().unwrap();
    Path::new(env!("CARGO_MANIFEST_DIR")).starts_with(p) || exe.starts_with(p)
}

#[ns_test(mnt)]
fn tmp_is_fresh_and_writable() {
    for e in std::fs::read_dir("/tmp").unwrap() {
        let p = e.unwrap().path();
        assert!(leads_to_a_bound_path(&p), "{} in a fresh /tmp", p.display());
    }
    std::fs::write("/tmp/scratch", "x").unwrap();
    assert_eq!(std::fs::read_to_string("/tmp/scratch").unwrap(), "x");
}

#[ns_test(mnt)]
fn home_and_tmpdir_are_fresh_and_writable() {
    let home = std::env::var("HOME").unwrap();
    assert_eq!(
        std::fs::read_dir(&home).unwrap().count(),
        0,
        "{home} starts empty"
    );
    std::fs::write(Path::new(&home).join(".config"), "x").unwrap();
    assert_eq!(std::env::var("TMPDIR").unwrap(), "/tmp");
    let f = tempfile::NamedTempFile::new().unwrap();
    assert!(f.path().starts_with("/tmp"));
}

#[ns_test(mnt)]
fn package_dir_and_fixtures_are_reachable_read_only() {
    let pkg = Path::new(env!("CARGO_MANIFEST_DIR"));
    let greeting = std::fs::read_to_string(pkg.join("fixtures/data/greeting.txt")).unwrap();
    assert_eq!(greeting.trim(), "hello from a fixture file");
    assert_eq!(std::env::current_dir().unwrap(), pkg);
    assert!(std::fs::write(pkg.join("ns-test-probe"), "x").is_err());
}

#[ns_test(mnt)]
fn fixture_binaries_run_inside() {
    let out = Command::new(common::probe()).output().unwrap();
    assert!(out.status.success());
    assert!(String::from_utf8_lossy(&out.stdout).contains("mounts:"));
}

#[ns_test(mnt)]
fn dev_has_the_basics() {
    use std::io::Read;
    let mut buf = [1u8; 8];
    std::fs::File::open("/dev/zero")
        .unwrap()
        .read_exact(&mut buf)
        .unwrap();
    assert_eq!(buf, [0; 8]);
    std::fs::write("/dev/null", "discarded").unwrap();
    let mut r = [0u8; 8];
    std::fs::File::open("/dev/urandom")
        .unwrap()
        .read_exact(&mut r)
        .unwrap();
    assert!(Path::new("/dev/pts/ptmx").exists());
    assert!(Path::new("/dev/shm").is_dir());
}

#[test]
fn tmp_writes_inside_are_invisible_on_the_host() {
    let name = format!("/tmp/{}", common::token("tmp"));
    let out = Sandbox::new(Namespaces::MNT)
        .output(Command::new("sh").args(["-c", &format!("echo inside > {name} && cat {name}")]))
        .unwrap();
    assert!(out.status.success(), "{out:?}");
    assert_eq!(String::from_utf8_lossy(&out.stdout).trim(), "inside");
    assert!(!Path::new(&name).exists(), "{name} leaked to the host");
}

#[test]
fn the_sandbox_view_is_as_documented() {
    let out = Sandbox::new(Namespaces::ALL)
        .hostname("view")
        .output(&Command::new(common::probe()))
        .unwrap();
    assert!(out.status.success(), "{out:?}");
    insta::assert_snapshot!(String::from_utf8_lossy(&out.stdout));
}

#[test]
fn a_working_directory_of_slash_keeps_tmp_and_home_fresh() {
    let out = Sandbox::new(Namespaces::MNT)
        .output(
            Command::new("sh")
                .current_dir("/")
                .args(["-c", "touch /tmp/t && touch \"$HOME/h\" && pwd"]),
        )
        .unwrap();
    assert!(out.status.success(), "{out:?}");
    assert_eq!(String::from_utf8_lossy(&out.stdout).trim(), "/");
}
