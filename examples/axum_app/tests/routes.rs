//! The axum app through the test server (in-process, or the DLL with `HTTPSERV_DOOR=dll`):
//! every route, a stream that arrives in pieces, an 8 MiB upload read 64 KiB at a time, and a
//! panicking route answered with 500.

use std::time::Duration;

use httpserv_testing::{TestRequest, TestServer};

fn server() -> TestServer {
    TestServer::for_module(axum_app::RegisterModule, "axum_app").expect("RegisterModule failed")
}

fn json(body: &[u8]) -> serde_json::Value {
    serde_json::from_slice(body).unwrap_or_else(|e| panic!("not JSON ({e}): {}", String::from_utf8_lossy(body)))
}

#[test]
fn hello() {
    let server = server();
    let response = server.send(TestRequest::get("/hello"));
    assert_eq!(response.status, 200, "{}", response.transcript());
    assert_eq!(response.body_str(), "Hello, world!");
    assert_eq!(response.header("Content-Type"), Some("text/plain; charset=utf-8"));
    let report = server.shutdown();
    assert_eq!(report.modules_created, report.modules_disposed);
}

#[test]
fn a_path_parameter_and_json_out() {
    let server = server();
    let response = server.send(TestRequest::get("/users/42"));
    assert_eq!(response.status, 200, "{}", response.transcript());
    assert_eq!(response.header("Content-Type"), Some("application/json"));
    assert_eq!(json(&response.body), serde_json::json!({ "id": 42, "name": "user 42" }));
    // Not a number: axum's own 400.
    assert_eq!(server.send(TestRequest::get("/users/abc")).status, 400);
    server.shutdown();
}

