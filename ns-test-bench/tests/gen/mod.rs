//! Generators shared by the benchmark's test targets.
//!
//! `tests_x500!(one)` calls the macro `one!(name)` 500 times, once per test,
//! in nested modules `a0..a4::b0..b9` with names `t0..t9`: the full test
//! names are `a3::b7::t1`, so `--exact` selects one and a filter `a0::`
//! selects a hundred. `tests_x10!(one)` makes ten, for the smoke target.
//!
//! Each target defines `one!` for its variant before invoking these; the
//! generated modules see it (textual macro scope reaches into inline
//! modules) and import the target's root with `use super::*`.

/// The body of every benchmark test: nothing a sandbox could change.
#[inline(never)]
pub fn trivial() {
    std::hint::black_box(1 + 1);
}

/// Ten tests, `t0..t9`, in the current module.
#[macro_export]
macro_rules! tests_x10 {
    ($one:ident) => {
        $one!(t0);
        $one!(t1);
        $one!(t2);
        $one!(t3);
        $one!(t4);
        $one!(t5);
        $one!(t6);
        $one!(t7);
        $one!(t8);
        $one!(t9);
    };
}

/// A hundred tests in modules `b0..b9`.
#[macro_export]
macro_rules! tests_x100 {
    ($one:ident) => {
        mod b0 {
            #[allow(unused_imports)]
            use super::*;
            $crate::tests_x10!($one);
        }
        mod b1 {
            #[allow(unused_imports)]
            use super::*;
            $crate::tests_x10!($one);
        }
        mod b2 {
            #[allow(unused_imports)]
            use super::*;
            $crate::tests_x10!($one);
        }
        mod b3 {
            #[allow(unused_imports)]
            use super::*;
            $crate::tests_x10!($one);
        }
        mod b4 {
            #[allow(unused_imports)]
            use super::*;
            $crate::tests_x10!($one);
        }
        mod b5 {
            #[allow(unused_imports)]
            use super::*;
            $crate::tests_x10!($one);
        }
        mod b6 {
            #[allow(unused_imports)]
            use super::*;
            $crate::tests_x10!($one);
        }
        mod b7 {
            #[allow(unused_imports)]
            use super::*;
            $crate::tests_x10!($one);
        }
        mod b8 {
            #[allow(unused_imports)]
            use super::*;
            $crate::tests_x10!($one);
        }
        mod b9 {
            #[allow(unused_imports)]
            use super::*;
            $crate::tests_x10!($one);
        }
    };
}

/// Five hundred tests in modules `a0..a4`.
#[macro_export]
macro_rules! tests_x500 {
    ($one:ident) => {
        mod a0 {
            #[allow(unused_imports)]
            use super::*;
            $crate::tests_x100!($one);
        }
        mod a1 {
            #[allow(unused_imports)]
            use super::*;
            $crate::tests_x100!($one);
        }
        mod a2 {
            #[allow(unused_imports)]
            use super::*;
            $crate::tests_x100!($one);
        }
        mod a3 {
            #[allow(unused_imports)]
            use super::*;
            $crate::tests_x100!($one);
        }
        mod a4 {
            #[allow(unused_imports)]
            use super::*;
            $crate::tests_x100!($one);
        }
    };
}
