use ns_test::ns_test;

#[ns_test(net)]
#[ns_test(mnt)]
fn twice() {}

fn main() {}
