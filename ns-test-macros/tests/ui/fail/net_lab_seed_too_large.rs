use ns_test::ns_test;

#[ns_test(net(hosts = 2, seed = 18446744073709551616))]
fn test() {}

fn main() {}
