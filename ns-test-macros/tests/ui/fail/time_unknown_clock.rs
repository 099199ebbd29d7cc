use ns_test::ns_test;

#[ns_test(time(realtime = "+1h"))]
fn test() {}

fn main() {}
