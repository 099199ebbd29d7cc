use ns_test::ns_test;

#[ns_test(net(hosts = 2, rate = "10mb"))]
fn test() {}

fn main() {}
