//! Lifecycle (global module and per-registration state) through both doors. See tests/e2e/common.rs.

use httpserv_testing::TestRequest;

#[path = "e2e/common.rs"]
mod common;

use common::*;

#[test]
fn lifecycle_is_the_same_through_both_doors() {
    let run = same_through_both_doors(lifecycle::RegisterModule, "lifecycle", &requests([TestRequest::get("/one"), TestRequest::get("/two")]));
    for (i, response) in run.responses.iter().enumerate() {
        assert_eq!(response.header(lifecycle::REQUESTS_SEEN_HEADER), Some((i + 1).to_string().as_str()), "{}", response.transcript());
        assert_eq!(response.called("CGlobalModule::OnGlobalPreBeginRequest"), 1);
    }
    assert!(run.server_calls.iter().any(|c| c.ends_with("CGlobalModule::OnGlobalApplicationStart returned GL_NOTIFICATION_CONTINUE")), "{:#?}", run.server_calls);
    assert_eq!(run.report.called("CGlobalModule::OnGlobalApplicationStop"), 1, "{:#?}", run.report.calls);
    assert!(run.report.global_terminated && run.report.factory_terminated);
    assert_eq!((run.report.modules_created, run.report.modules_disposed), (2, 2));
}
