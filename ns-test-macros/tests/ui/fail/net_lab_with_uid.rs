use ns_test::ns_test;

#[ns_test(net(hosts = 2), mnt, uid = 1000)]
fn test() {}

fn main() {}
