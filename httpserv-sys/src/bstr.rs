//! `BSTR` allocation for the ahadmin interfaces: who allocates a `BSTR` and who frees it must
//! use the same allocator.
//!
//! A `BSTR` points at UTF-16 text preceded by its length in bytes (a `u32`) and followed by a
//! NUL. On Windows these are oleaut32's `SysAllocStringLen` / `SysFreeString`, which IIS's
//! configuration system uses for every `BSTR` it returns and which a module must use to free
//! them (<https://learn.microsoft.com/en-us/windows/win32/api/oleauto/nf-oleauto-sysfreestring>).
//! Elsewhere (the in-process simulator on Linux, where the simulation core and the module share
//! one Rust global allocator) the same layout is allocated with Rust's allocator, so a `BSTR`
//! that the simulator hands out is freed correctly by the module's safe layer.

use windows_sys::core::BSTR;

/// Allocates a `BSTR` holding `text` (UTF-16, no NUL needed). Null if the allocation fails or
/// the text is longer than a `BSTR` can hold.
pub fn alloc(text: &[u16]) -> BSTR {
    let Ok(len) = u32::try_from(text.len()) else { return core::ptr::null() };
    if len > u32::MAX / 2 - 4 {
        return core::ptr::null();
    }
    imp::alloc(text, len)
}

/// Frees a `BSTR` from [`alloc`] (or from IIS). Null is allowed and does nothing.
///
/// # Safety
///
/// `bstr` is null or a live `BSTR` allocated by [`alloc`] (on Windows: by `SysAllocString*`),
/// freed only once.
pub unsafe fn free(bstr: BSTR) {
    if !bstr.is_null() {
        // SAFETY: per this function's contract.
        unsafe { imp::free(bstr) }
    }
}

/// The text of a `BSTR` (its length prefix, not a NUL, ends it). Empty for null, as COM treats
/// a null `BSTR` as the empty string.
///
/// # Safety
///
/// `bstr` is null or a live `BSTR`; the slice must not outlive it.
pub unsafe fn as_wide<'a>(bstr: BSTR) -> &'a [u16] {
    if bstr.is_null() {
        return &[];
    }
    // SAFETY: a BSTR is preceded by its byte length (u32) and holds that many bytes of UTF-16.
    unsafe {
        let bytes = *(bstr as *const u32).sub(1);
        core::slice::from_raw_parts(bstr, bytes as usize / 2)
    }
}

#[cfg(windows)]
mod imp {
    use windows_sys::core::BSTR;
    use windows_sys::Win32::Foundation::{SysAllocStringLen, SysFreeString};

    pub(super) fn alloc(text: &[u16], len: u32) -> BSTR {
        // SAFETY: `text` holds `len` UTF-16 units; SysAllocStringLen copies them and adds a NUL.
        unsafe { SysAllocStringLen(text.as_ptr(), len) }
    }

    pub(super) unsafe fn free(bstr: BSTR) {
        // SAFETY: per `super::free`'s contract, a live BSTR of SysAllocString*.
        unsafe { SysFreeString(bstr) }
    }
}

#[cfg(not(windows))]
mod imp {
    extern crate alloc;
    use alloc::alloc::{alloc as raw_alloc, dealloc, Layout};
    use windows_sys::core::BSTR;

    fn layout(len: u32) -> Option<Layout> {
        Layout::from_size_align(4 + len as usize * 2 + 2, 4).ok()
    }

    pub(super) fn alloc(text: &[u16], len: u32) -> BSTR {
        let Some(layout) = layout(len) else { return core::ptr::null() };
        // SAFETY: the layout has a non-zero size; the writes stay inside it: the u32 prefix at
        // offset 0 (aligned to 4), `len` units at 4.., the NUL after them.
        unsafe {
            let base = raw_alloc(layout);
            if base.is_null() {
                return core::ptr::null();
            }
            *(base as *mut u32) = len * 2;
            let data = base.add(4) as *mut u16;
            core::ptr::copy_nonoverlapping(text.as_ptr(), data, len as usize);
            *data.add(len as usize) = 0;
            data
        }
    }

    pub(super) unsafe fn free(bstr: BSTR) {
        // SAFETY: per `super::free`'s contract, `bstr` came from `alloc` above: the block starts
        // 4 bytes before it and its layout follows from the stored length.
        unsafe {
            let base = (bstr as *mut u8).sub(4);
            let len = *(base as *const u32) / 2;
            if let Some(layout) = layout(len) {
                dealloc(base, layout);
            }
        }
    }
}

#[cfg(test)]
mod tests {
    extern crate std;
    use super::*;

    #[test]
    fn round_trip_with_length_prefix_and_nul() {
        let text: std::vec::Vec<u16> = "système".encode_utf16().collect();
        let bstr = alloc(&text);
        assert!(!bstr.is_null());
        // SAFETY: a live BSTR from `alloc`, freed once below.
        unsafe {
            assert_eq!(as_wide(bstr), &text[..]);
            assert_eq!(*(bstr as *const u32).sub(1), (text.len() * 2) as u32, "byte length prefix");
            assert_eq!(*bstr.add(text.len()), 0, "NUL after the text");
            free(bstr);
            free(core::ptr::null());
            assert!(as_wide(core::ptr::null()).is_empty());
        }
        let empty = alloc(&[]);
        // SAFETY: as above.
        unsafe {
            assert!(as_wide(empty).is_empty());
            free(empty);
        }
    }
}
