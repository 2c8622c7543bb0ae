//! The server side of registration and of the server-level objects: `IHttpModuleRegistrationInfo2`,
//! `IHttpServer3`, the server's `IHttpTraceContext`, `IHttpSite`, `IHttpApplication2`, the global
//! notification providers, and shutdown.

use std::cell::Cell;
use std::ffi::c_void;
use std::sync::{Mutex, MutexGuard};
use std::time::Instant;

use httpserv_sys::*;
use windows_sys::core::{w, BOOL, GUID, HRESULT, PCWSTR};
use windows_sys::Win32::Foundation::HANDLE;
use windows_sys::Win32::Networking::HttpServer::{
    HttpDataChunkFromMemory, HTTP_DATA_CHUNK, HTTP_REQUEST_PROPERTY,
};
use windows_sys::Win32::Networking::WinSock::SOCKADDR;
use windows_sys::Win32::Security::PSID;
use windows_sys::Win32::System::Iis::{HTTP_TRACE_CONFIGURATION, HTTP_TRACE_EVENT};
use windows_sys::Win32::System::IO::{LPOVERLAPPED_COMPLETION_ROUTINE, OVERLAPPED};

use super::containers::{ContextStore, Kind, Scope};
use super::context::{quick_trace_detail, trace_configuration, trace_event_detail, ACTIVITY_ID};
use super::pipeline::RequestCtx;
use super::strings::*;
use super::thunk::{owner, rethrow, thunks, Obj, Pinned};
use super::{Call, CallKind, Notification, Priorities, ShutdownReport, SERVER_VERSION};

/// What the module registered.
#[derive(Clone)]
pub(crate) struct Registration {
    pub(crate) factory: *mut IHttpModuleFactory,
    pub(crate) request_mask: u32,
    pub(crate) post_mask: u32,
    pub(crate) global: *mut CGlobalModule,
    pub(crate) global_mask: u32,
    pub(crate) priorities: Priorities,
}

impl Default for Registration {
    fn default() -> Self {
        Registration {
            factory: std::ptr::null_mut(),
            request_mask: 0,
            post_mask: 0,
            global: std::ptr::null_mut(),
            global_mask: 0,
            priorities: Priorities::default(),
        }
    }
}

/// Counters over the server's life.
#[derive(Default)]
pub(crate) struct Counts {
    pub(crate) requests: usize,
    pub(crate) modules_created: usize,
    pub(crate) modules_disposed: usize,
    pub(crate) stored_contexts_cleaned: usize,
    pub(crate) request_memory_bytes: usize,
}

/// Server state that any thread may touch (behind a mutex; never held while calling a module).
#[derive(Default)]
pub(crate) struct ServerState {
    pub(crate) registration: Registration,
    /// Every call on server-level objects, in order (never drained while the server runs, so
    /// that the index [`ServerShared::record`] returns stays valid for [`ServerShared::patch`]).
    calls: Vec<Call>,
    pub(crate) counts: Counts,
    dispensed: Vec<Pinned<ContextStore>>,
    fragments: Vec<(String, Vec<u8>)>,
    /// The paths given to configuration- and file-change notifications, kept until the server
    /// is dropped (a module may keep the pointer; threads may deliver changes concurrently).
    change_paths: Vec<Box<[u16]>>,
    next_request_id: u64,
}

/// What the current thread is doing with which server, to attribute recorded calls.
#[derive(Clone, Copy)]
pub(crate) struct Active {
    pub(crate) server: *const ServerShared,
    pub(crate) request: *const RequestCtx,
    pub(crate) global: Option<Notification>,
}

thread_local! {
    static ACTIVE: Cell<Active> = const {
        Cell::new(Active { server: std::ptr::null(), request: std::ptr::null(), global: None })
    };
}

thread_local! {
    /// The path `GetChangePath` / `GetFileName` return on this thread: that of the change
    /// notification it is delivering (a string in `ServerState::change_paths`), or null.
    static CHANGE_PATH: Cell<PCWSTR> = const { Cell::new(std::ptr::null()) };
}

/// What the current thread is doing.
pub(crate) fn active() -> Active {
    ACTIVE.with(Cell::get)
}

/// Runs `f` with `active` as the current thread's activity, restoring the previous one after
/// (also when `f` panics).
pub(crate) fn with_active<R>(active: Active, f: impl FnOnce() -> R) -> R {
    struct Restore(Active);
    impl Drop for Restore {
        fn drop(&mut self) {
            ACTIVE.with(|a| a.set(self.0));
        }
    }
    let _restore = Restore(ACTIVE.with(|a| a.replace(active)));
    f()
}

/// The server: its objects, containers and state. Lives at a fixed address (in a [`Pinned`])
/// from [`ServerShared::create`] until the `TestServer` is dropped.
pub(crate) struct ServerShared {
    reg: Obj<ServerShared>,
    server: Obj<ServerShared>,
    trace: Obj<ServerShared>,
    pub(crate) app: Obj<ServerShared>,
    pub(crate) site: Obj<ServerShared>,
    stop_listening: Obj<ServerShared>,
    app_provider: Obj<ServerShared>,
    pub(crate) pre_begin: Obj<ServerShared>,
    config_change: Obj<ServerShared>,
    file_change: Obj<ServerShared>,
    /// `IHttpServer::GetAdminManager`.
    admin: Obj<ServerShared>,
    /// The configuration served through `admin` ([`crate::TestServer::with_config`]).
    config: Mutex<Option<std::sync::Arc<super::config::Doc>>>,
    /// One metadata object per configuration path, current and retired (a configuration change
    /// retires those it touches; they live on until the server is dropped, as a module may
    /// still hold the pointer during its request).
    metadata: Mutex<(MetadataList, MetadataList)>,
    app_store: ContextStore,
    site_store: ContextStore,
    /// The module name.
    pub(crate) name: String,
    name_w: Box<[u16]>,
    state: Mutex<ServerState>,
    pub(crate) started: Instant,
    /// [`crate::TestServer::set_pending_timeout`], in milliseconds; 0 for the default.
    pub(crate) pending_timeout_ms: std::sync::atomic::AtomicU64,
    /// [`crate::TestServer::enable_websocket_module`].
    pub(crate) websocket_module: std::sync::atomic::AtomicBool,
}

impl ServerShared {
    /// A new server for a module called `name`.
    pub(crate) fn create(name: &str) -> Pinned<ServerShared> {
        let shared = Pinned::new(Box::new(ServerShared {
            reg: Obj::new(&REGISTRATION_VTBL),
            server: Obj::new(&SERVER_VTBL),
            trace: Obj::new(&SERVER_TRACE_VTBL),
            app: Obj::new(&APPLICATION_VTBL),
            site: Obj::new(&SITE_VTBL),
            stop_listening: Obj::new(&STOP_LISTENING_VTBL),
            app_provider: Obj::new(&APPLICATION_PROVIDER_VTBL),
            pre_begin: Obj::new(&PRE_BEGIN_VTBL),
            config_change: Obj::new(&CONFIG_CHANGE_VTBL),
            file_change: Obj::new(&FILE_CHANGE_VTBL),
            admin: Obj::new(&super::config::ADMIN_VTBL),
            config: Mutex::new(None),
            metadata: Mutex::new((Vec::new(), Vec::new())),
            app_store: ContextStore::new(Kind::Module, "application"),
            site_store: ContextStore::new(Kind::Module, "site"),
            name: name.to_owned(),
            name_w: wide(name).into_boxed_slice(),
            state: Mutex::new(ServerState::default()),
            started: Instant::now(),
            pending_timeout_ms: std::sync::atomic::AtomicU64::new(0),
            websocket_module: std::sync::atomic::AtomicBool::new(false),
        }));
        let raw = shared.as_ptr();
        // SAFETY: `raw` is the only handle to the new server; nothing else refers to it yet, and
        // the mutable borrow ends before any object is handed out.
        let me = unsafe { &mut *raw };
        for obj in [
            &mut me.reg,
            &mut me.server,
            &mut me.trace,
            &mut me.app,
            &mut me.site,
            &mut me.stop_listening,
            &mut me.app_provider,
            &mut me.pre_begin,
            &mut me.config_change,
            &mut me.file_change,
            &mut me.admin,
        ] {
            obj.set_owner(raw);
        }
        me.app_store.init(Scope::Server(raw));
        me.site_store.init(Scope::Server(raw));
        shared
    }

