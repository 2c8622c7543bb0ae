//! `Response` through the test server: status, headers, body, redirects and the connection.

mod common;

use common::*;
use httpserv::prelude::*;
use httpserv_testing::{Disconnect, Notification, TestRequest};
use httpserv::{CurrentStatus, RedirectOptions, Status};
use windows_sys::Win32::Networking::HttpServer::{HttpHeaderContentType, HttpHeaderResponseMaximum, HttpHeaderServer};

fn text(bytes: Option<&[u8]>) -> Option<String> {
    bytes.map(|b| String::from_utf8(b.to_vec()).expect("UTF-8"))
}

#[test]
fn set_status_and_read_it_back() {
    let ran = in_handler(|context| {
        let response = context.response();
        let set = response.set_status(404, "Not Found").map_err(|e| e.code());
        let status = response.status();
        (set, status.code, status.substatus, status.reason.to_vec())
    });
    assert_eq!(ran.value, (Ok(()), 404, 0, b"Not Found".to_vec()));
    assert_eq!((ran.response.status, ran.response.reason.as_str()), (404, "Not Found"));
    assert_eq!(ran.response.called("IHttpResponse::SetStatus"), 1);
}

#[test]
fn set_status_with_substatus_reason_and_custom_errors() {
    let ran = in_handler(|context| {
        let response = context.response();
        let status = Status::new(500, "Broken Backend").substatus(19).skip_custom_errors();
        let set = response.set_status_with(status).map_err(|e| e.code());
        let current = response.status();
        (set, CurrentStatus { code: current.code, substatus: current.substatus, reason: b"" }, current.reason.to_vec())
    });
    let (set, current, reason) = ran.value;
    assert_eq!(set, Ok(()));
    assert_eq!((current.code, current.substatus), (500, 19));
    assert_eq!(reason, b"Broken Backend");
    let r = &ran.response;
    assert_eq!((r.status, r.substatus, r.reason.as_str(), r.try_skip_custom_errors), (500, 19, "Broken Backend", true));
}

#[test]
fn default_status_reads_back_as_200() {
    let ran = in_handler(|context| {
        let s = context.response().status();
        (s.code, s.substatus, s.reason.to_vec())
    });
    assert_eq!(ran.value, (200, 0, b"OK".to_vec()));
}

#[test]
fn response_header_by_name_and_known_header() {
    let ran = in_handler(|context| {
        let response = context.response();
        response.set_header("Content-Type", "text/plain").unwrap();
        response.set_header("X-Thing", "42").unwrap();
        (
            text(response.header("content-type")),
            text(response.known_header(HttpHeaderContentType)),
            text(response.header("X-Thing")),
            text(response.header("X-Absent")),
            text(response.known_header(HttpHeaderServer)),
            response.known_header(HttpHeaderResponseMaximum).is_none(),
            response.known_header(-3).is_none(),
        )
    });
    let (ct, known_ct, thing, absent, server, maximum, negative) = ran.value;
    assert_eq!(ct.as_deref(), Some("text/plain"));
    assert_eq!(known_ct.as_deref(), Some("text/plain"));
    assert_eq!(thing.as_deref(), Some("42"));
    assert_eq!(absent, None);
    assert_eq!(server, None);
    assert!(maximum && negative);
    // 3 by name, 2 valid ids; the out-of-range ids never reached IIS.
    assert_eq!(ran.response.called("IHttpResponse::GetHeader"), 5, "{}", ran.response.transcript());
}

