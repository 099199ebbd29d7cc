use ns_test::ns_test;

#[ns_test(timeout = "5sec")]
fn slow() {}

fn main() {}
