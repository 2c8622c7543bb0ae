//! `IHttpContext4` and the request-scoped objects it hands out: `IHttpConnection`, `IHttpUser`,
//! `IHttpTraceContext`, `IModuleAllocator`; server variables and `MapPath`.

use std::ffi::c_void;

use httpserv_sys::*;
use windows_sys::core::{BOOL, GUID, HRESULT, PCSTR, PCWSTR, PWSTR};
use windows_sys::Win32::Foundation::HANDLE;
use windows_sys::Win32::System::Iis::*;
use windows_sys::Win32::System::IO::LPOVERLAPPED_COMPLETION_ROUTINE;

use super::pipeline::{req, RequestCtx};
use super::strings::*;
use super::thunk::thunks;
use super::{Disconnect, Notification, APPLICATION_PHYSICAL_PATH, APP_POOL_NAME};

/// The activity id every trace context reports.
pub(crate) static ACTIVITY_ID: GUID = GUID::from_u128(0x7e57_0000_0000_4000_8000_0000_0000_0001);

/// `IHttpContext::MapPath` for `url`: `C:\inetpub\wwwroot\` plus the path with backslashes.
pub(crate) fn physical_path(url: &str) -> String {
    let (path, _) = split_query(url);
    let mut physical = APPLICATION_PHYSICAL_PATH.to_owned();
    physical.push_str(&path.trim_start_matches('/').replace('/', "\\"));
    physical
}

/// The `HTTP_<NAME>` server variable name of a header.
fn header_variable(name: &str) -> String {
    format!("HTTP_{}", name.to_ascii_uppercase().replace('-', "_"))
}

impl RequestCtx {
    /// The URL the request is for now (path and query).
    pub(crate) fn current_url(&self) -> String {
        let st = self.st.borrow();
        if st.query.is_empty() {
            st.path.clone()
        } else {
            format!("{}?{}", st.path, st.query)
        }
    }

    /// The script name: set by `IMapHandlerProvider::SetScriptName`, else the URL path.
    pub(crate) fn script_name(&self) -> String {
        let st = self.st.borrow();
        st.script_name.clone().unwrap_or_else(|| st.path.clone())
    }

    /// The value of a server variable, or `None` if it does not exist.
    pub(crate) fn server_variable(&self, name: &str) -> Option<String> {
        if let Some(value) = self.st.borrow().server_vars.get(name) {
            return Some(value);
        }
        let upper = name.to_ascii_uppercase();
        if let Some(value) = super::websocket::server_variable(self, &upper) {
            return Some(value);
        }
        let url = self.current_url();
        let script = self.script_name();
        // A user set with SetUser is the request's user from then on: AUTH_USER / LOGON_USER are
        // its name, REMOTE_USER the name the client sent, AUTH_TYPE its scheme (IIS server
        // variables, https://learn.microsoft.com/en-us/iis/web-dev-reference/server-variables).
        let module_user = if matches!(upper.as_str(), "AUTH_TYPE" | "AUTH_USER" | "REMOTE_USER" | "LOGON_USER") { self.module_user() } else { None };
        let st = self.st.borrow();
        let host = st.headers.get("Host");
        let user = st.user.clone();
        if let Some((name, remote, kind)) = module_user {
            return Some(match upper.as_str() {
                "AUTH_TYPE" => kind,
                "REMOTE_USER" => remote,
                _ => name,
            });
        }
        let value = match upper.as_str() {
            "REQUEST_METHOD" => st.method.clone(),
            "URL" | "PATH_INFO" => st.path.clone(),
            "SCRIPT_NAME" => script,
            "QUERY_STRING" => st.query.clone(),
            "HTTP_URL" => url,
            "UNENCODED_URL" => st.raw_url.clone(),
            "CACHE_URL" => {
                let host = host
                    .clone()
                    .unwrap_or_else(|| self.local_addr.ip().to_string());
                format!("http://{host}{}", st.raw_url)
            }
            "REMOTE_ADDR" | "REMOTE_HOST" => self.remote_addr.ip().to_string(),
            "REMOTE_PORT" => self.remote_addr.port().to_string(),
            "LOCAL_ADDR" => self.local_addr.ip().to_string(),
            "SERVER_NAME" => match &host {
                Some(h) if h.starts_with('[') => h
                    .split(']')
                    .next()
                    .map_or_else(String::new, |s| format!("{s}]")),
                Some(h) => h.split(':').next().unwrap_or_default().to_owned(),
                None => self.local_addr.ip().to_string(),
            },
            "SERVER_PORT" => self.local_addr.port().to_string(),
            "SERVER_PORT_SECURE" => "0".to_owned(),
            "SERVER_PROTOCOL" | "HTTP_VERSION" => format!("HTTP/{}.{}", st.version.0, st.version.1),
            "HTTPS" => "off".to_owned(),
            "SERVER_SOFTWARE" => "Microsoft-IIS/10.0".to_owned(),
            "GATEWAY_INTERFACE" => "CGI/1.1".to_owned(),
            "APP_POOL_ID" => APP_POOL_NAME.to_owned(),
            "APPL_MD_PATH" => super::APPLICATION_ID.to_owned(),
            "APPL_PHYSICAL_PATH" => APPLICATION_PHYSICAL_PATH.to_owned(),
            "INSTANCE_ID" => super::SITE_ID.to_string(),
            "INSTANCE_META_PATH" => format!("/LM/W3SVC/{}", super::SITE_ID),
            "PATH_TRANSLATED" | "SCRIPT_TRANSLATED" => physical_path(&st.path),
            "CONTENT_LENGTH" => st
                .headers
                .get("Content-Length")
                .unwrap_or_else(|| "0".to_owned()),
            "CONTENT_TYPE" => st.headers.get("Content-Type").unwrap_or_default(),
            "AUTH_TYPE" => user.map(|(_, t)| t).unwrap_or_default(),
            "AUTH_USER" | "REMOTE_USER" | "LOGON_USER" => user.map(|(n, _)| n).unwrap_or_default(),
            "AUTH_PASSWORD" => String::new(),
            "ALL_RAW" => st
                .headers
                .0
                .iter()
                .map(|(n, v)| format!("{n}: {v}\r\n"))
                .collect(),
            "ALL_HTTP" => st
                .headers
                .0
                .iter()
                .map(|(n, v)| format!("{}:{v}\n", header_variable(n)))
                .collect(),
            _ => {
                if let Some(raw_name) = name.get(7..).filter(|_| upper.starts_with("HEADER_")) {
                    return st.headers.get(raw_name);
                }
                if upper.starts_with("HTTP_") {
                    let values: Vec<&str> = st
                        .headers
                        .0
                        .iter()
                        .filter(|(n, _)| header_variable(n) == upper)
                        .map(|(_, v)| v.as_str())
                        .collect();
                    return (!values.is_empty()).then(|| values.join(", "));
                }
                return None;
            }
        };
        Some(value)
    }

