//! The methods wrapped for issue 12 through the in-process test server: `SetUser` with a Rust
//! `IHttpUser`, user tokens and roles, `GetScriptTranslated`, typed extension handles, known
//! request headers by id, the raw response view, static and multi-chunk writes, the error
//! description and `hrErrorToReport`, trace configuration and events, log data, connection and
//! metadata stored contexts, `GetAppPoolConfigFile` and `QueryRequestProperty`.

mod common;

use std::cell::RefCell;
use std::rc::Rc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;

use common::*;
use httpserv::prelude::*;
use httpserv::{AuthenticatedUser, Chunk, LogDataChange, RawChunk, Status, TraceEvent, TraceItem, TraceValue, HRESULT};
use httpserv_testing::{Notification, TestRequest};
use windows_sys::Win32::Networking::HttpServer::{HttpHeaderAcceptLanguage, HttpHeaderRequestMaximum, HttpRequestPropertySni, HTTP_REQUEST_PROPERTY_SNI};

/// Runs `f` in RQ_AUTHENTICATE_REQUEST with the authentication provider.
fn authenticate_with(f: impl FnMut(&HttpContext<'_>, &AuthenticationProvider<'_>) + 'static) {
    let mut f = f;
    on(Stage::AuthenticateRequest, move |context, provider| {
        f(context, provider.authentication());
        NotificationStatus::Continue
    });
}

#[test]
fn set_user_is_the_user_of_later_stages_and_is_released_once() {
    let mut sim = Sim::new();
    authenticate_with(|_, provider| provider.set_user(AuthenticatedUser::new("alice", "Basic").unwrap()));
    let seen = Rc::new(RefCell::new(Vec::new()));
    let out = seen.clone();
    on(Stage::ExecuteRequestHandler, move |context, _| {
        let var = |name: &str| context.server_variable(name).unwrap().map(|v| String::from_utf8_lossy(v).into_owned());
        let user = context.user().expect("the user SetUser set");
        out.borrow_mut().extend([
            var("AUTH_USER"),
            var("LOGON_USER"),
            var("REMOTE_USER"),
            var("AUTH_TYPE"),
            user.name().map(|n| n.to_string_lossy()),
            user.authentication_type().map(|n| n.to_string_lossy()),
        ]);
        NotificationStatus::Continue
    });
    let response = sim.send(TestRequest::get("/secret"));
    let alice = Some("alice".to_owned());
    let basic = Some("Basic".to_owned());
    assert_eq!(*seen.borrow(), [alice.clone(), alice.clone(), alice.clone(), basic.clone(), alice, basic], "{}", response.transcript());
    // IIS gives back the one reference SetUser handed over, once, when the request ends.
    assert_eq!(details(&response, "IHttpUser::DereferenceUser"), ["the module's user (end of request)"]);
    let set = response.calls.iter().position(|c| c.method == "IAuthenticationProvider::SetUser").unwrap();
    let released = response.calls.iter().position(|c| c.method == "IHttpUser::DereferenceUser").unwrap();
    assert!(set < released);
    // The log names the user too.
    assert_eq!(response.log.user_name, "alice");
    // The next request has no user: the one set is per request.
    clear_hooks();
    let next = sim.send(TestRequest::get("/"));
    assert_eq!(next.log.user_name, "");
    sim.shutdown();
}

#[test]
fn a_second_set_user_releases_the_first() {
    let mut sim = Sim::new();
    authenticate_with(|_, provider| {
        provider.set_user(AuthenticatedUser::new("first", "Basic").unwrap());
        provider.set_user(AuthenticatedUser::new("second", "Basic").unwrap().with_remote_name("Second@Example").unwrap());
    });
    let seen = Rc::new(RefCell::new(None));
    let out = seen.clone();
    on(Stage::ExecuteRequestHandler, move |context, _| {
        let var = |name: &str| context.server_variable(name).unwrap().map(|v| String::from_utf8_lossy(v).into_owned());
        *out.borrow_mut() = Some((var("AUTH_USER"), var("REMOTE_USER")));
        NotificationStatus::Continue
    });
    let response = sim.send(TestRequest::get("/"));
    assert_eq!(*seen.borrow(), Some((Some("second".to_owned()), Some("Second@Example".to_owned()))));
    assert_eq!(details(&response, "IHttpUser::DereferenceUser"), ["the module's user (replaced by SetUser)", "the module's user (end of request)"]);
    sim.shutdown();
}

