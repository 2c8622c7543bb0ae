//! Runs the HelloWorld module in the test server (in-process, or its DLL with HTTPSERV_DOOR=dll: TestServer::for_module).

use httpserv_testing::{Notification, TestRequest, TestServer};

fn server() -> TestServer {
    TestServer::for_module(hello_world::RegisterModule, "hello_world").expect("RegisterModule failed")
}

#[test]
fn registers_only_the_execute_request_handler() {
    let server = server();
    assert_eq!(server.request_notifications(), httpserv::sys::RQ_EXECUTE_REQUEST_HANDLER);
    assert_eq!(server.post_request_notifications(), 0);
    assert!(!server.has_global_module());
    assert_eq!(hello_world::HelloWorld::MODULE_NAME, "HelloWorld");
}

#[test]
fn answers_with_a_plain_text_greeting() {
    let server = server();
    let response = server.send(TestRequest::get("/hello"));
    assert_eq!(response.status, 200, "{}", response.transcript());
    assert_eq!(response.reason, "OK");
    assert_eq!(response.header("Content-Type"), Some("text/plain"));
    assert_eq!(response.body_str(), "Hello from Rust on IIS!\nYou asked for /hello\n");
    assert!(response.body.starts_with(hello_world::GREETING.as_bytes()));
    // Everything happens in ExecuteRequestHandler, which finishes the request.
    assert_eq!(response.called_during("IHttpResponse::SetStatus", Notification::ExecuteRequestHandler), 1);
    assert_eq!(response.called("CHttpModule::OnExecuteRequestHandler"), 1);
}

#[test]
fn the_path_excludes_the_query_string() {
    let server = server();
    let response = server.send(TestRequest::get("/search/results?q=rust&page=2").header("Accept", "text/plain"));
    assert_eq!(response.status, 200, "{}", response.transcript());
    assert_eq!(response.body_str(), "Hello from Rust on IIS!\nYou asked for /search/results\n");
    assert!(!response.body_str().contains("q=rust"));
}

#[test]
fn answers_any_method_and_leaves_nothing_behind() {
    let server = server();
    let post = server.send(TestRequest::post("/form", "a=1"));
    assert_eq!(post.status, 200, "{}", post.transcript());
    assert_eq!(post.body_str(), "Hello from Rust on IIS!\nYou asked for /form\n");
    let root = server.send(TestRequest::get("/"));
    assert_eq!(root.body_str(), "Hello from Rust on IIS!\nYou asked for /\n");

    let report = server.shutdown();
    assert_eq!(report.requests, 2);
    assert_eq!(report.modules_created, 2);
    assert_eq!(report.modules_disposed, 2);
    assert!(report.factory_terminated);
}
