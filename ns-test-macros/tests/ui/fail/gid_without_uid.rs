use ns_test::ns_test;

#[ns_test(gid = 100)]
fn test() {}

fn main() {}
