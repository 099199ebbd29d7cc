use ns_test::ns_test;

#[ns_test]
fn generic<T: Default, const N: usize>() {}

fn main() {}
