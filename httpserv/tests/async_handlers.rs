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
    server.set_pending_timeout(std::time::Duration::from_millis(100));
    let outcome = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| server.send(TestRequest::get("/"))));
    let message = outcome.err().and_then(|p| p.downcast_ref::<String>().cloned()).expect("send reports the hang");
    assert!(message.contains("request left pending"), "{message}");
    assert!(message.contains("waited 100 ms for another thread"), "{message}");
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

/// Ready after `ms` milliseconds, woken by a thread of its own (as a timer would be).
struct Delay {
    ms: u64,
    fired: Option<std::sync::Arc<std::sync::atomic::AtomicBool>>,
    wakes: usize,
}

fn delay(ms: u64, wakes: usize) -> Delay {
    Delay { ms, fired: None, wakes }
}

impl Future for Delay {
    type Output = ();
    fn poll(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<()> {
        use std::sync::atomic::Ordering;
        match &self.fired {
            Some(fired) if fired.load(Ordering::Acquire) => Poll::Ready(()),
            Some(_) => Poll::Pending,
            None => {
                let fired = std::sync::Arc::new(std::sync::atomic::AtomicBool::new(false));
                self.fired = Some(fired.clone());
                let (ms, wakes, waker) = (self.ms, self.wakes, cx.waker().clone());
                std::thread::spawn(move || {
                    std::thread::sleep(std::time::Duration::from_millis(ms));
                    fired.store(true, Ordering::Release);
                    // Several wakes from several threads: one completion is posted.
                    let threads: Vec<_> = (0..wakes).map(|_| {
                        let waker = waker.clone();
                        std::thread::spawn(move || waker.wake())
                    }).collect();
                    threads.into_iter().for_each(|t| t.join().unwrap());
                });
                Poll::Pending
            }
        }
    }
}

#[derive(Default)]
struct Sleeper;

#[http_module]
impl HttpModule for Sleeper {
    async fn on_execute_request_handler(&mut self, context: &HttpContext<'_>) -> NotificationStatus {
        let wakes = context.request().header("X-Wakes").map_or(1, |v| std::str::from_utf8(v).unwrap().parse().unwrap());
        delay(20, wakes).await;
        context.response().write(b"slept").unwrap();
        NotificationStatus::FinishRequest
    }
}

#[test]
fn a_future_woken_from_another_thread_resumes_in_on_async_completion() {
    let server = TestServer::new(register::<Sleeper>).unwrap();
    let response = server.send(TestRequest::get("/"));
    assert_eq!(response.status, 200, "{}", response.transcript());
    assert_eq!(response.body_str(), "slept");
    assert_eq!(response.calls_to("IHttpContext::PostCompletion").map(|c| c.detail.as_str()).collect::<Vec<_>>(), ["0 bytes, from another thread"]);
    assert_eq!(response.called("CHttpModule::OnAsyncCompletion"), 1, "{}", response.transcript());
    assert_eq!(response.returned("CHttpModule::OnExecuteRequestHandler").collect::<Vec<_>>(), ["RQ_NOTIFICATION_PENDING"]);
    server.shutdown();
}

#[test]
fn woken_from_many_threads_posts_one_completion() {
    let server = TestServer::new(register::<Sleeper>).unwrap();
    let response = server.send(TestRequest::get("/").header("X-Wakes", "8"));
    assert_eq!(response.body_str(), "slept", "{}", response.transcript());
    assert_eq!(response.called("IHttpContext::PostCompletion"), 1, "{}", response.transcript());
    server.shutdown();
}

#[test]
fn many_requests_pending_at_once() {
    let server = TestServer::new(register::<Sleeper>).unwrap();
    std::thread::scope(|s| {
        for _ in 0..8 {
            s.spawn(|| {
                for _ in 0..5 {
                    let response = server.send(TestRequest::get("/"));
                    assert_eq!(response.body_str(), "slept", "{}", response.transcript());
                }
            });
        }
    });
    let report = server.shutdown();
    assert_eq!(report.requests, 40);
    assert_eq!(report.modules_created, report.modules_disposed);
}

static KEPT: std::sync::Mutex<Option<std::task::Waker>> = std::sync::Mutex::new(None);

#[derive(Default)]
struct KeepsWaker;

#[http_module]
impl HttpModule for KeepsWaker {
    async fn on_begin_request(&mut self, _: &HttpContext<'_>) -> NotificationStatus {
        struct Keep(bool);
        impl Future for Keep {
            type Output = ();
            fn poll(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<()> {
                if self.0 {
                    return Poll::Ready(());
                }
                self.0 = true;
                *KEPT.lock().unwrap() = Some(cx.waker().clone());
                cx.waker().wake_by_ref();
                Poll::Pending
            }
        }
        Keep(false).await;
        NotificationStatus::Continue
    }
}

#[test]
fn a_waker_kept_after_the_request_ended_does_nothing() {
    let server = TestServer::new(register::<KeepsWaker>).unwrap();
    let response = server.send(TestRequest::get("/"));
    assert_eq!(response.status, 200);
    // The request is over (context freed); the kept waker must not touch it, from any thread.
    let waker = KEPT.lock().unwrap().take().expect("kept");
    std::thread::spawn(move || {
        waker.wake_by_ref();
        waker.wake();
    })
    .join()
    .unwrap();
    assert_eq!(response.called("IHttpContext::PostCompletion"), 0);
    server.shutdown();
}

/// Polls two futures in turn until both are done (a minimal join).
async fn join2<A: Future, B: Future>(a: A, b: B) -> (A::Output, B::Output) {
    let (mut a, mut b) = (Box::pin(a), Box::pin(b));
    let (mut ra, mut rb) = (None, None);
    std::future::poll_fn(move |cx| {
        if ra.is_none() {
            if let Poll::Ready(v) = a.as_mut().poll(cx) {
                ra = Some(v);
            }
        }
        if rb.is_none() {
            if let Poll::Ready(v) = b.as_mut().poll(cx) {
                rb = Some(v);
            }
        }
        if ra.is_some() && rb.is_some() {
            Poll::Ready((ra.take().unwrap(), rb.take().unwrap()))
        } else {
            Poll::Pending
        }
    })
    .await
}

#[derive(Default)]
struct TwoReads;

#[http_module]
impl HttpModule for TwoReads {
    async fn on_execute_request_handler(&mut self, context: &HttpContext<'_>) -> NotificationStatus {
        let request = context.request();
        let ((first, _), (second, _)) = join2(request.read_body_async(vec![0; 4]), request.read_body_async(vec![0; 4])).await;
        note(format!("first {first:?}"));
        note(format!("second {:?}", second.map_err(|e| e.code())));
        NotificationStatus::Continue
    }
}

#[test]
fn a_second_operation_in_flight_is_refused() {
    let server = TestServer::new(register::<TwoReads>).unwrap();
    let response = server.send(TestRequest::post("/", "abcdefgh"));
    assert_eq!(response.status, 200, "{}", response.transcript());
    // IIS allows one asynchronous operation per request: HRESULT_FROM_WIN32(ERROR_BUSY).
    assert_eq!(seen(), ["first Ok(4)", "second Err(HRESULT(0x800700AA))"]);
    assert_eq!(response.called("IHttpRequest::ReadEntityBody"), 1, "{}", response.transcript());
    server.shutdown();
}

#[derive(Default)]
struct DropsARead;

#[http_module]
impl HttpModule for DropsARead {
    async fn on_execute_request_handler(&mut self, context: &HttpContext<'_>) -> NotificationStatus {
        let request = context.request();
        {
            // Poll the read once (IIS now owns its buffer), then drop the future.
            let mut read = Box::pin(request.read_body_async(vec![0; 4]));
            std::future::poll_fn(|cx| {
                let _ = read.as_mut().poll(cx);
                Poll::Ready(())
            })
            .await;
        }
        YieldNow(false).await;
        // The dropped read is still in flight until its completion: a new one waits for it.
        let (next, _) = request.read_body_async(vec![0; 4]).await;
        note(format!("next {:?}", next.map_err(|e| e.code())));
        NotificationStatus::Continue
    }
}

#[test]
fn a_read_dropped_in_flight_keeps_its_buffer_until_completed() {
    let server = TestServer::new(register::<DropsARead>).unwrap();
    let response = server.send(TestRequest::post("/", "abcdefgh"));
    assert_eq!(response.status, 200, "{}", response.transcript());
    // The new read waited for the dropped one's completion (IIS allows one operation in
    // flight), then read the rest: the dropped one took "abcd".
    assert_eq!(seen(), ["next Ok(4)"]);
    assert_eq!(response.called("IHttpRequest::ReadEntityBody"), 2, "{}", response.transcript());
    server.shutdown();
}

#[test]
fn async_io_outside_an_async_handler_is_an_error() {
    let ran = common::in_handler(|context| {
        let mut read = Box::pin(context.request().read_body_async(vec![0; 4]));
        let waker = std::task::Waker::noop();
        match read.as_mut().poll(&mut Context::from_waker(waker)) {
            Poll::Ready((result, buffer)) => (result.map_err(|e| e.code()), buffer.len()),
            Poll::Pending => panic!("pending outside an async handler"),
        }
    });
    assert_eq!(ran.value, (Err(httpserv::E_INVALIDARG), 4));
    assert_eq!(ran.response.called("IHttpRequest::ReadEntityBody"), 0);
}

/// The first of two futures to finish (a minimal select): `Ok` for `a`, `Err` for `b`.
async fn race<A: Future, B: Future>(a: A, b: B) -> Result<A::Output, B::Output> {
    let (mut a, mut b) = (Box::pin(a), Box::pin(b));
    std::future::poll_fn(move |cx| {
        if let Poll::Ready(v) = a.as_mut().poll(cx) {
            return Poll::Ready(Ok(v));
        }
        b.as_mut().poll(cx).map(Err)
    })
    .await
}

#[derive(Default)]
struct StopsOnDisconnect;

#[http_module]
impl HttpModule for StopsOnDisconnect {
    async fn on_execute_request_handler(&mut self, context: &HttpContext<'_>) -> NotificationStatus {
        let started = std::time::Instant::now();
        let outcome = race(delay(10_000, 1), context.disconnected()).await;
        note(format!("work finished: {}, stopped early: {}", outcome.is_ok(), started.elapsed() < std::time::Duration::from_secs(5)));
        let (written, _) = context.response().write_async(b"too late".to_vec()).await;
        note(format!("write after disconnect: {:?}", written.map_err(|e| e.code())));
        NotificationStatus::FinishRequest
    }
}

#[test]
fn a_disconnect_wakes_the_future_and_fails_its_io() {
    let server = TestServer::new(register::<StopsOnDisconnect>).unwrap();
    let response = server.send(TestRequest::get("/").disconnect_after(std::time::Duration::from_millis(20)));
    assert_eq!(seen(), ["work finished: false, stopped early: true", "write after disconnect: Err(HRESULT(0x800704D4))"]);
    assert_eq!(response.called_during("IHttpConnectionStoredContext::NotifyDisconnect", Notification::ExecuteRequestHandler), 1, "{}", response.transcript());
    // The watcher is the module's connection stored context, cleaned up with the connection.
    assert!(response.calls_to("IHttpStoredContext::CleanupStoredContext").any(|c| c.detail.contains("connection")), "{}", response.transcript());
    server.shutdown();
}

/// Keeps its own state on the connection, then waits for the client in an async handler: the
/// state and the tasks' disconnect watch share the module's one connection stored context.
#[derive(Default)]
struct KeepsConnectionState;

#[http_module]
impl HttpModule for KeepsConnectionState {
    fn on_begin_request(&mut self, context: &HttpContext<'_>, _: &EventProvider<'_>) -> NotificationStatus {
        note(format!("state set: {:?}", context.set_connection_stored_context([7u64; 8]).map_err(|e| e.code())));
        NotificationStatus::Continue
    }

