use ns_test::ns_test;

#[ns_test(net(hosts = 2, rate = "99999999tbit"))]
fn test() {}

fn main() {}
