//! HelloWorld through both doors. See tests/e2e/common.rs.

use httpserv_testing::TestRequest;

#[path = "e2e/common.rs"]
mod common;

use common::*;

#[test]
fn hello_world_is_the_same_through_both_doors() {
    let run = same_through_both_doors(
        hello_world::RegisterModule,
        "hello_world",
        &requests([TestRequest::get("/hello"), TestRequest::get("/search/results?q=rust"), TestRequest::post("/form", "a=1")]),
    );
    let hello = &run.responses[0];
    assert_eq!((hello.status, hello.header("Content-Type")), (200, Some("text/plain")));
    assert_eq!(hello.body_str(), "Hello from Rust on IIS!\nYou asked for /hello\n");
    assert_eq!(hello.returned("CHttpModule::OnExecuteRequestHandler").collect::<Vec<_>>(), ["RQ_NOTIFICATION_FINISH_REQUEST"]);
    assert_eq!(run.responses[1].body_str(), "Hello from Rust on IIS!\nYou asked for /search/results\n");
    assert_eq!((run.report.modules_created, run.report.modules_disposed), (3, 3));
}
