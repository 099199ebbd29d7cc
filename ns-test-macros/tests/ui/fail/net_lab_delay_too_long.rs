use ns_test::ns_test;

#[ns_test(net(hosts = 2, delay = "2h"))]
fn test() {}

fn main() {}
