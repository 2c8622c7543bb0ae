//! What one `RegisterModule` call created: the server it was given, the module id, the
//! module's state. Every object the bridge hands IIS (factory, module objects, global module)
//! holds the registration it came from, so several registrations in one process (two test
//! servers, or one DLL registered under two names) never see each other's server, id or state.
//! There is no process-wide mutable state in the bridge.
//!
//! While a handler runs, the thread knows which registration it runs for ([`Current`]): that is
//! how `YourModule::state()` and `PreBeginRequestProvider::http_context()` find theirs without
//! a process-wide static.

use core::any::Any;
use core::cell::Cell;
use core::sync::atomic::AtomicUsize;
use std::sync::Arc;

use httpserv_sys::*;

/// One registration: shared by the factory, the global module and every module object, freed
/// when the last of them is gone.
pub struct Registration {
    server: *mut IHttpServer,
    version: u32,
    module_id: HTTP_MODULE_ID,
    state: Option<Arc<dyn Any + Send + Sync>>,
    /// Bytes for an async handler's future that `GetHttpModule` reserves in each module object:
    /// the largest future of this module seen so far (see `task::start`), so that after the
    /// first request a future needs no `AllocateRequestMemory` of its own.
    future_room: AtomicUsize,
}

// SAFETY: the raw pointers are IIS's process-wide server and an opaque id, which IIS lets any
// worker thread use; the state is `Send + Sync`.
unsafe impl Send for Registration {}
// SAFETY: as above; nothing here is mutated after creation but the atomic `future_room`.
unsafe impl Sync for Registration {}

impl Registration {
    pub(crate) fn new(server: *mut IHttpServer, version: u32, module_id: HTTP_MODULE_ID) -> Self {
        Self { server, version, module_id, state: None, future_room: AtomicUsize::new(0) }
    }

    pub(crate) fn set_state(&mut self, state: Arc<dyn Any + Send + Sync>) {
        self.state = Some(state);
    }

    /// The `IHttpServer` IIS passed to `RegisterModule`.
    pub(crate) fn server_raw(&self) -> *mut IHttpServer {
        self.server
    }

    /// The `dwServerVersion` IIS passed to `RegisterModule`.
    pub(crate) fn version(&self) -> u32 {
        self.version
    }

    /// The id IIS gave this registration's module (the key of its stored contexts).
    pub(crate) fn module_id(&self) -> HTTP_MODULE_ID {
        self.module_id
    }

    /// The room to reserve for a handler's future in each module object (grown by `task::start`).
    pub(crate) fn future_room(&self) -> &AtomicUsize {
        &self.future_room
    }

    /// The module's state, if it has one of type `S`.
    pub(crate) fn state<S: Any + Send + Sync>(&self) -> Option<Arc<S>> {
        self.state.clone()?.downcast::<S>().ok()
    }
}

thread_local! {
    static CURRENT: Cell<*const Registration> = const { Cell::new(core::ptr::null()) };
}

/// Marks the registration the current thread runs a handler for, until dropped (which restores
/// the previous one: notifications nest).
pub(crate) struct Current {
    previous: *const Registration,
}

impl Current {
    /// # Safety
    /// `registration` stays alive until the returned guard is dropped.
    pub(crate) unsafe fn enter(registration: *const Registration) -> Self {
        Self { previous: CURRENT.with(|c| c.replace(registration)) }
    }

    /// Runs `f` with the registration of the handler running on this thread, if any.
    pub(crate) fn with<R>(f: impl FnOnce(Option<&Registration>) -> R) -> R {
        let current = CURRENT.with(Cell::get);
        // SAFETY: a non-null CURRENT was set by `enter`, whose caller keeps it alive until the
        // guard is dropped; the guard lives on this thread's stack around the handler that is
        // calling us, so the registration outlives this call.
        f(unsafe { current.as_ref() })
    }
}

impl Drop for Current {
    fn drop(&mut self) {
        CURRENT.with(|c| c.set(self.previous));
    }
}

/// The state of the module whose handler is running on this thread (what `#[http_module(state
/// = S)]`'s `YourModule::state()` returns): `None` outside a handler, or when that module's
/// state is not an `S`.
pub fn current_state<S: Any + Send + Sync>() -> Option<Arc<S>> {
    Current::with(|r| r.and_then(Registration::state::<S>))
}

/// The state type of a module, `S` of `#[http_module(state = S)]`. The attribute implements
/// it where the user named `S`, so a state that is not `Default + Send + Sync + 'static` is
/// reported once, there; [`state_of`] and [`make_state`] rely on the bound without restating it.
pub trait ModuleState {
    /// The state.
    type State: Default + Send + Sync + 'static;
}

/// [`current_state`] of the module type `M`.
pub fn state_of<M: ModuleState>() -> Option<Arc<M::State>> {
    current_state::<M::State>()
}

/// A new state for a `RegisterModule` call of the module type `M`.
pub fn make_state<M: ModuleState>() -> Option<Arc<dyn Any + Send + Sync>> {
    Some(Arc::new(M::State::default()))
}
