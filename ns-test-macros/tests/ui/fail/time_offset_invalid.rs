use ns_test::ns_test;

#[ns_test(time(monotonic = "+30 days"))]
fn test() {}

fn main() {}
