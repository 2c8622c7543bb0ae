//! String and table helpers: C strings in and out, per-request storage, HRESULTs, header ids.

use std::any::Any;
use std::cell::{Cell, RefCell};
use std::ffi::{c_void, CStr};

use windows_sys::core::{HRESULT, PCSTR, PCWSTR};
use windows_sys::Win32::Networking::HttpServer::*;

use super::thunk::Pinned;

/// `E_NOTIMPL`.
pub(crate) const E_NOTIMPL: HRESULT = windows_sys::Win32::Foundation::E_NOTIMPL;
/// `E_INVALIDARG`.
pub(crate) const E_INVALIDARG: HRESULT = windows_sys::Win32::Foundation::E_INVALIDARG;
/// `E_NOINTERFACE`.
pub(crate) const E_NOINTERFACE: HRESULT = windows_sys::Win32::Foundation::E_NOINTERFACE;
/// `S_OK`.
pub(crate) const S_OK: HRESULT = windows_sys::Win32::Foundation::S_OK;

/// `HRESULT_FROM_WIN32(code)`.
pub(crate) const fn hresult_from_win32(code: u32) -> HRESULT {
    if code == 0 {
        0
    } else {
        ((code & 0xffff) | 0x8007_0000) as HRESULT
    }
}

/// `HRESULT_FROM_WIN32(ERROR_HANDLE_EOF)`: no entity body left.
pub(crate) const HR_HANDLE_EOF: HRESULT =
    hresult_from_win32(windows_sys::Win32::Foundation::ERROR_HANDLE_EOF);
/// `HRESULT_FROM_WIN32(ERROR_INSUFFICIENT_BUFFER)`.
pub(crate) const HR_INSUFFICIENT_BUFFER: HRESULT =
    hresult_from_win32(windows_sys::Win32::Foundation::ERROR_INSUFFICIENT_BUFFER);
/// `HRESULT_FROM_WIN32(ERROR_INVALID_INDEX)`: unknown server variable.
pub(crate) const HR_INVALID_INDEX: HRESULT =
    hresult_from_win32(windows_sys::Win32::Foundation::ERROR_INVALID_INDEX);
/// `HRESULT_FROM_WIN32(ERROR_INVALID_PARAMETER)`.
pub(crate) const HR_INVALID_PARAMETER: HRESULT =
    hresult_from_win32(windows_sys::Win32::Foundation::ERROR_INVALID_PARAMETER);
/// `HRESULT_FROM_WIN32(ERROR_ALREADY_ASSIGNED)`: a stored context is already set.
pub(crate) const HR_ALREADY_ASSIGNED: HRESULT =
    hresult_from_win32(windows_sys::Win32::Foundation::ERROR_ALREADY_ASSIGNED);
/// `HRESULT_FROM_WIN32(ERROR_NOT_FOUND)`.
pub(crate) const HR_NOT_FOUND: HRESULT =
    hresult_from_win32(windows_sys::Win32::Foundation::ERROR_NOT_FOUND);

