//! Typed handles for IIS's numbered extension interfaces (`IHttpContext2`, `IHttpContext4`,
//! `IHttpServer2`, `IHttpServer3`, ...) and for `IMetadataInfo`.
//!
//! IIS hands out the base interface (`IHttpContext`, `IHttpServer`); the newer ones are the same
//! object seen through a longer vtable, reached with `IHttpServer2::GetExtendedInterface` (what
//! the SDK's `HttpGetExtendedInterface` does) or, for the server, with
//! `IHttpServer::GetExtendedInterface(HTTP_SERVER_INTERFACE_V2/V3)`. [`Extended<'a, T>`] is such
//! a pointer borrowed for as long as the object it extends, with the methods of `T` wrapped
//! safely; `as_raw` stays for calls not wrapped.

use core::marker::PhantomData;
use core::ptr::NonNull;

use httpserv_sys::*;

use crate::bridge::registration::Registration;
use crate::error::{check, invalid, Result};
use crate::strings::WideStr;

/// An extension interface `T` of an IIS object, borrowed for `'a` (the object's own borrow).
pub struct Extended<'a, T> {
    raw: NonNull<T>,
    _borrow: PhantomData<&'a T>,
}

impl<T> Clone for Extended<'_, T> {
    fn clone(&self) -> Self {
        *self
    }
}
impl<T> Copy for Extended<'_, T> {}

impl<T> core::fmt::Debug for Extended<'_, T> {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        write!(f, "Extended<{}>({:p})", core::any::type_name::<T>(), self.raw)
    }
}

impl<'a, T> Extended<'a, T> {
    /// `None` for null.
    ///
    /// # Safety
    /// `raw` is null or a live `T` valid for `'a`.
    pub unsafe fn from_raw(raw: *mut T) -> Option<Self> {
        NonNull::new(raw).map(|raw| Self { raw, _borrow: PhantomData })
    }

    /// The raw interface pointer, for calls this crate does not wrap.
    pub fn as_raw(&self) -> *mut T {
        self.raw.as_ptr()
    }
}

/// `IHttpContext2` (IIS 7.5).
pub type HttpContext2<'a> = Extended<'a, IHttpContext2>;
/// `IHttpContext4` (IIS 10).
pub type HttpContext4<'a> = Extended<'a, IHttpContext4>;
/// `IHttpServer2` (IIS 7.5).
pub type Server2<'a> = Extended<'a, IHttpServer2>;
/// `IHttpServer3` (IIS 8.5).
pub type Server3<'a> = Extended<'a, IHttpServer3>;

impl<'a> HttpContext2<'a> {
    /// The user before any module replaced it with `SetUser` (`IHttpContext2::GetOriginalUser`)
    /// (<https://learn.microsoft.com/en-us/iis/web-development-reference/native-code-api-reference/ihttpcontext2-getoriginaluser-method>).
    pub fn original_user(&self) -> Option<crate::User<'a>> {
        // SAFETY: live context (the extension of one); the user is live now, and `User` takes
        // its own reference.
        unsafe { crate::User::from_raw(((*(*self.as_raw()).lpVtbl).GetOriginalUser)(self.as_raw())) }
    }
}

impl HttpContext4<'_> {
    /// When the request started, in milliseconds (`IHttpContext4::GetRequestStartTime`).
    pub fn request_start_time(&self) -> u64 {
        // SAFETY: live context (the extension of one).
        unsafe { ((*(*self.as_raw()).lpVtbl).GetRequestStartTime)(self.as_raw()) }
    }

    /// Milliseconds since the request started (`IHttpContext4::GetRequestElapsedTime`).
    pub fn request_elapsed_time(&self) -> u64 {
        // SAFETY: live context (the extension of one).
        unsafe { ((*(*self.as_raw()).lpVtbl).GetRequestElapsedTime)(self.as_raw()) }
    }
}

