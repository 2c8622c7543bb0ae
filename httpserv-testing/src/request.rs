//! `IHttpRequest4`: method, URL, headers (by name and by `HTTP_HEADER_ID`), addresses, the
//! entity body (`ReadEntityBody` fires `RQ_READ_ENTITY`), and a real `HTTP_REQUEST_V2`.
//!
//! Header values, the URL and the method handed out are released (overwritten, see
//! [`Keep::release`]) by the next `SetHeader`, `DeleteHeader`, `SetUrl`, `SetHttpMethod` or
//! `SetServerVariable`, as IIS documents no lifetime for them. A `TestRequest` whose method,
//! header or URL is longer than HTTP.sys's `USHORT` lengths allow (65,535 bytes; 32,767 UTF-16
//! units for the full URL) makes `TestServer::send` panic with a message naming it before any
//! module sees the request (see [`too_long_part`]): such a request cannot reach IIS, and the
//! simulator never cuts it. A module's `SetUrl` or `SetHeader` that would make one is refused
//! with `E_INVALIDARG`.

use std::ffi::c_void;

use httpserv_sys::*;
use windows_sys::core::{BOOL, HRESULT, PCSTR, PCWSTR};
use windows_sys::Win32::Networking::HttpServer::*;
use windows_sys::Win32::Networking::WinSock::SOCKADDR;

use super::pipeline::{req, RequestCtx};
use super::strings::*;
use super::thunk::thunks;
use super::Notification;

/// An `HTTP_REQUEST_V2` and the storage its pointers point into.
struct RawRequest {
    raw: HTTP_REQUEST_V2,
    full_url: Vec<u16>,
    raw_url: Vec<u8>,
    verb: Vec<u8>,
    /// `(known header index or None, name, value)`, NUL-terminated.
    headers: Vec<RawHeaderEntry>,
    unknown: Vec<HTTP_UNKNOWN_HEADER>,
}

/// The `HTTP_VERB` of a method (`HttpVerbUnknown` for others).
fn verb(method: &str) -> HTTP_VERB {
    match method {
        "OPTIONS" => HttpVerbOPTIONS,
        "GET" => HttpVerbGET,
        "HEAD" => HttpVerbHEAD,
        "POST" => HttpVerbPOST,
        "PUT" => HttpVerbPUT,
        "DELETE" => HttpVerbDELETE,
        "TRACE" => HttpVerbTRACE,
        "CONNECT" => HttpVerbCONNECT,
        "TRACK" => HttpVerbTRACK,
        "MOVE" => HttpVerbMOVE,
        "COPY" => HttpVerbCOPY,
        "PROPFIND" => HttpVerbPROPFIND,
        "PROPPATCH" => HttpVerbPROPPATCH,
        "MKCOL" => HttpVerbMKCOL,
        "LOCK" => HttpVerbLOCK,
        "UNLOCK" => HttpVerbUNLOCK,
        "SEARCH" => HttpVerbSEARCH,
        _ => HttpVerbUnknown,
    }
}

/// The host of the cooked URL: the `Host` header (`localhost` without one), with `port` added
/// when it names none.
fn cooked_host(host_header: Option<String>, port: u16) -> String {
    let mut host = host_header.unwrap_or_else(|| "localhost".to_owned());
    let has_port = match host.rfind(']') {
        Some(end) => host[end..].contains(':'),
        None => host.contains(':'),
    };
    if !has_port {
        host.push_str(&format!(":{port}"));
    }
    host
}

