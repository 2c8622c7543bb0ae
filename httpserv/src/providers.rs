//! Event providers: the per-notification objects IIS hands to handlers.

use httpserv_sys::*;

use crate::error::{check, Result};
use crate::handle::handle;
use crate::strings::{with_wide_str, WideStr};
use crate::HttpContext;

macro_rules! provider {
    ($(#[$doc:meta])* $name:ident => $raw:ident, $vtbl:ident, $($base:ident).*) => {
        handle! { $(#[$doc])* $name => $raw, $vtbl }

        impl $name<'_> {
            /// Reports an error for this notification (`IHttpEventProvider::SetErrorStatus`).
            pub fn set_error_status(&self, error: crate::HRESULT) {
                let vtbl: &IHttpEventProvider_Vtbl = &self.vtbl()$(.$base)*;
                // SAFETY: the provider is live for the notification and derives from
                // IHttpEventProvider, whose slots start its vtable.
                unsafe { (vtbl.SetErrorStatus)(self.as_raw().cast(), error.0) }
            }
        }
    };
}

provider! {
    /// The provider of notifications without a specific one (`IHttpEventProvider`).
    EventProvider => IHttpEventProvider, IHttpEventProvider_Vtbl,
}
provider! {
    /// `RQ_SEND_RESPONSE` (`ISendResponseProvider`).
    SendResponseProvider => ISendResponseProvider, ISendResponseProvider_Vtbl, base__
}
provider! {
    /// `RQ_MAP_PATH` (`IMapPathProvider`).
    MapPathProvider => IMapPathProvider, IMapPathProvider_Vtbl, base__
}
provider! {
    /// `RQ_READ_ENTITY` (`IReadEntityProvider`).
    ReadEntityProvider => IReadEntityProvider, IReadEntityProvider_Vtbl, base__
}
provider! {
    /// `RQ_AUTHENTICATE_REQUEST` (`IAuthenticationProvider`).
    AuthenticationProvider => IAuthenticationProvider, IAuthenticationProvider_Vtbl, base__
}
provider! {
    /// `RQ_MAP_REQUEST_HANDLER` (`IMapHandlerProvider`).
    MapHandlerProvider => IMapHandlerProvider, IMapHandlerProvider_Vtbl, base__
}
provider! {
    /// `RQ_CUSTOM_NOTIFICATION` and `GL_CUSTOM_NOTIFICATION` (`ICustomNotificationProvider`).
    CustomNotificationProvider => ICustomNotificationProvider, ICustomNotificationProvider_Vtbl, base__
}
provider! {
    /// `GL_STOP_LISTENING` (`IGlobalStopListeningProvider`).
    StopListeningProvider => IGlobalStopListeningProvider, IGlobalStopListeningProvider_Vtbl, base__
}
provider! {
    /// `GL_PRE_BEGIN_REQUEST` (`IPreBeginRequestProvider`).
    PreBeginRequestProvider => IPreBeginRequestProvider, IPreBeginRequestProvider_Vtbl, base__
}
provider! {
    /// `GL_APPLICATION_START` and `GL_APPLICATION_STOP` (`IHttpApplicationProvider`).
    ApplicationProvider => IHttpApplicationProvider, IHttpApplicationProvider_Vtbl, base__
}
provider! {
    /// `GL_APPLICATION_RESOLVE_MODULES` (`IHttpApplicationResolveModulesProvider`).
    ApplicationResolveModulesProvider => IHttpApplicationResolveModulesProvider, IHttpApplicationResolveModulesProvider_Vtbl, base__.base__
}
provider! {
    /// `GL_CONFIGURATION_CHANGE` (`IGlobalConfigurationChangeProvider`).
    ConfigurationChangeProvider => IGlobalConfigurationChangeProvider, IGlobalConfigurationChangeProvider_Vtbl, base__
}
provider! {
    /// `GL_FILE_CHANGE` (`IGlobalFileChangeProvider`).
    FileChangeProvider => IGlobalFileChangeProvider, IGlobalFileChangeProvider_Vtbl, base__
}
provider! {
    /// `GL_CACHE_OPERATION` (`ICacheProvider`).
    CacheProvider => ICacheProvider, ICacheProvider_Vtbl, base__
}
provider! {
    /// `GL_TRACE_EVENT` (`IGlobalTraceEventProvider`).
    TraceEventProvider => IGlobalTraceEventProvider, IGlobalTraceEventProvider_Vtbl, base__
}
provider! {
    /// `GL_RSCA_QUERY` (`IGlobalRSCAQueryProvider`).
    RscaQueryProvider => IGlobalRSCAQueryProvider, IGlobalRSCAQueryProvider_Vtbl, base__
}
provider! {
    /// `GL_THREAD_CLEANUP` (`IGlobalThreadCleanupProvider`).
    ThreadCleanupProvider => IGlobalThreadCleanupProvider, IGlobalThreadCleanupProvider_Vtbl, base__
}
provider! {
    /// `GL_APPLICATION_PRELOAD` (`IGlobalApplicationPreloadProvider`).
    ApplicationPreloadProvider => IGlobalApplicationPreloadProvider, IGlobalApplicationPreloadProvider_Vtbl, base__
}

handle! {
    /// The result of an asynchronous operation (`IHttpCompletionInfo`).
    CompletionInfo => IHttpCompletionInfo, IHttpCompletionInfo_Vtbl
}

impl CompletionInfo<'_> {
    /// Bytes transferred by the operation.
    pub fn bytes(&self) -> u32 {
        // SAFETY: live completion info.
        unsafe { (self.vtbl().GetCompletionBytes)(self.as_raw()) }
    }

    /// The operation's result.
    pub fn status(&self) -> Result<()> {
        // SAFETY: live completion info.
        check(unsafe { (self.vtbl().GetCompletionStatus)(self.as_raw()) })
    }
}

impl SendResponseProvider<'_> {
    /// `true` when headers are being sent with this response.
    pub fn headers_being_sent(&self) -> bool {
        // SAFETY: live provider.
        unsafe { (self.vtbl().GetHeadersBeingSent)(self.as_raw()) != 0 }
    }

    /// The HTTP_SEND_RESPONSE_FLAG_* flags of this send.
    pub fn flags(&self) -> u32 {
        // SAFETY: live provider.
        unsafe { (self.vtbl().GetFlags)(self.as_raw()) }
    }

    /// Replaces the HTTP_SEND_RESPONSE_FLAG_* flags of this send (`ISendResponseProvider::SetFlags`).
    pub fn set_flags(&self, flags: u32) {
        // SAFETY: live provider.
        unsafe { (self.vtbl().SetFlags)(self.as_raw(), flags) }
    }
}

