//! The shape of every safe handle: a non-null pointer to an IIS object, borrowed for `'a` (the
//! notification during which IIS handed it out), neither `Send` nor `Sync`.

macro_rules! handle {
    ($(#[$doc:meta])* $name:ident => $raw:ident, $vtbl:ident) => {
        $(#[$doc])*
        #[derive(Clone, Copy)]
        pub struct $name<'a> {
            raw: core::ptr::NonNull<httpserv_sys::$raw>,
            _borrow: core::marker::PhantomData<&'a httpserv_sys::$raw>,
        }

        impl<'a> $name<'a> {
            #[doc = concat!("Wraps a raw `", stringify!($raw), "`; `None` if it is null.")]
            ///
            /// # Safety
            /// `raw` is null or a live IIS object that stays valid for `'a`.
            pub unsafe fn from_raw(raw: *mut httpserv_sys::$raw) -> Option<Self> {
                core::ptr::NonNull::new(raw).map(|raw| Self { raw, _borrow: core::marker::PhantomData })
            }

            #[doc = concat!("The raw `", stringify!($raw), "`, for calls this crate does not wrap.")]
            #[inline]
            pub fn as_raw(&self) -> *mut httpserv_sys::$raw {
                self.raw.as_ptr()
            }

            #[allow(dead_code)]
            #[inline]
            fn vtbl(&self) -> &'a httpserv_sys::$vtbl {
                // SAFETY: `from_raw`'s contract: the object is live for 'a, and an IIS object's
                // first field points to its vtable, which lives as long as the object.
                unsafe { &*(*self.raw.as_ptr()).lpVtbl }
            }
        }

        impl core::fmt::Debug for $name<'_> {
            fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
                write!(f, concat!(stringify!($name), "({:p})"), self.raw)
            }
        }
    };
}

pub(crate) use handle;