#[test]
fn original_user_roles_and_tokens() {
    let mut sim = Sim::new();
    authenticate_with(|_, provider| provider.set_user(AuthenticatedUser::new("bob", "Basic").unwrap().with_roles(["Editors"])));
    let seen = Rc::new(RefCell::new(None));
    let out = seen.clone();
    on(Stage::ExecuteRequestHandler, move |context, _| {
        let server = context.server().unwrap();
        let user = context.user().unwrap();
        let original = context.context2(&server).unwrap().original_user().map(|u| u.name().map(|n| n.to_string_lossy()));
        *out.borrow_mut() = Some((
            original,
            user.supports_is_in_role(),
            user.is_in_role("editors").map_err(|e| e.code()),
            user.is_in_role("Admins").map_err(|e| e.code()),
            user.primary_token().is_none(),
            user.impersonation_token().is_none(),
        ));
        NotificationStatus::Continue
    });
    // The client came as "carol" (Windows authentication); the module replaced the user.
    let response = sim.send(TestRequest::get("/").user_with_auth_type("carol", "Negotiate"));
    let (original, supports, editors, admins, primary, impersonation) = seen.borrow_mut().take().expect("the handler ran");
    assert_eq!(original, Some(Some("carol".to_owned())), "{}", response.transcript());
    assert!(supports);
    assert_eq!(editors, Ok(true));
    assert_eq!(admins, Ok(false));
    // A Rust user has no Windows logon behind it.
    assert!(primary && impersonation);
    sim.shutdown();
}

#[test]
fn a_user_without_roles_says_so() {
    let ran = in_handler_with(TestRequest::get("/").user("dave"), |context| {
        let user = context.user().unwrap();
        (user.supports_is_in_role(), user.is_in_role("x").map_err(|e| e.code()), user.primary_token().is_none(), user.impersonation_token().is_none())
    });
    let (supports, in_role, primary, impersonation) = ran.value;
    assert!(!supports);
    assert_eq!(in_role, Err(HRESULT(0x8000_4001_u32 as i32)), "E_NOTIMPL");
    assert!(primary && impersonation);
    assert_eq!(details(&ran.response, "IHttpUser::GetPrimaryToken"), ["-> NULL"]);
    assert_eq!(details(&ran.response, "IHttpUser::GetImpersonationToken"), ["-> NULL"]);
}

#[test]
fn bad_user_names_are_refused() {
    assert!(refusal(AuthenticatedUser::new("", "Basic")).contains("empty"));
    assert!(refusal(AuthenticatedUser::new("a\r\nb", "Basic")).contains("CR, LF or NUL"));
    assert!(refusal(AuthenticatedUser::new("a", "Basic").unwrap().with_remote_name("x\0")).contains("CR, LF or NUL"));
}

#[test]
fn script_translated_and_context4() {
    let ran = in_handler_with(TestRequest::get("/app/page.aspx?x=1"), |context| {
        let server = context.server().unwrap();
        let four = context.context4(&server).unwrap();
        (context.script_translated().map(|s| s.to_string_lossy()), four.request_elapsed_time() <= four.request_elapsed_time() + 1_000)
    });
    assert_eq!(ran.value.0.as_deref(), Some("C:\\inetpub\\wwwroot\\app\\page.aspx"));
    assert!(ran.value.1);
    assert_eq!(ran.response.called("IHttpContext::GetScriptTranslated"), 1);
    assert_eq!(ran.response.called("IHttpContext4::GetRequestElapsedTime"), 2);
}

