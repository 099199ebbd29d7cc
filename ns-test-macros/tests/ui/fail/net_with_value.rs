use ns_test::ns_test;

#[ns_test(net = 3)]
fn test() {}

fn main() {}
