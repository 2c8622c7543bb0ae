//! The AsyncEcho module through the test server: asynchronous reads and writes, each completed
//! in `OnAsyncCompletion`, with a body fed slowly in pieces from another thread.

use std::time::Duration;

use async_echo::CHUNK;
use httpserv_testing::{Notification, TestRequest, TestServer};

fn server() -> TestServer {
    TestServer::for_module(async_echo::RegisterModule, "async_echo").expect("RegisterModule failed")
}

fn body(len: usize) -> Vec<u8> {
    (0..len).map(|i| (i * 31 % 251) as u8).collect()
}

#[test]
fn echoes_a_small_body() {
    let server = server();
    let response = server.send(TestRequest::post("/echo", "ping from the client"));
    assert_eq!(response.status, 200, "{}", response.transcript());
    assert_eq!(response.body_str(), "ping from the client");
    // One read (pending, completed), one write (pending, completed), the final read at EOF.
    assert_eq!(response.called("CHttpModule::OnAsyncCompletion"), 2, "{}", response.transcript());
    assert_eq!(response.called_during("IHttpResponse::WriteEntityChunks", Notification::AsyncCompletion), 1, "{}", response.transcript());
    server.shutdown();
}

#[test]
fn streams_a_body_larger_than_its_buffer_in_chunks() {
    let server = server();
    let sent = body(3 * CHUNK + 1234);
    let response = server.send(TestRequest::post("/echo", sent.clone()));
    assert_eq!(response.body, sent);
    // Every write is at most one chunk.
    let writes: Vec<_> = response.calls_to("IHttpResponse::WriteEntityChunks").map(|c| c.detail.clone()).collect();
    assert_eq!(writes.len(), 4, "{writes:?}");
    for w in &writes {
        let bytes: usize = w.split(" bytes").next().unwrap().rsplit(' ').next().unwrap().parse().unwrap();
        assert!(bytes <= CHUNK, "{w}");
    }
    server.shutdown();
}

#[test]
fn a_slow_body_arrives_in_pieces_from_another_thread() {
    let server = server();
    let sent = body(10_000);
    let request = TestRequest::post("/echo", sent.clone()).body_pieces(1500, Duration::from_millis(2));
    let response = server.send(request);
    assert_eq!(response.body, sent);
    let reads = response.calls_to("IHttpRequest::ReadEntityBody").filter(|c| c.detail.contains("pending")).count();
    assert_eq!(reads, 7, "{}", response.transcript());
    server.shutdown();
}

#[test]
fn an_empty_body_is_an_empty_response() {
    let server = server();
    let response = server.send(TestRequest::post("/echo", Vec::new()));
    assert_eq!(response.status, 200);
    assert!(response.body.is_empty());
    server.shutdown();
}
