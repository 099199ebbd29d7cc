use ns_test::ns_test;

#[ns_test]
#[test]
#[test]
fn twice() {}

fn main() {}