/// An HRESULT by name: `S_OK`, `E_INVALIDARG`, `HRESULT_FROM_WIN32(ERROR_HANDLE_EOF)` for the
/// common ones, `0x8007000d`-style hex otherwise.
pub(crate) fn hr_str(hr: HRESULT) -> String {
    use windows_sys::Win32::Foundation as f;
    let name = match hr {
        f::S_OK => "S_OK",
        f::S_FALSE => "S_FALSE",
        f::E_NOTIMPL => "E_NOTIMPL",
        f::E_INVALIDARG => "E_INVALIDARG",
        f::E_NOINTERFACE => "E_NOINTERFACE",
        f::E_POINTER => "E_POINTER",
        f::E_FAIL => "E_FAIL",
        f::E_UNEXPECTED => "E_UNEXPECTED",
        f::E_OUTOFMEMORY => "E_OUTOFMEMORY",
        f::E_ACCESSDENIED => "E_ACCESSDENIED",
        f::E_ABORT => "E_ABORT",
        f::E_HANDLE => "E_HANDLE",
        _ => {
            const WIN32: [(u32, &str); 16] = [
                (f::ERROR_FILE_NOT_FOUND, "ERROR_FILE_NOT_FOUND"),
                (f::ERROR_PATH_NOT_FOUND, "ERROR_PATH_NOT_FOUND"),
                (f::ERROR_NOT_ENOUGH_MEMORY, "ERROR_NOT_ENOUGH_MEMORY"),
                (f::ERROR_INVALID_DATA, "ERROR_INVALID_DATA"),
                (f::ERROR_HANDLE_EOF, "ERROR_HANDLE_EOF"),
                (f::ERROR_NOT_SUPPORTED, "ERROR_NOT_SUPPORTED"),
                (f::ERROR_ALREADY_ASSIGNED, "ERROR_ALREADY_ASSIGNED"),
                (f::ERROR_INSUFFICIENT_BUFFER, "ERROR_INSUFFICIENT_BUFFER"),
                (f::ERROR_ALREADY_EXISTS, "ERROR_ALREADY_EXISTS"),
                (f::ERROR_NO_DATA, "ERROR_NO_DATA"),
                (f::ERROR_MORE_DATA, "ERROR_MORE_DATA"),
                (f::ERROR_OPERATION_ABORTED, "ERROR_OPERATION_ABORTED"),
                (f::ERROR_IO_PENDING, "ERROR_IO_PENDING"),
                (f::ERROR_NOT_FOUND, "ERROR_NOT_FOUND"),
                (f::ERROR_INVALID_INDEX, "ERROR_INVALID_INDEX"),
                (f::ERROR_CONNECTION_INVALID, "ERROR_CONNECTION_INVALID"),
            ];
            return match WIN32.iter().find(|(code, _)| hresult_from_win32(*code) == hr) {
                Some((_, name)) => format!("HRESULT_FROM_WIN32({name})"),
                None => format!("{:#010x}", hr as u32),
            };
        }
    };
    name.to_owned()
}

/// Reads a NUL-terminated ANSI string (lossy UTF-8); `None` for a null pointer.
///
/// # Safety
///
/// `p` must be null or point to a NUL-terminated string.
pub(crate) unsafe fn from_pcstr(p: PCSTR) -> Option<String> {
    if p.is_null() {
        return None;
    }
    // SAFETY: non-null and NUL-terminated per the contract.
    let bytes = unsafe { CStr::from_ptr(p.cast()) }.to_bytes();
    Some(String::from_utf8_lossy(bytes).into_owned())
}

/// Reads a NUL-terminated UTF-16 string (lossy); `None` for a null pointer.
///
/// # Safety
///
/// `p` must be null or point to a NUL-terminated UTF-16 string.
pub(crate) unsafe fn from_pcwstr(p: PCWSTR) -> Option<String> {
    if p.is_null() {
        return None;
    }
    let mut len = 0;
    // SAFETY: the string is NUL-terminated, so every unit up to the NUL is readable.
    while unsafe { *p.add(len) } != 0 {
        len += 1;
    }
    // SAFETY: the `len` units before the NUL were just read.
    let units = unsafe { std::slice::from_raw_parts(p, len) };
    Some(String::from_utf16_lossy(units))
}

/// Reads `len` bytes at `p` (lossy UTF-8); empty for a null pointer or zero length.
///
/// # Safety
///
/// `p` must be null or valid for reading `len` bytes.
pub(crate) unsafe fn from_pcstr_len(p: PCSTR, len: usize) -> String {
    if p.is_null() || len == 0 {
        return String::new();
    }
    // SAFETY: valid for `len` bytes per the contract.
    let bytes = unsafe { std::slice::from_raw_parts(p, len) };
    String::from_utf8_lossy(bytes).into_owned()
}

/// Reads `len` UTF-16 units at `p` (lossy); empty for a null pointer or zero length.
///
/// # Safety
///
/// `p` must be null or valid for reading `len` units.
pub(crate) unsafe fn from_pcwstr_len(p: PCWSTR, len: usize) -> String {
    if p.is_null() || len == 0 {
        return String::new();
    }
    // SAFETY: valid for `len` units per the contract.
    let units = unsafe { std::slice::from_raw_parts(p, len) };
    String::from_utf16_lossy(units)
}

