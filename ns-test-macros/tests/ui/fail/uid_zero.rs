use ns_test::ns_test;

#[ns_test(uid = 0)]
fn test() {}

fn main() {}
