use ns_test::ns_test;

#[ns_test(mnt, bind("a:/a", b))]
fn test() {}

fn main() {}