/// `s` as NUL-terminated UTF-16.
pub(crate) fn wide(s: &str) -> Vec<u16> {
    s.encode_utf16().chain(std::iter::once(0)).collect()
}

/// Writes `value` through `out` if `out` is not null.
///
/// # Safety
///
/// `out` must be null or valid for writing a `T`.
pub(crate) unsafe fn put<T>(out: *mut T, value: T) {
    if !out.is_null() {
        // SAFETY: non-null and writable per the contract.
        unsafe { out.write(value) }
    }
}

/// Which object's later mutations may release a string handed out: the request's (`SetHeader`,
/// `DeleteHeader`, `SetUrl`, `SetHttpMethod`, `SetServerVariable`, `SetScriptName`) or the
/// response's (`SetHeader`, `DeleteHeader`, `SetStatus`, `Redirect`, `Clear`, `ClearHeaders`),
/// or the map-path provider's physical path (`IMapPathProvider::SetPhysicalPath`).
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
pub(crate) enum Side {
    Request,
    Response,
    MapPath,
}

/// The byte the simulator writes over a released string (`0xDD`, as the MSVC debug heap does),
/// so a module that still reads it sees garbage instead of the old value.
pub(crate) const RELEASED: u8 = 0xDD;

/// A handed-out string that a mutation of `side` releases.
struct Volatile {
    side: Side,
    ptr: *mut u8,
    bytes: usize,
}

/// Storage that keeps what is handed to a module (strings, structures, memory) alive and at a
/// fixed address until the owner (a request, or the server) ends.
///
/// Strings IIS documents no lifetime for (header values, the status reason, server variables,
/// URL and path getters, the raw request's strings) are also registered as volatile: the next
/// mutation of their side overwrites them with [`RELEASED`] (see [`Keep::release`]). The
/// memory itself stays allocated, so the simulator never frees what a module may still point
/// at, but a module that kept the old pointer reads `0xDD` bytes, as it would read released
/// memory in IIS.
#[derive(Default)]
pub(crate) struct Keep {
    items: RefCell<Vec<Box<dyn Any>>>,
    volatile: RefCell<Vec<Volatile>>,
}

impl Keep {
    /// Keeps `value` alive and returns its address.
    pub(crate) fn keep<T: ?Sized + 'static>(&self, value: Box<T>) -> *mut T {
        let pinned = Pinned::new(value);
        let ptr = pinned.as_ptr();
        self.items.borrow_mut().push(Box::new(pinned));
        ptr
    }

    /// A NUL-terminated copy of `bytes`, valid as long as this storage.
    pub(crate) fn cstr(&self, bytes: &[u8]) -> PCSTR {
        let mut buf = Vec::with_capacity(bytes.len() + 1);
        buf.extend_from_slice(bytes);
        buf.push(0);
        self.keep(buf.into_boxed_slice()) as *mut u8 as PCSTR
    }

    /// A NUL-terminated UTF-16 copy of `s` and its length in characters (without the NUL).
    pub(crate) fn wstr(&self, s: &str) -> (PCWSTR, u32) {
        let buf = wide(s);
        let len = len32("a UTF-16 string", buf.len() - 1);
        (self.keep(buf.into_boxed_slice()) as *mut u16 as PCWSTR, len)
    }

    /// [`cstr`](Self::cstr), released by the next mutation of `side`.
    pub(crate) fn volatile_cstr(&self, side: Side, bytes: &[u8]) -> PCSTR {
        let p = self.cstr(bytes);
        self.mark_volatile(side, p as *mut u8, bytes.len() + 1);
        p
    }

    /// [`wstr`](Self::wstr), released by the next mutation of `side`.
    pub(crate) fn volatile_wstr(&self, side: Side, s: &str) -> (PCWSTR, u32) {
        let (p, n) = self.wstr(s);
        self.mark_volatile(side, p as *mut u8, (n as usize + 1) * 2);
        (p, n)
    }

    /// Registers `bytes` bytes at `ptr` (memory this storage keeps) as released by the next
    /// mutation of `side`.
    pub(crate) fn mark_volatile(&self, side: Side, ptr: *mut u8, bytes: usize) {
        if !ptr.is_null() && bytes > 0 {
            self.volatile.borrow_mut().push(Volatile { side, ptr, bytes });
        }
    }

    /// A mutation of `side`: overwrites every string of `side` handed out so far with
    /// [`RELEASED`] and forgets it.
    pub(crate) fn release(&self, side: Side) {
        self.volatile.borrow_mut().retain(|v| {
            if v.side != side {
                return true;
            }
            // SAFETY: `ptr` points to `bytes` bytes of a buffer this storage still owns (items
            // are never removed before the storage is dropped). This is the release the test
            // shows: a module that still reads the old string sees the poison.
            unsafe { v.ptr.write_bytes(RELEASED, v.bytes) };
            false
        });
    }
}