    pub(crate) fn lock(&self) -> MutexGuard<'_, ServerState> {
        self.state.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// `true` when the module registered `RQ_SEND_RESPONSE` with `PRIORITY_ALIAS_FIRST` or
    /// `PRIORITY_ALIAS_HIGH` (what `GetLogData` needs).
    pub(crate) fn send_response_priority_is_high(&self) -> bool {
        self.lock().registration.priorities.request.iter().any(|(flag, alias)| {
            flag & RQ_SEND_RESPONSE != 0 && (alias.eq_ignore_ascii_case("FIRST") || alias.eq_ignore_ascii_case("HIGH"))
        })
    }

    /// The bytes of the cached fragment `name` (`IHttpServer::AddFragmentToCache`), if any.
    pub(crate) fn fragment(&self, name: &str) -> Option<Vec<u8>> {
        self.lock().fragments.iter().find(|(n, _)| n == name).map(|(_, d)| d.clone())
    }

    /// The module id: the address of the registration object, unique per server.
    pub(crate) fn module_id(&self) -> HTTP_MODULE_ID {
        self.reg.as_ptr()
    }

    /// The module name as UTF-16 (NUL-terminated), valid as long as the server.
    pub(crate) fn name_w(&self) -> PCWSTR {
        self.name_w.as_ptr()
    }

    /// A new request id.
    pub(crate) fn next_request_id(&self) -> u64 {
        let mut state = self.lock();
        state.next_request_id += 1;
        state.next_request_id
    }

    /// Adds `n` to the stored contexts cleaned up.
    pub(crate) fn count_cleaned(&self, n: usize) {
        self.lock().counts.stored_contexts_cleaned += n;
    }

    /// Takes the calls recorded so far (when registration failed and the server goes away).
    pub(crate) fn drain_calls(&self) -> Vec<Call> {
        std::mem::take(&mut self.lock().calls)
    }

    /// How many calls were recorded so far.
    pub(crate) fn calls_len(&self) -> usize {
        self.lock().calls.len()
    }

    /// A copy of the calls recorded from index `start` on.
    pub(crate) fn calls_since(&self, start: usize) -> Vec<Call> {
        self.lock().calls.get(start..).unwrap_or_default().to_vec()
    }

    /// How many recorded calls are to `method`.
    pub(crate) fn count_calls(&self, method: &str) -> usize {
        super::count_calls(&self.lock().calls, method)
    }

    /// Records a call on a server-level object: in the server's calls, and in the transcript of
    /// the request this thread is running, if any. Returns where it went, for [`Self::patch`].
    pub(crate) fn record(&self, method: &'static str, detail: String) -> (usize, Option<usize>) {
        self.record_kind(method, CallKind::Call, detail)
    }

    /// Records the return of a call into the module (after the calls made inside it).
    pub(crate) fn record_return(&self, method: &'static str, detail: String) {
        self.record_kind(method, CallKind::Return, detail);
    }

    fn record_kind(
        &self,
        method: &'static str,
        kind: CallKind,
        detail: String,
    ) -> (usize, Option<usize>) {
        let active = active();
        let mine = std::ptr::eq(active.server, self);
        let request = if mine && !active.request.is_null() {
            // SAFETY: `active.request` is set only while the request is alive on this thread.
            Some(unsafe { &*active.request })
        } else {
            None
        };
        let (notification, post) = match (mine, active.global, request) {
            (true, Some(global), _) => (Some(global), false),
            (_, _, Some(request)) => request.current(),
            _ => (None, false),
        };
        let call = Call {
            method,
            kind,
            notification,
            post,
            detail,
        };
        let in_request = request.map(|r| r.push_call(call.clone()));
        let mut state = self.lock();
        state.calls.push(call);
        (state.calls.len() - 1, in_request)
    }

    /// Delivers the global notification `n` if the module registered it: `call` invokes the
    /// handler on the global module. Returns its status, or `None` if not delivered.
    pub(crate) fn notify_global(
        &self,
        n: Notification,
        detail: String,
        call: impl FnOnce(*mut CGlobalModule) -> GLOBAL_NOTIFICATION_STATUS,
    ) -> Option<GLOBAL_NOTIFICATION_STATUS> {
        let (global, mask) = {
            let state = self.lock();
            (state.registration.global, state.registration.global_mask)
        };
        if global.is_null() || mask & n.flag() == 0 {
            return None;
        }
        let mut now = active();
        if !std::ptr::eq(now.server, self) {
            now = Active {
                server: self,
                request: std::ptr::null(),
                global: None,
            };
        }
        now.global = Some(n);
        let status = with_active(now, || {
            self.record(n.handler(), detail);
            let status = call(global);
            rethrow();
            self.record_return(n.handler(), global_status_name(status));
            status
        });
        Some(status)
    }

    /// Calls `RegisterModule` and returns what it registered, or its failure.
    pub(crate) fn register(
        &self,
        register: impl FnOnce(u32, *mut IHttpModuleRegistrationInfo, *mut IHttpServer) -> HRESULT,
    ) -> Result<Registration, HRESULT> {
        let me = Active {
            server: self,
            request: std::ptr::null(),
            global: None,
        };
        let hr = with_active(me, || {
            self.record(
                "RegisterModule",
                format!("dwServerVersion = {SERVER_VERSION:#x}"),
            );
            // The registration info and server stay valid for the whole life of the module.
            let hr = register(SERVER_VERSION, self.reg.as_ptr(), self.server.as_ptr());
            rethrow();
            self.record_return("RegisterModule", hr_str(hr));
            hr
        });
        let registration = self.lock().registration.clone();
        if hr < 0 {
            with_active(me, || self.terminate(&registration));
            return Err(hr);
        }
        Ok(registration)
    }

    /// `GL_APPLICATION_START`, right after registration.
    pub(crate) fn application_start(&self) {
        let provider = self.app_provider.as_ptr::<IHttpApplicationStartProvider>();
        self.notify_global(Notification::GlobalApplicationStart, String::new(), |g| {
            // SAFETY: `g` is the module's live global module and `provider` a live provider.
            unsafe { ((*(*g).lpVtbl).OnGlobalApplicationStart)(g, provider) }
        });
    }

    /// `IHttpModuleFactory::Terminate` and `CGlobalModule::Terminate`, for what is registered.
    fn terminate(&self, registration: &Registration) -> (bool, bool) {
        let factory = registration.factory;
        if !factory.is_null() {
            self.record("IHttpModuleFactory::Terminate", String::new());
            // SAFETY: the factory the module registered is alive until this call, its last.
            unsafe { ((*(*factory).lpVtbl).Terminate)(factory) };
            rethrow();
        }
        let global = registration.global;
        if !global.is_null() {
            self.record("CGlobalModule::Terminate", String::new());
            // SAFETY: the global module is alive until this call, its last.
            unsafe { ((*(*global).lpVtbl).Terminate)(global) };
            rethrow();
        }
        (!factory.is_null(), !global.is_null())
    }