    /// (name, remote name, authentication type) of the user a module set with `SetUser`, read
    /// through its own `IHttpUser` (the module's object: in the DLL door, through its proxy).
    pub(crate) fn module_user(&self) -> Option<(String, String, String)> {
        let user = self.st.borrow().auth_user;
        if user.is_null() {
            return None;
        }
        // SAFETY: the request holds the reference SetUser handed over until `end` releases it;
        // the strings are NUL-terminated and owned by the user object, read at once.
        let (name, remote, kind) = unsafe {
            let v = &*(*user).lpVtbl;
            ((v.GetUserName)(user), (v.GetRemoteUserName)(user), (v.GetAuthenticationType)(user))
        };
        super::thunk::rethrow();
        // SAFETY: as above.
        unsafe { Some((from_pcwstr(name).unwrap_or_default(), from_pcwstr(remote).unwrap_or_default(), from_pcwstr(kind).unwrap_or_default())) }
    }

    /// Gives back IIS's reference to a user a module set (`DereferenceUser`); nothing for null.
    pub(crate) fn release_module_user(&self, user: *mut IHttpUser, why: &str) {
        if user.is_null() {
            return;
        }
        self.record("IHttpUser::DereferenceUser", format!("the module's user ({why})"));
        // SAFETY: `user` is the module's live user whose reference the request held since
        // SetUser; this gives that reference back, and the request no longer keeps the pointer.
        unsafe { ((*(*user).lpVtbl).DereferenceUser)(user) };
        super::thunk::rethrow();
    }

    /// Fills the `IHttpUser` the request has, or the one the module set, or null.
    fn user_ptr(&self, original: bool) -> *mut IHttpUser {
        let st = self.st.borrow();
        if !original && !st.auth_user.is_null() {
            return st.auth_user;
        }
        if st.user.is_some() {
            self.user.as_ptr()
        } else {
            std::ptr::null_mut()
        }
    }
}

/// Fills an `HTTP_TRACE_CONFIGURATION`: every provider is enabled, all areas, verbose.
///
/// # Safety
///
/// `config` must be null or point to a writable `HTTP_TRACE_CONFIGURATION`.
pub(crate) unsafe fn trace_configuration(config: *mut HTTP_TRACE_CONFIGURATION) -> HRESULT {
    // SAFETY: per the contract.
    match unsafe { config.as_mut() } {
        Some(config) => {
            config.dwAreas = u32::MAX;
            config.dwVerbosity = HTTP_TRACE_LEVEL_END;
            config.fProviderEnabled = 1;
            S_OK
        }
        None => E_INVALIDARG,
    }
}

/// `QuickTrace`'s arguments as a transcript detail: `"data1 | data2 | 0x00000000 | level 4"`.
///
/// # Safety
///
/// The strings must be null or NUL-terminated.
pub(crate) unsafe fn quick_trace_detail(
    data1: PCWSTR,
    data2: PCWSTR,
    hr: HRESULT,
    level: u8,
) -> String {
    // SAFETY: per the contract.
    let (data1, data2) = unsafe { (from_pcwstr(data1), from_pcwstr(data2)) };
    format!(
        "{} | {} | {} | level {level}",
        data1.unwrap_or_default(),
        data2.unwrap_or_default(),
        hr_str(hr)
    )
}

/// A trace event as a transcript detail: `"EventName: item=value, ..."`.
///
/// # Safety
///
/// `event` must be null or a valid `HTTP_TRACE_EVENT` whose items are valid for their types.
pub(crate) unsafe fn trace_event_detail(event: *mut HTTP_TRACE_EVENT) -> String {
    // SAFETY: per the contract.
    let Some(event) = (unsafe { event.as_ref() }) else {
        return "NULL".to_owned();
    };
    // SAFETY: the event name is null or NUL-terminated.
    let mut detail = unsafe { from_pcwstr(event.pszEventName) }
        .unwrap_or_else(|| format!("event {}", event.dwEvent));
    let items = if event.pEventItems.is_null() {
        &[][..]
    } else {
        // SAFETY: `pEventItems` holds `cEventItems` items.
        unsafe { std::slice::from_raw_parts(event.pEventItems, event.cEventItems as usize) }
    };
    let mut parts = Vec::new();
    for item in items {
        // SAFETY: item names are null or NUL-terminated.
        let name = unsafe { from_pcwstr(item.pszName) }.unwrap_or_default();
        // SAFETY: `pbData` holds `cbData` bytes of the declared type (strings: the string
        // pointer itself, as IIS's trace macros pass them).
        let value = unsafe { trace_item_value(item) };
        parts.push(format!("{name}={value}"));
    }
    if !parts.is_empty() {
        detail.push_str(": ");
        detail.push_str(&parts.join(", "));
    }
    detail
}

