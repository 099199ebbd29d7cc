use ns_test::ns_test;

#[ns_test(nett, pid, pid, timeout = "0s", hostname = "-box-")]
async fn many<T>(_port: u16) {}

fn main() {}
