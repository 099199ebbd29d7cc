use ns_test::ns_test;

#[ns_test(timeout = "0s")]
fn instant() {}

fn main() {}
