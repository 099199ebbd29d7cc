use ns_test::ns_test;

#[ns_test(mnt, bind = ":/etc/certs")]
fn test() {}

fn main() {}
