//! Handlers that return a `Result` (`#[http_module]` wraps them, `bridge/outcome.rs` reports the
//! `Err`): a 500 whose `hrErrorToReport` is the error's HRESULT, the buffered response cleared,
//! the message in the request's trace, `RQ_NOTIFICATION_FINISH_REQUEST`; for sync handlers, for
//! async ones that finish in the notification, and for async ones resumed in
//! `OnAsyncCompletion`. Also: `HandlerError`'s conversions, and that the masks the attribute
//! derives cover every handler httpserv defines.

mod common;

use std::future::Future;
use std::pin::Pin;
use std::sync::{Arc, Mutex};
use std::task::{Context, Poll, Waker};

use common::register;
use httpserv::prelude::*;
use httpserv::{HandlerError, E_FAIL, E_INVALIDARG};
use httpserv_testing::{Notification, TestRequest, TestResponse, TestServer};

fn traces(response: &TestResponse) -> Vec<String> {
    common::details(response, "IHttpTraceContext::QuickTrace")
}

/// Chooses what a handler does from the request path.
#[derive(Default)]
struct Failing;

#[http_module]
impl HttpModule for Failing {
    fn on_begin_request(&mut self, context: &HttpContext<'_>, _: &EventProvider<'_>) -> HandlerResult {
        let response = context.response();
        response.set_header("X-Begun", "1")?;
        response.write(b"half a page")?;
        let path = context.request().path().map(|p| p.to_string_lossy()).unwrap_or_default();
        match path.as_str() {
            // httpserv's own error: E_INVALIDARG with the refusal's message.
            "/bad-header" => response.set_header("Bad Name", "x")?,
            // Any std error: E_FAIL with its Display.
            "/parse" => {
                let _: u32 = "12x".parse()?;
            }
            "/explicit" => return Err(HandlerError::new(httpserv::HRESULT(0x8007_0005_u32 as i32), "no access to the thing")),
            _ => {}
        }
        Ok(NotificationStatus::Continue)
    }

    fn on_send_response(&mut self, context: &HttpContext<'_>, _: &SendResponseProvider<'_>) -> httpserv::Result<NotificationStatus> {
        context.response().set_header("X-Sent", "1")?;
        Ok(NotificationStatus::Continue)
    }
}

#[test]
fn ok_results_go_on_like_plain_statuses() {
    let server = TestServer::new(register::<Failing>).unwrap();
    let response = server.send(TestRequest::get("/fine"));
    assert_eq!(response.status, 200, "{}", response.transcript());
    assert_eq!(response.header("X-Begun"), Some("1"));
    assert_eq!(response.header("X-Sent"), Some("1"));
    assert_eq!(response.body_str(), "half a page");
    assert_eq!(response.error, 0);
    assert_eq!(response.returned("CHttpModule::OnBeginRequest").collect::<Vec<_>>(), ["RQ_NOTIFICATION_CONTINUE"]);
    assert!(traces(&response).is_empty(), "{:?}", traces(&response));
}

#[test]
fn an_httpserv_error_keeps_its_hresult_and_message() {
    let server = TestServer::new(register::<Failing>).unwrap();
    let response = server.send(TestRequest::get("/bad-header"));
    assert_eq!(response.status, 500, "{}", response.transcript());
    assert_eq!(response.reason, "Internal Server Error");
    assert_eq!(response.error, E_INVALIDARG.0);
    // The buffered body and headers were cleared with the 500.
    assert!(response.body.is_empty(), "{:?}", response.body_str());
    assert_eq!(response.header("X-Begun"), None);
    assert_eq!(response.returned("CHttpModule::OnBeginRequest").collect::<Vec<_>>(), ["RQ_NOTIFICATION_FINISH_REQUEST"]);
    // FinishRequest: the execute stage never ran, send-response did (its header is on the 500).
    assert_eq!(response.called("CHttpModule::OnExecuteRequestHandler"), 0);
    assert_eq!(response.header("X-Sent"), Some("1"));
    let trace: Vec<_> = response.calls_to("IHttpTraceContext::QuickTrace").collect();
    assert_eq!(trace.len(), 1, "{}", response.transcript());
    assert_eq!(trace[0].notification, Some(Notification::BeginRequest));
    assert!(
        trace[0].detail.starts_with("httpserv: HttpModule::on_begin_request returned an error: header name \"Bad Name\" contains the byte 0x20"),
        "{}",
        trace[0].detail
    );
    assert!(trace[0].detail.ends_with("(HRESULT 0x80070057) |  | E_INVALIDARG | level 2"), "{}", trace[0].detail);
}

