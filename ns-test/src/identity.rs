//! `uid = N, gid = N`: the test body runs as an ordinary user inside.
//!
//! The sandbox's user namespace maps one id, the invoking user, to 0: an
//! unprivileged user owns no other id on the host, so it cannot map a
//! second. Setup needs that root (mounts, hostname, `lo`), so the payload
//! drops it only after setup, by entering a *nested* user namespace that
//! maps N to the sandbox's root and 0 to nothing, then dropping every
//! capability:
//!
//! ```text
//! host            sandbox userns        nested userns (payload)
//! invoking uid ─▶ 0 (setup, full caps) ─▶ N (no capabilities)
//! ```
//!
//! What the test sees is an ordinary user: `getuid() == N`, `CapEff: 0`,
//! permission bits enforced without override (a `chmod 000` file is
//! unreadable, even its own), no mounting, no `chown`, no privileged ports,
//! setuid and file capabilities granting nothing. What stays the same
//! kernel identity is the sandbox's root and the test: files ns-test set
//! up (the fresh `$HOME`, `/tmp`, an extra `tmpfs`) appear owned by N and
//! stay writable; host files of other users appear as `nobody` (65534).
//! Without a setuid helper (`newuidmap`) a second kernel identity is not
//! available to an unprivileged user.

use nix::sched::CloneFlags;

use crate::child::step_err;
use crate::error::{SetupError, Step};
use crate::private::Identity;

/// Makes this (single-threaded) process `id.uid`/`id.gid` without
/// capabilities: a nested user namespace owned by the sandbox's root, its
/// id maps, then every capability dropped.
pub(crate) fn become_user(id: Identity) -> Result<(), SetupError> {
    // 1. A nested user namespace: the caller has every capability in it
    //    until step 3, and none over the sandbox's namespaces.
    nix::sched::unshare(CloneFlags::CLONE_NEWUSER)
        .map_err(|e| step_err(Step::DropIdentity, "unshare(CLONE_NEWUSER)", None, e as i32))?;
    // 2. setgroups=deny, then N → the sandbox's root, the one id it has.
    let write = |path: &str, data: String| {
        std::fs::write(path, data).map_err(|e| {
            step_err(
                Step::DropIdentity,
                "write",
                Some(path.as_ref()),
                e.raw_os_error().unwrap_or(5),
            )
        })
    };
    write("/proc/self/setgroups", "deny".into())?;
    write("/proc/self/uid_map", format!("{} 0 1\n", id.uid))?;
    write("/proc/self/gid_map", format!("{} 0 1\n", id.gid))?;
    // 3. No capabilities, and none to regain.
    crate::sys::drop_capabilities().map_err(|e| {
        step_err(
            Step::DropIdentity,
            "capset",
            None,
            e.raw_os_error().unwrap_or(5),
        )
    })
}
