use ns_test::ns_test;

#[ns_test(net(hosts = 2, rate = "0kbit"))]
fn test() {}

fn main() {}