/// # Safety
///
/// `item.pbData` must be null or valid for `item.cbData` bytes of the item's type.
unsafe fn trace_item_value(item: &HTTP_TRACE_EVENT_ITEM) -> String {
    let data = item.pbData;
    if data.is_null() {
        return "NULL".to_owned();
    }
    let cb = item.cbData as usize;
    // SAFETY: per the contract, `data` holds `cb` bytes.
    let bytes = unsafe { std::slice::from_raw_parts(data as *const u8, cb) };
    let fixed = |n: usize| bytes.get(..n).map(|b| b.to_vec());
    match item.dwDataType {
        HTTP_TRACE_TYPE_LPCWSTR => {
            let units: Vec<u16> = bytes
                .chunks_exact(2)
                .map(|c| u16::from_ne_bytes([c[0], c[1]]))
                .take_while(|&u| u != 0)
                .collect();
            format!("{:?}", String::from_utf16_lossy(&units))
        }
        HTTP_TRACE_TYPE_LPCSTR => {
            let text: Vec<u8> = bytes.iter().copied().take_while(|&b| b != 0).collect();
            format!("{:?}", String::from_utf8_lossy(&text))
        }
        HTTP_TRACE_TYPE_BOOL => fixed(4).map_or_else(String::new, |b| {
            (i32::from_ne_bytes([b[0], b[1], b[2], b[3]]) != 0).to_string()
        }),
        HTTP_TRACE_TYPE_BYTE | HTTP_TRACE_TYPE_CHAR => {
            fixed(1).map_or_else(String::new, |b| b[0].to_string())
        }
        HTTP_TRACE_TYPE_SHORT => fixed(2).map_or_else(String::new, |b| {
            i16::from_ne_bytes([b[0], b[1]]).to_string()
        }),
        HTTP_TRACE_TYPE_USHORT => fixed(2).map_or_else(String::new, |b| {
            u16::from_ne_bytes([b[0], b[1]]).to_string()
        }),
        HTTP_TRACE_TYPE_LONG => fixed(4).map_or_else(String::new, |b| {
            i32::from_ne_bytes([b[0], b[1], b[2], b[3]]).to_string()
        }),
        HTTP_TRACE_TYPE_ULONG => fixed(4).map_or_else(String::new, |b| {
            u32::from_ne_bytes([b[0], b[1], b[2], b[3]]).to_string()
        }),
        HTTP_TRACE_TYPE_LONGLONG => fixed(8).map_or_else(String::new, |b| {
            i64::from_ne_bytes(b.try_into().unwrap_or([0; 8])).to_string()
        }),
        HTTP_TRACE_TYPE_ULONGLONG => fixed(8).map_or_else(String::new, |b| {
            u64::from_ne_bytes(b.try_into().unwrap_or([0; 8])).to_string()
        }),
        other => format!("<type {other}, {cb} bytes>"),
    }
}

/// Reads a request-side ANSI string argument for the transcript (`NULL` when null).
///
/// # Safety
///
/// `p` must be null or NUL-terminated.
unsafe fn arg_a(p: PCSTR) -> String {
    // SAFETY: per the contract.
    unsafe { from_pcstr(p) }.map_or_else(|| "NULL".to_owned(), |s| format!("{s:?}"))
}

// ---------------------------------------------------------------------------------------------
// IHttpContext4

