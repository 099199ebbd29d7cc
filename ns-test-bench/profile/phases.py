#!/usr/bin/env python3
"""Per-test phase breakdown of an ns-test binary run at --test-threads=1.

Input: `perf script -F comm,pid,tid,time,event,trace` of a recording made
with raw_syscalls:sys_enter/sys_exit and sched:sched_process_{fork,exit,exec}
(see profile.sh). Tests run one after another, so the k-th keeper forked by
the fork server belongs to the k-th test thread.

Prints the median duration of each phase of a test's critical path, the
syscalls each process of a sandbox makes (count and summed in-kernel time),
and the fork server's start-up.
"""

import re
import statistics
import sys
from collections import defaultdict

UNISTD = "/usr/include/x86_64-linux-gnu/asm/unistd_64.h"


def syscall_names():
    names = {}
    try:
        for line in open(UNISTD):
            m = re.match(r"#define __NR_(\w+)\s+(\d+)", line)
            if m:
                names[int(m.group(2))] = m.group(1)
    except OSError:
        pass
    names.setdefault(435, "clone3")
    names.setdefault(436, "close_range")
    names.setdefault(442, "mount_setattr")
    return names


NAMES = syscall_names()
LINE = re.compile(r"^\s*(.+?)\s+(\d+)/(\d+)\s+([\d.]+):\s+(\S+):\s*(.*)$")


class Sys:
    __slots__ = ("name", "enter", "exit", "ret", "args")

    def __init__(self, name, enter, args):
        self.name, self.enter, self.exit, self.ret, self.args = name, enter, None, None, args


def parse(path):
    calls = defaultdict(list)  # tid -> [Sys]
    open_call = {}
    forks = []  # (time, parent_tid, child_tid)
    exits = {}  # tid -> time
    execs = {}  # pid -> (time, filename)
    comm = {}
    first_seen = {}
    for line in open(path, errors="replace"):
        m = LINE.match(line)
        if not m:
            continue
        c, pid, tid, t, ev, rest = m.groups()
        pid, tid, t = int(pid), int(tid), float(t) * 1e3  # ms
        comm.setdefault(tid, set()).add(c.strip())
        first_seen.setdefault(tid, t)
        if ev == "raw_syscalls:sys_enter":
            nr = int(rest.split()[1])
            s = Sys(NAMES.get(nr, str(nr)), t, rest)
            calls[tid].append(s)
            open_call[tid] = s
        elif ev == "raw_syscalls:sys_exit":
            s = open_call.pop(tid, None)
            if s is not None:
                s.exit = t
                s.ret = rest.split("=")[-1].strip()
        elif ev == "sched:sched_process_fork":
            child = int(re.search(r"child_pid=(\d+)", rest).group(1))
            forks.append((t, tid, child))
        elif ev == "sched:sched_process_exit":
            exits[tid] = t
        elif ev == "sched:sched_process_exec":
            execs[pid] = (t, rest)
    return calls, forks, exits, execs, comm, first_seen


def children(forks, parent):
    return [(t, c) for (t, p, c) in forks if p == parent]


def first(calls, tid, name, after=None):
    for s in calls.get(tid, []):
        if s.name == name and (after is None or s.enter >= after):
            return s
    return None


def last(calls, tid, name):
    found = None
    for s in calls.get(tid, []):
        if s.name == name:
            found = s
    return found


