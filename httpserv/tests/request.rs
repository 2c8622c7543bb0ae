//! `Request` through the test server: method, URL, headers, addresses, version and body.

mod common;

use std::cell::RefCell;
use std::net::SocketAddr;
use std::rc::Rc;

use common::*;
use httpserv::prelude::*;
use httpserv_testing::{Notification, TestRequest};
use windows_sys::Win32::Networking::HttpServer::{HttpHeaderHost, HttpHeaderRequestMaximum, HttpHeaderUserAgent};

fn text(bytes: Option<&[u8]>) -> Option<String> {
    bytes.map(|b| String::from_utf8(b.to_vec()).expect("UTF-8"))
}

#[test]
fn method_and_set_method() {
    let ran = in_handler_with(TestRequest::new("PROPFIND", "/"), |context| {
        let request = context.request();
        let before = request.method().to_vec();
        let set = request.set_method("PUT");
        (before, set.map_err(|e| e.code()), request.method().to_vec())
    });
    let (before, set, after) = ran.value;
    assert_eq!(before, b"PROPFIND");
    assert_eq!(set, Ok(()));
    assert_eq!(after, b"PUT");
    assert_eq!(ran.response.method, "PUT");
    assert_eq!(details(&ran.response, "IHttpRequest::SetHttpMethod"), ["\"PUT\""]);
}

#[test]
fn path_query_full_and_raw_url() {
    let ran = in_handler_with(TestRequest::get("/a/b.txt?x=1&y=%20"), |context| {
        let request = context.request();
        (
            request.path().map(|p| p.to_string_lossy()),
            request.query().map(|q| q.to_string_lossy()),
            request.full_url().map(|u| u.to_string_lossy()),
            text(request.raw_url()),
        )
    });
    let (path, query, full, raw) = ran.value;
    assert_eq!(path.as_deref(), Some("/a/b.txt"));
    assert_eq!(query.as_deref(), Some("?x=1&y=%20"));
    assert_eq!(full.as_deref(), Some("http://localhost:80/a/b.txt?x=1&y=%20"));
    assert_eq!(raw.as_deref(), Some("/a/b.txt?x=1&y=%20"));
}

#[test]
fn no_query_is_none() {
    let ran = in_handler_with(TestRequest::get("http://example.test:8080/p"), |context| {
        let request = context.request();
        (request.query().map(|q| q.to_string_lossy()), request.full_url().map(|u| u.to_string_lossy()))
    });
    assert_eq!(ran.value.0, None);
    assert_eq!(ran.value.1.as_deref(), Some("http://example.test:8080/p"));
}

#[test]
fn set_url_keeps_or_resets_the_query() {
    for (reset, expected) in [(false, "/new/place?x=1"), (true, "/new/place")] {
        let ran = in_handler_with(TestRequest::get("/old?x=1"), move |context| {
            let request = context.request();
            let result = if reset { request.set_url("/new/place") } else { request.set_url_keeping_query("/new/place") };
            (result.map_err(|e| e.code()), request.path().map(|p| p.to_string_lossy()), request.query().map(|q| q.to_string_lossy()))
        });
        let (result, path, query) = ran.value;
        assert_eq!(result, Ok(()));
        assert_eq!(path.as_deref(), Some("/new/place"));
        assert_eq!(query.as_deref(), if reset { None } else { Some("?x=1") });
        assert_eq!(ran.response.url, expected);
        assert_eq!(ran.response.called("IHttpRequest::SetUrl"), 1, "{}", ran.response.transcript());
    }
}

#[test]
fn set_url_with_its_own_query() {
    let ran = in_handler_with(TestRequest::get("/old?x=1"), |context| context.request().set_url_keeping_query("/n?q=2").map_err(|e| e.code()));
    assert_eq!(ran.value, Ok(()));
    assert_eq!(ran.response.url, "/n?q=2");
}

#[test]
fn header_by_name_and_known_header() {
    let request = TestRequest::get("/").header("User-Agent", "test-agent/1.0").header("X-Custom", "custom value");
    let ran = in_handler_with(request, |context| {
        let request = context.request();
        (
            text(request.header("user-agent")),
            text(request.header("X-Custom")),
            text(request.header("X-Absent")),
            text(request.known_header(HttpHeaderUserAgent)),
            text(request.known_header(HttpHeaderHost)),
            request.known_header(HttpHeaderRequestMaximum).is_none(),
            request.known_header(-1).is_none(),
        )
    });
    let (ua, custom, absent, known_ua, host, maximum, negative) = ran.value;
    assert_eq!(ua.as_deref(), Some("test-agent/1.0"));
    assert_eq!(custom.as_deref(), Some("custom value"));
    assert_eq!(absent, None);
    assert_eq!(known_ua.as_deref(), Some("test-agent/1.0"));
    assert_eq!(host.as_deref(), Some("localhost"));
    assert!(maximum && negative, "out-of-range ids are refused");
    // The out-of-range ids never reached IIS: 3 by name + 2 by id.
    assert_eq!(ran.response.called("IHttpRequest::GetHeader"), 5, "{}", ran.response.transcript());
}

