use ns_test::ns_test;

#[ns_test(net(hosts = 2, delay = "100msec"))]
fn test() {}

fn main() {}
