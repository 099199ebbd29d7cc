use ns_test::ns_test;

#[ns_test(net(hosts = 2, delay = "10ms", jitter = "0.5ns"))]
fn test() {}

fn main() {}
