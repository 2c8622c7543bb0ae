//! The default stage (ExecuteRequestHandler) with and without `fall_through_on_404`: with it, a
//! 404 from the service leaves the response untouched and returns RQ_NOTIFICATION_CONTINUE (IIS's
//! next handler answers); the service's other answers are written as usual.

use httpserv_testing::{Notification, TestRequest, TestServer};

fn app() -> axum::Router {
    axum::Router::new().route("/api/hello", axum::routing::get(|| async { "from axum" }))
}

httpserv_tower::declare_module! {
    pub struct Handler(axum::Router) = app();
    options = httpserv_tower::Options { fall_through_on_404: true, ..Default::default() };
}

#[test]
fn a_404_returns_continue_having_written_nothing() {
    let server = TestServer::new(RegisterModule).expect("RegisterModule failed");
    assert_eq!(server.request_notifications(), httpserv::sys::RQ_EXECUTE_REQUEST_HANDLER);
    let response = server.send(TestRequest::get("/nowhere"));
    let transcript = response.transcript();
    assert!(transcript.contains("CHttpModule::OnExecuteRequestHandler returned RQ_NOTIFICATION_CONTINUE"), "{transcript}");
    for call in ["IHttpResponse::SetStatus", "IHttpResponse::SetHeader", "IHttpResponse::WriteEntityChunks", "IHttpResponse::Clear"] {
        assert_eq!(response.called_during(call, Notification::ExecuteRequestHandler), 0, "{call}: {transcript}");
    }
    assert!(response.body.is_empty(), "{transcript}");

    // A route it has is answered and ends the request.
    let response = server.send(TestRequest::get("/api/hello"));
    assert_eq!(response.body_str(), "from axum", "{}", response.transcript());
    assert!(response.transcript().contains("returned RQ_NOTIFICATION_FINISH_REQUEST"), "{}", response.transcript());
    server.shutdown();
}
