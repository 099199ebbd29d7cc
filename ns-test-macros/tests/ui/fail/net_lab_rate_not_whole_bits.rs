use ns_test::ns_test;

#[ns_test(net(hosts = 2, rate = "0.5bit"))]
fn test() {}

fn main() {}
