//! `HttpContext`: the request being processed, and everything a module reaches through it.

use core::any::TypeId;

use httpserv_sys::*;
use windows_sys::core::{PCSTR, PCWSTR};

use crate::bridge::registration::{Current, Registration};
use crate::descriptors::{Application, Connection, Site, TraceContext, User};
use crate::error::{check, invalid, Result};
use crate::handle::handle;
use crate::strings::{copy_to_request, with_c_str, with_wide_str, WideStr};
use crate::{Request, Response, Server};

handle! {
    /// `IHttpContext`: one request, borrowed for the duration of a notification.
    HttpContextRaw => IHttpContext, IHttpContext_Vtbl
}

/// The context of the request being processed (`IHttpContext`), borrowed for the duration of
/// one notification.
#[derive(Clone, Copy)]
pub struct HttpContext<'a> {
    raw: HttpContextRaw<'a>,
    /// The registration of the module the context was handed to (its server and module id),
    /// or none for a context made from a raw pointer outside a handler.
    registration: Option<&'a Registration>,
}

impl core::fmt::Debug for HttpContext<'_> {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        self.raw.fmt(f)
    }
}

impl<'a> HttpContext<'a> {
    /// A context from a raw pointer, for the module whose handler runs on this thread (its
    /// server and module id); outside a handler, a context without them (`server()` is `None`,
    /// stored contexts are refused).
    ///
    /// # Safety
    /// `raw` is null or a live `IHttpContext` valid for `'a`, and `'a` ends before the handler
    /// running on this thread returns.
    pub unsafe fn from_raw(raw: *mut IHttpContext) -> Option<Self> {
        let registration = Current::with(|r| r.map(|r| r as *const Registration));
        // SAFETY: the registration of the running handler outlives it, hence 'a (the caller's
        // contract); `raw` is forwarded from the caller.
        unsafe { Self::from_raw_in(raw, registration.map_or(core::ptr::null(), |r| r)) }
    }

