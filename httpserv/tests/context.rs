//! `HttpContext`, `Server` and the event providers through the test server.

mod common;

use std::cell::RefCell;
use std::rc::Rc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;

use common::*;
use httpserv::prelude::*;
use httpserv::sys::{IHttpContext, IHttpContext3, IHttpContext4};
use httpserv_testing::{Handler, Notification, TestRequest, APPLICATION_ID, APPLICATION_PHYSICAL_PATH, APP_POOL_NAME, SERVER_VERSION, SITE_ID, SITE_NAME};
use httpserv::{TraceLevel, WideStr, HRESULT};

#[test]
fn cancel_io_during_send_response() {
    let mut sim = Sim::new();
    let result = Rc::new(RefCell::new(None));
    let out = result.clone();
    on(Stage::SendResponse, move |context, _| {
        *out.borrow_mut() = Some(context.cancel_io().map_err(|e| e.code()));
        NotificationStatus::Continue
    });
    let response = sim.send(TestRequest::get("/"));
    assert_eq!(*result.borrow(), Some(Ok(())));
    assert_eq!(response.status, 200);
    assert_eq!(response.called_during("IHttpContext::CancelIo", Notification::SendResponse), 1, "{}", response.transcript());
    assert_eq!(response.called("IHttpContext::CancelIo"), 1);
    sim.shutdown();
}

#[test]
fn server_variable_bytes() {
    let request = TestRequest::get("/page?q=1").header("X-Name", "café");
    let ran = in_handler_with(request, |context| {
        let get = |name: &str| context.server_variable(name).map(|v| v.map(<[u8]>::to_vec)).map_err(|e| e.code());
        (get("REQUEST_METHOD"), get("QUERY_STRING"), get("HTTP_X_NAME"), get("NO_SUCH_VARIABLE"))
    });
    let (method, query, name, unknown) = ran.value;
    assert_eq!(method, Ok(Some(b"GET".to_vec())));
    assert_eq!(query, Ok(Some(b"q=1".to_vec())));
    assert_eq!(name, Ok(Some("café".as_bytes().to_vec())));
    assert_eq!(unknown, Ok(None));
    assert_eq!(ran.response.called("IHttpContext::GetServerVariable"), 4);
}

#[test]
fn server_variable_wide_lossless_and_lossy() {
    let request = TestRequest::get("/").header("X-Name", "café ☕ 𝄞");
    let ran = in_handler_with(request, |context| {
        let wide = context.server_variable_wide("HTTP_X_NAME").unwrap().expect("known variable");
        let unknown = context.server_variable_wide("NO_SUCH_VARIABLE").map(|v| v.is_none()).map_err(|e| e.code());
        (wide.as_slice().to_vec(), wide.to_string().ok(), wide.to_string_lossy(), wide.eq_str("café ☕ 𝄞"), format!("{wide}"), unknown)
    });
    let (units, lossless, lossy, eq, display, unknown) = ran.value;
    assert_eq!(units, "café ☕ 𝄞".encode_utf16().collect::<Vec<_>>());
    assert_eq!(lossless.as_deref(), Some("café ☕ 𝄞"));
    assert_eq!(lossy, "café ☕ 𝄞");
    assert!(eq);
    assert_eq!(display, "café ☕ 𝄞");
    assert_eq!(unknown, Ok(true));
}

#[test]
fn wide_str_with_an_unpaired_surrogate() {
    // IIS strings are UTF-16 and may hold unpaired surrogates, which the simulator (fed Rust
    // strings) cannot produce: the conversions are checked on a WideStr directly.
    let units = [u16::from(b'a'), 0xD800, u16::from(b'b')];
    let wide = WideStr::new(&units);
    assert!(wide.to_string().is_err(), "lossless conversion must fail");
    assert_eq!(wide.to_string_lossy(), "a\u{FFFD}b");
    assert_eq!(format!("{wide}"), "a\u{FFFD}b");
    assert_eq!(wide.len(), 3);
    assert!(!wide.eq_str("a\u{FFFD}b"));
}

#[test]
fn set_server_variable_then_read_it() {
    let ran = in_handler(|context| {
        let set = context.set_server_variable("MY_VARIABLE", "my value").map_err(|e| e.code());
        let narrow = context.server_variable("MY_VARIABLE").unwrap().map(<[u8]>::to_vec);
        let wide = context.server_variable_wide("MY_VARIABLE").unwrap().map(|w| w.to_string_lossy());
        (set, narrow, wide)
    });
    assert_eq!(ran.value, (Ok(()), Some(b"my value".to_vec()), Some("my value".to_owned())));
    assert_eq!(ran.response.server_variables_set, [("MY_VARIABLE".to_owned(), "my value".to_owned())]);
}

