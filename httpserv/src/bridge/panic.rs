//! Panics stop at the C++ boundary: every thunk runs user code through `catch`.

use std::any::Any;
use std::panic::{catch_unwind, AssertUnwindSafe};

use httpserv_sys::*;

/// Runs `f`, returning `Err(message)` if it panicked.
pub(crate) fn catch<R>(f: impl FnOnce() -> R) -> Result<R, String> {
    catch_unwind(AssertUnwindSafe(f)).map_err(message)
}

fn message(payload: Box<dyn Any + Send>) -> String {
    let text = if let Some(s) = payload.downcast_ref::<&str>() {
        (*s).to_string()
    } else if let Some(s) = payload.downcast_ref::<String>() {
        s.clone()
    } else {
        "a panic with a non-string payload".to_string()
    };
    // A payload whose Drop panics must not escape either.
    if catch_unwind(AssertUnwindSafe(move || drop(payload))).is_err() {
        return format!("{text} (and its payload panicked when dropped)");
    }
    text
}

/// A handler of `context` panicked: answer 500 and report the message to the request's trace.
/// Only raw IIS calls here, which do not unwind.
pub(crate) fn fail_request(context: *mut IHttpContext, handler: &str, message: &str) -> REQUEST_NOTIFICATION_STATUS {
    let report = format!("httpserv: {handler} panicked: {message}");
    // SAFETY: `context` is the live context of the failing notification, or null.
    if let Some(context) = unsafe { context.as_mut() } {
        // SAFETY: live context and its vtable.
        let vtbl = unsafe { &*context.lpVtbl };
        // SAFETY: live context; IIS returns its live response.
        let response = unsafe { (vtbl.GetResponse)(context) };
        // SAFETY: IIS returns the context's live response, or null.
        if let Some(response) = unsafe { response.as_mut() } {
            // SAFETY: live response; static NUL-terminated reason.
            unsafe {
                let rvtbl = &*response.lpVtbl;
                (rvtbl.Clear)(response);
                (rvtbl.SetStatus)(response, 500, c"Internal Server Error".as_ptr().cast(), 0, E_UNEXPECTED, core::ptr::null_mut(), 0);
            }
        }
        // SAFETY: live context; the trace context may be null.
        let trace = unsafe { (vtbl.GetTraceContext)(context) };
        trace_raw(trace, &report);
    }
    RQ_NOTIFICATION_FINISH_REQUEST
}

/// Reports `message` through a raw trace context (null is ignored).
pub(crate) fn trace_raw(trace: *mut IHttpTraceContext, message: &str) {
    // SAFETY: `trace` is a live trace context or null.
    if let Some(trace) = unsafe { trace.as_mut() } {
        let wide: Vec<u16> = message.encode_utf16().chain(Some(0)).collect();
        // SAFETY: live trace context; NUL-terminated string during the call; level 2 = error.
        unsafe { ((*trace.lpVtbl).QuickTrace)(trace, wide.as_ptr(), core::ptr::null(), E_UNEXPECTED, 2) };
    }
}

const E_UNEXPECTED: i32 = 0x8000_FFFF_u32 as i32;
