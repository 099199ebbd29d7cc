//! What the tools around `cargo test` expect of a sandbox, so they keep
//! working on sandboxed tests.
//!
//! - **insta** finds the workspace root with `cargo metadata` unless
//!   `INSTA_WORKSPACE_ROOT` is set, and cargo is not reachable in a `mnt`
//!   sandbox: the test thread finds the root once (the nearest directory
//!   up from the package whose `Cargo.toml` has a `[workspace]`) and sets
//!   the variable when it is unset. Snapshots are written next to the
//!   sources, in `snapshots` directories: the package's are bound
//!   read-write, so pending snapshots (`.snap.new`) land where
//!   `cargo insta review` finds them. Nothing else of the package is
//!   writable.
//! - **Coverage** (`-C instrument-coverage`, cargo-llvm-cov): profiles are
//!   written where `LLVM_PROFILE_FILE` says, when the sandboxed process
//!   exits; that directory is bound read-write. The file name is fixed when
//!   the profiler starts, in the fork server, so every sandbox of a test
//!   process would share it: the server's pattern gets `%m` (LLVM's merge
//!   mode: the profile is merged into the file under a lock) when it has
//!   none, instead of each sandbox overwriting the last one's profile.

use std::collections::HashMap;
use std::ffi::{OsStr, OsString};
use std::os::unix::ffi::OsStrExt;
use std::path::{Component, Path, PathBuf};
use std::sync::{Mutex, OnceLock};

use crate::private::ns;
use crate::protocol::{MountKind, MountRequest, Request};

/// The variable insta reads for the workspace root.
pub(crate) const INSTA_WORKSPACE_ROOT: &str = "INSTA_WORKSPACE_ROOT";
/// LLVM's profile file pattern.
pub(crate) const LLVM_PROFILE_FILE: &str = "LLVM_PROFILE_FILE";

/// How deep [`snapshot_dirs`] looks into a package.
const SEARCH_DEPTH: usize = 8;
/// How many directories [`snapshot_dirs`] reads at most.
const SEARCH_LIMIT: usize = 10_000;

/// Adds to a `mnt` sandbox's request what insta and coverage need:
/// `INSTA_WORKSPACE_ROOT`, and read-write binds of the package's
/// `snapshots` directories and of the profile directory.
pub(crate) fn adapt(req: &mut Request, manifest_dir: &str) {
    if req.namespaces & ns::MNT == 0 {
        return;
    }
    // At run time, cargo and nextest say where the package is now (an
    // archive may have moved it); else where it was built.
    let package = env_of(&req.env, "CARGO_MANIFEST_DIR")
        .map(PathBuf::from)
        .filter(|p| p.is_dir())
        .unwrap_or_else(|| PathBuf::from(manifest_dir));
    if !package.is_absolute() {
        return;
    }
    if env_of(&req.env, INSTA_WORKSPACE_ROOT).is_none() {
        let root = workspace_root(&package);
        req.env
            .push((INSTA_WORKSPACE_ROOT.into(), root.into_os_string()));
    }
    let mut writable = snapshot_dirs(&package);
    if let Some(pattern) = env_of(&req.env, LLVM_PROFILE_FILE) {
        writable.extend(profile_dir(Path::new(pattern), &req.cwd));
    }
    for dir in writable {
        let source = std::fs::canonicalize(&dir).unwrap_or_else(|_| dir.clone());
        req.options.mounts.push(MountRequest {
            kind: MountKind::BindRw,
            source,
            target: dir,
        });
    }
}

/// The `LLVM_PROFILE_FILE` the fork server should start with, when it
/// differs from this process's: with `%m` added (see the module docs).
pub(crate) fn server_profile_pattern() -> Option<OsString> {
    let pattern = std::env::var_os(LLVM_PROFILE_FILE)?;
    merging_pattern(&pattern)
}