    /// Shuts down: global stop notifications, server-level cleanups, `Terminate`.
    pub(crate) fn shutdown(&self, registration: &Registration) -> ShutdownReport {
        let me = Active {
            server: self,
            request: std::ptr::null(),
            global: None,
        };
        with_active(me, || {
            let provider = self.stop_listening.as_ptr::<IGlobalStopListeningProvider>();
            self.notify_global(Notification::GlobalStopListening, String::new(), |g| {
                // SAFETY: `g` is the module's live global module and `provider` a live provider.
                unsafe { ((*(*g).lpVtbl).OnGlobalStopListening)(g, provider) }
            });
            let provider = self.app_provider.as_ptr::<IHttpApplicationStopProvider>();
            self.notify_global(Notification::GlobalApplicationStop, String::new(), |g| {
                // SAFETY: as above.
                unsafe { ((*(*g).lpVtbl).OnGlobalApplicationStop)(g, provider) }
            });
            let mut cleaned = self.app_store.cleanup() + self.site_store.cleanup();
            let metadata: Vec<*mut super::config::Metadata> = {
                let lists = self.metadata.lock().unwrap_or_else(|e| e.into_inner());
                lists.0.iter().chain(lists.1.iter()).map(Pinned::as_ptr).collect()
            };
            for m in metadata {
                // SAFETY: metadata objects live until the server is dropped.
                cleaned += unsafe { &*m }.cleanup();
            }
            let dispensed: Vec<*mut ContextStore> =
                self.lock().dispensed.iter().map(Pinned::as_ptr).collect();
            for store in dispensed {
                // SAFETY: dispensed containers live until the server is dropped.
                let store = unsafe { &*store };
                if !store.released() {
                    cleaned += store.cleanup();
                }
            }
            self.count_cleaned(cleaned);
            let (factory_terminated, global_terminated) = self.terminate(registration);
            let state = self.lock();
            ShutdownReport {
                requests: state.counts.requests,
                modules_created: state.counts.modules_created,
                modules_disposed: state.counts.modules_disposed,
                factory_terminated,
                global_terminated,
                stored_contexts_cleaned: state.counts.stored_contexts_cleaned,
                request_memory_bytes: state.counts.request_memory_bytes,
                calls: Vec::new(),
            }
        })
    }

    /// The configuration served to modules, if any.
    pub(crate) fn config(&self) -> Option<std::sync::Arc<super::config::Doc>> {
        self.config.lock().unwrap_or_else(|e| e.into_inner()).clone()
    }

    /// Replaces the configuration served to modules.
    pub(crate) fn set_config(&self, doc: Option<super::config::Doc>) {
        *self.config.lock().unwrap_or_else(|e| e.into_inner()) = doc.map(std::sync::Arc::new);
    }

    /// The metadata object of the configuration path `path`, created on first use.
    pub(crate) fn metadata_for(&self, path: &str) -> *mut IMetadataInfo {
        let mut metadata = self.metadata.lock().unwrap_or_else(|e| e.into_inner());
        if let Some(found) = metadata.0.iter().find(|m| unsafe_metadata(m).path.eq_ignore_ascii_case(path)) {
            return unsafe_metadata(found).as_ptr();
        }
        let created = super::config::Metadata::create(path, self);
        let ptr = unsafe_metadata(&created).as_ptr();
        metadata.0.push(created);
        ptr
    }

    /// A configuration change under `path`: IIS builds new metadata for the paths at and below
    /// it, so the next request gets a new, empty module context container. The old metadata is
    /// reference counted by the requests using it (`IReferencedMetadataInfo`); a request still
    /// running on another thread may be reading what a module stored there, so the retired
    /// containers are cleaned up at shutdown, after every request.
    fn retire_metadata(&self, path: &str) {
        let mut metadata = self.metadata.lock().unwrap_or_else(|e| e.into_inner());
        let (keep, gone): (Vec<_>, Vec<_>) = std::mem::take(&mut metadata.0).into_iter().partition(|m| !is_under(&unsafe_metadata(m).path, path));
        metadata.0 = keep;
        metadata.1.extend(gone);
    }

    /// `GL_CONFIGURATION_CHANGE` for `path`, if the global module registered it.
    pub(crate) fn notify_configuration_change(&self, path: &str) {
        self.retire_metadata(path);
        let provider = self.config_change.as_ptr::<IGlobalConfigurationChangeProvider>();
        self.with_change_path(path, |detail| {
            self.notify_global(Notification::GlobalConfigurationChange, detail, |g| {
                // SAFETY: `g` is the live global module and `provider` a live provider.
                unsafe { ((*(*g).lpVtbl).OnGlobalConfigurationChange)(g, provider) }
            });
        });
    }

    /// `GL_FILE_CHANGE` for `path`, if the global module registered it.
    pub(crate) fn notify_file_change(&self, path: &str) {
        let provider = self.file_change.as_ptr::<IGlobalFileChangeProvider>();
        self.with_change_path(path, |detail| {
            self.notify_global(Notification::GlobalFileChange, detail, |g| {
                // SAFETY: `g` is the live global module and `provider` a live provider.
                unsafe { ((*(*g).lpVtbl).OnGlobalFileChange)(g, provider) }
            });
        });
    }

    /// Delivers a configuration- or file-change notification for `path`: `deliver` runs with
    /// `path` as what this thread's change provider returns.
    fn with_change_path(&self, path: &str, deliver: impl FnOnce(String)) {
        let owned = wide(path).into_boxed_slice();
        let ptr = owned.as_ptr();
        self.lock().change_paths.push(owned);
        struct Restore(PCWSTR);
        impl Drop for Restore {
            fn drop(&mut self) {
                CHANGE_PATH.with(|c| c.set(self.0));
            }
        }
        let _restore = Restore(CHANGE_PATH.with(|c| c.replace(ptr)));
        deliver(format!("{path:?}"));
    }

    /// The path of the change notification this thread is delivering (an empty string if none).
    fn change_path(&self) -> PCWSTR {
        let ptr = CHANGE_PATH.with(Cell::get);
        if ptr.is_null() {
            w!("")
        } else {
            ptr
        }
    }
}

/// The server behind a server-level object pointer.
///
/// # Safety
///
/// `this` must be a server-level object handed out by a live simulator.
unsafe fn server<'a, T>(this: *mut T) -> &'a ServerShared {
    // SAFETY: per the contract.
    unsafe { owner::<ServerShared, T>(this) }
}

/// Metadata objects at fixed addresses.
type MetadataList = Vec<Pinned<super::config::Metadata>>;

/// A metadata object of the server's lists.
fn unsafe_metadata(m: &Pinned<super::config::Metadata>) -> &super::config::Metadata {
    // SAFETY: a `Pinned` owns its value; the reference lives no longer than the `Pinned`.
    unsafe { &*m.as_ptr() }
}

/// Whether the configuration path `path` is `root` or below it (segment-wise, case-insensitive).
fn is_under(path: &str, root: &str) -> bool {
    let (path, root) = (path.to_ascii_lowercase(), root.trim_end_matches('/').to_ascii_lowercase());
    path == root || path.starts_with(&format!("{root}/"))
}

/// Reads an optional wide string argument for a transcript.
///
/// # Safety
///
/// `p` must be null or a NUL-terminated UTF-16 string.
unsafe fn arg_w(p: PCWSTR) -> String {
    // SAFETY: per the contract.
    unsafe { from_pcwstr(p) }.map_or_else(|| "NULL".to_owned(), |s| format!("{s:?}"))
}

// ---------------------------------------------------------------------------------------------
// IHttpModuleRegistrationInfo2

fn set_priority(
    list: fn(&mut Priorities) -> &mut Vec<(u32, String)>,
    server: &ServerShared,
    method: &'static str,
    flag: u32,
    priority: PCWSTR,
    names: fn(u32) -> String,
) -> HRESULT {
    // SAFETY: the priority alias is null or a NUL-terminated string, per the interface.
    let alias = unsafe { from_pcwstr(priority) };
    let hr = match &alias {
        Some(alias) => {
            list(&mut server.lock().registration.priorities).push((flag, alias.clone()));
            S_OK
        }
        None => E_INVALIDARG,
    };
    server.record(
        method,
        format!(
            "{}, {:?} -> {}",
            names(flag),
            alias.unwrap_or_default(),
            hr_str(hr)
        ),
    );
    hr
}

