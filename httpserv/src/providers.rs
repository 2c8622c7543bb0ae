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

    /// The physical path IIS mapped it to.
    pub fn physical_path(&self) -> Option<WideStr<'a>> {
        // SAFETY: as in `url`.
        unsafe { WideStr::from_pcwstr((self.vtbl().GetPhysicalPath)(self.as_raw())) }
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
