//! The request notification providers: `IHttpEventProvider`, `IAuthenticationProvider`,
//! `IMapHandlerProvider`, `ISendResponseProvider`, `IMapPathProvider`, `IReadEntityProvider`, and
//! `IHttpCompletionInfo2` for `OnAsyncCompletion`.

use std::ffi::c_void;

use httpserv_sys::*;
use windows_sys::core::{BOOL, HRESULT, PCWSTR};
use windows_sys::Win32::Networking::HttpServer::{HttpLogDataTypeFields, HTTP_LOG_DATA, HTTP_LOG_FIELDS_DATA};

use super::pipeline::{req, RequestCtx};
use super::strings::*;
use super::thunk::thunks;

thunks! {
    fn ev_set_error_status(this: *mut IHttpEventProvider, hr: HRESULT) {
        // SAFETY: called on a provider of a running request.
        unsafe { req(this) }.record("IHttpEventProvider::SetErrorStatus", hr_str(hr));
    }

    fn auth_set_user(this: *mut IAuthenticationProvider, user: *mut IHttpUser) {
        // SAFETY: called on the authentication provider of a running request.
        let req = unsafe { req(this) };
        req.record("IAuthenticationProvider::SetUser", if user.is_null() { "NULL".to_owned() } else { String::new() });
        if user.is_null() {
            // "If the pUser parameter is NULL, the default authentication continues"
            // (https://learn.microsoft.com/en-us/iis/web-development-reference/native-code-api-reference/iauthenticationprovider-setuser-method).
            return;
        }
        // IIS now owns the module's reference and "must call the IHttpUser::DereferenceUser
        // method when [it] no longer need[s] the IHttpUser" (same page): a user replaced by a
        // second SetUser is no longer needed.
        let previous = std::mem::replace(&mut req.st.borrow_mut().auth_user, user);
        req.release_module_user(previous, "replaced by SetUser");
    }

    fn map_handler_set_script_name(this: *mut IMapHandlerProvider, name: PCWSTR, len: u32) -> HRESULT {
        // SAFETY: called on the map-handler provider of a running request; `name` holds `len`
        // characters (or is NUL-terminated when `len` is 0).
        let (req, name) = unsafe {
            (req(this), if len == 0 { from_pcwstr(name).unwrap_or_default() } else { from_pcwstr_len(name, len as usize) })
        };
        req.record("IMapHandlerProvider::SetScriptName", format!("{name:?}"));
        req.st.borrow_mut().script_name = Some(name);
        req.keep.release(Side::Request);
        S_OK
    }

    fn map_handler_set_script_map(this: *mut IMapHandlerProvider, _map: *mut IScriptMapInfo) {
        // SAFETY: called on the map-handler provider of a running request.
        unsafe { req(this) }.record("IMapHandlerProvider::SetScriptMap", "(ignored)".to_owned());
    }

    fn map_handler_set_file_info(this: *mut IMapHandlerProvider, _info: *mut IHttpFileInfo) {
        // SAFETY: called on the map-handler provider of a running request.
        unsafe { req(this) }.record("IMapHandlerProvider::SetFileInfo", "(ignored)".to_owned());
    }

    fn send_get_headers_being_sent(this: *mut ISendResponseProvider) -> BOOL {
        // SAFETY: called on the send-response provider of a running request.
        let req = unsafe { req(this) };
        let sending = req.st.borrow().headers_being_sent;
        req.record("ISendResponseProvider::GetHeadersBeingSent", format!("-> {}", if sending { "TRUE" } else { "FALSE" }));
        sending as BOOL
    }

    fn send_get_flags(this: *mut ISendResponseProvider) -> u32 {
        // SAFETY: called on the send-response provider of a running request.
        let req = unsafe { req(this) };
        let flags = req.st.borrow().send_flags;
        req.record("ISendResponseProvider::GetFlags", format!("-> {flags:#x}"));
        flags
    }

    fn send_set_flags(this: *mut ISendResponseProvider, flags: u32) {
        // SAFETY: called on the send-response provider of a running request.
        let req = unsafe { req(this) };
        req.record("ISendResponseProvider::SetFlags", format!("{flags:#x}"));
        req.st.borrow_mut().send_flags = flags;
    }

    fn send_get_log_data(this: *mut ISendResponseProvider) -> *mut HTTP_LOG_DATA {
        // SAFETY: called on the send-response provider of a running request.
        let req = unsafe { req(this) };
        if !req.ready_to_log() {
            req.record("ISendResponseProvider::GetLogData", "-> NULL (not ready to log)".to_owned());
            return std::ptr::null_mut();
        }
        // "Your HTTP module must set its registration priority to PRIORITY_ALIAS_FIRST or
        // PRIORITY_ALIAS_HIGH, or GetLogData will always return NULL"
        // (https://learn.microsoft.com/en-us/iis/web-development-reference/native-code-api-reference/isendresponseprovider-getlogdata-method).
        if !req.server().send_response_priority_is_high() {
            req.record("ISendResponseProvider::GetLogData", "-> NULL (RQ_SEND_RESPONSE priority is not First or High)".to_owned());
            return std::ptr::null_mut();
        }
        let entry = req.log_entry();
        req.record("ISendResponseProvider::GetLogData", format!("-> {}", entry.describe()));
        entry.as_ptr()
    }

    fn send_set_log_data(this: *mut ISendResponseProvider, data: *mut HTTP_LOG_DATA) -> HRESULT {
        // SAFETY: called on the send-response provider of a running request.
        let req = unsafe { req(this) };
        // SAFETY: `data` is null or the module's log structure, readable during the call.
        let Some(data) = (unsafe { data.as_ref() }) else {
            req.record("ISendResponseProvider::SetLogData", "NULL -> E_INVALIDARG".to_owned());
            return E_INVALIDARG;
        };
        if data.Type != HttpLogDataTypeFields || !req.ready_to_log() {
            req.record("ISendResponseProvider::SetLogData", "not ready to log, or not HTTP_LOG_FIELDS_DATA -> E_INVALIDARG".to_owned());
            return E_INVALIDARG;
        }
        // SAFETY: `Type` says it is an HTTP_LOG_FIELDS_DATA whose strings are readable now;
        // they are copied, so the module's buffers need not outlive the call.
        let entry = unsafe { LogEntry::copy_of((data as *const HTTP_LOG_DATA).cast()) };
        req.record("ISendResponseProvider::SetLogData", entry.describe());
        req.st.borrow_mut().log = Some(Box::new(entry));
        S_OK
    }

    fn send_get_ready_to_log_data(this: *mut ISendResponseProvider) -> BOOL {
        // SAFETY: called on the send-response provider of a running request.
        let req = unsafe { req(this) };
        let ready = req.ready_to_log();
        req.record("ISendResponseProvider::GetReadyToLogData", format!("-> {}", if ready { "TRUE" } else { "FALSE" }));
        ready as BOOL
    }

    fn map_path_get_url(this: *mut IMapPathProvider) -> PCWSTR {
        // SAFETY: called on the map-path provider of a running request.
        let req = unsafe { req(this) };
        let url = req.st.borrow().map_path.0.clone();
        req.record("IMapPathProvider::GetUrl", format!("-> {url:?}"));
        req.keep.wstr(&url).0
    }

    fn map_path_get_physical_path(this: *mut IMapPathProvider) -> PCWSTR {
        // SAFETY: called on the map-path provider of a running request.
        let req = unsafe { req(this) };
        let path = req.st.borrow().map_path.1.clone();
        req.record("IMapPathProvider::GetPhysicalPath", format!("-> {path:?}"));
        // Released by SetPhysicalPath, which replaces the string IIS handed out (Microsoft
        // documents no lifetime for it), so a module still reading the old one sees the poison.
        req.keep.volatile_wstr(Side::MapPath, &path).0
    }

    fn map_path_set_physical_path(this: *mut IMapPathProvider, path: PCWSTR, len: u32) -> HRESULT {
        // SAFETY: called on the map-path provider of a running request; `path` holds `len`
        // characters (or is NUL-terminated when `len` is 0).
        let (req, path) = unsafe {
            (req(this), if len == 0 { from_pcwstr(path).unwrap_or_default() } else { from_pcwstr_len(path, len as usize) })
        };
        req.record("IMapPathProvider::SetPhysicalPath", format!("{path:?}"));
        req.st.borrow_mut().map_path.1 = path;
        req.keep.release(Side::MapPath);
        S_OK
    }

    fn read_entity_get_entity(this: *mut IReadEntityProvider, buffer: *mut *mut c_void, data: *mut u32, size: *mut u32) {
        // SAFETY: called on the read-entity provider of a running request.
        let req = unsafe { req(this) };
        let (p, d, s) = req.st.borrow().read_entity;
        // SAFETY: the out-pointers are null or writable.
        unsafe {
            put(buffer, p);
            put(data, d);
            put(size, s);
        }
        req.record("IReadEntityProvider::GetEntity", format!("-> {d} bytes in a {s} byte buffer"));
    }

    fn read_entity_set_entity(this: *mut IReadEntityProvider, buffer: *mut c_void, data: u32, size: u32) {
        // SAFETY: called on the read-entity provider of a running request.
        let req = unsafe { req(this) };
        req.record("IReadEntityProvider::SetEntity", format!("{data} bytes in a {size} byte buffer"));
        req.st.borrow_mut().read_entity = (buffer, data, size);
    }

    fn completion_get_bytes(this: *mut IHttpCompletionInfo) -> u32 {
        // SAFETY: called on the completion info of a running request.
        let req = unsafe { req(this) };
        let bytes = req.st.borrow().completion_bytes;
        req.record("IHttpCompletionInfo::GetCompletionBytes", format!("-> {bytes}"));
        bytes
    }

    fn completion_get_status(this: *mut IHttpCompletionInfo) -> HRESULT {
        // SAFETY: called on the completion info of a running request.
        let req = unsafe { req(this) };
        let status = req.st.borrow().completion_status;
        req.record("IHttpCompletionInfo::GetCompletionStatus", format!("-> {}", crate::strings::hr_str(status)));
        status
    }

    fn completion_get_operation(this: *mut IHttpCompletionInfo2) -> u32 {
        // SAFETY: called on the completion info of a running request.
        let req = unsafe { req(this) };
        // Microsoft documents the result as "the number of bytes completed" by the
        // asynchronous operation
        // (https://learn.microsoft.com/en-us/iis/web-development-reference/native-code-api-reference/ihttpcompletioninfo2-getcompletedoperation-method).
        let bytes = req.st.borrow().completion_bytes;
        req.record("IHttpCompletionInfo2::GetCompletedOperation", format!("-> {bytes}"));
        bytes
    }
}

