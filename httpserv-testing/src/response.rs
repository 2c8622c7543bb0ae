//! `IHttpResponse4`: status, headers (by name and by `HTTP_HEADER_ID`), trailers, the entity body
//! (memory chunks), `Flush` (fires `RQ_SEND_RESPONSE` the first time), redirects, connection
//! control, and a snapshot `HTTP_RESPONSE_V2`.

use std::ffi::c_void;

use httpserv_sys::*;
use windows_sys::core::{BOOL, HRESULT, PCSTR, PCWSTR};
use windows_sys::Win32::Networking::HttpServer::*;

use super::pipeline::{req, RequestCtx};
use super::strings::*;
use super::thunk::thunks;
use super::Disconnect;

/// An `HTTP_RESPONSE_V2` and the storage its pointers point into.
struct RawResponse {
    raw: HTTP_RESPONSE_V2,
    reason: Vec<u8>,
    /// `(known header index or None, name, value)`, NUL-terminated.
    headers: Vec<RawHeaderEntry>,
    unknown: Vec<HTTP_UNKNOWN_HEADER>,
    chunks: Vec<Vec<u8>>,
    data_chunks: Vec<HTTP_DATA_CHUNK>,
}

/// Reads memory data chunks; any other chunk type (or a NULL buffer with a length) is refused.
///
/// # Safety
///
/// `chunks` must be null or point to `count` chunks whose memory buffers are readable.
unsafe fn read_chunks(chunks: *const HTTP_DATA_CHUNK, count: u32, server: &crate::server::ServerShared) -> Result<Vec<Vec<u8>>, String> {
    if count == 0 {
        return Ok(Vec::new());
    }
    if chunks.is_null() {
        return Err("NULL chunks".to_owned());
    }
    // SAFETY: per the contract, `count` chunks are readable.
    let chunks = unsafe { std::slice::from_raw_parts(chunks, count as usize) };
    let mut out = Vec::with_capacity(chunks.len());
    for (i, chunk) in chunks.iter().enumerate() {
        if chunk.DataChunkType == HttpDataChunkFromFragmentCache {
            // A fragment of the server's cache (IHttpServer::AddFragmentToCache) by name:
            // "HttpDataChunkFromFragmentCache: the data source is a fragment cache"
            // (https://learn.microsoft.com/en-us/windows/win32/api/http/ns-http-http_data_chunk).
            // SAFETY: the type was checked: `FromFragmentCache` is the active union field.
            let fragment = unsafe { chunk.Anonymous.FromFragmentCache };
            // SAFETY: the name holds `FragmentNameLength` bytes (the HTTP Server API counts bytes).
            let name = unsafe { from_pcwstr_len(fragment.pFragmentName, fragment.FragmentNameLength as usize / 2) };
            match server.fragment(&name) {
                Some(data) => out.push(data),
                None => return Err(format!("chunk {i}: no fragment {name:?} in the cache")),
            }
            continue;
        }
        if chunk.DataChunkType != HttpDataChunkFromMemory {
            return Err(format!(
                "chunk {i} has type {} (only HttpDataChunkFromMemory and HttpDataChunkFromFragmentCache are simulated)",
                chunk.DataChunkType
            ));
        }
        // SAFETY: the type was checked: `FromMemory` is the active union field.
        let memory = unsafe { chunk.Anonymous.FromMemory };
        if memory.pBuffer.is_null() {
            if memory.BufferLength != 0 {
                return Err(format!("chunk {i} has a NULL buffer"));
            }
            out.push(Vec::new());
        } else {
            let (data, len) = (memory.pBuffer as *const u8, memory.BufferLength as usize);
            // SAFETY: per the contract, the buffer holds `BufferLength` readable bytes.
            let bytes = unsafe { std::slice::from_raw_parts(data, len) };
            out.push(bytes.to_vec());
        }
    }
    Ok(out)
}

/// A short printable preview of body bytes for the transcript.
fn preview(bytes: &[u8]) -> String {
    const MAX: usize = 64;
    let text = String::from_utf8_lossy(&bytes[..bytes.len().min(MAX)]).into_owned();
    if bytes.len() > MAX {
        format!("{text:?}...")
    } else {
        format!("{text:?}")
    }
}

