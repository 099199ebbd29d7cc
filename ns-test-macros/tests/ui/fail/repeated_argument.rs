use ns_test::ns_test;

#[ns_test(net, mnt, net)]
fn twice() {}

fn main() {}
