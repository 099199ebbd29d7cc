//! Benchmark target: 500 trivial tests, each a plain `#[test]`.
//! Built and run by the `ns-test-bench` runner, not by `cargo test`.

mod gen;

#[allow(unused_imports)]
use gen::trivial;
#[allow(unused_imports)]
use ns_test::ns_test;

macro_rules! one {
    ($name:ident) => {
        #[test]
        fn $name() {
            trivial()
        }
    };
}

tests_x500!(one);
