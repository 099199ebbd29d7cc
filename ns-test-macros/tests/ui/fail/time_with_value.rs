use ns_test::ns_test;

#[ns_test(time = "+1h")]
fn test() {}

fn main() {}
