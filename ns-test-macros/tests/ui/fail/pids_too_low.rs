use ns_test::ns_test;

#[ns_test(pids = 1)]
fn test() {}

fn main() {}
