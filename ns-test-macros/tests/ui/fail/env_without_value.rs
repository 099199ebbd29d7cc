use ns_test::ns_test;

#[ns_test(env(RUST_LOG))]
fn test() {}

fn main() {}
