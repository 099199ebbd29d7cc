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

fn main() {}
