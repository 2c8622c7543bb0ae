//! The TokioTimer module through the test server: a tokio task on the module's runtime answers,
//! the request is suspended meanwhile and resumed by the runtime's thread.

use httpserv_testing::{TestRequest, TestServer};

#[test]
fn a_tokio_task_answers_the_suspended_request() {
    let server = TestServer::for_module(tokio_timer::RegisterModule, "tokio_timer").expect("RegisterModule failed");
    for _ in 0..3 {
        let response = server.send(TestRequest::get("/"));
        assert_eq!(response.status, 200, "{}", response.transcript());
        assert_eq!(response.body_str(), "answered by tokio-timer-module");
        assert_eq!(response.returned("CHttpModule::OnExecuteRequestHandler").collect::<Vec<_>>(), ["RQ_NOTIFICATION_PENDING"]);
        assert_eq!(response.called("IHttpContext::PostCompletion"), 1, "{}", response.transcript());
    }
    let report = server.shutdown();
    assert_eq!(report.modules_created, report.modules_disposed);
}
