//! A handler's `Err`, reported to IIS: the body of the trait method `#[http_module]` generates
//! around a handler that returns a `Result` (and the end of every async handler's future).
//!
//! The error becomes a 500 whose `hrErrorToReport` is the error's `HRESULT`
//! (`IHttpResponse::SetStatus`, <https://learn.microsoft.com/en-us/iis/web-development-reference/native-code-api-reference/ihttpresponse-setstatus-method>:
//! "hrErrorToReport: the HRESULT of the error to report", which IIS shows on its detailed error
//! page and logs), the buffered response is cleared (as for a panic, so a half-written page is
//! not sent with the 500), the message goes to the request's trace at the error level, and the
//! notification returns `RQ_NOTIFICATION_FINISH_REQUEST`.

use crate::outcome::{HandlerError, IntoNotificationStatus};
use crate::{HttpContext, NotificationStatus};

/// What the handler `handler` returned, as the status for IIS; an error is reported first.
pub fn finish<R: IntoNotificationStatus>(context: &HttpContext<'_>, handler: &str, returned: R) -> NotificationStatus {
    match returned.into_notification_status() {
        Ok(status) => status,
        Err(error) => {
            report(context, handler, &error);
            NotificationStatus::FinishRequest
        }
    }
}

/// Answers 500 with the error's `HRESULT` and traces its message.
fn report(context: &HttpContext<'_>, handler: &str, error: &HandlerError) {
    let response = context.response();
    response.clear();
    let vtbl = response.vtbl_raw();
    // SAFETY: the live response of the notification; static NUL-terminated reason; no
    // custom-error choice.
    unsafe { (vtbl.SetStatus)(response.as_raw(), 500, c"Internal Server Error".as_ptr().cast(), 0, error.hresult().0, core::ptr::null_mut(), 0) };
    if let Some(trace) = context.trace() {
        let _ = trace.quick_trace(&format!("httpserv: {handler} returned an error: {error}"), None, error.hresult(), crate::TraceLevel::Error);
    }
}