/// The first part of a request with this method, URL (path and query), headers and local
/// port whose length does not fit the `USHORT` HTTP.sys stores it in (`HTTP_REQUEST`,
/// `HTTP_COOKED_URL`, `HTTP_KNOWN_HEADER`, `HTTP_UNKNOWN_HEADER`:
/// https://learn.microsoft.com/en-us/windows/win32/api/http/ns-http-http_request_v1), as
/// (what, length); `None` if every part fits. Such a request cannot reach IIS. The cooked URL's
/// lengths count bytes of UTF-16, so the full URL has room for 32,767 units; the log entry's
/// URI stem is the path, which the full URL contains, so it fits whenever the full URL does.
pub(crate) fn too_long_part(method: &str, url: &str, headers: &Headers, port: u16) -> Option<(&'static str, usize)> {
    let fits = |len: usize| len <= usize::from(u16::MAX);
    if verb(method) == HttpVerbUnknown && !fits(method.len()) {
        return Some(("the request method", method.len()));
    }
    if !fits(url.len()) {
        return Some(("the request URL", url.len()));
    }
    let host = cooked_host(headers.get("Host"), port);
    let full = ("http://".len() + host.encode_utf16().count() + url.encode_utf16().count()) * 2;
    if !fits(full) {
        return Some(("the full request URL (in UTF-16)", full));
    }
    let entries = headers.raw_entries(&REQUEST_HEADERS);
    for (id, name, value) in &entries {
        // Known headers have no name of their own (their id names them).
        if id.is_none() && !fits(name.len() - 1) {
            return Some(("a request header name", name.len() - 1));
        }
        if !fits(value.len() - 1) {
            return Some(("a request header value", value.len() - 1));
        }
    }
    let unknown = entries.iter().filter(|(id, _, _)| id.is_none()).count();
    if !fits(unknown) {
        return Some(("the number of request headers", unknown));
    }
    None
}

impl RequestCtx {
    /// A snapshot of the request as an `HTTP_REQUEST_V2`, valid until the request ends.
    fn raw_request(&self) -> *mut HTTP_REQUEST_V2 {
        let url = self.current_url();
        let st = self.st.borrow();
        let host = cooked_host(st.headers.get("Host"), self.local_addr.port());
        let (path, query) = split_query(&url);
        let full = format!("http://{host}{url}");

        let headers = st.headers.raw_entries(&REQUEST_HEADERS);
        let method_verb = verb(&st.method);
        let raw = Box::new(RawRequest {
            raw: HTTP_REQUEST_V2::default(),
            full_url: wide(&full),
            raw_url: nul_terminated(&url),
            verb: if method_verb == HttpVerbUnknown {
                nul_terminated(&st.method)
            } else {
                Vec::new()
            },
            headers,
            unknown: Vec::new(),
        });
        let remaining = st.entity.len();
        let version = st.version;
        let total = st.entity_total;
        drop(st);

        let raw = self.keep.keep(raw);
        // SAFETY: `raw` was just placed in the request's storage and nothing else refers to it
        // yet; its buffers are not resized after the pointers below are taken.
        let r = unsafe { &mut *raw };
        let unknown: Vec<HTTP_UNKNOWN_HEADER> = r
            .headers
            .iter()
            .filter(|(id, _, _)| id.is_none())
            .map(|(_, name, value)| HTTP_UNKNOWN_HEADER {
                NameLength: len16("a TestRequest header name", name.len() - 1),
                RawValueLength: len16("a TestRequest header value", value.len() - 1),
                pName: name.as_ptr(),
                pRawValue: value.as_ptr(),
            })
            .collect();
        r.unknown = unknown;
        let base = &mut r.raw.Base;
        base.Flags = if remaining > 0 {
            HTTP_REQUEST_FLAG_MORE_ENTITY_BODY_EXISTS
        } else {
            0
        };
        base.ConnectionId = self.id;
        base.RequestId = self.id;
        base.RawConnectionId = self.id;
        base.Version = HTTP_VERSION {
            MajorVersion: version.0,
            MinorVersion: version.1,
        };
        base.Verb = method_verb;
        if !r.verb.is_empty() {
            base.UnknownVerbLength = len16("the TestRequest method", r.verb.len() - 1);
            base.pUnknownVerb = r.verb.as_ptr();
        }
        base.RawUrlLength = len16("the TestRequest URL", r.raw_url.len() - 1);
        base.pRawUrl = r.raw_url.as_ptr();
        let full_ptr = r.full_url.as_ptr();
        let scheme = "http://".len();
        let host_len = host.encode_utf16().count();
        let path_len = path.encode_utf16().count();
        let query_len = if query.is_empty() {
            0
        } else {
            1 + query.encode_utf16().count()
        };
        base.CookedUrl = HTTP_COOKED_URL {
            FullUrlLength: len16("the TestRequest full URL (in UTF-16)", (r.full_url.len() - 1) * 2),
            HostLength: len16("the TestRequest host (in UTF-16)", host_len * 2),
            AbsPathLength: len16("the TestRequest path (in UTF-16)", path_len * 2),
            QueryStringLength: len16("the TestRequest query (in UTF-16)", query_len * 2),
            pFullUrl: full_ptr,
            // SAFETY: the offsets are within `full_url` ("http://" + host + path + "?query").
            pHost: unsafe { full_ptr.add(scheme) },
            // SAFETY: as above.
            pAbsPath: unsafe { full_ptr.add(scheme + host_len) },
            pQueryString: if query_len == 0 {
                std::ptr::null()
            } else {
                // SAFETY: as above.
                unsafe { full_ptr.add(scheme + host_len + path_len) }
            },
        };
        base.Address.pRemoteAddress = self.remote.as_ptr();
        base.Address.pLocalAddress = self.local.as_ptr();
        for (id, _, value) in &r.headers {
            if let Some(id) = id {
                base.Headers.KnownHeaders[*id] = HTTP_KNOWN_HEADER {
                    RawValueLength: len16("a TestRequest header value", value.len() - 1),
                    pRawValue: value.as_ptr(),
                };
            }
        }
        base.Headers.UnknownHeaderCount = len16("the number of TestRequest headers", r.unknown.len());
        base.Headers.pUnknownHeaders = if r.unknown.is_empty() {
            std::ptr::null_mut()
        } else {
            r.unknown.as_mut_ptr()
        };
        base.BytesReceived = total as u64;
        // The strings of the snapshot (not the structure: IIS keeps its HTTP_REQUEST) are
        // released by the next change to the request.
        self.keep.mark_volatile(Side::Request, r.full_url.as_mut_ptr().cast(), r.full_url.len() * 2);
        self.keep.mark_volatile(Side::Request, r.raw_url.as_mut_ptr(), r.raw_url.len());
        self.keep.mark_volatile(Side::Request, r.verb.as_mut_ptr(), r.verb.len());
        for (_, name, value) in &mut r.headers {
            self.keep.mark_volatile(Side::Request, name.as_mut_ptr(), name.len());
            self.keep.mark_volatile(Side::Request, value.as_mut_ptr(), value.len());
        }
        &mut r.raw
    }