impl RequestCtx {
    /// A snapshot of the response as an `HTTP_RESPONSE_V2`, valid until the request ends.
    fn raw_response(&self) -> *mut HTTP_RESPONSE_V2 {
        let st = self.st.borrow();
        let r = &st.response;
        let headers = r.headers.raw_entries(&RESPONSE_HEADERS);
        let raw = Box::new(RawResponse {
            raw: HTTP_RESPONSE_V2::default(),
            reason: nul_terminated(&r.reason),
            headers,
            unknown: Vec::new(),
            chunks: r.chunks.clone(),
            data_chunks: Vec::new(),
        });
        let status = r.status;
        let version = st.version;
        drop(st);

        let raw = self.keep.keep(raw);
        // SAFETY: `raw` was just placed in the request's storage and nothing else refers to it
        // yet; its buffers are not resized after the pointers below are taken.
        let r = unsafe { &mut *raw };
        r.unknown = r
            .headers
            .iter()
            .filter(|(id, _, _)| id.is_none())
            .map(|(_, name, value)| HTTP_UNKNOWN_HEADER {
                NameLength: len16("a response header name", name.len() - 1),
                RawValueLength: len16("a response header value", value.len() - 1),
                pName: name.as_ptr(),
                pRawValue: value.as_ptr(),
            })
            .collect();
        r.data_chunks = r
            .chunks
            .iter_mut()
            .map(|c| HTTP_DATA_CHUNK {
                DataChunkType: HttpDataChunkFromMemory,
                Anonymous: HTTP_DATA_CHUNK_0 {
                    FromMemory: HTTP_DATA_CHUNK_0_0 {
                        pBuffer: c.as_mut_ptr().cast(),
                        BufferLength: len32("a buffered chunk", c.len()),
                    },
                },
            })
            .collect();
        let base = &mut r.raw.Base;
        base.Version = HTTP_VERSION {
            MajorVersion: version.0,
            MinorVersion: version.1,
        };
        base.StatusCode = status;
        base.ReasonLength = len16("the reason phrase", r.reason.len() - 1);
        base.pReason = r.reason.as_ptr();
        for (id, _, value) in &r.headers {
            if let Some(id) = id {
                base.Headers.KnownHeaders[*id] = HTTP_KNOWN_HEADER {
                    RawValueLength: len16("a response header value", value.len() - 1),
                    pRawValue: value.as_ptr(),
                };
            }
        }
        base.Headers.UnknownHeaderCount = len16("the number of response headers", r.unknown.len());
        base.Headers.pUnknownHeaders = if r.unknown.is_empty() {
            std::ptr::null_mut()
        } else {
            r.unknown.as_mut_ptr()
        };
        self.keep.mark_volatile(Side::Response, r.reason.as_mut_ptr(), r.reason.len());
        for (_, name, value) in &mut r.headers {
            self.keep.mark_volatile(Side::Response, name.as_mut_ptr(), name.len());
            self.keep.mark_volatile(Side::Response, value.as_mut_ptr(), value.len());
        }
        base.EntityChunkCount = len16("the number of buffered chunks", r.data_chunks.len());
        base.pEntityChunks = if r.data_chunks.is_empty() {
            std::ptr::null_mut()
        } else {
            r.data_chunks.as_mut_ptr()
        };
        &mut r.raw
    }

