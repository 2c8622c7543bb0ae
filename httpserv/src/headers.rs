//! The header methods `Request` and `Response` share: IIS gives both interfaces the same
//! `GetHeader` (by name and by id), `SetHeader` and `DeleteHeader` slots.

/// Defines `header`, `known_header`, `set_header`, `append_header` and `delete_header` inside
/// the `impl` of a handle whose vtable has those slots; `$side` names it in the docs and
/// `$maximum` bounds the known-header ids.
macro_rules! header_methods {
    ($side:literal, $maximum:ident) => {
        /// A copy in request memory of `len` bytes at `ptr` (`None` for null): see
        /// [`crate::strings`] for why getters copy.
        ///
        /// # Safety
        /// `ptr` is null or points to `len` bytes readable until this call returns.
        unsafe fn copy_bytes(&self, ptr: *const u8, len: usize) -> Option<&'a [u8]> {
            // SAFETY: readable now per the caller; only read during the copy below.
            let original = unsafe { crate::strings::bytes(ptr, len) }?;
            // SAFETY: `self.context` is the live context this object belongs to, valid for 'a.
            unsafe { crate::strings::copy_to_request(self.context.as_ptr(), original) }
        }

        #[doc = concat!("A ", $side, " header by name, copied into request memory (a later `set_header` cannot release it).")]
        #[inline]
        pub fn header(&self, name: &str) -> Option<&'a [u8]> {
            let mut len = 0u16;
            // SAFETY: live object; the name is NUL-terminated during the call.
            let value = crate::strings::with_c_str("header name", name.as_bytes(), |n| unsafe { (self.vtbl().GetHeader)(self.as_raw(), n, &mut len) }).ok()?;
            // SAFETY: IIS returned `len` bytes, valid at least until the next call into IIS.
            unsafe { self.copy_bytes(value.cast(), len as usize) }
        }

        #[doc = concat!("A known ", $side, " header by its HTTP Server API id (`HttpHeaderContentType`, ...), copied into request memory; `None` for an id outside the ", $side, " range.")]
        #[inline]
        pub fn known_header(&self, id: windows_sys::Win32::Networking::HttpServer::HTTP_HEADER_ID) -> Option<&'a [u8]> {
            if !(0..windows_sys::Win32::Networking::HttpServer::$maximum).contains(&id) {
                return None;
            }
            let mut len = 0u16;
            // SAFETY: live object; `id` is a valid header id for this side.
            let value = unsafe { (self.vtbl().GetHeader_2)(self.as_raw(), id, &mut len) };
            // SAFETY: IIS returned `len` bytes, valid at least until the next call into IIS.
            unsafe { self.copy_bytes(value.cast(), len as usize) }
        }

        #[doc = concat!("Sets a ", $side, " header, replacing any value.")]
        pub fn set_header(&self, name: &str, value: &str) -> crate::Result<()> {
            self.put_header(name, value, true)
        }

        #[doc = concat!("Adds a ", $side, " header line, keeping existing ones (`Set-Cookie`).")]
        pub fn append_header(&self, name: &str, value: &str) -> crate::Result<()> {
            self.put_header(name, value, false)
        }

        fn put_header(&self, name: &str, value: &str, replace: bool) -> crate::Result<()> {
            crate::error::check_header_name(name)?;
            let len = crate::error::check_header_value(value.as_bytes())?;
            // An empty `&str` points nowhere readable; IIS gets a real, NUL-terminated "".
            let value = if value.is_empty() { c"".as_ptr().cast::<u8>() } else { value.as_ptr() };
            // SAFETY: live object; name NUL-terminated, value read for `len` bytes (or, empty,
            // a static NUL).
            crate::error::check(crate::strings::with_c_str("header name", name.as_bytes(), |n| unsafe {
                (self.vtbl().SetHeader)(self.as_raw(), n, value, len, replace.into())
            })?)
        }

        #[doc = concat!("Removes a ", $side, " header.")]
        pub fn delete_header(&self, name: &str) -> crate::Result<()> {
            crate::error::check_header_name(name)?;
            // SAFETY: live object; name NUL-terminated during the call.
            crate::error::check(crate::strings::with_c_str("header name", name.as_bytes(), |n| unsafe { (self.vtbl().DeleteHeader)(self.as_raw(), n) })?)
        }
    };
}

pub(crate) use header_methods;
