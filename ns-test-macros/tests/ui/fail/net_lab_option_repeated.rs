use ns_test::ns_test;

#[ns_test(net(hosts = 3, delay = "10ms", delay = "20ms"))]
fn test() {}

fn main() {}
