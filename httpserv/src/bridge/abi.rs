//! Rust functions that C++ calls as virtual methods: `thiscall` on x86, `system` elsewhere.

/// Defines a generic thunk with the calling convention of a C++ member function.
macro_rules! member_fn {
    ($(#[$attr:meta])* fn $name:ident($($arg:ident: $ty:ty),* $(,)?) $(-> $ret:ty)? $body:block) => {
        $(#[$attr])*
        #[cfg(target_arch = "x86")]
        unsafe extern "thiscall" fn $name($($arg: $ty),*) $(-> $ret)? $body

        $(#[$attr])*
        #[cfg(not(target_arch = "x86"))]
        unsafe extern "system" fn $name($($arg: $ty),*) $(-> $ret)? $body
    };
    ($(#[$attr:meta])* fn $name:ident<$g:ident: $bound:ident $(+ $more:ident)*>($($arg:ident: $ty:ty),* $(,)?) $(-> $ret:ty)? $body:block) => {
        $(#[$attr])*
        #[cfg(target_arch = "x86")]
        unsafe extern "thiscall" fn $name<$g: $bound $(+ $more)*>($($arg: $ty),*) $(-> $ret)? $body

        $(#[$attr])*
        #[cfg(not(target_arch = "x86"))]
        unsafe extern "system" fn $name<$g: $bound $(+ $more)*>($($arg: $ty),*) $(-> $ret)? $body
    };
}
