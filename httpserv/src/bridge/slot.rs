//! The module's one stored context in each IIS container that outlives requests: a [`Slot`],
//! stored under the module id. IIS keeps one stored context per module in a container
//! (`SetModuleContext` refuses a second), so everything the crate and the module keep there
//! shares it, and none takes another's place:
//!
//! - **on a client connection** (`IHttpConnectionStoredContext`, `SetConnectionModuleContext`,
//!   <https://learn.microsoft.com/en-us/iis/web-development-reference/native-code-api-reference/ihttpconnection-getmodulecontextcontainer-method>):
//!   the disconnect watch of the module's async tasks, and the module's own connection state
//!   (`HttpContext::set_connection_stored_context`). `NotifyDisconnect`, which IIS calls when
//!   the client goes away, marks each watching task disconnected and wakes it; its I/O then
//!   fails with `ERROR_CONNECTION_ABORTED`, and `HttpContext::disconnected()` becomes ready. A
//!   task sets its watch up on first use, when its future asks about the client (body I/O,
//!   `disconnected()`): a future that never does would not look at the flag, and its round trip
//!   costs no connection calls (`WakeState::watch_disconnect`). Tasks are held weakly (a
//!   finished one needs no unhooking), every task of the connection's requests is kept, since
//!   requests may run at once on one connection (HTTP/2 streams).
//! - **in a URL's metadata** (`IMetadataInfo::GetModuleContextContainer`): the configuration
//!   sections read for that configuration (`config::read_for_request`), and the module's own
//!   state (`Metadata::set_stored_context`).
//!
//! `CleanupStoredContext`, when the connection ends or IIS releases the metadata, drops the slot
//! and what it holds.

use core::any::Any;
use core::ptr::NonNull;
use std::sync::{Arc, Mutex, OnceLock, Weak};

use httpserv_sys::*;

use super::task::WakeState;

/// The stored context: one heap allocation per module and container, made on first use. Its
/// vtable is an `IHttpConnectionStoredContext`'s, which starts with `IHttpStoredContext`'s, so
/// the one type serves both kinds of container (a metadata container never calls
/// `NotifyDisconnect`, and has no task to wake).
#[repr(C)]
pub(crate) struct Slot {
    vtbl: *const IHttpConnectionStoredContext_Vtbl,
    /// The async tasks watching for a disconnect (dead ones pruned as tasks are added).
    tasks: Mutex<Vec<Weak<WakeState>>>,
    /// The module's own state.
    state: OnceLock<Box<dyn Any + Send + Sync>>,
    /// The configuration sections read (metadata slots).
    config: crate::config::Cache,
}

static VTABLE: IHttpConnectionStoredContext_Vtbl = IHttpConnectionStoredContext_Vtbl {
    base__: IHttpStoredContext_Vtbl { CleanupStoredContext: cleanup },
    NotifyDisconnect: notify_disconnect,
};

member_fn! {
    fn cleanup(this: *mut IHttpStoredContext) {
        // SAFETY: IIS calls this once, on the Slot `Slot::find_or_store` stored, when its container
        // ends.
        let _ = super::panic::catch(|| drop(unsafe { Box::from_raw(this.cast::<Slot>()) }));
    }
}

member_fn! {
    fn notify_disconnect(this: *mut IHttpConnectionStoredContext) {
        let _ = super::panic::catch(|| {
            // SAFETY: IIS calls this on the live Slot `Slot::find_or_store` stored.
            let slot = unsafe { &*this.cast::<Slot>() };
            let tasks: Vec<Arc<WakeState>> = slot.tasks.lock().unwrap_or_else(|p| p.into_inner()).iter().filter_map(Weak::upgrade).collect();
            for task in tasks {
                task.disconnected.store(true, core::sync::atomic::Ordering::Release);
                task.wake();
            }
        });
    }
}

impl Slot {
    /// The module's slot on `connection` (see [`Slot::find_or_store`]).
    ///
    /// # Safety
    /// `connection` is a live connection; the slot returned lives until the connection ends,
    /// so it may be used while any of its requests is running.
    pub(crate) unsafe fn of_connection<'a>(connection: *mut IHttpConnection, module_id: HTTP_MODULE_ID) -> Option<&'a Slot> {
        // SAFETY: live connection (the caller's contract).
        let container = NonNull::new(unsafe { ((*(*connection).lpVtbl).GetModuleContextContainer)(connection) })?.as_ptr();
        // SAFETY: a live container: its stored context under this id, and setting one.
        unsafe {
            Self::find_or_store(
                || ((*(*container).lpVtbl).GetConnectionModuleContext)(container, module_id).cast(),
                |fresh| ((*(*container).lpVtbl).SetConnectionModuleContext)(container, fresh, module_id),
            )
        }
    }