    /// `ReadEntityBody` (all overloads): copies remaining body bytes and fires `RQ_READ_ENTITY`.
    ///
    /// # Safety
    ///
    /// `buffer` must be null or valid for writing `size` bytes; the out-pointers must be null or
    /// writable.
    unsafe fn read_entity(
        &self,
        method: &'static str,
        buffer: *mut c_void,
        size: u32,
        asynchronous: BOOL,
        received: *mut u32,
        pending: *mut BOOL,
    ) -> HRESULT {
        // SAFETY: per the contract.
        unsafe {
            put(pending, 0);
            put(received, 0);
        }
        if buffer.is_null() && size > 0 {
            self.record(method, format!("NULL buffer, {size} bytes -> E_INVALIDARG"));
            return E_INVALIDARG;
        }
        if self.st.borrow().client_gone {
            self.record(method, "the client disconnected -> HRESULT_FROM_WIN32(ERROR_CONNECTION_ABORTED)".to_owned());
            return crate::strings::hresult_from_win32(1236);
        }
        let (bytes, eof, delay) = {
            let mut st = self.st.borrow_mut();
            let piece = st.pieces.map_or(usize::MAX, |(size, _)| size);
            let n = (size as usize).min(st.entity.len()).min(piece);
            let eof = st.entity.is_empty();
            (st.entity.drain(..n).collect::<Vec<u8>>(), eof, st.pieces.map(|(_, delay)| delay))
        };
        let index = self.record(method, format!("{size} byte buffer{}", if asynchronous != 0 { ", async" } else { "" }));
        if eof {
            self.patch_call(
                index,
                format!("{size} byte buffer -> 0 bytes, ERROR_HANDLE_EOF"),
            );
            return HR_HANDLE_EOF;
        }
        // SAFETY: `buffer` holds `size` >= `bytes.len()` writable bytes.
        unsafe { std::ptr::copy_nonoverlapping(bytes.as_ptr(), buffer as *mut u8, bytes.len()) };
        let mut count = bytes.len() as u32; // at most `size`, a u32
        if self.wants(Notification::ReadEntity, false) {
            self.st.borrow_mut().read_entity = (buffer, count, size);
            self.notify(
                Notification::ReadEntity,
                false,
                self.read_entity_provider.as_ptr(),
            );
            let (p, data, _) = self.st.borrow().read_entity;
            count = data.min(size);
            if p != buffer && !p.is_null() {
                // SAFETY: `SetEntity` gave a buffer with `data` readable bytes; `buffer` holds
                // `size` >= `count` writable bytes.
                unsafe { std::ptr::copy(p as *const u8, buffer as *mut u8, count as usize) };
            }
        }
        let remaining = self.st.borrow().entity.len();
        if asynchronous != 0 {
            // The bytes are in the buffer already; the module learns it in OnAsyncCompletion,
            // after its notification returned RQ_NOTIFICATION_PENDING (at once, or `delay`
            // later from another thread for a slow body). IIS: "pfCompletionPending ... TRUE if
            // an asynchronous completion is pending", IHttpRequest::ReadEntityBody,
            // https://learn.microsoft.com/en-us/iis/web-development-reference/native-code-api-reference/ihttprequest-readentitybody-method
            // SAFETY: per the contract.
            unsafe { put(pending, 1) };
            self.patch_call(index, format!("{size} byte buffer, async -> pending ({count} bytes, {remaining} remaining)"));
            self.complete_later(crate::pipeline::Completion::Io { op: method, bytes: count, hr: S_OK }, delay);
            return S_OK;
        }
        // SAFETY: per the contract.
        unsafe { put(received, count) };
        self.patch_call(
            index,
            format!("{size} byte buffer -> {count} bytes, {remaining} remaining"),
        );
        S_OK
    }

