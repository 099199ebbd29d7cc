//! Functions and attribute orders the attribute accepts.
use ns_test::ns_test;

#[ns_test(net)]
#[test]
fn test_below() {}

#[test]
#[ns_test(net)]
fn test_above() {}

#[ns_test]
#[::core::prelude::v1::test]
fn absolute_test_below() {}

#[ns_test]
#[should_panic(expected = "boom")]
fn should_panic_below() {
    panic!("boom");
}

#[should_panic]
#[ns_test]
fn should_panic_above() {
    panic!("boom");
}

#[ns_test]
#[ignore = "slow"]
fn ignored() {}

/// Docs and lint levels stay on the function.
#[ns_test(net, timeout = "5s")]
#[allow(clippy::unwrap_used)]
fn documented() {}

#[ns_test(net)]
fn returns_result() -> Result<(), std::io::Error> {
    Ok(())
}

#[ns_test]
fn never_returns() -> ! {
    panic!("never returns");
}

#[ns_test]
pub fn public() {}

#[ns_test]
fn with_lifetime<'a>() {}

#[ns_test]
#[tokio::test]
async fn tokio_below() {
    tokio::task::yield_now().await;
}

#[ns_test(net)]
#[tokio::test(flavor = "multi_thread")]
async fn tokio_below_result() -> Result<(), std::io::Error> {
    Ok(())
}

#[tokio::test]
#[ns_test]
async fn tokio_above() {}

mod nested {
    use ns_test::ns_test;

    #[ns_test(uts, hostname = "box")]
    fn in_a_module() {}
}

fn main() {}
