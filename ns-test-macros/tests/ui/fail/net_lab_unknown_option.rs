use ns_test::ns_test;

#[ns_test(net(hosts = 3, latency = "10ms"))]
fn test() {}

fn main() {}
