//! The `&str` views and the `http` crate's types on `Request` and `Response` (src/interop.rs),
//! through the test server: what IIS has, converted, and what is refused.

mod common;

use common::*;
use httpserv::http::{self, HeaderName, HeaderValue, Method, StatusCode, Version};
use httpserv::Status;
use httpserv_testing::TestRequest;

#[test]
fn request_views() {
    let request = TestRequest::new("PATCH", "/caf%C3%A9/x?a=1&b=2").header("X-Text", "plain text").header("Accept", "text/html").http_version(1, 0);
    let ran = in_handler_with(request, |context| {
        let request = context.request();
        (
            request.http_method().map_err(|e| e.code()),
            request.uri().map(|u| (u.path().to_owned(), u.query().map(str::to_owned))).map_err(|e| e.code()),
            request.header_str("X-Text").map(str::to_owned),
            request.header_str("X-Missing").map(str::to_owned),
            request.typed_header(&http::header::ACCEPT),
            request.header_map().get("x-text").cloned(),
            request.version(),
            request.path_str().map(str::to_owned),
        )
    });
    let (method, uri, text, missing, accept, from_map, version, path) = ran.value;
    assert_eq!(method, Ok(Method::PATCH));
    assert_eq!(uri, Ok(("/caf%C3%A9/x".to_owned(), Some("a=1&b=2".to_owned()))));
    assert_eq!(text.as_deref(), Some("plain text"));
    assert_eq!(missing, None);
    assert_eq!(accept, Some(HeaderValue::from_static("text/html")));
    assert_eq!(from_map, Some(HeaderValue::from_static("plain text")));
    assert_eq!(version, Some(Version::HTTP_10));
    assert_eq!(path.as_deref(), Some("/caf%C3%A9/x"));
}

#[test]
fn a_non_ascii_path_as_str_and_a_url_that_is_not_a_uri() {
    let ran = in_handler_with(TestRequest::get("/café/ü"), |context| context.request().path_str().map(str::to_owned));
    // UTF-16 from IIS, UTF-8 here.
    assert_eq!(ran.value.as_deref(), Some("/café/ü"));
    let ran = in_handler_with(TestRequest::get("/a b"), |context| {
        (context.request().uri().map(|u| u.to_string()).map_err(|e| e.code()), httpserv::__private::last_refusal())
    });
    let (uri, why) = ran.value;
    assert_eq!(uri, Err(httpserv::E_INVALIDARG));
    assert!(why.contains("\"/a b\" is not a URI"), "{why}");
}

#[test]
fn a_header_that_is_not_utf8_has_no_str_view() {
    let ran = in_handler(|context| {
        let response = context.response();
        // obs-text: a valid field value, not UTF-8 (Latin-1 "é").
        let value = HeaderValue::from_bytes(b"caf\xe9").unwrap();
        let refused = response.set_typed_header(&HeaderName::from_static("x-latin"), &value).map_err(|e| e.code());
        response.set_header("X-Ok", "fine").unwrap();
        (refused, response.header_str("X-Ok").map(str::to_owned), httpserv::__private::last_refusal())
    });
    let (refused, ok, why) = ran.value;
    assert_eq!(refused, Err(httpserv::E_INVALIDARG));
    assert!(why.contains("x-latin"), "{why}");
    assert_eq!(ok.as_deref(), Some("fine"));
}

#[test]
fn status_codes_get_their_canonical_reason() {
    let ran = in_handler(|context| {
        let response = context.response();
        response.set_status_code(StatusCode::IM_A_TEAPOT).unwrap();
        response.set_typed_header(&http::header::CONTENT_TYPE, &HeaderValue::from_static("text/plain")).unwrap();
        response.append_typed_header(&http::header::SET_COOKIE, &HeaderValue::from_static("a=1")).unwrap();
        response.append_typed_header(&http::header::SET_COOKIE, &HeaderValue::from_static("b=2")).unwrap();
        (response.status_code(), response.typed_header(&http::header::CONTENT_TYPE))
    });
    assert_eq!(ran.value.0, Some(StatusCode::IM_A_TEAPOT));
    assert_eq!(ran.value.1, Some(HeaderValue::from_static("text/plain")));
    assert_eq!(ran.response.status, 418);
    assert_eq!(ran.response.reason, "I'm a teapot");
    assert_eq!(ran.response.header_values("Set-Cookie"), ["a=1", "b=2"]);
    // A code without a canonical phrase gets an empty one; the conversion is also a `Status`.
    let status = Status::from(StatusCode::from_u16(599).unwrap());
    assert_eq!((status.code, status.reason), (599, ""));
    assert_eq!(Status::from(StatusCode::NOT_FOUND).reason, "Not Found");
}