    /// The same handle with its lifetime erased, for a suspended handler's future.
    ///
    /// # Safety
    /// The caller keeps the result from being used after the request ends.
    pub(crate) unsafe fn erase(&self) -> HttpContext<'static> {
        // SAFETY: same layout; only the lifetime changes, which the caller answers for.
        unsafe { core::mem::transmute::<HttpContext<'a>, HttpContext<'static>>(*self) }
    }

    /// # Safety
    /// As for `from_raw`, and `registration` is null or live for `'a`.
    pub(crate) unsafe fn from_raw_in(raw: *mut IHttpContext, registration: *const Registration) -> Option<Self> {
        // SAFETY: forwarded from the caller.
        let raw = unsafe { HttpContextRaw::from_raw(raw) }?;
        // SAFETY: the caller's contract: null or live for 'a.
        Some(Self { raw, registration: unsafe { registration.as_ref() } })
    }

    /// The raw `IHttpContext`.
    #[inline]
    pub fn as_raw(&self) -> *mut IHttpContext {
        self.raw.as_raw()
    }

    #[inline]
    fn vtbl(&self) -> &'a IHttpContext_Vtbl {
        self.raw.vtbl()
    }

    /// The request (`IHttpContext::GetRequest`).
    #[inline]
    pub fn request(&self) -> Request<'a> {
        // SAFETY: the context is live for 'a; IIS returns its request object, which lives as
        // long as the context (never null for a context handed to a module).
        let raw = unsafe { (self.vtbl().GetRequest)(self.as_raw()) };
        // SAFETY: as above.
        unsafe { Request::from_raw(raw, self.as_raw()) }.expect("IIS returned no request")
    }

    /// The response (`IHttpContext::GetResponse`).
    #[inline]
    pub fn response(&self) -> Response<'a> {
        // SAFETY: as in `request`.
        let raw = unsafe { (self.vtbl().GetResponse)(self.as_raw()) };
        // SAFETY: as in `request`.
        unsafe { Response::from_raw(raw, self.as_raw()) }.expect("IIS returned no response")
    }

    /// Cancels any pending send or receive operations with the client.
    ///
    /// If the module is reading the request entity body, the pending read is cancelled. This
    /// differs from [`Response::reset_connection`], which resets the connection at once, and
    /// [`Response::set_need_disconnect`], which closes it after the response is sent.
    ///
    /// # Errors
    /// `ERROR_INVALID_HANDLE` (as an `HRESULT`) when IIS could not retrieve and lock the
    /// asynchronous handle of the operation.
    #[inline]
    pub fn cancel_io(&self) -> Result<()> {
        // SAFETY: live context for 'a; CancelIo takes no arguments.
        check(unsafe { (self.vtbl().CancelIo)(self.as_raw()) })
    }

    /// `true` once the response headers have been sent to the client.
    pub fn response_headers_sent(&self) -> bool {
        // SAFETY: live context for 'a.
        unsafe { (self.vtbl().GetResponseHeadersSent)(self.as_raw()) != 0 }
    }

    /// The authenticated user, if any.
    pub fn user(&self) -> Option<User<'a>> {
        // SAFETY: live context for 'a; IIS returns the request's current user, live now (a later
        // `set_user` may replace and release it: `User` takes its own reference).
        unsafe { User::from_raw((self.vtbl().GetUser)(self.as_raw())) }
    }

    /// The site that received the request.
    pub fn site(&self) -> Option<Site<'a>> {
        // SAFETY: live context for 'a; the site outlives the request.
        unsafe { Site::from_raw((self.vtbl().GetSite)(self.as_raw())) }
    }

    /// The application the request belongs to.
    pub fn application(&self) -> Option<Application<'a>> {
        // SAFETY: live context for 'a; the application outlives the request.
        unsafe { Application::from_raw((self.vtbl().GetApplication)(self.as_raw())) }
    }

    /// The client connection.
    pub fn connection(&self) -> Option<Connection<'a>> {
        // SAFETY: live context for 'a; the connection outlives the request.
        unsafe { Connection::from_raw((self.vtbl().GetConnection)(self.as_raw())) }
    }

    /// The request's trace context, for `IHttpTraceContext` events.
    pub fn trace(&self) -> Option<TraceContext<'a>> {
        // SAFETY: live context for 'a; the trace context lives as long as the request.
        unsafe { TraceContext::from_raw((self.vtbl().GetTraceContext)(self.as_raw())) }
    }

    /// A server variable as IIS stores it in 8-bit form (`GetServerVariable(PCSTR, PCSTR*)`),
    /// copied into request memory (`set_server_variable`, `set_url` or `set_header` may release
    /// IIS's copy); `Ok(None)` when IIS does not know the variable.
    pub fn server_variable(&self, name: &str) -> Result<Option<&'a [u8]>> {
        let mut value: PCSTR = core::ptr::null();
        let mut len = 0u32;
        // SAFETY: live context; `name` is NUL-terminated by with_c_str; out pointers are ours.
        let hr = with_c_str("server variable name", name.as_bytes(), |name| unsafe {
            (self.vtbl().GetServerVariable_2)(self.as_raw(), name, &mut value, &mut len)
        })?;
        if hr == ERROR_INVALID_INDEX_HRESULT {
            return Ok(None);
        }
        check(hr)?;
        // SAFETY: IIS returned `len` bytes, readable until the next call into IIS.
        let Some(original) = (unsafe { crate::strings::bytes(value, len as usize) }) else {
            return Ok(None);
        };
        // SAFETY: live context for 'a.
        unsafe { copy_to_request(self.as_raw(), original) }.map(Some).ok_or_else(out_of_memory)
    }

    /// A server variable in UTF-16 (`GetServerVariable(PCSTR, PCWSTR*)`), copied as
    /// [`server_variable`](Self::server_variable); `Ok(None)` when IIS does not know it.
    pub fn server_variable_wide(&self, name: &str) -> Result<Option<WideStr<'a>>> {
        let mut value: PCWSTR = core::ptr::null();
        let mut len = 0u32;
        // SAFETY: as in `server_variable`.
        let hr = with_c_str("server variable name", name.as_bytes(), |name| unsafe {
            (self.vtbl().GetServerVariable)(self.as_raw(), name, &mut value, &mut len)
        })?;
        if hr == ERROR_INVALID_INDEX_HRESULT {
            return Ok(None);
        }
        check(hr)?;
        // SAFETY: IIS returned `len` UTF-16 units, readable until the next call into IIS.
        let Some(original) = (unsafe { WideStr::from_raw_parts(value, len as usize) }) else {
            return Ok(None);
        };
        // SAFETY: live context for 'a.
        unsafe { copy_to_request(self.as_raw(), original.as_slice()) }.map(|units| Some(WideStr::new(units))).ok_or_else(out_of_memory)
    }

    /// Sets a server variable for the rest of the request.
    pub fn set_server_variable(&self, name: &str, value: &str) -> Result<()> {
        crate::error::check_no_line_breaks("server variable name", name.as_bytes())?;
        crate::error::check_no_line_breaks("server variable value", value.as_bytes())?;
        let hr = with_c_str("server variable name", name.as_bytes(), |name| {
            with_wide_str("server variable value", value, |value, _| {
                // SAFETY: live context; both strings NUL-terminated and live during the call.
                unsafe { (self.vtbl().SetServerVariable)(self.as_raw(), name, value) }
            })
        })??;
        check(hr)
    }

    /// Maps a URL to a physical path (`IHttpContext::MapPath`); raises `RQ_MAP_PATH` once.
    ///
    /// `MapPath` raises `RQ_MAP_PATH` on every call, so asking again with a larger buffer after
    /// `ERROR_INSUFFICIENT_BUFFER` would run the notification (and every module's handler)
    /// twice. Instead the one call gets a buffer in request memory large enough for any path
    /// Windows can name (32,767 UTF-16 units and the NUL, the extended-length path limit).
    pub fn map_path(&self, url: &str) -> Result<String> {
        const MAX_PATH_UNITS: usize = 32_768;
        // Aligned for u16 by `request_memory` (IIS documents no alignment for request memory).
        // SAFETY: live context for 'a.
        let memory = unsafe { crate::strings::request_memory::<u16>(self.as_raw(), MAX_PATH_UNITS) }.ok_or_else(out_of_memory)?;
        // SAFETY: `memory` is aligned with room for MAX_PATH_UNITS units of request memory that
        // nothing else refers to; zeroed here, it is a valid `[u16; MAX_PATH_UNITS]`.
        let buffer = unsafe {
            memory.write_bytes(0, MAX_PATH_UNITS);
            core::slice::from_raw_parts_mut(memory, MAX_PATH_UNITS)
        };
        let mut bytes = (MAX_PATH_UNITS * 2) as u32;
        let hr = with_wide_str("URL", url, |url, _| {
            // SAFETY: live context; `buffer` holds `bytes` bytes; IIS writes at most that.
            unsafe { (self.vtbl().MapPath)(self.as_raw(), url, buffer.as_mut_ptr(), &mut bytes) }
        })?;
        check(hr)?;
        Ok(until_nul(buffer))
    }

    /// The script name of the request (`GetScriptName`), e.g. `/app/default.aspx`, copied into
    /// request memory ("the server owns the lifetime": `set_url` may release it).
    pub fn script_name(&self) -> Option<WideStr<'a>> {
        let mut len = 0u32;
        // SAFETY: live context; IIS returns a string of `len` units, readable now.
        let original = unsafe { WideStr::from_raw_parts((self.vtbl().GetScriptName)(self.as_raw(), &mut len), len as usize) }?;
        // SAFETY: live context for 'a.
        unsafe { copy_to_request(self.as_raw(), original.as_slice()) }.map(WideStr::new)
    }

    /// The physical path of the request (`GetPhysicalPath`), copied as
    /// [`script_name`](Self::script_name).
    pub fn physical_path(&self) -> Option<WideStr<'a>> {
        let mut len = 0u32;
        // SAFETY: as in `script_name`.
        let original = unsafe { WideStr::from_raw_parts((self.vtbl().GetPhysicalPath)(self.as_raw(), &mut len), len as usize) }?;
        // SAFETY: live context for 'a.
        unsafe { copy_to_request(self.as_raw(), original.as_slice()) }.map(WideStr::new)
    }

    /// `len` zeroed bytes of request memory (`AllocateRequestMemory`), freed by IIS when the
    /// request ends: no heap allocation, no free.
    pub fn allocate_request_memory(&self, len: usize) -> Result<&'a mut [u8]> {
        let size = u32::try_from(len).map_err(|_| invalid("request memory larger than 4 GiB"))?;
        // SAFETY: live context; IIS returns `size` writable bytes or null.
        let ptr = unsafe { (self.vtbl().AllocateRequestMemory)(self.as_raw(), size) }.cast::<u8>();
        if ptr.is_null() {
            return Err(crate::error::Error::from_hresult(crate::error::HRESULT(E_OUTOFMEMORY)));
        }
        // SAFETY: IIS handed out `len` bytes for this request only; zero them before exposing.
        unsafe {
            ptr.write_bytes(0, len);
            Ok(core::slice::from_raw_parts_mut(ptr, len))
        }
    }

    /// Stores the module's per-request state in the context's module context container. IIS
    /// calls `CleanupStoredContext` when the request ends, which drops `value`. One value per
    /// module and request: a second call fails with IIS's error.
    pub fn set_stored_context<T: Send + 'static>(&self, value: T) -> Result<()> {
        let module_id = self.registration.ok_or_else(|| invalid("the context belongs to no module: no stored context"))?.module_id();
        let container = self.module_context_container()?;
        let stored = crate::bridge::stored::StoredContext::new(value);
        // SAFETY: `container` is live for the request; on success IIS owns `stored` and will
        // call CleanupStoredContext exactly once; on failure we still own it.
        let hr = unsafe { ((*(*container).lpVtbl).SetModuleContext)(container, stored, module_id) };
        if hr < 0 {
            // SAFETY: IIS refused it, so we still own `stored`.
            unsafe { crate::bridge::stored::StoredContext::<T>::free(stored) };
        }
        check(hr)
    }

    /// The state stored by [`set_stored_context`](Self::set_stored_context) for this module,
    /// if any and if it is a `T`.
    pub fn stored_context<T: Send + 'static>(&self) -> Option<&'a T> {
        let module_id = self.registration?.module_id();
        let container = self.module_context_container().ok()?;
        // SAFETY: live container; returns what this module stored or null.
        let stored = unsafe { ((*(*container).lpVtbl).GetModuleContext)(container, module_id) };
        // SAFETY: everything this module stores under its id is a StoredContext made by
        // `set_stored_context`; the type is checked before the value is exposed. It lives
        // until IIS calls CleanupStoredContext at the end of the request.
        unsafe { crate::bridge::stored::StoredContext::<T>::get(stored, TypeId::of::<T>()) }
    }

    fn module_context_container(&self) -> Result<*mut IHttpModuleContextContainer> {
        // SAFETY: live context for 'a.
        let container = unsafe { (self.vtbl().GetModuleContextContainer)(self.as_raw()) };
        if container.is_null() {
            return Err(invalid("IIS returned no module context container"));
        }
        Ok(container)
    }

    /// The extension interface `T` of this context (`IHttpContext2`..`IHttpContext4`), through
    /// `IHttpServer2::GetExtendedInterface` as `HttpGetExtendedInterface` does.
    /// A typed handle borrowed like the context ([`crate::extensions::Extended`]); the common
    /// ones have their own methods ([`context2`](Self::context2), [`context4`](Self::context4)).
    pub fn extended<T: crate::server::Extension<IHttpContext>>(&self, server: &Server) -> Result<crate::extensions::Extended<'a, T>> {
        // SAFETY: this context is a live IHttpContext for 'a; IIS returns the extension of the
        // same object (non-null, checked by `extended_interface`), live as long as it.
        unsafe { crate::extensions::Extended::from_raw(server.extended_interface::<IHttpContext, T>(self.as_raw())?) }
            .ok_or_else(|| invalid("IIS returned no extension interface"))
    }

    /// The id IIS gave the module the context was handed to (null outside a module).
    pub fn module_id(&self) -> HTTP_MODULE_ID {
        self.registration.map_or(core::ptr::null_mut(), Registration::module_id)
    }

    /// Marks the request as handled (`SetRequestHandled`).
    pub fn set_request_handled(&self) {
        // SAFETY: live context for 'a.
        unsafe { (self.vtbl().SetRequestHandled)(self.as_raw()) }
    }

    /// The configuration section `T` for this request's URL: read through
    /// `IAppHostAdminManager::GetAdminSection` at the request's configuration path
    /// (`IMetadataInfo::GetMetaPath`) the first time, then from the cache in the metadata's
    /// module context container (one read per configuration path until IIS replaces the
    /// metadata after a configuration change). See [`crate::config`].
    pub fn config<T: crate::config::ConfigSection>(&self) -> core::result::Result<std::sync::Arc<T>, crate::config::ConfigError> {
        let Some(registration) = self.registration else {
            return Err(crate::config::ConfigError::Iis { section: T::NAME.to_owned(), path: String::new(), hresult: crate::E_INVALIDARG.0, what: "the context belongs to no module".into() });
        };
        // SAFETY: the context is live for 'a; the registration's server and module id are the
        // module's own.
        unsafe { crate::config::read_for_request::<T>(self.as_raw(), registration.server_raw(), registration.module_id()) }
    }

    /// The server the module was registered with, for this notification.
    pub fn server(&self) -> Option<Server<'a>> {
        let registration = self.registration?;
        // SAFETY: the registration's server is live while the registration is, hence for 'a.
        unsafe { Server::from_raw(registration.server_raw(), registration.version()) }
    }
}

