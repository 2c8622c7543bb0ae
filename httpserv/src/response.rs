//! `Response`: status, headers and body (`IHttpResponse`).

use httpserv_sys::*;
use windows_sys::Win32::Networking::HttpServer::HTTP_DATA_CHUNK;

use crate::error::{check, check_field_value, check_status, Result};
use crate::handle::handle;
use crate::strings::with_c_str;

handle! {
    /// `IHttpResponse`.
    ResponseRaw => IHttpResponse, IHttpResponse_Vtbl
}

/// The response (`IHttpResponse`), borrowed for the duration of a notification. Its getters
/// copy what IIS may later release into request memory (see the `strings` module docs).
#[derive(Clone, Copy, Debug)]
pub struct Response<'a> {
    raw: ResponseRaw<'a>,
    /// The context the response belongs to, for `AllocateRequestMemory`.
    context: core::ptr::NonNull<IHttpContext>,
}

/// A status to set with [`Response::set_status_with`].
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Status<'s> {
    /// 100..=999.
    pub code: u16,
    /// The reason phrase: field-value bytes (no control character but HTAB, no DEL).
    pub reason: &'s str,
    /// IIS's substatus (the `.3` of 404.3).
    pub substatus: u16,
    /// Asks IIS not to replace the body with a custom error page.
    pub try_skip_custom_errors: bool,
}

/// The status as IIS has it now ([`Response::status`]).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct CurrentStatus<'a> {
    /// The status code, e.g. 404 (`IHttpResponse::GetStatus`'s `pStatusCode`).
    pub code: u16,
    /// IIS's substatus, e.g. the `.3` of 404.3 (`pSubStatus`).
    pub substatus: u16,
    /// The reason phrase (`ppszReason`, `pcchReason` bytes), copied into request memory: IIS
    /// keeps it in a "server-owned buffer" that `set_status` or `clear` may release.
    pub reason: &'a [u8],
}

impl<'a> Response<'a> {
    /// `None` if `raw` or `context` is null.
    ///
    /// # Safety
    /// `raw` is null or the live response of the live context `context`, both valid for `'a`.
    pub unsafe fn from_raw(raw: *mut IHttpResponse, context: *mut IHttpContext) -> Option<Self> {
        let context = core::ptr::NonNull::new(context)?;
        // SAFETY: forwarded from the caller.
        unsafe { ResponseRaw::from_raw(raw) }.map(|raw| Self { raw, context })
    }

    /// The raw `IHttpResponse`.
    #[inline]
    pub fn as_raw(&self) -> *mut IHttpResponse {
        self.raw.as_raw()
    }

