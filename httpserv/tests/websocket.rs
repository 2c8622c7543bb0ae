//! WebSockets (`httpserv::WebSocket`) against the simulator's IIS WebSocket module: the hard
//! parts of completion callbacks that arrive on IIS's threads. A read whose future is dropped
//! while IIS still holds it (its buffer stays alive, the next read is refused as busy, and the
//! request's end completes it), `CancelOutstandingIO`, a read and a write outstanding at once,
//! bad input refused before IIS, an upgrade of a request IIS would not upgrade; and the
//! `IHttpContext3` calls (`GetNamedContextContainer`, `EnableFullDuplex`).

mod common;

use std::cell::RefCell;
use std::future::{poll_fn, Future};
use std::pin::Pin;
use std::task::Poll;

use common::register;
use httpserv::prelude::*;
use httpserv_testing::{ServerMessage, TestRequest, TestServer, WebSocketClient};

thread_local! {
    static SEEN: RefCell<Vec<String>> = const { RefCell::new(Vec::new()) };
}

fn note(what: impl Into<String>) {
    SEEN.with(|s| s.borrow_mut().push(what.into()));
}

fn seen() -> Vec<String> {
    SEEN.with(|s| s.take())
}

/// Polls `future` once from inside the handler's future.
async fn poll_once<F: Future + Unpin>(future: &mut F) -> Poll<F::Output> {
    poll_fn(|cx| Poll::Ready(Pin::new(&mut *future).poll(cx))).await
}

fn hr(error: &httpserv::Error) -> String {
    format!("{:#010x}", error.code().0 as u32)
}

fn websocket_server<M: HttpModule + httpserv::__private::Handlers + Default>() -> TestServer {
    let server = TestServer::new(register::<M>).unwrap();
    server.enable_websocket_module();
    server
}

/// Ready once another thread has woken it, `after` from the first poll: suspends the handler
/// (`RQ_NOTIFICATION_PENDING`) without any I/O of its own.
struct WokenLater {
    after: std::time::Duration,
    started: bool,
    done: std::sync::Arc<std::sync::atomic::AtomicBool>,
}

impl WokenLater {
    fn new(after: std::time::Duration) -> Self {
        WokenLater { after, started: false, done: Default::default() }
    }
}

impl Future for WokenLater {
    type Output = ();
    fn poll(mut self: Pin<&mut Self>, cx: &mut std::task::Context<'_>) -> Poll<()> {
        if self.done.load(std::sync::atomic::Ordering::Acquire) {
            return Poll::Ready(());
        }
        if !self.started {
            self.started = true;
            let (waker, done, after) = (cx.waker().clone(), self.done.clone(), self.after);
            std::thread::spawn(move || {
                std::thread::sleep(after);
                done.store(true, std::sync::atomic::Ordering::Release);
                waker.wake();
            });
        }
        Poll::Pending
    }
}

#[derive(Default)]
struct DropsARead;

#[http_module]
impl HttpModule for DropsARead {
    async fn on_execute_request_handler(&mut self, context: &HttpContext<'_>) -> NotificationStatus {
        let socket = context.accept_websocket().await.unwrap();
        let mut buffer = vec![0u8; 16];
        {
            let mut read = socket.read_fragment(&mut buffer);
            note(format!("first poll ready: {}", poll_once(&mut read).await.is_ready()));
        } // dropped while IIS holds the read
        drop(buffer);
        let mut other = [0u8; 4];
        match socket.read_fragment(&mut other).await {
            Ok(f) => note(format!("second read: {f:?}")),
            Err(e) => note(format!("second read: {}", hr(&e))),
        }
        // Suspended: IIS completes the abandoned read (its bytes go to the socket's own buffer,
        // not the freed one), then the thread's wake resumes the handler.
        WokenLater::new(std::time::Duration::from_millis(20)).await;
        match socket.read_fragment(&mut other).await {
            Ok(f) => note(format!("third read: {:?}", std::str::from_utf8(&other[..f.len]).unwrap())),
            Err(e) => note(format!("third read: {}", hr(&e))),
        }
        // And one left outstanding when the request ends.
        let mut last = socket.read_fragment(&mut other);
        note(format!("last poll ready: {}", poll_once(&mut last).await.is_ready()));
        NotificationStatus::FinishRequest
    }
}