thunks! {
    fn ctx_get_site(this: *mut IHttpContext) -> *mut IHttpSite {
        // SAFETY: called on the context of a running request.
        let req = unsafe { req(this) };
        req.record("IHttpContext::GetSite", String::new());
        req.server().site.as_ptr()
    }

    fn ctx_get_application(this: *mut IHttpContext) -> *mut IHttpApplication {
        // SAFETY: called on the context of a running request.
        let req = unsafe { req(this) };
        req.record("IHttpContext::GetApplication", String::new());
        req.server().app.as_ptr()
    }

    fn ctx_get_connection(this: *mut IHttpContext) -> *mut IHttpConnection {
        // SAFETY: called on the context of a running request.
        let req = unsafe { req(this) };
        req.record("IHttpContext::GetConnection", String::new());
        req.connection.as_ptr()
    }

    fn ctx_get_request(this: *mut IHttpContext) -> *mut IHttpRequest {
        // SAFETY: called on the context of a running request.
        let req = unsafe { req(this) };
        req.record("IHttpContext::GetRequest", String::new());
        req.request.as_ptr()
    }

    fn ctx_get_response(this: *mut IHttpContext) -> *mut IHttpResponse {
        // SAFETY: called on the context of a running request.
        let req = unsafe { req(this) };
        req.record("IHttpContext::GetResponse", String::new());
        req.response.as_ptr()
    }

    fn ctx_get_response_headers_sent(this: *mut IHttpContext) -> BOOL {
        // SAFETY: called on the context of a running request.
        let req = unsafe { req(this) };
        let sent = req.st.borrow().response.head.is_some();
        req.record("IHttpContext::GetResponseHeadersSent", format!("-> {}", if sent { "TRUE" } else { "FALSE" }));
        sent as BOOL
    }

    fn ctx_get_user(this: *mut IHttpContext) -> *mut IHttpUser {
        // SAFETY: called on the context of a running request.
        let req = unsafe { req(this) };
        let user = req.user_ptr(false);
        req.record("IHttpContext::GetUser", if user.is_null() { "-> NULL".to_owned() } else { String::new() });
        user
    }

    fn ctx_get_module_context_container(this: *mut IHttpContext) -> *mut IHttpModuleContextContainer {
        // SAFETY: called on the context of a running request.
        let req = unsafe { req(this) };
        req.record("IHttpContext::GetModuleContextContainer", String::new());
        req.store.as_ptr()
    }

    fn ctx_indicate_completion(this: *mut IHttpContext, status: REQUEST_NOTIFICATION_STATUS) {
        // SAFETY: called on the context of a running request (from any thread: only the
        // thread-safe queue is touched off the request's thread).
        let req = unsafe { req(this) };
        if std::thread::current().id() != req.thread {
            req.completions.push(crate::pipeline::Completion::Indicated(status));
            return;
        }
        req.record("IHttpContext::IndicateCompletion", status_name(status));
        req.st.borrow_mut().indicated = Some(status);
    }

    fn ctx_post_completion(this: *mut IHttpContext, bytes: u32) -> HRESULT {
        // SAFETY: as in `ctx_indicate_completion`.
        let req = unsafe { req(this) };
        if std::thread::current().id() != req.thread {
            req.completions.push(crate::pipeline::Completion::Posted(bytes));
            return S_OK;
        }
        req.record("IHttpContext::PostCompletion", format!("{bytes} bytes"));
        req.st.borrow_mut().posted = Some(bytes);
        S_OK
    }

    fn ctx_disable_notifications(this: *mut IHttpContext, notifications: u32, post: u32) {
        // SAFETY: called on the context of a running request.
        let req = unsafe { req(this) };
        req.record(
            "IHttpContext::DisableNotifications",
            format!("{}, post {}", request_mask_names(notifications), request_mask_names(post)),
        );
        let mut st = req.st.borrow_mut();
        st.disabled.0 |= notifications;
        st.disabled.1 |= post;
    }

    fn ctx_get_next_notification(this: *mut IHttpContext, _status: REQUEST_NOTIFICATION_STATUS, notification: *mut u32, is_post: *mut BOOL, module: *mut *mut CHttpModule, provider: *mut *mut IHttpEventProvider) -> BOOL {
        // SAFETY: called on the context of a running request; the out-pointers are null or
        // writable.
        unsafe {
            req(this).record("IHttpContext::GetNextNotification", "-> FALSE".to_owned());
            put(notification, 0);
            put(is_post, 0);
            put(module, std::ptr::null_mut());
            put(provider, std::ptr::null_mut());
        }
        0
    }

    fn ctx_get_is_last_notification(this: *mut IHttpContext, _status: REQUEST_NOTIFICATION_STATUS) -> BOOL {
        // SAFETY: called on the context of a running request.
        unsafe { req(this) }.record("IHttpContext::GetIsLastNotification", "-> FALSE".to_owned());
        0
    }

    fn ctx_execute_request(this: *mut IHttpContext, asynchronous: BOOL, child: *mut IHttpContext, flags: u32, user: *mut IHttpUser, expected: *mut BOOL) -> HRESULT {
        // SAFETY: called on the context of a running request; `expected` is null or writable.
        unsafe {
            put(expected, 0);
            if asynchronous == 0 {
                // "Attempting to execute a synchronous child request will return
                // ERROR_NOT_SUPPORTED" (fAsync is "always true")
                // (https://learn.microsoft.com/en-us/iis/web-development-reference/native-code-api-reference/ihttpcontext-executerequest-method).
                req(this).record("IHttpContext::ExecuteRequest", format!("flags {flags:#x}, synchronous -> HRESULT_FROM_WIN32(ERROR_NOT_SUPPORTED)"));
                return crate::strings::hresult_from_win32(50);
            }
        }
        // SAFETY: as above; `child` is only compared with this request's clones (child.rs).
        let (hr, pending) = unsafe { req(this) }.execute_child(child, flags, !user.is_null());
        // SAFETY: `expected` is null or writable.
        unsafe { put(expected, pending as BOOL) };
        hr
    }

    fn ctx_get_execute_flags(this: *mut IHttpContext) -> u32 {
        // SAFETY: called on the context of a running request.
        unsafe { req(this) }.record("IHttpContext::GetExecuteFlags", "-> 0".to_owned());
        0
    }

    fn ctx_get_server_variable_a(this: *mut IHttpContext, name: PCSTR, value: *mut PCSTR, len: *mut u32) -> HRESULT {
        // SAFETY: called on the context of a running request; `name` is null or NUL-terminated.
        let (req, name) = unsafe { (req(this), from_pcstr(name)) };
        let (hr, detail) = match (name, value.is_null()) {
            (Some(name), false) => match req.server_variable(&name) {
                Some(v) => {
                    let p = req.keep.volatile_cstr(Side::Request, v.as_bytes());
                    // SAFETY: `value` is writable; `len` is null or writable.
                    unsafe {
                        value.write(p);
                        put(len, len32("a server variable", v.len()));
                    }
                    (S_OK, format!("{name:?} -> {v:?}"))
                }
                None => {
                    // SAFETY: as above.
                    unsafe {
                        value.write(std::ptr::null());
                        put(len, 0);
                    }
                    (HR_INVALID_INDEX, format!("{name:?} -> ERROR_INVALID_INDEX"))
                }
            },
            (name, _) => (E_INVALIDARG, format!("{:?} -> E_INVALIDARG", name.unwrap_or_default())),
        };
        req.record("IHttpContext::GetServerVariable", detail);
        hr
    }

    fn ctx_get_server_variable_w(this: *mut IHttpContext, name: PCSTR, value: *mut PCWSTR, len: *mut u32) -> HRESULT {
        // SAFETY: called on the context of a running request; `name` is null or NUL-terminated.
        let (req, name) = unsafe { (req(this), from_pcstr(name)) };
        let (hr, detail) = match (name, value.is_null()) {
            (Some(name), false) => match req.server_variable(&name) {
                Some(v) => {
                    let (p, n) = req.keep.volatile_wstr(Side::Request, &v);
                    // SAFETY: `value` is writable; `len` is null or writable.
                    unsafe {
                        value.write(p);
                        put(len, n);
                    }
                    (S_OK, format!("{name:?} -> {v:?} (UTF-16)"))
                }
                None => {
                    // SAFETY: as above.
                    unsafe {
                        value.write(std::ptr::null());
                        put(len, 0);
                    }
                    (HR_INVALID_INDEX, format!("{name:?} (UTF-16) -> ERROR_INVALID_INDEX"))
                }
            },
            (name, _) => (E_INVALIDARG, format!("{:?} (UTF-16) -> E_INVALIDARG", name.unwrap_or_default())),
        };
        req.record("IHttpContext::GetServerVariable", detail);
        hr
    }

    fn ctx_set_server_variable(this: *mut IHttpContext, name: PCSTR, value: PCWSTR) -> HRESULT {
        // SAFETY: called on the context of a running request; the strings are null or
        // NUL-terminated.
        let (req, name, value) = unsafe { (req(this), from_pcstr(name), from_pcwstr(value)) };
        let Some(name) = name else {
            req.record("IHttpContext::SetServerVariable", "NULL name -> E_INVALIDARG".to_owned());
            return E_INVALIDARG;
        };
        match &value {
            Some(v) => req.st.borrow_mut().server_vars.replace(&name, v.clone()),
            None => {
                req.st.borrow_mut().server_vars.delete(&name);
            }
        }
        req.keep.release(Side::Request);
        req.record("IHttpContext::SetServerVariable", format!("{name:?} = {}", value.map_or_else(|| "NULL".to_owned(), |v| format!("{v:?}"))));
        S_OK
    }

    fn ctx_allocate_request_memory(this: *mut IHttpContext, cb: u32) -> *mut c_void {
        // SAFETY: called on the context of a running request.
        let req = unsafe { req(this) };
        req.record("IHttpContext::AllocateRequestMemory", bytes_detail(cb));
        req.arena.allocate(cb)
    }

    fn ctx_get_url_info(this: *mut IHttpContext) -> *mut IHttpUrlInfo {
        // SAFETY: called on the context of a running request.
        unsafe { req(this) }.record("IHttpContext::GetUrlInfo", "-> NULL (not simulated)".to_owned());
        std::ptr::null_mut()
    }

    fn ctx_get_metadata(this: *mut IHttpContext) -> *mut IMetadataInfo {
        // SAFETY: called on the context of a running request.
        let req = unsafe { req(this) };
        let path = super::config::meta_path(&req.current_url());
        req.record("IHttpContext::GetMetadata", format!("-> {path:?}"));
        req.server().metadata_for(&path)
    }

    fn ctx_get_physical_path(this: *mut IHttpContext, len: *mut u32) -> PCWSTR {
        // SAFETY: called on the context of a running request.
        let req = unsafe { req(this) };
        let path = physical_path(&req.script_name());
        let (p, n) = req.keep.volatile_wstr(Side::Request, &path);
        // SAFETY: `len` is null or writable.
        unsafe { put(len, n) };
        req.record("IHttpContext::GetPhysicalPath", format!("-> {path:?}"));
        p
    }

    fn ctx_get_script_name(this: *mut IHttpContext, len: *mut u32) -> PCWSTR {
        // SAFETY: called on the context of a running request.
        let req = unsafe { req(this) };
        let name = req.script_name();
        let (p, n) = req.keep.volatile_wstr(Side::Request, &name);
        // SAFETY: `len` is null or writable.
        unsafe { put(len, n) };
        req.record("IHttpContext::GetScriptName", format!("-> {name:?}"));
        p
    }

    fn ctx_get_script_translated(this: *mut IHttpContext, len: *mut u32) -> PCWSTR {
        // SAFETY: called on the context of a running request.
        let req = unsafe { req(this) };
        let path = physical_path(&req.script_name());
        let (p, n) = req.keep.volatile_wstr(Side::Request, &path);
        // SAFETY: `len` is null or writable.
        unsafe { put(len, n) };
        req.record("IHttpContext::GetScriptTranslated", format!("-> {path:?}"));
        p
    }

    fn ctx_get_script_map(this: *mut IHttpContext) -> *mut IScriptMapInfo {
        // SAFETY: called on the context of a running request.
        unsafe { req(this) }.record("IHttpContext::GetScriptMap", "-> NULL (not simulated)".to_owned());
        std::ptr::null_mut()
    }

    fn ctx_set_request_handled(this: *mut IHttpContext) {
        // SAFETY: called on the context of a running request.
        let req = unsafe { req(this) };
        req.record("IHttpContext::SetRequestHandled", String::new());
        req.st.borrow_mut().handled = true;
    }

    fn ctx_get_file_info(this: *mut IHttpContext) -> *mut IHttpFileInfo {
        // SAFETY: called on the context of a running request.
        unsafe { req(this) }.record("IHttpContext::GetFileInfo", "-> NULL (not simulated)".to_owned());
        std::ptr::null_mut()
    }

    fn ctx_map_path(this: *mut IHttpContext, url: PCWSTR, buffer: PWSTR, size: *mut u32) -> HRESULT {
        // SAFETY: called on the context of a running request; `url` is null or NUL-terminated.
        let (req, url) = unsafe { (req(this), from_pcwstr(url)) };
        let Some(url) = url.filter(|_| !size.is_null()) else {
            req.record("IHttpContext::MapPath", "NULL argument -> E_INVALIDARG".to_owned());
            return E_INVALIDARG;
        };
        let index = req.record("IHttpContext::MapPath", format!("{url:?}"));
        let mut physical = physical_path(&url);
        if req.wants(Notification::MapPath, false) {
            req.st.borrow_mut().map_path = (url.clone(), physical.clone());
            req.notify(Notification::MapPath, false, req.map_path_provider.as_ptr());
            physical = req.st.borrow().map_path.1.clone();
        }
        let units = wide(&physical);
        let needed = len32("the mapped path (in bytes)", units.len() * 2);
        // SAFETY: `size` is non-null (checked) and points to the buffer size in bytes.
        let have = unsafe { *size };
        let hr = if buffer.is_null() || have < needed {
            HR_INSUFFICIENT_BUFFER
        } else {
            // SAFETY: `buffer` holds `have` >= `needed` writable bytes.
            unsafe { std::ptr::copy_nonoverlapping(units.as_ptr(), buffer, units.len()) };
            S_OK
        };
        // SAFETY: `size` is writable.
        unsafe { *size = needed };
        req.patch_call(index, format!("{url:?} -> {physical:?}, {needed} bytes needed, {have} given -> {}", hr_str(hr)));
        hr
    }

    fn ctx_notify_custom_notification(this: *mut IHttpContext, provider: *mut ICustomNotificationProvider, expected: *mut BOOL) -> HRESULT {
        // SAFETY: called on the context of a running request; `expected` is null or writable.
        let req = unsafe { req(this) };
        // SAFETY: as above.
        unsafe { put(expected, 0) };
        if provider.is_null() {
            req.record("IHttpContext::NotifyCustomNotification", "NULL provider -> E_INVALIDARG".to_owned());
            return E_INVALIDARG;
        }
        // SAFETY: `provider` is the module's live ICustomNotificationProvider.
        let kind = unsafe { from_pcwstr(((*(*provider).lpVtbl).QueryNotificationType)(provider)) }.unwrap_or_default();
        req.record("IHttpContext::NotifyCustomNotification", format!("{kind:?}"));
        if req.wants(Notification::CustomRequestNotification, false) {
            req.notify(Notification::CustomRequestNotification, false, provider.cast());
        }
        S_OK
    }

    fn ctx_get_parent_context(this: *mut IHttpContext) -> *mut IHttpContext {
        // SAFETY: called on the context of a running request.
        let req = unsafe { req(this) };
        let parent = req.parent.get();
        if parent.is_null() {
            req.record("IHttpContext::GetParentContext", "-> NULL".to_owned());
            return std::ptr::null_mut();
        }
        req.record("IHttpContext::GetParentContext", "-> the context this one was cloned from".to_owned());
        // SAFETY: a clone's parent outlives it (it owns it, child.rs).
        unsafe { &*parent }.context_ptr()
    }

    fn ctx_get_root_context(this: *mut IHttpContext) -> *mut IHttpContext {
        // SAFETY: called on the context of a running request.
        let req = unsafe { req(this) };
        let mut root = req;
        while !root.parent.get().is_null() {
            // SAFETY: as in `ctx_get_parent_context`.
            root = unsafe { &*root.parent.get() };
        }
        req.record("IHttpContext::GetRootContext", if std::ptr::eq(root, req) { "-> this context" } else { "-> the top-level request's context" }.to_owned());
        root.context_ptr()
    }

    fn ctx_clone_context(this: *mut IHttpContext, flags: u32, clone: *mut *mut IHttpContext) -> HRESULT {
        // SAFETY: called on the context of a running request.
        let req = unsafe { req(this) };
        if clone.is_null() {
            req.record("IHttpContext::CloneContext", format!("flags {flags:#x}, ppHttpContext NULL -> E_INVALIDARG"));
            return windows_sys::Win32::Foundation::E_INVALIDARG;
        }
        let child = req.clone_child(flags);
        // SAFETY: `clone` is writable (checked not null; the caller's out-pointer).
        unsafe { clone.write(child) };
        0
    }

    fn ctx_release_cloned_context(this: *mut IHttpContext) -> HRESULT {
        // SAFETY: called on a context of a running request (a clone stays allocated until its
        // parent ends, see child.rs).
        unsafe { req(this) }.release_clone()
    }

    fn ctx_get_current_execution_stats(this: *mut IHttpContext, notification: *mut u32, notification_start: *mut u32, module: *mut PCWSTR, module_start: *mut u32, async_notification: *mut u32, async_start: *mut u32) -> HRESULT {
        // SAFETY: called on the context of a running request.
        let req = unsafe { req(this) };
        let (current, _) = req.current();
        let flag = current.map_or(0, Notification::flag);
        // SAFETY: the out-pointers are null or writable.
        unsafe {
            put(notification, flag);
            put(notification_start, 0);
            put(module, req.module_name_w());
            put(module_start, 0);
            put(async_notification, 0);
            put(async_start, 0);
        }
        req.record("IHttpContext::GetCurrentExecutionStats", format!("-> {}", request_mask_names(flag)));
        S_OK
    }

    fn ctx_get_trace_context(this: *mut IHttpContext) -> *mut IHttpTraceContext {
        // SAFETY: called on the context of a running request.
        let req = unsafe { req(this) };
        req.record("IHttpContext::GetTraceContext", String::new());
        req.trace.as_ptr()
    }

    fn ctx_get_server_var_changes(this: *mut IHttpContext, _old: u32, new: *mut u32, count: *mut u32, names: *mut *mut PCSTR, values: *mut *mut PCWSTR, diffed: *mut u32, indices: *mut *mut u32) -> HRESULT {
        // SAFETY: called on the context of a running request; the out-pointers are null or
        // writable.
        unsafe {
            req(this).record("IHttpContext::GetServerVarChanges", "-> E_NOTIMPL".to_owned());
            put_no_changes(new, count, names, values, diffed, indices);
        }
        E_NOTIMPL
    }

    fn ctx_cancel_io(this: *mut IHttpContext) -> HRESULT {
        // SAFETY: called on the context of a running request.
        unsafe { req(this) }.record("IHttpContext::CancelIo", "-> S_OK".to_owned());
        S_OK
    }

    fn ctx_map_handler(this: *mut IHttpContext, _site_id: u32, _site: PCWSTR, url: PCWSTR, verb: PCSTR, map: *mut *mut IScriptMapInfo, _ignore_wildcards: BOOL) -> HRESULT {
        // SAFETY: called on the context of a running request; the strings are null or
        // NUL-terminated; `map` is null or writable.
        unsafe {
            let detail = format!("{} {} -> E_NOTIMPL", arg_a(verb), from_pcwstr(url).unwrap_or_default());
            req(this).record("IHttpContext::MapHandler", detail);
            put(map, std::ptr::null_mut());
        }
        E_NOTIMPL
    }

    fn ctx_get_extended_interface(this: *mut IHttpContext, version: HTTP_CONTEXT_INTERFACE_VERSION, out: *mut *mut c_void) -> HRESULT {
        // SAFETY: called on the context of a running request; `out` is null or writable.
        unsafe {
            req(this).record("IHttpContext::GetExtendedInterface", format!("version {version} -> E_NOINTERFACE"));
            put(out, std::ptr::null_mut());
        }
        E_NOINTERFACE
    }

    fn ctx2_get_original_user(this: *mut IHttpContext2) -> *mut IHttpUser {
        // SAFETY: called on the context of a running request.
        let req = unsafe { req(this) };
        let user = req.user_ptr(true);
        req.record("IHttpContext2::GetOriginalUser", if user.is_null() { "-> NULL".to_owned() } else { String::new() });
        user
    }

    fn ctx3_get_named_context_container(this: *mut IHttpContext3) -> *mut INamedContextContainer {
        // SAFETY: called on the context of a running request.
        let req = unsafe { req(this) };
        req.record("IHttpContext3::GetNamedContextContainer", String::new());
        req.named_store.as_ptr()
    }

    fn ctx3_enable_full_duplex(this: *mut IHttpContext3) {
        // SAFETY: called on the context of a running request.
        let req = unsafe { req(this) };
        req.record("IHttpContext3::EnableFullDuplex", String::new());
        req.st.borrow_mut().full_duplex = true;
    }

    fn ctx3_inherit_server_variable(this: *mut IHttpContext3, name: PCSTR, _fail: BOOL) -> HRESULT {
        // SAFETY: called on the context of a running request; `name` is null or NUL-terminated.
        unsafe {
            let detail = format!("{} -> E_NOTIMPL (no parent request)", arg_a(name));
            req(this).record("IHttpContext3::InheritServerVariable", detail);
        }
        E_NOTIMPL
    }

    fn ctx3_post_completion(this: *mut IHttpContext3, bytes: u32, _routine: LPOVERLAPPED_COMPLETION_ROUTINE, _context: *mut c_void) -> HRESULT {
        // SAFETY: called on the context of a running request.
        unsafe { req(this) }.record("IHttpContext3::PostCompletion", format!("{bytes} bytes, with a routine -> E_NOTIMPL"));
        E_NOTIMPL
    }

    fn ctx4_get_request_start_time(this: *mut IHttpContext4) -> u64 {
        // SAFETY: called on the context of a running request.
        let req = unsafe { req(this) };
        let ms = req.started.duration_since(req.server().started).as_millis() as u64;
        req.record("IHttpContext4::GetRequestStartTime", format!("-> {ms} (ms since server start)"));
        ms
    }

    fn ctx4_get_request_elapsed_time(this: *mut IHttpContext4) -> u64 {
        // SAFETY: called on the context of a running request.
        let req = unsafe { req(this) };
        let ms = req.started.elapsed().as_millis() as u64;
        req.record("IHttpContext4::GetRequestElapsedTime", format!("-> {ms}"));
        ms
    }
}

