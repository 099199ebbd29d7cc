use ns_test::ns_test;

#[ns_test(mnt, bind_rw = "state:/var/../etc")]
fn test() {}

fn main() {}