    fn header_by_id(&self, id: HTTP_HEADER_ID) -> Option<&'static str> {
        header_name(&REQUEST_HEADERS, id)
    }

    /// `SetUrl`: a new path, and a new query if the URL has one (else kept or reset).
    fn set_url(&self, method: &'static str, url: String, reset_query: bool) -> HRESULT {
        if url.is_empty() {
            self.record(method, "\"\" -> E_INVALIDARG".to_owned());
            return E_INVALIDARG;
        }
        {
            let mut st = self.st.borrow_mut();
            let (path, query) = match url.split_once('?') {
                Some((p, q)) => (p.to_owned(), Some(q.to_owned())),
                None => (url.clone(), None),
            };
            let path = if path.starts_with('/') {
                path
            } else {
                format!("/{path}")
            };
            let query = match query {
                Some(q) => q,
                None if reset_query => String::new(),
                None => st.query.clone(),
            };
            // A URL HTTP.sys could not carry (see `too_long_part`): refused, not cut.
            let new_url = if query.is_empty() { path.clone() } else { format!("{path}?{query}") };
            if let Some((what, len)) = too_long_part(&st.method, &new_url, &st.headers, self.local_addr.port()) {
                drop(st);
                self.record(method, format!("{} bytes -> E_INVALIDARG ({what} would be {len} bytes, over a USHORT)", url.len()));
                return E_INVALIDARG;
            }
            st.path = path;
            st.query = query;
            st.url_changed = true;
        }
        self.keep.release(Side::Request);
        let now = self.current_url();
        self.record(
            method,
            format!(
                "{url:?}{} -> {now:?}",
                if reset_query { ", reset query" } else { "" }
            ),
        );
        S_OK
    }

    /// `SetHeader` by name: replaces, or appends `", value"` to the existing value.
    fn set_request_header(
        &self,
        method: &'static str,
        name: &str,
        value: String,
        replace: bool,
    ) -> HRESULT {
        {
            let mut st = self.st.borrow_mut();
            let before = st.headers.clone();
            if replace {
                st.headers.replace(name, value.clone());
            } else {
                st.headers.combine(name, value.clone());
            }
            // A header (or, for Host, a full URL) HTTP.sys could not carry: refused, not cut.
            let url = if st.query.is_empty() { st.path.clone() } else { format!("{}?{}", st.path, st.query) };
            if let Some((what, len)) = too_long_part(&st.method, &url, &st.headers, self.local_addr.port()) {
                st.headers = before;
                drop(st);
                self.record(method, format!("{name}: {} bytes -> E_INVALIDARG ({what} would be {len} bytes, over a USHORT)", value.len()));
                return E_INVALIDARG;
            }
        }
        self.keep.release(Side::Request);
        self.record(
            method,
            format!(
                "{name}: {value:?}{}",
                if replace { " (replace)" } else { " (append)" }
            ),
        );
        S_OK
    }

    /// `GetHeader`: the value kept in request storage, and its length.
    fn get_request_header(&self, method: &'static str, name: &str, len: *mut u16) -> PCSTR {
        let value = self.st.borrow().headers.get(name);
        self.record(
            method,
            format!(
                "{name} -> {}",
                value
                    .as_deref()
                    .map_or_else(|| "NULL".to_owned(), |v| format!("{v:?}"))
            ),
        );
        let (p, n) = match value {
            Some(v) => (self.keep.volatile_cstr(Side::Request, v.as_bytes()), len16(&format!("request header {name}"), v.len())),
            None => (std::ptr::null(), 0),
        };
        // SAFETY: `len` is null or writable, per the interface.
        unsafe { put(len, n) };
        p
    }
}

