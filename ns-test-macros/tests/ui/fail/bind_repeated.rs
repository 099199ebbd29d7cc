use ns_test::ns_test;

#[ns_test(mnt, bind = "a:/a", bind = "b:/b")]
fn test() {}

fn main() {}