#[test]
fn known_request_headers_by_id() {
    let ran = in_handler_with(TestRequest::get("/").header("Accept-Language", "en"), |context| {
        let request = context.request();
        let before = request.known_header(HttpHeaderAcceptLanguage).map(<[u8]>::to_vec);
        request.set_known_header(HttpHeaderAcceptLanguage, "fr", false).unwrap();
        let appended = request.header("Accept-Language").map(<[u8]>::to_vec);
        request.set_known_header(HttpHeaderAcceptLanguage, "de", true).unwrap();
        let replaced = request.header("Accept-Language").map(<[u8]>::to_vec);
        request.delete_known_header(HttpHeaderAcceptLanguage).unwrap();
        let deleted = request.header("Accept-Language").map(<[u8]>::to_vec);
        let bad_id = refusal(request.set_known_header(HttpHeaderRequestMaximum, "x", true));
        let bad_value = refusal(request.set_known_header(HttpHeaderAcceptLanguage, "a\r\nInjected: 1", true));
        let bad_delete = refusal(request.delete_known_header(-1));
        (before, appended, replaced, deleted, bad_id, bad_value, bad_delete)
    });
    let (before, appended, replaced, deleted, bad_id, bad_value, bad_delete) = ran.value;
    assert_eq!(before.as_deref(), Some(&b"en"[..]));
    assert_eq!(appended.as_deref(), Some(&b"en, fr"[..]), "{}", ran.response.transcript());
    assert_eq!(replaced.as_deref(), Some(&b"de"[..]));
    assert_eq!(deleted, None);
    assert!(bad_id.contains("not a known request header id"), "{bad_id}");
    assert!(bad_value.contains("CR, LF or NUL"), "{bad_value}");
    assert!(bad_delete.contains("not a known request header id"), "{bad_delete}");
    assert_eq!(ran.response.called("IHttpRequest::SetHeader"), 2);
    assert_eq!(ran.response.called("IHttpRequest::DeleteHeader"), 1);
    assert!(!ran.response.request_headers.iter().any(|(n, _)| n == "Accept-Language"));
}

#[test]
fn status_with_error_and_error_description() {
    let ran = in_handler(|context| {
        let response = context.response();
        let status = Status { code: 503, reason: "Service Unavailable", substatus: 2, try_skip_custom_errors: true };
        let set = response.set_status_with_error(status, HRESULT(0x8007_0005_u32 as i32)).map_err(|e| e.code());
        let described = response.set_error_description("<b>down</b> for maintenance", true).map_err(|e| e.code());
        let empty = refusal(response.set_error_description("", false));
        let bad = refusal(response.set_status_with_error(Status { code: 42, ..status }, HRESULT(0)));
        (set, described, empty, bad)
    });
    let (set, described, empty, bad) = ran.value;
    assert_eq!((set, described), (Ok(()), Ok(())));
    assert!(empty.contains("empty"));
    assert!(bad.contains("outside 100..=999"));
    let response = ran.response;
    assert_eq!((response.status, response.substatus), (503, 2));
    assert_eq!(response.error, 0x8007_0005_u32 as i32, "hrErrorToReport reaches IIS");
    assert!(response.try_skip_custom_errors);
    assert_eq!(response.error_description.as_deref(), Some("<b>down</b> for maintenance"));
    assert_eq!(details(&response, "IHttpResponse::SetErrorDescription"), ["\"<b>down</b> for maintenance\", HTML-encode"]);
}

static BANNER: &[u8] = b"<!-- static banner -->";

#[test]
fn static_chunks_fragments_and_the_raw_response() {
    let ran = in_handler(|context| {
        let response = context.response();
        let server = context.server().unwrap();
        server.add_fragment("footer", b"<footer/>").unwrap();
        response.set_header("X-Demo", "1").unwrap();
        response.write(b"<main>").unwrap();
        response.write_static(BANNER, Some(0)).unwrap();
        let sent = response.write_chunks(&[Chunk::Memory(b"</main>"), Chunk::Fragment("footer")], true).map_err(|e| e.code());
        let missing = response.write_chunks(&[Chunk::Fragment("no-such-fragment")], false).map_err(|e| e.code());
        let raw = response.raw_response().expect("IIS has a response");
        let view = (
            raw.status,
            raw.reason.to_vec(),
            raw.headers.iter().any(|(n, v)| *n == b"X-Demo" && *v == b"1"),
            raw.chunks.iter().map(|c| match c {
                RawChunk::Memory(bytes) => String::from_utf8_lossy(bytes).into_owned(),
                other => format!("{other:?}"),
            }).collect::<Vec<_>>(),
        );
        // The view is a copy: clearing the response afterwards does not change it.
        response.clear_headers();
        let still = raw.headers.iter().any(|(n, _)| *n == b"X-Demo");
        response.set_header("X-Demo", "1").unwrap();
        (sent, missing, view, still)
    });
    let (sent, missing, view, still) = ran.value;
    assert_eq!(sent, Ok(16), "7 bytes and the 9-byte fragment");
    assert_eq!(missing, Err(httpserv::E_INVALIDARG));
    let (status, reason, has_header, chunks) = view;
    assert_eq!((status, reason.as_slice(), has_header), (200, &b"OK"[..], true));
    assert_eq!(chunks, ["<!-- static banner -->", "<main>", "</main>", "<footer/>"]);
    assert!(still);
    assert_eq!(ran.response.body, b"<!-- static banner --><main></main><footer/>");
    assert_eq!(details(&ran.response, "IHttpResponse::WriteEntityChunkByReference"), ["22 bytes at chunk 0: \"<!-- static banner -->\""]);
    assert!(details(&ran.response, "IHttpResponse::WriteEntityChunks")[1].starts_with("2 chunk(s), 16 bytes"));
}

