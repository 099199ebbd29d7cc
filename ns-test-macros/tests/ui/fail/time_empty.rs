use ns_test::ns_test;

#[ns_test(time())]
fn test() {}

fn main() {}