thunks! {
    fn reg_get_name(this: *mut IHttpModuleRegistrationInfo) -> PCWSTR {
        // SAFETY: called on the registration info given to `RegisterModule`.
        let server = unsafe { server(this) };
        server.record("IHttpModuleRegistrationInfo::GetName", format!("-> {:?}", server.name));
        server.name_w()
    }

    fn reg_get_id(this: *mut IHttpModuleRegistrationInfo) -> HTTP_MODULE_ID {
        // SAFETY: called on the registration info given to `RegisterModule`.
        let server = unsafe { server(this) };
        let id = server.module_id();
        server.record("IHttpModuleRegistrationInfo::GetId", format!("-> {:#x}", id as usize));
        id
    }

    fn reg_set_request_notifications(this: *mut IHttpModuleRegistrationInfo, factory: *mut IHttpModuleFactory, request: u32, post: u32) -> HRESULT {
        // SAFETY: called on the registration info given to `RegisterModule`.
        let server = unsafe { server(this) };
        let hr = if factory.is_null() {
            E_INVALIDARG
        } else {
            let mut state = server.lock();
            state.registration.factory = factory;
            state.registration.request_mask = request;
            state.registration.post_mask = post;
            S_OK
        };
        server.record(
            "IHttpModuleRegistrationInfo::SetRequestNotifications",
            format!("{}, post {} -> {}", request_mask_names(request), request_mask_names(post), hr_str(hr)),
        );
        hr
    }

    fn reg_set_global_notifications(this: *mut IHttpModuleRegistrationInfo, global: *mut CGlobalModule, mask: u32) -> HRESULT {
        // SAFETY: called on the registration info given to `RegisterModule`.
        let server = unsafe { server(this) };
        let hr = if global.is_null() {
            E_INVALIDARG
        } else {
            let mut state = server.lock();
            state.registration.global = global;
            state.registration.global_mask = mask;
            S_OK
        };
        server.record(
            "IHttpModuleRegistrationInfo::SetGlobalNotifications",
            format!("{} -> {}", global_mask_names(mask), hr_str(hr)),
        );
        hr
    }

    fn reg_set_priority_request(this: *mut IHttpModuleRegistrationInfo, flag: u32, priority: PCWSTR) -> HRESULT {
        // SAFETY: called on the registration info given to `RegisterModule`.
        let server = unsafe { server(this) };
        set_priority(|p| &mut p.request, server, "IHttpModuleRegistrationInfo::SetPriorityForRequestNotification", flag, priority, request_mask_names)
    }

    fn reg_set_priority_global(this: *mut IHttpModuleRegistrationInfo, flag: u32, priority: PCWSTR) -> HRESULT {
        // SAFETY: called on the registration info given to `RegisterModule`.
        let server = unsafe { server(this) };
        set_priority(|p| &mut p.global, server, "IHttpModuleRegistrationInfo::SetPriorityForGlobalNotification", flag, priority, global_mask_names)
    }

    fn reg_set_priority_post(this: *mut IHttpModuleRegistrationInfo2, flag: u32, priority: PCWSTR) -> HRESULT {
        // SAFETY: called on the registration info given to `RegisterModule`.
        let server = unsafe { server(this) };
        set_priority(|p| &mut p.post_request, server, "IHttpModuleRegistrationInfo2::SetPriorityForPostRequestNotification", flag, priority, request_mask_names)
    }
}

static REGISTRATION_VTBL: IHttpModuleRegistrationInfo2_Vtbl = IHttpModuleRegistrationInfo2_Vtbl {
    base__: IHttpModuleRegistrationInfo_Vtbl {
        GetName: reg_get_name,
        GetId: reg_get_id,
        SetRequestNotifications: reg_set_request_notifications,
        SetGlobalNotifications: reg_set_global_notifications,
        SetPriorityForRequestNotification: reg_set_priority_request,
        SetPriorityForGlobalNotification: reg_set_priority_global,
    },
    SetPriorityForPostRequestNotification: reg_set_priority_post,
};

// ---------------------------------------------------------------------------------------------
// IHttpServer3

/// `(IID, same object)` families for `IHttpServer2::GetExtendedInterface`: an object of any
/// version of an interface the simulator implements also implements the newest one.
const FAMILIES: [&[GUID]; 6] = [
    &[
        IHttpContext::IID,
        IHttpContext2::IID,
        IHttpContext3::IID,
        IHttpContext4::IID,
    ],
    &[
        IHttpRequest::IID,
        IHttpRequest2::IID,
        IHttpRequest3::IID,
        IHttpRequest4::IID,
    ],
    &[
        IHttpResponse::IID,
        IHttpResponse2::IID,
        IHttpResponse3::IID,
        IHttpResponse4::IID,
    ],
    &[IHttpServer::IID, IHttpServer2::IID, IHttpServer3::IID],
    &[IHttpApplication::IID, IHttpApplication2::IID],
    &[IHttpCompletionInfo::IID, IHttpCompletionInfo2::IID],
];

pub(crate) fn guid_eq(a: &GUID, b: &GUID) -> bool {
    a.data1 == b.data1 && a.data2 == b.data2 && a.data3 == b.data3 && a.data4 == b.data4
}

fn guid_str(g: &GUID) -> String {
    format!(
        "{:08x}-{:04x}-{:04x}-{:02x}{:02x}-{}",
        g.data1,
        g.data2,
        g.data3,
        g.data4[0],
        g.data4[1],
        g.data4[2..]
            .iter()
            .map(|b| format!("{b:02x}"))
            .collect::<String>()
    )
}

fn interface_name(g: &GUID) -> String {
    const NAMES: [(GUID, &str); 15] = [
        (IHttpContext::IID, "IHttpContext"),
        (IHttpContext2::IID, "IHttpContext2"),
        (IHttpContext3::IID, "IHttpContext3"),
        (IHttpContext4::IID, "IHttpContext4"),
        (IHttpRequest::IID, "IHttpRequest"),
        (IHttpRequest2::IID, "IHttpRequest2"),
        (IHttpRequest3::IID, "IHttpRequest3"),
        (IHttpRequest4::IID, "IHttpRequest4"),
        (IHttpResponse::IID, "IHttpResponse"),
        (IHttpResponse2::IID, "IHttpResponse2"),
        (IHttpResponse3::IID, "IHttpResponse3"),
        (IHttpResponse4::IID, "IHttpResponse4"),
        (IHttpServer::IID, "IHttpServer"),
        (IHttpServer2::IID, "IHttpServer2"),
        (IHttpServer3::IID, "IHttpServer3"),
    ];
    NAMES
        .iter()
        .find(|(id, _)| guid_eq(id, g))
        .map_or_else(|| guid_str(g), |(_, n)| (*n).to_owned())
}

