use ns_test::ns_test;

#[ns_test(net, memory = "1G")]
fn small() {}

fn main() {}