/// `len` as the `u16` length of a header value, reason or URL an IIS interface takes or
/// returns. The simulator panics (and `TestServer::send` re-raises the panic) rather than cut
/// the length: a longer value cannot exist in IIS, so the test is wrong, not the module.
#[track_caller]
pub(crate) fn len16(what: &str, len: usize) -> u16 {
    u16::try_from(len).unwrap_or_else(|_| panic!("{}", too_long(what, len)))
}

/// The message of a length over a `USHORT` (see [`len16`]).
pub(crate) fn too_long(what: &str, len: usize) -> String {
    format!("httpserv-testing: {what} is {len} bytes; IIS and HTTP.sys carry at most 65,535 (a USHORT length)")
}

/// `len` as a `u32` length ([`len16`] for 32-bit lengths).
#[track_caller]
pub(crate) fn len32(what: &str, len: usize) -> u32 {
    u32::try_from(len).unwrap_or_else(|_| panic!("httpserv-testing: {what} is {len} units; IIS takes at most 4 Gi (a DWORD length)"))
}

/// The value of a `SetHeader` call: `len` bytes at `p`. A zero length still needs a readable
/// NUL-terminated string (IIS treats the value as a C string), so a null or dangling pointer
/// (the address of an empty Rust slice) is an error the module made.
///
/// # Safety
///
/// `p` must be null, dangling with `len` 0, or valid for reading `len` bytes (and a NUL when
/// `len` is 0).
pub(crate) unsafe fn header_value(p: PCSTR, len: u16) -> Result<String, &'static str> {
    if len > 0 {
        // SAFETY: per the contract.
        return Ok(unsafe { from_pcstr_len(p, len as usize) });
    }
    // No allocation lives in the first page: such an address is a dangling pointer.
    if (p as usize) < 4096 {
        return Err("empty value is not a pointer to a NUL-terminated string");
    }
    // SAFETY: a real pointer to an empty value points to its NUL, per the contract.
    if unsafe { *p } != 0 {
        return Err("empty value (length 0) does not point to a NUL");
    }
    Ok(String::new())
}

/// One 16-byte, 16-aligned unit of [`Arena`] memory.
#[derive(Clone, Copy)]
#[repr(C, align(16))]
struct Block([u8; 16]);

/// Request memory (`AllocateRequestMemory`, `IModuleAllocator`): zeroed, 16-byte aligned (or,
/// for [`crate::TestRequest::odd_request_memory`], one byte past that), freed when the request
/// ends.
#[derive(Default)]
pub(crate) struct Arena {
    keep: Keep,
    bytes: Cell<usize>,
    odd: bool,
}

impl Arena {
    /// An arena whose blocks start one byte past a 16-byte boundary when `odd`.
    pub(crate) fn new(odd: bool) -> Self {
        Self { odd, ..Self::default() }
    }

    /// `cb` bytes of zeroed memory, 16-byte aligned (a zero-byte request gets a distinct block);
    /// 16-byte aligned plus one when the arena is odd.
    pub(crate) fn allocate(&self, cb: u32) -> *mut c_void {
        let extra = usize::from(self.odd);
        let blocks = (cb as usize + extra).div_ceil(16).max(1);
        self.bytes.set(self.bytes.get() + cb as usize);
        let start = self.keep.keep(vec![Block([0; 16]); blocks].into_boxed_slice()) as *mut Block as *mut u8;
        // `extra` is 0 or 1 and the block holds `cb + extra` bytes.
        start.wrapping_add(extra) as *mut c_void
    }

