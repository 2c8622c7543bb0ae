//! `Request`: the request line, headers, addresses and entity body (`IHttpRequest`).

use std::net::SocketAddr;

use httpserv_sys::*;
use windows_sys::Win32::Networking::HttpServer::HTTP_REQUEST_V2;

use crate::error::{check, check_header_name, invalid, Result};
use crate::handle::handle;
use crate::strings::{bytes, c_bytes, with_c_str, WideStr};

handle! {
    /// `IHttpRequest`.
    RequestRaw => IHttpRequest, IHttpRequest_Vtbl
}

/// The request (`IHttpRequest`), borrowed for the duration of a notification.
#[derive(Clone, Copy, Debug)]
pub struct Request<'a> {
    raw: RequestRaw<'a>,
}

/// The names of the HTTP Server API's known request headers, indexed by `HTTP_HEADER_ID`.
pub const KNOWN_REQUEST_HEADERS: [&str; 41] = [
    "Cache-Control", "Connection", "Date", "Keep-Alive", "Pragma", "Trailer", "Transfer-Encoding", "Upgrade", "Via",
    "Warning", "Allow", "Content-Length", "Content-Type", "Content-Encoding", "Content-Language", "Content-Location",
    "Content-MD5", "Content-Range", "Expires", "Last-Modified", "Accept", "Accept-Charset", "Accept-Encoding",
    "Accept-Language", "Authorization", "Cookie", "Expect", "From", "Host", "If-Match", "If-Modified-Since",
    "If-None-Match", "If-Range", "If-Unmodified-Since", "Max-Forwards", "Proxy-Authorization", "Referer", "Range", "TE",
    "Translate", "User-Agent",
];

impl<'a> Request<'a> {
    /// # Safety
    /// `raw` is null or the live request of the live context `_context`, valid for `'a`.
    pub unsafe fn from_raw(raw: *mut IHttpRequest, _context: *mut IHttpContext) -> Option<Self> {
        // SAFETY: forwarded from the caller.
        unsafe { RequestRaw::from_raw(raw) }.map(|raw| Self { raw })
    }

    /// The raw `IHttpRequest`.
    #[inline]
    pub fn as_raw(&self) -> *mut IHttpRequest {
        self.raw.as_raw()
    }

