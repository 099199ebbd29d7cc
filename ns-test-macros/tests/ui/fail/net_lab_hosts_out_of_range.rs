use ns_test::ns_test;

#[ns_test(net(hosts = 251))]
fn test() {}

fn main() {}