impl<'a> Server2<'a> {
    /// The full path of the application pool's configuration file
    /// (`IHttpServer2::GetAppPoolConfigFile`), e.g.
    /// `C:\inetpub\temp\apppools\DefaultAppPool\DefaultAppPool.config`; it lives as long as the
    /// server
    /// (<https://learn.microsoft.com/en-us/iis/web-development-reference/native-code-api-reference/ihttpserver2-getapppoolconfigfile-method>).
    pub fn app_pool_config_file(&self) -> Option<WideStr<'a>> {
        let mut len = 0u32;
        // SAFETY: live server; IIS returns `len` units that live as long as the server.
        unsafe { WideStr::from_raw_parts(((*(*self.as_raw()).lpVtbl).GetAppPoolConfigFile)(self.as_raw(), &mut len), len as usize) }
    }
}

/// The HTTP Server API request properties [`Server3::query_request_property`] reads
/// (`HTTP_REQUEST_PROPERTY`, <https://learn.microsoft.com/en-us/windows/win32/api/http/ne-http-http_request_property>).
pub use windows_sys::Win32::Networking::HttpServer::{HttpRequestPropertyIsb, HttpRequestPropertyQuicStats, HttpRequestPropertyStreamError, HttpRequestPropertyTcpInfoV0, HttpRequestPropertyTcpInfoV1, HttpRequestPropertySni};

impl Server3<'_> {
    /// Reads an HTTP Server API property of the request `request_id` (its
    /// `HTTP_REQUEST::RequestId`) into `output` (`IHttpServer3::QueryRequestProperty`,
    /// synchronously), and returns how many bytes IIS wrote. `qualifier` is the property's
    /// input (e.g. the TCP_INFO version), empty for none
    /// (<https://learn.microsoft.com/en-us/iis/web-development-reference/native-code-api-reference/ihttpserver3-queryrequestproperty-method>).
    pub fn query_request_property(&self, request_id: u64, property: windows_sys::Win32::Networking::HttpServer::HTTP_REQUEST_PROPERTY, qualifier: &[u8], output: &mut [u8]) -> Result<usize> {
        let qualifier_len = u32::try_from(qualifier.len()).map_err(|_| invalid("qualifier larger than 4 GiB"))?;
        let output_len = u32::try_from(output.len()).map_err(|_| invalid("output buffer larger than 4 GiB"))?;
        let qualifier_ptr = if qualifier.is_empty() { core::ptr::null_mut() } else { qualifier.as_ptr() as *mut core::ffi::c_void };
        let mut returned = 0u32;
        // SAFETY: live server; IIS reads `qualifier_len` bytes of the qualifier and writes at
        // most `output_len` bytes of `output`; no OVERLAPPED, so the call completes before it
        // returns and nothing keeps the buffers.
        check(unsafe {
            ((*(*self.as_raw()).lpVtbl).QueryRequestProperty)(self.as_raw(), request_id, property, qualifier_ptr, qualifier_len, output.as_mut_ptr().cast(), output_len, &mut returned, core::ptr::null_mut())
        })?;
        Ok((returned as usize).min(output.len()))
    }
}

impl<'a> crate::Server<'a> {
    /// `IHttpServer2` as a typed handle (`GetExtendedInterface(HTTP_SERVER_INTERFACE_V2)`).
    pub fn v2(&self) -> Result<Server2<'a>> {
        // SAFETY: `server2` returns the live server's IHttpServer2, which lives as long as it.
        unsafe { Server2::from_raw(self.server2()?) }.ok_or_else(|| invalid("IIS returned no IHttpServer2"))
    }

    /// `IHttpServer3` as a typed handle (`GetExtendedInterface(HTTP_SERVER_INTERFACE_V3)`).
    pub fn v3(&self) -> Result<Server3<'a>> {
        let mut out = core::ptr::null_mut();
        // SAFETY: live server; `out` is ours.
        check(unsafe { ((*(*self.as_raw()).lpVtbl).GetExtendedInterface)(self.as_raw(), HTTP_SERVER_INTERFACE_V3, &mut out) })?;
        // SAFETY: IIS returns the server as IHttpServer3, as long-lived as the server.
        unsafe { Server3::from_raw(out.cast()) }.ok_or_else(|| invalid("IIS returned no IHttpServer3"))
    }
}

