//! `IHttpResponse4`: HTTP/2 response trailers, `RST_STREAM` and `GOAWAY` ([`Response4`]).
//!
//! IIS hands out `IHttpResponse`; the newer interface is asked for through
//! `IHttpServer2::GetExtendedInterface`, as the SDK's `HttpGetExtendedInterface` does
//! ([`HttpContext::response4`]). Microsoft documents what the interface is for under "Advanced
//! HTTP/2 features to support gRPC"
//! (<https://learn.microsoft.com/en-us/aspnet/core/host-and-deploy/iis/protocols>): response
//! trailers and reset frames, from Windows 11 build 22000 / Windows Server 2022 build 20348, and
//! "for IIS and HTTP.sys, only HTTP/2 response trailers are supported" ([`Response4::supports_trailers`]).
//! The slots (`DeleteTrailer` 31, `GetTrailer` 32, `ResetStream` 33, `SetNeedGoAway` 34,
//! `SetTrailer` 35) are checked against clang's MSVC layout by `httpserv-sys/tests/layout.rs`.

use core::marker::PhantomData;
use core::ptr::NonNull;

use httpserv_sys::{IHttpResponse, IHttpResponse4, IHttpResponse4_Vtbl};

use crate::error::{check, check_header_name, check_header_value, invalid, Result};
use crate::strings::with_c_str;
use crate::HttpContext;

/// The response's `IHttpResponse4`, borrowed for the notification like [`crate::Response`]
/// (neither `Send` nor `Sync`, as every handle).
#[derive(Clone, Copy, Debug)]
pub struct Response4<'a> {
    raw: NonNull<IHttpResponse4>,
    /// The request's HTTP version, for [`Response4::supports_trailers`].
    version: (u16, u16),
    _borrow: PhantomData<&'a IHttpResponse4>,
}

impl<'a> HttpContext<'a> {
    /// The response's `IHttpResponse4` (trailers, stream reset, GOAWAY), through
    /// `IHttpServer2::GetExtendedInterface`. An error when IIS has no such interface (before
    /// Windows Server 2022), or outside a module's notification (no server to ask).
    pub fn response4(&self) -> Result<Response4<'a>> {
        let server = self.server().ok_or_else(|| invalid("no IHttpServer outside a module's notification"))?;
        let response = self.response();
        // SAFETY: `response` is this live context's IHttpResponse, live for 'a.
        let raw = unsafe { server.extended_interface::<IHttpResponse, IHttpResponse4>(response.as_raw()) }?;
        let raw = NonNull::new(raw).ok_or_else(|| invalid("IIS returned no IHttpResponse4"))?;
        Ok(Response4 { raw, version: self.request().http_version(), _borrow: PhantomData })
    }
}

impl<'a> Response4<'a> {
    /// The raw `IHttpResponse4`.
    pub fn as_raw(&self) -> *mut IHttpResponse4 {
        self.raw.as_ptr()
    }

    fn vtbl(&self) -> &'a IHttpResponse4_Vtbl {
        // SAFETY: the object is live for 'a; its first field is the vtable.
        unsafe { &*(*self.raw.as_ptr()).lpVtbl }
    }

    /// Whether trailers can reach the client: the request came over HTTP/2 or later (IIS and
    /// HTTP.sys send trailers on HTTP/2 only, see the module docs; ANCM checks the same).
    pub fn supports_trailers(&self) -> bool {
        self.version.0 >= 2
    }

    /// Sets a trailer (`SetTrailer`, `fReplace = TRUE`), sent after the body. Name and value are
    /// checked as a header's (a token; a field-value of at most `u16::MAX` bytes).
    pub fn set_trailer(&self, name: &str, value: &str) -> Result<()> {
        self.put_trailer(name, value, true)
    }

    /// Adds a trailer line, keeping those already set (`SetTrailer`, `fReplace = FALSE`).
    pub fn append_trailer(&self, name: &str, value: &str) -> Result<()> {
        self.put_trailer(name, value, false)
    }

    fn put_trailer(&self, name: &str, value: &str, replace: bool) -> Result<()> {
        check_header_name(name)?;
        let len = check_header_value(value.as_bytes())?;
        // An empty `&str` points nowhere readable; IIS gets a real, NUL-terminated "".
        let value = if value.is_empty() { c"".as_ptr().cast::<u8>() } else { value.as_ptr() };
        // SAFETY: live object; the name is NUL-terminated during the call and the value read
        // for `len` bytes (or, empty, a static NUL).
        check(with_c_str("trailer name", name.as_bytes(), |n| unsafe { (self.vtbl().SetTrailer)(self.as_raw(), n, value, len, replace.into()) })?)
    }

    /// Removes a trailer (`DeleteTrailer`).
    pub fn delete_trailer(&self, name: &str) -> Result<()> {
        check_header_name(name)?;
        // SAFETY: live object; the name is NUL-terminated during the call.
        check(with_c_str("trailer name", name.as_bytes(), |n| unsafe { (self.vtbl().DeleteTrailer)(self.as_raw(), n) })?)
    }

    /// A trailer set so far (`GetTrailer`), copied into an owned `Vec`: IIS's string may be
    /// released by the next `set_trailer`.
    pub fn trailer(&self, name: &str) -> Option<Vec<u8>> {
        check_header_name(name).ok()?;
        let mut len = 0u16;
        // SAFETY: live object; the name is NUL-terminated during the call, `len` is ours.
        let value = with_c_str("trailer name", name.as_bytes(), |n| unsafe { (self.vtbl().GetTrailer)(self.as_raw(), n, &mut len) }).ok()?;
        // SAFETY: IIS returned `len` bytes at `value` (or null), readable until the next call
        // into IIS; they are copied at once.
        unsafe { crate::strings::bytes(value.cast(), len as usize) }.map(<[u8]>::to_vec)
    }

    /// Resets the HTTP/2 stream with `error_code` (`ResetStream`, an `RST_STREAM` frame; e.g.
    /// 2 for `INTERNAL_ERROR`, RFC 9113 section 7): the request is aborted.
    pub fn reset_stream(&self, error_code: u32) {
        // SAFETY: live object.
        unsafe { (self.vtbl().ResetStream)(self.as_raw(), error_code) }
    }

    /// Asks IIS to send `GOAWAY` on the HTTP/2 connection after this response
    /// (`SetNeedGoAway`): the client opens a new connection for later requests.
    pub fn set_need_go_away(&self) {
        // SAFETY: live object.
        unsafe { (self.vtbl().SetNeedGoAway)(self.as_raw()) }
    }
}
