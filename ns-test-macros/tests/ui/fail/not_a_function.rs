use ns_test::ns_test;

#[ns_test]
struct NotATest;

fn main() {}
