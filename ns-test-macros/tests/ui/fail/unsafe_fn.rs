use ns_test::ns_test;

#[ns_test]
unsafe fn dangerous() {}

fn main() {}
