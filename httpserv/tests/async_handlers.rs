//! `async fn` handlers run with IIS as the executor (bridge/task.rs): polled in the notification,
//! suspended with `RQ_NOTIFICATION_PENDING`, resumed in `OnAsyncCompletion` after the waker's
//! `PostCompletion`. Here, the cases the in-process test server drives on the request's own
//! thread: a future that finishes at once, one that wakes itself while polled (polled again, no
//! completion posted), one that panics, one nobody wakes, and the reentrancy rule across an
//! `.await`.

mod common;

use std::cell::RefCell;
use std::future::Future;
use std::pin::Pin;
use std::task::{Context, Poll};

use common::register;
use httpserv::prelude::*;
use httpserv_testing::{Notification, TestRequest, TestServer};

thread_local! {
    static SEEN: RefCell<Vec<String>> = const { RefCell::new(Vec::new()) };
}

fn note(what: impl Into<String>) {
    SEEN.with(|s| s.borrow_mut().push(what.into()));
}

fn seen() -> Vec<String> {
    SEEN.with(|s| s.take())
}

/// Pending once after waking itself: the executor must poll again without posting a completion.
struct YieldNow(bool);

impl Future for YieldNow {
    type Output = ();
    fn poll(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<()> {
        if self.0 {
            return Poll::Ready(());
        }
        self.0 = true;
        cx.waker().wake_by_ref();
        Poll::Pending
    }
}

/// Never ready, and drops its waker.
struct Forever;

impl Future for Forever {
    type Output = ();
    fn poll(self: Pin<&mut Self>, _: &mut Context<'_>) -> Poll<()> {
        Poll::Pending
    }
}

#[derive(Default)]
struct Hello {
    polls: usize,
}

#[http_module]
impl HttpModule for Hello {
    async fn on_execute_request_handler(&mut self, context: &HttpContext<'_>) -> NotificationStatus {
        self.polls += 1;
        YieldNow(false).await;
        YieldNow(false).await;
        let response = context.response();
        response.set_header("Content-Type", "text/plain").unwrap();
        response.write(format!("hello after {} yields", 2).as_bytes()).unwrap();
        NotificationStatus::FinishRequest
    }
}

#[test]
fn a_future_that_wakes_itself_finishes_in_the_notification() {
    let server = TestServer::new(register::<Hello>).unwrap();
    let response = server.send(TestRequest::get("/"));
    assert_eq!(response.status, 200, "{}", response.transcript());
    assert_eq!(response.body_str(), "hello after 2 yields");
    // No completion was posted: both wakes came while polling.
    assert_eq!(response.called("IHttpContext::PostCompletion"), 0, "{}", response.transcript());
    assert_eq!(response.called("CHttpModule::OnAsyncCompletion"), 0);
    server.shutdown();
}

struct Noisy(&'static str);

impl Drop for Noisy {
    fn drop(&mut self) {
        note(format!("dropped {}", self.0));
    }
}

#[derive(Default)]
struct Stuck;

impl Drop for Stuck {
    fn drop(&mut self) {
        note("module dropped");
    }
}

#[http_module]
impl HttpModule for Stuck {
    async fn on_begin_request(&mut self, _: &HttpContext<'_>) -> NotificationStatus {
        let _guard = Noisy("the future's local");
        Forever.await;
        NotificationStatus::Continue
    }
}

#[test]
fn a_future_nobody_wakes_is_a_request_left_pending_and_is_dropped() {
    let server = TestServer::new(register::<Stuck>).unwrap();
    let outcome = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| server.send(TestRequest::get("/"))));
    let message = outcome.err().and_then(|p| p.downcast_ref::<String>().cloned()).expect("send reports the hang");
    assert!(message.contains("request left pending"), "{message}");
    // The request ended: the future was dropped before the module, nothing leaked.
    assert_eq!(seen(), ["dropped the future's local", "module dropped"]);
    let report = server.shutdown();
    assert_eq!(report.modules_created, report.modules_disposed);
}

#[derive(Default)]
struct Panics;

#[http_module]
impl HttpModule for Panics {
    async fn on_begin_request(&mut self, _: &HttpContext<'_>) -> NotificationStatus {
        let _guard = Noisy("before the panic");
        YieldNow(false).await;
        panic!("in the future");
    }
}

#[test]
fn a_panicking_future_answers_500_and_is_traced() {
    let server = TestServer::new(register::<Panics>).unwrap();
    let response = server.send(TestRequest::get("/"));
    assert_eq!(response.status, 500, "{}", response.transcript());
    let traces: Vec<_> = response.calls_to("IHttpTraceContext::QuickTrace").map(|c| c.detail.clone()).collect();
    assert_eq!(traces.len(), 1, "{traces:?}");
    assert!(traces[0].starts_with("httpserv: HttpModule::on_begin_request panicked: in the future"), "{traces:?}");
    assert_eq!(seen(), ["dropped before the panic"]);
    server.shutdown();
}

#[derive(Default)]
struct MapsAcrossAwait {
    nested: usize,
}

#[http_module]
impl HttpModule for MapsAcrossAwait {
    async fn on_execute_request_handler(&mut self, context: &HttpContext<'_>) -> NotificationStatus {
        let before = self.nested;
        YieldNow(false).await;
        let mapped = context.map_path("/a").unwrap();
        YieldNow(false).await;
        note(format!("{mapped} nested {before}->{}", self.nested));
        NotificationStatus::Continue
    }

    fn on_map_path(&mut self, _: &HttpContext<'_>, _: &MapPathProvider<'_>) -> NotificationStatus {
        self.nested += 1;
        NotificationStatus::Continue
    }
}

#[test]
fn the_module_stays_busy_across_awaits() {
    let server = TestServer::new(register::<MapsAcrossAwait>).unwrap();
    let response = server.send(TestRequest::get("/"));
    assert_eq!(response.status, 200, "{}", response.transcript());
    // RQ_MAP_PATH raised by the future's own map_path is not delivered: the future holds &mut self.
    assert_eq!(seen(), ["C:\\inetpub\\wwwroot\\a nested 0->0"]);
    assert_eq!(response.called_during("CHttpModule::OnMapPath", Notification::MapPath), 1);
    server.shutdown();
}

#[test]
fn state_and_server_are_reachable_from_a_future() {
    #[derive(Default)]
    struct Asks;
    #[http_module]
    impl HttpModule for Asks {
        async fn on_begin_request(&mut self, context: &HttpContext<'_>) -> NotificationStatus {
            YieldNow(false).await;
            note(format!("server {}", context.server().is_some()));
            NotificationStatus::Continue
        }
    }
    let server = TestServer::new(register::<Asks>).unwrap();
    server.send(TestRequest::get("/"));
    assert_eq!(seen(), ["server true"]);
    server.shutdown();
}
