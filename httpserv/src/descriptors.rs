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

/// The authenticated user (`IHttpUser`), holding one reference to it for as long as the handle
/// lives.
///
/// A user is not fixed for the request: a second `IAuthenticationProvider::SetUser` replaces
/// it, and IIS then gives back the reference it held (`DereferenceUser`), which frees a user
/// nobody else references. So `User` takes its own reference (`ReferenceUser`) when it is made
/// or cloned and gives it back when dropped: "only when the reference count goes to 0 will the
/// `IHttpUser` interface be removed from the heap", and both calls are thread-safe
/// (<https://learn.microsoft.com/en-us/iis/web-development-reference/native-code-api-reference/ihttpuser-referenceuser-method>,
/// <https://learn.microsoft.com/en-us/iis/web-development-reference/native-code-api-reference/ihttpuser-dereferenceuser-method>).
/// The strings and tokens it returns borrow the handle, not the request. Neither `Send` nor
/// `Sync`, and bounded by the request (`'a`), like every handle.
pub struct User<'a> {
    raw: core::ptr::NonNull<httpserv_sys::IHttpUser>,
    _borrow: core::marker::PhantomData<&'a httpserv_sys::IHttpUser>,
}

impl<'a> User<'a> {
    /// Wraps a raw `IHttpUser` and takes a reference to it (`ReferenceUser`), given back when
    /// the handle is dropped; `None` if it is null.
    ///
    /// # Safety
    /// `raw` is null or a live `IHttpUser` (IIS's or a module's) of a request that lasts for
    /// `'a`.
    pub unsafe fn from_raw(raw: *mut httpserv_sys::IHttpUser) -> Option<Self> {
        let raw = core::ptr::NonNull::new(raw)?;
        // SAFETY: a live user per the caller; its first field points to its vtable.
        unsafe { ((*(*raw.as_ptr()).lpVtbl).ReferenceUser)(raw.as_ptr()) };
        Some(Self { raw, _borrow: core::marker::PhantomData })
    }

    /// The raw `IHttpUser`, for calls this crate does not wrap (live while the handle is).
    #[inline]
    pub fn as_raw(&self) -> *mut httpserv_sys::IHttpUser {
        self.raw.as_ptr()
    }

    #[inline]
    fn vtbl(&self) -> &httpserv_sys::IHttpUser_Vtbl {
        // SAFETY: the handle holds a reference, so the user (and its vtable) is live while
        // `self` is borrowed.
        unsafe { &*(*self.raw.as_ptr()).lpVtbl }
    }
}

impl Clone for User<'_> {
    /// Another handle with its own reference (`ReferenceUser`).
    fn clone(&self) -> Self {
        // SAFETY: live user (this handle's reference).
        unsafe { (self.vtbl().ReferenceUser)(self.as_raw()) };
        Self { raw: self.raw, _borrow: core::marker::PhantomData }
    }
}

impl Drop for User<'_> {
    fn drop(&mut self) {
        // SAFETY: gives back the reference this handle took; nothing uses it afterwards.
        unsafe { (self.vtbl().DereferenceUser)(self.as_raw()) }
    }
}

impl core::fmt::Debug for User<'_> {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        write!(f, "User({:p})", self.raw)
    }
}

impl User<'_> {
    /// The user's name (`IHttpUser::GetUserName`).
    pub fn name(&self) -> Option<WideStr<'_>> {
        // SAFETY: live user (this handle's reference); a NUL-terminated string owned by the
        // user, which lives while the handle is borrowed.
        unsafe { WideStr::from_pcwstr((self.vtbl().GetUserName)(self.as_raw())) }
    }

    /// The user name the client sent (`IHttpUser::GetRemoteUserName`).
    pub fn remote_user_name(&self) -> Option<WideStr<'_>> {
        // SAFETY: as in `name`.
        unsafe { WideStr::from_pcwstr((self.vtbl().GetRemoteUserName)(self.as_raw())) }
    }

    /// The authentication scheme, e.g. `Basic` or `Negotiate` (`IHttpUser::GetAuthenticationType`).
    pub fn authentication_type(&self) -> Option<WideStr<'_>> {
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

// ---------------------------------------------------------------------------------------------
// Added for issue 12 (the missing methods).

/// A Windows access token IIS lends for as long as `'a`, the borrow of the [`User`] that owns
/// it (`IHttpUser::GetPrimaryToken`,
/// `GetImpersonationToken`): borrowed, never closed by the module. Pass [`as_raw`](Self::as_raw)
/// to Win32 calls such as `ImpersonateLoggedOnUser` or `CreateProcessAsUserW`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct BorrowedToken<'a> {
    raw: windows_sys::Win32::Foundation::HANDLE,
    _borrow: core::marker::PhantomData<&'a ()>,
}

impl BorrowedToken<'_> {
    /// The `HANDLE`. It stays IIS's: do not `CloseHandle` it.
    pub fn as_raw(&self) -> windows_sys::Win32::Foundation::HANDLE {
        self.raw
    }
}

