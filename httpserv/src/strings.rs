//! Strings IIS hands out, and the NUL-terminated strings it takes.
//!
//! # What a borrowed string may point to
//!
//! Microsoft documents no lifetime for most strings IIS returns: `IHttpRequest::GetHeader` (both
//! overloads) and `IHttpResponse::GetHeader` return a pointer and a length and say nothing of
//! how long they stay valid; `IHttpResponse::GetStatus` returns the reason phrase in a
//! "server-owned buffer"; `IHttpContext::GetScriptName` and `GetScriptTranslated` say "the
//! server owns the lifetime"; `GetPhysicalPath`, `IHttpRequest::GetForwardedUrl`,
//! `GetHttpMethod` and the `HTTP_REQUEST`'s URL and header strings say nothing; and
//! `GetServerVariable` "receives a copy" of a value whose owner is unstated. `SetHeader`,
//! `DeleteHeader`, `Clear`, `ClearHeaders`, `SetStatus`, `Redirect`, `SetUrl`, `SetHttpMethod`
//! and `SetServerVariable` may release them, and other modules may call those between our calls
//! or during them (nested notifications). The one memory documented to live until the end of the
//! request is `IHttpContext::AllocateRequestMemory`'s: it "has the lifetime of the current
//! request. The server will automatically reclaim this memory at the end of the request"
//! (<https://learn.microsoft.com/en-us/iis/web-development-reference/native-code-api-reference/ihttpcontext-allocaterequestmemory-method>).
//!
//! So the rule: **a safe getter that returns a string or bytes a later mutation could release
//! copies them into request memory** ([`copy_to_request`]) and returns a borrow of the copy,
//! valid for the request whatever happens next; no heap allocation, nothing to free. Copied:
//! `Request::{header, known_header, headers, method, path, query, full_url, raw_url}`,
//! `Response::{header, known_header, status().reason}`,
//! `HttpContext::{server_variable, server_variable_wide, script_name, script_translated,
//! physical_path}`, `MapPathProvider::physical_path` (`set_physical_path` replaces it), and every
//! string of `Response::raw_response` and `SendResponseProvider::log_data`.
//! Left borrowed, because no call can replace them while the borrow lives: the strings of
//! `Site`, `Application` (fixed for the object), `User` (borrowed from the handle, which holds a
//! reference to the user: a second `SetUser` releases IIS's), `MapPathProvider::url`,
//! `CustomNotificationProvider::notification_type`, `ReadEntityProvider::entity` and the
//! global providers' paths (fixed for the notification, which is what their `'a` is).

use core::fmt;

use crate::error::{invalid, Result};

/// A UTF-16 string borrowed from IIS memory (a `PCWSTR` and its length), valid for `'a`.
#[derive(Clone, Copy, PartialEq, Eq, Hash)]
pub struct WideStr<'a>(&'a [u16]);

impl<'a> WideStr<'a> {
    /// Wraps UTF-16 code units (without the terminating NUL).
    pub fn new(units: &'a [u16]) -> Self {
        Self(units)
    }

    /// # Safety
    /// `ptr` is null or points to `len` readable code units valid for `'a`.
    pub(crate) unsafe fn from_raw_parts(ptr: *const u16, len: usize) -> Option<Self> {
        if ptr.is_null() {
            return None;
        }
        // SAFETY: non-null, and the caller guarantees `len` units valid for 'a.
        Some(Self(unsafe { core::slice::from_raw_parts(ptr, len) }))
    }

    /// # Safety
    /// `ptr` is null or a NUL-terminated UTF-16 string valid for `'a`.
    pub(crate) unsafe fn from_pcwstr(ptr: *const u16) -> Option<Self> {
        if ptr.is_null() {
            return None;
        }
        let mut len = 0;
        // SAFETY: the string is NUL-terminated, so every unit up to the NUL is readable.
        while unsafe { *ptr.add(len) } != 0 {
            len += 1;
        }
        // SAFETY: `len` units were just read.
        unsafe { Self::from_raw_parts(ptr, len) }
    }

