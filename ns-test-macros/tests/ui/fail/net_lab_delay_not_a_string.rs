use ns_test::ns_test;

#[ns_test(net(hosts = 2, delay = 100))]
fn test() {}

fn main() {}
