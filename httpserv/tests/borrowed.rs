//! Finding 7 of issue 8: a string a getter returned stays valid after IIS replaces the value.
//! The test server overwrites every string it handed out with 0xDD when the request or response
//! it came from changes, as IIS may release it; the getters copy into request memory, so the
//! first borrow still holds the old bytes.

mod common;

use common::*;
use httpserv_testing::TestRequest;
use windows_sys::Win32::Networking::HttpServer::{HttpHeaderContentType, HttpHeaderUserAgent};

#[test]
fn response_header_survives_set_header_delete_header_and_clear() {
    let ran = in_handler(|context| {
        let response = context.response();
        response.set_header("X-A", "first").unwrap();
        response.set_header("Content-Type", "text/plain").unwrap();
        let (by_name, by_id) = (response.header("X-A").unwrap(), response.known_header(HttpHeaderContentType).unwrap());
        response.set_header("X-A", "second").unwrap();
        let after_set = (by_name.to_vec(), by_id.to_vec());
        let again = response.header("X-A").unwrap();
        response.delete_header("X-A").unwrap();
        let after_delete = again.to_vec();
        let last = response.header("Content-Type").unwrap();
        response.clear();
        response.clear_headers();
        (after_set, after_delete, last.to_vec(), by_name.to_vec())
    });
    assert_eq!(ran.value, ((b"first".to_vec(), b"text/plain".to_vec()), b"second".to_vec(), b"text/plain".to_vec(), b"first".to_vec()));
}

#[test]
fn request_header_survives_set_header_and_delete_header() {
    let ran = in_handler_with(TestRequest::get("/").header("X-A", "client").header("User-Agent", "ua"), |context| {
        let request = context.request();
        let (value, known) = (request.header("X-A").unwrap(), request.known_header(HttpHeaderUserAgent).unwrap());
        let all: Vec<_> = request.headers().collect();
        request.set_header("X-A", "module").unwrap();
        request.delete_header("User-Agent").unwrap();
        let all_after: Vec<_> = all.iter().map(|(n, v)| (n.to_vec(), v.to_vec())).collect();
        (value.to_vec(), known.to_vec(), all_after)
    });
    assert_eq!(ran.value.0, b"client");
    assert_eq!(ran.value.1, b"ua");
    assert!(ran.value.2.contains(&(b"X-A".to_vec(), b"client".to_vec())), "{:?}", ran.value.2);
    assert!(ran.value.2.contains(&(b"User-Agent".to_vec(), b"ua".to_vec())), "{:?}", ran.value.2);
}

#[test]
fn status_reason_survives_set_status() {
    let ran = in_handler(|context| {
        let response = context.response();
        response.set_status(404, "Not Here").unwrap();
        let status = response.status();
        response.set_status(500, "Broken Now").unwrap();
        (status.code, status.reason.to_vec())
    });
    assert_eq!(ran.value, (404, b"Not Here".to_vec()));
}

#[test]
fn url_getters_survive_set_url_and_set_method() {
    let ran = in_handler_with(TestRequest::get("/old/page?q=1"), |context| {
        let request = context.request();
        let (path, query, full, raw, method) = (request.path().unwrap(), request.query().unwrap(), request.full_url().unwrap(), request.raw_url().unwrap(), request.method());
        let (script, physical) = (context.script_name().unwrap(), context.physical_path().unwrap());
        request.set_url("/new/other?z=2").unwrap();
        request.set_method("POST").unwrap();
        [path.to_string_lossy(), query.to_string_lossy(), full.to_string_lossy(), String::from_utf8_lossy(raw).into_owned(), String::from_utf8_lossy(method).into_owned(), script.to_string_lossy(), physical.to_string_lossy()]
    });
    assert_eq!(ran.value[..5], ["/old/page", "?q=1", "http://localhost:80/old/page?q=1", "/old/page?q=1", "GET"]);
    assert_eq!(ran.value[5], "/old/page");
    assert!(ran.value[6].ends_with("old\\page"), "{:?}", ran.value);
}

#[test]
fn server_variables_survive_set_server_variable() {
    let ran = in_handler(|context| {
        context.set_server_variable("MY_VAR", "one").unwrap();
        let (narrow, wide) = (context.server_variable("MY_VAR").unwrap().unwrap(), context.server_variable_wide("MY_VAR").unwrap().unwrap());
        context.set_server_variable("MY_VAR", "two").unwrap();
        (narrow.to_vec(), wide.to_string_lossy(), context.server_variable("MY_VAR").unwrap().unwrap().to_vec())
    });
    assert_eq!(ran.value, (b"one".to_vec(), "one".to_owned(), b"two".to_vec()));
}