    fn response_header_by_id(&self, id: HTTP_HEADER_ID) -> Option<&'static str> {
        header_name(&RESPONSE_HEADERS, id)
    }

    fn sent_note(&self) -> &'static str {
        if self.st.borrow().response.head.is_some() {
            " (headers already sent)"
        } else {
            ""
        }
    }

    /// `SetHeader`/`SetTrailer` by name: replace, or add another line.
    fn set_response_header(
        &self,
        method: &'static str,
        trailer: bool,
        name: &str,
        value: String,
        replace: bool,
    ) -> HRESULT {
        let note = self.sent_note();
        {
            let mut st = self.st.borrow_mut();
            let list = if trailer {
                &mut st.response.trailers
            } else {
                &mut st.response.headers
            };
            if replace {
                list.replace(name, value.clone());
            } else {
                list.add(name, value.clone());
            }
        }
        self.keep.release(Side::Response);
        self.record(
            method,
            format!(
                "{name}: {value:?}{}{note}",
                if replace { " (replace)" } else { " (add)" }
            ),
        );
        S_OK
    }

    /// `GetHeader`/`GetTrailer`: all values joined, kept in request storage.
    fn get_response_header(
        &self,
        method: &'static str,
        trailer: bool,
        name: &str,
        len: *mut u16,
    ) -> PCSTR {
        let value = {
            let st = self.st.borrow();
            if trailer {
                st.response.trailers.get(name)
            } else {
                st.response.headers.get(name)
            }
        };
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
            Some(v) => (self.keep.volatile_cstr(Side::Response, v.as_bytes()), len16(&format!("response header {name}"), v.len())),
            None => (std::ptr::null(), 0),
        };
        // SAFETY: `len` is null or writable, per the interface.
        unsafe { put(len, n) };
        p
    }

    fn delete_response_header(&self, method: &'static str, trailer: bool, name: &str) -> HRESULT {
        let existed = {
            let mut st = self.st.borrow_mut();
            if trailer {
                st.response.trailers.delete(name)
            } else {
                st.response.headers.delete(name)
            }
        };
        self.keep.release(Side::Response);
        self.record(
            method,
            format!("{name}{}", if existed { "" } else { " (absent)" }),
        );
        S_OK
    }

    /// `WriteEntityChunks` (both overloads).
    ///
    /// # Safety
    ///
    /// `chunks` must be null or point to `count` valid chunks; the out-pointers must be null or
    /// writable.
    unsafe fn write_chunks(
        &self,
        method: &'static str,
        chunks: *const HTTP_DATA_CHUNK,
        count: u32,
        asynchronous: BOOL,
        sent: *mut u32,
        expected: *mut BOOL,
    ) -> HRESULT {
        // SAFETY: per the contract.
        unsafe {
            put(sent, 0);
            put(expected, 0);
        }
        if self.st.borrow().client_gone {
            self.record(method, "the client disconnected -> HRESULT_FROM_WIN32(ERROR_CONNECTION_ABORTED)".to_owned());
            return crate::strings::hresult_from_win32(1236);
        }
        // SAFETY: per the contract.
        let data = match unsafe { read_chunks(chunks, count, self.server()) } {
            Ok(data) => data,
            Err(why) => {
                self.record(method, format!("{why} -> E_INVALIDARG"));
                return E_INVALIDARG;
            }
        };
        let total: usize = data.iter().map(Vec::len).sum();
        let all: Vec<u8> = data.iter().flatten().copied().collect();
        self.record(
            method,
            format!("{count} chunk(s), {total} bytes: {}", preview(&all)),
        );
        self.st.borrow_mut().response.chunks.extend(data);
        if self.st.borrow().response.buffering_disabled {
            self.send_partial();
        }
        let total = len32("the bytes written", total);
        if asynchronous != 0 {
            // Written; the module learns it in OnAsyncCompletion (IHttpResponse::WriteEntityChunks:
            // "pfCompletionExpected ... TRUE if an asynchronous completion is pending",
            // https://learn.microsoft.com/en-us/iis/web-development-reference/native-code-api-reference/ihttpresponse-writeentitychunks-method).
            // SAFETY: per the contract.
            unsafe { put(expected, 1) };
            self.complete_later(crate::pipeline::Completion::Io { op: method, bytes: total, hr: S_OK }, None);
            return S_OK;
        }
        // SAFETY: per the contract.
        unsafe { put(sent, total) };
        S_OK
    }

    /// `Flush` (both overloads).
    ///
    /// # Safety
    ///
    /// The out-pointers must be null or writable.
    unsafe fn flush_response(
        &self,
        method: &'static str,
        sent: *mut u32,
        expected: *mut BOOL,
    ) -> HRESULT {
        let first = self.st.borrow().response.head.is_none();
        let index = self.record(method, String::new());
        let bytes = self.flush();
        self.patch_call(
            index,
            format!("{bytes} bytes{}", if first { ", headers sent" } else { "" }),
        );
        // SAFETY: per the contract.
        unsafe {
            put(sent, bytes);
            put(expected, 0);
        }
        S_OK
    }
}