    /// The code units, without the terminating NUL.
    pub fn as_slice(&self) -> &'a [u16] {
        self.0
    }

    /// The number of UTF-16 code units.
    pub fn len(&self) -> usize {
        self.0.len()
    }

    /// `true` for the empty string.
    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }

    /// Lossless conversion: fails on unpaired surrogates.
    pub fn to_string(&self) -> core::result::Result<String, std::string::FromUtf16Error> {
        String::from_utf16(self.0)
    }

    /// Replaces unpaired surrogates with U+FFFD.
    pub fn to_string_lossy(&self) -> String {
        String::from_utf16_lossy(self.0)
    }

    /// Compares with a Rust string without allocating.
    pub fn eq_str(&self, s: &str) -> bool {
        self.0.iter().copied().eq(s.encode_utf16())
    }
}

impl fmt::Debug for WideStr<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt::Debug::fmt(&self.to_string_lossy(), f)
    }
}

impl fmt::Display for WideStr<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        for c in char::decode_utf16(self.0.iter().copied()) {
            fmt::Write::write_char(f, c.unwrap_or(char::REPLACEMENT_CHARACTER))?;
        }
        Ok(())
    }
}

/// Copies `units` into request memory of `context` (see the module documentation): the copy
/// lives until the request ends, whatever IIS later does with the original. `None` when IIS
/// has no memory left (or returns memory not aligned for `T`). Empty input needs no memory.
///
/// # Safety
/// `context` is a live `IHttpContext` that stays valid for `'a`.
pub(crate) unsafe fn copy_to_request<'a, T: Copy>(context: *mut httpserv_sys::IHttpContext, units: &[T]) -> Option<&'a [T]> {
    if units.is_empty() {
        return Some(&[]);
    }
    // SAFETY: forwarded from the caller.
    let ptr = unsafe { request_memory::<T>(context, units.len()) }?;
    // SAFETY: `ptr` is aligned with room for `units.len()` values, in request memory that
    // nothing else refers to and that IIS keeps until the request ends ('a).
    unsafe {
        core::ptr::copy_nonoverlapping(units.as_ptr(), ptr, units.len());
        Some(core::slice::from_raw_parts(ptr, units.len()))
    }
}

/// Uninitialised request memory of `context` for `count` values of `T`, aligned for `T` (`None`
/// when IIS has none left or the size overflows a `u32`).
///
/// Microsoft documents no alignment for `AllocateRequestMemory` (its return value is "a pointer
/// to VOID",
/// <https://learn.microsoft.com/en-us/iis/web-development-reference/native-code-api-reference/ihttpcontext-allocaterequestmemory-method>),
/// so a block that is not aligned for `T` is given up (IIS reclaims it with the request) and a
/// block `align_of::<T>() - 1` bytes larger is aligned by hand. An aligned first block, what
/// IIS hands out in practice, costs nothing extra.
///
/// # Safety
/// `context` is a live `IHttpContext`.
pub(crate) unsafe fn request_memory<T>(context: *mut httpserv_sys::IHttpContext, count: usize) -> Option<*mut T> {
    let bytes = count.checked_mul(core::mem::size_of::<T>())?;
    let size = u32::try_from(bytes).ok()?;
    // SAFETY: live context per the caller; IIS returns `size` writable bytes or null.
    let ptr = unsafe { ((*(*context).lpVtbl).AllocateRequestMemory)(context, size.max(1)) }.cast::<T>();
    if ptr.is_null() {
        return None;
    }
    if ptr.is_aligned() {
        return Some(ptr);
    }
    let align = core::mem::align_of::<T>();
    let padded = u32::try_from(bytes.checked_add(align - 1)?).ok()?;
    // SAFETY: as above.
    let raw = unsafe { ((*(*context).lpVtbl).AllocateRequestMemory)(context, padded) }.cast::<u8>();
    if raw.is_null() {
        return None;
    }
    // At most `align - 1` for a byte pointer (`align_offset` on `u8` is exact), so the aligned
    // start still has `bytes` bytes of the block after it.
    let offset = raw.align_offset(align);
    (offset < align).then(|| raw.wrapping_add(offset).cast::<T>())
}

