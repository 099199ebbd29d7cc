use ns_test::ns_test;

#[ns_test(net(hosts = 2, rate = "1mbit", queue = 0))]
fn test() {}

fn main() {}
