use ns_test::ns_test;

#[ns_test(memory = 64)]
fn test() {}

fn main() {}
