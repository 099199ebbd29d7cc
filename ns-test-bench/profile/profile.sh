#!/usr/bin/env bash
# Where the time of one sandboxed test goes: records 100 tests of the
# benchmark's ns_all / ns_net / ns_user binaries at --test-threads=1 with
# perf tracepoints (raw syscalls + fork/exit/exec: ~1 µs per event, unlike
# strace's ~40 µs per syscall), then prints the per-phase medians
# (phases.py), a `perf stat` of each whole binary, and where kernel CPU goes
# (`perf record -g`, inclusive, selected kernel entry points).
#
# Needs perf (apt-get install linux-perf) and root or
# kernel.perf_event_paranoid <= -1 for tracepoints.
#   ns-test-bench/profile/profile.sh [OUT_DIR]
set -euo pipefail
cd "$(dirname "$0")/../.."
OUT=${1:-target/ns-test-bench-profile}
mkdir -p "$OUT"
json=$(cargo test -p ns-test-bench --release --no-run --message-format=json \
    --test ns_user --test ns_net --test ns_all --test plain --test rusty_fork 2>/dev/null)
bin() {
    printf '%s\n' "$json" | python3 -c '
import json, sys
for l in sys.stdin:
    m = json.loads(l)
    if m.get("reason") == "compiler-artifact" and m["target"]["name"] == sys.argv[1] and m.get("executable"):
        print(m["executable"])' "$1"
}
for v in ns_user ns_net ns_all; do
    b=$(bin "$v")
    echo "### $v: phases of one test (median of 100, --test-threads=1)"
    perf record -q -o "$OUT/$v.trace.data" \
        -e raw_syscalls:sys_enter -e raw_syscalls:sys_exit \
        -e sched:sched_process_fork -e sched:sched_process_exit -e sched:sched_process_exec \
        -- "$b" --test-threads=1 -q a0:: >/dev/null 2>&1
    perf script -i "$OUT/$v.trace.data" -F comm,pid,tid,time,event,trace 2>/dev/null >"$OUT/$v.script"
    python3 ns-test-bench/profile/phases.py "$OUT/$v.script"
    echo
done
for v in plain rusty_fork ns_user ns_net ns_all; do
    b=$(bin "$v")
    echo "### $v: perf stat, 500 tests, --test-threads=1 (per test)"
    perf stat -x, -e task-clock,page-faults,context-switches -- "$b" --test-threads=1 -q 2>&1 >/dev/null |
        awk -F, '{printf "  %s: %.3f\n", $3, $1/500}'
done
for v in ns_user ns_all; do
    b=$(bin "$v")
    echo "### $v: kernel CPU by entry point (inclusive %, perf record -g)"
    perf record -q -g -F 9999 -o "$OUT/$v.cpu.data" -- "$b" --test-threads=1 -q >/dev/null 2>&1
    perf report -i "$OUT/$v.cpu.data" --children --sort sym --stdio -g none 2>/dev/null |
        grep -E '\] (kernel_clone|copy_process|exc_page_fault|ksys_unshare|copy_net_ns|copy_mnt_ns|create_user_ns|__x64_sys_mount|__x64_sys_mkdir|__x64_sys_statx|__x64_sys_umount|__x64_sys_pivot_root|__x64_sys_mount_setattr|devinet_ioctl|do_exit|do_sys_openat2|map_write)$' || true
done
