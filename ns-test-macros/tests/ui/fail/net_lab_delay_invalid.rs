use ns_test::ns_test;

#[ns_test(net(hosts = 2, delay = "fast"))]
fn test() {}

fn main() {}