/// The plain provider of most notifications.
pub(crate) static EVENT_VTBL: IHttpEventProvider_Vtbl = IHttpEventProvider_Vtbl {
    SetErrorStatus: ev_set_error_status,
};

pub(crate) static AUTHENTICATION_VTBL: IAuthenticationProvider_Vtbl =
    IAuthenticationProvider_Vtbl {
        base__: IHttpEventProvider_Vtbl {
            SetErrorStatus: ev_set_error_status,
        },
        SetUser: auth_set_user,
    };

pub(crate) static MAP_HANDLER_VTBL: IMapHandlerProvider_Vtbl = IMapHandlerProvider_Vtbl {
    base__: IHttpEventProvider_Vtbl {
        SetErrorStatus: ev_set_error_status,
    },
    SetScriptName: map_handler_set_script_name,
    SetScriptMap: map_handler_set_script_map,
    SetFileInfo: map_handler_set_file_info,
};

pub(crate) static SEND_RESPONSE_VTBL: ISendResponseProvider_Vtbl = ISendResponseProvider_Vtbl {
    base__: IHttpEventProvider_Vtbl {
        SetErrorStatus: ev_set_error_status,
    },
    GetHeadersBeingSent: send_get_headers_being_sent,
    GetFlags: send_get_flags,
    SetFlags: send_set_flags,
    GetLogData: send_get_log_data,
    SetLogData: send_set_log_data,
    GetReadyToLogData: send_get_ready_to_log_data,
};