/// `pattern` with `%m` before its `.profraw` (or at its end), unless it
/// merges already (`%m`, `%4m`) or is in continuous mode (`%c`).
fn merging_pattern(pattern: &OsStr) -> Option<OsString> {
    let bytes = pattern.as_bytes();
    if bytes.is_empty() {
        return None;
    }
    let mut i = 0;
    while i < bytes.len() {
        if bytes[i] == b'%' {
            let mut j = i + 1;
            while j < bytes.len() && bytes[j].is_ascii_digit() {
                j += 1;
            }
            if matches!(bytes.get(j), Some(b'm' | b'c')) {
                return None;
            }
            i = j;
        }
        i += 1;
    }
    let (stem, ext) = match bytes.strip_suffix(b".profraw") {
        Some(stem) => (stem, &b".profraw"[..]),
        None => (bytes, &b""[..]),
    };
    let mut out = stem.to_vec();
    out.extend_from_slice(b"-%m");
    out.extend_from_slice(ext);
    Some(OsStr::from_bytes(&out).to_os_string())
}

/// The directory profiles matching `pattern` go to (relative patterns from
/// `cwd`): its longest leading part without `%` expansions, created if
/// missing, as the profiler would.
fn profile_dir(pattern: &Path, cwd: &Path) -> Option<PathBuf> {
    let path = cwd.join(pattern);
    let mut dir = PathBuf::new();
    for c in path.parent()?.components() {
        if c.as_os_str().as_bytes().contains(&b'%') {
            break;
        }
        dir.push(c);
    }
    // Never the whole root.
    dir.parent()?;
    std::fs::create_dir_all(&dir).ok()?;
    Some(dir)
}

fn env_of<'a>(env: &'a [(OsString, OsString)], key: &str) -> Option<&'a OsStr> {
    env.iter()
        .rev()
        .find(|(k, _)| k == key)
        .map(|(_, v)| v.as_os_str())
}

/// The workspace root of the package at `package`, as `cargo metadata`
/// reports it: the nearest directory, from the package up, whose
/// `Cargo.toml` has a `[workspace]` table; else the package itself.
pub(crate) fn workspace_root(package: &Path) -> PathBuf {
    static ROOTS: OnceLock<Mutex<HashMap<PathBuf, PathBuf>>> = OnceLock::new();
    let roots = ROOTS.get_or_init(Default::default);
    let mut roots = roots.lock().unwrap_or_else(|p| p.into_inner());
    roots
        .entry(package.to_path_buf())
        .or_insert_with(|| {
            package
                .ancestors()
                .find(|dir| declares_workspace(&dir.join("Cargo.toml")))
                .unwrap_or(package)
                .to_path_buf()
        })
        .clone()
}

fn declares_workspace(manifest: &Path) -> bool {
    std::fs::read_to_string(manifest).is_ok_and(|text| {
        text.lines().any(|line| {
            let line = line.trim();
            line == "[workspace]" || line.starts_with("[workspace.")
        })
    })
}

/// The `snapshots` directories of the package at `package` (insta's
/// default place for snapshot files, next to the sources), found once per
/// process. Not searched: hidden directories, cargo target directories
/// (`CACHEDIR.TAG`), `node_modules`, and other packages (their own
/// `Cargo.toml`).
pub(crate) fn snapshot_dirs(package: &Path) -> Vec<PathBuf> {
    static FOUND: OnceLock<Mutex<HashMap<PathBuf, Vec<PathBuf>>>> = OnceLock::new();
    let found = FOUND.get_or_init(Default::default);
    let mut found = found.lock().unwrap_or_else(|p| p.into_inner());
    found
        .entry(package.to_path_buf())
        .or_insert_with(|| search_snapshot_dirs(package))
        .clone()
}

