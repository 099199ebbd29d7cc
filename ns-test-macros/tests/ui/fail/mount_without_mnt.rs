use ns_test::ns_test;

#[ns_test(net, bind = "fixtures/certs:/etc/certs")]
fn test() {}

fn main() {}
