use ns_test::ns_test;

#[ns_test(net, hostname = "box")]
fn named() {}

fn main() {}