#[test]
fn set_append_delete_and_clear_headers() {
    let ran = in_handler(|context| {
        let response = context.response();
        let results = [
            response.set_header("Set-Cookie", "a=1"),
            response.append_header("Set-Cookie", "b=2"),
            response.set_header("X-Replaced", "old"),
            response.set_header("X-Replaced", "new"),
            response.set_header("X-Deleted", "1"),
            response.delete_header("X-Deleted"),
            response.delete_header("X-Never-Set"),
        ];
        results.into_iter().map(|r| r.map_err(|e| e.code())).collect::<Vec<_>>()
    });
    assert!(ran.value.iter().all(|r| r.is_ok()), "{:?}", ran.value);
    let r = &ran.response;
    assert_eq!(r.header_values("Set-Cookie"), ["a=1", "b=2"]);
    assert_eq!(r.header_values("X-Replaced"), ["new"]);
    assert_eq!(r.header("X-Deleted"), None);
    assert_eq!(
        details(r, "IHttpResponse::SetHeader"),
        [
            "Set-Cookie: \"a=1\" (replace)",
            "Set-Cookie: \"b=2\" (add)",
            "X-Replaced: \"old\" (replace)",
            "X-Replaced: \"new\" (replace)",
            "X-Deleted: \"1\" (replace)"
        ]
    );
    assert_eq!(details(r, "IHttpResponse::DeleteHeader"), ["X-Deleted", "X-Never-Set (absent)"]);
}

#[test]
fn clear_headers_removes_every_header() {
    let ran = in_handler(|context| {
        let response = context.response();
        response.set_header("X-A", "1").unwrap();
        response.set_header("X-B", "2").unwrap();
        response.write(b"kept").unwrap();
        response.clear_headers();
        response.set_header("X-C", "3").unwrap();
    });
    assert_eq!(ran.response.headers, [("X-C".to_owned(), "3".to_owned())]);
    assert_eq!(ran.response.body, b"kept");
    assert_eq!(ran.response.called("IHttpResponse::ClearHeaders"), 1);
}

#[test]
fn write_appends_to_the_body() {
    let ran = in_handler(|context| {
        let response = context.response();
        let results = [response.write(b"hello, "), response.write(b""), response.write(b"world")];
        results.into_iter().map(|r| r.map_err(|e| e.code())).collect::<Vec<_>>()
    });
    assert_eq!(ran.value, [Ok(()), Ok(()), Ok(())]);
    assert_eq!(ran.response.body_str(), "hello, world");
    assert_eq!(ran.response.called("IHttpResponse::WriteEntityChunks"), 3);
}

#[test]
fn flush_sends_the_headers_then_the_rest() {
    let mut sim = Sim::new();
    on(Stage::ExecuteRequestHandler, |context, _| {
        let response = context.response();
        response.set_status(201, "Created").unwrap();
        response.set_header("X-Before", "1").unwrap();
        response.write(b"first ").unwrap();
        assert!(!context.response_headers_sent());
        response.flush().unwrap();
        assert!(context.response_headers_sent());
        // Too late for the head: only the body still goes out.
        response.set_header("X-After", "1").unwrap();
        response.write(b"second").unwrap();
        response.flush().unwrap();
        NotificationStatus::Continue
    });
    let response = sim.send(TestRequest::get("/"));
    assert_eq!(response.status, 201);
    assert_eq!(response.header("X-Before"), Some("1"));
    assert_eq!(response.header("X-After"), None);
    assert_eq!(response.body_str(), "first second");
    assert_eq!(details(&response, "IHttpResponse::Flush"), ["6 bytes, headers sent", "6 bytes"]);
    // RQ_SEND_RESPONSE fired once, from the first Flush, inside ExecuteRequestHandler.
    let flush = response.calls.iter().position(|c| c.method == "IHttpResponse::Flush").unwrap();
    let send = response.calls.iter().position(|c| c.method == "CHttpModule::OnSendResponse").unwrap();
    assert!(flush < send, "{}", response.transcript());
    assert_eq!(response.called("CHttpModule::OnSendResponse"), 1);
    sim.shutdown();
}