thunks! {
    fn srv_is_command_line_launch(this: *mut IHttpServer) -> BOOL {
        // SAFETY: called on the server given to `RegisterModule`.
        unsafe { server(this) }.record("IHttpServer::IsCommandLineLaunch", "-> FALSE".to_owned());
        0
    }

    fn srv_get_app_pool_name(this: *mut IHttpServer) -> PCWSTR {
        // SAFETY: called on the server given to `RegisterModule`.
        unsafe { server(this) }.record("IHttpServer::GetAppPoolName", format!("-> {:?}", super::APP_POOL_NAME));
        w!("DefaultAppPool")
    }

    fn srv_associate_with_thread_pool(this: *mut IHttpServer, _handle: HANDLE, _routine: LPOVERLAPPED_COMPLETION_ROUTINE) -> HRESULT {
        // SAFETY: called on the server given to `RegisterModule`.
        unsafe { server(this) }.record("IHttpServer::AssociateWithThreadPool", "-> E_NOTIMPL".to_owned());
        E_NOTIMPL
    }

    fn srv_increment_thread_count(this: *mut IHttpServer) {
        // SAFETY: called on the server given to `RegisterModule`.
        unsafe { server(this) }.record("IHttpServer::IncrementThreadCount", String::new());
    }

    fn srv_decrement_thread_count(this: *mut IHttpServer) {
        // SAFETY: called on the server given to `RegisterModule`.
        unsafe { server(this) }.record("IHttpServer::DecrementThreadCount", String::new());
    }

    fn srv_report_unhealthy(this: *mut IHttpServer, reason: PCWSTR, hr: HRESULT) {
        // SAFETY: called on the server given to `RegisterModule`; `reason` is null or a string.
        let (server, reason) = unsafe { (server(this), arg_w(reason)) };
        server.record("IHttpServer::ReportUnhealthy", format!("{reason}, {}", hr_str(hr)));
    }

    fn srv_recycle_process(this: *mut IHttpServer, reason: PCWSTR) {
        // SAFETY: called on the server given to `RegisterModule`; `reason` is null or a string.
        let (server, reason) = unsafe { (server(this), arg_w(reason)) };
        server.record("IHttpServer::RecycleProcess", reason);
    }

    fn srv_get_admin_manager(this: *mut IHttpServer) -> *mut IAppHostAdminManager {
        // SAFETY: called on the server given to `RegisterModule`.
        let server = unsafe { server(this) };
        server.record("IHttpServer::GetAdminManager", String::new());
        server.admin.as_ptr()
    }

    fn srv_get_file_info(this: *mut IHttpServer, path: PCWSTR, _token: HANDLE, _sid: PSID, _change_path: PCWSTR, _change_token: HANDLE, _cache: BOOL, file_info: *mut *mut IHttpFileInfo, _trace: *mut IHttpTraceContext) -> HRESULT {
        // SAFETY: called on the server given to `RegisterModule`; `path` is null or a string;
        // `file_info` is null or writable.
        unsafe {
            let server = server(this);
            server.record("IHttpServer::GetFileInfo", format!("{} -> E_NOTIMPL", arg_w(path)));
            put(file_info, std::ptr::null_mut());
        }
        E_NOTIMPL
    }

    fn srv_flush_kernel_cache(this: *mut IHttpServer, url: PCWSTR) -> HRESULT {
        // SAFETY: called on the server given to `RegisterModule`; `url` is null or a string.
        let (server, url) = unsafe { (server(this), arg_w(url)) };
        server.record("IHttpServer::FlushKernelCache", url);
        S_OK
    }

    fn srv_do_cache_operation(this: *mut IHttpServer, operation: CACHE_OPERATION, _key: *mut IHttpCacheKey, data: *mut *mut IHttpCacheSpecificData, _trace: *mut IHttpTraceContext) -> HRESULT {
        // SAFETY: called on the server given to `RegisterModule`; `data` is null or writable.
        unsafe {
            server(this).record("IHttpServer::DoCacheOperation", format!("operation {operation} -> E_NOTIMPL"));
            put(data, std::ptr::null_mut());
        }
        E_NOTIMPL
    }

    fn srv_notify_custom_notification(this: *mut IHttpServer, provider: *mut ICustomNotificationProvider) -> GLOBAL_NOTIFICATION_STATUS {
        // SAFETY: called on the server given to `RegisterModule`.
        let server = unsafe { server(this) };
        server.record("IHttpServer::NotifyCustomNotification", String::new());
        if provider.is_null() {
            return GL_NOTIFICATION_CONTINUE;
        }
        server
            .notify_global(Notification::GlobalCustomNotification, String::new(), |g| {
                // SAFETY: `g` is the live global module; `provider` is the module's own provider.
                unsafe { ((*(*g).lpVtbl).OnGlobalCustomNotification)(g, provider) }
            })
            .unwrap_or(GL_NOTIFICATION_CONTINUE)
    }

    fn srv_get_perf_counter_info(this: *mut IHttpServer) -> *mut IHttpPerfCounterInfo {
        // SAFETY: called on the server given to `RegisterModule`.
        unsafe { server(this) }.record("IHttpServer::GetPerfCounterInfo", "-> NULL (not simulated)".to_owned());
        std::ptr::null_mut()
    }

    fn srv_recycle_application(this: *mut IHttpServer, path: PCWSTR) {
        // SAFETY: called on the server given to `RegisterModule`; `path` is null or a string.
        let (server, path) = unsafe { (server(this), arg_w(path)) };
        server.record("IHttpServer::RecycleApplication", path);
    }

    fn srv_notify_configuration_change(this: *mut IHttpServer, path: PCWSTR) {
        // SAFETY: called on the server given to `RegisterModule`; `path` is null or a string.
        let (server, path) = unsafe { (server(this), from_pcwstr(path).unwrap_or_default()) };
        server.record("IHttpServer::NotifyConfigurationChange", format!("{path:?}"));
        server.notify_configuration_change(&path);
    }

    fn srv_notify_file_change(this: *mut IHttpServer, file: PCWSTR) {
        // SAFETY: called on the server given to `RegisterModule`; `file` is null or a string.
        let (server, file) = unsafe { (server(this), from_pcwstr(file).unwrap_or_default()) };
        server.record("IHttpServer::NotifyFileChange", format!("{file:?}"));
        server.notify_file_change(&file);
    }

    fn srv_dispense_container(this: *mut IHttpServer) -> *mut IDispensedHttpModuleContextContainer {
        // SAFETY: called on the server given to `RegisterModule`.
        let server = unsafe { server(this) };
        let store = Pinned::new(Box::new(ContextStore::new(Kind::Dispensed, "dispensed")));
        // SAFETY: the store was just allocated and is not shared yet.
        unsafe { (*store.as_ptr()).init(Scope::Server(server)) };
        // SAFETY: as above; it now lives (at this address) until the server is dropped.
        let container = unsafe { (*store.as_ptr()).as_ptr() };
        server.lock().dispensed.push(store);
        server.record("IHttpServer::DispenseContainer", String::new());
        container
    }

    fn srv_add_fragment(this: *mut IHttpServer, chunk: *mut HTTP_DATA_CHUNK, name: PCWSTR) -> HRESULT {
        // SAFETY: called on the server given to `RegisterModule`; `name` is null or a string.
        let (server, name) = unsafe { (server(this), from_pcwstr(name)) };
        // SAFETY: `chunk` is null or a valid HTTP_DATA_CHUNK whose memory variant (checked
        // first) describes a readable buffer.
        let data = unsafe {
            match chunk.as_ref() {
                Some(c) if c.DataChunkType == HttpDataChunkFromMemory => {
                    let m = c.Anonymous.FromMemory;
                    Some(if m.pBuffer.is_null() { Vec::new() } else { std::slice::from_raw_parts(m.pBuffer as *const u8, m.BufferLength as usize).to_vec() })
                }
                _ => None,
            }
        };
        let hr = match (name.clone(), data) {
            (Some(name), Some(data)) => {
                let mut state = server.lock();
                state.fragments.retain(|(n, _)| *n != name);
                state.fragments.push((name, data));
                S_OK
            }
            _ => E_INVALIDARG,
        };
        server.record("IHttpServer::AddFragmentToCache", format!("{:?} -> {}", name.unwrap_or_default(), hr_str(hr)));
        hr
    }

    fn srv_read_fragment(this: *mut IHttpServer, name: PCWSTR, buffer: *mut u8, size: u32, copied: *mut u32) -> HRESULT {
        // SAFETY: called on the server given to `RegisterModule`; `name` is null or a string.
        let (server, name) = unsafe { (server(this), from_pcwstr(name).unwrap_or_default()) };
        let data = server.lock().fragments.iter().find(|(n, _)| *n == name).map(|(_, d)| d.clone());
        let hr = match data {
            None => HR_NOT_FOUND,
            Some(data) if buffer.is_null() || (size as usize) < data.len() => {
                // SAFETY: `copied` is null or writable.
                unsafe { put(copied, data.len() as u32) };
                HR_INSUFFICIENT_BUFFER
            }
            Some(data) => {
                // SAFETY: `buffer` holds `size` >= `data.len()` writable bytes; `copied` is null
                // or writable.
                unsafe {
                    std::ptr::copy_nonoverlapping(data.as_ptr(), buffer, data.len());
                    put(copied, data.len() as u32);
                }
                S_OK
            }
        };
        server.record("IHttpServer::ReadFragmentFromCache", format!("{name:?} -> {}", hr_str(hr)));
        hr
    }

    fn srv_remove_fragment(this: *mut IHttpServer, name: PCWSTR) -> HRESULT {
        // SAFETY: called on the server given to `RegisterModule`; `name` is null or a string.
        let (server, name) = unsafe { (server(this), from_pcwstr(name).unwrap_or_default()) };
        let hr = {
            let mut state = server.lock();
            let before = state.fragments.len();
            state.fragments.retain(|(n, _)| *n != name);
            if state.fragments.len() == before { HR_NOT_FOUND } else { S_OK }
        };
        server.record("IHttpServer::RemoveFragmentFromCache", format!("{name:?} -> {}", hr_str(hr)));
        hr
    }

    fn srv_get_worker_process_settings(this: *mut IHttpServer, settings: *mut *mut IWpfSettings) -> HRESULT {
        // SAFETY: called on the server given to `RegisterModule`; `settings` is null or writable.
        unsafe {
            server(this).record("IHttpServer::GetWorkerProcessSettings", "-> E_NOTIMPL".to_owned());
            put(settings, std::ptr::null_mut());
        }
        E_NOTIMPL
    }

    fn srv_get_protocol_manager_custom_interface(this: *mut IHttpServer, dll: PCWSTR, _init: PCWSTR, id: u32, out: *mut *mut c_void) -> HRESULT {
        // SAFETY: called on the server given to `RegisterModule`; `dll` is null or a string;
        // `out` is null or writable.
        unsafe {
            server(this).record("IHttpServer::GetProtocolManagerCustomInterface", format!("{}, {id} -> E_NOTIMPL", arg_w(dll)));
            put(out, std::ptr::null_mut());
        }
        E_NOTIMPL
    }

    fn srv_satisfies_precondition(this: *mut IHttpServer, precondition: PCWSTR, unknown: *mut BOOL) -> BOOL {
        // SAFETY: called on the server given to `RegisterModule`; `precondition` is null or a
        // string; `unknown` is null or writable.
        unsafe {
            server(this).record("IHttpServer::SatisfiesPrecondition", format!("{} -> TRUE", arg_w(precondition)));
            put(unknown, 0);
        }
        1
    }

    fn srv_get_trace_context(this: *mut IHttpServer) -> *mut IHttpTraceContext {
        // SAFETY: called on the server given to `RegisterModule`.
        let server = unsafe { server(this) };
        server.record("IHttpServer::GetTraceContext", String::new());
        server.trace.as_ptr()
    }

    fn srv_register_file_change_monitor(this: *mut IHttpServer, path: PCWSTR, _token: HANDLE, monitor: *mut *mut IHttpFileMonitor) -> HRESULT {
        // SAFETY: called on the server given to `RegisterModule`; `path` is null or a string;
        // `monitor` is null or writable.
        unsafe {
            server(this).record("IHttpServer::RegisterFileChangeMonitor", format!("{} -> E_NOTIMPL", arg_w(path)));
            put(monitor, std::ptr::null_mut());
        }
        E_NOTIMPL
    }

    fn srv_get_extended_interface(this: *mut IHttpServer, version: HTTP_SERVER_INTERFACE_VERSION, out: *mut *mut c_void) -> HRESULT {
        // SAFETY: called on the server given to `RegisterModule`.
        let server = unsafe { server(this) };
        let (hr, result, name) = match version {
            HTTP_SERVER_INTERFACE_V2 => (S_OK, server.server.as_ptr::<c_void>(), "HTTP_SERVER_INTERFACE_V2"),
            HTTP_SERVER_INTERFACE_V3 => (S_OK, server.server.as_ptr::<c_void>(), "HTTP_SERVER_INTERFACE_V3"),
            _ => (E_NOINTERFACE, std::ptr::null_mut(), "unknown version"),
        };
        let hr = if out.is_null() { E_INVALIDARG } else { hr };
        // SAFETY: `out` is null or writable.
        unsafe { put(out, result) };
        server.record("IHttpServer::GetExtendedInterface", format!("{name} ({version}) -> {}", hr_str(hr)));
        hr
    }

    fn srv2_get_token(this: *mut IHttpServer2, user: PCWSTR, _password: PCWSTR, _logon: u32, token: *mut *mut IHttpTokenEntry, _domain: PCWSTR, _addr: *mut SOCKADDR, _trace: *mut IHttpTraceContext) -> HRESULT {
        // SAFETY: called on the server given to `RegisterModule`; `user` is null or a string;
        // `token` is null or writable.
        unsafe {
            server(this).record("IHttpServer2::GetToken", format!("{} -> E_NOTIMPL", arg_w(user)));
            put(token, std::ptr::null_mut());
        }
        E_NOTIMPL
    }

    fn srv2_get_app_pool_config_file(this: *mut IHttpServer2, len: *mut u32) -> PCWSTR {
        const PATH: &str = "C:\\inetpub\\temp\\apppools\\DefaultAppPool\\DefaultAppPool.config";
        // SAFETY: called on the server given to `RegisterModule`; `len` is null or writable.
        unsafe {
            server(this).record("IHttpServer2::GetAppPoolConfigFile", format!("-> {PATH:?}"));
            put(len, PATH.len() as u32);
        }
        w!("C:\\inetpub\\temp\\apppools\\DefaultAppPool\\DefaultAppPool.config")
    }

    fn srv2_get_extended_interface(this: *mut IHttpServer2, from: *const GUID, input: *mut c_void, to: *const GUID, out: *mut *mut c_void) -> HRESULT {
        // SAFETY: called on the server given to `RegisterModule`.
        let server = unsafe { server(this) };
        // SAFETY: the GUID pointers are null or point to GUIDs.
        let (from, to) = unsafe { (from.as_ref(), to.as_ref()) };
        let (hr, detail) = match (from, to) {
            (Some(from), Some(to)) if !out.is_null() && !input.is_null() => {
                let same_family = FAMILIES.iter().any(|family| {
                    family.iter().any(|g| guid_eq(g, from)) && family.iter().any(|g| guid_eq(g, to))
                });
                let hr = if same_family { S_OK } else { E_NOINTERFACE };
                // SAFETY: `out` is writable.
                unsafe { out.write(if same_family { input } else { std::ptr::null_mut() }) };
                (hr, format!("{} -> {}", interface_name(from), interface_name(to)))
            }
            _ => {
                // SAFETY: `out` is null or writable.
                unsafe { put(out, std::ptr::null_mut()) };
                (E_INVALIDARG, "NULL argument".to_owned())
            }
        };
        server.record("IHttpServer2::GetExtendedInterface", format!("{detail} -> {}", hr_str(hr)));
        hr
    }

    fn srv2_get_metadata(this: *mut IHttpServer2, _site: PCWSTR, url: PCWSTR, metadata: *mut *mut IReferencedMetadataInfo) -> HRESULT {
        // SAFETY: called on the server given to `RegisterModule`; `url` is null or a string;
        // `metadata` is null or writable.
        unsafe {
            server(this).record("IHttpServer2::GetMetadata", format!("{} -> E_NOTIMPL", arg_w(url)));
            put(metadata, std::ptr::null_mut());
        }
        E_NOTIMPL
    }

    fn srv2_get_worker_process_framework(this: *mut IHttpServer2, framework: *mut *mut IWorkerProcessFramework) -> HRESULT {
        // SAFETY: called on the server given to `RegisterModule`; `framework` is null or writable.
        unsafe {
            server(this).record("IHttpServer2::GetWorkerProcessFramework", "-> E_NOTIMPL".to_owned());
            put(framework, std::ptr::null_mut());
        }
        E_NOTIMPL
    }

    fn srv3_query_request_property(this: *mut IHttpServer3, id: u64, property: HTTP_REQUEST_PROPERTY, _qualifier: *mut c_void, _qualifier_size: u32, output: *mut c_void, output_size: u32, returned: *mut u32, overlapped: *mut OVERLAPPED) -> HRESULT {
        // SAFETY: called on the server given to `RegisterModule`; `returned` is null or writable.
        let server = unsafe { server(this) };
        // SAFETY: as above.
        unsafe { put(returned, 0) };
        // The request must be one this server is running now (its HTTP_REQUEST::RequestId).
        let active = active();
        // SAFETY: the active request of this thread is live while it is active.
        let running = (!active.request.is_null()).then(|| unsafe { &*active.request }).filter(|r| r.id == id);
        let (hr, detail) = if running.is_none() {
            // HttpQueryRequestProperty: "ERROR_INVALID_PARAMETER: ... the Id is not valid"
            // (https://learn.microsoft.com/en-us/windows/win32/api/http/nf-http-httpqueryrequestproperty).
            (HR_INVALID_PARAMETER, format!("request id {id} is not running"))
        } else if !overlapped.is_null() {
            (E_NOTIMPL, "asynchronous (OVERLAPPED) queries are not simulated".to_owned())
        } else if property == windows_sys::Win32::Networking::HttpServer::HttpRequestPropertySni {
            use windows_sys::Win32::Networking::HttpServer::{HTTP_REQUEST_PROPERTY_SNI, HTTP_REQUEST_PROPERTY_SNI_FLAG_NO_SNI};
            // A plain-HTTP request has no TLS handshake, hence no SNI: an empty host name with
            // HTTP_REQUEST_PROPERTY_SNI_FLAG_NO_SNI
            // (https://learn.microsoft.com/en-us/windows/win32/api/http/ns-http-http_request_property_sni).
            let size = std::mem::size_of::<HTTP_REQUEST_PROPERTY_SNI>();
            if output.is_null() || (output_size as usize) < size {
                // SAFETY: `returned` is null or writable.
                unsafe { put(returned, size as u32) };
                (HR_INSUFFICIENT_BUFFER, format!("SNI, buffer of {output_size} bytes < {size}"))
            } else {
                let sni = HTTP_REQUEST_PROPERTY_SNI { Hostname: [0; 256], Flags: HTTP_REQUEST_PROPERTY_SNI_FLAG_NO_SNI };
                // SAFETY: `output` holds `output_size` >= `size` writable bytes (any alignment:
                // written unaligned); `returned` is null or writable.
                unsafe {
                    output.cast::<HTTP_REQUEST_PROPERTY_SNI>().write_unaligned(sni);
                    put(returned, size as u32);
                }
                (S_OK, "SNI -> no SNI (plain HTTP)".to_owned())
            }
        } else {
            (E_NOTIMPL, format!("property {property} is not simulated"))
        };
        server.record("IHttpServer3::QueryRequestProperty", format!("{detail} -> {}", hr_str(hr)));
        hr
    }
}

