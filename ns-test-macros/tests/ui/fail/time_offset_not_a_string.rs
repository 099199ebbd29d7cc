use ns_test::ns_test;

#[ns_test(time(monotonic = 30))]
fn test() {}

fn main() {}
