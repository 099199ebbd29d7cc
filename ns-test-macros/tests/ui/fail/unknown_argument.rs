use ns_test::ns_test;

#[ns_test(net, memroy = "1G")]
fn small() {}

fn main() {}
