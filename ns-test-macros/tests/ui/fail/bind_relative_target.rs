use ns_test::ns_test;

#[ns_test(mnt, bind = "fixtures/certs:etc/certs")]
fn test() {}

fn main() {}
