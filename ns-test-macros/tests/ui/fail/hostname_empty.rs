use ns_test::ns_test;

#[ns_test(hostname = "")]
fn named() {}

fn main() {}