    /// The module's slot in a metadata's module context container (see
    /// [`Slot::find_or_store`]).
    ///
    /// # Safety
    /// `container` is a metadata's live container; the slot returned lives as long as the
    /// metadata, so while any request of that configuration runs.
    pub(crate) unsafe fn of_metadata<'a>(container: *mut IHttpModuleContextContainer, module_id: HTTP_MODULE_ID) -> Option<&'a Slot> {
        let container = NonNull::new(container)?.as_ptr();
        // SAFETY: a live container: its stored context under this id, and setting one.
        unsafe {
            Self::find_or_store(
                || ((*(*container).lpVtbl).GetModuleContext)(container, module_id),
                |fresh| ((*(*container).lpVtbl).SetModuleContext)(container, fresh.cast(), module_id),
            )
        }
    }

    /// The slot `get` finds, else a new one `set` gives to the container; when two threads race
    /// to store one, the loser's is dropped and the winner's used. `None` when the container
    /// refuses the new slot for another reason, or something other than a slot is stored
    /// under the id (only unsafe code can put one there; it is left alone).
    ///
    /// # Safety
    /// `get` returns null or a live stored context, which lives as long as the container; `set`
    /// takes ownership of the slot it is given when it succeeds.
    unsafe fn find_or_store<'a>(get: impl Fn() -> *mut IHttpStoredContext, set: impl FnOnce(*mut IHttpConnectionStoredContext) -> windows_sys::core::HRESULT) -> Option<&'a Slot> {
        // SAFETY: null or live, as the caller promises.
        if let Some(found) = unsafe { Self::from_stored(get()) } {
            return found;
        }
        let fresh = Box::into_raw(Box::new(Slot { vtbl: &VTABLE, tasks: Mutex::new(Vec::new()), state: OnceLock::new(), config: Default::default() }));
        if set(fresh.cast()) < 0 {
            // SAFETY: refused, so still ours.
            drop(unsafe { Box::from_raw(fresh) });
            // Another thread may have stored its slot first.
            // SAFETY: as above.
            return unsafe { Self::from_stored(get()) }.flatten();
        }
        // SAFETY: given to the container, which keeps it as long as it lives.
        Some(unsafe { &*fresh })
    }

    /// `None` for null; `Some(None)` for a stored context that is not a slot.
    ///
    /// # Safety
    /// `stored` is null or a live stored context.
    unsafe fn from_stored<'a>(stored: *mut IHttpStoredContext) -> Option<Option<&'a Slot>> {
        let stored = NonNull::new(stored)?;
        // SAFETY: a live stored context; its first field is its vtable pointer.
        let is_slot = core::ptr::eq(unsafe { stored.as_ref() }.lpVtbl.cast::<IHttpConnectionStoredContext_Vtbl>(), &VTABLE);
        // SAFETY: a Slot (its vtable is a unique static), live as long as its container.
        Some(is_slot.then(|| unsafe { stored.cast::<Slot>().as_ref() }))
    }

    /// The configuration sections read for this slot's metadata.
    pub(crate) fn config(&self) -> &crate::config::Cache {
        &self.config
    }

    /// Sets the module's state; `false` (and `value` dropped) if it has one already.
    pub(crate) fn set_state<T: Send + Sync + 'static>(&self, value: T) -> bool {
        self.state.set(Box::new(value)).is_ok()
    }

    /// The module's state, if it is a `T`.
    pub(crate) fn state<T: 'static>(&self) -> Option<&T> {
        let state: &(dyn Any + Send + Sync) = &**self.state.get()?;
        state.downcast_ref::<T>()
    }

    /// Adds `task` to the watchers (once), dropping those of finished tasks.
    fn watch(&self, task: &Arc<WakeState>) {
        let mut tasks = self.tasks.lock().unwrap_or_else(|p| p.into_inner());
        tasks.retain(|t| t.strong_count() > 0);
        if !tasks.iter().any(|t| core::ptr::eq(t.as_ptr(), Arc::as_ptr(task))) {
            tasks.push(Arc::downgrade(task));
        }
    }
}

/// Makes `task` watch its connection for a disconnect; nothing when the context has no
/// connection or module id, or the connection no slot. Returns `false` when the client is
/// already gone (`IHttpConnection::IsConnected`).
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
        // SAFETY: as above; the slot is used during this call only.
        if let Some(slot) = unsafe { Slot::of_connection(connection, module_id) } {
            slot.watch(task);
        }
    }
    connected
}
