use ns_test::ns_test;

#[ns_test(net mnt)]
fn missing_comma() {}

fn main() {}