#[test]
fn map_path_and_the_map_path_notification() {
    let mut sim = Sim::new();
    let seen = Rc::new(RefCell::new(Vec::new()));
    let log = seen.clone();
    on(Stage::MapPath, move |context, provider| {
        let p = provider.map_path();
        let url = p.url().map(|u| u.to_string_lossy());
        let physical = p.physical_path(context).map(|u| u.to_string_lossy());
        log.borrow_mut().push((url.clone(), physical));
        if url.as_deref() == Some("/remapped/file.txt") {
            p.set_physical_path("D:\\elsewhere\\file.txt").unwrap();
        }
        NotificationStatus::Continue
    });
    // Another module maps the paths: the module's own map_path would not re-enter it.
    let mapped = std::sync::Arc::new(std::sync::Mutex::new(Vec::new()));
    let out = mapped.clone();
    let response = sim.send(TestRequest::get("/").other_module(Notification::ExecuteRequestHandler, move |raw| {
        // SAFETY: the simulator's live context of this request, used during the call only.
        let context = unsafe { HttpContext::from_raw(raw) }.unwrap();
        out.lock().unwrap().push(context.map_path("/a/b.txt").map_err(|e| e.code()));
        out.lock().unwrap().push(context.map_path("/remapped/file.txt").map_err(|e| e.code()));
    }));
    assert_eq!(
        *mapped.lock().unwrap(),
        [Ok("C:\\inetpub\\wwwroot\\a\\b.txt".to_owned()), Ok("D:\\elsewhere\\file.txt".to_owned())]
    );
    assert_eq!(
        *seen.borrow(),
        [
            (Some("/a/b.txt".to_owned()), Some("C:\\inetpub\\wwwroot\\a\\b.txt".to_owned())),
            (Some("/remapped/file.txt".to_owned()), Some("C:\\inetpub\\wwwroot\\remapped\\file.txt".to_owned())),
        ]
    );
    assert_eq!(response.called_during("IMapPathProvider::SetPhysicalPath", Notification::MapPath), 1);
    assert_eq!(response.called_during("CHttpModule::OnMapPath", Notification::MapPath), 2);
    sim.shutdown();
}

#[test]
fn map_path_longer_than_max_path() {
    let url = format!("/{}/end.txt", "d".repeat(400));
    let expected = format!("{APPLICATION_PHYSICAL_PATH}{}\\end.txt", "d".repeat(400));
    let ran = in_handler(move |context| context.map_path(&url).map_err(|e| e.code()));
    assert_eq!(ran.value, Ok(expected));
    // One call with a buffer for any Windows path: a second would raise RQ_MAP_PATH again.
    let calls = details(&ran.response, "IHttpContext::MapPath");
    assert_eq!(calls.len(), 1, "{calls:?}");
    assert!(calls[0].ends_with("65536 given -> S_OK"), "{calls:?}");
}

#[test]
fn script_name_and_physical_path() {
    let ran = in_handler_with(TestRequest::get("/app/default.aspx?x=1"), |context| {
        (context.script_name().map(|s| s.to_string_lossy()), context.physical_path().map(|s| s.to_string_lossy()))
    });
    assert_eq!(ran.value.0.as_deref(), Some("/app/default.aspx"));
    assert_eq!(ran.value.1.as_deref(), Some("C:\\inetpub\\wwwroot\\app\\default.aspx"));
}

#[test]
fn no_user_by_default() {
    let ran = in_handler(|context| context.user().is_none());
    assert!(ran.value);
    assert_eq!(details(&ran.response, "IHttpContext::GetUser"), ["-> NULL"]);
}

#[test]
fn authenticated_user() {
    let ran = in_handler_with(TestRequest::get("/").user_with_auth_type("alice", "Negotiate"), |context| {
        let user = context.user().expect("a user");
        (
            user.name().map(|n| n.to_string_lossy()),
            user.remote_user_name().map(|n| n.to_string_lossy()),
            user.authentication_type().map(|n| n.to_string_lossy()),
        )
    });
    let (name, remote, kind) = ran.value;
    assert_eq!(name.as_deref(), Some("alice"));
    assert_eq!(remote.as_deref(), Some("alice"));
    assert_eq!(kind.as_deref(), Some("Negotiate"));
}

