use ns_test::ns_test;

#[ns_test(cpu = "0.5")]
fn test() {}

fn main() {}
