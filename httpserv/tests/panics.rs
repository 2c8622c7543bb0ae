//! Panics never unwind into IIS: a panicking handler gets a 500 and `FinishRequest`, its message
//! goes to the trace, the module is still disposed, and the test process goes on.

mod common;

use std::sync::atomic::{AtomicUsize, Ordering};

use common::*;
use httpserv::prelude::*;
use httpserv_testing::{Handler, Notification, TestRequest, TestResponse, TestServer};
use httpserv::{ApplicationProvider, PreBeginRequestProvider};

const E_UNEXPECTED: i32 = 0x8000_FFFF_u32 as i32;

/// The QuickTrace details of the request.
fn traces(response: &TestResponse) -> Vec<String> {
    details(response, "IHttpTraceContext::QuickTrace")
}

/// The notifications of a request whose `RQ_EXECUTE_REQUEST_HANDLER` returns `FinishRequest`.
fn finish_request_notifications() -> Vec<Handler> {
    let mut sim = Sim::new();
    on(Stage::ExecuteRequestHandler, |_, _| NotificationStatus::FinishRequest);
    let response = sim.send(TestRequest::get("/"));
    sim.shutdown();
    response.notifications()
}

#[test]
fn panicking_handler_answers_500_and_finishes_the_request() {
    let expected = finish_request_notifications();

    let mut sim = Sim::new();
    on(Stage::ExecuteRequestHandler, |context, _| {
        let response = context.response();
        response.set_header("X-Partial", "1").unwrap();
        response.write(b"half a page").unwrap();
        let n = 42;
        panic!("boom {n}");
    });
    let response = sim.send(TestRequest::get("/page"));

    // 500, and nothing of what the handler had buffered.
    assert_eq!(response.status, 500, "{}", response.transcript());
    assert_eq!(response.reason, "Internal Server Error");
    assert_eq!(response.error, E_UNEXPECTED);
    assert!(response.body.is_empty(), "{:?}", response.body_str());
    assert_eq!(response.header("X-Partial"), None);

    // The handler reported RQ_NOTIFICATION_FINISH_REQUEST: the same stages ran as for a
    // handler returning FinishRequest (ReleaseRequestState and UpdateRequestCache skipped,
    // LogRequest and EndRequest still run).
    let returned: Vec<&str> = response.returned("CHttpModule::OnExecuteRequestHandler").collect();
    assert_eq!(returned, ["RQ_NOTIFICATION_FINISH_REQUEST"]);
    assert_eq!(response.notifications(), expected);
    assert!(!expected.contains(&Handler::On(Notification::ReleaseRequestState)));
    assert!(!expected.contains(&Handler::OnPost(Notification::ExecuteRequestHandler)));
    assert!(expected.contains(&Handler::OnPost(Notification::EndRequest)));

    // The message went to the request's trace, during the failing notification.
    let trace: Vec<_> = response.calls_to("IHttpTraceContext::QuickTrace").collect();
    assert_eq!(trace.len(), 1, "{}", response.transcript());
    assert_eq!(trace[0].notification, Some(Notification::ExecuteRequestHandler));
    assert_eq!(trace[0].detail, "httpserv: HttpModule::on_execute_request_handler panicked: boom 42 |  | E_UNEXPECTED | level 2");

    // The module was still disposed, and the server serves the next request.
    assert_eq!(response.called("CHttpModule::Dispose"), 1);
    clear_hooks();
    let next = sim.send(TestRequest::get("/next"));
    assert_eq!(next.status, 200);
    assert!(traces(&next).is_empty());
    let report = sim.shutdown();
    assert_eq!(report.requests, 2);
    assert_eq!(report.modules_created, 2);
    assert_eq!(report.modules_created, report.modules_disposed);
}

