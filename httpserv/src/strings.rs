//! Strings IIS hands out, borrowed without copies, and the NUL-terminated strings it takes.

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
