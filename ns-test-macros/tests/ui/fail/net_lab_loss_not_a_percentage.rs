use ns_test::ns_test;

#[ns_test(net(hosts = 2, loss = "0.05"))]
fn test() {}

fn main() {}
