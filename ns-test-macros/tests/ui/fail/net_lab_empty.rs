use ns_test::ns_test;

#[ns_test(net())]
fn test() {}

fn main() {}
