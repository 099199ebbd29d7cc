use ns_test::ns_test;

#[ns_test(uid = 1000, gid = 4294967295)]
fn test() {}

fn main() {}