pub(crate) static CONTEXT_VTBL: IHttpContext4_Vtbl = IHttpContext4_Vtbl {
    base__: IHttpContext3_Vtbl {
        base__: IHttpContext2_Vtbl {
            base__: IHttpContext_Vtbl {
                GetSite: ctx_get_site,
                GetApplication: ctx_get_application,
                GetConnection: ctx_get_connection,
                GetRequest: ctx_get_request,
                GetResponse: ctx_get_response,
                GetResponseHeadersSent: ctx_get_response_headers_sent,
                GetUser: ctx_get_user,
                GetModuleContextContainer: ctx_get_module_context_container,
                IndicateCompletion: ctx_indicate_completion,
                PostCompletion: ctx_post_completion,
                DisableNotifications: ctx_disable_notifications,
                GetNextNotification: ctx_get_next_notification,
                GetIsLastNotification: ctx_get_is_last_notification,
                ExecuteRequest: ctx_execute_request,
                GetExecuteFlags: ctx_get_execute_flags,
                GetServerVariable_2: ctx_get_server_variable_a,
                GetServerVariable: ctx_get_server_variable_w,
                SetServerVariable: ctx_set_server_variable,
                AllocateRequestMemory: ctx_allocate_request_memory,
                GetUrlInfo: ctx_get_url_info,
                GetMetadata: ctx_get_metadata,
                GetPhysicalPath: ctx_get_physical_path,
                GetScriptName: ctx_get_script_name,
                GetScriptTranslated: ctx_get_script_translated,
                GetScriptMap: ctx_get_script_map,
                SetRequestHandled: ctx_set_request_handled,
                GetFileInfo: ctx_get_file_info,
                MapPath: ctx_map_path,
                NotifyCustomNotification: ctx_notify_custom_notification,
                GetParentContext: ctx_get_parent_context,
                GetRootContext: ctx_get_root_context,
                CloneContext: ctx_clone_context,
                ReleaseClonedContext: ctx_release_cloned_context,
                GetCurrentExecutionStats: ctx_get_current_execution_stats,
                GetTraceContext: ctx_get_trace_context,
                GetServerVarChanges: ctx_get_server_var_changes,
                CancelIo: ctx_cancel_io,
                MapHandler: ctx_map_handler,
                GetExtendedInterface: ctx_get_extended_interface,
            },
            GetOriginalUser: ctx2_get_original_user,
        },
        GetNamedContextContainer: ctx3_get_named_context_container,
        EnableFullDuplex: ctx3_enable_full_duplex,
        InheritServerVariable: ctx3_inherit_server_variable,
        PostCompletion: ctx3_post_completion,
    },
    GetRequestStartTime: ctx4_get_request_start_time,
    GetRequestElapsedTime: ctx4_get_request_elapsed_time,
};

