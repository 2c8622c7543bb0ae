//! A user implemented in Rust for `IAuthenticationProvider::SetUser`: an `IHttpUser` C++ object
//! (vtable from httpserv.h's `IHttpUser_Vtbl`, thunks that never unwind), reference-counted as
//! IIS expects.
//!
//! IIS's contract, from Microsoft's reference:
//! - `SetUser`: "`IAuthenticationProvider` callers are responsible for creating a custom
//!   `IHttpUser` pointer on the heap before calling `SetUser`; `IAuthenticationProvider`
//!   implementers then assume responsibility for this new pointer", and they "must call the
//!   `IHttpUser::DereferenceUser` method when they no longer need the `IHttpUser`"
//!   (<https://learn.microsoft.com/en-us/iis/web-development-reference/native-code-api-reference/iauthenticationprovider-setuser-method>).
//! - `ReferenceUser` / `DereferenceUser`: "When an `IHttpUser` pointer is constructed, the internal
//!   reference count ... is set to 1", each call adds or removes one, and "only when the reference
//!   count goes to 0 will the `IHttpUser` interface be removed from the heap"; both are
//!   thread-safe
//!   (<https://learn.microsoft.com/en-us/iis/web-development-reference/native-code-api-reference/ihttpuser-dereferenceuser-method>).
//!
//! So [`AuthenticationProvider::set_user`](crate::AuthenticationProvider::set_user) takes an
//! [`AuthenticatedUser`] by value: it is boxed with a count of 1, IIS owns that reference, and the
//! box is freed by the `DereferenceUser` that brings the count to 0, whichever thread calls it.
//! The strings live in the box, so the `PCWSTR`s `GetUserName` and the others return stay valid
//! as long as anyone holds a reference.

use core::sync::atomic::{AtomicU32, Ordering};

use httpserv_sys::*;
use windows_sys::core::{BOOL, HRESULT, PCSTR, PCWSTR};
use windows_sys::Win32::Foundation::HANDLE;

use crate::error::{invalid, Result};

/// A user authenticated by the module, for
/// [`AuthenticationProvider::set_user`](crate::AuthenticationProvider::set_user): a name, the
/// authentication scheme, and optionally the name the client sent and the roles it is in. IIS
/// reports it as `AUTH_USER`, `LOGON_USER`, `REMOTE_USER` and `AUTH_TYPE`, and hands it to later
/// stages as [`HttpContext::user`](crate::HttpContext::user).
///
/// It has no Windows tokens: `GetImpersonationToken` and `GetPrimaryToken` return null, which
/// IIS documents as allowed for a custom user (then IIS serves as the application pool
/// identity).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct AuthenticatedUser {
    name: Vec<u16>,
    remote_name: Vec<u16>,
    authentication_type: Vec<u16>,
    roles: Option<Vec<String>>,
}

impl AuthenticatedUser {
    /// A user called `name`, authenticated by `authentication_type` (e.g. `"Basic"`). Both are
    /// refused (`E_INVALIDARG`) if empty or containing NUL, CR or LF.
    pub fn new(name: &str, authentication_type: &str) -> Result<Self> {
        let name = wide("user name", name)?;
        Ok(Self { remote_name: name.clone(), name, authentication_type: wide("authentication type", authentication_type)?, roles: None })
    }

    /// The name the client sent, if it differs from the user's name (`GetRemoteUserName`,
    /// the `REMOTE_USER` server variable).
    pub fn with_remote_name(mut self, remote_name: &str) -> Result<Self> {
        self.remote_name = wide("remote user name", remote_name)?;
        Ok(self)
    }

    /// The roles the user is in: `SupportsIsInRole` becomes TRUE and `IsInRole` answers from the
    /// list (compared ignoring ASCII case, as Windows group names are).
    pub fn with_roles<I: IntoIterator<Item = S>, S: Into<String>>(mut self, roles: I) -> Self {
        self.roles = Some(roles.into_iter().map(Into::into).collect());
        self
    }

    /// Boxes the user with one reference, owned by whoever receives the pointer (IIS, through
    /// `SetUser`).
    pub(crate) fn into_raw(self) -> *mut IHttpUser {
        Box::into_raw(Box::new(UserObject { vtbl: &USER_VTBL, refs: AtomicU32::new(1), user: self })).cast()
    }
}

fn wide(what: &str, text: &str) -> Result<Vec<u16>> {
    if text.is_empty() {
        return Err(invalid(&format!("{what} is empty")));
    }
    crate::error::check_no_line_breaks(what, text.as_bytes())?;
    Ok(text.encode_utf16().chain([0]).collect())
}

/// The C++ object: the vtable pointer first (what IIS sees as `lpVtbl`), then the count and the
/// user.
#[repr(C)]
struct UserObject {
    vtbl: *const IHttpUser_Vtbl,
    refs: AtomicU32,
    user: AuthenticatedUser,
}

// The object is shared by reference between IIS's threads; everything in it is immutable but
// the atomic count.
const _: () = {
    const fn send_sync<T: Send + Sync>() {}
    send_sync::<AuthenticatedUser>();
};

/// # Safety
/// `this` is a live `UserObject` made by `into_raw` (IIS calls the vtable only on the object
/// it belongs to, and only while it holds a reference).
unsafe fn object<'a>(this: *mut IHttpUser) -> &'a UserObject {
    // SAFETY: the caller's contract.
    unsafe { &*this.cast::<UserObject>() }
}

/// Runs a thunk body; a panic (there is none in these bodies, but the rule is absolute) gives
/// `fallback` instead of unwinding into IIS.
fn guarded<R>(fallback: R, body: impl FnOnce() -> R) -> R {
    super::panic::catch(body).unwrap_or(fallback)
}