#[test]
fn chunk_input_is_checked() {
    let ran = in_handler(|context| {
        let response = context.response();
        (refusal(response.write_chunks(&[Chunk::Fragment("")], false)), refusal(response.write_chunks(&[Chunk::Fragment("a\nb")], false)))
    });
    assert!(ran.value.0.contains("empty"));
    assert!(ran.value.1.contains("CR, LF or NUL"));
    assert_eq!(ran.response.called("IHttpResponse::WriteEntityChunks"), 0);
}

const PROVIDER: windows_sys::core::GUID = windows_sys::core::GUID::from_u128(0x3a2a4e84_4c21_4981_ae10_3fda0d9b0f83);

#[test]
fn trace_configuration_and_events() {
    let ran = in_handler(|context| {
        let trace = context.trace().unwrap();
        let config = trace.configuration(&PROVIDER).map_err(|e| e.code());
        let items = [TraceItem { name: "User", value: TraceValue::Str("alice") }, TraceItem { name: "Bytes", value: TraceValue::U32(42) }, TraceItem { name: "Ok", value: TraceValue::Bool(true) }];
        let event = TraceEvent { provider: PROVIDER, area: 1, area_guid: PROVIDER, event: 7, name: "LOGIN", version: 1, verbosity: 4, items: &items };
        let raised = trace.raise_event(&event).map_err(|e| e.code());
        let bad = refusal(trace.raise_event(&TraceEvent { name: "a\0b", ..event }));
        (config, raised, bad)
    });
    let (config, raised, bad) = ran.value;
    let config = config.unwrap();
    assert!(config.enabled);
    assert_eq!((config.areas, config.verbosity), (u32::MAX, windows_sys::Win32::System::Iis::HTTP_TRACE_LEVEL_END));
    assert_eq!(raised, Ok(()));
    assert!(bad.contains("NUL"));
    assert_eq!(details(&ran.response, "IHttpTraceContext::RaiseTraceEvent"), ["LOGIN: User=\"alice\", Bytes=42, Ok=true"]);
}

#[test]
fn log_data_needs_the_final_send_and_a_high_priority() {
    // Scripted registers RQ_SEND_RESPONSE at the default (medium) priority: IIS hands it no log
    // data even when ready.
    let mut sim = Sim::new();
    let seen = Rc::new(RefCell::new(None));
    let out = seen.clone();
    on(Stage::SendResponse, move |_, provider| {
        let provider = provider.send_response();
        *out.borrow_mut() = Some((provider.ready_to_log(), provider.log_data()));
        NotificationStatus::Continue
    });
    let response = sim.send(TestRequest::get("/"));
    assert_eq!(*seen.borrow(), Some((true, None)), "{}", response.transcript());
    assert_eq!(details(&response, "ISendResponseProvider::GetLogData"), ["-> NULL (RQ_SEND_RESPONSE priority is not First or High)"]);
    sim.shutdown();
}

/// A module that rewrites its log entry, registered at `High` for RQ_SEND_RESPONSE.
#[derive(Default)]
struct Logger;