    /// The bytes requested so far.
    pub(crate) fn bytes(&self) -> usize {
        self.bytes.get()
    }
}

/// Request header names by `HTTP_HEADER_ID` (`HttpHeaderCacheControl` = 0 ...
/// `HttpHeaderUserAgent` = 40).
pub(crate) const REQUEST_HEADERS: [(HTTP_HEADER_ID, &str); 41] = [
    (HttpHeaderCacheControl, "Cache-Control"),
    (HttpHeaderConnection, "Connection"),
    (HttpHeaderDate, "Date"),
    (HttpHeaderKeepAlive, "Keep-Alive"),
    (HttpHeaderPragma, "Pragma"),
    (HttpHeaderTrailer, "Trailer"),
    (HttpHeaderTransferEncoding, "Transfer-Encoding"),
    (HttpHeaderUpgrade, "Upgrade"),
    (HttpHeaderVia, "Via"),
    (HttpHeaderWarning, "Warning"),
    (HttpHeaderAllow, "Allow"),
    (HttpHeaderContentLength, "Content-Length"),
    (HttpHeaderContentType, "Content-Type"),
    (HttpHeaderContentEncoding, "Content-Encoding"),
    (HttpHeaderContentLanguage, "Content-Language"),
    (HttpHeaderContentLocation, "Content-Location"),
    (HttpHeaderContentMd5, "Content-MD5"),
    (HttpHeaderContentRange, "Content-Range"),
    (HttpHeaderExpires, "Expires"),
    (HttpHeaderLastModified, "Last-Modified"),
    (HttpHeaderAccept, "Accept"),
    (HttpHeaderAcceptCharset, "Accept-Charset"),
    (HttpHeaderAcceptEncoding, "Accept-Encoding"),
    (HttpHeaderAcceptLanguage, "Accept-Language"),
    (HttpHeaderAuthorization, "Authorization"),
    (HttpHeaderCookie, "Cookie"),
    (HttpHeaderExpect, "Expect"),
    (HttpHeaderFrom, "From"),
    (HttpHeaderHost, "Host"),
    (HttpHeaderIfMatch, "If-Match"),
    (HttpHeaderIfModifiedSince, "If-Modified-Since"),
    (HttpHeaderIfNoneMatch, "If-None-Match"),
    (HttpHeaderIfRange, "If-Range"),
    (HttpHeaderIfUnmodifiedSince, "If-Unmodified-Since"),
    (HttpHeaderMaxForwards, "Max-Forwards"),
    (HttpHeaderProxyAuthorization, "Proxy-Authorization"),
    (HttpHeaderReferer, "Referer"),
    (HttpHeaderRange, "Range"),
    (HttpHeaderTe, "TE"),
    (HttpHeaderTranslate, "Translate"),
    (HttpHeaderUserAgent, "User-Agent"),
];

/// Response header names by `HTTP_HEADER_ID`: 0..20 as for requests, then
/// `HttpHeaderAcceptRanges` = 20 ... `HttpHeaderWwwAuthenticate` = 29.
pub(crate) const RESPONSE_HEADERS: [(HTTP_HEADER_ID, &str); 30] = {
    let mut table = [(0, ""); 30];
    let mut i = 0;
    while i < 20 {
        table[i] = REQUEST_HEADERS[i];
        i += 1;
    }
    table[20] = (HttpHeaderAcceptRanges, "Accept-Ranges");
    table[21] = (HttpHeaderAge, "Age");
    table[22] = (HttpHeaderEtag, "ETag");
    table[23] = (HttpHeaderLocation, "Location");
    table[24] = (HttpHeaderProxyAuthenticate, "Proxy-Authenticate");
    table[25] = (HttpHeaderRetryAfter, "Retry-After");
    table[26] = (HttpHeaderServer, "Server");
    table[27] = (HttpHeaderSetCookie, "Set-Cookie");
    table[28] = (HttpHeaderVary, "Vary");
    table[29] = (HttpHeaderWwwAuthenticate, "WWW-Authenticate");
    table
};

