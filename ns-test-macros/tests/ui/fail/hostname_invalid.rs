use ns_test::ns_test;

#[ns_test(hostname = "my_box")]
fn named() {}

fn main() {}
