//! Every argument form the attribute accepts.
use ns_test::ns_test;

#[ns_test]
fn no_arguments() {}

#[ns_test()]
fn empty_list() {}

#[ns_test(all)]
fn all() {}

#[ns_test(user)]
fn user_only() {}

#[ns_test(user, net, mnt, pid, ipc, uts, cgroup, time)]
fn every_namespace() {}

#[ns_test(time, net,)]
fn any_order_trailing_comma() {}

#[ns_test(timeout = "500ms")]
fn timeout_alone_keeps_all() {}

#[ns_test(net, timeout = "1.5s")]
fn decimal_timeout() {}

#[ns_test(timeout = "2m", net)]
fn minutes() {}

#[ns_test(pid, timeout = "1h")]
fn hours() {}

#[ns_test(uts, hostname = "box")]
fn hostname_with_uts() {}

#[ns_test(hostname = "build-01.example.org")]
fn hostname_alone_keeps_all() {}

#[ns_test(all, hostname = "box")]
fn hostname_with_all() {}

#[ns_test(uid = 1000)]
fn uid_alone() {}

#[ns_test(uid = 1000, gid = 0)]
fn uid_and_gid() {}

#[ns_test(mnt, bind = "fixtures/certs:/etc/certs", bind_rw = "/srv:/srv", tmpfs = "/var/lib/app")]
fn one_of_each_mount() {}

#[ns_test(mnt, bind("a:/a", "b:/b",), tmpfs("/x", "/y"))]
fn several_mounts() {}

#[ns_test(bind = "fixtures/certs:/etc/certs")]
fn mounts_alone_keep_all() {}

#[ns_test(env(RUST_LOG = "debug", "APP.MODE" = "", r#type = "x",))]
fn environment() {}

#[ns_test(memory = "64M", pids = 64, cpu = "50%")]
fn limits() {}

#[ns_test(memory = "2G", cpu = "250%")]
fn large_limits() {}

#[ns_test(time(monotonic = "+30d", boottime = "-1.5h"))]
fn clock_offsets() {}

#[ns_test(net, time(boottime = "1h"))]
fn one_clock_offset() {}

#[ns_test(net(hosts = 3))]
fn network_lab() {}

#[ns_test(mnt, net(hosts = 250, delay = "100ms", jitter = "10ms", loss = "5%", duplicate = "1%", reorder = "0.5%", rate = "10mbit", queue = 1000, seed = 42,))]
fn network_lab_every_option() {}

#[ns_test(net(hosts = 1, delay = "0ms", loss = "100%", rate = "1.5MBps", seed = 0xdead_beef), all)]
fn network_lab_limits() {}

fn main() {}
