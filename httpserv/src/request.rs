//! `Request`: the request line, headers, addresses and entity body (`IHttpRequest`).

use std::net::SocketAddr;

use httpserv_sys::*;
use windows_sys::Win32::Networking::HttpServer::HTTP_REQUEST_V2;

use crate::error::{check, check_header_name, invalid, Result};
use crate::handle::handle;
use crate::strings::{c_bytes, copy_to_request, with_c_str, WideStr};

handle! {
    /// `IHttpRequest`.
    RequestRaw => IHttpRequest, IHttpRequest_Vtbl
}

/// The request (`IHttpRequest`), borrowed for the duration of a notification. Its getters
/// copy what IIS may later release into request memory (see the `strings` module docs).
#[derive(Clone, Copy, Debug)]
pub struct Request<'a> {
    raw: RequestRaw<'a>,
    /// The context the request belongs to, for `AllocateRequestMemory`.
    context: core::ptr::NonNull<IHttpContext>,
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
    /// `None` if `raw` or `context` is null.
    ///
    /// # Safety
    /// `raw` is null or the live request of the live context `context`, both valid for `'a`.
    pub unsafe fn from_raw(raw: *mut IHttpRequest, context: *mut IHttpContext) -> Option<Self> {
        let context = core::ptr::NonNull::new(context)?;
        // SAFETY: forwarded from the caller.
        unsafe { RequestRaw::from_raw(raw) }.map(|raw| Self { raw, context })
    }

    /// A copy in request memory of `len` UTF-16 units at `ptr` (`None` for null).
    ///
    /// # Safety
    /// `ptr` is null or points to `len` units readable until this call returns.
    unsafe fn copy_wide(&self, ptr: *const u16, len: usize) -> Option<WideStr<'a>> {
        // SAFETY: readable now per the caller; only read during the copy below.
        let original = unsafe { WideStr::from_raw_parts(ptr, len) }?;
        // SAFETY: `self.context` is the live context of this request, valid for 'a.
        unsafe { copy_to_request(self.context.as_ptr(), original.as_slice()) }.map(WideStr::new)
    }

    /// The raw `IHttpRequest`.
    #[inline]
    pub fn as_raw(&self) -> *mut IHttpRequest {
        self.raw.as_raw()
    }

    #[inline]
    pub(crate) fn vtbl_raw(&self) -> &'a IHttpRequest_Vtbl {
        self.vtbl()
    }

    #[inline]
    fn vtbl(&self) -> &'a IHttpRequest_Vtbl {
        self.raw.vtbl()
    }

    /// The HTTP Server API's view of the request (`GetRawHttpRequest`). The structure lives as
    /// long as the request, but the strings it points to are IIS's own and may be released by
    /// `set_header` or `set_url`: the getters below copy them.
    pub fn raw_request(&self) -> Option<&'a HTTP_REQUEST_V2> {
        // SAFETY: live request; the structure lives as long as the request.
        unsafe { (self.vtbl().GetRawHttpRequest)(self.as_raw()).as_ref() }
    }

    /// The HTTP method, e.g. `b"GET"` (copied: `set_method` may release IIS's string).
    pub fn method(&self) -> &'a [u8] {
        // SAFETY: live request; IIS returns a NUL-terminated string, readable now.
        let method = unsafe { c_bytes((self.vtbl().GetHttpMethod)(self.as_raw())) };
        // SAFETY: as above.
        method.and_then(|m| unsafe { self.copy_bytes(m.as_ptr(), m.len()) }).unwrap_or_default()
    }

    /// Rewrites the HTTP method.
    pub fn set_method(&self, method: &str) -> Result<()> {
        check_header_name(method).map_err(|_| invalid(&format!("HTTP method {method:?} is not a token")))?;
        // SAFETY: live request; the method is NUL-terminated for the duration of the call.
        check(with_c_str("HTTP method", method.as_bytes(), |m| unsafe { (self.vtbl().SetHttpMethod)(self.as_raw(), m) })?)
    }

    /// The absolute path of the (possibly rewritten) URL, without the query string (copied:
    /// `set_url` may release IIS's string).
    pub fn path(&self) -> Option<WideStr<'a>> {
        let url = &self.raw_request()?.Base.CookedUrl;
        // SAFETY: the HTTP Server API gives byte lengths of strings readable now.
        unsafe { self.copy_wide(url.pAbsPath, url.AbsPathLength as usize / 2) }
    }

    /// [`path`](Self::path) as UTF-8, converted into request memory; `None` when there is no
    /// path or it is not valid UTF-16 (an unpaired surrogate).
    pub fn path_str(&self) -> Option<&'a str> {
        let path = String::from_utf16(self.path()?.as_slice()).ok()?;
        if path.is_empty() {
            return Some("");
        }
        // SAFETY: `self.context` is the live context of this request, valid for 'a.
        let copy = unsafe { copy_to_request(self.context.as_ptr(), path.as_bytes()) }?;
        core::str::from_utf8(copy).ok()
    }

    /// The query string including its leading `?`, or `None` (copied, as [`path`](Self::path)).
    pub fn query(&self) -> Option<WideStr<'a>> {
        let url = &self.raw_request()?.Base.CookedUrl;
        // SAFETY: as in `path`.
        unsafe { self.copy_wide(url.pQueryString, url.QueryStringLength as usize / 2) }
    }

    /// The full URL (scheme, host, path and query; copied, as [`path`](Self::path)).
    pub fn full_url(&self) -> Option<WideStr<'a>> {
        let url = &self.raw_request()?.Base.CookedUrl;
        // SAFETY: as in `path`.
        unsafe { self.copy_wide(url.pFullUrl, url.FullUrlLength as usize / 2) }
    }

    /// The URL as the client sent it (copied, as [`path`](Self::path)).
    pub fn raw_url(&self) -> Option<&'a [u8]> {
        let request = &self.raw_request()?.Base;
        // SAFETY: the HTTP Server API gives the length of a string readable now.
        unsafe { self.copy_bytes(request.pRawUrl, request.RawUrlLength as usize) }
    }

    /// Rewrites the URL (`SetUrl` with `fResetQueryString = TRUE`): the request's query string
    /// is replaced by `url`'s (none if it has none).
    pub fn set_url(&self, url: &str) -> Result<()> {
        self.rewrite_url(url, true)
    }

    /// Rewrites the URL's path and keeps the request's query string (`SetUrl` with
    /// `fResetQueryString = FALSE`).
    pub fn set_url_keeping_query(&self, url: &str) -> Result<()> {
        self.rewrite_url(url, false)
    }

    fn rewrite_url(&self, url: &str, reset_query: bool) -> Result<()> {
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

    /// Every request header as (name, value), known headers first. The list is read and
    /// copied into request memory when this is called, so a `set_header` while iterating
    /// neither changes nor invalidates it.
    pub fn headers(&self) -> impl Iterator<Item = (&'a [u8], &'a [u8])> + 'a {
        type Entry<'a> = (&'a [u8], &'a [u8]);
        let Some(request) = self.raw_request() else {
            return [].iter().copied();
        };
        let headers = &request.Base.Headers;
        // SAFETY: `pUnknownHeaders` holds `UnknownHeaderCount` entries, readable now.
        let unknown = unsafe { crate::strings::slice(headers.pUnknownHeaders, headers.UnknownHeaderCount as usize) };
        let known = headers.KnownHeaders.iter().enumerate().filter(|(_, h)| !h.pRawValue.is_null());
        let count = known.clone().count() + unknown.len();
        // SAFETY: `self.context` is the live context of this request, valid for 'a.
        let Some(list) = (unsafe { crate::strings::request_memory::<Entry<'a>>(self.context.as_ptr(), count) }) else {
            return [].iter().copied();
        };
        let mut filled = 0;
        let copied = known
            .map(|(id, h)| {
                // SAFETY: the value's `RawValueLength` bytes are readable now.
                let value = unsafe { self.copy_bytes(h.pRawValue, h.RawValueLength as usize) };
                value.map(|v| (KNOWN_REQUEST_HEADERS[id].as_bytes(), v))
            })
            .chain(unknown.iter().map(|h| {
                // SAFETY: as above for the name and value strings.
                unsafe { Some((self.copy_bytes(h.pName, h.NameLength as usize)?, self.copy_bytes(h.pRawValue, h.RawValueLength as usize)?)) }
            }));
        for entry in copied.flatten().take(count) {
            // SAFETY: `list` has room for `count` aligned entries and `filled < count`.
            unsafe { list.add(filled).write(entry) };
            filled += 1;
        }
        // SAFETY: the first `filled` entries were just written; request memory lives for 'a.
        let list: &'a [Entry<'a>] = unsafe { core::slice::from_raw_parts(list, filled) };
        list.iter().copied()
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

// ---------------------------------------------------------------------------------------------
// Added for issue 12 (the missing methods): appended, so parallel changes above merge cleanly.

impl Request<'_> {
    /// Sets a known request header by its HTTP Server API id (`HttpHeaderAcceptLanguage`, ...;
    /// `IHttpRequest::SetHeader(HTTP_HEADER_ID, ...)`), replacing the value or, with
    /// `replace == false`, appending it after a comma. The id must be below
    /// `HttpHeaderRequestMaximum`; the value is a header field value of at most 65,535 bytes
    /// (<https://learn.microsoft.com/en-us/iis/web-development-reference/native-code-api-reference/ihttprequest-setheader-method>).
    pub fn set_known_header(&self, id: windows_sys::Win32::Networking::HttpServer::HTTP_HEADER_ID, value: &str, replace: bool) -> Result<()> {
        check_known_request_header(id)?;
        let len = crate::error::check_header_value(value.as_bytes())?;
        // An empty `&str` points nowhere readable; IIS gets a real, NUL-terminated "".
        let value = if value.is_empty() { c"".as_ptr().cast::<u8>() } else { value.as_ptr() };
        // SAFETY: live request; `id` is a request header id; IIS reads `len` bytes of `value`
        // (or, empty, a static NUL) and copies them.
        check(unsafe { (self.vtbl().SetHeader_2)(self.as_raw(), id, value, len, replace.into()) })
    }

    /// Removes a known request header by id (`IHttpRequest::DeleteHeader(HTTP_HEADER_ID)`)
    /// (<https://learn.microsoft.com/en-us/iis/web-development-reference/native-code-api-reference/ihttprequest-deleteheader-method>).
    pub fn delete_known_header(&self, id: windows_sys::Win32::Networking::HttpServer::HTTP_HEADER_ID) -> Result<()> {
        check_known_request_header(id)?;
        // SAFETY: live request; `id` is a request header id.
        check(unsafe { (self.vtbl().DeleteHeader_2)(self.as_raw(), id) })
    }
}

fn check_known_request_header(id: windows_sys::Win32::Networking::HttpServer::HTTP_HEADER_ID) -> Result<()> {
    use windows_sys::Win32::Networking::HttpServer::HttpHeaderRequestMaximum;
    if (0..HttpHeaderRequestMaximum).contains(&id) {
        Ok(())
    } else {
        Err(invalid(&format!("{id} is not a known request header id (0..{HttpHeaderRequestMaximum})")))
    }
}