pub(crate) static MAP_PATH_VTBL: IMapPathProvider_Vtbl = IMapPathProvider_Vtbl {
    base__: IHttpEventProvider_Vtbl {
        SetErrorStatus: ev_set_error_status,
    },
    GetUrl: map_path_get_url,
    GetPhysicalPath: map_path_get_physical_path,
    SetPhysicalPath: map_path_set_physical_path,
};

pub(crate) static READ_ENTITY_VTBL: IReadEntityProvider_Vtbl = IReadEntityProvider_Vtbl {
    base__: IHttpEventProvider_Vtbl {
        SetErrorStatus: ev_set_error_status,
    },
    GetEntity: read_entity_get_entity,
    SetEntity: read_entity_set_entity,
};

pub(crate) static COMPLETION_VTBL: IHttpCompletionInfo2_Vtbl = IHttpCompletionInfo2_Vtbl {
    base__: IHttpCompletionInfo_Vtbl {
        GetCompletionBytes: completion_get_bytes,
        GetCompletionStatus: completion_get_status,
    },
    GetCompletedOperation: completion_get_operation,
};

/// A log entry (`HTTP_LOG_FIELDS_DATA`) and the strings it points to, owned by the request.
pub(crate) struct LogEntry {
    fields: HTTP_LOG_FIELDS_DATA,
    user_name: Vec<u16>,
    uri_stem: Vec<u16>,
    client_ip: Vec<u8>,
    server_name: Vec<u8>,
    server_ip: Vec<u8>,
    method: Vec<u8>,
    uri_query: Vec<u8>,
    host: Vec<u8>,
    user_agent: Vec<u8>,
}