    async fn on_execute_request_handler(&mut self, context: &HttpContext<'_>) -> NotificationStatus {
        let outcome = race(delay(10_000, 1), context.disconnected()).await;
        note(format!("stopped by the disconnect: {}", outcome.is_err()));
        note(format!("state after: {:?}", context.connection_stored_context::<[u64; 8]>()));
        note(format!("second state: {:?}", context.set_connection_stored_context(0u8).map_err(|e| e.code())));
        NotificationStatus::FinishRequest
    }
}

#[test]
fn connection_state_and_the_disconnect_watch_share_the_connection() {
    let server = TestServer::new(register::<KeepsConnectionState>).unwrap();
    let response = server.send(TestRequest::get("/").disconnect_after(std::time::Duration::from_millis(20)));
    assert_eq!(
        seen(),
        ["state set: Ok(())", "stopped by the disconnect: true", "state after: Some([7, 7, 7, 7, 7, 7, 7, 7])", "second state: Err(HRESULT(0x80070055))"],
        "{}",
        response.transcript()
    );
    assert_eq!(response.called("IHttpConnectionStoredContext::NotifyDisconnect"), 1, "{}", response.transcript());
    server.shutdown();
}

/// `httpserv::yield_now` gives the thread back to IIS each time: the notification posts a
/// completion as its last act and returns PENDING, and `OnAsyncCompletion` polls again (the
/// round trip a C++ module makes by hand, simulator/modules/suspend_cpp.cpp).
#[derive(Default)]
struct Yielder {
    resumed: usize,
}

#[http_module]
impl HttpModule for Yielder {
    async fn on_execute_request_handler(&mut self, context: &HttpContext<'_>) -> NotificationStatus {
        for _ in 0..3 {
            httpserv::yield_now().await;
            self.resumed += 1;
        }
        context.response().write(format!("resumed {} times", self.resumed).as_bytes()).unwrap();
        NotificationStatus::Continue
    }
}

#[test]
fn yield_now_suspends_through_post_completion_each_time() {
    let server = TestServer::new(register::<Yielder>).unwrap();
    let response = server.send(TestRequest::get("/"));
    assert_eq!(response.status, 200, "{}", response.transcript());
    assert_eq!(response.body_str(), "resumed 3 times");
    assert_eq!(response.called("IHttpContext::PostCompletion"), 3, "{}", response.transcript());
    assert_eq!(response.called_during("IHttpContext::PostCompletion", Notification::ExecuteRequestHandler), 1, "{}", response.transcript());
    assert_eq!(response.returned("CHttpModule::OnExecuteRequestHandler").collect::<Vec<_>>(), ["RQ_NOTIFICATION_PENDING"], "{}", response.transcript());
    assert_eq!(
        response.returned("CHttpModule::OnAsyncCompletion").collect::<Vec<_>>(),
        ["RQ_NOTIFICATION_PENDING", "RQ_NOTIFICATION_PENDING", "RQ_NOTIFICATION_CONTINUE"],
        "{}",
        response.transcript()
    );
    let report = server.shutdown();
    assert_eq!((report.modules_created, report.modules_disposed), (1, 1));
}

#[derive(Default)]
struct WakesDuringReads;

#[http_module]
impl HttpModule for WakesDuringReads {
    async fn on_execute_request_handler(&mut self, context: &HttpContext<'_>) -> NotificationStatus {
        use std::sync::atomic::{AtomicBool, Ordering};
        // Another thread wakes the task as fast as it can for as long as the body is read: no
        // wake may become a completion IIS would deliver as a read's (the read would end early
        // with 0 bytes, its buffer handed back while IIS still filled it).
        let waker = std::future::poll_fn(|cx| Poll::Ready(cx.waker().clone())).await;
        let stop = std::sync::Arc::new(AtomicBool::new(false));
        let waking = {
            let stop = stop.clone();
            std::thread::spawn(move || {
                while !stop.load(Ordering::Relaxed) {
                    waker.wake_by_ref();
                    std::thread::yield_now();
                }
            })
        };
        let mut total = Vec::new();
        let mut buffer = vec![0; 7];
        loop {
            let (read, returned) = context.request().read_body_async(buffer).await;
            buffer = returned;
            match read {
                Ok(0) => break,
                Ok(n) => total.extend_from_slice(&buffer[..n]),
                Err(e) => {
                    note(format!("read failed: {e}"));
                    break;
                }
            }
        }
        stop.store(true, Ordering::Relaxed);
        waking.join().unwrap();
        context.response().write(&total).unwrap();
        NotificationStatus::FinishRequest
    }
}

#[test]
fn wakes_from_another_thread_during_reads_post_no_completion_for_them() {
    let server = TestServer::new(register::<WakesDuringReads>).unwrap();
    let body: Vec<u8> = (0..600u32).map(|i| b'a' + (i % 26) as u8).collect();
    for _ in 0..20 {
        let response = server.send(TestRequest::post("/", body.clone()).body_pieces(5, std::time::Duration::from_micros(200)));
        assert_eq!(response.status, 200, "{}", response.transcript());
        assert_eq!(response.body, body, "the body read back, whole and in order");
        assert_eq!(seen(), Vec::<String>::new());
    }
    server.shutdown();
}
