use ns_test::ns_test;

#[ns_test(time(boottime = "+1h", boottime = "+2h"))]
fn test() {}

fn main() {}
