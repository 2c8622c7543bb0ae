//! Hardens every response on its way out: in `RQ_SEND_RESPONSE` it adds the usual security
//! headers, keeping any value the application chose itself, and removes the headers that
//! advertise the server's software (`Server`, `X-Powered-By`).
//!
//! `RQ_SEND_RESPONSE` runs for every response IIS sends, including error pages and responses of
//! requests another module finished early, which is why the headers are added there and not in
//! a handler notification.

use httpserv::prelude::*;

/// The headers added to every response, unless the application already set the header.
pub const SECURITY_HEADERS: [(&str, &str); 4] = [
    ("X-Content-Type-Options", "nosniff"),
    ("X-Frame-Options", "DENY"),
    ("Referrer-Policy", "no-referrer"),
    ("Strict-Transport-Security", "max-age=31536000"),
];

/// The headers removed from every response.
pub const REMOVED_HEADERS: [&str; 2] = ["Server", "X-Powered-By"];

#[http_module(name = "SecurityHeaders")]
#[derive(Default)]
pub struct SecurityHeaders;

#[http_module]
impl HttpModule for SecurityHeaders {
    fn on_send_response(&mut self, context: &HttpContext<'_>, _: &SendResponseProvider<'_>) -> HandlerResult {
        harden(context)?;
        Ok(NotificationStatus::Continue)
    }
}

fn harden(context: &HttpContext<'_>) -> httpserv::Result<()> {
    let response = context.response();
    for (name, value) in SECURITY_HEADERS {
        // An application that set its own policy (e.g. `X-Frame-Options: SAMEORIGIN`) keeps it.
        match response.header(name) {
            Some(existing) if !existing.is_empty() => {}
            _ => response.set_header(name, value)?,
        }
    }
    for name in REMOVED_HEADERS {
        if response.header(name).is_some() {
            response.delete_header(name)?;
        }
    }
    Ok(())
}
