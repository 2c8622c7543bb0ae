//! AsyncYield through the test server: one suspension per request, resumed by the completion
//! the notification posted as it returned PENDING.

use httpserv_testing::{Notification, TestRequest, TestServer};

#[test]
fn suspends_once_and_continues() {
    let server = TestServer::for_module(async_yield::RegisterModule, "async_yield").expect("RegisterModule failed");
    for _ in 0..3 {
        let response = server.send(TestRequest::get("/"));
        assert_eq!(response.returned("CHttpModule::OnExecuteRequestHandler").collect::<Vec<_>>(), ["RQ_NOTIFICATION_PENDING"], "{}", response.transcript());
        assert_eq!(response.called_during("IHttpContext::PostCompletion", Notification::ExecuteRequestHandler), 1, "{}", response.transcript());
        assert_eq!(response.returned("CHttpModule::OnAsyncCompletion").collect::<Vec<_>>(), ["RQ_NOTIFICATION_CONTINUE"], "{}", response.transcript());
        // Nothing answered: the pipeline goes on to IIS's own 404 (no handler wrote a response).
        assert_eq!(response.called("IHttpResponse::WriteEntityChunks"), 0);
    }
    let report = server.shutdown();
    assert_eq!((report.modules_created, report.modules_disposed), (3, 3));
}
