//! `stage = BeginRequest` with `fall_through_on_404`: the service answers what it routes at the
//! start of the pipeline (nothing later runs), and a 404 from it goes on to the rest of the
//! pipeline, where another module's handler answers.

use httpserv::HttpContext;
use httpserv_testing::{Notification, TestRequest, TestServer};

fn app() -> axum::Router {
    axum::Router::new().route("/api/hello", axum::routing::get(|| async { "from axum" }))
}

httpserv_tower::declare_module! {
    pub struct Early(axum::Router) = app();
    stage = BeginRequest;
    options = httpserv_tower::Options { fall_through_on_404: true, ..Default::default() };
}

/// Plays the handler after it (a static-file handler, another module) at ExecuteRequestHandler.
fn with_next_handler(request: TestRequest) -> TestRequest {
    request.other_module(Notification::ExecuteRequestHandler, |raw| {
        // SAFETY: the simulator's live context of this request, used during the call only.
        let context = unsafe { HttpContext::from_raw(raw) }.unwrap();
        let response = context.response();
        response.set_status(200, "OK").unwrap();
        response.set_header("Content-Type", "text/plain").unwrap();
        response.write(b"from the next handler").unwrap();
    })
}

fn server() -> TestServer {
    // In-process: TestRequest::other_module runs a closure of this process.
    TestServer::new(RegisterModule).expect("RegisterModule failed")
}

#[test]
fn the_module_registers_for_begin_request_only() {
    let server = server();
    assert_eq!(server.request_notifications(), httpserv::sys::RQ_BEGIN_REQUEST);
    assert_eq!(server.post_request_notifications(), 0);
    server.shutdown();
}

#[test]
fn a_routed_request_is_answered_at_begin_request_and_ends_there() {
    let server = server();
    let response = server.send(with_next_handler(TestRequest::get("/api/hello")));
    assert_eq!(response.status, 200, "{}", response.transcript());
    assert_eq!(response.body_str(), "from axum", "{}", response.transcript());
    let handlers: Vec<_> = response.notifications().iter().map(|h| h.method()).collect();
    assert_eq!(handlers, ["CHttpModule::OnBeginRequest"], "{}", response.transcript());
    assert!(
        response.transcript().contains("CHttpModule::OnBeginRequest returned RQ_NOTIFICATION_FINISH_REQUEST"),
        "{}",
        response.transcript()
    );
    server.shutdown();
}

#[test]
fn a_404_falls_through_to_the_next_handler_without_writing_anything() {
    let server = server();
    let response = server.send(with_next_handler(TestRequest::get("/static/logo.png")));
    assert_eq!(response.status, 200, "{}", response.transcript());
    assert_eq!(response.body_str(), "from the next handler", "{}", response.transcript());
    assert_eq!(response.header("Content-Type"), Some("text/plain"));
    let transcript = response.transcript();
    assert!(transcript.contains("CHttpModule::OnBeginRequest returned RQ_NOTIFICATION_CONTINUE"), "{transcript}");
    // The adapter set no status, header or body: the only ones are the next handler's.
    assert_eq!(response.called("IHttpResponse::SetStatus"), 1, "{transcript}");
    assert_eq!(response.called("IHttpResponse::SetHeader"), 1, "{transcript}");
    assert_eq!(response.called("IHttpResponse::WriteEntityChunks"), 1, "{transcript}");
    assert_eq!(response.called_during("IHttpResponse::SetStatus", Notification::BeginRequest), 0, "{transcript}");
    server.shutdown();
}
