use ns_test::ns_test;

#[ns_test(pid = "yes")]
fn flag() {}

fn main() {}
