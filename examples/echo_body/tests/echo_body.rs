//! Runs the EchoBody module in the test server (in-process, or its DLL with HTTPSERV_DOOR=dll: TestServer::for_module).

use echo_body::MAX_BODY;
use httpserv_testing::{Disconnect, Notification, TestRequest, TestServer};

fn server() -> TestServer {
    TestServer::for_module(echo_body::RegisterModule, "echo_body").expect("RegisterModule failed")
}

/// Bytes that are not all alike, so a dropped or repeated chunk shows.
fn pattern(len: usize) -> Vec<u8> {
    (0..len).map(|i| (i % 251) as u8).collect()
}

#[test]
fn registers_only_the_execute_request_handler() {
    let server = server();
    assert_eq!(server.request_notifications(), httpserv::sys::RQ_EXECUTE_REQUEST_HANDLER);
    assert_eq!(server.post_request_notifications(), 0);
}

#[test]
fn echoes_a_small_body_with_its_content_type() {
    let server = server();
    let response = server.send(TestRequest::post("/echo", "hello, IIS").header("Content-Type", "text/plain; charset=utf-8"));
    assert_eq!(response.status, 200, "{}", response.transcript());
    assert_eq!(response.header("Content-Type"), Some("text/plain; charset=utf-8"));
    assert_eq!(response.body_str(), "hello, IIS");
    assert_eq!(response.disconnected, Disconnect::None);
}

#[test]
fn echoes_a_100_kb_body_in_chunks() {
    let server = server();
    let body = pattern(100 * 1024);
    let response = server.send(TestRequest::post("/echo", body.clone()).header("Content-Type", "application/octet-stream"));
    assert_eq!(response.status, 200, "{}", response.transcript());
    assert_eq!(response.body.len(), body.len());
    assert!(response.body == body, "the echoed body differs from the request's");
    // Read through the stack buffer: several reads, the last one reporting the end.
    let reads = response.called_during("IHttpRequest::ReadEntityBody", Notification::ExecuteRequestHandler);
    assert!(reads > 1, "{reads} ReadEntityBody calls");
}

#[test]
fn echoes_a_body_of_exactly_the_limit() {
    let server = server();
    let body = pattern(MAX_BODY);
    let response = server.send(TestRequest::new("PUT", "/echo").body(body.clone()));
    assert_eq!(response.status, 200);
    assert!(response.body == body);
    // No Content-Type in the request: the body is sent as bytes.
    assert_eq!(response.header("Content-Type"), Some("application/octet-stream"));
}

#[test]
fn refuses_a_body_over_1_mib_with_413() {
    let server = server();
    let response = server.send(TestRequest::post("/echo", pattern(MAX_BODY + 1)).header("Content-Type", "text/plain"));
    assert_eq!(response.status, 413, "{}", response.transcript());
    assert_eq!(response.reason, "Payload Too Large");
    assert_eq!(response.body_str(), format!("request body larger than {MAX_BODY} bytes\n"));
    assert_eq!(response.header("Content-Type"), Some("text/plain"));
    // Refused on Content-Length, before reading the body.
    assert_eq!(response.called("IHttpRequest::ReadEntityBody"), 0, "{}", response.transcript());
    assert_eq!(response.disconnected, Disconnect::AfterResponse);
}

#[test]
fn an_empty_body_gives_an_empty_200() {
    let server = server();
    let response = server.send(TestRequest::get("/echo"));
    assert_eq!(response.status, 200, "{}", response.transcript());
    assert!(response.body.is_empty());
    assert_eq!(response.header("Content-Type"), Some("application/octet-stream"));

    let empty_post = server.send(TestRequest::post("/echo", Vec::new()).header("Content-Type", "application/json"));
    assert_eq!(empty_post.status, 200);
    assert!(empty_post.body.is_empty());
    assert_eq!(empty_post.header("Content-Type"), Some("application/json"));

    let report = server.shutdown();
    assert_eq!(report.modules_created, report.modules_disposed);
}