#[test]
fn site_application_and_connection() {
    let ran = in_handler(|context| {
        let site = context.site().expect("site");
        let app = context.application().expect("application");
        let connection = context.connection().expect("connection");
        (
            site.id(),
            site.name().map(|n| n.to_string_lossy()),
            app.id().map(|n| n.to_string_lossy()),
            app.physical_path().map(|n| n.to_string_lossy()),
            app.config_path().map(|n| n.to_string_lossy()).is_some(),
            connection.is_connected(),
        )
    });
    let (site_id, site_name, app_id, app_path, has_config_path, connected) = ran.value;
    assert_eq!(site_id, SITE_ID);
    assert_eq!(site_name.as_deref(), Some(SITE_NAME));
    assert_eq!(app_id.as_deref(), Some(APPLICATION_ID));
    assert_eq!(app_path.as_deref(), Some(APPLICATION_PHYSICAL_PATH));
    assert!(has_config_path);
    assert!(connected);
}

#[test]
fn allocate_request_memory() {
    let ran = in_handler(|context| {
        let a = context.allocate_request_memory(24).unwrap();
        let zeroed = a.iter().all(|&b| b == 0);
        a.copy_from_slice(&[0xAB; 24]);
        let b = context.allocate_request_memory(3).unwrap();
        b.copy_from_slice(b"xyz");
        (zeroed, a.len(), b.to_vec(), a.iter().all(|&x| x == 0xAB))
    });
    assert_eq!(ran.value, (true, 24, b"xyz".to_vec(), true));
    // Request memory also holds the module object (IModuleAllocator).
    assert!(ran.response.request_memory_bytes >= 27);
    assert_eq!(details(&ran.response, "IHttpContext::AllocateRequestMemory"), ["24 bytes", "3 bytes"]);
}

/// Counts its drops.
struct Tracked {
    value: u32,
    drops: Arc<AtomicUsize>,
}

impl Drop for Tracked {
    fn drop(&mut self) {
        self.drops.fetch_add(1, Ordering::SeqCst);
    }
}

#[test]
fn stored_context_lives_until_cleanup() {
    let mut sim = Sim::new();
    let drops = Arc::new(AtomicUsize::new(0));
    let observed = Rc::new(RefCell::new(Vec::new()));

    let d = drops.clone();
    let log = observed.clone();
    on(Stage::BeginRequest, move |context, _| {
        log.borrow_mut().push(format!("before: {:?}", context.stored_context::<Tracked>().map(|t| t.value)));
        let first = context.set_stored_context(Tracked { value: 7, drops: d.clone() });
        log.borrow_mut().push(format!("first: {:?}", first.map_err(|e| e.code())));
        // A second value is refused, and dropped at once.
        let second = context.set_stored_context(Tracked { value: 8, drops: d.clone() });
        log.borrow_mut().push(format!("second refused: {}", second.is_err()));
        log.borrow_mut().push(format!("drops after refusal: {}", d.load(Ordering::SeqCst)));
        NotificationStatus::Continue
    });
    let d = drops.clone();
    let log = observed.clone();
    on(Stage::ExecuteRequestHandler, move |context, _| {
        log.borrow_mut().push(format!("later: {:?}", context.stored_context::<Tracked>().map(|t| t.value)));
        log.borrow_mut().push(format!("wrong type: {:?}", context.stored_context::<String>()));
        log.borrow_mut().push(format!("drops before end: {}", d.load(Ordering::SeqCst)));
        NotificationStatus::Continue
    });
    let response = sim.send(TestRequest::get("/"));
    assert_eq!(
        *observed.borrow(),
        ["before: None", "first: Ok(())", "second refused: true", "drops after refusal: 1", "later: Some(7)", "wrong type: None", "drops before end: 1"]
    );
    // CleanupStoredContext dropped the stored value: 2 drops in all.
    assert_eq!(drops.load(Ordering::SeqCst), 2);
    assert_eq!(response.stored_contexts_cleaned, 1);
    assert_eq!(response.called("IHttpStoredContext::CleanupStoredContext"), 1);
    let set = details(&response, "IHttpModuleContextContainer::SetModuleContext");
    assert_eq!(set.len(), 2);
    assert!(set[0].ends_with("-> S_OK") && !set[1].ends_with("-> S_OK"), "{set:?}");
    let cleanup = response.calls.iter().position(|c| c.method == "IHttpStoredContext::CleanupStoredContext").unwrap();
    let end = response.calls.iter().position(|c| c.method == "CHttpModule::OnPostEndRequest").unwrap();
    let dispose = response.calls.iter().position(|c| c.method == "CHttpModule::Dispose").unwrap();
    assert!(end < cleanup && cleanup < dispose, "{}", response.transcript());
    // Each request has its own.
    let response = sim.send(TestRequest::get("/"));
    assert_eq!(response.stored_contexts_cleaned, 1);
    assert_eq!(drops.load(Ordering::SeqCst), 4);
    sim.shutdown();
}

