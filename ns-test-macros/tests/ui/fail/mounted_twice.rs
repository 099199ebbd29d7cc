use ns_test::ns_test;

#[ns_test(mnt, tmpfs = "/var/lib/app", bind_rw = "state:/var/lib/app/")]
fn test() {}

fn main() {}
