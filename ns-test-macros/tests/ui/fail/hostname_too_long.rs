use ns_test::ns_test;

#[ns_test(hostname = "a23456789.b23456789.c23456789.d23456789.e23456789.f23456789.g2345")]
fn named() {}

fn main() {}