#[test]
fn extended_context_interfaces() {
    let ran = in_handler(|context| {
        let server = context.server().expect("the server given to RegisterModule");
        let three = context.extended::<IHttpContext3>(&server).map(|p| p.as_raw().cast::<IHttpContext>() == context.as_raw()).map_err(|e| e.code());
        let four = context.extended::<IHttpContext4>(&server).map(|p| p.as_raw().cast::<IHttpContext>() == context.as_raw()).map_err(|e| e.code());
        (three, four)
    });
    assert_eq!(ran.value, (Ok(true), Ok(true)));
    assert_eq!(
        details(&ran.response, "IHttpServer2::GetExtendedInterface"),
        ["IHttpContext -> IHttpContext3 -> S_OK", "IHttpContext -> IHttpContext4 -> S_OK"]
    );
}

#[test]
fn quick_trace_is_recorded() {
    let ran = in_handler(|context| {
        let trace = context.trace().expect("trace context");
        let one = trace.quick_trace("first", None, HRESULT(0), TraceLevel::Information).map_err(|e| e.code());
        let two = trace.quick_trace("second", Some("extra"), HRESULT(0x8000_4005_u32 as i32), TraceLevel::Error).map_err(|e| e.code());
        (one, two)
    });
    assert_eq!(ran.value, (Ok(()), Ok(())));
    assert_eq!(
        details(&ran.response, "IHttpTraceContext::QuickTrace"),
        ["first |  | S_OK | level 4", "second | extra | E_FAIL | level 2"]
    );
    assert_eq!(ran.response.called_during("IHttpTraceContext::QuickTrace", Notification::ExecuteRequestHandler), 2);
}

#[test]
fn server_from_the_context() {
    let ran = in_handler(|context| {
        let server = context.server().expect("server");
        (
            server.app_pool_name().map(|n| n.to_string_lossy()),
            server.iis_version(),
            server.is_command_line_launch(),
            server.report_unhealthy("database unreachable", HRESULT(0x8000_4005_u32 as i32)).map_err(|e| e.code()),
            server.recycle_process("memory limit").map_err(|e| e.code()),
            server.trace().is_some(),
        )
    });
    let (pool, version, command_line, unhealthy, recycle, trace) = ran.value;
    assert_eq!(pool.as_deref(), Some(APP_POOL_NAME));
    assert_eq!(version, SERVER_VERSION);
    assert!(!command_line);
    assert_eq!(unhealthy, Ok(()));
    assert_eq!(recycle, Ok(()));
    assert!(trace);
    let count = |method: &str| ran.server_calls.iter().filter(|c| c.method == method).count();
    assert_eq!(count("IHttpServer::ReportUnhealthy"), 1);
    assert_eq!(count("IHttpServer::RecycleProcess"), 1);
    assert_eq!(count("IHttpServer::IsCommandLineLaunch"), 1);
    assert_eq!(count("IHttpServer::GetAppPoolName"), 1);
    // Server calls made during a request are in its transcript too.
    let unhealthy = details(&ran.response, "IHttpServer::ReportUnhealthy");
    assert_eq!(unhealthy.len(), 1);
    assert!(unhealthy[0].contains("database unreachable") && unhealthy[0].contains("E_FAIL"), "{unhealthy:?}");
    assert!(details(&ran.response, "IHttpServer::RecycleProcess")[0].contains("memory limit"));
}