fn search_snapshot_dirs(package: &Path) -> Vec<PathBuf> {
    let mut found = Vec::new();
    let mut queue = vec![(package.to_path_buf(), 0usize)];
    let mut read = 0;
    while let Some((dir, depth)) = queue.pop() {
        read += 1;
        if read > SEARCH_LIMIT {
            break;
        }
        let Ok(entries) = std::fs::read_dir(&dir) else {
            continue;
        };
        for entry in entries.flatten() {
            // Not followed: symlinks (`file_type` does not follow them).
            if !entry.file_type().is_ok_and(|t| t.is_dir()) {
                continue;
            }
            let name = entry.file_name();
            let path = entry.path();
            if name == "snapshots" {
                found.push(path);
                continue;
            }
            let skip = name.as_bytes().starts_with(b".")
                || name == "node_modules"
                || depth + 1 >= SEARCH_DEPTH
                || path.join("CACHEDIR.TAG").exists()
                || path.join("Cargo.toml").exists();
            if !skip {
                queue.push((path, depth + 1));
            }
        }
    }
    found.sort();
    // Plain paths only: the sandbox recreates them component by component.
    found.retain(|p| {
        p.components()
            .all(|c| matches!(c, Component::RootDir | Component::Normal(_)))
    });
    found
}

#[cfg(test)]
mod tests {
    use super::*;

    fn pattern(p: &str) -> Option<String> {
        merging_pattern(OsStr::new(p)).map(|s| s.into_string().unwrap_or_default())
    }

    #[test]
    fn patterns_get_merge_mode() {
        assert_eq!(
            pattern("/t/x-%p.profraw").as_deref(),
            Some("/t/x-%p-%m.profraw")
        );
        assert_eq!(
            pattern("default.profraw").as_deref(),
            Some("default-%m.profraw")
        );
        assert_eq!(pattern("/t/x-%h").as_deref(), Some("/t/x-%h-%m"));
        assert_eq!(pattern("/t/x-%p-%m.profraw"), None);
        assert_eq!(pattern("/t/x-%p-%8m.profraw"), None);
        assert_eq!(pattern("/t/x-%c%p.profraw"), None);
        assert_eq!(pattern(""), None);
    }

    #[test]
    fn profile_dirs() {
        let tmp = std::env::temp_dir().join(format!("ns-test-tools-{}", std::process::id()));
        let dir = profile_dir(&tmp.join("a/b-%p.profraw"), Path::new("/"));
        assert_eq!(dir.as_deref(), Some(tmp.join("a").as_path()));
        assert!(tmp.join("a").is_dir());
        let dir = profile_dir(Path::new("c/%h/x.profraw"), &tmp);
        assert_eq!(dir.as_deref(), Some(tmp.join("c").as_path()));
        assert_eq!(profile_dir(Path::new("/x.profraw"), Path::new("/")), None);
        let _ = std::fs::remove_dir_all(&tmp);
    }

    #[test]
    fn workspace_and_snapshot_dirs() {
        let tmp = std::env::temp_dir().join(format!("ns-test-ws-{}", std::process::id()));
        let member = tmp.join("crates/member");
        for dir in [
            "crates/member/tests/snapshots",
            "crates/member/src/deep/snapshots",
            "crates/member/target/debug/snapshots",
            "crates/member/.git/snapshots",
            "crates/member/nested/tests/snapshots",
        ] {
            std::fs::create_dir_all(tmp.join(dir)).unwrap();
        }
        std::fs::write(
            tmp.join("Cargo.toml"),
            "[workspace]\nmembers = [\"crates/*\"]\n",
        )
        .unwrap();
        std::fs::write(member.join("Cargo.toml"), "[package]\nname = \"member\"\n").unwrap();
        std::fs::write(member.join("target/CACHEDIR.TAG"), "").unwrap();
        std::fs::write(member.join("nested/Cargo.toml"), "[package]\n").unwrap();
        assert_eq!(workspace_root(&member), tmp);
        assert_eq!(workspace_root(&tmp), tmp);
        assert_eq!(
            snapshot_dirs(&member),
            [
                member.join("src/deep/snapshots"),
                member.join("tests/snapshots")
            ]
        );
        let lone = tmp.join("lone");
        std::fs::create_dir_all(&lone).unwrap();
        std::fs::write(tmp.join("Cargo.toml"), "[package]\n").unwrap();
        assert_eq!(workspace_root(&lone), lone);
        let _ = std::fs::remove_dir_all(&tmp);
    }
}
