//! A child request through both doors (e2e/support/child_request): `CloneContext`, the clone's
//! `SetUrl`, an asynchronous `ExecuteRequest` completing in the parent's `OnAsyncCompletion`,
//! the child's buffered response read from the clone, `ReleaseClonedContext` once. Bodies,
//! transcripts and reports must be equal in-process and through the DLL door. See
//! tests/e2e/common.rs.

use httpserv_testing::TestRequest;

#[path = "e2e/common.rs"]
mod common;

use common::*;

#[test]
fn a_child_request_is_the_same_through_both_doors() {
    let requests = requests([TestRequest::get("/page").header("X-Who", "alice"), TestRequest::get("/page")]);
    let run = same_through_both_doors(child_request::RegisterModule, "child_request", &requests);
    let [alice, nobody] = &run.responses[..] else { panic!("two responses") };
    assert_eq!(alice.body_str(), "page [200 fragment for alice]", "{}", alice.transcript());
    assert_eq!(nobody.body_str(), "page [200 fragment for nobody]", "{}", nobody.transcript());
    for response in [alice, nobody] {
        assert_eq!(response.called("IHttpContext::CloneContext"), 1, "{}", response.transcript());
        // The call, and the simulator's line for the child's completion.
        let executes: Vec<_> = response.calls_to("IHttpContext::ExecuteRequest").map(|c| c.detail.as_str()).collect();
        assert_eq!(executes.len(), 2, "{}", response.transcript());
        assert!(executes[0].contains("asynchronous -> S_OK, completion pending"), "{executes:?}");
        assert!(executes[1].contains("child /fragment completed: status 200"), "{executes:?}");
        assert_eq!(response.called("IHttpContext::ReleaseClonedContext"), 1, "{}", response.transcript());
        assert_eq!(response.called("CHttpModule::OnAsyncCompletion"), 1, "{}", response.transcript());
        // The child's header stays on the child.
        assert_eq!(response.header("X-Child"), None);
    }
}
