use ns_test::ns_test;

#[ns_test(net(hosts = 2, rate = "fast"))]
fn test() {}

fn main() {}
