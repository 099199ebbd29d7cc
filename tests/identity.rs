//! `user`, `uts`, `ipc`, `cgroup`, `time`: identity and the smaller
//! namespaces, observed from inside and from the host.

mod common;

use std::process::Command;

use ns_test::{ns_test, Namespaces, Sandbox};

#[ns_test(user)]
fn the_invoking_user_is_root_inside() {
    assert!(common::status_field("Uid:").starts_with("0\t0\t0\t0"));
    assert!(common::status_field("Gid:").starts_with("0\t0\t0\t0"));
    let map = std::fs::read_to_string("/proc/self/uid_map").unwrap();
    let f: Vec<&str> = map.split_whitespace().collect();
    assert_eq!((f[0], f[2]), ("0", "1"), "{map}");
    assert_eq!(
        std::fs::read_to_string("/proc/self/setgroups")
            .unwrap()
            .trim(),
        "deny"
    );
}

#[ns_test(uts, hostname = "inside")]
fn hostname_is_set() {
    assert_eq!(
        std::fs::read_to_string("/proc/sys/kernel/hostname")
            .unwrap()
            .trim(),
        "inside"
    );
}

#[ns_test(uts)]
fn default_hostname_is_stable() {
    assert_eq!(
        std::fs::read_to_string("/proc/sys/kernel/hostname")
            .unwrap()
            .trim(),
        ns_test::DEFAULT_HOSTNAME
    );
}

#[test]
fn a_hostname_set_inside_is_unchanged_outside() {
    let before = std::fs::read_to_string("/proc/sys/kernel/hostname").unwrap();
    let out = Sandbox::new(Namespaces::UTS)
        .output(Command::new("sh").args(["-c", "hostname changed-inside && hostname"]))
        .unwrap();
    assert!(out.status.success(), "{out:?}");
    assert_eq!(
        String::from_utf8_lossy(&out.stdout).trim(),
        "changed-inside"
    );
    assert_eq!(
        std::fs::read_to_string("/proc/sys/kernel/hostname").unwrap(),
        before
    );
}

fn sysv_shm_keys() -> Vec<String> {
    std::fs::read_to_string("/proc/sysvipc/shm")
        .unwrap()
        .lines()
        .skip(1)
        .filter_map(|l| l.split_whitespace().next().map(str::to_string))
        .collect()
}

#[ns_test(ipc)]
fn ipc_namespace_starts_empty() {
    assert_eq!(sysv_shm_keys(), Vec::<String>::new());
}

#[test]
fn a_sysv_segment_created_inside_is_invisible_outside() {
    let host_before = sysv_shm_keys();
    let out = Sandbox::new(Namespaces::IPC)
        .output(Command::new("sh").args([
            "-c",
            "ipcmk -M 4096 >/dev/null && tail -n +2 /proc/sysvipc/shm | wc -l",
        ]))
        .unwrap();
    assert!(out.status.success(), "{out:?}");
    assert_eq!(
        String::from_utf8_lossy(&out.stdout).trim(),
        "1",
        "segment exists inside"
    );
    // Nothing new on the host: the segment lived and died in the sandbox.
    assert_eq!(sysv_shm_keys(), host_before);
    let host_ids = Command::new("ipcs").arg("-m").output().unwrap();
    assert!(!String::from_utf8_lossy(&host_ids.stdout).contains("ns-test"));
}

#[ns_test(cgroup)]
fn cgroup_namespace_root_is_the_sandbox() {
    // In a fresh cgroup namespace the own cgroup is the namespace's root,
    // in every hierarchy (v2, and v1 ones where mounted).
    let cg = std::fs::read_to_string("/proc/self/cgroup").unwrap();
    assert!(cg.lines().all(|l| l.ends_with(":/")), "{cg}");
    assert!(cg.lines().any(|l| l == "0::/"), "{cg}");
}

#[ns_test(time)]
fn time_namespace_is_own() {
    let own = std::fs::read_link("/proc/self/ns/time").unwrap();
    let parent = std::fs::read_link("/proc/1/ns/time");
    // The sandbox's time namespace differs from the host init's (when visible).
    if let Ok(p) = parent {
        assert_ne!(own, p);
    }
    assert!(std::fs::read_to_string("/proc/self/timens_offsets").is_ok());
}

#[test]
fn namespaces_differ_from_the_hosts() {
    for (ns, flag) in [
        ("net", Namespaces::NET),
        ("uts", Namespaces::UTS),
        ("ipc", Namespaces::IPC),
        ("mnt", Namespaces::MNT),
        ("user", Namespaces::USER),
        ("cgroup", Namespaces::CGROUP),
    ] {
        let host = std::fs::read_link(format!("/proc/self/ns/{ns}")).unwrap();
        let out = Sandbox::new(flag)
            .output(Command::new("readlink").arg(format!("/proc/self/ns/{ns}")))
            .unwrap();
        let inside = String::from_utf8_lossy(&out.stdout).trim().to_string();
        assert_ne!(inside, host.to_string_lossy(), "{ns}");
        assert!(inside.starts_with(&format!("{ns}:[")), "{ns}: {inside}");
    }
}
