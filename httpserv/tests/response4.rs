//! `Response4` (`IHttpResponse4`, reached with `HttpContext::response4`) through the test server:
//! trailers set, appended, read back and deleted; bad names and values refused before IIS sees
//! them; `ResetStream` and `SetNeedGoAway`.

mod common;

use common::*;
use httpserv_testing::{Disconnect, TestRequest};

#[test]
fn trailers_are_set_appended_read_back_and_deleted() {
    let ran = in_handler_with(TestRequest::get("/").http_version(2, 0), |context| {
        let r4 = context.response4().expect("IHttpResponse4");
        assert!(r4.supports_trailers());
        r4.set_trailer("grpc-status", "0").unwrap();
        r4.set_trailer("x-note", "one").unwrap();
        r4.append_trailer("x-note", "two").unwrap();
        r4.set_trailer("x-gone", "soon").unwrap();
        let read = r4.trailer("grpc-status");
        r4.delete_trailer("x-gone").unwrap();
        (read, r4.trailer("x-gone"))
    });
    assert_eq!(ran.value, (Some(b"0".to_vec()), None));
    assert_eq!(
        ran.response.trailers,
        [("grpc-status", "0"), ("x-note", "one"), ("x-note", "two")].map(|(n, v)| (n.to_owned(), v.to_owned())).to_vec()
    );
    assert_eq!(ran.response.called("IHttpResponse4::SetTrailer"), 4);
    assert_eq!(ran.response.called("IHttpResponse4::DeleteTrailer"), 1);
}

#[test]
fn trailers_are_not_supported_on_http1() {
    let ran = in_handler(|context| context.response4().map(|r4| r4.supports_trailers()).map_err(|e| e.code()));
    assert_eq!(ran.value, Ok(false));
}

#[test]
fn bad_trailer_names_and_values_are_refused_before_iis() {
    let ran = in_handler(|context| {
        let r4 = context.response4().unwrap();
        let refusals = [
            refusal(r4.set_trailer("x\r\nInjected", "1")),
            refusal(r4.set_trailer("", "1")),
            refusal(r4.set_trailer("x-ok", "a\r\nInjected: 1")),
            refusal(r4.append_trailer("x-ok", "nul\0")),
            refusal(r4.set_trailer("x-long", &"v".repeat(u16::MAX as usize + 1))),
            refusal(r4.delete_trailer("bad name")),
        ];
        refusals
    });
    for refusal in &ran.value {
        assert!(refusal.contains("header name") || refusal.contains("header value"), "{refusal}");
    }
    assert_eq!(ran.response.called("IHttpResponse4::SetTrailer"), 0);
    assert_eq!(ran.response.called("IHttpResponse4::DeleteTrailer"), 0);
    assert!(ran.response.trailers.is_empty());
}

#[test]
fn reset_stream_and_go_away() {
    let ran = in_handler_with(TestRequest::get("/").http_version(2, 0), |context| context.response4().unwrap().reset_stream(2));
    assert_eq!(ran.response.disconnected, Disconnect::Reset);
    assert_eq!(ran.response.calls_to("IHttpResponse4::ResetStream").next().map(|c| c.detail.clone()).as_deref(), Some("error 2"));
    let ran = in_handler_with(TestRequest::get("/").http_version(2, 0), |context| context.response4().unwrap().set_need_go_away());
    assert_eq!(ran.response.called("IHttpResponse4::SetNeedGoAway"), 1);
    assert_eq!(ran.response.disconnected, Disconnect::AfterResponse);
}