/// The name of a known header in `table`, or `None` for an id out of range.
pub(crate) fn header_name(
    table: &[(HTTP_HEADER_ID, &'static str)],
    id: HTTP_HEADER_ID,
) -> Option<&'static str> {
    usize::try_from(id)
        .ok()
        .and_then(|i| table.get(i))
        .map(|&(_, name)| name)
}

/// The id of a known header in `table`.
pub(crate) fn header_id(table: &[(HTTP_HEADER_ID, &str)], name: &str) -> Option<HTTP_HEADER_ID> {
    table
        .iter()
        .find(|(_, n)| n.eq_ignore_ascii_case(name))
        .map(|&(id, _)| id)
}

/// `s` as a NUL-terminated byte string.
pub(crate) fn nul_terminated(s: &str) -> Vec<u8> {
    let mut v = s.as_bytes().to_vec();
    v.push(0);
    v
}

/// One header of a raw `HTTP_REQUEST`/`HTTP_RESPONSE` snapshot: `Some(id)` for a known header
/// (name empty), `None` for an unknown one; name and value NUL-terminated.
pub(crate) type RawHeaderEntry = (Option<usize>, Vec<u8>, Vec<u8>);

/// An ordered, case-insensitive header list.
#[derive(Clone, Debug, Default)]
pub(crate) struct Headers(pub(crate) Vec<(String, String)>);

impl Headers {
    /// The entries of a raw snapshot: known headers of `table` combined per id (`"a, b"`, as
    /// HTTP.sys does), unknown ones as they are.
    pub(crate) fn raw_entries(&self, table: &[(HTTP_HEADER_ID, &str)]) -> Vec<RawHeaderEntry> {
        let mut known: Vec<Option<String>> = vec![None; table.len()];
        let mut entries = Vec::new();
        for (name, value) in &self.0 {
            match header_id(table, name) {
                Some(id) => {
                    let slot = &mut known[id as usize];
                    *slot = Some(match slot.take() {
                        Some(old) => format!("{old}, {value}"),
                        None => value.clone(),
                    });
                }
                None => entries.push((None, nul_terminated(name), nul_terminated(value))),
            }
        }
        for (id, value) in known.into_iter().enumerate() {
            if let Some(value) = value {
                entries.push((Some(id), Vec::new(), nul_terminated(&value)));
            }
        }
        entries
    }

    /// All values of `name` joined with `", "`, or `None`.
    pub(crate) fn get(&self, name: &str) -> Option<String> {
        let values: Vec<&str> = self
            .0
            .iter()
            .filter(|(n, _)| n.eq_ignore_ascii_case(name))
            .map(|(_, v)| v.as_str())
            .collect();
        (!values.is_empty()).then(|| values.join(", "))
    }

    /// Replaces every `name` entry with one `value` (kept at the first one's position).
    pub(crate) fn replace(&mut self, name: &str, value: String) {
        match self
            .0
            .iter()
            .position(|(n, _)| n.eq_ignore_ascii_case(name))
        {
            Some(first) => {
                self.0[first].1 = value;
                let mut i = 0;
                self.0.retain(|(n, _)| {
                    let keep = i <= first || !n.eq_ignore_ascii_case(name);
                    i += 1;
                    keep
                });
            }
            None => self.0.push((name.to_owned(), value)),
        }
    }

    /// Appends `value` to the existing `name` entry as `"old, value"` (request headers).
    pub(crate) fn combine(&mut self, name: &str, value: String) {
        match self
            .0
            .iter_mut()
            .find(|(n, _)| n.eq_ignore_ascii_case(name))
        {
            Some((_, v)) if !v.is_empty() => {
                v.push_str(", ");
                v.push_str(&value);
            }
            Some((_, v)) => *v = value,
            None => self.0.push((name.to_owned(), value)),
        }
    }

    /// Adds another `name` entry (response headers: a second header line).
    pub(crate) fn add(&mut self, name: &str, value: String) {
        self.0.push((name.to_owned(), value));
    }

    /// Removes every `name` entry; whether there was one.
    pub(crate) fn delete(&mut self, name: &str) -> bool {
        let before = self.0.len();
        self.0.retain(|(n, _)| !n.eq_ignore_ascii_case(name));
        self.0.len() != before
    }
}

/// The standard reason phrase of an HTTP status code (IIS's spelling where it differs).
pub(crate) fn reason_phrase(status: u16) -> &'static str {
    match status {
        100 => "Continue",
        101 => "Switching Protocols",
        200 => "OK",
        201 => "Created",
        202 => "Accepted",
        203 => "Non-Authoritative Information",
        204 => "No Content",
        205 => "Reset Content",
        206 => "Partial Content",
        300 => "Multiple Choices",
        301 => "Moved Permanently",
        302 => "Redirect",
        303 => "See Other",
        304 => "Not Modified",
        307 => "Temporary Redirect",
        308 => "Permanent Redirect",
        400 => "Bad Request",
        401 => "Unauthorized",
        403 => "Forbidden",
        404 => "Not Found",
        405 => "Method Not Allowed",
        406 => "Not Acceptable",
        408 => "Request Timeout",
        409 => "Conflict",
        410 => "Gone",
        411 => "Length Required",
        412 => "Precondition Failed",
        413 => "Request Entity Too Large",
        414 => "Request-URI Too Long",
        415 => "Unsupported Media Type",
        416 => "Requested Range Not Satisfiable",
        429 => "Too Many Requests",
        500 => "Internal Server Error",
        501 => "Not Implemented",
        502 => "Bad Gateway",
        503 => "Service Unavailable",
        504 => "Gateway Timeout",
        505 => "HTTP Version Not Supported",
        _ => "",
    }
}

