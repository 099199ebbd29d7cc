use ns_test::ns_test;

#[ns_test]
fn takes(_port: u16) {}

fn main() {}