/// The configuration metadata of a URL (`IMetadataInfo`), as
/// [`HttpContext::metadata`](crate::HttpContext::metadata) returns it for the request: "the
/// metadata ... for the current request" lives at least as long as the request.
#[derive(Clone, Copy)]
pub struct Metadata<'a> {
    raw: NonNull<IMetadataInfo>,
    registration: Option<&'a Registration>,
}

impl core::fmt::Debug for Metadata<'_> {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        write!(f, "Metadata({:p})", self.raw)
    }
}

impl<'a> Metadata<'a> {
    /// # Safety
    /// `raw` is null or a live `IMetadataInfo` valid for `'a`; `registration` is the module's.
    pub(crate) unsafe fn from_raw(raw: *mut IMetadataInfo, registration: Option<&'a Registration>) -> Option<Self> {
        NonNull::new(raw).map(|raw| Self { raw, registration })
    }

    /// The raw `IMetadataInfo`.
    pub fn as_raw(&self) -> *mut IMetadataInfo {
        self.raw.as_ptr()
    }

    fn vtbl(&self) -> &'a IMetadataInfo_Vtbl {
        // SAFETY: live object for 'a; its first field is the vtable.
        unsafe { &*(*self.raw.as_ptr()).lpVtbl }
    }

    /// The configuration path, e.g. `MACHINE/WEBROOT/APPHOST/Default Web Site/app`
    /// (`IMetadataInfo::GetMetaPath`).
    pub fn meta_path(&self) -> Option<WideStr<'a>> {
        // SAFETY: live metadata; a NUL-terminated string as long-lived as it.
        unsafe { WideStr::from_pcwstr((self.vtbl().GetMetaPath)(self.as_raw())) }
    }

    /// The physical path of the URL's virtual directory (`IMetadataInfo::GetVrPath`).
    pub fn vr_path(&self) -> Option<WideStr<'a>> {
        // SAFETY: as in `meta_path`.
        unsafe { WideStr::from_pcwstr((self.vtbl().GetVrPath)(self.as_raw())) }
    }

    /// Stores the module's state for this configuration: it is shared by every request of the
    /// same URL configuration, possibly at the same time on several threads (hence `Sync`), and
    /// dropped when IIS releases the configuration (`CleanupStoredContext`)
    /// (<https://learn.microsoft.com/en-us/iis/web-development-reference/native-code-api-reference/imetadatainfo-getmodulecontextcontainer-method>).
    /// One value per module (`ERROR_ALREADY_ASSIGNED` for a second, which is dropped). It shares
    /// the module's one stored context there with the configuration sections the crate caches
    /// (`bridge/slot.rs`).
    pub fn set_stored_context<T: Send + Sync + 'static>(&self, value: T) -> Result<()> {
        if self.slot()?.set_state(value) {
            Ok(())
        } else {
            // HRESULT_FROM_WIN32(ERROR_ALREADY_ASSIGNED), as IIS answers a second SetModuleContext.
            Err(crate::Error::from(crate::HRESULT(0x8007_0055_u32 as i32)))
        }
    }

    /// What [`set_stored_context`](Self::set_stored_context) stored for this module, if it is a
    /// `T`.
    pub fn stored_context<T: Send + Sync + 'static>(&self) -> Option<&'a T> {
        self.slot().ok()?.state::<T>()
    }

    /// The module's slot in this metadata's container.
    fn slot(&self) -> Result<&'a crate::bridge::slot::Slot> {
        let module_id = self.registration.ok_or_else(|| invalid("the metadata belongs to no module: no stored context"))?.module_id();
        // SAFETY: the metadata's live container, which lives as long as the metadata ('a).
        unsafe { crate::bridge::slot::Slot::of_metadata(self.container()?, module_id) }.ok_or_else(|| invalid("IIS keeps no stored context in this metadata for the module"))
    }

    fn container(&self) -> Result<*mut IHttpModuleContextContainer> {
        // SAFETY: live metadata.
        let container = unsafe { (self.vtbl().GetModuleContextContainer)(self.as_raw()) };
        if container.is_null() {
            return Err(invalid("IIS returned no metadata context container"));
        }
        Ok(container)
    }
}
