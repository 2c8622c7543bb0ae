//! The smallest module that answers requests itself: in `RQ_EXECUTE_REQUEST_HANDLER` it sends a
//! `200 OK` plain-text greeting that names the requested path, and finishes the request so no
//! other handler (static files, ASP.NET, ...) runs.
//!
//! Install the DLL, then add it to a site:
//!
//! ```text
//! appcmd install module /name:HelloWorld /image:C:\modules\hello_world.dll
//! ```

use httpserv::prelude::*;

/// The greeting's first line; the second names the requested path.
pub const GREETING: &str = "Hello from Rust on IIS!\n";

#[http_module(name = "HelloWorld")]
#[derive(Default)]
pub struct HelloWorld;

#[http_module]
impl HttpModule for HelloWorld {
    // An `Err` (from any `?` below) becomes a 500 carrying its HRESULT, and a trace entry.
    fn on_execute_request_handler(&mut self, context: &HttpContext<'_>, _: &EventProvider<'_>) -> HandlerResult {
        let request = context.request();
        let response = context.response();
        // The path without the query string; IIS has already decoded and normalised it.
        let path = request.path().map(|path| path.to_string_lossy()).unwrap_or_default();

        response.clear();
        response.set_status(200, "OK")?;
        response.set_header("Content-Type", "text/plain")?;
        response.write(GREETING.as_bytes())?;
        response.write(format!("You asked for {path}\n").as_bytes())?;
        Ok(NotificationStatus::FinishRequest)
    }
}
