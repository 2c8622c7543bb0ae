//! The AsyncDelay module through the test server: the request is suspended while the timer
//! thread sleeps, and resumed by its wake.

use async_delay::{parse_ms, DEFAULT_MS, MAX_MS};
use httpserv_testing::{Notification, TestRequest, TestServer};

fn server() -> TestServer {
    TestServer::for_module(async_delay::RegisterModule, "async_delay").expect("RegisterModule failed")
}

#[test]
fn waits_then_answers() {
    let server = server();
    let started = std::time::Instant::now();
    let response = server.send(TestRequest::get("/delay?ms=30"));
    assert!(started.elapsed() >= std::time::Duration::from_millis(30));
    assert_eq!(response.status, 200, "{}", response.transcript());
    assert_eq!(response.header("Content-Type"), Some("text/plain"));
    assert_eq!(response.body_str(), "waited 30 ms");
    // Suspended, resumed once by the timer thread's PostCompletion.
    assert_eq!(response.returned("CHttpModule::OnExecuteRequestHandler").collect::<Vec<_>>(), ["RQ_NOTIFICATION_PENDING"]);
    assert_eq!(response.called("IHttpContext::PostCompletion"), 1, "{}", response.transcript());
    assert_eq!(response.called_during("IHttpResponse::WriteEntityChunks", Notification::AsyncCompletion), 1, "{}", response.transcript());
    server.shutdown();
}

#[test]
fn default_wait() {
    let server = server();
    assert_eq!(server.send(TestRequest::get("/")).body_str(), format!("waited {DEFAULT_MS} ms"));
    server.shutdown();
}

#[test]
fn bad_waits_are_400_without_waiting() {
    let server = server();
    for query in ["ms=abc", "ms=10001", "ms=-1", "ms=1&ms=2", "ms="] {
        let response = server.send(TestRequest::get(format!("/?{query}")));
        assert_eq!(response.status, 400, "{query}: {}", response.transcript());
        assert_eq!(response.called("IHttpContext::PostCompletion"), 0, "{query}");
    }
    server.shutdown();
}

#[test]
fn concurrent_requests_all_complete() {
    let server = server();
    std::thread::scope(|s| {
        for t in 0..8 {
            let server = &server;
            s.spawn(move || {
                for i in 0..4 {
                    let ms = (t * 4 + i) % 7;
                    let response = server.send(TestRequest::get(format!("/?ms={ms}")));
                    assert_eq!(response.body_str(), format!("waited {ms} ms"));
                }
            });
        }
    });
    let report = server.shutdown();
    assert_eq!(report.requests, 32);
    assert_eq!(report.modules_created, report.modules_disposed);
}

#[test]
fn parses_the_query() {
    assert_eq!(parse_ms(""), Ok(DEFAULT_MS));
    assert_eq!(parse_ms("x=1&ms=5"), Ok(5));
    assert_eq!(parse_ms(&format!("ms={MAX_MS}")), Ok(MAX_MS));
    assert!(parse_ms("ms=10001").unwrap_err().contains("over"));
}