impl<'a> MapPathProvider<'a> {
    /// The URL being mapped.
    pub fn url(&self) -> Option<WideStr<'a>> {
        // SAFETY: live provider; NUL-terminated string valid for the notification.
        unsafe { WideStr::from_pcwstr((self.vtbl().GetUrl)(self.as_raw())) }
    }

    /// The physical path IIS mapped it to (or a handler set), copied into the request memory of
    /// `context` (the notification's context): [`set_physical_path`](Self::set_physical_path)
    /// replaces the string IIS returned, whose lifetime Microsoft does not document
    /// (<https://learn.microsoft.com/en-us/iis/web-development-reference/native-code-api-reference/imappathprovider-getphysicalpath-method>),
    /// so a borrow of it could be read after it is released. `None` when IIS has none or no
    /// request memory is left.
    pub fn physical_path(&self, context: &HttpContext<'a>) -> Option<WideStr<'a>> {
        // SAFETY: live provider; a NUL-terminated string readable now, only read during the
        // copy below.
        let original = unsafe { WideStr::from_pcwstr((self.vtbl().GetPhysicalPath)(self.as_raw())) }?;
        // SAFETY: `context` is a live context for 'a; its request memory lives as long.
        unsafe { crate::strings::copy_to_request(context.as_raw(), original.as_slice()) }.map(WideStr::new)
    }

    /// Replaces the physical path.
    pub fn set_physical_path(&self, path: &str) -> Result<()> {
        let hr = with_wide_str("physical path", path, |p, len| {
            // SAFETY: live provider; `p` holds `len` units during the call (IIS copies).
            unsafe { (self.vtbl().SetPhysicalPath)(self.as_raw(), p, len) }
        })?;
        check(hr)
    }
}

