//! The findings of "Sound by construction" that live in the bridge, each as a test that failed
//! (or was undefined behaviour) before the fix: reentrant notifications, a server that outlives
//! its registration, a process-wide module id, the stored-context type check and a panicking
//! `Default`. The compile-time half (a `Server` cannot be kept, `Pending` is gone) is in
//! `tests/compile_fail.rs`.

mod common;

use std::cell::RefCell;
use std::sync::atomic::{AtomicUsize, Ordering};

use common::{register, register_with_global};
use httpserv::prelude::*;
use httpserv::PreBeginRequestProvider;
use httpserv_testing::{Notification, TestRequest, TestServer};

thread_local! {
    /// What the module saw, for the test on the same thread (`send` runs the request here).
    static SEEN: RefCell<Vec<String>> = const { RefCell::new(Vec::new()) };
}

fn seen() -> Vec<String> {
    SEEN.with(|s| s.take())
}

fn note(what: impl Into<String>) {
    SEEN.with(|s| s.borrow_mut().push(what.into()));
}

/// The module of the issue: `on_begin_request` borrows `items` across `map_path`, whose nested
/// `RQ_MAP_PATH` would replace them (a use after free when it is delivered).
#[derive(Default)]
struct Borrower {
    items: Vec<String>,
    map_path_runs: usize,
}

#[http_module]
impl HttpModule for Borrower {
    fn on_begin_request(&mut self, context: &HttpContext<'_>, _: &EventProvider<'_>) -> NotificationStatus {
        self.items = vec!["before".repeat(8)];
        let first = &self.items[0];
        let mapped = context.map_path("/x").expect("map_path");
        note(format!("mapped {mapped}"));
        note(format!("first {first}"));
        // Read back after the call: a nested handler writing it would go unseen in release.
        note(format!("map_path_runs {}", self.map_path_runs));
        NotificationStatus::Continue
    }

    fn on_map_path(&mut self, _: &HttpContext<'_>, _: &MapPathProvider<'_>) -> NotificationStatus {
        self.items = vec!["replaced".to_owned()];
        self.map_path_runs += 1;
        note("on_map_path");
        NotificationStatus::Continue
    }
}

#[test]
fn own_map_path_does_not_reenter_the_module() {
    let server = TestServer::new(register::<Borrower>).unwrap();
    let response = server.send(TestRequest::get("/"));
    assert_eq!(response.status, 200, "{}", response.transcript());
    assert_eq!(seen(), ["mapped C:\\inetpub\\wwwroot\\x".to_owned(), format!("first {}", "before".repeat(8)), "map_path_runs 0".to_owned()]);
    // IIS did raise RQ_MAP_PATH to the module object; the bridge did not deliver it.
    assert_eq!(response.called_during("CHttpModule::OnMapPath", Notification::MapPath), 1, "{}", response.transcript());
    let traces: Vec<_> = response.calls_to("IHttpTraceContext::QuickTrace").map(|c| c.detail.clone()).collect();
    assert_eq!(traces.len(), 1, "{traces:?}");
    assert!(traces[0].starts_with("httpserv: HttpModule::on_map_path not delivered: the module's own handler is still running"), "{traces:?}");
    server.shutdown();
}

#[test]
fn another_modules_map_path_reaches_the_module() {
    let server = TestServer::new(register::<Borrower>).unwrap();
    let response = server.send(TestRequest::get("/").other_module(Notification::AuthenticateRequest, |raw| {
        // SAFETY: the simulator's live context of this request, used during the call only.
        let context = unsafe { HttpContext::from_raw(raw) }.unwrap();
        context.map_path("/y").unwrap();
    }));
    assert_eq!(response.status, 200, "{}", response.transcript());
    // Begin request ran first (its own map_path skipped), then another module's map_path was
    // delivered to the idle module.
    assert_eq!(seen().last().map(String::as_str), Some("on_map_path"));
    assert_eq!(response.called("IHttpTraceContext::QuickTrace"), 1);
    server.shutdown();
}

/// Reads the body and flushes from inside its handler, and counts the nested notifications.
#[derive(Default)]
struct ReaderFlusher {
    nested: usize,
}

#[http_module]
impl HttpModule for ReaderFlusher {
    fn on_execute_request_handler(&mut self, context: &HttpContext<'_>, _: &EventProvider<'_>) -> NotificationStatus {
        let mut buffer = [0u8; 3];
        let mut body = Vec::new();
        loop {
            let n = context.request().read_body(&mut buffer).unwrap();
            if n == 0 {
                break;
            }
            body.extend_from_slice(&buffer[..n]);
        }
        context.response().write(&body).unwrap();
        context.response().flush().unwrap();
        note(format!("nested {}", self.nested));
        NotificationStatus::FinishRequest
    }

    fn on_read_entity(&mut self, _: &HttpContext<'_>, _: &ReadEntityProvider<'_>) -> NotificationStatus {
        self.nested += 1;
        NotificationStatus::Continue
    }

    fn on_send_response(&mut self, _: &HttpContext<'_>, _: &SendResponseProvider<'_>) -> NotificationStatus {
        self.nested += 1;
        NotificationStatus::Continue
    }
}

