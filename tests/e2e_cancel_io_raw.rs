//! The raw-ABI seed module through both doors. See tests/e2e/common.rs.


#[path = "e2e/common.rs"]
mod common;

use common::*;

#[test]
fn cancel_io_raw_is_the_same_through_both_doors() {
    assert_cancels_io(&same_through_both_doors(cancel_io_raw::RegisterModule, "cancel_io_raw", &seed_request()));
}