impl<'a> ReadEntityProvider<'a> {
    /// The entity bytes read by this notification.
    pub fn entity(&self) -> &'a [u8] {
        let (mut buffer, mut data, mut capacity) = (core::ptr::null_mut(), 0u32, 0u32);
        // SAFETY: live provider; out pointers are ours.
        unsafe { (self.vtbl().GetEntity)(self.as_raw(), &mut buffer, &mut data, &mut capacity) };
        // SAFETY: IIS returns `data` valid bytes in `buffer` for the notification.
        unsafe { crate::strings::bytes(buffer.cast(), data as usize) }.unwrap_or_default()
    }
}

impl<'a> CustomNotificationProvider<'a> {
    /// The type name of the custom notification.
    pub fn notification_type(&self) -> Option<WideStr<'a>> {
        // SAFETY: live provider; NUL-terminated string valid for the notification.
        unsafe { WideStr::from_pcwstr((self.vtbl().QueryNotificationType)(self.as_raw())) }
    }
}

impl StopListeningProvider<'_> {
    /// `true` when IIS drains requests gracefully before stopping.
    pub fn drain_requests_gracefully(&self) -> bool {
        // SAFETY: live provider.
        unsafe { (self.vtbl().DrainRequestsGracefully)(self.as_raw()) != 0 }
    }
}

impl<'a> PreBeginRequestProvider<'a> {
    /// The context of the request about to begin. Its stored contexts are keyed by the id IIS
    /// gave this global module's registration, so the request module registered with it sees
    /// what the global module stores here.
    pub fn http_context(&self) -> Option<HttpContext<'a>> {
        // SAFETY: live provider; the context lives for the notification, and the provider only
        // exists inside the global handler, whose registration is the thread's current one.
        unsafe { HttpContext::from_raw((self.vtbl().GetHttpContext)(self.as_raw())) }
    }
}

impl<'a> ApplicationProvider<'a> {
    /// The application starting or stopping.
    pub fn application(&self) -> Option<crate::descriptors::Application<'a>> {
        // SAFETY: live provider; the application lives for the notification.
        unsafe { crate::descriptors::Application::from_raw((self.vtbl().GetApplication)(self.as_raw())) }
    }
}

impl<'a> ConfigurationChangeProvider<'a> {
    /// The configuration path that changed.
    pub fn change_path(&self) -> Option<WideStr<'a>> {
        // SAFETY: live provider; NUL-terminated string valid for the notification.
        unsafe { WideStr::from_pcwstr((self.vtbl().GetChangePath)(self.as_raw())) }
    }
}

impl<'a> FileChangeProvider<'a> {
    /// The file that changed.
    pub fn file_name(&self) -> Option<WideStr<'a>> {
        // SAFETY: live provider; NUL-terminated string valid for the notification.
        unsafe { WideStr::from_pcwstr((self.vtbl().GetFileName)(self.as_raw())) }
    }
}

// ---------------------------------------------------------------------------------------------
// Added for issue 12 (the missing methods): appended here, not woven in, so parallel changes to
// the blocks above merge cleanly.

