use ns_test::ns_test;

#[ns_test]
async fn no_runtime() {}

fn main() {}
