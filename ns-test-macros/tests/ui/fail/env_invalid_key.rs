use ns_test::ns_test;

#[ns_test(env("A=B" = "1"))]
fn test() {}

fn main() {}
