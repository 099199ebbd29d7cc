use ns_test::ns_test;

#[ns_test(timeout = 5)]
fn slow() {}

fn main() {}