#[http_module]
impl HttpModule for Logger {
    fn on_send_response(&mut self, context: &HttpContext<'_>, provider: &SendResponseProvider<'_>) -> NotificationStatus {
        if provider.ready_to_log() {
            let before = provider.log_data().expect("ready, at High priority");
            assert_eq!((before.method.as_str(), before.uri_stem.as_str(), before.uri_query.as_str(), before.protocol_status), ("GET", "/login", "password=hunter2", 200));
            let change = LogDataChange { user_name: Some("logged-as"), uri_query: Some("password=***"), ..Default::default() };
            provider.set_log_data(context, &change).expect("SetLogData");
            let after = provider.log_data().unwrap();
            assert_eq!((after.user_name.as_str(), after.uri_query.as_str(), after.method.as_str()), ("logged-as", "password=***", "GET"));
        }
        NotificationStatus::Continue
    }
}

/// # Safety
/// Called as IIS calls `RegisterModule`.
unsafe extern "system" fn register_logger(version: u32, info: *mut httpserv::__private::IHttpModuleRegistrationInfo, server: *mut httpserv::__private::IHttpServer) -> httpserv::__private::HRESULT {
    // SAFETY: the arguments are the test server's, passed through.
    unsafe {
        httpserv::__private::register_module(version, info, server, || None, |r| {
            r.request_module::<Logger>()?;
            r.request_priority(httpserv::sys::RQ_SEND_RESPONSE, httpserv::Priority::High)
        })
    }
}

#[test]
fn set_log_data_rewrites_the_entry() {
    let mut sim = Sim::with(register_logger);
    let response = sim.send(TestRequest::get("/login?password=hunter2"));
    assert_eq!(response.status, 200, "{}", response.transcript());
    assert_eq!(response.log.user_name, "logged-as");
    assert_eq!(response.log.uri_stem, "/login");
    assert_eq!(details(&response, "ISendResponseProvider::SetLogData"), ["user \"logged-as\", GET /login?password=***, 200.0"]);
    sim.shutdown();
}

#[test]
fn log_data_is_not_ready_during_a_flush() {
    let mut sim = Sim::new();
    let seen = Rc::new(RefCell::new(Vec::new()));
    let out = seen.clone();
    on(Stage::SendResponse, move |_, provider| {
        out.borrow_mut().push(provider.send_response().ready_to_log());
        NotificationStatus::Continue
    });
    // Another module flushes (the module's own flush would not reach its own OnSendResponse:
    // it is busy in its handler).
    let response = sim.send(TestRequest::get("/").other_module(Notification::ExecuteRequestHandler, |raw| {
        // SAFETY: the simulator's live context of this request, used during the call only.
        let context = unsafe { HttpContext::from_raw(raw) }.unwrap();
        context.response().write(b"early").unwrap();
        context.response().flush().unwrap();
    }));
    // RQ_SEND_RESPONSE ran once, for the flush, before the response was complete.
    assert_eq!(*seen.borrow(), [false], "{}", response.transcript());
    sim.shutdown();
}

struct Counted(Arc<AtomicUsize>);
impl Drop for Counted {
    fn drop(&mut self) {
        self.0.fetch_add(1, Ordering::SeqCst);
    }
}

#[test]
fn connection_and_metadata_stored_contexts() {
    let mut sim = Sim::new();
    let drops = Arc::new(AtomicUsize::new(0));
    let seen = Rc::new(RefCell::new(Vec::new()));
    let (d, out) = (drops.clone(), seen.clone());
    on(Stage::BeginRequest, move |context, _| {
        let metadata = context.metadata().expect("the URL's metadata");
        out.borrow_mut().push(format!("meta path {:?}", metadata.meta_path().map(|p| p.to_string_lossy())));
        out.borrow_mut().push(format!("connection set {:?}", context.set_connection_stored_context(Counted(d.clone())).map_err(|e| e.code())));
        out.borrow_mut().push(format!("metadata set {:?}", metadata.set_stored_context(Counted(d.clone())).map_err(|e| e.code())));
        NotificationStatus::Continue
    });
    let out = seen.clone();
    on(Stage::ExecuteRequestHandler, move |context, _| {
        let metadata = context.metadata().unwrap();
        out.borrow_mut().push(format!("connection get {}", context.connection_stored_context::<Counted>().is_some()));
        out.borrow_mut().push(format!("connection wrong type {}", context.connection_stored_context::<String>().is_some()));
        out.borrow_mut().push(format!("metadata get {}", metadata.stored_context::<Counted>().is_some()));
        NotificationStatus::Continue
    });
    let response = sim.send(TestRequest::get("/"));
    assert_eq!(
        *seen.borrow(),
        [
            "meta path Some(\"MACHINE/WEBROOT/APPHOST/Default Web Site\")",
            "connection set Ok(())",
            "metadata set Ok(())",
            "connection get true",
            "connection wrong type false",
            "metadata get true",
        ],
        "{}",
        response.transcript()
    );
    // The simulator's connection ends with the request; the metadata lives until shutdown.
    assert_eq!(drops.load(Ordering::SeqCst), 1);
    sim.shutdown();
    assert_eq!(drops.load(Ordering::SeqCst), 2);
}

