use ns_test::ns_test;

#[ns_test(net = "yes")]
fn flag() {}

fn main() {}
