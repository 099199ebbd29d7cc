use ns_test::ns_test;

#[ns_test(cpu = "0%")]
fn test() {}

fn main() {}