#[test]
fn own_read_body_and_flush_do_not_reenter_the_module() {
    let server = TestServer::new(register::<ReaderFlusher>).unwrap();
    let response = server.send(TestRequest::post("/", "abcdefg"));
    assert_eq!(response.body_str(), "abcdefg");
    assert_eq!(seen(), ["nested 0"]);
    // Three reads raised RQ_READ_ENTITY, the flush RQ_SEND_RESPONSE: none delivered, all traced.
    assert_eq!(response.called("CHttpModule::OnReadEntity"), 3, "{}", response.transcript());
    assert_eq!(response.called("CHttpModule::OnSendResponse"), 1, "{}", response.transcript());
    assert_eq!(response.called("IHttpTraceContext::QuickTrace"), 4, "{}", response.transcript());
    server.shutdown();
}

/// A global module that stores a context in `GL_PRE_BEGIN_REQUEST` and a request module that
/// must find it.
#[derive(Default)]
struct Stamp;

struct Stamped(#[allow(dead_code)] u64);

static STAMPS: AtomicUsize = AtomicUsize::new(0);

#[http_module]
impl GlobalModule for Stamp {
    fn on_global_pre_begin_request(&self, provider: &PreBeginRequestProvider<'_>) -> GlobalNotificationStatus {
        let context = provider.http_context().expect("context");
        context.set_stored_context(Stamped(STAMPS.fetch_add(1, Ordering::Relaxed) as u64)).expect("stored");
        GlobalNotificationStatus::Continue
    }
}

#[derive(Default)]
struct ReadsStamp;

#[http_module]
impl HttpModule for ReadsStamp {
    fn on_begin_request(&mut self, context: &HttpContext<'_>, _: &EventProvider<'_>) -> NotificationStatus {
        let found = context.stored_context::<Stamped>().is_some();
        context.response().set_header("X-Stamp", if found { "found" } else { "lost" }).unwrap();
        NotificationStatus::Continue
    }
}

#[test]
fn two_live_registrations_keep_their_own_module_ids() {
    // Before: the global module keyed stored contexts by the id of the *last* RegisterModule,
    // so server `a`'s request module (keyed by its own id) lost them once `b` registered.
    let a = TestServer::new(register_with_global::<ReadsStamp, Stamp>).unwrap();
    let b = TestServer::with_name("Second", register_with_global::<ReadsStamp, Stamp>).unwrap();
    for _ in 0..3 {
        for server in [&a, &b] {
            let response = server.send(TestRequest::get("/"));
            assert_eq!(response.header("X-Stamp"), Some("found"), "{}", response.transcript());
        }
    }
    a.shutdown();
    b.shutdown();
}

#[derive(Default)]
struct AsksForTheWrongType;

#[repr(align(64))]
struct Big(#[allow(dead_code)] [u8; 4096]);

#[http_module]
impl HttpModule for AsksForTheWrongType {
    fn on_begin_request(&mut self, context: &HttpContext<'_>, _: &EventProvider<'_>) -> NotificationStatus {
        context.set_stored_context(7u8).unwrap();
        // Larger and more aligned than what is stored: refused before any reference is made.
        note(format!("big {}", context.stored_context::<Big>().is_some()));
        note(format!("u8 {:?}", context.stored_context::<u8>()));
        NotificationStatus::Continue
    }
}

#[test]
fn stored_context_of_another_type_is_none() {
    let server = TestServer::new(register::<AsksForTheWrongType>).unwrap();
    server.send(TestRequest::get("/"));
    assert_eq!(seen(), ["big false", "u8 Some(7)"]);
    server.shutdown();
}

struct PanicsInDefault;

impl Default for PanicsInDefault {
    fn default() -> Self {
        panic!("no module today")
    }
}

#[http_module]
impl HttpModule for PanicsInDefault {
    fn on_begin_request(&mut self, _: &HttpContext<'_>, _: &EventProvider<'_>) -> NotificationStatus {
        NotificationStatus::Continue
    }
}

#[test]
fn a_panicking_default_is_traced_with_its_message() {
    let server = TestServer::new(register::<PanicsInDefault>).unwrap();
    let response = server.send(TestRequest::get("/"));
    let traces: Vec<_> = server.server_calls().iter().filter(|c| c.method == "IHttpTraceContext::QuickTrace").map(|c| c.detail.clone()).collect();
    assert_eq!(traces.len(), 1, "{traces:?}\n{}", response.transcript());
    assert!(traces[0].starts_with("httpserv: creating the module (Default) in GetHttpModule panicked: no module today"), "{traces:?}");
    server.shutdown();
}

#[test]
fn the_server_is_the_registrations_own() {
    // Two servers alive; each request's HttpContext::server() is its own server's, whatever
    // registered last (before: a process-wide static the last RegisterModule overwrote).
    #[derive(Default)]
    struct PoolName;
    #[http_module]
    impl HttpModule for PoolName {
        fn on_begin_request(&mut self, context: &HttpContext<'_>, _: &EventProvider<'_>) -> NotificationStatus {
            let server = context.server().expect("server");
            note(format!("{:p}", server.as_raw()));
            NotificationStatus::Continue
        }
    }
    let a = TestServer::new(register::<PoolName>).unwrap();
    let b = TestServer::new(register::<PoolName>).unwrap();
    a.send(TestRequest::get("/"));
    b.send(TestRequest::get("/"));
    a.send(TestRequest::get("/"));
    let s = seen();
    assert_eq!(s.len(), 3);
    assert_ne!(s[0], s[1]);
    assert_eq!(s[0], s[2]);
    a.shutdown();
    b.shutdown();
}