impl AuthenticationProvider<'_> {
    /// Authenticates the request as `user` (`IAuthenticationProvider::SetUser`): "calling the
    /// `SetUser` method with a non-NULL `IHttpUser` pointer will authenticate that user
    /// immediately"; IIS then reports it in `AUTH_USER`, `LOGON_USER`, `REMOTE_USER` and
    /// `AUTH_TYPE`, and later stages see it as [`HttpContext::user`](crate::HttpContext::user)
    /// (<https://learn.microsoft.com/en-us/iis/web-development-reference/native-code-api-reference/iauthenticationprovider-setuser-method>).
    ///
    /// The user becomes a heap `IHttpUser` with one reference, which IIS owns and releases with
    /// `DereferenceUser` when it no longer needs it (see [`crate::AuthenticatedUser`]); nothing
    /// is left for the module to free.
    pub fn set_user(&self, user: crate::AuthenticatedUser) {
        let raw = user.into_raw();
        // SAFETY: live provider; `raw` is a live IHttpUser with one reference, handed to IIS.
        unsafe { (self.vtbl().SetUser)(self.as_raw(), raw) }
    }
}

handle! {
    /// The result of an asynchronous operation with the operation's kind (`IHttpCompletionInfo2`).
    CompletionInfo2 => IHttpCompletionInfo2, IHttpCompletionInfo2_Vtbl
}

impl CompletionInfo2<'_> {
    /// `IHttpCompletionInfo2::GetCompletedOperation`, which Microsoft documents as returning
    /// "the number of bytes completed" by the asynchronous operation; returned as IIS gives it
    /// (<https://learn.microsoft.com/en-us/iis/web-development-reference/native-code-api-reference/ihttpcompletioninfo2-getcompletedoperation-method>).
    pub fn completed_operation(&self) -> u32 {
        // SAFETY: live completion info.
        unsafe { (self.vtbl().GetCompletedOperation)(self.as_raw()) }
    }

    /// Bytes transferred by the operation (the `IHttpCompletionInfo` base).
    pub fn bytes(&self) -> u32 {
        // SAFETY: live completion info; IHttpCompletionInfo's slots start its vtable.
        unsafe { (self.vtbl().base__.GetCompletionBytes)(self.as_raw().cast()) }
    }

    /// The operation's result (the `IHttpCompletionInfo` base).
    pub fn status(&self) -> Result<()> {
        // SAFETY: as in `bytes`.
        check(unsafe { (self.vtbl().base__.GetCompletionStatus)(self.as_raw().cast()) })
    }
}

impl<'a> CompletionInfo<'a> {
    /// This completion as `IHttpCompletionInfo2`, which IIS 7.5 and later hand to
    /// `OnAsyncCompletion` ("the `IHttpCompletionInfo2` interface extends `IHttpCompletionInfo`",
    /// reached with `HttpGetExtendedInterface`), through the server's `GetExtendedInterface`.
    pub fn extended(&self, server: &crate::Server<'_>) -> Result<CompletionInfo2<'a>> {
        // SAFETY: the completion info is a live IHttpCompletionInfo for 'a.
        let raw = unsafe { server.extended_interface::<IHttpCompletionInfo, IHttpCompletionInfo2>(self.as_raw()) }?;
        // SAFETY: IIS returns the extension of the same object, live as long as it.
        unsafe { CompletionInfo2::from_raw(raw) }.ok_or_else(|| crate::error::invalid("IIS returned no IHttpCompletionInfo2"))
    }
}

/// The log entry of a response, as [`SendResponseProvider::log_data`] reads it: the W3C fields
/// of `HTTP_LOG_FIELDS_DATA` that IIS fills, copied out of IIS's structure.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct LogData {
    /// `UserName` (`cs-username`).
    pub user_name: String,
    /// `UriStem` (`cs-uri-stem`).
    pub uri_stem: String,
    /// `ClientIp` (`c-ip`).
    pub client_ip: String,
    /// `ServerName` (`s-computername`).
    pub server_name: String,
    /// `ServerIp` (`s-ip`).
    pub server_ip: String,
    /// `Method` (`cs-method`).
    pub method: String,
    /// `UriQuery` (`cs-uri-query`).
    pub uri_query: String,
    /// `ProtocolStatus` (`sc-status`).
    pub protocol_status: u16,
    /// `SubStatus` (`sc-substatus`).
    pub sub_status: u16,
    /// `Win32Status` (`sc-win32-status`).
    pub win32_status: u32,
    /// `ServerPort` (`s-port`).
    pub server_port: u16,
}