// ---------------------------------------------------------------------------------------------
// IHttpConnection, IModuleAllocator, IHttpUser, IHttpTraceContext

thunks! {
    fn conn_is_connected(this: *mut IHttpConnection) -> BOOL {
        // SAFETY: called on the connection of a running request.
        let req = unsafe { req(this) };
        let connected = !req.st.borrow().client_gone && !matches!(req.st.borrow().response.disconnect, Disconnect::Reset | Disconnect::Closed);
        req.record("IHttpConnection::IsConnected", format!("-> {}", if connected { "TRUE" } else { "FALSE" }));
        connected as BOOL
    }

    fn conn_allocate_memory(this: *mut IHttpConnection, cb: u32) -> *mut c_void {
        // SAFETY: called on the connection of a running request.
        let req = unsafe { req(this) };
        req.record("IHttpConnection::AllocateMemory", bytes_detail(cb));
        // One request per connection: connection memory lives as long as the request.
        req.arena.allocate(cb)
    }

    fn conn_get_container(this: *mut IHttpConnection) -> *mut IHttpConnectionModuleContextContainer {
        // SAFETY: called on the connection of a running request.
        let req = unsafe { req(this) };
        req.record("IHttpConnection::GetModuleContextContainer", String::new());
        req.connection_store.as_ptr()
    }

    fn alloc_allocate_memory(this: *mut IModuleAllocator, cb: u32) -> *mut c_void {
        // SAFETY: called on the allocator of a running request.
        let req = unsafe { req(this) };
        req.record("IModuleAllocator::AllocateMemory", bytes_detail(cb));
        req.arena.allocate(cb)
    }

    fn user_get_remote_user_name(this: *mut IHttpUser) -> PCWSTR {
        // SAFETY: called on the user of a running request.
        let req = unsafe { req(this) };
        let name = req.st.borrow().user.clone().map(|(n, _)| n).unwrap_or_default();
        req.record("IHttpUser::GetRemoteUserName", format!("-> {name:?}"));
        req.keep.wstr(&name).0
    }

    fn user_get_user_name(this: *mut IHttpUser) -> PCWSTR {
        // SAFETY: called on the user of a running request.
        let req = unsafe { req(this) };
        let name = req.st.borrow().user.clone().map(|(n, _)| n).unwrap_or_default();
        req.record("IHttpUser::GetUserName", format!("-> {name:?}"));
        req.keep.wstr(&name).0
    }

    fn user_get_authentication_type(this: *mut IHttpUser) -> PCWSTR {
        // SAFETY: called on the user of a running request.
        let req = unsafe { req(this) };
        let kind = req.st.borrow().user.clone().map(|(_, t)| t).unwrap_or_default();
        req.record("IHttpUser::GetAuthenticationType", format!("-> {kind:?}"));
        req.keep.wstr(&kind).0
    }

    fn user_get_password(this: *mut IHttpUser) -> PCWSTR {
        // SAFETY: called on the user of a running request.
        let req = unsafe { req(this) };
        req.record("IHttpUser::GetPassword", "-> \"\"".to_owned());
        req.keep.wstr("").0
    }

    fn user_get_impersonation_token(this: *mut IHttpUser) -> HANDLE {
        // SAFETY: called on the user of a running request.
        unsafe { req(this) }.record("IHttpUser::GetImpersonationToken", "-> NULL".to_owned());
        std::ptr::null_mut()
    }

    fn user_get_primary_token(this: *mut IHttpUser) -> HANDLE {
        // SAFETY: called on the user of a running request.
        unsafe { req(this) }.record("IHttpUser::GetPrimaryToken", "-> NULL".to_owned());
        std::ptr::null_mut()
    }

    fn user_reference(this: *mut IHttpUser) {
        // SAFETY: called on the user of a running request.
        unsafe { req(this) }.record("IHttpUser::ReferenceUser", String::new());
    }

    fn user_dereference(this: *mut IHttpUser) {
        // SAFETY: called on the user of a running request.
        unsafe { req(this) }.record("IHttpUser::DereferenceUser", String::new());
    }

    fn user_supports_is_in_role(this: *mut IHttpUser) -> BOOL {
        // SAFETY: called on the user of a running request.
        unsafe { req(this) }.record("IHttpUser::SupportsIsInRole", "-> FALSE".to_owned());
        0
    }

    fn user_is_in_role(this: *mut IHttpUser, role: PCWSTR, in_role: *mut BOOL) -> HRESULT {
        // SAFETY: called on the user of a running request; `role` is null or NUL-terminated;
        // `in_role` is null or writable.
        unsafe {
            let detail = format!("{:?} -> E_NOTIMPL", from_pcwstr(role).unwrap_or_default());
            req(this).record("IHttpUser::IsInRole", detail);
            put(in_role, 0);
        }
        E_NOTIMPL
    }

    fn user_get_user_variable(this: *mut IHttpUser, name: PCSTR) -> *mut c_void {
        // SAFETY: called on the user of a running request; `name` is null or NUL-terminated.
        unsafe {
            let detail = format!("{} -> NULL", arg_a(name));
            req(this).record("IHttpUser::GetUserVariable", detail);
        }
        std::ptr::null_mut()
    }

    fn trace_get_configuration(this: *mut IHttpTraceContext, config: *mut HTTP_TRACE_CONFIGURATION) -> HRESULT {
        // SAFETY: called on the trace context of a running request; `config` is null or valid.
        let (req, hr) = unsafe { (req(this), trace_configuration(config)) };
        req.record("IHttpTraceContext::GetTraceConfiguration", format!("-> {}", hr_str(hr)));
        hr
    }

    fn trace_set_configuration(this: *mut IHttpTraceContext, _module: HTTP_MODULE_ID, _config: *mut HTTP_TRACE_CONFIGURATION, count: u32) -> HRESULT {
        // SAFETY: called on the trace context of a running request.
        unsafe { req(this) }.record("IHttpTraceContext::SetTraceConfiguration", format!("{count} entries"));
        S_OK
    }

    fn trace_raise_event(this: *mut IHttpTraceContext, event: *mut HTTP_TRACE_EVENT) -> HRESULT {
        // SAFETY: called on the trace context of a running request; `event` is null or valid.
        let (req, detail) = unsafe { (req(this), trace_event_detail(event)) };
        req.record("IHttpTraceContext::RaiseTraceEvent", detail);
        if event.is_null() { E_INVALIDARG } else { S_OK }
    }

    fn trace_get_activity_id(this: *mut IHttpTraceContext) -> *const GUID {
        // SAFETY: called on the trace context of a running request.
        unsafe { req(this) }.record("IHttpTraceContext::GetTraceActivityId", String::new());
        &ACTIVITY_ID
    }

    fn trace_quick_trace(this: *mut IHttpTraceContext, data1: PCWSTR, data2: PCWSTR, hr: HRESULT, level: u8) -> HRESULT {
        // SAFETY: called on the trace context of a running request; the strings are null or
        // NUL-terminated.
        let (req, detail) = unsafe { (req(this), quick_trace_detail(data1, data2, hr, level)) };
        req.record("IHttpTraceContext::QuickTrace", detail);
        S_OK
    }
}