#[test]
fn panic_in_begin_request_skips_the_rest() {
    let mut sim = Sim::new();
    on(Stage::BeginRequest, |_, _| panic!("early"));
    let response = sim.send(TestRequest::get("/"));
    assert_eq!(response.status, 500);
    assert_eq!(
        response.notifications(),
        [
            Handler::On(Notification::BeginRequest),
            Handler::On(Notification::SendResponse),
            Handler::On(Notification::LogRequest),
            Handler::OnPost(Notification::LogRequest),
            Handler::On(Notification::EndRequest),
            Handler::OnPost(Notification::EndRequest),
        ],
        "{}",
        response.transcript()
    );
    assert_eq!(traces(&response), ["httpserv: HttpModule::on_begin_request panicked: early |  | E_UNEXPECTED | level 2"]);
    sim.shutdown();
}

#[test]
fn panic_in_send_response() {
    let mut sim = Sim::new();
    on(Stage::ExecuteRequestHandler, |context, _| {
        context.response().write(b"never sent").unwrap();
        NotificationStatus::Continue
    });
    on(Stage::SendResponse, |_, _| panic!("while sending"));
    let response = sim.send(TestRequest::get("/"));
    assert_eq!(response.status, 500);
    assert!(response.body.is_empty());
    assert_eq!(traces(&response), ["httpserv: HttpModule::on_send_response panicked: while sending |  | E_UNEXPECTED | level 2"]);
    // FinishRequest from RQ_SEND_RESPONSE: the remaining stages up to LogRequest are skipped.
    assert_eq!(response.called("CHttpModule::OnReleaseRequestState"), 0);
    assert_eq!(response.called("CHttpModule::OnEndRequest"), 1);
    sim.shutdown();
}

#[test]
fn panic_with_a_non_string_payload() {
    let mut sim = Sim::new();
    on(Stage::ExecuteRequestHandler, |_, _| std::panic::panic_any(17_u32));
    let response = sim.send(TestRequest::get("/"));
    assert_eq!(response.status, 500);
    assert_eq!(
        traces(&response),
        ["httpserv: HttpModule::on_execute_request_handler panicked: a panic with a non-string payload |  | E_UNEXPECTED | level 2"]
    );
    sim.shutdown();
}

/// A panic payload whose own `Drop` panics.
struct Grenade;

impl Drop for Grenade {
    fn drop(&mut self) {
        panic!("the payload exploded");
    }
}

#[test]
fn panic_payload_that_panics_when_dropped() {
    let mut sim = Sim::new();
    on(Stage::ExecuteRequestHandler, |_, _| std::panic::panic_any(Grenade));
    let response = sim.send(TestRequest::get("/"));
    assert_eq!(response.status, 500);
    assert_eq!(
        traces(&response),
        ["httpserv: HttpModule::on_execute_request_handler panicked: a panic with a non-string payload (and its payload panicked when dropped) |  | E_UNEXPECTED | level 2"]
    );
    sim.shutdown();
}

#[test]
fn panic_in_a_nested_notification() {
    let mut sim = Sim::new();
    on(Stage::MapPath, |_, _| panic!("in RQ_MAP_PATH"));
    let response = sim.send(TestRequest::get("/").other_module(Notification::ExecuteRequestHandler, |raw| {
        // SAFETY: the simulator's live context of this request, used during the call only.
        let context = unsafe { HttpContext::from_raw(raw) }.unwrap();
        // IIS goes on with the mapping; the request is already failed.
        let _ = context.map_path("/x");
    }));
    assert_eq!(response.status, 500);
    let trace: Vec<_> = response.calls_to("IHttpTraceContext::QuickTrace").collect();
    assert_eq!(trace.len(), 1);
    assert_eq!(trace[0].notification, Some(Notification::MapPath));
    assert!(trace[0].detail.starts_with("httpserv: HttpModule::on_map_path panicked: in RQ_MAP_PATH"));
    sim.shutdown();
}

/// A stored value whose `Drop` panics, at `CleanupStoredContext`.
struct PanicsOnCleanup;

impl Drop for PanicsOnCleanup {
    fn drop(&mut self) {
        panic!("stored context drop");
    }
}