static SERVER_VTBL: IHttpServer3_Vtbl = IHttpServer3_Vtbl {
    base__: IHttpServer2_Vtbl {
        base__: IHttpServer_Vtbl {
            IsCommandLineLaunch: srv_is_command_line_launch,
            GetAppPoolName: srv_get_app_pool_name,
            AssociateWithThreadPool: srv_associate_with_thread_pool,
            IncrementThreadCount: srv_increment_thread_count,
            DecrementThreadCount: srv_decrement_thread_count,
            ReportUnhealthy: srv_report_unhealthy,
            RecycleProcess: srv_recycle_process,
            GetAdminManager: srv_get_admin_manager,
            GetFileInfo: srv_get_file_info,
            FlushKernelCache: srv_flush_kernel_cache,
            DoCacheOperation: srv_do_cache_operation,
            NotifyCustomNotification: srv_notify_custom_notification,
            GetPerfCounterInfo: srv_get_perf_counter_info,
            RecycleApplication: srv_recycle_application,
            NotifyConfigurationChange: srv_notify_configuration_change,
            NotifyFileChange: srv_notify_file_change,
            DispenseContainer: srv_dispense_container,
            AddFragmentToCache: srv_add_fragment,
            ReadFragmentFromCache: srv_read_fragment,
            RemoveFragmentFromCache: srv_remove_fragment,
            GetWorkerProcessSettings: srv_get_worker_process_settings,
            GetProtocolManagerCustomInterface: srv_get_protocol_manager_custom_interface,
            SatisfiesPrecondition: srv_satisfies_precondition,
            GetTraceContext: srv_get_trace_context,
            RegisterFileChangeMonitor: srv_register_file_change_monitor,
            GetExtendedInterface: srv_get_extended_interface,
        },
        GetToken: srv2_get_token,
        GetAppPoolConfigFile: srv2_get_app_pool_config_file,
        GetExtendedInterface: srv2_get_extended_interface,
        GetMetadata: srv2_get_metadata,
        GetWorkerProcessFramework: srv2_get_worker_process_framework,
    },
    QueryRequestProperty: srv3_query_request_property,
};

