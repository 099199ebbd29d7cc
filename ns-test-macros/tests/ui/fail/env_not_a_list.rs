use ns_test::ns_test;

#[ns_test(env = "RUST_LOG=debug")]
fn test() {}

fn main() {}
