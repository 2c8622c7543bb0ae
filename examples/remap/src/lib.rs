//! Maps URLs under `/legacy/` to another folder, and answers `/where/<path>` with the physical
//! path IIS maps `<path>` to.
//!
//! - `on_map_path` (`RQ_MAP_PATH`, raised whenever a module or IIS calls
//!   `IHttpContext::MapPath`) replaces the physical path of `/legacy/...` with
//!   [`LEGACY_ROOT`]`\...`, and counts the remappings it made for the request.
//! - `on_execute_request_handler` answers `/where/<path>` itself: it calls `map_path(<path>)`
//!   and writes the result and the count.
//!
//! The module's own `map_path` raises `RQ_MAP_PATH` while its own handler is still running. A
//! module is never re-entered (its handler holds `&mut self`), so that nested notification is
//! not delivered to it: `/where/legacy/a.txt` answers with the *unremapped* path, and the
//! request's trace says why. Requests whose path other modules (or IIS) map earlier in the
//! pipeline do see the remapping.

use httpserv::prelude::*;

/// Where `/legacy/...` is served from.
pub const LEGACY_ROOT: &str = "D:\\legacy-site";

#[http_module(name = "Remap")]
#[derive(Default)]
pub struct Remap {
    /// Remappings made during this request.
    remapped: usize,
}

#[http_module]
impl HttpModule for Remap {
    fn on_map_path(&mut self, _: &HttpContext<'_>, provider: &MapPathProvider<'_>) -> HandlerResult {
        let url = provider.url().map(|u| u.to_string_lossy()).unwrap_or_default();
        if let Some(rest) = url.strip_prefix("/legacy/") {
            let physical = format!("{LEGACY_ROOT}\\{}", rest.replace('/', "\\"));
            provider.set_physical_path(&physical)?;
            self.remapped += 1;
        }
        Ok(NotificationStatus::Continue)
    }

    fn on_execute_request_handler(&mut self, context: &HttpContext<'_>, _: &EventProvider<'_>) -> HandlerResult {
        let path = context.request().path().map(|p| p.to_string_lossy()).unwrap_or_default();
        let Some(asked) = path.strip_prefix("/where") else { return Ok(NotificationStatus::Continue) };
        let mapped = context.map_path(asked)?;
        let response = context.response();
        response.set_header("Content-Type", "text/plain")?;
        response.write(format!("{asked} -> {mapped} (remapped {})\n", self.remapped).as_bytes())?;
        Ok(NotificationStatus::FinishRequest)
    }
}
