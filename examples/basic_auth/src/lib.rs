//! HTTP Basic authentication (RFC 7617) as an IIS module.
//!
//! In `RQ_AUTHENTICATE_REQUEST` it decodes `Authorization: Basic <base64(user:password)>`, checks
//! the pair against a fixed table and, when it matches, tells IIS who logged in with
//! `IAuthenticationProvider::SetUser`: from then on the user is the request's (`AUTH_USER`,
//! `LOGON_USER`, `REMOTE_USER`, `AUTH_TYPE`, authorization rules, the log). Anything else gets a
//! `401` with a `WWW-Authenticate: Basic` challenge and the request ends there.
//!
//! A later stage, `RQ_EXECUTE_REQUEST_HANDLER`, shows what IIS now reports: it answers with the
//! user's name as `IHttpContext::GetUser` gives it and the `AUTH_USER`, `LOGON_USER` and
//! `AUTH_TYPE` server variables.
//!
//! (A real module would compare password hashes from a store and require HTTPS; the fixed
//! table keeps the example about the IIS side.)

use httpserv::prelude::*;
use base64::engine::general_purpose::STANDARD;
use base64::Engine as _;
use httpserv::{AuthenticatedUser, Status};

/// The users and their passwords.
pub const USERS: [(&str, &str); 2] = [("alice", "wonderland"), ("bob", "builder")];

/// The realm of the challenge.
pub const REALM: &str = "httpserv example";

/// The challenge sent with every 401 (RFC 7617 §2: the `Basic` scheme, a realm, and UTF-8 as
/// the charset of user names and passwords).
pub const CHALLENGE: &str = "Basic realm=\"httpserv example\", charset=\"UTF-8\"";

#[http_module(name = "BasicAuth")]
#[derive(Default)]
pub struct BasicAuth;

#[http_module]
impl HttpModule for BasicAuth {
    fn on_authenticate_request(&mut self, context: &HttpContext<'_>, provider: &AuthenticationProvider<'_>) -> HandlerResult {
        let user = context.request().header("Authorization").and_then(basic_credentials).and_then(|(user, password)| check(&user, &password));
        match user {
            Some(name) => {
                provider.set_user(AuthenticatedUser::new(name, "Basic")?);
                Ok(NotificationStatus::Continue)
            }
            None => {
                challenge(context)?;
                Ok(NotificationStatus::FinishRequest)
            }
        }
    }

    fn on_execute_request_handler(&mut self, context: &HttpContext<'_>, _: &EventProvider<'_>) -> HandlerResult {
        greet(context)?;
        Ok(NotificationStatus::FinishRequest)
    }
}

/// Answers 401 with the Basic challenge.
fn challenge(context: &HttpContext<'_>) -> httpserv::Result<()> {
    let response = context.response();
    response.clear();
    response.set_status_with(Status::new(401, "Unauthorized").skip_custom_errors())?;
    response.set_header("WWW-Authenticate", CHALLENGE)?;
    response.set_header("Content-Type", "text/plain; charset=utf-8")?;
    response.write(b"authentication required\n")
}

/// The later stage: what IIS says about the user now.
fn greet(context: &HttpContext<'_>) -> httpserv::Result<()> {
    let variable = |name: &str| -> httpserv::Result<String> {
        Ok(context.server_variable(name)?.map(|v| String::from_utf8_lossy(v).into_owned()).unwrap_or_default())
    };
    let name = context.user().and_then(|u| u.name().map(|n| n.to_string_lossy())).unwrap_or_default();
    let body = format!(
        "Hello, {name}!\nAUTH_USER={}\nLOGON_USER={}\nAUTH_TYPE={}\n",
        variable("AUTH_USER")?,
        variable("LOGON_USER")?,
        variable("AUTH_TYPE")?
    );
    let response = context.response();
    response.set_header("Content-Type", "text/plain; charset=utf-8")?;
    response.write(body.as_bytes())
}

/// The user whose password matches, comparing every byte of every entry (no early exit that
/// would tell a timing attacker how much of a password was right).
pub fn check(user: &str, password: &str) -> Option<&'static str> {
    let mut found = None;
    for (name, expected) in USERS {
        let same = equal(name.as_bytes(), user.as_bytes()) & equal(expected.as_bytes(), password.as_bytes());
        if same {
            found = Some(name);
        }
    }
    found
}

fn equal(a: &[u8], b: &[u8]) -> bool {
    let mut diff = a.len() ^ b.len();
    for (i, x) in a.iter().enumerate() {
        diff |= usize::from(x ^ b.get(i).copied().unwrap_or(!x));
    }
    diff == 0
}

/// `(user, password)` from an `Authorization` value `Basic <base64>` (RFC 7617 §2: the scheme is
/// case-insensitive; the decoded `user-id ":" password`, user ids without a colon). `None` for
/// any other scheme, bad base64, text that is not UTF-8, or no colon.
pub fn basic_credentials(value: &[u8]) -> Option<(String, String)> {
    let value = std::str::from_utf8(value).ok()?.trim();
    let (scheme, token) = value.split_once(' ')?;
    if !scheme.eq_ignore_ascii_case("Basic") {
        return None;
    }
    // Standard base64 with padding (RFC 4648 §4), as RFC 7617 specifies.
    let decoded = String::from_utf8(STANDARD.decode(token.trim()).ok()?).ok()?;
    let (user, password) = decoded.split_once(':')?;
    Some((user.to_owned(), password.to_owned()))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn decodes_rfc_7617_example() {
        // RFC 7617 §2: "Aladdin:open sesame".
        assert_eq!(basic_credentials(b"Basic QWxhZGRpbjpvcGVuIHNlc2FtZQ=="), Some(("Aladdin".into(), "open sesame".into())));
        assert_eq!(basic_credentials(b"basic YTpi"), Some(("a".into(), "b".into())));
    }

    #[test]
    fn refuses_what_is_not_basic() {
        for bad in [&b"Bearer abc"[..], b"Basic", b"Basic !!!!", b"Basic YQ=", b"Basic YWJj", b"Basic /w==", b"Basic Y=Jj"] {
            assert_eq!(basic_credentials(bad), None, "{:?}", String::from_utf8_lossy(bad));
        }
    }

    #[test]
    fn checks_the_table() {
        assert_eq!(check("alice", "wonderland"), Some("alice"));
        assert_eq!(check("alice", "wonderlan"), None);
        assert_eq!(check("alice", "builder"), None);
        assert_eq!(check("carol", "x"), None);
    }
}