impl User<'_> {
    /// The user's primary token (`IHttpUser::GetPrimaryToken`), for starting processes as the
    /// user; `None` when the user has none (a custom user, anonymous). "The HANDLE returned is
    /// owned by the `IHttpUser`": it lives as long as the user, which the handle keeps alive
    /// while it is borrowed (<https://learn.microsoft.com/en-us/iis/web-development-reference/native-code-api-reference/ihttpuser-getprimarytoken-method>).
    pub fn primary_token(&self) -> Option<BorrowedToken<'_>> {
        // SAFETY: live user (this handle's reference).
        let raw = unsafe { (self.vtbl().GetPrimaryToken)(self.as_raw()) };
        (!raw.is_null()).then_some(BorrowedToken { raw, _borrow: core::marker::PhantomData })
    }

    /// The user's impersonation token (`IHttpUser::GetImpersonationToken`), for
    /// `ImpersonateLoggedOnUser`; `None` when the user has none, as
    /// [`primary_token`](Self::primary_token)
    /// (<https://learn.microsoft.com/en-us/iis/web-development-reference/native-code-api-reference/ihttpuser-getimpersonationtoken-method>).
    pub fn impersonation_token(&self) -> Option<BorrowedToken<'_>> {
        // SAFETY: live user (this handle's reference).
        let raw = unsafe { (self.vtbl().GetImpersonationToken)(self.as_raw()) };
        (!raw.is_null()).then_some(BorrowedToken { raw, _borrow: core::marker::PhantomData })
    }

    /// `true` when the user answers [`is_in_role`](Self::is_in_role) (`SupportsIsInRole`).
    pub fn supports_is_in_role(&self) -> bool {
        // SAFETY: live user (this handle's reference).
        unsafe { (self.vtbl().SupportsIsInRole)(self.as_raw()) != 0 }
    }

    /// Whether the user is in `role` (`IHttpUser::IsInRole`); an error (`E_NOTIMPL`) when the
    /// user does not support roles.
    pub fn is_in_role(&self, role: &str) -> Result<bool> {
        let mut in_role = 0;
        // SAFETY: live user; the role is NUL-terminated during the call; `in_role` is ours.
        let hr = with_wide_str("role", role, |role, _| unsafe { (self.vtbl().IsInRole)(self.as_raw(), role, &mut in_role) })?;
        check(hr)?;
        Ok(in_role != 0)
    }
}

/// The trace configuration of a provider for this request (`HTTP_TRACE_CONFIGURATION`, as
/// [`TraceContext::configuration`] returns it).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct TraceConfiguration {
    /// `fProviderEnabled`: whether the provider is enabled at all.
    pub enabled: bool,
    /// `dwAreas`: the enabled areas (the provider's bit mask).
    pub areas: u32,
    /// `dwVerbosity`: the most detailed level enabled (`HTTP_TRACE_LEVEL_*`, 0..=5).
    pub verbosity: u32,
}

/// One item of a [`TraceEvent`]: a name and a typed value.
#[derive(Clone, Copy, Debug)]
pub struct TraceItem<'s> {
    /// `pszName`.
    pub name: &'s str,
    /// The value (`dwDataType`, `pbData`, `cbData`).
    pub value: TraceValue<'s>,
}

/// A trace item's value, typed as `HTTP_TRACE_TYPE_*`.
#[derive(Clone, Copy, Debug)]
pub enum TraceValue<'s> {
    /// `HTTP_TRACE_TYPE_LPCWSTR`.
    Str(&'s str),
    /// `HTTP_TRACE_TYPE_ULONG`.
    U32(u32),
    /// `HTTP_TRACE_TYPE_LONG`.
    I32(i32),
    /// `HTTP_TRACE_TYPE_ULONGLONG`.
    U64(u64),
    /// `HTTP_TRACE_TYPE_BOOL`.
    Bool(bool),
}

/// An event for [`TraceContext::raise_event`]: everything `HTTP_TRACE_EVENT` carries, as Rust
/// values; the pointers IIS reads are built for the one call.
#[derive(Clone, Copy)]
pub struct TraceEvent<'s> {
    /// `pProviderGuid`: the provider raising the event.
    pub provider: windows_sys::core::GUID,
    /// `dwArea`: the area within the provider.
    pub area: u32,
    /// `pAreaGuid`.
    pub area_guid: windows_sys::core::GUID,
    /// `dwEvent`: the event's id.
    pub event: u32,
    /// `pszEventName`.
    pub name: &'s str,
    /// `dwEventVersion`.
    pub version: u32,
    /// `dwVerbosity` (`HTTP_TRACE_LEVEL_*`).
    pub verbosity: u32,
    /// `pEventItems`.
    pub items: &'s [TraceItem<'s>],
}