// ---------------------------------------------------------------------------------------------
// The server's IHttpTraceContext

thunks! {
    fn srv_trace_get_configuration(this: *mut IHttpTraceContext, config: *mut HTTP_TRACE_CONFIGURATION) -> HRESULT {
        // SAFETY: called on the server's trace context; `config` is null or a valid structure.
        let (server, hr) = unsafe { (server(this), trace_configuration(config)) };
        server.record("IHttpTraceContext::GetTraceConfiguration", format!("server -> {}", hr_str(hr)));
        hr
    }

    fn srv_trace_set_configuration(this: *mut IHttpTraceContext, _module: HTTP_MODULE_ID, _config: *mut HTTP_TRACE_CONFIGURATION, count: u32) -> HRESULT {
        // SAFETY: called on the server's trace context.
        unsafe { server(this) }.record("IHttpTraceContext::SetTraceConfiguration", format!("server, {count} entries"));
        S_OK
    }

    fn srv_trace_raise_event(this: *mut IHttpTraceContext, event: *mut HTTP_TRACE_EVENT) -> HRESULT {
        // SAFETY: called on the server's trace context; `event` is null or a valid event.
        let (server, detail) = unsafe { (server(this), trace_event_detail(event)) };
        server.record("IHttpTraceContext::RaiseTraceEvent", detail);
        if event.is_null() { E_INVALIDARG } else { S_OK }
    }

    fn srv_trace_get_activity_id(this: *mut IHttpTraceContext) -> *const GUID {
        // SAFETY: called on the server's trace context.
        unsafe { server(this) }.record("IHttpTraceContext::GetTraceActivityId", "server".to_owned());
        &ACTIVITY_ID
    }

    fn srv_trace_quick_trace(this: *mut IHttpTraceContext, data1: PCWSTR, data2: PCWSTR, hr: HRESULT, level: u8) -> HRESULT {
        // SAFETY: called on the server's trace context; the strings are null or NUL-terminated.
        let (server, detail) = unsafe { (server(this), quick_trace_detail(data1, data2, hr, level)) };
        server.record("IHttpTraceContext::QuickTrace", detail);
        S_OK
    }
}

static SERVER_TRACE_VTBL: IHttpTraceContext_Vtbl = IHttpTraceContext_Vtbl {
    GetTraceConfiguration: srv_trace_get_configuration,
    SetTraceConfiguration: srv_trace_set_configuration,
    RaiseTraceEvent: srv_trace_raise_event,
    GetTraceActivityId: srv_trace_get_activity_id,
    QuickTrace: srv_trace_quick_trace,
};

// ---------------------------------------------------------------------------------------------
// IHttpApplication2 and IHttpSite

