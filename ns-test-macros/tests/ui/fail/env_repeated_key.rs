use ns_test::ns_test;

#[ns_test(env(A = "1", B = "2", A = "3"))]
fn test() {}

fn main() {}
