//! Stored-context containers: `IHttpModuleContextContainer` (per request, connection, site,
//! application, or dispensed by `IHttpServer::DispenseContainer`) and `INamedContextContainer`.
//!
//! A container keeps one `IHttpStoredContext*` per module id (or per name) and calls
//! `CleanupStoredContext` on each when its owner ends: the request, its connection (after
//! `NotifyDisconnect` for contexts set with `SetConnectionModuleContext`), the server at
//! shutdown, or `ReleaseContainer` for a dispensed one.

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Mutex;

use httpserv_sys::*;
use windows_sys::core::{HRESULT, PCWSTR};

use super::pipeline::RequestCtx;
use super::server::ServerShared;
use super::strings::{from_pcwstr, HR_ALREADY_ASSIGNED, HR_INVALID_PARAMETER, S_OK};
use super::thunk::{owner, rethrow, thunks, Obj};

/// Where a container's calls are recorded.
#[derive(Clone, Copy)]
pub(crate) enum Scope {
    /// In a request's transcript.
    Request(*const RequestCtx),
    /// In the server's calls (and the transcript of the request running on this thread).
    Server(*const ServerShared),
}

/// What a stored context is keyed by.
#[derive(PartialEq, Eq)]
enum Key {
    Module(usize),
    Name(String),
}

struct Entry {
    key: Key,
    context: *mut IHttpStoredContext,
    /// Set with `SetConnectionModuleContext`: gets `NotifyDisconnect` before cleanup.
    connection: bool,
    /// `NotifyDisconnect` was already called (the client went away during the request).
    notified: bool,
}

/// The kind of container, which picks its vtable and the names in the transcript.
#[derive(Clone, Copy, PartialEq, Eq)]
pub(crate) enum Kind {
    /// A request's, site's or application's `IHttpModuleContextContainer`.
    Module,
    /// An `IDispensedHttpModuleContextContainer` from `IHttpServer::DispenseContainer`.
    Dispensed,
    /// A connection's `IHttpConnectionModuleContextContainer`.
    Connection,
    /// `IHttpContext3::GetNamedContextContainer`.
    Named,
}

/// A stored-context container and the object modules see.
pub(crate) struct ContextStore {
    obj: Obj<ContextStore>,
    kind: Kind,
    /// Where calls are recorded; set by [`ContextStore::init`] before the object is handed out.
    scope: Scope,
    /// A label for the transcript (`"request"`, `"site"`, ...).
    label: &'static str,
    entries: Mutex<Vec<Entry>>,
    released: AtomicBool,
}

impl ContextStore {
    /// A container of `kind`; [`ContextStore::init`] must be called once it is at its final place.
    pub(crate) fn new(kind: Kind, label: &'static str) -> Self {
        let obj = match kind {
            Kind::Module | Kind::Dispensed => Obj::new(&MODULE_CONTAINER_VTBL),
            Kind::Connection => Obj::new(&CONNECTION_CONTAINER_VTBL),
            Kind::Named => Obj::new(&NAMED_CONTAINER_VTBL),
        };
        ContextStore {
            obj,
            kind,
            scope: Scope::Server(std::ptr::null()),
            label,
            entries: Mutex::new(Vec::new()),
            released: AtomicBool::new(false),
        }
    }

    /// Points the object at this store (now at its final address) and sets where calls go.
    pub(crate) fn init(&mut self, scope: Scope) {
        let me: *const ContextStore = self;
        self.obj.set_owner(me);
        self.scope = scope;
    }

    /// The container as the interface pointer `T`.
    pub(crate) fn as_ptr<T>(&self) -> *mut T {
        self.obj.as_ptr()
    }

    fn record(&self, method: &'static str, detail: String) {
        match self.scope {
            Scope::Request(req) => {
                // SAFETY: the request outlives its containers (they are fields of it).
                unsafe { &*req }.record(method, detail);
            }
            Scope::Server(server) if !server.is_null() => {
                // SAFETY: the server outlives its containers (fields of it, or dispensed ones
                // it keeps until it is dropped).
                unsafe { &*server }.record(method, detail);
            }
            Scope::Server(_) => {}
        }
    }

