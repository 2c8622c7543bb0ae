//! Client disconnects for suspended handlers: a stored context on the connection
//! (`IHttpConnectionStoredContext`), whose `NotifyDisconnect` IIS calls when the client goes
//! away, marks the running task disconnected and wakes it. Its I/O then fails with
//! `ERROR_CONNECTION_ABORTED`, and `HttpContext::disconnected()` becomes ready.
//!
//! One watcher per module per connection (keyed by the module id); a connection serves requests
//! one after another, so each async task points it at itself. It holds the task weakly: a task
//! that finished (or a watcher the connection already cleaned up) needs no unhooking. A task
//! sets it up on first use, when its future asks about the client (body I/O, `disconnected()`):
//! a future that never does would not look at the flag, and its round trip costs no connection
//! calls (`WakeState::watch_disconnect`).

use core::ptr::NonNull;
use std::sync::{Arc, Mutex, Weak};

use httpserv_sys::*;

use super::task::WakeState;

/// The connection stored context: one heap allocation per module and connection.
#[repr(C)]
struct Watcher {
    vtbl: *const IHttpConnectionStoredContext_Vtbl,
    task: Mutex<Weak<WakeState>>,
}

static VTABLE: IHttpConnectionStoredContext_Vtbl = IHttpConnectionStoredContext_Vtbl {
    base__: IHttpStoredContext_Vtbl { CleanupStoredContext: cleanup },
    NotifyDisconnect: notify_disconnect,
};

member_fn! {
    fn cleanup(this: *mut IHttpStoredContext) {
        // SAFETY: IIS calls this once, on the Watcher `watch` stored, at the connection's end.
        let _ = super::panic::catch(|| drop(unsafe { Box::from_raw(this.cast::<Watcher>()) }));
    }
}

member_fn! {
    fn notify_disconnect(this: *mut IHttpConnectionStoredContext) {
        let _ = super::panic::catch(|| {
            // SAFETY: IIS calls this on the live Watcher `watch` stored.
            let watcher = unsafe { &*this.cast::<Watcher>() };
            let task = watcher.task.lock().unwrap_or_else(|p| p.into_inner()).upgrade();
            if let Some(task) = task {
                task.disconnected.store(true, core::sync::atomic::Ordering::Release);
                task.wake();
            }
        });
    }
}

/// Points the connection's watcher (created on first use) at `task`; nothing when the context
/// has no connection or module id, or IIS refuses the stored context. Returns `false` when the
/// client is already gone (`IHttpConnection::IsConnected`).
///
/// # Safety
/// `context` is the live context of `task`'s request.
pub(crate) unsafe fn watch(context: *mut IHttpContext, module_id: HTTP_MODULE_ID, task: &Arc<WakeState>) -> bool {
    // SAFETY: live context (the caller's contract).
    let connection = unsafe { ((*(*context).lpVtbl).GetConnection)(context) };
    if connection.is_null() {
        return true;
    }
    // SAFETY: live connection of the request.
    let connected = unsafe { ((*(*connection).lpVtbl).IsConnected)(connection) } != 0;
    if !module_id.is_null() {
        // SAFETY: as above.
        unsafe { point_watcher(connection, module_id, task) };
    }
    connected
}

/// # Safety
/// `connection` is the live connection of `task`'s request.
unsafe fn point_watcher(connection: *mut IHttpConnection, module_id: HTTP_MODULE_ID, task: &Arc<WakeState>) -> Option<()> {
    // SAFETY: live connection of the request.
    let container = unsafe { ((*(*connection).lpVtbl).GetModuleContextContainer)(connection) };
    let container = NonNull::new(container)?.as_ptr();
    // SAFETY: live container; what this module stored under its id, or null.
    let existing = unsafe { ((*(*container).lpVtbl).GetConnectionModuleContext)(container, module_id) };
    let watcher = match NonNull::new(existing) {
        // Only this module stores under its id on the connection, and only Watchers.
        Some(existing) => existing.cast::<Watcher>(),
        None => {
            let fresh = Box::into_raw(Box::new(Watcher { vtbl: &VTABLE, task: Mutex::new(Weak::new()) }));
            // SAFETY: live container; on success IIS owns the watcher until CleanupStoredContext.
            let hr = unsafe { ((*(*container).lpVtbl).SetConnectionModuleContext)(container, fresh.cast(), module_id) };
            if hr < 0 {
                // SAFETY: refused, so still ours.
                drop(unsafe { Box::from_raw(fresh) });
                return None;
            }
            // SAFETY: non-null, from Box::into_raw.
            unsafe { NonNull::new_unchecked(fresh) }
        }
    };
    // SAFETY: the watcher is live now (found in, or just given to, the connection's container)
    // and not kept.
    *unsafe { watcher.as_ref() }.task.lock().unwrap_or_else(|p| p.into_inner()) = Arc::downgrade(task);
    Some(())
}

/// `true` if `stored` is a disconnect watcher (told apart by its vtable, a unique static), so
/// the connection's stored-context getter never reads one as a `StoredContext<T>`.
pub(crate) fn is_watcher(stored: *mut IHttpStoredContext) -> bool {
    // SAFETY: `stored` is null or a live stored context of this module; its first field is
    // its vtable pointer.
    !stored.is_null() && core::ptr::eq(unsafe { (*stored).lpVtbl }.cast::<IHttpConnectionStoredContext_Vtbl>(), &VTABLE)
}