thunks! {
    fn rq_get_raw_http_request_const(this: *mut IHttpRequest) -> *const HTTP_REQUEST_V2 {
        // SAFETY: called on the request of a running request.
        let req = unsafe { req(this) };
        req.record("IHttpRequest::GetRawHttpRequest", "const".to_owned());
        req.raw_request()
    }

    fn rq_get_raw_http_request(this: *mut IHttpRequest) -> *mut HTTP_REQUEST_V2 {
        // SAFETY: called on the request of a running request.
        let req = unsafe { req(this) };
        req.record("IHttpRequest::GetRawHttpRequest", String::new());
        req.raw_request()
    }

    fn rq_get_header_by_id(this: *mut IHttpRequest, id: HTTP_HEADER_ID, len: *mut u16) -> PCSTR {
        // SAFETY: called on the request of a running request.
        let req = unsafe { req(this) };
        match req.header_by_id(id) {
            Some(name) => req.get_request_header("IHttpRequest::GetHeader", name, len),
            None => {
                req.record("IHttpRequest::GetHeader", format!("header id {id} -> NULL (invalid id)"));
                // SAFETY: `len` is null or writable.
                unsafe { put(len, 0) };
                std::ptr::null()
            }
        }
    }

    fn rq_get_header(this: *mut IHttpRequest, name: PCSTR, len: *mut u16) -> PCSTR {
        // SAFETY: called on the request of a running request; `name` is null or NUL-terminated.
        let (req, name) = unsafe { (req(this), from_pcstr(name)) };
        match name {
            Some(name) => req.get_request_header("IHttpRequest::GetHeader", &name, len),
            None => {
                req.record("IHttpRequest::GetHeader", "NULL name -> NULL".to_owned());
                // SAFETY: `len` is null or writable.
                unsafe { put(len, 0) };
                std::ptr::null()
            }
        }
    }

    fn rq_set_header_by_id(this: *mut IHttpRequest, id: HTTP_HEADER_ID, value: PCSTR, len: u16, replace: BOOL) -> HRESULT {
        // SAFETY: called on the request of a running request; `value` holds `len` bytes.
        let (req, value) = unsafe { (req(this), header_value(value, len)) };
        let value = match value {
            Ok(value) => value,
            Err(why) => {
                req.record("IHttpRequest::SetHeader", format!("header id {id}: {why} -> E_INVALIDARG"));
                return E_INVALIDARG;
            }
        };
        match req.header_by_id(id) {
            Some(name) => req.set_request_header("IHttpRequest::SetHeader", name, value, replace != 0),
            None => {
                req.record("IHttpRequest::SetHeader", format!("header id {id} -> E_INVALIDARG"));
                E_INVALIDARG
            }
        }
    }

    fn rq_set_header(this: *mut IHttpRequest, name: PCSTR, value: PCSTR, len: u16, replace: BOOL) -> HRESULT {
        // SAFETY: called on the request of a running request; `name` is null or NUL-terminated;
        // `value` holds `len` bytes.
        let (req, name, value) = unsafe { (req(this), from_pcstr(name), header_value(value, len)) };
        let value = match value {
            Ok(value) => value,
            Err(why) => {
                req.record("IHttpRequest::SetHeader", format!("{}: {why} -> E_INVALIDARG", name.unwrap_or_default()));
                return E_INVALIDARG;
            }
        };
        match name.filter(|n| !n.is_empty()) {
            Some(name) => req.set_request_header("IHttpRequest::SetHeader", &name, value, replace != 0),
            None => {
                req.record("IHttpRequest::SetHeader", "NULL name -> E_INVALIDARG".to_owned());
                E_INVALIDARG
            }
        }
    }

    fn rq_delete_header_by_id(this: *mut IHttpRequest, id: HTTP_HEADER_ID) -> HRESULT {
        // SAFETY: called on the request of a running request.
        let req = unsafe { req(this) };
        match req.header_by_id(id) {
            Some(name) => {
                let existed = req.st.borrow_mut().headers.delete(name);
                req.keep.release(Side::Request);
                req.record("IHttpRequest::DeleteHeader", format!("{name}{}", if existed { "" } else { " (absent)" }));
                S_OK
            }
            None => {
                req.record("IHttpRequest::DeleteHeader", format!("header id {id} -> E_INVALIDARG"));
                E_INVALIDARG
            }
        }
    }

    fn rq_delete_header(this: *mut IHttpRequest, name: PCSTR) -> HRESULT {
        // SAFETY: called on the request of a running request; `name` is null or NUL-terminated.
        let (req, name) = unsafe { (req(this), from_pcstr(name)) };
        match name {
            Some(name) => {
                let existed = req.st.borrow_mut().headers.delete(&name);
                req.keep.release(Side::Request);
                req.record("IHttpRequest::DeleteHeader", format!("{name}{}", if existed { "" } else { " (absent)" }));
                S_OK
            }
            None => {
                req.record("IHttpRequest::DeleteHeader", "NULL name -> E_INVALIDARG".to_owned());
                E_INVALIDARG
            }
        }
    }

    fn rq_get_http_method(this: *mut IHttpRequest) -> PCSTR {
        // SAFETY: called on the request of a running request.
        let req = unsafe { req(this) };
        let method = req.st.borrow().method.clone();
        req.record("IHttpRequest::GetHttpMethod", format!("-> {method:?}"));
        req.keep.volatile_cstr(Side::Request, method.as_bytes())
    }

    fn rq_set_http_method(this: *mut IHttpRequest, method: PCSTR) -> HRESULT {
        // SAFETY: called on the request of a running request; `method` is null or NUL-terminated.
        let (req, method) = unsafe { (req(this), from_pcstr(method)) };
        match method.filter(|m| !m.is_empty()) {
            Some(method) => {
                req.record("IHttpRequest::SetHttpMethod", format!("{method:?}"));
                req.st.borrow_mut().method = method;
                req.keep.release(Side::Request);
                S_OK
            }
            None => {
                req.record("IHttpRequest::SetHttpMethod", "NULL -> E_INVALIDARG".to_owned());
                E_INVALIDARG
            }
        }
    }

    fn rq_set_url_a(this: *mut IHttpRequest, url: PCSTR, len: u32, reset_query: BOOL) -> HRESULT {
        // SAFETY: called on the request of a running request; `url` holds `len` bytes (or is
        // NUL-terminated when `len` is 0).
        let (req, url) = unsafe {
            (req(this), if len == 0 { from_pcstr(url).unwrap_or_default() } else { from_pcstr_len(url, len as usize) })
        };
        req.set_url("IHttpRequest::SetUrl", url, reset_query != 0)
    }

    fn rq_set_url_w(this: *mut IHttpRequest, url: PCWSTR, len: u32, reset_query: BOOL) -> HRESULT {
        // SAFETY: called on the request of a running request; `url` holds `len` characters (or
        // is NUL-terminated when `len` is 0).
        let (req, url) = unsafe {
            (req(this), if len == 0 { from_pcwstr(url).unwrap_or_default() } else { from_pcwstr_len(url, len as usize) })
        };
        req.set_url("IHttpRequest::SetUrl", url, reset_query != 0)
    }

    fn rq_get_url_changed(this: *mut IHttpRequest) -> BOOL {
        // SAFETY: called on the request of a running request.
        let req = unsafe { req(this) };
        let changed = req.st.borrow().url_changed;
        req.record("IHttpRequest::GetUrlChanged", format!("-> {}", if changed { "TRUE" } else { "FALSE" }));
        changed as BOOL
    }

    fn rq_get_forwarded_url(this: *mut IHttpRequest) -> PCWSTR {
        // SAFETY: called on the request of a running request.
        unsafe { req(this) }.record("IHttpRequest::GetForwardedUrl", "-> NULL".to_owned());
        std::ptr::null()
    }

    fn rq_get_local_address(this: *mut IHttpRequest) -> *mut SOCKADDR {
        // SAFETY: called on the request of a running request.
        let req = unsafe { req(this) };
        req.record("IHttpRequest::GetLocalAddress", format!("-> {}", req.local_addr));
        req.local.as_ptr()
    }

    fn rq_get_remote_address(this: *mut IHttpRequest) -> *mut SOCKADDR {
        // SAFETY: called on the request of a running request.
        let req = unsafe { req(this) };
        req.record("IHttpRequest::GetRemoteAddress", format!("-> {}", req.remote_addr));
        req.remote.as_ptr()
    }

    fn rq_read_entity_body(this: *mut IHttpRequest, buffer: *mut c_void, size: u32, asynchronous: BOOL, received: *mut u32, pending: *mut BOOL) -> HRESULT {
        // SAFETY: called on the request of a running request; the buffer and out-pointers are
        // as the interface specifies.
        unsafe { req(this).read_entity("IHttpRequest::ReadEntityBody", buffer, size, asynchronous, received, pending) }
    }

    fn rq_insert_entity_body(this: *mut IHttpRequest, buffer: *mut c_void, size: u32) -> HRESULT {
        // SAFETY: called on the request of a running request.
        let req = unsafe { req(this) };
        if buffer.is_null() && size > 0 {
            req.record("IHttpRequest::InsertEntityBody", format!("NULL buffer, {size} bytes -> E_INVALIDARG"));
            return E_INVALIDARG;
        }
        let bytes = if size == 0 {
            Vec::new()
        } else {
            // SAFETY: `buffer` holds `size` readable bytes.
            unsafe { std::slice::from_raw_parts(buffer as *const u8, size as usize) }.to_vec()
        };
        {
            let mut st = req.st.borrow_mut();
            for &b in bytes.iter().rev() {
                st.entity.push_front(b);
            }
        }
        req.record("IHttpRequest::InsertEntityBody", format!("{size} bytes"));
        S_OK
    }

    fn rq_get_remaining_entity_bytes(this: *mut IHttpRequest) -> u32 {
        // SAFETY: called on the request of a running request.
        let req = unsafe { req(this) };
        let remaining = len32("the remaining TestRequest body", req.st.borrow().entity.len());
        req.record("IHttpRequest::GetRemainingEntityBytes", format!("-> {remaining}"));
        remaining
    }

    fn rq_get_http_version(this: *mut IHttpRequest, major: *mut u16, minor: *mut u16) {
        // SAFETY: called on the request of a running request.
        let req = unsafe { req(this) };
        let version = req.st.borrow().version;
        // SAFETY: the out-pointers are null or writable.
        unsafe {
            put(major, version.0);
            put(minor, version.1);
        }
        req.record("IHttpRequest::GetHttpVersion", format!("-> {}.{}", version.0, version.1));
    }

    fn rq_get_client_certificate(this: *mut IHttpRequest, info: *mut *mut HTTP_SSL_CLIENT_CERT_INFO, negotiated: *mut BOOL) -> HRESULT {
        // SAFETY: called on the request of a running request; the out-pointers are null or
        // writable.
        unsafe {
            req(this).record("IHttpRequest::GetClientCertificate", "-> ERROR_NOT_FOUND (no client certificate)".to_owned());
            put(info, std::ptr::null_mut());
            put(negotiated, 0);
        }
        HR_NOT_FOUND
    }

    fn rq_negotiate_client_certificate(this: *mut IHttpRequest, _async: BOOL, pending: *mut BOOL) -> HRESULT {
        // SAFETY: called on the request of a running request; `pending` is null or writable.
        unsafe {
            req(this).record("IHttpRequest::NegotiateClientCertificate", "-> E_NOTIMPL".to_owned());
            put(pending, 0);
        }
        E_NOTIMPL
    }

    fn rq_get_site_id(this: *mut IHttpRequest) -> u32 {
        // SAFETY: called on the request of a running request.
        unsafe { req(this) }.record("IHttpRequest::GetSiteId", format!("-> {}", super::SITE_ID));
        super::SITE_ID
    }

    fn rq_get_header_changes(this: *mut IHttpRequest, _old: u32, new: *mut u32, _known: *mut PCSTR, count: *mut u32, names: *mut *mut PCSTR, values: *mut *mut PCSTR, _diffed_known: *mut u32, diffed: *mut u32, indices: *mut *mut u32) -> HRESULT {
        // SAFETY: called on the request of a running request; the out-pointers are null or
        // writable.
        unsafe {
            req(this).record("IHttpRequest::GetHeaderChanges", "-> E_NOTIMPL".to_owned());
            put_no_changes(new, count, names, values, diffed, indices);
        }
        E_NOTIMPL
    }

    fn rq2_get_channel_binding_token(this: *mut IHttpRequest2, token: *mut *mut u8, size: *mut u32) -> HRESULT {
        // SAFETY: called on the request of a running request; the out-pointers are null or
        // writable.
        unsafe {
            req(this).record("IHttpRequest2::GetChannelBindingToken", "-> E_NOTIMPL".to_owned());
            put(token, std::ptr::null_mut());
            put(size, 0);
        }
        E_NOTIMPL
    }

    fn rq3_read_entity_body(this: *mut IHttpRequest3, buffer: *mut c_void, size: u32, _async: BOOL, _callback: PFN_ASYNC_COMPLETION, _context: *mut c_void, received: *mut u32, pending: *mut BOOL) -> HRESULT {
        // SAFETY: called on the request of a running request; the buffer and out-pointers are
        // as the interface specifies. The read completes synchronously: no callback.
        unsafe { req(this).read_entity("IHttpRequest3::ReadEntityBody", buffer, size, 0, received, pending) }
    }

    fn rq4_read_entity_body(this: *mut IHttpRequest4, buffer: *mut c_void, size: u32, asynchronous: BOOL, _flags: u32, received: *mut u32, pending: *mut BOOL) -> HRESULT {
        // SAFETY: called on the request of a running request; the buffer and out-pointers are
        // as the interface specifies.
        unsafe { req(this).read_entity("IHttpRequest4::ReadEntityBody", buffer, size, asynchronous, received, pending) }
    }
}