def main(path):
    calls, forks, exits, execs, comm, first_seen = parse(path)
    server = next((p for p, (_, f) in execs.items() if "/proc/self/exe" in f), None)
    if server is None:
        sys.exit("no fork server exec in the trace")
    test_tids = sorted(
        (first_seen[t], t) for t, cs in comm.items() if any(re.match(r"a\d::b\d::t\d", c) for c in cs)
        and t not in {c for (_, _, c) in children_of_any(forks, server)}
    )
    keepers = [c for (_, c) in sorted(children(forks, server))]
    # Thread-creation forks of the test binary's main thread that are not
    # test threads (the fork-server thread) are excluded by name above.
    tests = [t for (_, t) in test_tids]
    test_threads = [t for t in tests if first(calls, t, "sendmsg") is not None]
    n = min(len(test_threads), len(keepers))
    phases = defaultdict(list)
    per_role = {r: defaultdict(lambda: [0, 0.0]) for r in ("test thread", "keeper", "reaper", "payload")}
    mount_calls = []
    for i in range(n):
        tt, k = test_threads[i], keepers[i]
        rk = children(forks, k)
        if not rk:
            continue
        reaper = rk[0][1]
        rp = children(forks, reaper)
        if not rp:
            continue
        payload = rp[0][1]
        req = last(calls, tt, "sendmsg")
        kfork = next(t for (t, p, c) in forks if c == k)
        un = first(calls, k, "unshare")
        kclone = first(calls, k, "clone")
        mounts = [s for s in calls[reaper] if s.name in ("mount", "mount_setattr", "pivot_root", "umount2")]
        setup = [s for s in calls[reaper] if s.name in ("mount", "mount_setattr", "pivot_root", "umount2",
                                                        "mkdir", "statx", "newfstatat", "symlink", "readlink",
                                                        "chdir", "openat", "close")]
        sock = first(calls, reaper, "socket")
        ioctls = [s for s in calls[reaper] if s.name == "ioctl"]
        rclone = first(calls, reaper, "clone")
        p_start = first_seen.get(payload)
        body_spawn = first(calls, payload, "clone3")
        p_report = first(calls, payload, "sendto")
        p_exitg = first(calls, payload, "exit_group")
        r_reports = [s for s in calls[reaper] if s.name == "sendto"]
        r_exitg = first(calls, reaper, "exit_group")
        k_wait = [s for s in calls[k] if s.name == "wait4"]
        k_exitg = first(calls, k, "exit_group")
        eof = [s for s in calls[tt] if s.name == "recvfrom" and s.ret == "0"]
        if None in (req, un, kclone, rclone, body_spawn, p_report, r_exitg, k_exitg) or not eof:
            continue
        if mounts:
            first_mount, last_pivot = mounts[0], mounts[-1]
        else:
            # No mount namespace: a zero-length recipe where the reaper starts.
            first_mount = last_pivot = Sys("none", kclone.exit, "")
            last_pivot.exit = kclone.exit
        lo_end = ioctls[-1].exit if ioctls else last_pivot.exit
        P = phases
        P["1 request: test thread sendmsg -> server forks keeper"].append(kfork - req.enter)
        P["2 keeper: fds, Hello report -> unshare"].append(un.enter - kfork)
        P["3 unshare(all flags)"].append(un.exit - un.enter)
        P["4 setgroups/uid_map/gid_map"].append(kclone.enter - un.exit)
        P["5 fork reaper (keeper's clone)"].append(kclone.exit - kclone.enter)
        P["6 reaper start -> first mount"].append(first_mount.enter - kclone.exit)
        P["7 mount recipe: first mount -> umount2(oldroot) done"].append(last_pivot.exit - first_mount.enter)
        P["8 lo up (socket + SIOCGIFFLAGS + SIOCSIFFLAGS)"].append(lo_end - last_pivot.exit)
        P["9 hostname, signalfd -> fork payload"].append(rclone.enter - lo_end)
        P["10 fork payload (reaper's clone)"].append(rclone.exit - rclone.enter)
        P["11 payload: env, chdir -> spawn body thread"].append(body_spawn.enter - rclone.exit)
        P["12 body thread: spawn, run, join -> Body report"].append(p_report.enter - body_spawn.enter)
        P["13 payload exit -> reaper reports Exit"].append(r_reports[-1].enter - p_report.enter)
        P["14 reaper exit (pid/mnt/net ns teardown) -> keeper's wait4 returns"].append(
            k_wait[-1].exit - r_exitg.enter)
        P["15 keeper reports, exits -> test thread sees EOF"].append(eof[-1].exit - k_wait[-1].exit)
        P["   total: sendmsg -> EOF"].append(eof[-1].exit - req.enter)
        nxt = test_threads[i + 1] if i + 1 < len(test_threads) else None
        if nxt:
            P["16 test thread: EOF -> next test's sendmsg (libtest + request build)"].append(
                last(calls, nxt, "sendmsg").enter - eof[-1].exit)
        mount_calls.append(len([s for s in mounts if s.name == "mount"]))
        for role, tid in (("test thread", tt), ("keeper", k), ("reaper", reaper), ("payload", payload)):
            for s in calls[tid]:
                if s.exit is None:
                    continue
                acc = per_role[role][s.name]
                acc[0] += 1
                acc[1] += s.exit - s.enter
        P["   (reaper: summed time inside mount/mkdir/statx/... syscalls)"].append(
            sum(s.exit - s.enter for s in setup if s.exit))
    print(f"tests analysed: {len(phases['   total: sendmsg -> EOF'])} of {len(test_threads)}")
    print()
    print("| phase | median ms | p90 ms |")
    print("| --- | ---: | ---: |")
    for name in sorted(phases, key=lambda s: (int(s.split()[0]) if s.split()[0].isdigit() else 99, s)):
        v = sorted(phases[name])
        p90 = v[min(len(v) - 1, int(len(v) * 0.9))]
        print(f"| {name} | {statistics.median(v):.3f} | {p90:.3f} |")
    print()
    if mount_calls:
        print(f"mount(2) calls per sandbox: {statistics.median(mount_calls):.0f}")
    tests_n = max(1, len(phases["   total: sendmsg -> EOF"]))
    for role, acc in per_role.items():
        total_n = sum(a[0] for a in acc.values()) / tests_n
        total_t = sum(a[1] for a in acc.values()) / tests_n
        top = sorted(acc.items(), key=lambda kv: -kv[1][1])[:8]
        desc = ", ".join(f"{k} {v[0] / tests_n:.0f}× {v[1] / tests_n * 1e3:.0f}µs" for k, v in top)
        print(f"{role}: {total_n:.0f} syscalls, {total_t:.3f} ms in the kernel; top: {desc}")
    # Fork-server start: the test thread's spawn of /proc/self/exe until the
    # server's first recvmsg.
    exec_t = execs[server][0]
    srv_first_recv = first(calls, server, "recvmsg")
    spawner = next((p for (t, p, c) in forks if c == server), None)
    spawn_clone = None
    if spawner is not None:
        spawn_clone = next((s for s in calls[spawner] if s.name in ("clone", "clone3", "vfork")
                            and s.ret and s.ret.strip() == str(server)), None)
    start = spawn_clone.enter if spawn_clone else exec_t
    if srv_first_recv:
        print(f"fork server start (spawn -> exec -> first recvmsg): {srv_first_recv.enter - start:.3f} ms "
              f"(exec -> recvmsg {srv_first_recv.enter - exec_t:.3f} ms)")


def children_of_any(forks, parent):
    """Every descendant of `parent` (by fork events)."""
    out, todo = [], [parent]
    while todo:
        p = todo.pop()
        for (t, pp, c) in forks:
            if pp == p:
                out.append((t, pp, c))
                todo.append(c)
    return out


if __name__ == "__main__":
    main(sys.argv[1])