    #[inline]
    pub(crate) fn vtbl_raw(&self) -> &'a IHttpResponse_Vtbl {
        self.vtbl()
    }

    #[inline]
    fn vtbl(&self) -> &'a IHttpResponse_Vtbl {
        self.raw.vtbl()
    }

    /// Sets the status code and reason phrase.
    pub fn set_status(&self, code: u16, reason: &str) -> Result<()> {
        self.set_status_with(Status { code, reason, substatus: 0, try_skip_custom_errors: false })
    }

    /// Sets the status with IIS's substatus and custom-error choice.
    pub fn set_status_with(&self, status: Status<'_>) -> Result<()> {
        check_status(status.code)?;
        check_field_value("reason phrase", status.reason.as_bytes())?;
        // SAFETY: live response; the reason is NUL-terminated during the call.
        check(with_c_str("reason phrase", status.reason.as_bytes(), |reason| unsafe {
            (self.vtbl().SetStatus)(self.as_raw(), status.code, reason, status.substatus, 0, core::ptr::null_mut(), status.try_skip_custom_errors.into())
        })?)
    }

    /// The status as IIS has it now.
    pub fn status(&self) -> CurrentStatus<'a> {
        let (mut code, mut substatus, mut reason, mut reason_len) = (0u16, 0u16, core::ptr::null(), 0u16);
        use core::ptr::null_mut as null;
        // SAFETY: live response; every out pointer is ours or null (all optional but the code).
        unsafe { (self.vtbl().GetStatus)(self.as_raw(), &mut code, &mut substatus, &mut reason, &mut reason_len, null(), null(), null(), null(), null()) };
        // SAFETY: IIS returned `reason_len` bytes, readable until the next call into IIS.
        let reason = unsafe { self.copy_bytes(reason, reason_len as usize) }.unwrap_or_default();
        CurrentStatus { code, substatus, reason }
    }

    crate::headers::header_methods!("response", HttpHeaderResponseMaximum);

    /// Removes every response header.
    pub fn clear_headers(&self) {
        // SAFETY: live response.
        unsafe { (self.vtbl().ClearHeaders)(self.as_raw()) }
    }

    /// Clears the buffered body and headers.
    pub fn clear(&self) {
        // SAFETY: live response.
        unsafe { (self.vtbl().Clear)(self.as_raw()) }
    }

    /// Appends `body` to the response entity (`WriteEntityChunks`, synchronous; IIS copies
    /// memory chunks, so `body` need not outlive the call). A body over 4 GiB goes as several
    /// chunks of one call (see `io::memory_chunks`).
    pub fn write(&self, body: &[u8]) -> Result<()> {
        self.write_split(body, crate::io::MAX_CHUNK_LEN)
    }

    /// [`write`](Self::write) with chunks of at most `max_len` bytes (a test hook lowers it).
    pub(crate) fn write_split(&self, body: &[u8], max_len: usize) -> Result<()> {
        let mut one;
        let mut many = Vec::new();
        let chunks: &mut [HTTP_DATA_CHUNK] = if body.len() <= max_len {
            // At most MAX_CHUNK_LEN = u32::MAX bytes.
            one = [crate::io::memory_chunk(body.as_ptr(), body.len() as u32)];
            &mut one
        } else {
            crate::io::memory_chunks(body, max_len, &mut many)?;
            &mut many
        };
        let (mut sent, mut pending) = (0u32, 0);
        // SAFETY: live response; memory chunks over `body`, which IIS only reads during the
        // call; the count fits (at most MAX_CHUNKS).
        check(unsafe { (self.vtbl().WriteEntityChunks)(self.as_raw(), chunks.as_mut_ptr(), chunks.len() as u32, 0, 1, &mut sent, &mut pending) })
    }

    /// Sends what is buffered so far (synchronously).
    pub fn flush(&self) -> Result<()> {
        let (mut sent, mut pending) = (0u32, 0);
        // SAFETY: live response; out pointers are ours.
        check(unsafe { (self.vtbl().Flush)(self.as_raw(), 0, 1, &mut sent, &mut pending) })
    }

    /// Redirects the client to `url` (302 unless `reset_status` is false).
    pub fn redirect(&self, url: &str, reset_status: bool, include_parameters: bool) -> Result<()> {
        check_field_value("redirect URL", url.as_bytes())?;
        // SAFETY: live response; URL NUL-terminated during the call.
        check(with_c_str("redirect URL", url.as_bytes(), |u| unsafe {
            (self.vtbl().Redirect)(self.as_raw(), u, reset_status.into(), include_parameters.into())
        })?)
    }

    /// Sends the body as it is written instead of buffering it.
    pub fn disable_buffering(&self) {
        // SAFETY: live response.
        unsafe { (self.vtbl().DisableBuffering)(self.as_raw()) }
    }

    /// Keeps this response out of the kernel (HTTP.sys) cache.
    pub fn disable_kernel_cache(&self) {
        // SAFETY: live response; 9 is the reason code the SDK uses by default.
        unsafe { (self.vtbl().DisableKernelCache)(self.as_raw(), 9) }
    }

    /// Closes the connection after the response is sent.
    pub fn set_need_disconnect(&self) {
        // SAFETY: live response.
        unsafe { (self.vtbl().SetNeedDisconnect)(self.as_raw()) }
    }

    /// Resets the connection at once.
    pub fn reset_connection(&self) {
        // SAFETY: live response.
        unsafe { (self.vtbl().ResetConnection)(self.as_raw()) }
    }

    /// Closes the connection (`CloseConnection`).
    pub fn close_connection(&self) {
        // SAFETY: live response.
        unsafe { (self.vtbl().CloseConnection)(self.as_raw()) }
    }
}
