//! The benchmark's generators at ten tests per variant: run by
//! `cargo test --workspace` so the 500-test targets keep compiling and
//! passing between benchmark runs.

mod gen;

use gen::trivial;
use ns_test::ns_test;
use rusty_fork::rusty_fork_test;

macro_rules! one_plain {
    ($name:ident) => {
        #[test]
        fn $name() {
            trivial()
        }
    };
}

macro_rules! one_user {
    ($name:ident) => {
        #[ns_test(user)]
        fn $name() {
            trivial()
        }
    };
}

macro_rules! one_net {
    ($name:ident) => {
        #[ns_test(net)]
        fn $name() {
            trivial()
        }
    };
}

macro_rules! one_all {
    ($name:ident) => {
        #[ns_test]
        fn $name() {
            trivial()
        }
    };
}

macro_rules! one_rusty_fork {
    ($name:ident) => {
        rusty_fork_test! {
            #[test]
            fn $name() {
                trivial()
            }
        }
    };
}

mod plain {
    use super::*;
    tests_x10!(one_plain);
}

mod ns_user {
    use super::*;
    tests_x10!(one_user);
}

mod ns_net {
    use super::*;
    tests_x10!(one_net);
}

mod ns_all {
    use super::*;
    tests_x10!(one_all);
}

mod forked {
    use super::*;
    tests_x10!(one_rusty_fork);
}