pub(crate) static REQUEST_VTBL: IHttpRequest4_Vtbl = IHttpRequest4_Vtbl {
    base__: IHttpRequest3_Vtbl {
        base__: IHttpRequest2_Vtbl {
            base__: IHttpRequest_Vtbl {
                GetRawHttpRequest_2: rq_get_raw_http_request_const,
                GetRawHttpRequest: rq_get_raw_http_request,
                GetHeader_2: rq_get_header_by_id,
                GetHeader: rq_get_header,
                SetHeader_2: rq_set_header_by_id,
                SetHeader: rq_set_header,
                DeleteHeader_2: rq_delete_header_by_id,
                DeleteHeader: rq_delete_header,
                GetHttpMethod: rq_get_http_method,
                SetHttpMethod: rq_set_http_method,
                SetUrl_2: rq_set_url_a,
                SetUrl: rq_set_url_w,
                GetUrlChanged: rq_get_url_changed,
                GetForwardedUrl: rq_get_forwarded_url,
                GetLocalAddress: rq_get_local_address,
                GetRemoteAddress: rq_get_remote_address,
                ReadEntityBody: rq_read_entity_body,
                InsertEntityBody: rq_insert_entity_body,
                GetRemainingEntityBytes: rq_get_remaining_entity_bytes,
                GetHttpVersion: rq_get_http_version,
                GetClientCertificate: rq_get_client_certificate,
                NegotiateClientCertificate: rq_negotiate_client_certificate,
                GetSiteId: rq_get_site_id,
                GetHeaderChanges: rq_get_header_changes,
            },
            GetChannelBindingToken: rq2_get_channel_binding_token,
        },
        ReadEntityBody: rq3_read_entity_body,
    },
    ReadEntityBody: rq4_read_entity_body,
};