#[test]
fn a_std_error_is_e_fail_with_its_message() {
    let server = TestServer::new(register::<Failing>).unwrap();
    let response = server.send(TestRequest::get("/parse"));
    assert_eq!(response.status, 500, "{}", response.transcript());
    assert_eq!(response.error, E_FAIL.0);
    assert_eq!(
        traces(&response),
        ["httpserv: HttpModule::on_begin_request returned an error: invalid digit found in string (HRESULT 0x80004005) |  | E_FAIL | level 2"]
    );
}

#[test]
fn an_explicit_handler_error_reports_its_hresult() {
    let server = TestServer::new(register::<Failing>).unwrap();
    let response = server.send(TestRequest::get("/explicit"));
    assert_eq!(response.status, 500);
    assert_eq!(response.error, 0x8007_0005_u32 as i32);
    assert_eq!(traces(&response).len(), 1);
    assert!(traces(&response)[0].contains("no access to the thing (HRESULT 0x80070005)"), "{:?}", traces(&response));
    // The server goes on.
    assert_eq!(server.send(TestRequest::get("/fine")).status, 200);
}

/// A one-shot timer on a thread: the future suspends and is resumed in `OnAsyncCompletion`.
struct Later {
    shared: Option<Arc<Mutex<(bool, Option<Waker>)>>>,
}

impl Future for Later {
    type Output = ();
    fn poll(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<()> {
        if let Some(shared) = &self.shared {
            let mut s = shared.lock().unwrap();
            if s.0 {
                return Poll::Ready(());
            }
            s.1 = Some(cx.waker().clone());
            return Poll::Pending;
        }
        let shared = Arc::new(Mutex::new((false, Some(cx.waker().clone()))));
        self.shared = Some(shared.clone());
        std::thread::spawn(move || {
            std::thread::sleep(std::time::Duration::from_millis(20));
            let waker = {
                let mut s = shared.lock().unwrap();
                s.0 = true;
                s.1.take()
            };
            if let Some(waker) = waker {
                waker.wake();
            }
        });
        Poll::Pending
    }
}

#[derive(Default)]
struct AsyncFailing;

#[http_module]
impl HttpModule for AsyncFailing {
    async fn on_execute_request_handler(&mut self, context: &HttpContext<'_>) -> HandlerResult {
        let path = context.request().path().map(|p| p.to_string_lossy()).unwrap_or_default();
        context.response().write(b"partial")?;
        if path.starts_with("/later") {
            Later { shared: None }.await;
        }
        if path.ends_with("/fail") {
            let _: i64 = "not a number".parse()?;
        }
        context.response().write(b" and done")?;
        Ok(NotificationStatus::FinishRequest)
    }
}

#[test]
fn an_async_handler_error_in_the_first_poll_is_reported() {
    let server = TestServer::new(register::<AsyncFailing>).unwrap();
    let response = server.send(TestRequest::get("/now/fail"));
    assert_eq!(response.status, 500, "{}", response.transcript());
    assert_eq!(response.error, E_FAIL.0);
    assert!(response.body.is_empty());
    assert_eq!(response.returned("CHttpModule::OnExecuteRequestHandler").collect::<Vec<_>>(), ["RQ_NOTIFICATION_FINISH_REQUEST"]);
    assert_eq!(
        traces(&response),
        ["httpserv: HttpModule::on_execute_request_handler returned an error: invalid digit found in string (HRESULT 0x80004005) |  | E_FAIL | level 2"]
    );
    let ok = server.send(TestRequest::get("/now"));
    assert_eq!(ok.status, 200);
    assert_eq!(ok.body_str(), "partial and done");
}

#[test]
fn an_async_handler_error_after_suspending_is_reported_in_on_async_completion() {
    let server = TestServer::new(register::<AsyncFailing>).unwrap();
    let response = server.send(TestRequest::get("/later/fail"));
    assert_eq!(response.status, 500, "{}", response.transcript());
    assert_eq!(response.error, E_FAIL.0);
    assert!(response.body.is_empty(), "{:?}", response.body_str());
    assert_eq!(response.returned("CHttpModule::OnExecuteRequestHandler").collect::<Vec<_>>(), ["RQ_NOTIFICATION_PENDING"]);
    assert_eq!(response.returned("CHttpModule::OnAsyncCompletion").collect::<Vec<_>>(), ["RQ_NOTIFICATION_FINISH_REQUEST"]);
    let trace: Vec<_> = response.calls_to("IHttpTraceContext::QuickTrace").collect();
    assert_eq!(trace.len(), 1, "{}", response.transcript());
    assert!(trace[0].detail.contains("on_execute_request_handler returned an error: invalid digit"), "{}", trace[0].detail);
    let ok = server.send(TestRequest::get("/later"));
    assert_eq!(ok.status, 200, "{}", ok.transcript());
    assert_eq!(ok.body_str(), "partial and done");
}

#[test]
fn handler_error_conversions() {
    // httpserv's own error keeps its code.
    let e: HandlerError = httpserv::Error::from(E_INVALIDARG).into();
    assert_eq!(e.hresult(), E_INVALIDARG);
    // A std error's source chain is part of the message.
    #[derive(Debug)]
    struct Outer(std::num::ParseIntError);
    impl std::fmt::Display for Outer {
        fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
            f.write_str("reading the count")
        }
    }
    impl std::error::Error for Outer {
        fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
            Some(&self.0)
        }
    }
    let e: HandlerError = Outer("x".parse::<u8>().unwrap_err()).into();
    assert_eq!(e.hresult(), E_FAIL);
    assert_eq!(e.message(), "reading the count: invalid digit found in string");
    assert_eq!(e.to_string(), "reading the count: invalid digit found in string (HRESULT 0x80004005)");
    // An io::Error without an OS code is E_FAIL everywhere.
    let e: HandlerError = std::io::Error::other("disk on fire").into();
    assert_eq!(e.hresult(), E_FAIL);
    assert_eq!(e.message(), "disk on fire");
    let e = HandlerError::msg("plain");
    assert_eq!((e.hresult(), e.message()), (E_FAIL, "plain"));
}