impl TraceContext<'_> {
    /// The configuration of the trace provider `provider` for this request
    /// (`IHttpTraceContext::GetTraceConfiguration`): fill `pProviderGuid`, IIS fills the rest
    /// ("the `GetTraceConfiguration` method retrieves the current configuration of the
    /// provider specified in the `pProviderGuid` member"), so a module can skip building events
    /// nobody listens to
    /// (<https://learn.microsoft.com/en-us/iis/web-development-reference/native-code-api-reference/ihttptracecontext-gettraceconfiguration-method>).
    pub fn configuration(&self, provider: &windows_sys::core::GUID) -> Result<TraceConfiguration> {
        let mut config = windows_sys::Win32::System::Iis::HTTP_TRACE_CONFIGURATION {
            pProviderGuid: provider,
            dwAreas: 0,
            dwVerbosity: 0,
            fProviderEnabled: 0,
        };
        // SAFETY: live trace context; `config` is ours and points to `provider` during the call.
        check(unsafe { (self.vtbl().GetTraceConfiguration)(self.as_raw(), &mut config) })?;
        Ok(TraceConfiguration { enabled: config.fProviderEnabled != 0, areas: config.dwAreas, verbosity: config.dwVerbosity })
    }

    /// Raises a trace event (`IHttpTraceContext::RaiseTraceEvent`) built from safe values: the
    /// names become NUL-terminated UTF-16 and each item points to its value for the call; IIS
    /// "passes the event to all registered trace consumers" synchronously, so nothing needs to
    /// outlive it
    /// (<https://learn.microsoft.com/en-us/iis/web-development-reference/native-code-api-reference/ihttptracecontext-raisetraceevent-method>).
    /// Names with NUL are refused (`E_INVALIDARG`).
    pub fn raise_event(&self, event: &TraceEvent<'_>) -> Result<()> {
        use windows_sys::Win32::System::Iis::*;
        fn wide(what: &str, text: &str) -> Result<Vec<u16>> {
            if text.contains('\0') {
                return Err(crate::error::invalid(&format!("{what} contains NUL")));
            }
            Ok(text.encode_utf16().chain([0]).collect())
        }
        let name = wide("trace event name", event.name)?;
        // Every item's name and value, owned here until the call returns.
        let mut names = Vec::with_capacity(event.items.len());
        let mut values: Vec<Vec<u8>> = Vec::with_capacity(event.items.len());
        let mut types = Vec::with_capacity(event.items.len());
        for item in event.items {
            names.push(wide("trace item name", item.name)?);
            let (kind, bytes) = match item.value {
                // IIS's trace macros pass a string item as the string itself (the consumer reads
                // a NUL-terminated string from pbData, cbData bytes with the NUL).
                TraceValue::Str(s) => (HTTP_TRACE_TYPE_LPCWSTR, wide("trace item value", s)?.iter().flat_map(|u| u.to_ne_bytes()).collect()),
                TraceValue::U32(v) => (HTTP_TRACE_TYPE_ULONG, v.to_ne_bytes().to_vec()),
                TraceValue::I32(v) => (HTTP_TRACE_TYPE_LONG, v.to_ne_bytes().to_vec()),
                TraceValue::U64(v) => (HTTP_TRACE_TYPE_ULONGLONG, v.to_ne_bytes().to_vec()),
                TraceValue::Bool(v) => (HTTP_TRACE_TYPE_BOOL, i32::from(v).to_ne_bytes().to_vec()),
            };
            // cbData is a DWORD: a longer value is refused, not cut (a cut string loses its NUL).
            u32::try_from(bytes.len()).map_err(|_| crate::error::invalid("trace item value larger than 4 GiB"))?;
            types.push(kind);
            values.push(bytes);
        }
        let mut items: Vec<HTTP_TRACE_EVENT_ITEM> = names
            .iter()
            .zip(&values)
            .zip(&types)
            .map(|((name, value), &kind)| HTTP_TRACE_EVENT_ITEM {
                pszName: name.as_ptr(),
                dwDataType: kind,
                pbData: value.as_ptr() as *mut u8,
                // Checked above: every value's length fits a u32.
                cbData: value.len() as u32,
                pszDataDescription: core::ptr::null(),
            })
            .collect();
        let mut raw = HTTP_TRACE_EVENT {
            pProviderGuid: &event.provider,
            dwArea: event.area,
            pAreaGuid: &event.area_guid,
            dwEvent: event.event,
            pszEventName: name.as_ptr(),
            dwEventVersion: event.version,
            dwVerbosity: event.verbosity,
            pActivityGuid: core::ptr::null(),
            pRelatedActivityGuid: core::ptr::null(),
            dwTimeStamp: 0,
            dwFlags: HTTP_TRACE_EVENT_FLAG_STATIC_DESCRIPTIVE_FIELDS,
            cEventItems: u32::try_from(items.len()).map_err(|_| crate::error::invalid("too many trace items"))?,
            pEventItems: items.as_mut_ptr(),
        };
        // SAFETY: live trace context; every pointer in `raw` points into locals that live until
        // this call returns, with the lengths and types the items declare.
        check(unsafe { (self.vtbl().RaiseTraceEvent)(self.as_raw(), &mut raw) })
    }
}
