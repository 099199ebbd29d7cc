use ns_test::ns_test;

#[ns_test(net(hosts = 3), net(hosts = 2))]
fn test() {}

fn main() {}