    fn entries(&self) -> std::sync::MutexGuard<'_, Vec<Entry>> {
        self.entries.lock().unwrap_or_else(|e| e.into_inner())
    }

    fn get(&self, key: &Key) -> *mut IHttpStoredContext {
        self.entries()
            .iter()
            .find(|e| &e.key == key)
            .map_or(std::ptr::null_mut(), |e| e.context)
    }

    fn set(&self, key: Key, context: *mut IHttpStoredContext, connection: bool) -> HRESULT {
        if context.is_null() {
            return HR_INVALID_PARAMETER;
        }
        let mut entries = self.entries();
        if entries.iter().any(|e| e.key == key) {
            return HR_ALREADY_ASSIGNED;
        }
        entries.push(Entry {
            key,
            context,
            connection,
            notified: false,
        });
        S_OK
    }

    /// Calls `CleanupStoredContext` on every stored context (after `NotifyDisconnect` for
    /// connection contexts), empties the container and returns how many were cleaned up.
    pub(crate) fn cleanup(&self) -> usize {
        let entries = std::mem::take(&mut *self.entries());
        let count = entries.len();
        for entry in entries {
            let what = match &entry.key {
                Key::Module(id) => format!("{} container, module {id:#x}", self.label),
                Key::Name(name) => format!("{} container, {name:?}", self.label),
            };
            if entry.connection && !entry.notified {
                self.record(
                    "IHttpConnectionStoredContext::NotifyDisconnect",
                    what.clone(),
                );
                let context = entry.context as *mut IHttpConnectionStoredContext;
                // SAFETY: the module stored this pointer with `SetConnectionModuleContext`, as an
                // `IHttpConnectionStoredContext` it keeps alive until `CleanupStoredContext`.
                unsafe { ((*(*context).lpVtbl).NotifyDisconnect)(context) };
                rethrow();
            }
            self.record("IHttpStoredContext::CleanupStoredContext", what);
            // SAFETY: the module stored this live `IHttpStoredContext` and gives up ownership
            // to this call, which is made exactly once per stored context.
            unsafe { ((*(*entry.context).lpVtbl).CleanupStoredContext)(entry.context) };
            rethrow();
        }
        count
    }

    /// The client went away: `NotifyDisconnect` on every connection context not told yet.
    pub(crate) fn notify_disconnect(&self) {
        let contexts: Vec<(String, *mut IHttpStoredContext)> = self
            .entries()
            .iter_mut()
            .filter(|e| e.connection && !e.notified)
            .map(|e| {
                e.notified = true;
                let what = match &e.key {
                    Key::Module(id) => format!("{} container, module {id:#x}, client disconnected", self.label),
                    Key::Name(name) => format!("{} container, {name:?}, client disconnected", self.label),
                };
                (what, e.context)
            })
            .collect();
        for (what, context) in contexts {
            self.record("IHttpConnectionStoredContext::NotifyDisconnect", what);
            let context = context as *mut IHttpConnectionStoredContext;
            // SAFETY: stored with `SetConnectionModuleContext` and alive until its cleanup.
            unsafe { ((*(*context).lpVtbl).NotifyDisconnect)(context) };
            rethrow();
        }
    }

    /// Whether `ReleaseContainer` was called (dispensed containers).
    pub(crate) fn released(&self) -> bool {
        self.released.load(Ordering::SeqCst)
    }
}

fn module_key(id: HTTP_MODULE_ID) -> Key {
    Key::Module(id as usize)
}

/// The store behind a container pointer.
///
/// # Safety
///
/// `this` must be a container handed out by the simulator that is still alive.
unsafe fn store<'a, T>(this: *mut T) -> &'a ContextStore {
    // SAFETY: per the contract, `this` is an `Obj<ContextStore>` whose store is alive.
    unsafe { owner::<ContextStore, T>(this) }
}