#[test]
fn set_append_and_delete_request_headers() {
    let ran = in_handler_with(TestRequest::get("/").header("X-Old", "gone"), |context| {
        let request = context.request();
        let mut seen = Vec::new();
        seen.push(request.set_header("X-New", "1").map_err(|e| e.code()));
        let after_set = text(request.header("X-New"));
        seen.push(request.append_header("X-New", "2").map_err(|e| e.code()));
        let after_append = text(request.header("X-New"));
        seen.push(request.set_header("X-New", "3").map_err(|e| e.code()));
        let after_replace = text(request.header("X-New"));
        seen.push(request.delete_header("X-Old").map_err(|e| e.code()));
        let after_delete = text(request.header("X-Old"));
        (seen, after_set, after_append, after_replace, after_delete)
    });
    let (seen, after_set, after_append, after_replace, after_delete) = ran.value;
    assert!(seen.iter().all(|r| r.is_ok()), "{seen:?}");
    assert_eq!(after_set.as_deref(), Some("1"));
    assert_eq!(after_append.as_deref(), Some("1, 2"));
    assert_eq!(after_replace.as_deref(), Some("3"));
    assert_eq!(after_delete, None);
    let headers = &ran.response.request_headers;
    assert!(headers.contains(&("X-New".to_owned(), "3".to_owned())), "{headers:?}");
    assert!(!headers.iter().any(|(n, _)| n == "X-Old"), "{headers:?}");
    assert_eq!(
        details(&ran.response, "IHttpRequest::SetHeader"),
        ["X-New: \"1\" (replace)", "X-New: \"2\" (append)", "X-New: \"3\" (replace)"]
    );
    assert_eq!(details(&ran.response, "IHttpRequest::DeleteHeader"), ["X-Old"]);
}

#[test]
fn headers_iterates_known_then_unknown() {
    let request = TestRequest::get("/")
        .header("X-First", "1")
        .header("User-Agent", "agent")
        .header("Accept", "text/html")
        .header("X-Second", "2");
    let ran = in_handler_with(request, |context| {
        context
            .request()
            .headers()
            .map(|(n, v)| (String::from_utf8_lossy(n).into_owned(), String::from_utf8_lossy(v).into_owned()))
            .collect::<Vec<_>>()
    });
    let pairs: Vec<(&str, &str)> = ran.value.iter().map(|(n, v)| (n.as_str(), v.as_str())).collect();
    // Known headers in HTTP_HEADER_ID order (Accept = 20, Host = 28, User-Agent = 40), then the
    // others in the order received.
    assert_eq!(pairs, [("Accept", "text/html"), ("Host", "localhost"), ("User-Agent", "agent"), ("X-First", "1"), ("X-Second", "2")]);
}

#[test]
fn addresses_ipv4() {
    let remote: SocketAddr = "192.0.2.10:51234".parse().unwrap();
    let local: SocketAddr = "198.51.100.1:8080".parse().unwrap();
    let ran = in_handler_with(TestRequest::get("/").remote_addr(remote).local_addr(local), |context| {
        let request = context.request();
        (request.remote_addr(), request.local_addr())
    });
    assert_eq!(ran.value, (Some(remote), Some(local)));
}

#[test]
fn addresses_ipv6() {
    let remote: SocketAddr = "[2001:db8::1234]:443".parse().unwrap();
    let local: SocketAddr = "[fe80::1%7]:80".parse().unwrap();
    let ran = in_handler_with(TestRequest::get("/").remote_addr(remote).local_addr(local), |context| {
        let request = context.request();
        (request.remote_addr(), request.local_addr())
    });
    assert_eq!(ran.value, (Some(remote), Some(local)));
    match ran.value.1 {
        Some(SocketAddr::V6(v6)) => assert_eq!(v6.scope_id(), 7),
        other => panic!("{other:?}"),
    }
}

