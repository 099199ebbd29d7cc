use ns_test::ns_test;

#[ns_test(pids = "64")]
fn test() {}

fn main() {}