thunks! {
    fn container_get_module_context(this: *mut IHttpModuleContextContainer, module_id: HTTP_MODULE_ID) -> *mut IHttpStoredContext {
        // SAFETY: the module calls this on a container it got from the simulator.
        let store = unsafe { store(this) };
        let found = store.get(&module_key(module_id));
        store.record(
            "IHttpModuleContextContainer::GetModuleContext",
            format!("{} container, module {:#x} -> {}", store.label, module_id as usize, if found.is_null() { "NULL" } else { "context" }),
        );
        found
    }

    fn container_set_module_context(this: *mut IHttpModuleContextContainer, context: *mut IHttpStoredContext, module_id: HTTP_MODULE_ID) -> HRESULT {
        // SAFETY: the module calls this on a container it got from the simulator.
        let store = unsafe { store(this) };
        let hr = store.set(module_key(module_id), context, false);
        store.record(
            "IHttpModuleContextContainer::SetModuleContext",
            format!("{} container, module {:#x} -> {}", store.label, module_id as usize, super::strings::hr_str(hr)),
        );
        hr
    }

    fn container_release(this: *mut IDispensedHttpModuleContextContainer) {
        // SAFETY: the module calls this on a container it got from the simulator.
        let store = unsafe { store(this) };
        if store.kind == Kind::Dispensed && !store.released.swap(true, Ordering::SeqCst) {
            store.record("IDispensedHttpModuleContextContainer::ReleaseContainer", format!("{} container", store.label));
            let cleaned = store.cleanup();
            if let Scope::Server(server) = store.scope {
                // SAFETY: dispensed containers belong to the live server.
                unsafe { &*server }.count_cleaned(cleaned);
            }
        } else {
            store.record(
                "IDispensedHttpModuleContextContainer::ReleaseContainer",
                format!("{} container (ignored: not a dispensed container, or already released)", store.label),
            );
        }
    }

    fn connection_get_context(this: *mut IHttpConnectionModuleContextContainer, module_id: HTTP_MODULE_ID) -> *mut IHttpConnectionStoredContext {
        // SAFETY: the module calls this on a container it got from the simulator.
        let store = unsafe { store(this) };
        let found = store.get(&module_key(module_id));
        store.record(
            "IHttpConnectionModuleContextContainer::GetConnectionModuleContext",
            format!("module {:#x} -> {}", module_id as usize, if found.is_null() { "NULL" } else { "context" }),
        );
        found.cast()
    }

    fn connection_set_context(this: *mut IHttpConnectionModuleContextContainer, context: *mut IHttpConnectionStoredContext, module_id: HTTP_MODULE_ID) -> HRESULT {
        // SAFETY: the module calls this on a container it got from the simulator.
        let store = unsafe { store(this) };
        let hr = store.set(module_key(module_id), context.cast(), true);
        store.record(
            "IHttpConnectionModuleContextContainer::SetConnectionModuleContext",
            format!("module {:#x} -> {}", module_id as usize, super::strings::hr_str(hr)),
        );
        hr
    }

    fn named_get_context(this: *mut INamedContextContainer, name: PCWSTR) -> *mut IHttpStoredContext {
        // SAFETY: the module calls this on a container it got from the simulator.
        let store = unsafe { store(this) };
        // SAFETY: `name` is null or a NUL-terminated string, per the interface.
        let name = unsafe { from_pcwstr(name) }.unwrap_or_default();
        let found = store.get(&Key::Name(name.clone()));
        store.record(
            "INamedContextContainer::GetNamedContext",
            format!("{name:?} -> {}", if found.is_null() { "NULL" } else { "context" }),
        );
        found
    }

    fn named_set_context(this: *mut INamedContextContainer, context: *mut IHttpStoredContext, name: PCWSTR) -> HRESULT {
        // SAFETY: the module calls this on a container it got from the simulator.
        let store = unsafe { store(this) };
        // SAFETY: `name` is null or a NUL-terminated string, per the interface.
        let hr = match unsafe { from_pcwstr(name) } {
            Some(name) => {
                let hr = store.set(Key::Name(name.clone()), context, false);
                store.record("INamedContextContainer::SetNamedContext", format!("{name:?} -> {}", super::strings::hr_str(hr)));
                hr
            }
            None => {
                store.record("INamedContextContainer::SetNamedContext", "NULL name -> E_INVALIDARG".to_owned());
                super::strings::E_INVALIDARG
            }
        };
        hr
    }
}

/// Request, site, application and dispensed containers.
static MODULE_CONTAINER_VTBL: IDispensedHttpModuleContextContainer_Vtbl =
    IDispensedHttpModuleContextContainer_Vtbl {
        base__: IHttpModuleContextContainer_Vtbl {
            GetModuleContext: container_get_module_context,
            SetModuleContext: container_set_module_context,
        },
        ReleaseContainer: container_release,
    };

/// Connection containers.
static CONNECTION_CONTAINER_VTBL: IHttpConnectionModuleContextContainer_Vtbl =
    IHttpConnectionModuleContextContainer_Vtbl {
        base__: IHttpModuleContextContainer_Vtbl {
            GetModuleContext: container_get_module_context,
            SetModuleContext: container_set_module_context,
        },
        GetConnectionModuleContext: connection_get_context,
        SetConnectionModuleContext: connection_set_context,
    };

/// Named containers.
static NAMED_CONTAINER_VTBL: INamedContextContainer_Vtbl = INamedContextContainer_Vtbl {
    GetNamedContext: named_get_context,
    SetNamedContext: named_set_context,
};
