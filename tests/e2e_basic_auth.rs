//! BasicAuth through both doors: the user the module authenticates with `SetUser` (a Rust
//! `IHttpUser`, called by the core through the generated C++ proxy in the DLL door) is
//! `AUTH_USER` in a later stage, and is released once. See tests/e2e/common.rs.

use httpserv_testing::{Notification, TestRequest};

#[path = "e2e/common.rs"]
mod common;

use common::*;

#[test]
fn basic_auth_is_the_same_through_both_doors() {
    // "alice:wonderland", "alice:builder", and none.
    let requests = requests([
        TestRequest::get("/private").header("Authorization", "Basic YWxpY2U6d29uZGVybGFuZA=="),
        TestRequest::get("/private").header("Authorization", "Basic YWxpY2U6YnVpbGRlcg=="),
        TestRequest::get("/private"),
    ]);
    let run = same_through_both_doors(basic_auth::RegisterModule, "basic_auth", &requests);
    let [ok, wrong, none] = &run.responses[..] else { panic!("three responses") };
    assert_eq!(ok.status, 200, "{}", ok.transcript());
    assert_eq!(ok.body, b"Hello, alice!\nAUTH_USER=alice\nLOGON_USER=alice\nAUTH_TYPE=Basic\n");
    assert_eq!(ok.called_during("IAuthenticationProvider::SetUser", Notification::AuthenticateRequest), 1);
    assert_eq!(ok.called("IHttpUser::DereferenceUser"), 1);
    assert_eq!(ok.log.user_name, "alice");
    for challenged in [wrong, none] {
        assert_eq!(challenged.status, 401, "{}", challenged.transcript());
        assert_eq!(challenged.header("WWW-Authenticate"), Some(basic_auth::CHALLENGE));
        assert_eq!(challenged.called("IAuthenticationProvider::SetUser"), 0);
    }
}