#[test]
fn json_in_and_out() {
    let server = server();
    let request = TestRequest::post("/greet", r#"{"name":"iis","times":2}"#).header("Content-Type", "application/json");
    let response = server.send(request);
    assert_eq!(response.status, 200, "{}", response.transcript());
    assert_eq!(json(&response.body), serde_json::json!({ "greeting": "hello iis, hello iis" }));
    // Without the content type axum refuses it (415), through the adapter as from hyper.
    assert_eq!(server.send(TestRequest::post("/greet", "{}")).status, 415);
    server.shutdown();
}

#[test]
fn the_event_stream_arrives_in_pieces() {
    let server = server();
    let response = server.send(TestRequest::get("/events"));
    assert_eq!(response.status, 200, "{}", response.transcript());
    assert_eq!(response.body_str(), "data: event 0\n\ndata: event 1\n\ndata: event 2\n\n");
    assert!(response.buffering_disabled, "{}", response.transcript());
    assert_eq!(response.called("IHttpResponse::WriteEntityChunks"), 3, "{}", response.transcript());
    assert_eq!(response.called("IHttpResponse::Flush"), 3, "{}", response.transcript());
    server.shutdown();
}

#[test]
fn a_large_upload_is_streamed_not_buffered() {
    let server = server();
    let sent: Vec<u8> = (0..8 * 1024 * 1024).map(|i| (i * 31 % 251) as u8).collect();
    let (mut a, mut b) = (1u32, 0u32);
    for &byte in &sent {
        a = (a + byte as u32) % 65521;
        b = (b + a) % 65521;
    }
    let request = TestRequest::post("/upload", sent.clone()).body_pieces(64 * 1024, Duration::ZERO);
    let response = server.send(request);
    assert_eq!(response.status, 200, "{}", response.body_str());
    let answer = json(&response.body);
    assert_eq!(answer["length"], sent.len() as u64);
    assert_eq!(answer["adler32"], (b << 16) | a);
    // The body came in 64 KiB pieces, each asked for by the service: the adapter held at most
    // one read buffer (64 KiB) at a time.
    assert!(answer["largest_piece"].as_u64().unwrap() <= 64 * 1024, "{answer}");
    assert!(answer["pieces"].as_u64().unwrap() >= 128, "{answer}");
    let reads: Vec<_> = response.calls_to("IHttpRequest::ReadEntityBody").map(|c| c.detail.clone()).collect();
    assert!(reads.len() > 128, "{}", reads.len());
    for read in &reads {
        assert!(!read.contains(&format!("{}", sent.len())), "a read asked for the whole body: {read}");
    }
    server.shutdown();
}

#[test]
fn shared_state_counts_visits() {
    let server = server();
    assert_eq!(server.send(TestRequest::get("/visits")).body_str(), "visit 1");
    assert_eq!(server.send(TestRequest::get("/visits")).body_str(), "visit 2");
    server.shutdown();
    // A new registration has its own state.
    let server = self::server();
    assert_eq!(server.send(TestRequest::get("/visits")).body_str(), "visit 1");
    server.shutdown();
}

#[test]
fn iis_values_are_in_the_extensions() {
    let server = server();
    let response = server.send(TestRequest::get("/whoami?x=1").user("CONTOSO\\alice"));
    assert_eq!(response.status, 200, "{}", response.transcript());
    assert_eq!(json(&response.body), serde_json::json!({ "user": "CONTOSO\\alice", "raw_url": "/whoami?x=1" }));
    server.shutdown();
}

#[test]
fn a_panicking_route_gives_500() {
    let server = server();
    let response = server.send(TestRequest::get("/panic"));
    assert_eq!(response.status, 500, "{}", response.transcript());
    assert!(response.transcript().contains("this route panics"), "{}", response.transcript());
    // The module still serves.
    assert_eq!(server.send(TestRequest::get("/hello")).status, 200);
    server.shutdown();
}

#[test]
fn an_unknown_route_is_answered_404() {
    let server = server();
    let response = server.send(TestRequest::get("/nowhere"));
    assert_eq!(response.status, 404, "{}", response.transcript());
    server.shutdown();
}

#[test]
fn trailers_go_out_through_set_trailer_on_http2() {
    let server = server();
    let response = server.send(TestRequest::get("/trailers").http_version(2, 0));
    assert_eq!(response.status, 200, "{}", response.transcript());
    assert_eq!(response.body_str(), "the checksum follows\n");
    assert_eq!(response.header("Trailer"), Some("x-checksum, x-note"));
    assert_eq!(
        response.trailers,
        vec![
            ("x-checksum".to_owned(), "adler32=0a2c0477".to_owned()),
            ("x-note".to_owned(), "one".to_owned()),
            ("x-note".to_owned(), "two".to_owned()),
        ],
        "{}",
        response.transcript()
    );
    assert_eq!(response.called("IHttpResponse4::SetTrailer"), 3, "{}", response.transcript());
    server.shutdown();
}

#[test]
fn trailers_are_dropped_and_traced_on_http1() {
    let server = server();
    let response = server.send(TestRequest::get("/trailers"));
    assert_eq!(response.status, 200, "{}", response.transcript());
    assert_eq!(response.body_str(), "the checksum follows\n");
    assert!(response.trailers.is_empty(), "{:?}", response.trailers);
    assert_eq!(response.called("IHttpResponse4::SetTrailer"), 0);
    assert!(response.transcript().contains("3 response trailer(s) dropped: IIS sends trailers on HTTP/2 only"), "{}", response.transcript());
    server.shutdown();
}

#[test]
fn a_body_failing_after_the_headers_resets_the_http2_stream() {
    let server = server();
    let response = server.send(TestRequest::get("/broken").http_version(2, 0));
    assert_eq!(response.status, 200, "{}", response.transcript());
    assert_eq!(response.body_str(), "data: first\n\n");
    assert_eq!(response.called("IHttpResponse4::ResetStream"), 1, "{}", response.transcript());
    assert_eq!(response.disconnected, httpserv_testing::Disconnect::Reset);
    assert!(response.transcript().contains("the event source broke"), "{}", response.transcript());
    // HTTP/1.1 has no stream to reset: the connection is closed after what was sent.
    let response = server.send(TestRequest::get("/broken"));
    assert_eq!(response.called("IHttpResponse4::ResetStream"), 0, "{}", response.transcript());
    assert_eq!(response.called("IHttpResponse::SetNeedDisconnect"), 1, "{}", response.transcript());
    assert_eq!(response.disconnected, httpserv_testing::Disconnect::AfterResponse);
    server.shutdown();
}

#[test]
fn a_client_that_goes_away_cancels_the_endless_stream() {
    let server = server();
    assert_eq!(server.send(TestRequest::get("/ticks/dropped")).body_str(), "0");
    let started = std::time::Instant::now();
    // 300 ms: time for the first ticks even under valgrind (scripts/valgrind.sh runs this too).
    let response = server.send(TestRequest::get("/ticks").disconnect_after(Duration::from_millis(300)));
    // The stream never ends by itself: the request returned because the disconnect dropped it.
    assert!(started.elapsed() < Duration::from_secs(20), "{:?}", started.elapsed());
    let body = response.body_str();
    assert!(body.starts_with("data: tick 0\n\n"), "{body}\n{}", response.transcript());
    assert!(response.called("IHttpResponse::WriteEntityChunks") >= 1, "{}", response.transcript());
    // The service's stream (and so its future) was dropped once, when the client left.
    assert_eq!(server.send(TestRequest::get("/ticks/dropped")).body_str(), "1");
    let report = server.shutdown();
    assert_eq!(report.modules_created, report.modules_disposed);
}

#[test]
fn the_event_stream_reaches_the_client_event_by_event() {
    // In-process: TestRequest::on_wire is a callback of this process.
    let server = TestServer::new(axum_app::RegisterModule).expect("RegisterModule failed");
    let (tx, rx) = std::sync::mpsc::channel();
    let started = std::time::Instant::now();
    let response = server.send(TestRequest::get("/events").on_wire(move |wire| {
        let piece = match wire {
            httpserv_testing::Wire::Head { status, .. } => format!("head {status}"),
            httpserv_testing::Wire::Body(bytes) => String::from_utf8_lossy(bytes).into_owned(),
            _ => "other".to_owned(),
        };
        tx.send((piece, started.elapsed())).unwrap();
    }));
    assert_eq!(response.status, 200, "{}", response.transcript());
    let pieces: Vec<_> = rx.try_iter().collect();
    let texts: Vec<&str> = pieces.iter().map(|(p, _)| p.as_str()).collect();
    assert_eq!(texts, ["head 200", "data: event 0\n\n", "data: event 1\n\n", "data: event 2\n\n"], "{}", response.transcript());
    // Sent as produced, 10 ms apart, not at the end.
    assert!(pieces[3].1 >= pieces[1].1 + Duration::from_millis(15), "{pieces:?}");
    server.shutdown();
}