#[test]
fn ipv6_flow_info_round_trips() {
    // sin6_flowinfo is in network byte order (RFC 2553 3.3), as the simulator writes it.
    let remote = SocketAddr::V6(std::net::SocketAddrV6::new("2001:db8::5".parse().unwrap(), 4000, 0x000a_bcde, 3));
    let ran = in_handler_with(TestRequest::get("/").remote_addr(remote), |context| context.request().remote_addr());
    assert_eq!(ran.value, Some(remote));
}

#[test]
fn http_version() {
    for version in [(1, 1), (1, 0), (2, 0)] {
        let ran = in_handler_with(TestRequest::get("/").http_version(version.0, version.1), |context| context.request().http_version());
        assert_eq!(ran.value, version);
    }
}

#[test]
fn read_body_until_zero() {
    let body = b"the quick brown fox jumps over the lazy dog".to_vec();
    let ran = in_handler_with(TestRequest::post("/upload", body.clone()), |context| {
        let request = context.request();
        let before = request.remaining_body_bytes();
        let mut all = Vec::new();
        let mut reads = Vec::new();
        let mut buffer = [0u8; 8];
        loop {
            let n = request.read_body(&mut buffer).expect("read_body");
            reads.push(n);
            if n == 0 {
                break;
            }
            all.extend_from_slice(&buffer[..n]);
            assert_eq!(request.remaining_body_bytes() as usize + all.len(), 43);
        }
        // Reading again at the end still says 0.
        let again = request.read_body(&mut buffer).map_err(|e| e.code());
        (before, all, reads, again, request.remaining_body_bytes())
    });
    let (before, all, reads, again, after) = ran.value;
    assert_eq!(before as usize, body.len());
    assert_eq!(all, body);
    assert_eq!(reads, [8, 8, 8, 8, 8, 3, 0]);
    assert_eq!(again, Ok(0));
    assert_eq!(after, 0);
}

#[test]
fn read_body_without_a_body() {
    let ran = in_handler(|context| {
        let request = context.request();
        (request.remaining_body_bytes(), request.read_body(&mut [0u8; 16]).map_err(|e| e.code()))
    });
    assert_eq!(ran.value, (0, Ok(0)));
}

#[test]
fn insert_body_goes_before_the_rest() {
    let ran = in_handler_with(TestRequest::post("/", "world"), |context| {
        let request = context.request();
        let mut first = [0u8; 2];
        let n = request.read_body(&mut first).unwrap();
        assert_eq!(&first[..n], b"wo");
        let inserted = request.insert_body(context, b"hello wo").map_err(|e| e.code());
        let remaining = request.remaining_body_bytes();
        let mut all = Vec::new();
        let mut buffer = [0u8; 64];
        loop {
            let n = request.read_body(&mut buffer).unwrap();
            if n == 0 {
                break;
            }
            all.extend_from_slice(&buffer[..n]);
        }
        (inserted, remaining, all)
    });
    let (inserted, remaining, all) = ran.value;
    assert_eq!(inserted, Ok(()));
    assert_eq!(remaining, 11);
    assert_eq!(all, b"hello world");
    assert_eq!(details(&ran.response, "IHttpRequest::InsertEntityBody"), ["8 bytes"]);
    // The bytes were copied into request memory first (IIS keeps the pointer).
    assert!(ran.response.request_memory_bytes >= 8);
}

#[test]
fn read_entity_notification_sees_the_bytes_read() {
    let mut sim = Sim::new();
    let seen: Rc<RefCell<Vec<Vec<u8>>>> = Rc::default();
    let log = seen.clone();
    on(Stage::ReadEntity, move |_, provider| {
        log.borrow_mut().push(provider.read_entity().entity().to_vec());
        NotificationStatus::Continue
    });
    // Another module reads the body: the module's own reads would not re-enter it.
    let response = sim.send(TestRequest::post("/", "abcdefghij").other_module(Notification::ExecuteRequestHandler, |raw| {
        // SAFETY: the simulator's live context of this request, used during the call only.
        let context = unsafe { HttpContext::from_raw(raw) }.unwrap();
        let mut buffer = [0u8; 4];
        while context.request().read_body(&mut buffer).unwrap() > 0 {}
    }));
    assert_eq!(*seen.borrow(), [b"abcd".to_vec(), b"efgh".to_vec(), b"ij".to_vec()]);
    assert_eq!(response.called_during("IReadEntityProvider::GetEntity", Notification::ReadEntity), 3);
    sim.shutdown();
}