/// Every `HttpModule` handler, so that the attribute's list of names cannot miss one.
#[derive(Default)]
struct Everything;

macro_rules! every_handler {
    ($($name:ident: $provider:ty),*) => {
        #[http_module]
        impl HttpModule for Everything {
            $(fn $name(&mut self, _: &HttpContext<'_>, _: &$provider) -> HandlerResult { Ok(NotificationStatus::Continue) })*
        }
    };
}

every_handler!(
    on_begin_request: EventProvider<'_>, on_post_begin_request: EventProvider<'_>,
    on_authenticate_request: AuthenticationProvider<'_>, on_post_authenticate_request: EventProvider<'_>,
    on_authorize_request: EventProvider<'_>, on_post_authorize_request: EventProvider<'_>,
    on_resolve_request_cache: EventProvider<'_>, on_post_resolve_request_cache: EventProvider<'_>,
    on_map_request_handler: httpserv::MapHandlerProvider<'_>, on_post_map_request_handler: EventProvider<'_>,
    on_acquire_request_state: EventProvider<'_>, on_post_acquire_request_state: EventProvider<'_>,
    on_pre_execute_request_handler: EventProvider<'_>, on_post_pre_execute_request_handler: EventProvider<'_>,
    on_execute_request_handler: EventProvider<'_>, on_post_execute_request_handler: EventProvider<'_>,
    on_release_request_state: EventProvider<'_>, on_post_release_request_state: EventProvider<'_>,
    on_update_request_cache: EventProvider<'_>, on_post_update_request_cache: EventProvider<'_>,
    on_log_request: EventProvider<'_>, on_post_log_request: EventProvider<'_>,
    on_end_request: EventProvider<'_>, on_post_end_request: EventProvider<'_>,
    on_send_response: SendResponseProvider<'_>, on_map_path: MapPathProvider<'_>,
    on_read_entity: ReadEntityProvider<'_>, on_custom_request_notification: CustomNotificationProvider<'_>
);

#[test]
fn the_attribute_registers_every_handler_httpserv_defines() {
    use httpserv::__private::Handlers;
    use httpserv::request_masks as m;
    let all = [
        m::on_begin_request, m::on_post_begin_request, m::on_authenticate_request, m::on_post_authenticate_request,
        m::on_authorize_request, m::on_post_authorize_request, m::on_resolve_request_cache, m::on_post_resolve_request_cache,
        m::on_map_request_handler, m::on_post_map_request_handler, m::on_acquire_request_state, m::on_post_acquire_request_state,
        m::on_pre_execute_request_handler, m::on_post_pre_execute_request_handler, m::on_execute_request_handler,
        m::on_post_execute_request_handler, m::on_release_request_state, m::on_post_release_request_state, m::on_update_request_cache,
        m::on_post_update_request_cache, m::on_log_request, m::on_post_log_request, m::on_end_request, m::on_post_end_request,
        m::on_send_response, m::on_map_path, m::on_read_entity, m::on_custom_request_notification,
    ];
    let request = all.iter().fold(0, |acc, (r, _)| acc | r);
    let post = all.iter().fold(0, |acc, (_, p)| acc | p);
    assert_eq!(<Everything as Handlers>::REQUEST, request);
    assert_eq!(<Everything as Handlers>::POST_REQUEST, post);
    assert_eq!(request.count_ones(), 16, "every RQ_* bit but the two without a handler");
}