#[test]
fn send_response_provider() {
    let mut sim = Sim::new();
    let seen = Rc::new(RefCell::new(Vec::new()));
    let log = seen.clone();
    on(Stage::SendResponse, move |_, provider| {
        let p = provider.send_response();
        log.borrow_mut().push((p.headers_being_sent(), p.flags()));
        p.set_flags(p.flags() | 0x1);
        log.borrow_mut().push((p.headers_being_sent(), p.flags()));
        p.set_error_status(HRESULT(0x8007_0005_u32 as i32));
        NotificationStatus::Continue
    });
    let response = sim.send(TestRequest::get("/"));
    assert_eq!(*seen.borrow(), [(true, 0), (true, 1)]);
    assert_eq!(details(&response, "ISendResponseProvider::SetFlags"), ["0x1"]);
    assert_eq!(response.called_during("IHttpEventProvider::SetErrorStatus", Notification::SendResponse), 1);
    sim.shutdown();
}

#[test]
fn event_provider_set_error_status() {
    let mut sim = Sim::new();
    on(Stage::BeginRequest, |_, provider| {
        provider.event().set_error_status(HRESULT(0x8007_0002_u32 as i32));
        NotificationStatus::Continue
    });
    let response = sim.send(TestRequest::get("/"));
    assert_eq!(details(&response, "IHttpEventProvider::SetErrorStatus"), ["HRESULT_FROM_WIN32(ERROR_FILE_NOT_FOUND)"]);
    assert_eq!(response.called_during("IHttpEventProvider::SetErrorStatus", Notification::BeginRequest), 1);
    sim.shutdown();
}

#[test]
fn set_request_handled_and_module_id() {
    let ran = in_handler(|context| {
        context.set_request_handled();
        !context.module_id().is_null()
    });
    assert!(ran.value);
    assert!(ran.response.request_handled);
}

#[test]
fn every_handler_registered_and_called_in_order() {
    let mut sim = Sim::new();
    let response = sim.send(TestRequest::get("/"));
    let stages: Vec<Handler> = response.notifications();
    let mut expected = Vec::new();
    for n in Notification::PIPELINE {
        expected.push(Handler::On(n));
        expected.push(Handler::OnPost(n));
        if n == Notification::ExecuteRequestHandler {
            expected.push(Handler::On(Notification::SendResponse));
        }
    }
    assert_eq!(stages, expected, "{}", response.transcript());
    sim.shutdown();
}

/// What the global module below stores before each request.
struct FromPreBegin(&'static str);

/// A global module storing a context in `GL_PRE_BEGIN_REQUEST`.
#[derive(Default)]
struct StoresBeforeBegin;

#[http_module]
impl GlobalModule for StoresBeforeBegin {
    fn on_global_pre_begin_request(&self, provider: &httpserv::PreBeginRequestProvider<'_>) -> GlobalNotificationStatus {
        let context = provider.http_context().expect("the request's context");
        context.set_stored_context(FromPreBegin("stored by the global module")).expect("SetModuleContext");
        GlobalNotificationStatus::Continue
    }
}

/// The request module of the same DLL, reading it.
#[derive(Default)]
struct ReadsStoredContext;

#[http_module]
impl HttpModule for ReadsStoredContext {
    fn on_begin_request(&mut self, context: &HttpContext<'_>, _: &EventProvider<'_>) -> NotificationStatus {
        let found = context.stored_context::<FromPreBegin>().map_or("none", |s| s.0);
        context.response().set_header("X-Stored", found).unwrap();
        NotificationStatus::Continue
    }
}

#[test]
fn global_module_stores_a_context_under_the_module_id() {
    let mut sim = Sim::with(register_with_global::<ReadsStoredContext, StoresBeforeBegin>);
    let response = sim.send(TestRequest::get("/"));
    assert_eq!(response.header("X-Stored"), Some("stored by the global module"), "{}", response.transcript());
    let set = details(&response, "IHttpModuleContextContainer::SetModuleContext");
    assert_eq!(set.len(), 1);
    assert!(!set[0].contains("module 0x0 "), "stored under a null module id: {set:?}");
    assert_eq!(response.stored_contexts_cleaned, 1);
    sim.shutdown();
}

#[test]
fn empty_server_variable_is_some_empty() {
    let ran = in_handler_with(TestRequest::get("/no-query"), |context| {
        (
            context.server_variable("QUERY_STRING").unwrap().map(<[u8]>::to_vec),
            context.server_variable_wide("QUERY_STRING").unwrap().map(|w| w.len()),
        )
    });
    assert_eq!(ran.value, (Some(Vec::new()), Some(0)));
}
