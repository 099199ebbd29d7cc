use ns_test::ns_test;

#[ns_test(memory = "64MB")]
fn test() {}

fn main() {}
