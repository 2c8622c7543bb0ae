//! The request notification providers: `IHttpEventProvider`, `IAuthenticationProvider`,
//! `IMapHandlerProvider`, `ISendResponseProvider`, `IMapPathProvider`, `IReadEntityProvider`, and
//! `IHttpCompletionInfo2` for `OnAsyncCompletion`.

use std::ffi::c_void;

use httpserv_sys::*;
use windows_sys::core::{BOOL, HRESULT, PCWSTR};
use windows_sys::Win32::Networking::HttpServer::HTTP_LOG_DATA;

use super::pipeline::req;
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
        req.st.borrow_mut().auth_user = user;
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
        unsafe { req(this) }.record("ISendResponseProvider::GetLogData", "-> NULL (not ready to log)".to_owned());
        std::ptr::null_mut()
    }

    fn send_set_log_data(this: *mut ISendResponseProvider, _data: *mut HTTP_LOG_DATA) -> HRESULT {
        // SAFETY: called on the send-response provider of a running request.
        unsafe { req(this) }.record("ISendResponseProvider::SetLogData", "(ignored)".to_owned());
        S_OK
    }

    fn send_get_ready_to_log_data(this: *mut ISendResponseProvider) -> BOOL {
        // SAFETY: called on the send-response provider of a running request.
        unsafe { req(this) }.record("ISendResponseProvider::GetReadyToLogData", "-> FALSE".to_owned());
        0
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
        req.keep.wstr(&path).0
    }

    fn map_path_set_physical_path(this: *mut IMapPathProvider, path: PCWSTR, len: u32) -> HRESULT {
        // SAFETY: called on the map-path provider of a running request; `path` holds `len`
        // characters (or is NUL-terminated when `len` is 0).
        let (req, path) = unsafe {
            (req(this), if len == 0 { from_pcwstr(path).unwrap_or_default() } else { from_pcwstr_len(path, len as usize) })
        };
        req.record("IMapPathProvider::SetPhysicalPath", format!("{path:?}"));
        req.st.borrow_mut().map_path.1 = path;
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
        unsafe { req(this) }.record("IHttpCompletionInfo2::GetCompletedOperation", "-> 0".to_owned());
        0
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