/// Fields to change in the log entry with [`SendResponseProvider::set_log_data`]; `None` keeps
/// IIS's value.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct LogDataChange<'s> {
    /// `UserName` (`cs-username`), e.g. to log a user a module authenticated.
    pub user_name: Option<&'s str>,
    /// `UriStem` (`cs-uri-stem`), e.g. to keep a secret out of the log.
    pub uri_stem: Option<&'s str>,
    /// `UriQuery` (`cs-uri-query`).
    pub uri_query: Option<&'s str>,
    /// `ProtocolStatus` (`sc-status`).
    pub protocol_status: Option<u16>,
}

impl SendResponseProvider<'_> {
    /// `true` when the log entry of this send is ready (`GetReadyToLogData`): "if this method
    /// returns false, the `GetLogData` method returns NULL"; it is true during the final send of
    /// the response
    /// (<https://learn.microsoft.com/en-us/iis/web-development-reference/native-code-api-reference/isendresponseprovider-getreadytologdata-method>).
    pub fn ready_to_log(&self) -> bool {
        // SAFETY: live provider.
        unsafe { (self.vtbl().GetReadyToLogData)(self.as_raw()) != 0 }
    }

    /// The log entry IIS will write (`GetLogData`), copied: `None` before it is ready (see
    /// [`ready_to_log`](Self::ready_to_log)) or if it is not in `HTTP_LOG_FIELDS_DATA` form
    /// (<https://learn.microsoft.com/en-us/iis/web-development-reference/native-code-api-reference/isendresponseprovider-getlogdata-method>).
    pub fn log_data(&self) -> Option<LogData> {
        // SAFETY: live provider; IIS returns its log structure for this notification, or null.
        let data = unsafe { (self.vtbl().GetLogData)(self.as_raw()).as_ref() }?;
        if data.Type != windows_sys::Win32::Networking::HttpServer::HttpLogDataTypeFields {
            return None;
        }
        // SAFETY: `Type` says the structure is an HTTP_LOG_FIELDS_DATA, which starts with it.
        let fields = unsafe { &*(data as *const windows_sys::Win32::Networking::HttpServer::HTTP_LOG_DATA).cast::<windows_sys::Win32::Networking::HttpServer::HTTP_LOG_FIELDS_DATA>() };
        // SAFETY (all the strings below): HTTP_LOG_FIELDS_DATA gives each string's length in
        // bytes next to its pointer, readable during the notification.
        let wide = |p: *const u16, bytes: u16| unsafe { WideStr::from_raw_parts(p, bytes as usize / 2) }.map(|w| w.to_string_lossy()).unwrap_or_default();
        // SAFETY: as above, for 8-bit strings.
        let narrow = |p: *const u8, bytes: u16| unsafe { crate::strings::bytes(p, bytes as usize) }.map(|b| String::from_utf8_lossy(b).into_owned()).unwrap_or_default();
        Some(LogData {
            user_name: wide(fields.UserName, fields.UserNameLength),
            uri_stem: wide(fields.UriStem, fields.UriStemLength),
            client_ip: narrow(fields.ClientIp, fields.ClientIpLength),
            server_name: narrow(fields.ServerName, fields.ServerNameLength),
            server_ip: narrow(fields.ServerIp, fields.ServerIpLength),
            method: narrow(fields.Method, fields.MethodLength),
            uri_query: narrow(fields.UriQuery, fields.UriQueryLength),
            protocol_status: fields.ProtocolStatus,
            sub_status: fields.SubStatus,
            win32_status: fields.Win32Status,
            server_port: fields.ServerPort,
        })
    }

    /// Changes fields of the log entry (`SetLogData`): IIS's current entry with `change`
    /// applied, its strings in request memory, so they live as long as IIS may read them. Fails
    /// with `E_INVALIDARG` before the entry is ready (there is none to change) and for strings
    /// over 65,535 bytes (the lengths are `USHORT`s) or containing CR, LF or NUL
    /// (<https://learn.microsoft.com/en-us/iis/web-development-reference/native-code-api-reference/isendresponseprovider-setlogdata-method>).
    pub fn set_log_data(&self, context: &HttpContext<'_>, change: &LogDataChange<'_>) -> Result<()> {
        use windows_sys::Win32::Networking::HttpServer::{HttpLogDataTypeFields, HTTP_LOG_DATA, HTTP_LOG_FIELDS_DATA};
        // SAFETY: live provider; IIS's log structure for this notification, or null.
        let current = unsafe { (self.vtbl().GetLogData)(self.as_raw()).as_ref() };
        let Some(current) = current.filter(|d| d.Type == HttpLogDataTypeFields) else {
            return Err(crate::error::invalid("the log entry is not ready (GetReadyToLogData is FALSE)"));
        };
        // SAFETY: `Type` says it is an HTTP_LOG_FIELDS_DATA; plain data, copied by value.
        let mut fields: HTTP_LOG_FIELDS_DATA = unsafe { core::ptr::read((current as *const HTTP_LOG_DATA).cast()) };
        let wide = |what: &str, text: &str| -> Result<(*mut u16, u16)> {
            crate::error::check_no_line_breaks(what, text.as_bytes())?;
            let units: Vec<u16> = text.encode_utf16().chain([0]).collect();
            let bytes = u16::try_from((units.len() - 1) * 2).map_err(|_| crate::error::invalid(&format!("{what} is over 65,535 bytes")))?;
            // SAFETY: live context; request memory lives until the request ends.
            let copy = unsafe { crate::strings::copy_to_request(context.as_raw(), &units) }.ok_or_else(|| crate::error::invalid("out of request memory"))?;
            Ok((copy.as_ptr() as *mut u16, bytes))
        };
        let narrow = |what: &str, text: &str| -> Result<(*mut u8, u16)> {
            crate::error::check_no_line_breaks(what, text.as_bytes())?;
            let bytes: Vec<u8> = text.bytes().chain([0]).collect();
            let len = u16::try_from(bytes.len() - 1).map_err(|_| crate::error::invalid(&format!("{what} is over 65,535 bytes")))?;
            // SAFETY: as above.
            let copy = unsafe { crate::strings::copy_to_request(context.as_raw(), &bytes) }.ok_or_else(|| crate::error::invalid("out of request memory"))?;
            Ok((copy.as_ptr() as *mut u8, len))
        };
        if let Some(name) = change.user_name {
            (fields.UserName, fields.UserNameLength) = wide("log user name", name)?;
        }
        if let Some(stem) = change.uri_stem {
            (fields.UriStem, fields.UriStemLength) = wide("log URI stem", stem)?;
        }
        if let Some(query) = change.uri_query {
            (fields.UriQuery, fields.UriQueryLength) = narrow("log URI query", query)?;
        }
        if let Some(status) = change.protocol_status {
            crate::error::check_status(status)?;
            fields.ProtocolStatus = status;
        }
        // SAFETY: live context; request memory lives until the request ends.
        let copy = unsafe { crate::strings::request_memory::<HTTP_LOG_FIELDS_DATA>(context.as_raw(), 1) }.ok_or_else(|| crate::error::invalid("out of request memory"))?;
        // SAFETY: `request_memory` aligned it for the structure (IIS documents no alignment
        // for request memory) with room for one; it lives until the request ends, longer than
        // IIS reads the entry.
        unsafe { copy.write(fields) };
        // SAFETY: live provider; `copy` is a complete HTTP_LOG_FIELDS_DATA (Base.Type fields).
        check(unsafe { (self.vtbl().SetLogData)(self.as_raw(), copy.cast()) })
    }
}