#[test]
fn app_pool_config_file_and_request_properties() {
    let ran = in_handler(|context| {
        let server = context.server().unwrap();
        let file = server.v2().unwrap().app_pool_config_file().map(|f| f.to_string_lossy());
        let v3 = server.v3().unwrap();
        let id = context.request().raw_request().unwrap().Base.RequestId;
        let mut sni = vec![0u8; std::mem::size_of::<HTTP_REQUEST_PROPERTY_SNI>()];
        let read = v3.query_request_property(id, HttpRequestPropertySni, &[], &mut sni).map_err(|e| e.code());
        let flags = u32::from_ne_bytes(sni[512..516].try_into().unwrap());
        let small = v3.query_request_property(id, HttpRequestPropertySni, &[], &mut [0u8; 4]).map_err(|e| e.code());
        let wrong_id = v3.query_request_property(id + 1000, HttpRequestPropertySni, &[], &mut sni).map_err(|e| e.code());
        (file, read, flags, small, wrong_id)
    });
    let (file, read, flags, small, wrong_id) = ran.value;
    assert_eq!(file.as_deref(), Some("C:\\inetpub\\temp\\apppools\\DefaultAppPool\\DefaultAppPool.config"));
    assert_eq!(read, Ok(516));
    assert_eq!(flags, windows_sys::Win32::Networking::HttpServer::HTTP_REQUEST_PROPERTY_SNI_FLAG_NO_SNI);
    assert_eq!(small, Err(HRESULT(0x8007_007A_u32 as i32)), "ERROR_INSUFFICIENT_BUFFER");
    assert_eq!(wrong_id, Err(HRESULT(0x8007_0057_u32 as i32)), "ERROR_INVALID_PARAMETER");
    assert_eq!(ran.response.called_during("IHttpServer3::QueryRequestProperty", Notification::ExecuteRequestHandler), 3);
}

#[test]
fn a_synchronous_child_request_is_not_supported() {
    // Not wrapped (README, "API coverage"): the simulator answers a synchronous ExecuteRequest as
    // Microsoft documents, with ERROR_NOT_SUPPORTED.
    let ran = in_handler(|context| {
        let raw = context.as_raw();
        let mut expected = 1;
        // SAFETY: the live context of this notification and its vtable; a null child and user,
        // which the simulator refuses before reading them; `expected` is ours.
        unsafe { ((*(*raw).lpVtbl).ExecuteRequest)(raw, 0, core::ptr::null_mut(), 0, core::ptr::null_mut(), &mut expected) }
    });
    assert_eq!(ran.value, 0x8007_0032_u32 as i32, "HRESULT_FROM_WIN32(ERROR_NOT_SUPPORTED)");
}

#[test]
fn a_user_name_too_long_for_the_log_fails_the_send_and_still_disposes_of_the_module() {
    let mut sim = Sim::new();
    // 40,000 UTF-16 units: 80,000 bytes, over the log entry's USHORT UserNameLength.
    authenticate_with(|_, provider| provider.set_user(AuthenticatedUser::new(&"u".repeat(40_000), "Basic").unwrap()));
    let message = sim.send_panic(TestRequest::get("/"));
    assert!(message.contains("a log user name is 80000 bytes"), "{message:?}");
    // The panic came at the end of the request, after the module object was disposed of and
    // the user's reference given back.
    clear_hooks();
    assert_eq!(sim.send(TestRequest::get("/")).status, 200);
    let report = sim.shutdown();
    assert_eq!((report.requests, report.modules_created, report.modules_disposed), (2, 2, 2), "{report:?}");
}
