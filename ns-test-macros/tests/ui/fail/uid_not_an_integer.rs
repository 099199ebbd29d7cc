use ns_test::ns_test;

#[ns_test(uid = "1000")]
fn test() {}

fn main() {}
