//! The seed module through both doors, and its C++ original (simulator/modules/cancel_io_cpp.cpp,
//! compiled by clang for the MSVC ABI) against it. See tests/e2e/common.rs.

use httpserv_testing::TestServer;

#[path = "e2e/common.rs"]
mod common;

use common::*;

#[test]
fn cancel_io_is_the_same_through_both_doors() {
    assert_cancels_io(&same_through_both_doors(cancel_io::RegisterModule, "cancel_io", &seed_request()));
}

/// The seed's C++ module (simulator/modules/cancel_io_cpp.cpp, clang MSVC ABI) and the Rust
/// `cancel_io` module make the same calls: same transcript, response and report (but for how
/// the module object is allocated, see `without_module_bookkeeping`).
#[test]
fn cancel_io_cpp_gives_the_rust_modules_transcript() {
    let rust = without_module_bookkeeping(run(TestServer::new(cancel_io::RegisterModule).unwrap(), &seed_request()));
    let cpp = without_module_bookkeeping(run(dll("cancel_io_cpp"), &seed_request()));
    assert_runs_equal(&rust, &cpp, "Rust cancel_io in-process vs cancel_io_cpp.dll");
    assert_cancels_io(&cpp);
}
