use ns_test::ns_test;

#[ns_test]
#[tokio::test]
#[test]
async fn twice() {}

fn main() {}
