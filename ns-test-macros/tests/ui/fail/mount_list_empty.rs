use ns_test::ns_test;

#[ns_test(mnt, tmpfs())]
fn test() {}

fn main() {}
