//! The seed's sample module in Rust: on every send response, cancel any pending send or
//! receive operation, then let the pipeline continue.

use httpserv::prelude::*;

#[http_module(name = "CancelIoModule")]
#[derive(Default)]
pub struct CancelIoModule;

#[http_module]
impl HttpModule for CancelIoModule {
    fn on_send_response(&mut self, context: &HttpContext<'_>, _provider: &SendResponseProvider<'_>) -> NotificationStatus {
        // ERROR_INVALID_HANDLE only means there was no I/O to cancel; the response goes on.
        let _ = context.cancel_io();
        NotificationStatus::Continue
    }
}