thunks! {
    fn rs_get_raw_http_response_const(this: *mut IHttpResponse) -> *const HTTP_RESPONSE_V2 {
        // SAFETY: called on the response of a running request.
        let req = unsafe { req(this) };
        req.record("IHttpResponse::GetRawHttpResponse", "const".to_owned());
        req.raw_response()
    }

    fn rs_get_raw_http_response(this: *mut IHttpResponse) -> *mut HTTP_RESPONSE_V2 {
        // SAFETY: called on the response of a running request.
        let req = unsafe { req(this) };
        req.record("IHttpResponse::GetRawHttpResponse", "snapshot; changes to it are not read back".to_owned());
        req.raw_response()
    }

    fn rs_get_cache_policy(this: *mut IHttpResponse) -> *mut IHttpCachePolicy {
        // SAFETY: called on the response of a running request.
        unsafe { req(this) }.record("IHttpResponse::GetCachePolicy", "-> NULL (not simulated)".to_owned());
        std::ptr::null_mut()
    }

    fn rs_set_status(this: *mut IHttpResponse, status: u16, reason: PCSTR, substatus: u16, error: HRESULT, _exception: *mut IAppHostConfigException, try_skip: BOOL) -> HRESULT {
        // SAFETY: called on the response of a running request; `reason` is null or
        // NUL-terminated.
        let (req, reason) = unsafe { (req(this), from_pcstr(reason)) };
        let note = req.sent_note();
        let flag = req.current().0.map_or(0, |n| n.flag());
        {
            let mut st = req.st.borrow_mut();
            let r = &mut st.response;
            r.set_status(status, reason);
            r.substatus = substatus;
            r.error = error;
            r.try_skip_custom_errors = try_skip != 0;
            r.status_notification = Some(flag);
        }
        req.keep.release(Side::Response);
        let reason = req.st.borrow().response.reason.clone();
        req.record(
            "IHttpResponse::SetStatus",
            format!("{status}.{substatus} {reason:?}, hr {}{}{note}", hr_str(error), if try_skip != 0 { ", try skip custom errors" } else { "" }),
        );
        S_OK
    }

    fn rs_set_header_by_id(this: *mut IHttpResponse, id: HTTP_HEADER_ID, value: PCSTR, len: u16, replace: BOOL) -> HRESULT {
        // SAFETY: called on the response of a running request; `value` holds `len` bytes.
        let (req, value) = unsafe { (req(this), header_value(value, len)) };
        let value = match value {
            Ok(value) => value,
            Err(why) => {
                req.record("IHttpResponse::SetHeader", format!("header id {id}: {why} -> E_INVALIDARG"));
                return E_INVALIDARG;
            }
        };
        match req.response_header_by_id(id) {
            Some(name) => req.set_response_header("IHttpResponse::SetHeader", false, name, value, replace != 0),
            None => {
                req.record("IHttpResponse::SetHeader", format!("header id {id} -> E_INVALIDARG"));
                E_INVALIDARG
            }
        }
    }

    fn rs_set_header(this: *mut IHttpResponse, name: PCSTR, value: PCSTR, len: u16, replace: BOOL) -> HRESULT {
        // SAFETY: called on the response of a running request; `name` is null or
        // NUL-terminated; `value` holds `len` bytes.
        let (req, name, value) = unsafe { (req(this), from_pcstr(name), header_value(value, len)) };
        let value = match value {
            Ok(value) => value,
            Err(why) => {
                req.record("IHttpResponse::SetHeader", format!("{}: {why} -> E_INVALIDARG", name.unwrap_or_default()));
                return E_INVALIDARG;
            }
        };
        match name.filter(|n| !n.is_empty()) {
            Some(name) => req.set_response_header("IHttpResponse::SetHeader", false, &name, value, replace != 0),
            None => {
                req.record("IHttpResponse::SetHeader", "NULL name -> E_INVALIDARG".to_owned());
                E_INVALIDARG
            }
        }
    }

    fn rs_delete_header_by_id(this: *mut IHttpResponse, id: HTTP_HEADER_ID) -> HRESULT {
        // SAFETY: called on the response of a running request.
        let req = unsafe { req(this) };
        match req.response_header_by_id(id) {
            Some(name) => req.delete_response_header("IHttpResponse::DeleteHeader", false, name),
            None => {
                req.record("IHttpResponse::DeleteHeader", format!("header id {id} -> E_INVALIDARG"));
                E_INVALIDARG
            }
        }
    }

    fn rs_delete_header(this: *mut IHttpResponse, name: PCSTR) -> HRESULT {
        // SAFETY: called on the response of a running request; `name` is null or NUL-terminated.
        let (req, name) = unsafe { (req(this), from_pcstr(name)) };
        match name {
            Some(name) => req.delete_response_header("IHttpResponse::DeleteHeader", false, &name),
            None => {
                req.record("IHttpResponse::DeleteHeader", "NULL name -> E_INVALIDARG".to_owned());
                E_INVALIDARG
            }
        }
    }

    fn rs_get_header_by_id(this: *mut IHttpResponse, id: HTTP_HEADER_ID, len: *mut u16) -> PCSTR {
        // SAFETY: called on the response of a running request.
        let req = unsafe { req(this) };
        match req.response_header_by_id(id) {
            Some(name) => req.get_response_header("IHttpResponse::GetHeader", false, name, len),
            None => {
                req.record("IHttpResponse::GetHeader", format!("header id {id} -> NULL (invalid id)"));
                // SAFETY: `len` is null or writable.
                unsafe { put(len, 0) };
                std::ptr::null()
            }
        }
    }

    fn rs_get_header(this: *mut IHttpResponse, name: PCSTR, len: *mut u16) -> PCSTR {
        // SAFETY: called on the response of a running request; `name` is null or NUL-terminated.
        let (req, name) = unsafe { (req(this), from_pcstr(name)) };
        match name {
            Some(name) => req.get_response_header("IHttpResponse::GetHeader", false, &name, len),
            None => {
                req.record("IHttpResponse::GetHeader", "NULL name -> NULL".to_owned());
                // SAFETY: `len` is null or writable.
                unsafe { put(len, 0) };
                std::ptr::null()
            }
        }
    }

    fn rs_clear(this: *mut IHttpResponse) {
        // SAFETY: called on the response of a running request.
        let req = unsafe { req(this) };
        let note = req.sent_note();
        req.record("IHttpResponse::Clear", format!("status, headers and buffered body{note}"));
        req.st.borrow_mut().response.clear();
        req.keep.release(Side::Response);
    }

    fn rs_clear_headers(this: *mut IHttpResponse) {
        // SAFETY: called on the response of a running request.
        let req = unsafe { req(this) };
        let note = req.sent_note();
        req.record("IHttpResponse::ClearHeaders", note.trim().to_owned());
        req.st.borrow_mut().response.headers = Headers::default();
        req.keep.release(Side::Response);
    }

    fn rs_set_need_disconnect(this: *mut IHttpResponse) {
        // SAFETY: called on the response of a running request.
        let req = unsafe { req(this) };
        req.record("IHttpResponse::SetNeedDisconnect", String::new());
        let mut st = req.st.borrow_mut();
        if st.response.disconnect == Disconnect::None {
            st.response.disconnect = Disconnect::AfterResponse;
        }
    }

    fn rs_reset_connection(this: *mut IHttpResponse) {
        // SAFETY: called on the response of a running request.
        let req = unsafe { req(this) };
        req.record("IHttpResponse::ResetConnection", String::new());
        req.st.borrow_mut().response.disconnect = Disconnect::Reset;
    }

    fn rs_disable_kernel_cache(this: *mut IHttpResponse, reason: u32) {
        // SAFETY: called on the response of a running request.
        let req = unsafe { req(this) };
        req.record("IHttpResponse::DisableKernelCache", format!("reason {reason}"));
        req.st.borrow_mut().response.kernel_cache_disabled.push(reason);
    }

    fn rs_get_kernel_cache_enabled(this: *mut IHttpResponse) -> BOOL {
        // SAFETY: called on the response of a running request.
        let req = unsafe { req(this) };
        let enabled = req.st.borrow().response.kernel_cache_disabled.is_empty();
        req.record("IHttpResponse::GetKernelCacheEnabled", format!("-> {}", if enabled { "TRUE" } else { "FALSE" }));
        enabled as BOOL
    }

    fn rs_suppress_headers(this: *mut IHttpResponse) {
        // SAFETY: called on the response of a running request.
        let req = unsafe { req(this) };
        let note = req.sent_note();
        req.record("IHttpResponse::SuppressHeaders", note.trim().to_owned());
        req.st.borrow_mut().response.suppressed = true;
    }

    fn rs_get_headers_suppressed(this: *mut IHttpResponse) -> BOOL {
        // SAFETY: called on the response of a running request.
        let req = unsafe { req(this) };
        let suppressed = req.st.borrow().response.suppressed;
        req.record("IHttpResponse::GetHeadersSuppressed", format!("-> {}", if suppressed { "TRUE" } else { "FALSE" }));
        suppressed as BOOL
    }

    fn rs_flush(this: *mut IHttpResponse, _async: BOOL, _more: BOOL, sent: *mut u32, expected: *mut BOOL) -> HRESULT {
        // SAFETY: called on the response of a running request; the out-pointers are null or
        // writable.
        unsafe { req(this).flush_response("IHttpResponse::Flush", sent, expected) }
    }

    fn rs_redirect(this: *mut IHttpResponse, url: PCSTR, reset_status: BOOL, include_parameters: BOOL) -> HRESULT {
        // SAFETY: called on the response of a running request; `url` is null or NUL-terminated.
        let (req, url) = unsafe { (req(this), from_pcstr(url)) };
        let Some(url) = url.filter(|u| !u.is_empty()) else {
            req.record("IHttpResponse::Redirect", "NULL URL -> E_INVALIDARG".to_owned());
            return E_INVALIDARG;
        };
        let mut location = url.clone();
        let query = req.st.borrow().query.clone();
        if include_parameters != 0 && !query.is_empty() {
            location.push(if location.contains('?') { '&' } else { '?' });
            location.push_str(&query);
        }
        let note = req.sent_note();
        {
            let mut st = req.st.borrow_mut();
            if reset_status != 0 {
                st.response.set_status(302, None);
                st.response.substatus = 0;
            }
            st.response.headers.replace("Location", location.clone());
        }
        req.keep.release(Side::Response);
        req.record(
            "IHttpResponse::Redirect",
            format!("{location:?}{}{note}", if reset_status != 0 { ", 302" } else { ", status kept" }),
        );
        S_OK
    }

    fn rs_write_entity_chunk_by_reference(this: *mut IHttpResponse, chunk: *mut HTTP_DATA_CHUNK, position: i32) -> HRESULT {
        // SAFETY: called on the response of a running request.
        let req = unsafe { req(this) };
        // SAFETY: `chunk` is null or one valid chunk (copied now: IIS would keep the reference
        // until the response is sent, which gives the same bytes).
        let data = match unsafe { read_chunks(chunk, 1, req.server()) } {
            Ok(mut data) => data.remove(0),
            Err(why) => {
                req.record("IHttpResponse::WriteEntityChunkByReference", format!("{why} -> E_INVALIDARG"));
                return E_INVALIDARG;
            }
        };
        req.record(
            "IHttpResponse::WriteEntityChunkByReference",
            format!("{} bytes at {}: {}", data.len(), if position < 0 { "end".to_owned() } else { format!("chunk {position}") }, preview(&data)),
        );
        {
            let mut st = req.st.borrow_mut();
            let chunks = &mut st.response.chunks;
            match usize::try_from(position) {
                Ok(i) if i < chunks.len() => chunks.insert(i, data),
                _ => chunks.push(data),
            }
        }
        if req.st.borrow().response.buffering_disabled {
            req.send_partial();
        }
        S_OK
    }

    fn rs_write_entity_chunks(this: *mut IHttpResponse, chunks: *mut HTTP_DATA_CHUNK, count: u32, asynchronous: BOOL, _more: BOOL, sent: *mut u32, expected: *mut BOOL) -> HRESULT {
        // SAFETY: called on the response of a running request; the chunks and out-pointers are
        // as the interface specifies.
        unsafe { req(this).write_chunks("IHttpResponse::WriteEntityChunks", chunks, count, asynchronous, sent, expected) }
    }

    fn rs_disable_buffering(this: *mut IHttpResponse) {
        // SAFETY: called on the response of a running request.
        let req = unsafe { req(this) };
        req.record("IHttpResponse::DisableBuffering", String::new());
        req.st.borrow_mut().response.buffering_disabled = true;
    }

    fn rs_get_status(this: *mut IHttpResponse, status: *mut u16, substatus: *mut u16, reason: *mut PCSTR, reason_len: *mut u16, error: *mut HRESULT, module: *mut PCWSTR, notification: *mut u32, exception: *mut *mut IAppHostConfigException, try_skip: *mut BOOL) {
        // SAFETY: called on the response of a running request.
        let req = unsafe { req(this) };
        let (code, sub, text, hr, flag, skip) = {
            let st = req.st.borrow();
            let r = &st.response;
            (r.status, r.substatus, r.reason.clone(), r.error, r.status_notification, r.try_skip_custom_errors)
        };
        let text_ptr = req.keep.volatile_cstr(Side::Response, text.as_bytes());
        // SAFETY: every out-pointer is null or writable.
        unsafe {
            put(status, code);
            put(substatus, sub);
            put(reason, text_ptr);
            put(reason_len, len16("the reason phrase", text.len()));
            put(error, hr);
            put(module, if flag.is_some() { req.module_name_w() } else { std::ptr::null() });
            put(notification, flag.unwrap_or(0));
            put(exception, std::ptr::null_mut());
            put(try_skip, skip as BOOL);
        }
        req.record("IHttpResponse::GetStatus", format!("-> {code}.{sub} {text:?}"));
    }

    fn rs_set_error_description(this: *mut IHttpResponse, description: PCWSTR, len: u32, html_encode: BOOL) -> HRESULT {
        // SAFETY: called on the response of a running request; `description` holds `len`
        // characters (or is NUL-terminated when `len` is 0).
        let (req, text) = unsafe {
            (req(this), if len == 0 { from_pcwstr(description).unwrap_or_default() } else { from_pcwstr_len(description, len as usize) })
        };
        req.record("IHttpResponse::SetErrorDescription", format!("{text:?}{}", if html_encode != 0 { ", HTML-encode" } else { "" }));
        req.st.borrow_mut().response.error_description = Some(text);
        S_OK
    }

    fn rs_get_error_description(this: *mut IHttpResponse, len: *mut u32) -> PCWSTR {
        // SAFETY: called on the response of a running request.
        let req = unsafe { req(this) };
        let text = req.st.borrow().response.error_description.clone();
        req.record("IHttpResponse::GetErrorDescription", format!("-> {text:?}"));
        match text {
            Some(text) => {
                let (p, n) = req.keep.wstr(&text);
                // SAFETY: `len` is null or writable.
                unsafe { put(len, n) };
                p
            }
            None => {
                // SAFETY: as above.
                unsafe { put(len, 0) };
                std::ptr::null()
            }
        }
    }

    fn rs_get_header_changes(this: *mut IHttpResponse, _old: u32, new: *mut u32, _known: *mut PCSTR, count: *mut u32, names: *mut *mut PCSTR, values: *mut *mut PCSTR, _diffed_known: *mut u32, diffed: *mut u32, indices: *mut *mut u32) -> HRESULT {
        // SAFETY: called on the response of a running request; the out-pointers are null or
        // writable.
        unsafe {
            req(this).record("IHttpResponse::GetHeaderChanges", "-> E_NOTIMPL".to_owned());
            put_no_changes(new, count, names, values, diffed, indices);
        }
        E_NOTIMPL
    }

    fn rs_close_connection(this: *mut IHttpResponse) {
        // SAFETY: called on the response of a running request.
        let req = unsafe { req(this) };
        req.record("IHttpResponse::CloseConnection", String::new());
        let mut st = req.st.borrow_mut();
        if st.response.disconnect != Disconnect::Reset {
            st.response.disconnect = Disconnect::Closed;
        }
    }

    fn rs2_write_entity_chunks(this: *mut IHttpResponse2, chunks: *mut HTTP_DATA_CHUNK, count: u32, _async: BOOL, _more: BOOL, _callback: PFN_ASYNC_COMPLETION, _context: *mut c_void, sent: *mut u32, expected: *mut BOOL) -> HRESULT {
        // SAFETY: called on the response of a running request; the chunks and out-pointers are
        // as the interface specifies. The write completes synchronously: no callback.
        unsafe { req(this).write_chunks("IHttpResponse2::WriteEntityChunks", chunks, count, 0, sent, expected) }
    }

    fn rs2_flush(this: *mut IHttpResponse2, _async: BOOL, _more: BOOL, _callback: PFN_ASYNC_COMPLETION, _context: *mut c_void, sent: *mut u32, expected: *mut BOOL) -> HRESULT {
        // SAFETY: called on the response of a running request; the out-pointers are null or
        // writable. The flush completes synchronously: no callback.
        unsafe { req(this).flush_response("IHttpResponse2::Flush", sent, expected) }
    }

    fn rs3_push_promise(this: *mut IHttpResponse3, verb: PCSTR, path: PCWSTR, _query: PCWSTR, _count: u32, _names: *mut PCSTR, _values: *mut PCSTR) -> HRESULT {
        // SAFETY: called on the response of a running request; the strings are null or
        // NUL-terminated.
        unsafe {
            let detail = format!(
                "{} {} -> E_NOTIMPL (no HTTP/2 push)",
                from_pcstr(verb).unwrap_or_default(),
                from_pcwstr(path).unwrap_or_default()
            );
            req(this).record("IHttpResponse3::PushPromise", detail);
        }
        E_NOTIMPL
    }

    fn rs4_delete_trailer(this: *mut IHttpResponse4, name: PCSTR) -> HRESULT {
        // SAFETY: called on the response of a running request; `name` is null or NUL-terminated.
        let (req, name) = unsafe { (req(this), from_pcstr(name)) };
        match name {
            Some(name) => req.delete_response_header("IHttpResponse4::DeleteTrailer", true, &name),
            None => E_INVALIDARG,
        }
    }

    fn rs4_get_trailer(this: *mut IHttpResponse4, name: PCSTR, len: *mut u16) -> PCSTR {
        // SAFETY: called on the response of a running request; `name` is null or NUL-terminated.
        let (req, name) = unsafe { (req(this), from_pcstr(name)) };
        match name {
            Some(name) => req.get_response_header("IHttpResponse4::GetTrailer", true, &name, len),
            None => {
                // SAFETY: `len` is null or writable.
                unsafe { put(len, 0) };
                std::ptr::null()
            }
        }
    }

    fn rs4_reset_stream(this: *mut IHttpResponse4, error: u32) {
        // SAFETY: called on the response of a running request.
        let req = unsafe { req(this) };
        req.record("IHttpResponse4::ResetStream", format!("error {error}"));
        req.st.borrow_mut().response.disconnect = Disconnect::Reset;
    }

    fn rs4_set_need_go_away(this: *mut IHttpResponse4) {
        // SAFETY: called on the response of a running request.
        let req = unsafe { req(this) };
        req.record("IHttpResponse4::SetNeedGoAway", String::new());
        let mut st = req.st.borrow_mut();
        if st.response.disconnect == Disconnect::None {
            st.response.disconnect = Disconnect::AfterResponse;
        }
    }

    fn rs4_set_trailer(this: *mut IHttpResponse4, name: PCSTR, value: PCSTR, len: u16, replace: BOOL) -> HRESULT {
        // SAFETY: called on the response of a running request; `name` is null or
        // NUL-terminated; `value` holds `len` bytes.
        let (req, name, value) = unsafe { (req(this), from_pcstr(name), from_pcstr_len(value, len as usize)) };
        match name.filter(|n| !n.is_empty()) {
            Some(name) => req.set_response_header("IHttpResponse4::SetTrailer", true, &name, value, replace != 0),
            None => {
                req.record("IHttpResponse4::SetTrailer", "NULL name -> E_INVALIDARG".to_owned());
                E_INVALIDARG
            }
        }
    }
}

