use ns_test::ns_test;

#[ns_test(nett)]
fn binds_8080() {}

fn main() {}
