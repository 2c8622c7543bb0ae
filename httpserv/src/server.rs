//! `Server`: the IIS services handed to `RegisterModule` (`IHttpServer`).

use core::marker::PhantomData;
use core::ptr::NonNull;

use httpserv_sys::*;
use windows_sys::core::GUID;

use crate::descriptors::TraceContext;
use crate::error::{check, invalid, Result};
use crate::strings::{with_wide_str, WideStr};

/// The IIS server (`IHttpServer`), borrowed from the registration for `'a`: from
/// [`Registrar::server`](crate::bridge::register::Registrar::server) while `RegisterModule` runs,
/// or from [`HttpContext::server`](crate::HttpContext::server) for one notification.
///
/// In IIS the server outlives every module, but a host that loads and unloads modules (a test
/// server) frees it after `Terminate`, so the handle does not outlive what it came from. It is
/// `Copy`, `Send` and `Sync`: IIS lets any thread call it.
#[derive(Clone, Copy, Debug)]
pub struct Server<'a> {
    raw: NonNull<IHttpServer>,
    version: u32,
    _borrow: PhantomData<&'a IHttpServer>,
}

// SAFETY: IIS calls IHttpServer from any worker thread; the lifetime keeps it live.
unsafe impl Send for Server<'_> {}
// SAFETY: as above; the handle holds no Rust state.
unsafe impl Sync for Server<'_> {}

/// An extension interface (`IHttpContext3`, `IHttpResponse2`, ...) of the IIS object type
/// `Base`, reachable through `IHttpServer2::GetExtendedInterface`.
///
/// # Safety
/// `BASE_IID` and `IID` are the uuids of `Base` and `Self` in httpserv.h, and `Self` extends
/// `Base`.
pub unsafe trait Extension<Base> {
    /// The uuid of `Base`, the interface IIS handed out.
    const BASE_IID: GUID;
    /// The uuid of `Self`, the interface `GetExtendedInterface` asks `Base` for.
    const IID: GUID;
}

macro_rules! extensions {
    ($($base:ident => $($ext:ident),+;)*) => {$($(
        // SAFETY: the uuids are the header's, and httpserv.h derives $ext from $base.
        unsafe impl Extension<$base> for $ext {
            const BASE_IID: GUID = $base::IID;
            const IID: GUID = $ext::IID;
        }
    )+)*};
}

extensions! {
    IHttpContext => IHttpContext2, IHttpContext3, IHttpContext4;
    IHttpRequest => IHttpRequest2, IHttpRequest3, IHttpRequest4;
    IHttpResponse => IHttpResponse2, IHttpResponse3, IHttpResponse4;
    IHttpApplication => IHttpApplication2;
    IHttpCachePolicy => IHttpCachePolicy2;
    IHttpCompletionInfo => IHttpCompletionInfo2;
    IHttpModuleRegistrationInfo => IHttpModuleRegistrationInfo2;
}

impl<'a> Server<'a> {
    /// # Safety
    /// `raw` is null or the `IHttpServer` IIS passed to `RegisterModule`, live for `'a`.
    pub unsafe fn from_raw(raw: *mut IHttpServer, version: u32) -> Option<Self> {
        NonNull::new(raw).map(|raw| Self { raw, version, _borrow: PhantomData })
    }

    /// Reads the configuration section `T` at the configuration path `path` (not cached): a
    /// global module reads at registration with [`crate::config::APPHOST_PATH`].
    pub fn read_config<T: crate::config::ConfigSection>(&self, path: &str) -> core::result::Result<T, crate::config::ConfigError> {
        // SAFETY: the server is live for 'a.
        unsafe { crate::config::read_uncached::<T>(self.as_raw(), path) }
    }

    /// The raw `IHttpServer`.
    pub fn as_raw(&self) -> *mut IHttpServer {
        self.raw.as_ptr()
    }