/// `"RQ_BEGIN_REQUEST | RQ_SEND_RESPONSE"` for a request-notification mask (`"0"` if empty).
pub(crate) fn request_mask_names(mask: u32) -> String {
    use httpserv_sys::*;
    const NAMES: [(u32, &str); 17] = [
        (RQ_BEGIN_REQUEST, "RQ_BEGIN_REQUEST"),
        (RQ_AUTHENTICATE_REQUEST, "RQ_AUTHENTICATE_REQUEST"),
        (RQ_AUTHORIZE_REQUEST, "RQ_AUTHORIZE_REQUEST"),
        (RQ_RESOLVE_REQUEST_CACHE, "RQ_RESOLVE_REQUEST_CACHE"),
        (RQ_MAP_REQUEST_HANDLER, "RQ_MAP_REQUEST_HANDLER"),
        (RQ_ACQUIRE_REQUEST_STATE, "RQ_ACQUIRE_REQUEST_STATE"),
        (
            RQ_PRE_EXECUTE_REQUEST_HANDLER,
            "RQ_PRE_EXECUTE_REQUEST_HANDLER",
        ),
        (RQ_EXECUTE_REQUEST_HANDLER, "RQ_EXECUTE_REQUEST_HANDLER"),
        (RQ_RELEASE_REQUEST_STATE, "RQ_RELEASE_REQUEST_STATE"),
        (RQ_UPDATE_REQUEST_CACHE, "RQ_UPDATE_REQUEST_CACHE"),
        (RQ_LOG_REQUEST, "RQ_LOG_REQUEST"),
        (RQ_END_REQUEST, "RQ_END_REQUEST"),
        (
            RQ_SEND_RESPONSE_STATUS_AND_HEADERS,
            "RQ_SEND_RESPONSE_STATUS_AND_HEADERS",
        ),
        (RQ_CUSTOM_NOTIFICATION, "RQ_CUSTOM_NOTIFICATION"),
        (RQ_SEND_RESPONSE, "RQ_SEND_RESPONSE"),
        (RQ_READ_ENTITY, "RQ_READ_ENTITY"),
        (RQ_MAP_PATH, "RQ_MAP_PATH"),
    ];
    mask_names(mask, &NAMES)
}

