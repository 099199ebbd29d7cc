use ns_test::ns_test;

#[ns_test(timeout = "abc")]
fn slow() {}

fn main() {}
