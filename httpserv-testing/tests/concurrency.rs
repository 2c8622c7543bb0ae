//! The test server used from many threads at once, as IIS runs requests: one server shared by 4
//! threads (shared module state, a stored context handed from the global module to the request
//! module), and 4 threads each running their own servers in one process.
//!
//! The module below is written with `httpserv`: its global module stores a `Ticket` (the
//! request's `X-Id`) in `GL_PRE_BEGIN_REQUEST`; the request module reads it back in
//! `RQ_BEGIN_REQUEST` and answers with `X-Ticket`, or `lost` when the stored context is gone.

use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;

use httpserv::prelude::*;
use httpserv::PreBeginRequestProvider;
use httpserv_testing::{Notification, TestRequest, TestServer};

const THREADS: u64 = 4;
const REQUESTS_PER_THREAD: u64 = 250;

/// Shared by every request and the global module of one registration (one test server).
#[derive(Debug, Default)]
pub struct Shared {
    pre_begin: AtomicU64,
    requests: AtomicU64,
    found: AtomicU64,
}

/// What the global module stores for the request module: the request's `X-Id`.
struct Ticket(String);

fn x_id(context: &HttpContext<'_>) -> String {
    let id = context.request().header("X-Id").unwrap_or_default();
    String::from_utf8_lossy(id).into_owned()
}

#[http_module(name = "Stress", global = StoresTicket, state = Shared)]
#[derive(Default)]
pub struct ReadsTicket;

#[http_module]
impl HttpModule for ReadsTicket {
    fn on_begin_request(&mut self, context: &HttpContext<'_>, _: &EventProvider<'_>) -> NotificationStatus {
        let shared = ReadsTicket::state();
        shared.requests.fetch_add(1, Ordering::Relaxed);
        let answer = match context.stored_context::<Ticket>() {
            Some(ticket) if ticket.0 == x_id(context) => {
                shared.found.fetch_add(1, Ordering::Relaxed);
                ticket.0.clone()
            }
            Some(ticket) => format!("wrong: {}", ticket.0),
            None => "lost".to_owned(),
        };
        context.response().set_header("X-Ticket", &answer).unwrap();
        let counts = format!("requests={} pre_begin={} found={}", shared.requests.load(Ordering::Relaxed), shared.pre_begin.load(Ordering::Relaxed), shared.found.load(Ordering::Relaxed));
        context.response().set_header("X-Counts", &counts).unwrap();
        NotificationStatus::Continue
    }
}

#[derive(Default)]
pub struct StoresTicket;

#[http_module]
impl GlobalModule for StoresTicket {
    fn on_global_pre_begin_request(&self, provider: &PreBeginRequestProvider<'_>) -> GlobalNotificationStatus {
        ReadsTicket::state().pre_begin.fetch_add(1, Ordering::Relaxed);
        let context = provider.http_context().expect("the request's context");
        context.set_stored_context(Ticket(x_id(&context))).expect("SetModuleContext");
        GlobalNotificationStatus::Continue
    }
}

fn assert_send_sync<T: Send + Sync>() {}

#[test]
fn test_server_is_send_and_sync() {
    assert_send_sync::<TestServer>();
    assert_send_sync::<Arc<TestServer>>();
}

/// Runs `REQUESTS_PER_THREAD` requests with ids `t-0`, `t-1`, ... and returns the ids whose
/// ticket did not come back.
fn run_requests(server: &TestServer, thread: u64) -> Vec<String> {
    let mut lost = Vec::new();
    for i in 0..REQUESTS_PER_THREAD {
        let id = format!("{thread}-{i}");
        let response = server.send(TestRequest::get(format!("/r/{id}")).header("X-Id", id.as_str()));
        assert_eq!(response.status, 200, "{}", response.transcript());
        if response.header("X-Ticket") != Some(id.as_str()) {
            lost.push(format!("{id}: {:?}", response.header("X-Ticket")));
        }
        assert_eq!(response.stored_contexts_cleaned, 1, "{}", response.transcript());
        // The transcript is this request's own, not another thread's.
        assert_eq!(response.called("IHttpModuleFactory::GetHttpModule"), 1);
        assert_eq!(response.called("CHttpModule::Dispose"), 1);
        assert_eq!(response.url, format!("/r/{id}"));
    }
    lost
}