#[test]
fn stored_context_whose_drop_panics() {
    let mut sim = Sim::new();
    on(Stage::BeginRequest, |context, _| {
        context.set_stored_context(PanicsOnCleanup).unwrap();
        NotificationStatus::Continue
    });
    let response = sim.send(TestRequest::get("/"));
    assert_eq!(response.status, 200);
    assert_eq!(response.stored_contexts_cleaned, 1);
    assert_eq!(response.called("CHttpModule::Dispose"), 1);
    sim.shutdown();
}

// ---------------------------------------------------------------------------------------------
// Modules registered by hand (the binary's `#[http_module]` struct is `Scripted`).

static DROPS: AtomicUsize = AtomicUsize::new(0);

/// A module whose `Drop` (run by `CHttpModule::Dispose`) panics.
#[derive(Default)]
struct PanicsWhenDropped;

impl Drop for PanicsWhenDropped {
    fn drop(&mut self) {
        DROPS.fetch_add(1, Ordering::SeqCst);
        panic!("module drop");
    }
}

#[http_module]
impl HttpModule for PanicsWhenDropped {
    fn on_begin_request(&mut self, context: &HttpContext<'_>, _: &EventProvider<'_>) -> NotificationStatus {
        let _ = context.response().set_header("X-Module", "drop-panics");
        NotificationStatus::Continue
    }
}

#[test]
fn module_whose_drop_panics() {
    let mut sim = Sim::with(register::<PanicsWhenDropped>);
    let before = DROPS.load(Ordering::SeqCst);
    for _ in 0..3 {
        let response = sim.send(TestRequest::get("/"));
        assert_eq!(response.status, 200);
        assert_eq!(response.header("X-Module"), Some("drop-panics"));
        assert_eq!(response.called("CHttpModule::Dispose"), 1);
    }
    assert_eq!(DROPS.load(Ordering::SeqCst), before + 3);
    let report = sim.shutdown();
    assert_eq!((report.modules_created, report.modules_disposed), (3, 3));
    assert!(report.factory_terminated);
}

/// A module whose `Default` (run by `IHttpModuleFactory::GetHttpModule`) panics.
struct PanicsWhenCreated;

impl Default for PanicsWhenCreated {
    fn default() -> Self {
        panic!("cannot create the module");
    }
}

#[http_module]
impl HttpModule for PanicsWhenCreated {
    fn on_begin_request(&mut self, _: &HttpContext<'_>, _: &EventProvider<'_>) -> NotificationStatus {
        NotificationStatus::Continue
    }
}

#[test]
fn module_whose_default_panics() {
    let mut sim = Sim::with(register::<PanicsWhenCreated>);
    let response = sim.send(TestRequest::get("/"));
    // The factory reports E_UNEXPECTED; IIS fails the request.
    assert_eq!(response.status, 500);
    let returned: Vec<&str> = response.returned("IHttpModuleFactory::GetHttpModule").collect();
    assert_eq!(returned, ["E_UNEXPECTED"]);
    assert_eq!(response.called("CHttpModule::OnBeginRequest"), 0);
    let report = sim.shutdown();
    assert_eq!((report.modules_created, report.modules_disposed), (0, 0));
}

/// A plain request module to go with the global modules below.
#[derive(Default)]
struct Plain;

#[http_module]
impl HttpModule for Plain {
    fn on_execute_request_handler(&mut self, context: &HttpContext<'_>, _: &EventProvider<'_>) -> NotificationStatus {
        let _ = context.response().write(b"plain");
        NotificationStatus::Continue
    }
}

static GLOBAL_CALLS: AtomicUsize = AtomicUsize::new(0);
static GLOBAL_DROPS: AtomicUsize = AtomicUsize::new(0);

/// A global module whose handlers and `Drop` all panic.
#[derive(Default)]
struct PanickyGlobal;

