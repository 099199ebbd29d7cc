use ns_test::ns_test;

#[ns_test(net(hosts = 2, loss = "150%"))]
fn test() {}

fn main() {}