    fn vtbl(&self) -> &'a IHttpServer_Vtbl {
        // SAFETY: the server is live for 'a; its first field is the vtable.
        unsafe { &*(*self.raw.as_ptr()).lpVtbl }
    }

    /// The `dwServerVersion` IIS passed to `RegisterModule` (7 for IIS 7.0 and later).
    pub fn iis_version(&self) -> u32 {
        self.version
    }

    /// The application pool's name.
    pub fn app_pool_name(&self) -> Option<WideStr<'a>> {
        // SAFETY: IIS returns a NUL-terminated string that lives as long as the server.
        unsafe { WideStr::from_pcwstr((self.vtbl().GetAppPoolName)(self.as_raw())) }
    }

    /// `true` when the worker process was started from a command line (hwc, IIS Express).
    pub fn is_command_line_launch(&self) -> bool {
        // SAFETY: live server.
        unsafe { (self.vtbl().IsCommandLineLaunch)(self.as_raw()) != 0 }
    }

    /// Tells WAS that the worker process is unhealthy, with a reason, so it gets recycled.
    pub fn report_unhealthy(&self, reason: &str, error: crate::HRESULT) -> Result<()> {
        // SAFETY: live server; the reason is NUL-terminated during the call.
        with_wide_str("reason", reason, |reason, _| unsafe { (self.vtbl().ReportUnhealthy)(self.as_raw(), reason, error.0) })
    }

    /// Asks WAS to recycle the worker process.
    pub fn recycle_process(&self, reason: &str) -> Result<()> {
        // SAFETY: live server; the reason is NUL-terminated during the call.
        with_wide_str("reason", reason, |reason, _| unsafe { (self.vtbl().RecycleProcess)(self.as_raw(), reason) })
    }

    /// The server's trace context, for events outside a request.
    pub fn trace(&self) -> Option<TraceContext<'a>> {
        // SAFETY: the server's trace context lives as long as the server.
        unsafe { TraceContext::from_raw((self.vtbl().GetTraceContext)(self.as_raw())) }
    }

    /// `IHttpServer2`, through `GetExtendedInterface(HTTP_SERVER_INTERFACE_V2)`.
    pub fn server2(&self) -> Result<*mut IHttpServer2> {
        let mut out = core::ptr::null_mut();
        // SAFETY: live server; `out` is ours.
        check(unsafe { (self.vtbl().GetExtendedInterface)(self.as_raw(), HTTP_SERVER_INTERFACE_V2, &mut out) })?;
        if out.is_null() {
            return Err(invalid("IIS returned no IHttpServer2"));
        }
        Ok(out.cast())
    }

    /// The extension `T` of the IIS object `input` of type `Base` (what the SDK's
    /// `HttpGetExtendedInterface` does).
    ///
    /// # Safety
    /// `input` is a live IIS object of type `Base`: IIS dereferences it.
    pub unsafe fn extended_interface<Base, T: Extension<Base>>(&self, input: *mut Base) -> Result<*mut T> {
        let server2 = self.server2()?;
        let mut out = core::ptr::null_mut();
        // SAFETY: `server2` is live; GetExtendedInterface reads the two uuids and writes `out`;
        // `input` is a live `Base` per the caller's contract.
        check(unsafe { ((*(*server2).lpVtbl).GetExtendedInterface)(server2, &T::BASE_IID, input.cast(), &T::IID, &mut out) })?;
        if out.is_null() {
            return Err(invalid("IIS returned no extension interface"));
        }
        Ok(out.cast())
    }
}

// ---------------------------------------------------------------------------------------------
// Added for issue 12 (the missing methods): appended, so parallel changes above merge cleanly.

impl Server<'_> {
    /// Puts `data` in the server's fragment cache under `name` (`IHttpServer::AddFragmentToCache`),
    /// for responses to send by name with [`Chunk::Fragment`](crate::Chunk::Fragment); IIS copies
    /// the bytes
    /// (<https://learn.microsoft.com/en-us/iis/web-development-reference/native-code-api-reference/ihttpserver-addfragmenttocache-method>).
    pub fn add_fragment(&self, name: &str, data: &[u8]) -> Result<()> {
        use windows_sys::Win32::Networking::HttpServer::{HttpDataChunkFromMemory, HTTP_DATA_CHUNK, HTTP_DATA_CHUNK_0, HTTP_DATA_CHUNK_0_0};
        if name.is_empty() {
            return Err(invalid("fragment name is empty"));
        }
        let len = u32::try_from(data.len()).map_err(|_| invalid("fragment larger than 4 GiB"))?;
        let mut chunk = HTTP_DATA_CHUNK {
            DataChunkType: HttpDataChunkFromMemory,
            Anonymous: HTTP_DATA_CHUNK_0 { FromMemory: HTTP_DATA_CHUNK_0_0 { pBuffer: data.as_ptr() as *mut _, BufferLength: len } },
        };
        let hr = with_wide_str("fragment name", name, |name, _| {
            // SAFETY: live server; one memory chunk and a NUL-terminated name, read during the
            // call (IIS copies the fragment).
            unsafe { (self.vtbl().AddFragmentToCache)(self.as_raw(), &mut chunk, name) }
        })?;
        check(hr)
    }

    /// Removes the fragment `name` from the cache (`IHttpServer::RemoveFragmentFromCache`).
    pub fn remove_fragment(&self, name: &str) -> Result<()> {
        let hr = with_wide_str("fragment name", name, |name, _| {
            // SAFETY: live server; NUL-terminated name during the call.
            unsafe { (self.vtbl().RemoveFragmentFromCache)(self.as_raw(), name) }
        })?;
        check(hr)
    }
}