pub(crate) static RESPONSE_VTBL: IHttpResponse4_Vtbl = IHttpResponse4_Vtbl {
    base__: IHttpResponse3_Vtbl {
        base__: IHttpResponse2_Vtbl {
            base__: IHttpResponse_Vtbl {
                GetRawHttpResponse_2: rs_get_raw_http_response_const,
                GetRawHttpResponse: rs_get_raw_http_response,
                GetCachePolicy: rs_get_cache_policy,
                SetStatus: rs_set_status,
                SetHeader_2: rs_set_header_by_id,
                SetHeader: rs_set_header,
                DeleteHeader_2: rs_delete_header_by_id,
                DeleteHeader: rs_delete_header,
                GetHeader_2: rs_get_header_by_id,
                GetHeader: rs_get_header,
                Clear: rs_clear,
                ClearHeaders: rs_clear_headers,
                SetNeedDisconnect: rs_set_need_disconnect,
                ResetConnection: rs_reset_connection,
                DisableKernelCache: rs_disable_kernel_cache,
                GetKernelCacheEnabled: rs_get_kernel_cache_enabled,
                SuppressHeaders: rs_suppress_headers,
                GetHeadersSuppressed: rs_get_headers_suppressed,
                Flush: rs_flush,
                Redirect: rs_redirect,
                WriteEntityChunkByReference: rs_write_entity_chunk_by_reference,
                WriteEntityChunks: rs_write_entity_chunks,
                DisableBuffering: rs_disable_buffering,
                GetStatus: rs_get_status,
                SetErrorDescription: rs_set_error_description,
                GetErrorDescription: rs_get_error_description,
                GetHeaderChanges: rs_get_header_changes,
                CloseConnection: rs_close_connection,
            },
            WriteEntityChunks: rs2_write_entity_chunks,
            Flush: rs2_flush,
        },
        PushPromise: rs3_push_promise,
    },
    DeleteTrailer: rs4_delete_trailer,
    GetTrailer: rs4_get_trailer,
    ResetStream: rs4_reset_stream,
    SetNeedGoAway: rs4_set_need_go_away,
    SetTrailer: rs4_set_trailer,
};