    #[inline]
    fn vtbl(&self) -> &'a IHttpRequest_Vtbl {
        self.raw.vtbl()
    }

    /// The HTTP Server API's view of the request (`GetRawHttpRequest`).
    pub fn raw_request(&self) -> Option<&'a HTTP_REQUEST_V2> {
        // SAFETY: live request; the structure lives as long as the request.
        unsafe { (self.vtbl().GetRawHttpRequest)(self.as_raw()).as_ref() }
    }

    /// The HTTP method, e.g. `b"GET"`.
    pub fn method(&self) -> &'a [u8] {
        // SAFETY: live request; IIS returns a NUL-terminated string valid for the request.
        unsafe { c_bytes((self.vtbl().GetHttpMethod)(self.as_raw())) }.unwrap_or_default()
    }

    /// Rewrites the HTTP method.
    pub fn set_method(&self, method: &str) -> Result<()> {
        check_header_name(method).map_err(|_| invalid(&format!("HTTP method {method:?} is not a token")))?;
        // SAFETY: live request; the method is NUL-terminated for the duration of the call.
        check(with_c_str("HTTP method", method.as_bytes(), |m| unsafe { (self.vtbl().SetHttpMethod)(self.as_raw(), m) })?)
    }

    /// The absolute path of the (possibly rewritten) URL, without the query string.
    pub fn path(&self) -> Option<WideStr<'a>> {
        let url = &self.raw_request()?.Base.CookedUrl;
        // SAFETY: the HTTP Server API gives byte lengths of strings valid for the request.
        unsafe { WideStr::from_raw_parts(url.pAbsPath, url.AbsPathLength as usize / 2) }
    }

    /// The query string including its leading `?`, or `None`.
    pub fn query(&self) -> Option<WideStr<'a>> {
        let url = &self.raw_request()?.Base.CookedUrl;
        // SAFETY: as in `path`.
        unsafe { WideStr::from_raw_parts(url.pQueryString, url.QueryStringLength as usize / 2) }
    }

    /// The full URL (scheme, host, path and query).
    pub fn full_url(&self) -> Option<WideStr<'a>> {
        let url = &self.raw_request()?.Base.CookedUrl;
        // SAFETY: as in `path`.
        unsafe { WideStr::from_raw_parts(url.pFullUrl, url.FullUrlLength as usize / 2) }
    }

    /// The URL as the client sent it.
    pub fn raw_url(&self) -> Option<&'a [u8]> {
        let request = &self.raw_request()?.Base;
        // SAFETY: the HTTP Server API gives the length of a string valid for the request.
        unsafe { bytes(request.pRawUrl, request.RawUrlLength as usize) }
    }

    /// Rewrites the URL (`SetUrl`); `reset_query` drops the query string.
    pub fn set_url(&self, url: &str, reset_query: bool) -> Result<()> {
        crate::error::check_no_line_breaks("URL", url.as_bytes())?;
        // A length of 0 tells IIS to read up to a NUL, and an empty `&str` has no readable byte.
        if url.is_empty() {
            return Err(invalid("URL is empty"));
        }
        let len = u32::try_from(url.len()).map_err(|_| invalid("URL is too long"))?;
        // SAFETY: live request; the PCSTR overload reads `len` bytes of the NUL-terminated copy.
        check(with_c_str("URL", url.as_bytes(), |u| unsafe { (self.vtbl().SetUrl_2)(self.as_raw(), u, len, reset_query.into()) })?)
    }

    crate::headers::header_methods!("request", HttpHeaderRequestMaximum);

    /// Every request header as (name, value), known headers first.
    pub fn headers(&self) -> impl Iterator<Item = (&'a [u8], &'a [u8])> + 'a {
        let request = self.raw_request();
        let known = request.into_iter().flat_map(|r| {
            r.Base.Headers.KnownHeaders.iter().enumerate().filter_map(|(id, h)| {
                // SAFETY: the HTTP Server API keeps header values valid for the request.
                let value = unsafe { bytes(h.pRawValue, h.RawValueLength as usize) }?;
                Some((KNOWN_REQUEST_HEADERS[id].as_bytes(), value))
            })
        });
        let unknown = request.into_iter().flat_map(|r| {
            let headers = &r.Base.Headers;
            // SAFETY: `pUnknownHeaders` holds `UnknownHeaderCount` entries for the request.
            let list = unsafe { crate::strings::slice(headers.pUnknownHeaders, headers.UnknownHeaderCount as usize) };
            list.iter().filter_map(|h| {
                // SAFETY: as above for the name and value strings.
                unsafe { Some((bytes(h.pName, h.NameLength as usize)?, bytes(h.pRawValue, h.RawValueLength as usize)?)) }
            })
        });
        known.chain(unknown)
    }

    /// The client's address.
    pub fn remote_addr(&self) -> Option<SocketAddr> {
        // SAFETY: live request; IIS returns a SOCKADDR valid for the request or null.
        unsafe { crate::sockaddr::to_socket_addr((self.vtbl().GetRemoteAddress)(self.as_raw())) }
    }

    /// The server's address the request came in on.
    pub fn local_addr(&self) -> Option<SocketAddr> {
        // SAFETY: as in `remote_addr`.
        unsafe { crate::sockaddr::to_socket_addr((self.vtbl().GetLocalAddress)(self.as_raw())) }
    }

    /// The HTTP version as (major, minor).
    pub fn http_version(&self) -> (u16, u16) {
        let (mut major, mut minor) = (0u16, 0u16);
        // SAFETY: live request; two out pointers of ours.
        unsafe { (self.vtbl().GetHttpVersion)(self.as_raw(), &mut major, &mut minor) };
        (major, minor)
    }

    /// Reads entity-body bytes synchronously into `buffer`; `Ok(0)` at the end of the body.
    /// An empty `buffer` is refused (`E_INVALIDARG`): it could only ever read 0 bytes, which
    /// would look like the end of the body. A buffer over 4 GiB reads at most `u32::MAX` bytes.
    pub fn read_body(&self, buffer: &mut [u8]) -> Result<usize> {
        if buffer.is_empty() {
            return Err(invalid("read_body buffer is empty; Ok(0) would mean the end of the body"));
        }
        // Reading less than asked is what a read does, so a longer buffer is only partly offered.
        let len = u32::try_from(buffer.len()).unwrap_or(u32::MAX);
        let mut received = 0u32;
        let mut pending = 0;
        // SAFETY: live request; IIS writes at most `len` bytes into `buffer`.
        let hr = unsafe { (self.vtbl().ReadEntityBody)(self.as_raw(), buffer.as_mut_ptr().cast(), len, 0, &mut received, &mut pending) };
        if hr == ERROR_HANDLE_EOF_HRESULT {
            return Ok(0);
        }
        check(hr)?;
        Ok(received as usize)
    }

    /// Puts entity-body bytes back in front of what remains to be read (`InsertEntityBody`).
    /// IIS keeps the pointer, so the bytes are first copied into request memory.
    pub fn insert_body(&self, context: &crate::HttpContext<'a>, body: &[u8]) -> Result<()> {
        let len = u32::try_from(body.len()).map_err(|_| invalid("entity body larger than 4 GiB"))?;
        let copy = context.allocate_request_memory(body.len())?;
        copy.copy_from_slice(body);
        // SAFETY: live request; `copy` is request memory valid until the request ends.
        check(unsafe { (self.vtbl().InsertEntityBody)(self.as_raw(), copy.as_mut_ptr().cast(), len) })
    }

    /// Bytes of the entity body not read yet.
    pub fn remaining_body_bytes(&self) -> u32 {
        // SAFETY: live request.
        unsafe { (self.vtbl().GetRemainingEntityBytes)(self.as_raw()) }
    }
}

const ERROR_HANDLE_EOF_HRESULT: i32 = 0x8007_0026_u32 as i32;
