//! Benchmark target: 500 trivial tests, each a `rusty_fork_test!` (fork + re-exec per test).
//! Built and run by the `ns-test-bench` runner, not by `cargo test`.

mod gen;

#[allow(unused_imports)]
use gen::trivial;
#[allow(unused_imports)]
use ns_test::ns_test;
#[allow(unused_imports)]
use rusty_fork::rusty_fork_test;

macro_rules! one {
    ($name:ident) => {
        rusty_fork_test! {
            #[test]
            fn $name() {
                trivial()
            }
        }
    };
}

tests_x500!(one);
