//! Runs the SecurityHeaders module in the test server (in-process, or its DLL with HTTPSERV_DOOR=dll: TestServer::for_module).
//!
//! The simulator adds no response headers of its own, so the tests that need an application's
//! headers (`Server`, `X-Powered-By`, its own `X-Frame-Options`) run SecurityHeaders behind a
//! small stand-in application, registered by hand below.

use httpserv::prelude::*;
use httpserv_testing::{Notification, TestRequest, TestResponse, TestServer};
use security_headers::{SecurityHeaders, REMOVED_HEADERS, SECURITY_HEADERS};

fn assert_hardened(response: &TestResponse) {
    for (name, value) in SECURITY_HEADERS {
        assert_eq!(response.header(name), Some(value), "{name}\n{}", response.transcript());
        assert_eq!(response.header_values(name).len(), 1, "{name} sent twice");
    }
    for name in REMOVED_HEADERS {
        assert_eq!(response.header(name), None, "{name} still sent");
    }
}

#[test]
fn registers_only_send_response() {
    let server = TestServer::for_module(security_headers::RegisterModule, "security_headers").expect("RegisterModule failed");
    assert_eq!(server.request_notifications(), httpserv::sys::RQ_SEND_RESPONSE);
    assert_eq!(server.post_request_notifications(), 0);
    assert!(!server.has_global_module());
}

#[test]
fn adds_the_security_headers_to_a_response() {
    let server = TestServer::for_module(security_headers::RegisterModule, "security_headers").expect("RegisterModule failed");
    let response = server.send(TestRequest::get("/"));
    assert_eq!(response.status, 200);
    assert_hardened(&response);
    assert_eq!(response.called("CHttpModule::OnSendResponse"), 1);
    assert_eq!(response.called_during("IHttpResponse::SetHeader", Notification::SendResponse), SECURITY_HEADERS.len());
    // Nothing to remove: no DeleteHeader call.
    assert_eq!(response.called("IHttpResponse::DeleteHeader"), 0, "{}", response.transcript());
    // Every request, not only the first.
    let again = server.send(TestRequest::get("/other?x=1"));
    assert_hardened(&again);
}

/// In-process only (the tests below use `TestServer::new`): the stand-in is registered by hand in
/// this test, so there is no DLL of it for the DLL door.
///
/// A stand-in for the application behind the module: in `ExecuteRequestHandler` it sets the
/// response headers listed in the request's `X-App-Headers` (`Name=value | Name=value`), as
/// ASP.NET or PHP would, and finishes the request. Its `OnSendResponse` is SecurityHeaders'.
#[derive(Default)]
struct AppBehindSecurityHeaders {
    security_headers: SecurityHeaders,
}

#[http_module]
impl HttpModule for AppBehindSecurityHeaders {
    fn on_execute_request_handler(&mut self, context: &HttpContext<'_>, _: &EventProvider<'_>) -> NotificationStatus {
        let (request, response) = (context.request(), context.response());
        let wanted = request.header("X-App-Headers").map(|v| String::from_utf8_lossy(v).into_owned()).unwrap_or_default();
        for pair in wanted.split('|').filter(|p| !p.trim().is_empty()) {
            let (name, value) = pair.split_once('=').expect("Name=value");
            response.set_header(name.trim(), value.trim()).expect("SetHeader");
        }
        response.write(b"<html></html>").expect("WriteEntityChunks");
        NotificationStatus::FinishRequest
    }

    fn on_send_response(&mut self, context: &HttpContext<'_>, provider: &SendResponseProvider<'_>) -> NotificationStatus {
        self.security_headers.on_send_response(context, provider)
    }
}

/// What `#[http_module]` on a struct generates, under another name: the crate under test already
/// exports the DLL's one `RegisterModule`. (`httpserv::__private` is not a stable API; a real
/// module never needs this.)
unsafe extern "system" fn register_app(
    version: u32,
    info: *mut httpserv::__private::IHttpModuleRegistrationInfo,
    server: *mut httpserv::__private::IHttpServer,
) -> httpserv::__private::HRESULT {
    // SAFETY: the test server's arguments, passed through.
    unsafe { httpserv::__private::register_module(version, info, server, || None, |registrar| registrar.request_module::<AppBehindSecurityHeaders>()) }
}

#[test]
fn removes_server_and_x_powered_by() {
    let server = TestServer::new(register_app).expect("RegisterModule failed");
    let response = server.send(
        TestRequest::get("/default.aspx").header("X-App-Headers", "Server=Microsoft-IIS/10.0 | X-Powered-By=ASP.NET | Content-Type=text/html"),
    );
    assert_eq!(response.status, 200, "{}", response.transcript());
    assert_hardened(&response);
    assert_eq!(response.header("Content-Type"), Some("text/html"));
    assert_eq!(response.body_str(), "<html></html>");
    assert_eq!(response.called_during("IHttpResponse::DeleteHeader", Notification::SendResponse), 2, "{}", response.transcript());
}

#[test]
fn keeps_the_applications_own_policy() {
    let server = TestServer::new(register_app).expect("RegisterModule failed");
    let response = server.send(
        TestRequest::get("/embeddable").header("X-App-Headers", "X-Frame-Options=SAMEORIGIN | Strict-Transport-Security=max-age=60; includeSubDomains"),
    );
    assert_eq!(response.header("X-Frame-Options"), Some("SAMEORIGIN"), "{}", response.transcript());
    assert_eq!(response.header_values("X-Frame-Options").len(), 1);
    assert_eq!(response.header("Strict-Transport-Security"), Some("max-age=60; includeSubDomains"));
    // The headers the application did not set are still added.
    assert_eq!(response.header("X-Content-Type-Options"), Some("nosniff"));
    assert_eq!(response.header("Referrer-Policy"), Some("no-referrer"));
}