/// # Safety
/// `ptr` is null or points to `len` readable bytes valid for `'a`.
pub(crate) unsafe fn bytes<'a>(ptr: *const u8, len: usize) -> Option<&'a [u8]> {
    if ptr.is_null() {
        return None;
    }
    // SAFETY: non-null, and the caller guarantees `len` bytes valid for 'a.
    Some(unsafe { core::slice::from_raw_parts(ptr, len) })
}

/// # Safety
/// `ptr` is null or a NUL-terminated string valid for `'a`.
pub(crate) unsafe fn c_bytes<'a>(ptr: *const u8) -> Option<&'a [u8]> {
    if ptr.is_null() {
        return None;
    }
    // SAFETY: IIS returns NUL-terminated strings here; valid for 'a per the caller.
    Some(unsafe { core::ffi::CStr::from_ptr(ptr.cast()) }.to_bytes())
}

/// Calls `f` with `text` as a NUL-terminated C string, on the stack when it fits (no heap
/// allocation for the names, reasons and URLs of ordinary requests). An interior NUL is an
/// error, never a silent truncation.
pub(crate) fn with_c_str<R>(what: &str, text: &[u8], f: impl FnOnce(*const u8) -> R) -> Result<R> {
    if let Some(at) = text.iter().position(|&b| b == 0) {
        return Err(invalid(&format!("{what} contains NUL at byte {at}")));
    }
    const STACK: usize = 512;
    if text.len() < STACK {
        // Only the bytes written below are read, so the rest need not be zeroed.
        let mut buffer = [core::mem::MaybeUninit::<u8>::uninit(); STACK];
        // SAFETY: `text.len() + 1 <= STACK`; the copy and the NUL initialise exactly the bytes
        // IIS reads (up to and including the NUL).
        unsafe {
            let start = buffer.as_mut_ptr().cast::<u8>();
            core::ptr::copy_nonoverlapping(text.as_ptr(), start, text.len());
            start.add(text.len()).write(0);
        }
        Ok(f(buffer.as_ptr().cast()))
    } else {
        let mut buffer = Vec::with_capacity(text.len() + 1);
        buffer.extend_from_slice(text);
        buffer.push(0);
        Ok(f(buffer.as_ptr()))
    }
}

/// Calls `f` with `text` as a NUL-terminated UTF-16 string (stack first, as [`with_c_str`]).
pub(crate) fn with_wide_str<R>(what: &str, text: &str, f: impl FnOnce(*const u16, u32) -> R) -> Result<R> {
    if text.contains('\0') {
        return Err(invalid(&format!("{what} contains NUL")));
    }
    const STACK: usize = 512;
    let units = text.encode_utf16().count();
    let len = u32::try_from(units).map_err(|_| invalid(&format!("{what} is too long")))?;
    if units < STACK {
        let mut buffer = [0u16; STACK];
        for (slot, unit) in buffer.iter_mut().zip(text.encode_utf16()) {
            *slot = unit;
        }
        Ok(f(buffer.as_ptr(), len))
    } else {
        let mut buffer: Vec<u16> = text.encode_utf16().collect();
        buffer.push(0);
        Ok(f(buffer.as_ptr(), len))
    }
}

/// # Safety
/// `ptr` is null (then `len` is ignored) or points to `len` values valid for `'a`.
pub(crate) unsafe fn slice<'a, T>(ptr: *const T, len: usize) -> &'a [T] {
    if ptr.is_null() || len == 0 {
        return &[];
    }
    // SAFETY: the caller guarantees `len` values valid for 'a.
    unsafe { core::slice::from_raw_parts(ptr, len) }
}