#[test]
fn redirect_sets_302_and_location() {
    let ran = in_handler_with(TestRequest::get("/old?a=1"), |context| context.response().redirect("/login", RedirectOptions::default()).map_err(|e| e.code()));
    assert_eq!(ran.value, Ok(()));
    assert_eq!(ran.response.status, 302);
    assert_eq!(ran.response.header("Location"), Some("/login"));
}

#[test]
fn redirect_with_parameters_and_kept_status() {
    let ran = in_handler_with(TestRequest::get("/old?a=1"), |context| {
        let response = context.response();
        response.set_status(301, "Moved Permanently").unwrap();
        response.redirect("/new", RedirectOptions::default().keep_status().include_query()).map_err(|e| e.code())
    });
    assert_eq!(ran.value, Ok(()));
    assert_eq!(ran.response.status, 301);
    assert_eq!(ran.response.header("Location"), Some("/new?a=1"));
    assert_eq!(details(&ran.response, "IHttpResponse::Redirect"), ["\"/new?a=1\", status kept"]);
}

#[test]
fn clear_resets_status_headers_and_body() {
    let ran = in_handler(|context| {
        let response = context.response();
        response.set_status(418, "I'm a teapot").unwrap();
        response.set_header("X-Gone", "1").unwrap();
        response.write(b"gone").unwrap();
        response.clear();
        response.write(b"fresh").unwrap();
        let s = response.status();
        (s.code, s.reason.to_vec())
    });
    assert_eq!(ran.value, (200, b"OK".to_vec()));
    assert_eq!(ran.response.status, 200);
    assert!(ran.response.headers.is_empty(), "{:?}", ran.response.headers);
    assert_eq!(ran.response.body, b"fresh");
}

#[test]
fn disable_buffering_sends_at_the_first_write() {
    let mut sim = Sim::new();
    on(Stage::ExecuteRequestHandler, |context, _| {
        let response = context.response();
        response.disable_buffering();
        response.write(b"streamed").unwrap();
        assert!(context.response_headers_sent());
        NotificationStatus::Continue
    });
    let response = sim.send(TestRequest::get("/"));
    assert!(response.buffering_disabled);
    assert_eq!(response.body, b"streamed");
    let send = response.calls.iter().find(|c| c.method == "CHttpModule::OnSendResponse").unwrap();
    assert_eq!(send.notification, Some(Notification::SendResponse));
    let write = response.calls.iter().position(|c| c.method == "IHttpResponse::WriteEntityChunks").unwrap();
    let send = response.calls.iter().position(|c| c.method == "CHttpModule::OnSendResponse").unwrap();
    assert!(write < send);
    sim.shutdown();
}

#[test]
fn disable_kernel_cache() {
    let ran = in_handler(|context| context.response().disable_kernel_cache());
    assert_eq!(ran.response.kernel_cache_disabled, [9]);
    assert_eq!(ran.response.called("IHttpResponse::DisableKernelCache"), 1);
}

#[test]
fn connection_control() {
    let ran = in_handler(|context| context.response().set_need_disconnect());
    assert_eq!(ran.response.disconnected, Disconnect::AfterResponse);
    let ran = in_handler(|context| context.response().reset_connection());
    assert_eq!(ran.response.disconnected, Disconnect::Reset);
    let ran = in_handler(|context| context.response().close_connection());
    assert_eq!(ran.response.disconnected, Disconnect::Closed);
    let ran = in_handler(|_| ());
    assert_eq!(ran.response.disconnected, Disconnect::None);
}

#[test]
fn header_value_of_u16_max_bytes_is_sent_whole() {
    let ran = in_handler(|context| {
        let value = "v".repeat(u16::MAX as usize);
        let response = context.response();
        let set = response.set_header("X-Big", &value).map_err(|e| e.code());
        (set, response.header("X-Big").map(<[u8]>::len))
    });
    assert_eq!(ran.value, (Ok(()), Some(u16::MAX as usize)));
    assert_eq!(ran.response.header("X-Big").map(str::len), Some(u16::MAX as usize));
}
