use ns_test::ns_test;

#[ns_test(net(hosts = 2, rate = "1000000"))]
fn test() {}

fn main() {}