#[test]
fn four_threads_share_one_server_and_lose_no_stored_context() {
    let server = TestServer::new(RegisterModule).expect("RegisterModule");
    let lost: Vec<String> = std::thread::scope(|s| {
        let server = &server;
        let threads: Vec<_> = (0..THREADS).map(|t| s.spawn(move || run_requests(server, t))).collect();
        threads.into_iter().flat_map(|t| t.join().unwrap()).collect()
    });
    let total = THREADS * REQUESTS_PER_THREAD;
    assert!(lost.is_empty(), "{} of {total} requests lost their stored context: {:?}", lost.len(), &lost[..lost.len().min(10)]);
    // The state is this server's own: every request counted exactly once, none lost.
    let last = server.send(TestRequest::get("/last").header("X-Id", "last"));
    let n = total + 1;
    assert_eq!(last.header("X-Counts"), Some(format!("requests={n} pre_begin={n} found={n}").as_str()));
    assert_eq!(
        server.server_called(Notification::GlobalPreBeginRequest.handler()),
        total as usize + 1
    );
    let report = server.shutdown();
    assert_eq!(report.requests, total as usize + 1);
    assert_eq!(report.modules_created, total as usize + 1);
    assert_eq!(report.modules_disposed, total as usize + 1);
    assert_eq!(report.stored_contexts_cleaned, total as usize + 1);
    assert!(report.factory_terminated && report.global_terminated);
}

#[test]
fn four_threads_each_run_their_own_servers() {
    const SERVERS_PER_THREAD: u64 = 5;
    const REQUESTS: u64 = 20;
    let lost: Vec<String> = std::thread::scope(|s| {
        let threads: Vec<_> = (0..THREADS)
            .map(|t| {
                s.spawn(move || {
                    let mut lost = Vec::new();
                    for k in 0..SERVERS_PER_THREAD {
                        let name = format!("Stress{t}x{k}");
                        let server = TestServer::with_name(&name, RegisterModule).expect("RegisterModule");
                        assert_eq!(server.module_name(), name);
                        for i in 0..REQUESTS {
                            let id = format!("{t}-{k}-{i}");
                            let response = server.send(TestRequest::get("/").header("X-Id", id.as_str()));
                            if response.header("X-Ticket") != Some(id.as_str()) {
                                lost.push(format!("{id}: {:?}", response.header("X-Ticket")));
                            }
                            // Counts start from zero in each server: no state is shared.
                            let n = i + 1;
                            assert_eq!(response.header("X-Counts"), Some(format!("requests={n} pre_begin={n} found={n}").as_str()));
                        }
                        // This server saw its own registration, requests and calls only.
                        assert_eq!(server.server_called("RegisterModule"), 1);
                        assert_eq!(
                            server.server_called(Notification::GlobalPreBeginRequest.handler()),
                            REQUESTS as usize
                        );
                        let report = server.shutdown();
                        assert_eq!(report.requests, REQUESTS as usize);
                        assert_eq!(report.modules_created, report.modules_disposed);
                        assert_eq!(report.stored_contexts_cleaned, REQUESTS as usize);
                        assert!(report.factory_terminated && report.global_terminated);
                    }
                    lost
                })
            })
            .collect();
        threads.into_iter().flat_map(|t| t.join().unwrap()).collect()
    });
    let total = THREADS * SERVERS_PER_THREAD * REQUESTS;
    assert!(lost.is_empty(), "{} of {total} requests lost their stored context: {:?}", lost.len(), &lost[..lost.len().min(10)]);
}
