//! Handlers that return a `Result`: `?` on httpserv's errors and on any
//! `std::error::Error + Send + Sync`, sync and async, next to a plain `NotificationStatus`.
use httpserv::prelude::*;

#[http_module(priority(on_begin_request = High))]
#[derive(Default)]
pub struct Module;

#[http_module]
impl HttpModule for Module {
    fn on_begin_request(&mut self, context: &HttpContext<'_>, _: &EventProvider<'_>) -> HandlerResult {
        context.response().set_header("X-A", "1")?;
        let n: u32 = "7".parse()?;
        let _ = n;
        Ok(NotificationStatus::Continue)
    }

    fn on_send_response(&mut self, context: &HttpContext<'_>, _: &SendResponseProvider<'_>) -> httpserv::Result<NotificationStatus> {
        context.response().set_header("X-B", "2")?;
        Ok(NotificationStatus::Continue)
    }

    fn on_end_request(&mut self, _: &HttpContext<'_>, _: &EventProvider<'_>) -> NotificationStatus {
        NotificationStatus::Continue
    }

    async fn on_execute_request_handler(&mut self, context: &HttpContext<'_>) -> HandlerResult {
        context.response().write(b"hi")?;
        std::fs::metadata("/nonexistent/file")?;
        Ok(NotificationStatus::FinishRequest)
    }
}

fn main() {}

/// `RegisterModule` is nameable by path inside the crate too (the entry point is glob re-exported
/// next to the struct).
pub mod elsewhere {
    use crate::RegisterModule;

    pub fn entry() -> *const () {
        RegisterModule as *const ()
    }
}