const ERROR_INVALID_INDEX_HRESULT: i32 = 0x8007_0585_u32 as i32;
const E_OUTOFMEMORY: i32 = 0x8007_000E_u32 as i32;

fn out_of_memory() -> crate::error::Error {
    crate::error::Error::from_hresult(crate::error::HRESULT(E_OUTOFMEMORY))
}

fn until_nul(units: &[u16]) -> String {
    let end = units.iter().position(|&u| u == 0).unwrap_or(units.len());
    String::from_utf16_lossy(&units[..end])
}

// ---------------------------------------------------------------------------------------------
// Added for issue 12 (the missing methods): appended, so parallel changes above merge cleanly.

impl<'a> HttpContext<'a> {
    /// The physical path of the script the request maps to (`GetScriptTranslated`), e.g.
    /// `C:\inetpub\wwwroot\app\default.aspx`, copied into request memory as
    /// [`script_name`](Self::script_name) ("the server owns the lifetime" of IIS's string)
    /// (<https://learn.microsoft.com/en-us/iis/web-development-reference/native-code-api-reference/ihttpcontext-getscripttranslated-method>).
    pub fn script_translated(&self) -> Option<WideStr<'a>> {
        let mut len = 0u32;
        // SAFETY: live context; IIS returns a string of `len` units, readable now.
        let original = unsafe { WideStr::from_raw_parts((self.vtbl().GetScriptTranslated)(self.as_raw(), &mut len), len as usize) }?;
        // SAFETY: live context for 'a.
        unsafe { copy_to_request(self.as_raw(), original.as_slice()) }.map(WideStr::new)
    }

    /// `IHttpContext2` of this context, as a typed handle (through
    /// `IHttpServer2::GetExtendedInterface`, as the SDK's `HttpGetExtendedInterface` does)
    /// (<https://learn.microsoft.com/en-us/iis/web-development-reference/native-code-api-reference/ihttpcontext2-interface>).
    pub fn context2(&self, server: &Server<'_>) -> Result<crate::extensions::HttpContext2<'a>> {
        // SAFETY: this context is a live IHttpContext for 'a; IIS returns the extension of the
        // same object, live as long as it.
        unsafe { crate::extensions::HttpContext2::from_raw(server.extended_interface::<IHttpContext, IHttpContext2>(self.as_raw())?) }
            .ok_or_else(|| invalid("IIS returned no IHttpContext2"))
    }

    /// `IHttpContext4` of this context, as a typed handle (see [`context2`](Self::context2))
    /// (<https://learn.microsoft.com/en-us/iis/web-development-reference/native-code-api-reference/ihttpcontext4-interface>).
    pub fn context4(&self, server: &Server<'_>) -> Result<crate::extensions::HttpContext4<'a>> {
        // SAFETY: as in `context2`.
        unsafe { crate::extensions::HttpContext4::from_raw(server.extended_interface::<IHttpContext, IHttpContext4>(self.as_raw())?) }
            .ok_or_else(|| invalid("IIS returned no IHttpContext4"))
    }

    /// Stores the module's per-connection state on the client connection: it lives as long as
    /// the connection, across the requests it carries (keep-alive), and is dropped when IIS
    /// cleans up the connection's stored contexts as the connection closes
    /// (<https://learn.microsoft.com/en-us/iis/web-development-reference/native-code-api-reference/ihttpconnection-getmodulecontextcontainer-method>).
    /// One value per module and connection: a second is refused with `ERROR_ALREADY_ASSIGNED`
    /// (and dropped). IIS keeps one stored context per module on a connection; the crate's
    /// slot (`bridge/slot.rs`) holds this value and the disconnect
    /// watch of the module's `async` handlers side by side. `Sync`: requests of one connection
    /// may run on different threads, and at once.
    pub fn set_connection_stored_context<T: Send + Sync + 'static>(&self, value: T) -> Result<()> {
        let slot = self.connection_slot()?;
        if slot.set_state(value) {
            Ok(())
        } else {
            // HRESULT_FROM_WIN32(ERROR_ALREADY_ASSIGNED), as IIS answers a second SetModuleContext.
            Err(crate::Error::from(crate::HRESULT(0x8007_0055_u32 as i32)))
        }
    }

    /// The state stored by [`set_connection_stored_context`](Self::set_connection_stored_context)
    /// for this module on this connection, if any and if it is a `T`.
    pub fn connection_stored_context<T: Send + Sync + 'static>(&self) -> Option<&'a T> {
        self.connection_slot().ok()?.state::<T>()
    }

    /// The module's slot on the request's connection.
    fn connection_slot(&self) -> Result<&'a crate::bridge::slot::Slot> {
        let module_id = self.registration.ok_or_else(|| invalid("the context belongs to no module: no stored context"))?.module_id();
        let connection = self.connection().ok_or_else(|| invalid("IIS returned no connection"))?;
        // SAFETY: the request's live connection, which outlives the request ('a).
        unsafe { crate::bridge::slot::Slot::of_connection(connection.as_raw(), module_id) }.ok_or_else(|| invalid("IIS keeps no stored context on this connection for the module"))
    }

    /// The configuration metadata of the request's URL (`IHttpContext::GetMetadata`): its
    /// metabase path and a context container that lives as long as that configuration
    /// (<https://learn.microsoft.com/en-us/iis/web-development-reference/native-code-api-reference/ihttpcontext-getmetadata-method>).
    pub fn metadata(&self) -> Option<crate::extensions::Metadata<'a>> {
        // SAFETY: live context; the metadata lives at least as long as the request.
        let raw = unsafe { (self.vtbl().GetMetadata)(self.as_raw()) };
        // SAFETY: as above; the registration is this context's.
        unsafe { crate::extensions::Metadata::from_raw(raw, self.registration) }
    }
}