thunks! {
    fn app_get_physical_path(this: *mut IHttpApplication) -> PCWSTR {
        // SAFETY: called on the application object.
        unsafe { server(this) }.record("IHttpApplication::GetApplicationPhysicalPath", format!("-> {:?}", super::APPLICATION_PHYSICAL_PATH));
        w!("C:\\inetpub\\wwwroot\\")
    }

    fn app_get_id(this: *mut IHttpApplication) -> PCWSTR {
        // SAFETY: called on the application object.
        unsafe { server(this) }.record("IHttpApplication::GetApplicationId", format!("-> {:?}", super::APPLICATION_ID));
        w!("/LM/W3SVC/1/ROOT")
    }

    fn app_get_config_path(this: *mut IHttpApplication) -> PCWSTR {
        // SAFETY: called on the application object.
        unsafe { server(this) }.record("IHttpApplication::GetAppConfigPath", "-> \"MACHINE/WEBROOT/APPHOST/Default Web Site\"".to_owned());
        w!("MACHINE/WEBROOT/APPHOST/Default Web Site")
    }

    fn app_get_container(this: *mut IHttpApplication) -> *mut IHttpModuleContextContainer {
        // SAFETY: called on the application object.
        let server = unsafe { server(this) };
        server.record("IHttpApplication::GetModuleContextContainer", String::new());
        server.app_store.as_ptr()
    }

    fn app_begin_warmup(this: *mut IHttpApplication2) {
        // SAFETY: called on the application object.
        unsafe { server(this) }.record("IHttpApplication2::BeginApplicationWarmup", String::new());
    }

    fn app_end_warmup(this: *mut IHttpApplication2) {
        // SAFETY: called on the application object.
        unsafe { server(this) }.record("IHttpApplication2::EndApplicationWarmup", String::new());
    }

    fn app_is_warming_up(this: *mut IHttpApplication2) -> BOOL {
        // SAFETY: called on the application object.
        unsafe { server(this) }.record("IHttpApplication2::QueryIsWarmingUp", "-> FALSE".to_owned());
        0
    }

    fn site_get_id(this: *mut IHttpSite) -> u32 {
        // SAFETY: called on the site object.
        unsafe { server(this) }.record("IHttpSite::GetSiteId", format!("-> {}", super::SITE_ID));
        super::SITE_ID
    }

    fn site_get_name(this: *mut IHttpSite) -> PCWSTR {
        // SAFETY: called on the site object.
        unsafe { server(this) }.record("IHttpSite::GetSiteName", format!("-> {:?}", super::SITE_NAME));
        w!("Default Web Site")
    }

    fn site_get_container(this: *mut IHttpSite) -> *mut IHttpModuleContextContainer {
        // SAFETY: called on the site object.
        let server = unsafe { server(this) };
        server.record("IHttpSite::GetModuleContextContainer", String::new());
        server.site_store.as_ptr()
    }

    fn site_get_perf_counter_info(this: *mut IHttpSite) -> *mut IHttpPerfCounterInfo {
        // SAFETY: called on the site object.
        unsafe { server(this) }.record("IHttpSite::GetPerfCounterInfo", "-> NULL (not simulated)".to_owned());
        std::ptr::null_mut()
    }
}

static APPLICATION_VTBL: IHttpApplication2_Vtbl = IHttpApplication2_Vtbl {
    base__: IHttpApplication_Vtbl {
        GetApplicationPhysicalPath: app_get_physical_path,
        GetApplicationId: app_get_id,
        GetAppConfigPath: app_get_config_path,
        GetModuleContextContainer: app_get_container,
    },
    BeginApplicationWarmup: app_begin_warmup,
    EndApplicationWarmup: app_end_warmup,
    QueryIsWarmingUp: app_is_warming_up,
};

static SITE_VTBL: IHttpSite_Vtbl = IHttpSite_Vtbl {
    GetSiteId: site_get_id,
    GetSiteName: site_get_name,
    GetModuleContextContainer: site_get_container,
    GetPerfCounterInfo: site_get_perf_counter_info,
};

// ---------------------------------------------------------------------------------------------
// Global notification providers

thunks! {
    fn global_set_error_status(this: *mut IHttpEventProvider, hr: HRESULT) {
        // SAFETY: called on a global provider of the server.
        unsafe { server(this) }.record("IHttpEventProvider::SetErrorStatus", hr_str(hr));
    }

    fn stop_listening_drain(this: *mut IGlobalStopListeningProvider) -> BOOL {
        // SAFETY: called on the stop-listening provider.
        unsafe { server(this) }.record("IGlobalStopListeningProvider::DrainRequestsGracefully", "-> TRUE".to_owned());
        1
    }

    fn app_provider_get_application(this: *mut IHttpApplicationProvider) -> *mut IHttpApplication {
        // SAFETY: called on the application provider.
        let server = unsafe { server(this) };
        server.record("IHttpApplicationProvider::GetApplication", String::new());
        server.app.as_ptr()
    }

    fn pre_begin_get_context(this: *mut IPreBeginRequestProvider) -> *mut IHttpContext {
        // SAFETY: called on the pre-begin-request provider.
        let server = unsafe { server(this) };
        server.record("IPreBeginRequestProvider::GetHttpContext", String::new());
        let now = active();
        if std::ptr::eq(now.server, server) && !now.request.is_null() {
            // SAFETY: the active request is alive on this thread.
            unsafe { &*now.request }.context_ptr()
        } else {
            std::ptr::null_mut()
        }
    }

    fn config_change_get_path(this: *mut IGlobalConfigurationChangeProvider) -> PCWSTR {
        // SAFETY: called on the configuration-change provider.
        let server = unsafe { server(this) };
        server.record("IGlobalConfigurationChangeProvider::GetChangePath", String::new());
        // The path stays put until the server is dropped.
        server.change_path()
    }

    fn file_change_get_name(this: *mut IGlobalFileChangeProvider) -> PCWSTR {
        // SAFETY: called on the file-change provider.
        let server = unsafe { server(this) };
        server.record("IGlobalFileChangeProvider::GetFileName", String::new());
        server.change_path()
    }

    fn file_change_get_monitor(this: *mut IGlobalFileChangeProvider) -> *mut IHttpFileMonitor {
        // SAFETY: called on the file-change provider.
        unsafe { server(this) }.record("IGlobalFileChangeProvider::GetFileMonitor", "-> NULL (not simulated)".to_owned());
        std::ptr::null_mut()
    }
}

static STOP_LISTENING_VTBL: IGlobalStopListeningProvider_Vtbl = IGlobalStopListeningProvider_Vtbl {
    base__: IHttpEventProvider_Vtbl {
        SetErrorStatus: global_set_error_status,
    },
    DrainRequestsGracefully: stop_listening_drain,
};

static APPLICATION_PROVIDER_VTBL: IHttpApplicationProvider_Vtbl = IHttpApplicationProvider_Vtbl {
    base__: IHttpEventProvider_Vtbl {
        SetErrorStatus: global_set_error_status,
    },
    GetApplication: app_provider_get_application,
};

static PRE_BEGIN_VTBL: IPreBeginRequestProvider_Vtbl = IPreBeginRequestProvider_Vtbl {
    base__: IHttpEventProvider_Vtbl {
        SetErrorStatus: global_set_error_status,
    },
    GetHttpContext: pre_begin_get_context,
};

static CONFIG_CHANGE_VTBL: IGlobalConfigurationChangeProvider_Vtbl =
    IGlobalConfigurationChangeProvider_Vtbl {
        base__: IHttpEventProvider_Vtbl {
            SetErrorStatus: global_set_error_status,
        },
        GetChangePath: config_change_get_path,
    };

static FILE_CHANGE_VTBL: IGlobalFileChangeProvider_Vtbl = IGlobalFileChangeProvider_Vtbl {
    base__: IHttpEventProvider_Vtbl {
        SetErrorStatus: global_set_error_status,
    },
    GetFileName: file_change_get_name,
    GetFileMonitor: file_change_get_monitor,
};
