use ns_test::ns_test;

#[ns_test(net(hosts = 2, rate = "10Mbps"))]
fn test() {}

fn main() {}
