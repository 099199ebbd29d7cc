use ns_test::ns_test;

#[ns_test(memory = "512K")]
fn test() {}

fn main() {}
