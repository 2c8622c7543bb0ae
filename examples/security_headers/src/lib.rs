//! Hardens every response on its way out: in `RQ_SEND_RESPONSE` it adds the usual security
//! headers, keeping any value the application chose itself, and removes the headers that
//! advertise the server's software (`Server`, `X-Powered-By`).
//!
//! `RQ_SEND_RESPONSE` runs for every response IIS sends, including error pages and responses of
//! requests another module finished early, which is why the headers are added there and not in
//! a handler notification.
//!
//! The headers come from the module's own configuration section,
//! `system.webServer/securityHeaders` ([`SecurityHeadersConfig`]), read for the request's URL so
//! that a `<location>` or `web.config` can change them per folder:
//!
//! ```xml
//! <system.webServer>
//!   <securityHeaders enabled="true">
//!     <add name="X-Frame-Options" value="DENY" />
//!   </securityHeaders>
//! </system.webServer>
//! ```
//!
//! Its schema is `securityHeaders_schema.xml` next to this crate's manifest (generated from the
//! type; a test checks it is current). Without the section installed, the module adds
//! [`SECURITY_HEADERS`].

use httpserv::config::{ConfigError, ConfigSection};
use httpserv::prelude::*;
use serde::{Deserialize, Serialize};

/// `system.webServer/securityHeaders`: whether the module is on, and the headers it adds.
#[derive(Clone, Debug, PartialEq, Eq, Deserialize, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct SecurityHeadersConfig {
    /// `enabled="false"` turns the module off for the URL (default `true`).
    #[serde(default = "yes")]
    pub enabled: bool,
    /// The collection: `<add name="..." value="..."/>`, `<remove name="..."/>`, `<clear/>`.
    #[serde(rename = "add", default)]
    pub headers: Vec<ConfiguredHeader>,
}

/// One `<add name="..." value="..."/>` of the section.
#[derive(Clone, Debug, PartialEq, Eq, Deserialize, Serialize)]
pub struct ConfiguredHeader {
    /// The header name (the collection's key).
    pub name: String,
    /// Its value.
    pub value: String,
}

fn yes() -> bool {
    true
}

impl Default for SecurityHeadersConfig {
    fn default() -> Self {
        SecurityHeadersConfig { enabled: true, headers: Vec::new() }
    }
}

impl ConfigSection for SecurityHeadersConfig {
    const NAME: &'static str = "system.webServer/securityHeaders";
}

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
    let configured = match context.config::<SecurityHeadersConfig>() {
        Ok(config) => Some(config),
        // The section is not installed: the built-in headers.
        Err(ConfigError::MissingSection { .. }) => None,
        Err(error) => return Err(error.into()),
    };
    if configured.as_ref().is_some_and(|c| !c.enabled) {
        return Ok(());
    }
    let headers: Vec<(&str, &str)> = match &configured {
        Some(config) => config.headers.iter().map(|h| (h.name.as_str(), h.value.as_str())).collect(),
        None => SECURITY_HEADERS.to_vec(),
    };
    let response = context.response();
    for (name, value) in headers {
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
