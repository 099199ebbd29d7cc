use ns_test::ns_test;

#[ns_test(net(delay = "10ms", loss = "5%"))]
fn test() {}

fn main() {}