member_fn! {
    fn get_remote_user_name(this: *mut IHttpUser) -> PCWSTR {
        // SAFETY: IIS calls this on a live user it holds a reference to.
        guarded(core::ptr::null(), || unsafe { object(this) }.user.remote_name.as_ptr())
    }
}
member_fn! {
    fn get_user_name(this: *mut IHttpUser) -> PCWSTR {
        // SAFETY: as in `get_remote_user_name`.
        guarded(core::ptr::null(), || unsafe { object(this) }.user.name.as_ptr())
    }
}
member_fn! {
    fn get_authentication_type(this: *mut IHttpUser) -> PCWSTR {
        // SAFETY: as in `get_remote_user_name`.
        guarded(core::ptr::null(), || unsafe { object(this) }.user.authentication_type.as_ptr())
    }
}
member_fn! {
    fn get_password(_this: *mut IHttpUser) -> PCWSTR {
        // The password is not kept: an empty string, as IIS returns for schemes without one.
        EMPTY.as_ptr()
    }
}
member_fn! {
    fn get_token(_this: *mut IHttpUser) -> HANDLE {
        core::ptr::null_mut()
    }
}
member_fn! {
    fn reference_user(this: *mut IHttpUser) {
        // SAFETY: IIS holds a reference while it calls this, so the object is live.
        guarded((), || {
            unsafe { object(this) }.refs.fetch_add(1, Ordering::Relaxed);
        })
    }
}
member_fn! {
    fn dereference_user(this: *mut IHttpUser) {
        guarded((), || {
            // SAFETY: the caller gives up the reference it holds, so the object is live now.
            let previous = unsafe { object(this) }.refs.fetch_sub(1, Ordering::Release);
            if previous == 1 {
                // The last reference: every other thread's uses happened before its decrement.
                core::sync::atomic::fence(Ordering::Acquire);
                // SAFETY: made by `into_raw` from a Box; no reference is left, so no one uses it.
                drop(unsafe { Box::from_raw(this.cast::<UserObject>()) });
            }
        })
    }
}
member_fn! {
    fn supports_is_in_role(this: *mut IHttpUser) -> BOOL {
        // SAFETY: as in `get_remote_user_name`.
        guarded(0, || unsafe { object(this) }.user.roles.is_some().into())
    }
}
member_fn! {
    fn is_in_role(this: *mut IHttpUser, role: PCWSTR, in_role: *mut BOOL) -> HRESULT {
        guarded(E_UNEXPECTED, || {
            // SAFETY: as in `get_remote_user_name`.
            let Some(roles) = &unsafe { object(this) }.user.roles else { return E_NOTIMPL };
            // SAFETY: IIS passes a NUL-terminated role name or null.
            let Some(role) = (unsafe { crate::strings::WideStr::from_pcwstr(role) }) else { return E_INVALIDARG_RAW };
            if in_role.is_null() {
                return E_INVALIDARG_RAW;
            }
            let role = role.to_string_lossy();
            let found = roles.iter().any(|r| r.eq_ignore_ascii_case(&role));
            // SAFETY: checked non-null; IIS passes a writable BOOL.
            unsafe { in_role.write(found.into()) };
            0
        })
    }
}
member_fn! {
    fn get_user_variable(_this: *mut IHttpUser, _name: PCSTR) -> *mut core::ffi::c_void {
        // No SSPI or SID variables: this user has no Windows logon behind it.
        core::ptr::null_mut()
    }
}

static EMPTY: [u16; 1] = [0];

const E_UNEXPECTED: HRESULT = 0x8000_FFFF_u32 as i32;
const E_NOTIMPL: HRESULT = 0x8000_4001_u32 as i32;
const E_INVALIDARG_RAW: HRESULT = crate::E_INVALIDARG.0;

static USER_VTBL: IHttpUser_Vtbl = IHttpUser_Vtbl {
    GetRemoteUserName: get_remote_user_name,
    GetUserName: get_user_name,
    GetAuthenticationType: get_authentication_type,
    GetPassword: get_password,
    GetImpersonationToken: get_token,
    GetPrimaryToken: get_token,
    ReferenceUser: reference_user,
    DereferenceUser: dereference_user,
    SupportsIsInRole: supports_is_in_role,
    IsInRole: is_in_role,
    GetUserVariable: get_user_variable,
};

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_last_dereference_frees_and_strings_read_back() {
        let raw = AuthenticatedUser::new("alice", "Basic").unwrap().with_roles(["Admins"]).into_raw();
        // SAFETY: `raw` is live with one reference; the vtable is ours.
        unsafe {
            let v = &*(*raw).lpVtbl;
            (v.ReferenceUser)(raw);
            let name = crate::strings::WideStr::from_pcwstr((v.GetUserName)(raw)).unwrap();
            assert_eq!(name.to_string_lossy(), "alice");
            assert_eq!((v.SupportsIsInRole)(raw), 1);
            let role: Vec<u16> = "admins".encode_utf16().chain([0]).collect();
            let mut found = 0;
            assert_eq!((v.IsInRole)(raw, role.as_ptr(), &mut found), 0);
            assert_eq!(found, 1);
            assert_eq!(object(raw).refs.load(Ordering::Relaxed), 2);
            (v.DereferenceUser)(raw);
            assert_eq!(object(raw).refs.load(Ordering::Relaxed), 1);
            (v.DereferenceUser)(raw); // freed here (valgrind/miri would see a leak otherwise)
        }
    }

    #[test]
    fn bad_names_are_refused() {
        assert!(AuthenticatedUser::new("", "Basic").is_err());
        assert!(AuthenticatedUser::new("a\0b", "Basic").is_err());
        assert!(AuthenticatedUser::new("a", "Ba\r\nsic").is_err());
    }
}
