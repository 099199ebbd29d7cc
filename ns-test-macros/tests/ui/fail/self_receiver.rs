use ns_test::ns_test;

struct Server;

impl Server {
    #[ns_test]
    fn serves(&self) {}
}

fn main() {}