/// `"GL_APPLICATION_START | GL_STOP_LISTENING"` for a global-notification mask.
pub(crate) fn global_mask_names(mask: u32) -> String {
    use httpserv_sys::*;
    const NAMES: [(u32, &str); 16] = [
        (GL_STOP_LISTENING, "GL_STOP_LISTENING"),
        (GL_CACHE_CLEANUP, "GL_CACHE_CLEANUP"),
        (GL_CACHE_OPERATION, "GL_CACHE_OPERATION"),
        (GL_HEALTH_CHECK, "GL_HEALTH_CHECK"),
        (GL_CONFIGURATION_CHANGE, "GL_CONFIGURATION_CHANGE"),
        (GL_FILE_CHANGE, "GL_FILE_CHANGE"),
        (GL_PRE_BEGIN_REQUEST, "GL_PRE_BEGIN_REQUEST"),
        (GL_APPLICATION_START, "GL_APPLICATION_START"),
        (
            GL_APPLICATION_RESOLVE_MODULES,
            "GL_APPLICATION_RESOLVE_MODULES",
        ),
        (GL_APPLICATION_STOP, "GL_APPLICATION_STOP"),
        (GL_RSCA_QUERY, "GL_RSCA_QUERY"),
        (GL_TRACE_EVENT, "GL_TRACE_EVENT"),
        (GL_CUSTOM_NOTIFICATION, "GL_CUSTOM_NOTIFICATION"),
        (GL_THREAD_CLEANUP, "GL_THREAD_CLEANUP"),
        (GL_APPLICATION_PRELOAD, "GL_APPLICATION_PRELOAD"),
        (GL_SUSPEND_PROCESS, "GL_SUSPEND_PROCESS"),
    ];
    mask_names(mask, &NAMES)
}

fn mask_names(mask: u32, names: &[(u32, &str)]) -> String {
    if mask == 0 {
        return "0".to_owned();
    }
    let mut parts: Vec<String> = names
        .iter()
        .filter(|(bit, _)| mask & bit != 0)
        .map(|(_, n)| (*n).to_owned())
        .collect();
    let known = names.iter().fold(0, |acc, (bit, _)| acc | bit);
    if mask & !known != 0 {
        parts.push(format!("{:#x}", mask & !known));
    }
    parts.join(" | ")
}

/// `"RQ_NOTIFICATION_CONTINUE"` etc.
pub(crate) fn status_name(status: httpserv_sys::REQUEST_NOTIFICATION_STATUS) -> String {
    match status {
        httpserv_sys::RQ_NOTIFICATION_CONTINUE => "RQ_NOTIFICATION_CONTINUE".to_owned(),
        httpserv_sys::RQ_NOTIFICATION_PENDING => "RQ_NOTIFICATION_PENDING".to_owned(),
        httpserv_sys::RQ_NOTIFICATION_FINISH_REQUEST => "RQ_NOTIFICATION_FINISH_REQUEST".to_owned(),
        other => format!("REQUEST_NOTIFICATION_STATUS({other})"),
    }
}

/// `"GL_NOTIFICATION_CONTINUE"` etc.
pub(crate) fn global_status_name(status: httpserv_sys::GLOBAL_NOTIFICATION_STATUS) -> String {
    match status {
        httpserv_sys::GL_NOTIFICATION_CONTINUE => "GL_NOTIFICATION_CONTINUE".to_owned(),
        httpserv_sys::GL_NOTIFICATION_HANDLED => "GL_NOTIFICATION_HANDLED".to_owned(),
        other => format!("GLOBAL_NOTIFICATION_STATUS({other})"),
    }
}

/// Splits `"/path?query"` into `("/path", "query")`.
pub(crate) fn split_query(url: &str) -> (&str, &str) {
    match url.split_once('?') {
        Some((path, query)) => (path, query),
        None => (url, ""),
    }
}

/// Answers a `Get*Changes` call (`GetHeaderChanges`, `GetServerVarChanges`) as "no snapshot
/// support": every out-pointer zeroed or nulled. The caller records the call and returns
/// `E_NOTIMPL`.
///
/// # Safety
/// Each pointer is null or writable.
pub(crate) unsafe fn put_no_changes<V>(new: *mut u32, count: *mut u32, names: *mut *mut windows_sys::core::PCSTR, values: *mut *mut V, diffed: *mut u32, indices: *mut *mut u32) {
    // SAFETY: the caller's contract, for each pointer.
    unsafe {
        put(new, 0);
        put(count, 0);
        put(names, std::ptr::null_mut());
        put(values, std::ptr::null_mut());
        put(diffed, 0);
        put(indices, std::ptr::null_mut());
    }
}