/// What a log entry says, as strings and numbers.
pub(crate) struct LogValues {
    pub(crate) user_name: String,
    pub(crate) uri_stem: String,
    pub(crate) client_ip: String,
    pub(crate) server_name: String,
    pub(crate) server_ip: String,
    pub(crate) method: String,
    pub(crate) uri_query: String,
    pub(crate) host: String,
    pub(crate) user_agent: String,
    pub(crate) server_port: u16,
    pub(crate) status: u16,
    pub(crate) substatus: u16,
    pub(crate) win32_status: u32,
}

impl LogEntry {
    pub(crate) fn new(v: LogValues) -> Self {
        let mut entry = LogEntry {
            fields: HTTP_LOG_FIELDS_DATA::default(),
            user_name: v.user_name.encode_utf16().chain([0]).collect(),
            uri_stem: v.uri_stem.encode_utf16().chain([0]).collect(),
            client_ip: nul_terminated(&v.client_ip),
            server_name: nul_terminated(&v.server_name),
            server_ip: nul_terminated(&v.server_ip),
            method: nul_terminated(&v.method),
            uri_query: nul_terminated(&v.uri_query),
            host: nul_terminated(&v.host),
            user_agent: nul_terminated(&v.user_agent),
        };
        let f = &mut entry.fields;
        f.Base.Type = HttpLogDataTypeFields;
        // Lengths in bytes without the NUL, as HTTP_LOG_FIELDS_DATA counts them
        // (https://learn.microsoft.com/en-us/windows/win32/api/http/ns-http-http_log_fields_data).
        f.UserNameLength = len16("a log user name", (entry.user_name.len() - 1) * 2);
        f.UserName = entry.user_name.as_mut_ptr();
        f.UriStemLength = len16("a log URI stem", (entry.uri_stem.len() - 1) * 2);
        f.UriStem = entry.uri_stem.as_mut_ptr();
        for (len, ptr, text) in [
            (&mut f.ClientIpLength, &mut f.ClientIp, &mut entry.client_ip),
            (&mut f.ServerNameLength, &mut f.ServerName, &mut entry.server_name),
            (&mut f.ServerIpLength, &mut f.ServerIp, &mut entry.server_ip),
            (&mut f.MethodLength, &mut f.Method, &mut entry.method),
            (&mut f.UriQueryLength, &mut f.UriQuery, &mut entry.uri_query),
            (&mut f.HostLength, &mut f.Host, &mut entry.host),
            (&mut f.UserAgentLength, &mut f.UserAgent, &mut entry.user_agent),
        ] {
            *len = len16("a log field", text.len() - 1);
            *ptr = text.as_mut_ptr();
        }
        f.ServerPort = v.server_port;
        f.ProtocolStatus = v.status;
        f.SubStatus = v.substatus;
        f.Win32Status = v.win32_status;
        entry
    }

