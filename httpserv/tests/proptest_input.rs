//! Property tests over the safe functions that take a string, bytes or a number from the user:
//! arbitrary input never panics; invalid input is refused with `E_INVALIDARG` and a message
//! naming what was wrong, and never reaches the test server (the transcript has one call per
//! accepted input, none for refused ones); valid input reaches it unchanged.
//!
//! Each property runs its cases inside one request (one `TestServer`), so the file runs fast.

mod common;

use std::cell::RefCell;
use std::rc::Rc;

use common::*;
use httpserv::{HttpContext, E_INVALIDARG};
use proptest::prelude::*;
use proptest::test_runner::{Config, TestRunner};

const CASES: u32 = 128;

/// What one case did: the input (for the transcript check) and the refusal message, if refused.
struct Case {
    input: String,
    refused: Option<String>,
}

/// Runs `CASES` cases of `strategy` through `call` inside one handler; returns them with the
/// request's transcript details of `method`.
fn run_cases<S>(strategy: S, call: impl Fn(&HttpContext<'_>, &S::Value) -> (String, httpserv::Result<()>) + 'static, method: &'static str) -> (Vec<Case>, Vec<String>)
where
    S: Strategy + 'static,
    S::Value: std::fmt::Debug,
{
    let cases: Rc<RefCell<Vec<Case>>> = Rc::default();
    let out = cases.clone();
    let ran = in_handler(move |context| {
        let mut runner = TestRunner::new(Config { cases: CASES, failure_persistence: None, ..Config::default() });
        runner
            .run(&strategy, |value| {
                let (input, result) = call(context, &value);
                let refused = match result {
                    Ok(()) => None,
                    Err(error) => {
                        prop_assert_eq!(error.code(), E_INVALIDARG, "{:?}", value);
                        Some(httpserv::__private::last_refusal())
                    }
                };
                out.borrow_mut().push(Case { input, refused });
                Ok(())
            })
            .unwrap();
    });
    let details = details(&ran.response, method);
    let cases = cases.take();
    (cases, details)
}

/// Strings with a good share of CTLs, DEL, CR, LF, NUL, separators and non-ASCII.
fn text() -> impl Strategy<Value = String> {
    prop_oneof![
        "[ -~]{0,40}",
        "[\\x00-\\x1f\\x7f a-z:\\r\\n\\t]{0,20}",
        any::<String>().prop_map(|s| s.chars().take(30).collect()),
    ]
}

fn field_value_ok(s: &str) -> bool {
    s.bytes().all(|b| b == b'\t' || (b >= 0x20 && b != 0x7f))
}

fn token_ok(s: &str) -> bool {
    !s.is_empty() && s.bytes().all(|b| b.is_ascii_alphanumeric() || b"!#$%&'*+-.^_`|~".contains(&b))
}

/// Every refused case names `what`; every accepted one appears, in order, in `details`.
#[track_caller]
fn check(cases: &[Case], details: &[String], valid: impl Fn(&str) -> bool, what: &str) {
    let accepted: Vec<&Case> = cases.iter().filter(|c| c.refused.is_none()).collect();
    for case in cases {
        match &case.refused {
            Some(message) => {
                assert!(!valid(&case.input), "valid input {:?} refused: {message}", case.input);
                assert!(message.contains(what), "{:?}: message {message:?} does not name {what}", case.input);
            }
            None => assert!(valid(&case.input), "invalid input {:?} accepted", case.input),
        }
    }
    assert_eq!(accepted.len(), details.len(), "refused input reached IIS: {details:#?}");
    for (case, detail) in accepted.iter().zip(details) {
        assert!(detail.contains(&format!("{:?}", case.input)), "{detail:?} is not {:?} unchanged", case.input);
    }
}

#[test]
fn response_header_values() {
    let (cases, details) = run_cases(text(), |c, v| (v.clone(), c.response().set_header("X-P", v)), "IHttpResponse::SetHeader");
    check(&cases, &details, field_value_ok, "header value");
}

#[test]
fn request_header_values() {
    let (cases, details) = run_cases(text(), |c, v| (v.clone(), c.request().append_header("X-P", v)), "IHttpRequest::SetHeader");
    // Appended request values are combined in the simulator; each call still names its value.
    check(&cases, &details, field_value_ok, "header value");
}

#[test]
fn header_names() {
    let (cases, details) = run_cases(text(), |c, v| (v.clone(), c.response().set_header(v, "v")), "IHttpResponse::SetHeader");
    let accepted = cases.iter().filter(|c| c.refused.is_none()).count();
    assert_eq!(accepted, details.len());
    for case in &cases {
        assert_eq!(case.refused.is_none(), token_ok(&case.input), "{:?}", case.input);
        if let Some(message) = &case.refused {
            assert!(message.contains("header name"), "{message}");
        }
    }
}

#[test]
fn reason_phrases_and_status_codes() {
    let (cases, details) = run_cases(text(), |c, v| (v.clone(), c.response().set_status(299, v)), "IHttpResponse::SetStatus");
    check(&cases, &details, field_value_ok, "reason phrase");
    let (cases, details) = run_cases(any::<u16>(), |c, v| (v.to_string(), c.response().set_status(*v, "R")), "IHttpResponse::SetStatus");
    assert_eq!(cases.iter().filter(|c| c.refused.is_none()).count(), details.len());
    for case in &cases {
        let code: u16 = case.input.parse().unwrap();
        assert_eq!(case.refused.is_none(), (100..=999).contains(&code), "{code}");
    }
}

#[test]
fn redirect_urls() {
    let (cases, details) = run_cases(text().prop_map(|s| format!("/{s}")), |c, v| (v.clone(), c.response().redirect(v, httpserv::RedirectOptions::default())), "IHttpResponse::Redirect");
    check(&cases, &details, field_value_ok, "redirect URL");
}

#[test]
fn server_variables() {
    let line_ok = |s: &str| !s.contains(['\r', '\n', '\0']);
    let (cases, details) = run_cases(text(), |c, v| (v.clone(), c.set_server_variable("MY_VAR", v)), "IHttpContext::SetServerVariable");
    check(&cases, &details, line_ok, "server variable value");
    let (cases, details) = run_cases(text().prop_filter("a name", |s| !s.is_empty()), |c, v| (v.clone(), c.set_server_variable(v, "v")), "IHttpContext::SetServerVariable");
    check(&cases, &details, line_ok, "server variable name");
}

#[test]
fn set_url() {
    let ok = |s: &str| !s.is_empty() && !s.contains(['\r', '\n', '\0']);
    let (cases, details) = run_cases(text(), |c, v| (v.clone(), c.request().set_url_keeping_query(v)), "IHttpRequest::SetUrl");
    check(&cases, &details, ok, "URL");
}

#[test]
fn map_path_and_trace_messages_never_panic() {
    let (cases, details) = run_cases(text(), |c, v| (v.clone(), c.map_path(v).map(drop)), "IHttpContext::MapPath");
    check(&cases, &details, |s| !s.contains('\0'), "NUL");
    let (cases, details) = run_cases(text(), |c, v| (v.clone(), c.trace().unwrap().quick_trace(v, None, httpserv::HRESULT(0), httpserv::TraceLevel::Verbose)), "IHttpTraceContext::QuickTrace");
    // The transcript shows trace data unquoted.
    let accepted: Vec<&Case> = cases.iter().filter(|c| c.refused.is_none()).collect();
    assert_eq!(accepted.len(), details.len());
    for (case, detail) in accepted.iter().zip(&details) {
        assert!(!case.input.contains('\0') && detail.starts_with(&case.input), "{detail:?} / {:?}", case.input);
    }
    assert!(cases.iter().filter_map(|c| c.refused.as_ref()).all(|m| m.contains("trace data contains NUL")));
}

#[test]
fn read_body_and_request_memory_sizes() {
    let (cases, details) = run_cases(0usize..4096, |c, n| (n.to_string(), c.request().read_body(&mut vec![0; *n]).map(drop)), "IHttpRequest::ReadEntityBody");
    assert_eq!(cases.iter().filter(|c| c.refused.is_none()).count(), details.len());
    for case in &cases {
        assert_eq!(case.refused.is_some(), case.input == "0", "{}", case.input);
    }
    let (cases, _) = run_cases(0usize..1 << 20, |c, n| (n.to_string(), c.allocate_request_memory(*n).map(|m| assert_eq!(m.len(), *n))), "IHttpContext::AllocateRequestMemory");
    assert!(cases.iter().all(|c| c.refused.is_none()));
}
