use ns_test::ns_test;

#[ns_test(net(hosts = 0, delay = "2h", loss = "101%", rate = "10mbps", queue = 0, lag = 1), net)]
fn test() {}

fn main() {}
