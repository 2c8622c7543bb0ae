//! The smaller IIS objects a request reaches: site, application, connection, user, trace.

use crate::error::{check, Result};
use crate::handle::handle;
use crate::strings::{with_wide_str, WideStr};

handle! {
    /// The site that received the request (`IHttpSite`).
    Site => IHttpSite, IHttpSite_Vtbl
}

impl<'a> Site<'a> {
    /// The site's id (`IHttpSite::GetSiteId`).
    pub fn id(&self) -> u32 {
        // SAFETY: live site for 'a.
        unsafe { (self.vtbl().GetSiteId)(self.as_raw()) }
    }

    /// The site's name (`IHttpSite::GetSiteName`).
    pub fn name(&self) -> Option<WideStr<'a>> {
        // SAFETY: live site; NUL-terminated name valid as long as the site.
        unsafe { WideStr::from_pcwstr((self.vtbl().GetSiteName)(self.as_raw())) }
    }
}

handle! {
    /// The application of the request (`IHttpApplication`).
    Application => IHttpApplication, IHttpApplication_Vtbl
}

impl<'a> Application<'a> {
    /// The application id, e.g. `/LM/W3SVC/1/ROOT`.
    pub fn id(&self) -> Option<WideStr<'a>> {
        // SAFETY: live application; NUL-terminated string valid as long as it.
        unsafe { WideStr::from_pcwstr((self.vtbl().GetApplicationId)(self.as_raw())) }
    }

    /// The application's physical path (`IHttpApplication::GetApplicationPhysicalPath`).
    pub fn physical_path(&self) -> Option<WideStr<'a>> {
        // SAFETY: as in `id`.
        unsafe { WideStr::from_pcwstr((self.vtbl().GetApplicationPhysicalPath)(self.as_raw())) }
    }

    /// The application's configuration path, e.g. `MACHINE/WEBROOT/APPHOST/Default Web Site`
    /// (`IHttpApplication::GetAppConfigPath`).
    pub fn config_path(&self) -> Option<WideStr<'a>> {
        // SAFETY: as in `id`.
        unsafe { WideStr::from_pcwstr((self.vtbl().GetAppConfigPath)(self.as_raw())) }
    }
}

handle! {
    /// The client connection (`IHttpConnection`).
    Connection => IHttpConnection, IHttpConnection_Vtbl
}

impl Connection<'_> {
    /// `true` while the client is still connected (`IHttpConnection::IsConnected`).
    pub fn is_connected(&self) -> bool {
        // SAFETY: live connection.
        unsafe { (self.vtbl().IsConnected)(self.as_raw()) != 0 }
    }
}

handle! {
    /// The authenticated user (`IHttpUser`).
    User => IHttpUser, IHttpUser_Vtbl
}

impl<'a> User<'a> {
    /// The user's name (`IHttpUser::GetUserName`).
    pub fn name(&self) -> Option<WideStr<'a>> {
        // SAFETY: live user; NUL-terminated string valid as long as the user.
        unsafe { WideStr::from_pcwstr((self.vtbl().GetUserName)(self.as_raw())) }
    }

    /// The user name the client sent (`IHttpUser::GetRemoteUserName`).
    pub fn remote_user_name(&self) -> Option<WideStr<'a>> {
        // SAFETY: as in `name`.
        unsafe { WideStr::from_pcwstr((self.vtbl().GetRemoteUserName)(self.as_raw())) }
    }

    /// The authentication scheme, e.g. `Basic` or `Negotiate` (`IHttpUser::GetAuthenticationType`).
    pub fn authentication_type(&self) -> Option<WideStr<'a>> {
        // SAFETY: as in `name`.
        unsafe { WideStr::from_pcwstr((self.vtbl().GetAuthenticationType)(self.as_raw())) }
    }
}

handle! {
    /// Request or server tracing (`IHttpTraceContext`).
    TraceContext => IHttpTraceContext, IHttpTraceContext_Vtbl
}

/// Trace levels of `QuickTrace` (`TRACE_LEVEL_*`).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[repr(u8)]
pub enum TraceLevel {
    /// `TRACE_LEVEL_FATAL`.
    Fatal = 1,
    /// `TRACE_LEVEL_ERROR`.
    Error = 2,
    /// `TRACE_LEVEL_WARNING`.
    Warning = 3,
    /// `TRACE_LEVEL_INFORMATION`.
    Information = 4,
    /// `TRACE_LEVEL_VERBOSE`.
    Verbose = 5,
}

impl TraceContext<'_> {
    /// Raises a quick trace event with up to two strings (`QuickTrace`).
    pub fn quick_trace(&self, data: &str, data2: Option<&str>, error: crate::HRESULT, level: TraceLevel) -> Result<()> {
        let hr = with_wide_str("trace data", data, |d1, _| match data2 {
            // SAFETY: live trace context; both strings NUL-terminated during the call.
            Some(d2) => with_wide_str("trace data", d2, |d2, _| unsafe { (self.vtbl().QuickTrace)(self.as_raw(), d1, d2, error.0, level as u8) }),
            // SAFETY: as above, with no second string.
            None => Ok(unsafe { (self.vtbl().QuickTrace)(self.as_raw(), d1, core::ptr::null(), error.0, level as u8) }),
        })??;
        check(hr)
    }

    /// Raises an `HTTP_TRACE_EVENT` (`RaiseTraceEvent`).
    ///
    /// # Safety
    /// Every pointer in `event` (provider GUID, event name, items and the item names, values
    /// and descriptions) is null or valid as `HTTP_TRACE_EVENT` documents: IIS reads them.
    pub unsafe fn raise_trace_event(&self, event: &mut windows_sys::Win32::System::Iis::HTTP_TRACE_EVENT) -> Result<()> {
        // SAFETY: live trace context; `event` and what it points to are valid during the call
        // per the caller's contract.
        check(unsafe { (self.vtbl().RaiseTraceEvent)(self.as_raw(), event) })
    }
}