#[test]
fn a_dropped_read_stays_with_iis_until_it_completes() {
    let server = websocket_server::<DropsARead>();
    let response = server.send(TestRequest::websocket("/", WebSocketClient::new().text("abc").text("def")));
    assert_eq!(response.status, 101);
    assert_eq!(
        seen(),
        ["first poll ready: false", "second read: 0x800700aa", "third read: \"def\"", "last poll ready: false"],
        "ERROR_BUSY while IIS still holds the first read; it got \"abc\"\n{}",
        response.transcript()
    );
    let transcript = response.transcript();
    assert!(transcript.contains("read: 3 bytes, utf8, final, S_OK"), "{transcript}");
    // The request's end completes the read left outstanding; the completion finds nobody
    // waiting (its future is gone) and frees the socket's state.
    let cleanup = transcript.find("IWebSocketContext::CleanupStoredContext").expect(&transcript);
    let completion = transcript.find("read: 0 bytes, HRESULT_FROM_WIN32(ERROR_OPERATION_ABORTED)").expect(&transcript);
    assert!(cleanup < completion, "{transcript}");
    let report = server.shutdown();
    assert_eq!(report.modules_created, report.modules_disposed);
}

#[derive(Default)]
struct Cancels;

#[http_module]
impl HttpModule for Cancels {
    async fn on_execute_request_handler(&mut self, context: &HttpContext<'_>) -> NotificationStatus {
        let socket = context.accept_websocket().await.unwrap();
        let mut buffer = [0u8; 16];
        let mut read = socket.read_fragment(&mut buffer);
        assert!(poll_once(&mut read).await.is_pending());
        socket.cancel_outstanding_io();
        match read.await {
            Ok(f) => note(format!("read: {f:?}")),
            Err(e) => note(format!("read: {}", hr(&e))),
        }
        NotificationStatus::FinishRequest
    }
}

#[test]
fn cancel_outstanding_io_fails_the_pending_read() {
    let server = websocket_server::<Cancels>();
    let response = server.send(TestRequest::websocket("/", WebSocketClient::new()));
    assert_eq!(seen(), ["read: 0x800703e3"], "ERROR_OPERATION_ABORTED\n{}", response.transcript());
    assert_eq!(response.called("IWebSocketContext::CancelOutstandingIO"), 1);
}

#[derive(Default)]
struct FullDuplex;

#[http_module]
impl HttpModule for FullDuplex {
    async fn on_execute_request_handler(&mut self, context: &HttpContext<'_>) -> NotificationStatus {
        let socket = context.accept_websocket().await.unwrap();
        let mut buffer = [0u8; 16];
        let mut read = socket.read_fragment(&mut buffer);
        assert!(poll_once(&mut read).await.is_pending(), "issued, completes later");
        // A write while the read is outstanding (one of each is allowed).
        socket.send_text("while reading").await.unwrap();
        let fragment = read.await.unwrap();
        note(format!("{fragment:?} {:?}", std::str::from_utf8(&buffer[..fragment.len]).unwrap()));
        // A second write while one is outstanding is refused, not passed on.
        let mut first = socket.send_binary(b"1");
        assert!(poll_once(&mut first).await.is_pending());
        let busy = socket.send_binary(b"2").await.unwrap_err();
        note(hr(&busy));
        first.await.unwrap();
        socket.close(1000, "").await.unwrap();
        NotificationStatus::FinishRequest
    }
}

