//! Runs the BasicAuth module in the test server (in-process, or its DLL with HTTPSERV_DOOR=dll:
//! TestServer::for_module): the user it authenticates with `SetUser` is `AUTH_USER` in a later
//! stage; everything else is a 401 challenge.

use basic_auth::{CHALLENGE, USERS};
use httpserv_testing::{Notification, TestRequest, TestServer};

fn server() -> TestServer {
    TestServer::for_module(basic_auth::RegisterModule, "basic_auth").expect("RegisterModule failed")
}

/// `Authorization: Basic base64(user:password)`.
fn basic(user: &str, password: &str) -> String {
    const ALPHABET: &[u8; 64] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
    let input = format!("{user}:{password}").into_bytes();
    let mut out = String::new();
    for chunk in input.chunks(3) {
        let n = chunk.iter().enumerate().fold(0u32, |n, (i, &b)| n | u32::from(b) << (16 - 8 * i));
        for i in 0..4 {
            out.push(if i <= chunk.len() { ALPHABET[(n >> (18 - 6 * i) & 63) as usize] as char } else { '=' });
        }
    }
    format!("Basic {out}")
}

#[test]
fn registers_authenticate_and_execute() {
    let server = server();
    assert_eq!(server.request_notifications(), httpserv::sys::RQ_AUTHENTICATE_REQUEST | httpserv::sys::RQ_EXECUTE_REQUEST_HANDLER);
}

#[test]
fn a_known_user_is_auth_user_in_a_later_stage() {
    let server = server();
    for (user, password) in USERS {
        let response = server.send(TestRequest::get("/private").header("Authorization", basic(user, password)));
        assert_eq!(response.status, 200, "{}", response.transcript());
        let body = String::from_utf8(response.body.clone()).unwrap();
        assert_eq!(body, format!("Hello, {user}!\nAUTH_USER={user}\nLOGON_USER={user}\nAUTH_TYPE=Basic\n"));
        assert_eq!(response.called_during("IAuthenticationProvider::SetUser", Notification::AuthenticateRequest), 1);
        // The later stage reads what IIS now reports.
        assert_eq!(response.called_during("IHttpContext::GetUser", Notification::ExecuteRequestHandler), 1);
        assert_eq!(response.called_during("IHttpContext::GetServerVariable", Notification::ExecuteRequestHandler), 3);
        // IIS releases the user once, at the end of the request; the log names the user.
        assert_eq!(response.called("IHttpUser::DereferenceUser"), 1);
        assert_eq!(response.log.user_name, user);
        assert_eq!(response.header("WWW-Authenticate"), None);
    }
    let report = server.shutdown();
    assert_eq!(report.modules_created, report.modules_disposed);
}

#[test]
fn no_credentials_get_a_challenge() {
    let server = server();
    let response = server.send(TestRequest::get("/private"));
    assert_eq!(response.status, 401, "{}", response.transcript());
    assert_eq!(response.header("WWW-Authenticate"), Some(CHALLENGE));
    assert_eq!(response.body, b"authentication required\n");
    assert_eq!(response.called("IAuthenticationProvider::SetUser"), 0);
    // The request ended in RQ_AUTHENTICATE_REQUEST: no handler ran.
    assert_eq!(response.called("CHttpModule::OnExecuteRequestHandler"), 0);
    assert_eq!(response.log.user_name, "");
}

#[test]
fn wrong_or_malformed_credentials_get_a_challenge() {
    let server = server();
    let cases = [
        basic("alice", "builder"),
        basic("mallory", "wonderland"),
        basic("alice", ""),
        "Basic !!!not-base64".to_owned(),
        "Basic YWxpY2U=".to_owned(), // "alice", no colon
        "Bearer abc".to_owned(),
        "Basic".to_owned(),
    ];
    for authorization in cases {
        let response = server.send(TestRequest::get("/private").header("Authorization", authorization.clone()));
        assert_eq!(response.status, 401, "{authorization}\n{}", response.transcript());
        assert_eq!(response.header("WWW-Authenticate"), Some(CHALLENGE), "{authorization}");
        assert_eq!(response.called("IAuthenticationProvider::SetUser"), 0, "{authorization}");
    }
}