impl Drop for PanickyGlobal {
    fn drop(&mut self) {
        GLOBAL_DROPS.fetch_add(1, Ordering::SeqCst);
        panic!("global module drop");
    }
}

#[http_module]
impl GlobalModule for PanickyGlobal {
    fn on_global_application_start(&self, _: &ApplicationProvider<'_>) -> GlobalNotificationStatus {
        GLOBAL_CALLS.fetch_add(1, Ordering::SeqCst);
        panic!("application start");
    }

    fn on_global_pre_begin_request(&self, _: &PreBeginRequestProvider<'_>) -> GlobalNotificationStatus {
        GLOBAL_CALLS.fetch_add(1, Ordering::SeqCst);
        panic!("pre-begin request");
    }
}

#[test]
fn global_module_handlers_that_panic() {
    let calls_before = GLOBAL_CALLS.load(Ordering::SeqCst);
    let drops_before = GLOBAL_DROPS.load(Ordering::SeqCst);
    let mut sim = Sim::with(register_with_global::<Plain, PanickyGlobal>);

    // GL_APPLICATION_START ran during TestServer::new and panicked: reported to the server's
    // trace, and the server still started.
    let start: Vec<_> = sim.server.server_calls().iter().filter(|c| c.method == "IHttpTraceContext::QuickTrace").cloned().collect();
    assert_eq!(start.len(), 1, "{:#?}", sim.server.server_calls());
    assert_eq!(start[0].notification, Some(Notification::GlobalApplicationStart));
    assert_eq!(start[0].detail, "httpserv: GlobalModule::on_global_application_start panicked: application start |  | E_UNEXPECTED | level 2");

    // GL_PRE_BEGIN_REQUEST panics before every request; the request goes on (the notification
    // continues).
    let response = sim.send(TestRequest::get("/"));
    assert_eq!(response.status, 200);
    assert_eq!(response.body_str(), "plain");
    let pre: Vec<_> = response.calls_to("IHttpTraceContext::QuickTrace").collect();
    assert_eq!(pre.len(), 1, "{}", response.transcript());
    assert_eq!(pre[0].notification, Some(Notification::GlobalPreBeginRequest));
    assert!(pre[0].detail.starts_with("httpserv: GlobalModule::on_global_pre_begin_request panicked: pre-begin request"));
    let returned: Vec<&str> = response.returned("CGlobalModule::OnGlobalPreBeginRequest").collect();
    assert_eq!(returned, ["GL_NOTIFICATION_CONTINUE"], "{}", response.transcript());
    assert_eq!(GLOBAL_CALLS.load(Ordering::SeqCst), calls_before + 2);

    // CGlobalModule::Terminate drops it; that panic is caught too.
    let report = sim.shutdown();
    assert!(report.global_terminated);
    assert!(report.factory_terminated);
    assert_eq!(GLOBAL_DROPS.load(Ordering::SeqCst), drops_before + 1);
}

/// `RegisterModule` whose registration code panics.
///
/// # Safety
/// Called as IIS calls `RegisterModule`.
unsafe extern "system" fn register_panics(
    version: u32,
    info: *mut httpserv::__private::IHttpModuleRegistrationInfo,
    server: *mut httpserv::__private::IHttpServer,
) -> httpserv::__private::HRESULT {
    // SAFETY: the arguments are the test server's, passed through.
    unsafe { httpserv::__private::register_module(version, info, server, || None, |_| panic!("registration failed")) }
}

#[test]
fn register_module_that_panics() {
    let _serial = serial();
    let error = TestServer::new(register_panics).expect_err("a panicking RegisterModule fails");
    assert_eq!(error.hresult, E_UNEXPECTED);
    let trace: Vec<_> = error.calls.iter().filter(|c| c.method == "IHttpTraceContext::QuickTrace").collect();
    assert_eq!(trace.len(), 1, "{:#?}", error.calls);
    assert!(trace[0].detail.starts_with("httpserv: RegisterModule panicked: registration failed"));
}