    /// A copy of a module's `HTTP_LOG_FIELDS_DATA`.
    ///
    /// # Safety
    ///
    /// `data` points to an `HTTP_LOG_FIELDS_DATA` whose strings are null or hold their lengths.
    pub(crate) unsafe fn copy_of(data: *const HTTP_LOG_FIELDS_DATA) -> Self {
        // SAFETY: per the contract.
        let f = unsafe { &*data };
        // SAFETY: per the contract, each string holds its byte length.
        let wide = |p: *const u16, bytes: u16| unsafe { from_pcwstr_len(p, bytes as usize / 2) };
        // SAFETY: as above.
        let narrow = |p: *const u8, len: u16| unsafe { if p.is_null() { String::new() } else { String::from_utf8_lossy(std::slice::from_raw_parts(p, len as usize)).into_owned() } };
        LogEntry::new(LogValues {
            user_name: wide(f.UserName, f.UserNameLength),
            uri_stem: wide(f.UriStem, f.UriStemLength),
            client_ip: narrow(f.ClientIp, f.ClientIpLength),
            server_name: narrow(f.ServerName, f.ServerNameLength),
            server_ip: narrow(f.ServerIp, f.ServerIpLength),
            method: narrow(f.Method, f.MethodLength),
            uri_query: narrow(f.UriQuery, f.UriQueryLength),
            host: narrow(f.Host, f.HostLength),
            user_agent: narrow(f.UserAgent, f.UserAgentLength),
            server_port: f.ServerPort,
            status: f.ProtocolStatus,
            substatus: f.SubStatus,
            win32_status: f.Win32Status,
        })
    }

    pub(crate) fn as_ptr(&self) -> *mut HTTP_LOG_DATA {
        (&self.fields as *const HTTP_LOG_FIELDS_DATA).cast_mut().cast()
    }

    /// The transcript's view: `user "alice", GET /path?q, 200.0`.
    pub(crate) fn describe(&self) -> String {
        let text = |b: &[u8]| String::from_utf8_lossy(&b[..b.len() - 1]).into_owned();
        format!(
            "user {:?}, {} {}{}{}, {}.{}",
            String::from_utf16_lossy(&self.user_name[..self.user_name.len() - 1]),
            text(&self.method),
            String::from_utf16_lossy(&self.uri_stem[..self.uri_stem.len() - 1]),
            if self.uri_query.len() > 1 { "?" } else { "" },
            text(&self.uri_query),
            self.fields.ProtocolStatus,
            self.fields.SubStatus
        )
    }

    /// The user name the entry logs (for [`crate::TestResponse::log_user`]).
    pub(crate) fn user_name(&self) -> String {
        String::from_utf16_lossy(&self.user_name[..self.user_name.len() - 1])
    }

    /// The URI stem the entry logs.
    pub(crate) fn uri_stem(&self) -> String {
        String::from_utf16_lossy(&self.uri_stem[..self.uri_stem.len() - 1])
    }

    /// The status the entry logs.
    pub(crate) fn status(&self) -> u16 {
        self.fields.ProtocolStatus
    }
}

impl RequestCtx {
    /// `GetReadyToLogData`: during the send that completes the response (OnSendResponse of the
    /// final send, not a Flush or unbuffered write before the handler is done).
    pub(crate) fn ready_to_log(&self) -> bool {
        let st = self.st.borrow();
        st.sending && !st.partial_send
    }

    /// The request's log entry, built from the request and response now unless a module set one.
    pub(crate) fn log_entry(&self) -> &LogEntry {
        if self.st.borrow().log.is_none() {
            let user = self.server_variable("AUTH_USER").unwrap_or_default();
            let host = self.server_variable("SERVER_NAME").unwrap_or_default();
            let entry = {
                let st = self.st.borrow();
                LogEntry::new(LogValues {
                    user_name: user,
                    uri_stem: st.path.clone(),
                    client_ip: self.remote_addr.ip().to_string(),
                    server_name: host,
                    server_ip: self.local_addr.ip().to_string(),
                    method: st.method.clone(),
                    uri_query: st.query.clone(),
                    host: st.headers.get("Host").unwrap_or_default(),
                    user_agent: st.headers.get("User-Agent").unwrap_or_default(),
                    server_port: self.local_addr.port(),
                    status: st.response.status,
                    substatus: st.response.substatus,
                    win32_status: 0,
                })
            };
            self.st.borrow_mut().log = Some(Box::new(entry));
        }
        let st = self.st.borrow();
        let entry: *const LogEntry = &**st.log.as_ref().expect("just set");
        // SAFETY: the entry is boxed and only replaced by SetLogData or dropped with the request;
        // the reference is used by the caller before either (it hands out a pointer, which IIS
        // documents as valid for the notification).
        unsafe { &*entry }
    }
}
