//! What a request handler may return: a [`NotificationStatus`], or a `Result` whose `Err` IIS
//! reports as the request's error (so `?` works inside handlers).
//!
//! `#[http_module]` accepts any return type implementing [`IntoNotificationStatus`] on a request
//! handler (sync or `async fn`). An `Err` becomes a 500 whose `hrErrorToReport` is the error's
//! `HRESULT` (`IHttpResponse::SetStatus`), the message goes to the request's trace, and the
//! notification returns `RQ_NOTIFICATION_FINISH_REQUEST` (see `bridge::outcome`).

use core::fmt;

use crate::{Error, NotificationStatus, HRESULT};

/// `E_FAIL`: the `HRESULT` reported for an error that carries none of its own.
pub const E_FAIL: HRESULT = HRESULT(0x8000_4005_u32 as i32);

/// The error of a request handler: an `HRESULT` for IIS and a message for the trace.
///
/// Like `anyhow::Error`, it converts from any `std::error::Error + Send + Sync + 'static` with
/// `?`: httpserv's own [`Error`] keeps its `HRESULT`, a `std::io::Error` carrying a Windows error
/// code becomes `HRESULT_FROM_WIN32` of it (on Windows), anything else is `E_FAIL` with the
/// error's `Display` (and its `source()` chain) as the message. For the same reason it does not
/// implement `std::error::Error` itself.
///
/// ```
/// use httpserv::prelude::*;
///
/// fn parse(context: &HttpContext<'_>) -> HandlerResult<u32> {
///     let bytes = context.request().header("X-Count").unwrap_or_default();
///     let text = std::str::from_utf8(bytes)?; // Utf8Error: E_FAIL, message traced
///     if text.is_empty() {
///         return Err(HandlerError::new(httpserv::E_INVALIDARG, "X-Count is missing"));
///     }
///     Ok(text.parse()?) // ParseIntError: E_FAIL
/// }
/// ```
pub struct HandlerError {
    hresult: HRESULT,
    message: String,
}

impl HandlerError {
    /// An error with this `HRESULT` and message.
    pub fn new(hresult: HRESULT, message: impl Into<String>) -> Self {
        Self { hresult, message: message.into() }
    }

    /// An `E_FAIL` error with this message.
    pub fn msg(message: impl Into<String>) -> Self {
        Self::new(E_FAIL, message)
    }

    /// The `HRESULT` IIS is told (`hrErrorToReport`).
    pub fn hresult(&self) -> HRESULT {
        self.hresult
    }

    /// The message written to the request's trace.
    pub fn message(&self) -> &str {
        &self.message
    }
}

impl<E: std::error::Error + Send + Sync + 'static> From<E> for HandlerError {
    fn from(error: E) -> Self {
        let any: &dyn core::any::Any = &error;
        if let Some(error) = any.downcast_ref::<Error>() {
            return Self::new(error.code(), windows_message(error));
        }
        // On Windows an OS error is a Win32 error code; elsewhere it is an errno, which no
        // HRESULT stands for.
        let win32 = any.downcast_ref::<std::io::Error>().and_then(std::io::Error::raw_os_error).filter(|_| cfg!(windows));
        let hresult = win32.map_or(E_FAIL, hresult_from_win32);
        let mut message = error.to_string();
        let mut source = error.source();
        while let Some(cause) = source {
            message.push_str(": ");
            message.push_str(&cause.to_string());
            source = cause.source();
        }
        Self::new(hresult, message)
    }
}

/// `HRESULT_FROM_WIN32` (<https://learn.microsoft.com/en-us/windows/win32/api/winerror/nf-winerror-hresult_from_win32>):
/// a Win32 error code in the `FACILITY_WIN32` (7) failure range; 0 and values that already are
/// `HRESULT`s (zero or negative) pass through.
fn hresult_from_win32(code: i32) -> HRESULT {
    if code <= 0 {
        HRESULT(code)
    } else {
        HRESULT(((code as u32 & 0xFFFF) | (7 << 16) | 0x8000_0000) as i32)
    }
}

/// The message of an httpserv error. `windows_result::Error` keeps its message only on Windows;
/// elsewhere an input httpserv refused (`E_INVALIDARG`) is explained by the refusal this thread
/// recorded last (normally the one `?` just propagated), taken so it explains no later error.
fn windows_message(error: &Error) -> String {
    let message = error.message();
    #[cfg(not(windows))]
    if error.code() == crate::E_INVALIDARG {
        let refusal = crate::error::take_last_refusal();
        if !refusal.is_empty() {
            return refusal;
        }
    }
    message
}

impl fmt::Display for HandlerError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if self.message.is_empty() {
            write!(f, "HRESULT {:#010x}", self.hresult.0 as u32)
        } else {
            write!(f, "{} (HRESULT {:#010x})", self.message, self.hresult.0 as u32)
        }
    }
}

impl fmt::Debug for HandlerError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("HandlerError").field("hresult", &format_args!("{:#010x}", self.hresult.0 as u32)).field("message", &self.message).finish()
    }
}

/// What a request handler returns: `Ok(status)` or the error IIS reports.
pub type HandlerResult<T = NotificationStatus> = core::result::Result<T, HandlerError>;

/// A request handler's return type: [`NotificationStatus`], or `Result<NotificationStatus, E>`
/// for any `E: Into<HandlerError>` ([`HandlerResult`], `httpserv::Result<NotificationStatus>`,
/// ...).
#[diagnostic::on_unimplemented(
    message = "a request handler returns `NotificationStatus` or `Result<NotificationStatus, E>` (E: Into<HandlerError>), not `{Self}`",
    label = "this return type",
    note = "write `-> HandlerResult` and end with `Ok(NotificationStatus::Continue)`; `?` then converts httpserv's errors and any `std::error::Error + Send + Sync`"
)]
pub trait IntoNotificationStatus {
    /// The status, or the error to report.
    fn into_notification_status(self) -> HandlerResult;
}

impl IntoNotificationStatus for NotificationStatus {
    #[inline]
    fn into_notification_status(self) -> HandlerResult {
        Ok(self)
    }
}

impl<E: Into<HandlerError>> IntoNotificationStatus for core::result::Result<NotificationStatus, E> {
    #[inline]
    fn into_notification_status(self) -> HandlerResult {
        self.map_err(Into::into)
    }
}
