//! The echo module against IIS's WebSocket module in the simulator: text and binary messages
//! (whole and fragmented), the close handshake, a disconnect, a request that is not an upgrade,
//! and a server without the WebSocket module. In-process, or through the module's DLL with
//! `HTTPSERV_DOOR=dll` (see `TestServer::for_module`).

use httpserv_testing::{ServerMessage, TestRequest, TestServer, WebSocketClient};

fn server() -> TestServer {
    let server = TestServer::for_module(websocket_echo::RegisterModule, "websocket_echo").unwrap();
    server.enable_websocket_module();
    server
}

#[test]
fn echoes_text_and_binary_then_closes() {
    let server = server();
    let client = WebSocketClient::new().text("hello").binary(&[0, 1, 2, 255]).text("ünïcode").close(1000, "bye");
    let response = server.send(TestRequest::websocket("/echo", client));
    assert_eq!(response.status, 101, "{}", response.transcript());
    assert_eq!(response.header("Upgrade"), Some("websocket"));
    // RFC 6455's own example key and answer (section 1.3), computed by the WebSocket module.
    assert_eq!(response.header("Sec-WebSocket-Accept"), Some("s3pPLMBiTxaQ9kYGzzhZRbK+xOo="));
    let ws = response.websocket.as_ref().expect("upgraded");
    assert_eq!(
        ws.messages(),
        vec![ServerMessage::Text("hello".into()), ServerMessage::Binary(vec![0, 1, 2, 255]), ServerMessage::Text("ünïcode".into())]
    );
    assert_eq!(ws.close_sent, Some((1000, "bye".to_owned())), "the client's close status is echoed");
    assert!(ws.close_read);
    assert_eq!(ws.unread, 0);
    // Every fragment went through the asynchronous completion callback.
    assert!(response.calls_to("IWebSocketContext::(completion)").count() >= 8, "{}", response.transcript());
    assert_eq!(response.called("INamedContextContainer::GetNamedContext"), 1);
    let report = server.shutdown();
    assert_eq!(report.modules_created, report.modules_disposed);
}

#[test]
fn reassembles_fragmented_messages_and_small_reads() {
    let server = server();
    // 100 KiB in three frames: the module's reads (64 KiB chunks) split them further.
    let big: Vec<u8> = (0..100 * 1024).map(|i| (i % 251) as u8).collect();
    let client = WebSocketClient::new()
        .fragment(&big[..10], false, false)
        .fragment(&big[10..70_000], false, false)
        .fragment(&big[70_000..], false, true)
        .fragment(b"par", true, false)
        .fragment(b"ts", true, true)
        .close_without_status();
    let response = server.send(TestRequest::websocket("/echo", client));
    let ws = response.websocket.as_ref().expect("upgraded");
    assert_eq!(ws.messages(), vec![ServerMessage::Binary(big), ServerMessage::Text("parts".into())]);
    assert_eq!(ws.close_sent, Some((1000, String::new())), "a close without status is answered with 1000");
}

#[test]
fn synchronous_completions_work_too() {
    let server = server();
    let client = WebSocketClient::new().text("one").text("two").close(1001, "going away").complete_synchronously();
    let response = server.send(TestRequest::websocket("/echo", client));
    let ws = response.websocket.as_ref().expect("upgraded");
    assert_eq!(ws.messages(), vec![ServerMessage::Text("one".into()), ServerMessage::Text("two".into())]);
    assert_eq!(ws.close_sent, Some((1001, "going away".to_owned())));
    assert_eq!(response.calls_to("IWebSocketContext::(completion)").count(), 0, "{}", response.transcript());
}

#[test]
fn client_disconnect_ends_the_request() {
    let server = server();
    let client = WebSocketClient::new().text("before").disconnect();
    let response = server.send(TestRequest::websocket("/echo", client));
    let ws = response.websocket.as_ref().expect("upgraded");
    assert_eq!(ws.messages(), vec![ServerMessage::Text("before".into())]);
    assert_eq!(ws.close_sent, None);
    assert_eq!(response.called("(client)"), 1, "{}", response.transcript());
    let report = server.shutdown();
    assert_eq!(report.modules_created, report.modules_disposed);
}

#[test]
fn plain_request_is_refused() {
    let server = server();
    let response = server.send(TestRequest::get("/echo"));
    assert_eq!(response.status, 400);
    assert!(response.websocket.is_none());
    assert_eq!(response.body_str(), "expected a WebSocket upgrade (Upgrade: websocket)");
}

#[test]
fn without_the_websocket_module_nothing_is_upgraded() {
    let server = TestServer::for_module(websocket_echo::RegisterModule, "websocket_echo").unwrap();
    let response = server.send(TestRequest::websocket("/echo", WebSocketClient::new().text("x")));
    assert_eq!(response.status, 400, "IIS_WEBSOCK is not set without the module");
    assert!(response.websocket.is_none());
}
