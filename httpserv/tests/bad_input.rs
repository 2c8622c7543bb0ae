//! Bad input is refused with `E_INVALIDARG` before it reaches IIS: each case checks the error
//! code and that the transcript has no call carrying it.

mod common;

use std::cell::RefCell;
use std::rc::Rc;

use common::*;
use httpserv::prelude::*;
use httpserv_testing::{TestRequest, TestResponse};
use httpserv::{RedirectOptions, Status, TraceLevel, HRESULT};

type Outcome = Vec<(&'static str, httpserv::Result<()>)>;

#[track_caller]
fn assert_all_invalid(outcome: Outcome) {
    assert!(!outcome.is_empty());
    for (what, result) in outcome {
        match result {
            Err(error) => assert_eq!(error.code(), httpserv::E_INVALIDARG, "{what}: {error:?}"),
            Ok(()) => panic!("{what}: bad input was accepted"),
        }
    }
}

#[track_caller]
fn assert_not_called(response: &TestResponse, methods: &[&str]) {
    for method in methods {
        assert_eq!(response.called(method), 0, "{method} reached IIS:\n{}", response.transcript());
    }
}

const HEADER_WRITES: [&str; 4] = ["IHttpResponse::SetHeader", "IHttpResponse::DeleteHeader", "IHttpRequest::SetHeader", "IHttpRequest::DeleteHeader"];

/// Every header write with `name` is refused and nothing reaches IIS.
fn header_name_refused(name: &'static str) {
    let ran = in_handler(move |context| -> Outcome {
        let (response, request) = (context.response(), context.request());
        vec![
            ("Response::set_header", response.set_header(name, "v")),
            ("Response::append_header", response.append_header(name, "v")),
            ("Response::delete_header", response.delete_header(name)),
            ("Request::set_header", request.set_header(name, "v")),
            ("Request::append_header", request.append_header(name, "v")),
            ("Request::delete_header", request.delete_header(name)),
        ]
    });
    assert_all_invalid(ran.value);
    assert_not_called(&ran.response, &HEADER_WRITES);
    assert!(ran.response.headers.is_empty(), "{:?}", ran.response.headers);
}

/// Every header write with `value` is refused and nothing reaches IIS.
fn header_value_refused(value: String) {
    let ran = in_handler(move |context| -> Outcome {
        let (response, request) = (context.response(), context.request());
        vec![
            ("Response::set_header", response.set_header("X-Test", &value)),
            ("Response::append_header", response.append_header("X-Test", &value)),
            ("Request::set_header", request.set_header("X-Test", &value)),
            ("Request::append_header", request.append_header("X-Test", &value)),
        ]
    });
    assert_all_invalid(ran.value);
    assert_not_called(&ran.response, &HEADER_WRITES);
    assert_eq!(ran.response.header("X-Test"), None);
    assert!(!ran.response.request_headers.iter().any(|(n, _)| n == "X-Test"));
}

#[test]
fn header_name_with_cr() {
    header_name_refused("X-Bad\rName");
}

#[test]
fn header_name_with_lf() {
    header_name_refused("X-Bad\nName");
}

#[test]
fn header_name_with_crlf_injection() {
    header_name_refused("X-A: 1\r\nX-Injected");
}

#[test]
fn header_name_with_nul() {
    header_name_refused("X-Bad\0Name");
}

#[test]
fn header_name_empty() {
    header_name_refused("");
}

#[test]
fn header_name_with_colon() {
    header_name_refused("X-Bad:Name");
}

#[test]
fn header_name_with_space() {
    header_name_refused("X-Bad Name");
}

#[test]
fn header_name_with_tab() {
    header_name_refused("X-Bad\tName");
}

#[test]
fn header_value_with_cr() {
    header_value_refused("a\rb".to_owned());
}

#[test]
fn header_value_with_lf() {
    header_value_refused("a\nb".to_owned());
}

#[test]
fn header_value_with_response_splitting() {
    header_value_refused("1\r\n\r\n<html>injected".to_owned());
}

#[test]
fn header_value_with_nul() {
    header_value_refused("a\0b".to_owned());
}

#[test]
fn header_value_one_byte_over_u16_max() {
    header_value_refused("v".repeat(u16::MAX as usize + 1));
}

#[test]
fn header_value_far_over_u16_max_is_not_truncated() {
    // 65536 + 5 bytes would be 5 bytes if the length were cut to u16.
    header_value_refused("v".repeat(u16::MAX as usize + 6));
}

#[test]
fn header_lookup_with_nul_returns_none_without_calling_iis() {
    let ran = in_handler_with(TestRequest::get("/").header("X-A", "1"), |context| {
        (context.request().header("X-A\0B").is_none(), context.response().header("X-A\0B").is_none())
    });
    assert_eq!(ran.value, (true, true));
    assert_not_called(&ran.response, &["IHttpRequest::GetHeader", "IHttpResponse::GetHeader"]);
}

/// `set_status` and `set_status_with` refuse `reason`; the status stays 200.
fn reason_refused(reason: &'static str) {
    let ran = in_handler(move |context| {
        let response = context.response();
        let outcome: Outcome = vec![
            ("set_status", response.set_status(400, reason)),
            ("set_status_with", response.set_status_with(Status::new(400, reason).substatus(1).skip_custom_errors())),
        ];
        (outcome, response.status().code)
    });
    let (outcome, code) = ran.value;
    assert_all_invalid(outcome);
    assert_eq!(code, 200);
    assert_eq!(ran.response.status, 200);
    assert_not_called(&ran.response, &["IHttpResponse::SetStatus"]);
}

#[test]
fn reason_with_cr() {
    reason_refused("Bad\rRequest");
}

#[test]
fn reason_with_lf() {
    reason_refused("Bad\nRequest");
}

#[test]
fn reason_with_nul() {
    reason_refused("Bad\0Request");
}

/// `redirect` refuses `url`: no Location, status unchanged.
fn redirect_refused(url: &'static str) {
    let ran = in_handler(move |context| -> Outcome {
        let response = context.response();
        vec![
            ("redirect", response.redirect(url, RedirectOptions::default())),
            ("redirect with parameters", response.redirect(url, RedirectOptions { keep_status: true, include_query: true })),
        ]
    });
    assert_all_invalid(ran.value);
    assert_not_called(&ran.response, &["IHttpResponse::Redirect", "IHttpResponse::SetHeader"]);
    assert_eq!(ran.response.status, 200);
    assert_eq!(ran.response.header("Location"), None);
}

#[test]
fn redirect_url_with_cr() {
    redirect_refused("/next\rX-Injected: 1");
}

#[test]
fn redirect_url_with_lf() {
    redirect_refused("/next\nX-Injected: 1");
}

#[test]
fn redirect_url_with_nul() {
    redirect_refused("/next\0/evil");
}

#[test]
fn server_variable_name_with_nul() {
    let ran = in_handler(|context| -> Outcome {
        vec![
            ("server_variable", context.server_variable("URL\0X").map(drop)),
            ("server_variable_wide", context.server_variable_wide("URL\0X").map(drop)),
            ("set_server_variable", context.set_server_variable("MY\0VAR", "v")),
        ]
    });
    assert_all_invalid(ran.value);
    assert_not_called(&ran.response, &["IHttpContext::GetServerVariable", "IHttpContext::SetServerVariable"]);
    assert!(ran.response.server_variables_set.is_empty());
}

#[test]
fn server_variable_value_with_nul() {
    let ran = in_handler(|context| context.set_server_variable("MY_VAR", "before\0after"));
    assert_invalid(ran.value);
    assert_not_called(&ran.response, &["IHttpContext::SetServerVariable"]);
    assert!(ran.response.server_variables_set.is_empty());
}

#[test]
fn method_with_nul() {
    let ran = in_handler(|context| context.request().set_method("GET\0POST"));
    assert_invalid(ran.value);
    assert_not_called(&ran.response, &["IHttpRequest::SetHttpMethod"]);
    assert_eq!(ran.response.method, "GET");
}

#[test]
fn method_not_a_token() {
    let ran = in_handler(|context| -> Outcome {
        let request = context.request();
        vec![
            ("empty", request.set_method("")),
            ("space", request.set_method("GET X")),
            ("CR LF", request.set_method("GET\r\n")),
            ("colon", request.set_method("GET:")),
        ]
    });
    assert_all_invalid(ran.value);
    assert_not_called(&ran.response, &["IHttpRequest::SetHttpMethod"]);
    assert_eq!(ran.response.method, "GET");
}

/// `set_status` and `set_status_with` refuse `code`.
fn status_refused(code: u16) {
    let ran = in_handler(move |context| -> Outcome {
        let response = context.response();
        vec![
            ("set_status", response.set_status(code, "Whatever")),
            ("set_status_with", response.set_status_with(Status::new(code, "Whatever"))),
        ]
    });
    assert_all_invalid(ran.value);
    assert_not_called(&ran.response, &["IHttpResponse::SetStatus"]);
    assert_eq!(ran.response.status, 200);
}

#[test]
fn status_99_refused() {
    status_refused(99);
}

#[test]
fn status_1000_refused() {
    status_refused(1000);
}

#[test]
fn status_0_and_u16_max_refused() {
    status_refused(0);
    status_refused(u16::MAX);
}

#[test]
fn status_100_and_999_accepted() {
    for code in [100, 999] {
        let ran = in_handler(move |context| context.response().set_status(code, "Edge").map_err(|e| e.code()));
        assert_eq!(ran.value, Ok(()));
        assert_eq!(ran.response.status, code);
        assert_eq!(ran.response.called("IHttpResponse::SetStatus"), 1);
    }
}

#[test]
fn url_with_line_breaks_or_nul() {
    let ran = in_handler(|context| -> Outcome {
        let request = context.request();
        vec![("CR", request.set_url_keeping_query("/a\rb")), ("LF", request.set_url("/a\nb")), ("NUL", request.set_url_keeping_query("/a\0b"))]
    });
    assert_all_invalid(ran.value);
    assert_not_called(&ran.response, &["IHttpRequest::SetUrl"]);
    assert_eq!(ran.response.url, "/");
}

#[test]
fn url_empty() {
    // An empty URL has no byte to point at; with a length of 0 IIS would read up to a NUL.
    let ran = in_handler(|context| context.request().set_url(""));
    assert_invalid(ran.value);
    assert_not_called(&ran.response, &["IHttpRequest::SetUrl"]);
    assert_eq!(ran.response.url, "/");
}

#[test]
fn map_path_url_with_nul() {
    let ran = in_handler(|context| context.map_path("/a\0b"));
    assert_invalid(ran.value);
    assert_not_called(&ran.response, &["IHttpContext::MapPath", "CHttpModule::OnMapPath"]);
}

#[test]
fn physical_path_with_nul() {
    let mut sim = Sim::new();
    let result = Rc::new(RefCell::new(None));
    let out = result.clone();
    on(Stage::MapPath, move |_, provider| {
        *out.borrow_mut() = Some(provider.map_path().set_physical_path("D:\\a\0b"));
        NotificationStatus::Continue
    });
    let response = sim.send(TestRequest::get("/").other_module(httpserv_testing::Notification::ExecuteRequestHandler, |raw| {
        // SAFETY: the simulator's live context of this request, used during the call only.
        let context = unsafe { HttpContext::from_raw(raw) }.unwrap();
        assert_eq!(context.map_path("/x").unwrap(), "C:\\inetpub\\wwwroot\\x");
    }));
    assert_invalid(result.borrow_mut().take().expect("RQ_MAP_PATH ran"));
    assert_not_called(&response, &["IMapPathProvider::SetPhysicalPath"]);
    sim.shutdown();
}

#[test]
fn trace_data_with_nul() {
    let ran = in_handler(|context| -> Outcome {
        let trace = context.trace().expect("trace context");
        vec![
            ("data", trace.quick_trace("a\0b", None, HRESULT(0), TraceLevel::Information)),
            ("data2", trace.quick_trace("a", Some("b\0c"), HRESULT(0), TraceLevel::Information)),
        ]
    });
    assert_all_invalid(ran.value);
    assert_not_called(&ran.response, &["IHttpTraceContext::QuickTrace"]);
}

#[test]
fn server_reason_with_nul() {
    let ran = in_handler(|context| -> Outcome {
        let server = context.server().expect("server");
        vec![
            ("report_unhealthy", server.report_unhealthy("bad\0reason", HRESULT(0x8000_4005_u32 as i32))),
            ("recycle_process", server.recycle_process("bad\0reason")),
        ]
    });
    assert_all_invalid(ran.value);
    for method in ["IHttpServer::ReportUnhealthy", "IHttpServer::RecycleProcess"] {
        assert!(!ran.server_calls.iter().any(|c| c.method == method), "{method} reached IIS");
    }
}

#[test]
fn header_name_with_separators_or_non_ascii_is_not_a_token() {
    for name in ["X(Test)", "X@Test", "X\"Test", "X/Test", "X=Test", "Tést", "X\u{7f}"] {
        header_name_refused(name);
    }
}

#[test]
fn header_name_with_every_tchar_is_accepted() {
    let ran = in_handler(|context| context.response().set_header("X!#$%&'*+-.^_`|~09az", "v"));
    ran.value.expect("every tchar is allowed in a header name");
    assert_eq!(ran.response.header("X!#$%&'*+-.^_`|~09az"), Some("v"));
}

// Finding 6 of issue 8: bad input that used to get through.

#[test]
fn server_variable_with_cr_lf_refused() {
    let ran = in_handler(|context| -> Vec<String> {
        vec![
            refusal(context.set_server_variable("MY\rVAR", "v")),
            refusal(context.set_server_variable("MY\nVAR", "v")),
            refusal(context.set_server_variable("MY_VAR", "a\rb")),
            refusal(context.set_server_variable("MY_VAR", "a\nb")),
            refusal(context.set_server_variable("MY_VAR", "1\r\nX-Injected: 1")),
        ]
    });
    let expected = ["server variable name contains CR, LF or NUL at byte 2", "server variable name contains CR, LF or NUL at byte 2"];
    assert_eq!(ran.value[..2], expected);
    for message in &ran.value[2..] {
        assert!(message.starts_with("server variable value contains CR, LF or NUL at byte 1"), "{message}");
    }
    assert_not_called(&ran.response, &["IHttpContext::SetServerVariable"]);
    assert!(ran.response.server_variables_set.is_empty());
}

#[test]
fn empty_header_value_is_a_nul_terminated_string() {
    // The simulator refuses a zero-length value whose pointer is not a readable NUL (an empty
    // Rust slice's dangling address), as IIS would read one there.
    let ran = in_handler(|context| -> Outcome {
        let (response, request) = (context.response(), context.request());
        vec![
            ("Response::set_header", response.set_header("X-Empty", "")),
            ("Response::append_header", response.append_header("X-Empty-2", "")),
            ("Request::set_header", request.set_header("X-Empty", "")),
        ]
    });
    for (what, result) in ran.value {
        result.unwrap_or_else(|e| panic!("{what}: {e:?}\n{}", ran.response.transcript()));
    }
    assert_eq!(ran.response.header("X-Empty"), Some(""));
    assert_eq!(ran.response.header("X-Empty-2"), Some(""));
}

#[test]
fn header_value_with_control_characters() {
    for value in ["a\x01b", "a\x7fb", "\x1b[31m", "a\x0bb", "a\x0cb", "\x00"] {
        header_value_refused(value.to_owned());
    }
}

#[test]
fn header_value_with_htab_obs_text_and_spaces_is_accepted() {
    let ran = in_handler(|context| context.response().set_header("X-Test", " a\tb ~ caf\u{e9} \u{1f600} "));
    ran.value.expect("HTAB, SP, VCHAR and obs-text are field-value bytes");
    assert_eq!(ran.response.header("X-Test"), Some(" a\tb ~ caf\u{e9} \u{1f600} "));
}

#[test]
fn reason_with_control_characters() {
    for reason in ["Bad\x01", "Bad\x7f", "\x1b"] {
        reason_refused(reason);
    }
}

#[test]
fn redirect_url_with_control_characters() {
    for url in ["/a\x01", "/a\x7f", "/\x1b"] {
        redirect_refused(url);
    }
}

#[test]
fn read_body_into_empty_buffer_refused() {
    let ran = in_handler_with(TestRequest::post("/", "hello"), |context| {
        let request = context.request();
        (refusal(request.read_body(&mut [])), request.remaining_body_bytes())
    });
    let (message, remaining) = ran.value;
    assert!(message.contains("buffer is empty"), "{message}");
    assert_eq!(remaining, 5);
    assert_not_called(&ran.response, &["IHttpRequest::ReadEntityBody", "CHttpModule::OnReadEntity"]);
}

#[test]
fn map_path_over_260_characters_raises_rq_map_path_once() {
    let mut sim = Sim::new();
    let count = Rc::new(RefCell::new(0));
    let seen = count.clone();
    on(Stage::MapPath, move |_, _| {
        *seen.borrow_mut() += 1;
        NotificationStatus::Continue
    });
    let long = format!("/{}", "a".repeat(400));
    let result = std::sync::Arc::new(std::sync::Mutex::new(None));
    let out = result.clone();
    // Another module maps the path, so that RQ_MAP_PATH reaches the module under test.
    let response = sim.send(TestRequest::get("/").other_module(httpserv_testing::Notification::ExecuteRequestHandler, move |raw| {
        // SAFETY: the simulator's live context of this request, used during the call only.
        let context = unsafe { HttpContext::from_raw(raw) }.unwrap();
        *out.lock().unwrap() = Some(context.map_path(&long));
    }));
    let path = result.lock().unwrap().take().expect("the other module ran").expect("map_path");
    assert_eq!(path, format!("C:\\inetpub\\wwwroot\\{}", "a".repeat(400)));
    assert_eq!(*count.borrow(), 1, "{}", response.transcript());
    assert_eq!(response.called("IHttpContext::MapPath"), 1, "{}", response.transcript());
    sim.shutdown();
}

#[test]
#[should_panic(expected = "a request header value is 65536 bytes")]
fn test_request_header_over_u16_max_is_refused_not_truncated() {
    let ran = in_handler_with(TestRequest::get("/").header("X-Long", "v".repeat(65_536)), |context| {
        context.request().headers().map(|(_, v)| v.len()).max()
    });
    panic!("the simulator truncated the header to {:?} bytes", ran.value);
}

#[test]
#[should_panic(expected = "the request URL is 70001 bytes")]
fn test_request_url_over_u16_max_is_refused_not_truncated() {
    let ran = in_handler_with(TestRequest::get(format!("/{}", "u".repeat(70_000))), |context| context.request().raw_url().map(<[u8]>::len));
    panic!("the simulator truncated the URL to {:?} bytes", ran.value);
}

#[test]
fn test_requests_http_sys_could_not_carry_are_refused_before_any_module_sees_them() {
    let mut sim = Sim::new();
    let ran = Rc::new(RefCell::new(0));
    let count = ran.clone();
    on(Stage::BeginRequest, move |_, _| {
        *count.borrow_mut() += 1;
        NotificationStatus::Continue
    });
    let cases = [
        (TestRequest::get(format!("/{}", "u".repeat(70_000))), "the request URL is 70001 bytes"),
        // 40,001 bytes of URL fit, but not the full URL in UTF-16: "http://localhost:80" and
        // the URL are 40,020 units of two bytes.
        (TestRequest::get(format!("/{}", "u".repeat(40_000))), "the full request URL (in UTF-16) is 80040 bytes"),
        (TestRequest::get("/").header("Host", "h".repeat(40_000)), "the full request URL (in UTF-16)"),
        (TestRequest::get("/").header("X-Long", "v".repeat(65_536)), "a request header value is 65536 bytes"),
        // Two lines of a known header are one HTTP_KNOWN_HEADER value, joined with ", ".
        (TestRequest::get("/").header("Accept", "a".repeat(40_000)).header("Accept", "b".repeat(40_000)), "a request header value is 80002 bytes"),
        (TestRequest::get("/").header(&"N".repeat(65_536), "v"), "a request header name is 65536 bytes"),
        (TestRequest::new(&"M".repeat(65_536), "/"), "the request method is 65536 bytes"),
    ];
    for (request, expected) in cases {
        let message = sim.send_panic(request);
        assert!(message.contains(expected), "expected {expected:?} in {message:?}");
    }
    assert_eq!(*ran.borrow(), 0, "a module saw a request that cannot reach IIS");
    // Nothing was cut short: the server still serves, and every module object it made is gone.
    assert_eq!(sim.send(TestRequest::get(format!("/{}", "u".repeat(30_000)))).status, 200);
    assert_eq!(*ran.borrow(), 1);
    let report = sim.shutdown();
    assert_eq!((report.requests, report.modules_created, report.modules_disposed), (1, 1, 1), "{report:?}");
}

#[test]
fn set_url_and_set_header_that_http_sys_could_not_carry_are_refused_not_cut() {
    let ran = in_handler(|context| {
        let request = context.request();
        let long_url = request.set_url(&format!("/{}", "u".repeat(70_000)));
        let long_full_url = request.set_url(&format!("/{}", "u".repeat(40_000)));
        let url_after = request.raw_url().map(<[u8]>::to_vec);
        let first = request.append_header("Accept", &"a".repeat(40_000));
        let joined = request.append_header("Accept", &"b".repeat(40_000));
        let host = request.set_header("Host", &"h".repeat(40_000));
        let accept = request.header("Accept").map(<[u8]>::len);
        let fitting = request.set_url(&format!("/{}", "u".repeat(20_000)));
        (long_url, long_full_url, url_after, first, joined, host, accept, fitting, request.raw_url().map(<[u8]>::len))
    });
    let (long_url, long_full_url, url_after, first, joined, host, accept, fitting, url_len) = ran.value;
    assert_invalid(long_url);
    assert_invalid(long_full_url);
    assert_eq!(url_after.as_deref(), Some(&b"/"[..]), "a refused SetUrl changed the URL");
    first.expect("a 40,000-byte header fits");
    assert_invalid(joined);
    assert_invalid(host);
    assert_eq!(accept, Some(40_000), "a refused SetHeader changed the header");
    fitting.expect("a 20,001-byte URL fits");
    assert_eq!(url_len, Some(20_001));
    assert_eq!(ran.response.status, 200, "{}", ran.response.transcript());
    assert_eq!((ran.report.modules_created, ran.report.modules_disposed), (1, 1));
}
