use ns_test::ns_test;

#[ns_test(net(hosts = 3, seed))]
fn test() {}

fn main() {}
