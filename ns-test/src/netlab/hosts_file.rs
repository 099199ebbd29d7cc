//! Host names for every host: a generated hosts file mounted over
//! `/etc/hosts`, from a detached tmpfs (nothing is written anywhere in
//! the file tree). It needs a mount namespace of the sandbox's own
//! (`#[ns_test(mnt)]`, or `pid`, which brings one); elsewhere the mount is
//! refused and names resolve through [`Lab::resolve`](super::Lab::resolve)
//! only.

use std::ffi::CString;
use std::net::Ipv4Addr;
use std::sync::{Mutex, PoisonError};

use super::error::{Error, Step};
use super::sys;

const ETC_HOSTS: &str = "/etc/hosts";

/// Overlays mounted by labs of this process, oldest first, each with
/// whether its lab is gone: only the top one can be unmounted, so a lab
/// dropped while a later one's overlay covers its own leaves the unmount
/// to that later one.
static STACK: Mutex<Vec<(u64, bool)>> = Mutex::new(Vec::new());
static NEXT_ID: std::sync::atomic::AtomicU64 = std::sync::atomic::AtomicU64::new(1);

/// The hosts file: the current one's lines, then the lab's.
pub(crate) fn render(previous: &str, hosts: &[(String, Ipv4Addr)]) -> String {
    let mut out = String::new();
    if previous.trim().is_empty() {
        out.push_str("127.0.0.1\tlocalhost\n::1\tlocalhost ip6-localhost ip6-loopback\n");
    } else {
        out.push_str(previous);
        if !previous.ends_with('\n') {
            out.push('\n');
        }
    }
    out.push_str("# ns-test netlab hosts\n");
    for (name, ip) in hosts {
        out.push_str(&format!("{ip}\t{name}\n"));
    }
    out
}

/// A mounted overlay; unmounted on drop.
#[derive(Debug)]
pub(crate) struct Overlay {
    id: u64,
}

/// Mounts `content` over `/etc/hosts`. `Ok(None)` when this process's
/// mount namespace is not the sandbox's own (the kernel refuses with
/// `EPERM`) or has no `/etc/hosts`.
pub(crate) fn install(content: &str) -> Result<Option<Overlay>, Error> {
    let name = CString::new("hosts")
        .map_err(|_| Error::sys(Step::MountHostsFile, None, "CString", nix::libc::EINVAL))?;
    let target = CString::new(ETC_HOSTS)
        .map_err(|_| Error::sys(Step::MountHostsFile, None, "CString", nix::libc::EINVAL))?;
    let tree = match sys::detached_file_mount(&name, content.as_bytes()) {
        Ok(t) => t,
        // No new mount API (Linux < 5.2), or no right to mount here.
        Err((_, e)) if matches!(e.raw_os_error(), Some(1 | 38)) => return Ok(None),
        Err((call, e)) => return Err(Error::io(Step::MountHostsFile, None, call, &e)),
    };
    let mut stack = STACK.lock().unwrap_or_else(PoisonError::into_inner);
    match sys::move_mount(std::os::fd::AsFd::as_fd(&tree), &target) {
        Ok(()) => {}
        Err(e) if matches!(e.raw_os_error(), Some(1 | 2 | 13)) => return Ok(None),
        Err(e) => return Err(Error::io(Step::MountHostsFile, None, "move_mount", &e)),
    }
    let id = NEXT_ID.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
    stack.push((id, false));
    Ok(Some(Overlay { id }))
}

impl Drop for Overlay {
    fn drop(&mut self) {
        let mut stack = STACK.lock().unwrap_or_else(PoisonError::into_inner);
        if let Some(e) = stack.iter_mut().find(|e| e.0 == self.id) {
            e.1 = true;
        }
        while stack.last().is_some_and(|e| e.1) {
            let _ = nix::mount::umount2(ETC_HOSTS, nix::mount::MntFlags::MNT_DETACH);
            stack.pop();
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_lab_lines_follow_the_previous_file() {
        let hosts = [
            ("h1".to_string(), Ipv4Addr::new(198, 18, 0, 1)),
            ("h2".to_string(), Ipv4Addr::new(198, 18, 0, 2)),
        ];
        assert_eq!(
            render("127.0.0.1 localhost", &hosts),
            "127.0.0.1 localhost\n# ns-test netlab hosts\n198.18.0.1\th1\n198.18.0.2\th2\n"
        );
        assert!(render("", &hosts).starts_with("127.0.0.1\tlocalhost\n"));
    }
}