pub(crate) static CONNECTION_VTBL: IHttpConnection_Vtbl = IHttpConnection_Vtbl {
    IsConnected: conn_is_connected,
    AllocateMemory: conn_allocate_memory,
    GetModuleContextContainer: conn_get_container,
};

pub(crate) static ALLOCATOR_VTBL: IModuleAllocator_Vtbl = IModuleAllocator_Vtbl {
    AllocateMemory: alloc_allocate_memory,
};

pub(crate) static USER_VTBL: IHttpUser_Vtbl = IHttpUser_Vtbl {
    GetRemoteUserName: user_get_remote_user_name,
    GetUserName: user_get_user_name,
    GetAuthenticationType: user_get_authentication_type,
    GetPassword: user_get_password,
    GetImpersonationToken: user_get_impersonation_token,
    GetPrimaryToken: user_get_primary_token,
    ReferenceUser: user_reference,
    DereferenceUser: user_dereference,
    SupportsIsInRole: user_supports_is_in_role,
    IsInRole: user_is_in_role,
    GetUserVariable: user_get_user_variable,
};

pub(crate) static TRACE_VTBL: IHttpTraceContext_Vtbl = IHttpTraceContext_Vtbl {
    GetTraceConfiguration: trace_get_configuration,
    SetTraceConfiguration: trace_set_configuration,
    RaiseTraceEvent: trace_raise_event,
    GetTraceActivityId: trace_get_activity_id,
    QuickTrace: trace_quick_trace,
};

/// `"N bytes"` for the allocation entries, in one allocation whatever N's digit count (a
/// `format!` grows its string once more for a three-digit N, which would make a module's cost in
/// the benchmarks depend on the size of its objects).
fn bytes_detail(cb: u32) -> String {
    use std::fmt::Write;
    let mut detail = String::with_capacity(16);
    let _ = write!(detail, "{cb} bytes");
    detail
}