#[test]
fn a_read_and_a_write_can_be_outstanding_together() {
    let server = websocket_server::<FullDuplex>();
    let response = server.send(TestRequest::websocket("/", WebSocketClient::new().text("hi")));
    assert_eq!(seen(), ["Fragment { len: 2, utf8: true, is_final: true, close: false } \"hi\"", "0x800700aa"]);
    let ws = response.websocket.unwrap();
    assert_eq!(ws.messages(), [ServerMessage::Text("while reading".into()), ServerMessage::Binary(b"1".to_vec())]);
    assert_eq!(ws.close_sent, Some((1000, String::new())));
}

#[derive(Default)]
struct BadInput;

#[http_module]
impl HttpModule for BadInput {
    async fn on_execute_request_handler(&mut self, context: &HttpContext<'_>) -> NotificationStatus {
        let socket = context.accept_websocket().await.unwrap();
        let long = "x".repeat(124);
        note(hr(&socket.close(1000, &long).await.unwrap_err()));
        note(hr(&socket.close(1000, "a\0b").await.unwrap_err()));
        let mut empty = [0u8; 0];
        note(hr(&socket.read_fragment(&mut empty).await.unwrap_err()));
        socket.close(1000, &"y".repeat(123)).await.unwrap();
        NotificationStatus::FinishRequest
    }
}

#[test]
fn bad_input_is_refused_before_iis_sees_it() {
    let server = websocket_server::<BadInput>();
    let response = server.send(TestRequest::websocket("/", WebSocketClient::new()));
    assert_eq!(seen(), ["0x80070057", "0x80070057", "0x80070057"]);
    assert_eq!(response.called("IWebSocketContext::SendConnectionClose"), 1, "only the valid close reached IIS");
    assert_eq!(response.called("IWebSocketContext::ReadFragment"), 0);
    assert_eq!(response.websocket.unwrap().close_sent.unwrap().1.len(), 123);
}

#[derive(Default)]
struct AcceptsAnything;

#[http_module]
impl HttpModule for AcceptsAnything {
    async fn on_execute_request_handler(&mut self, context: &HttpContext<'_>) -> NotificationStatus {
        match context.accept_websocket().await {
            Ok(_) => note("accepted"),
            Err(e) => note(hr(&e)),
        }
        NotificationStatus::FinishRequest
    }
}

#[test]
fn accepting_a_request_iis_would_not_upgrade_fails_without_a_101() {
    let server = websocket_server::<AcceptsAnything>();
    let response = server.send(TestRequest::get("/").header("Upgrade", "websocket"));
    assert_eq!(seen(), ["0x80070057"], "no Connection/Sec-WebSocket-*: IIS_WEBSOCK unset");
    assert_eq!(response.status, 200);
    assert!(response.websocket.is_none());
    let response = server.send(TestRequest::websocket("/", WebSocketClient::new()));
    assert_eq!(seen(), ["accepted"]);
    assert_eq!(response.status, 101);
}

#[derive(Default)]
struct Named;

#[http_module]
impl HttpModule for Named {
    fn on_begin_request(&mut self, context: &HttpContext<'_>, _: &EventProvider<'_>) -> NotificationStatus {
        let named = context.named_contexts().unwrap();
        note(format!("before: {}", named.contains("mine").unwrap()));
        named.set("mine", String::from("value")).unwrap();
        note(format!("after: {}", named.contains("mine").unwrap()));
        note(format!("again: {}", named.set("mine", 1u8).is_err()));
        note(format!("bad name: {}", hr(&named.set("a\0b", 1u8).unwrap_err())));
        context.enable_full_duplex().unwrap();
        NotificationStatus::Continue
    }
}

#[test]
fn named_contexts_and_full_duplex() {
    let server = TestServer::new(register::<Named>).unwrap();
    let response = server.send(TestRequest::get("/"));
    assert_eq!(seen(), ["before: false", "after: true", "again: true", "bad name: 0x80070057"]);
    assert_eq!(response.called("IHttpContext3::EnableFullDuplex"), 1);
    assert_eq!(response.stored_contexts_cleaned, 1, "IIS dropped the stored value at the end");
}
