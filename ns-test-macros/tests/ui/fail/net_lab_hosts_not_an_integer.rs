use ns_test::ns_test;

#[ns_test(net(hosts = "3"))]
fn test() {}

fn main() {}
