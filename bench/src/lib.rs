//! Measurements behind the "zero-cost" claims of httpserv (not published):
//!
//! - `src/bin/calls.rs`: instruction counts (under callgrind) of safe calls such as
//!   `HttpContext::cancel_io` and `Request::header` against the raw vtable calls they wrap.
//! - `tests/no_alloc.rs`: heap allocations made by our code per request (asserts exactly 0).
//! - `scripts/bench.sh`: runs both, then the macro-built, raw and C++ CancelIo modules side by
//!   side in httpserv-simulator.exe under Wine.
//!
//! This library holds what they share: [`fake`], minimal hand-made IIS objects whose vtable slots
//! are trivial functions (so the server side costs nothing and allocates nothing), and
//! [`cancel_io_raw`], a linkable copy of `examples/cancel_io_raw` (see `build.rs`).

/// `examples/cancel_io_raw/src/lib.rs` as is, minus its `#[no_mangle]` (build.rs): the raw-ABI
/// baseline, linkable next to the macro-built `cancel-io` whose `RegisterModule` is exported.
#[allow(non_snake_case, dead_code, clippy::all)]
pub mod cancel_io_raw {
    include!(concat!(env!("OUT_DIR"), "/cancel_io_raw.rs"));
}

/// The hand-written baseline of the suspended round trip: a `CHttpModule` whose handler posts a completion and returns
/// PENDING, and whose `OnAsyncCompletion` returns CONTINUE (what a C++ module writes).
pub mod suspend_raw {
    //! The raw-ABI suspended round trip (src/bin/suspend.rs against fake objects,
    //! examples/sim_suspend.rs through the simulator).

    use core::ffi::c_void;

    use httpserv_sys::*;

    #[repr(C)]
    struct Module {
        vtbl: *const CHttpModule_Vtbl,
    }

    unsafe extern "system" fn on_execute(_this: *mut CHttpModule, context: *mut IHttpContext, _p: *mut IHttpEventProvider) -> REQUEST_NOTIFICATION_STATUS {
        // SAFETY: IIS's live context.
        unsafe { ((*(*context).lpVtbl).PostCompletion)(context, 0) };
        RQ_NOTIFICATION_PENDING
    }

    unsafe extern "system" fn on_async(_this: *mut CHttpModule, _c: *mut IHttpContext, _n: u32, _post: i32, _p: *mut IHttpEventProvider, _i: *mut IHttpCompletionInfo) -> REQUEST_NOTIFICATION_STATUS {
        RQ_NOTIFICATION_CONTINUE
    }

    unsafe extern "system" fn dispose(_this: *mut CHttpModule) {}

    unsafe extern "system" fn destructor(this: *mut CHttpModule, _flags: u32) -> *mut c_void {
        this.cast()
    }

    unsafe extern "system" fn continue_event(_this: *mut CHttpModule, _c: *mut IHttpContext, _p: *mut IHttpEventProvider) -> REQUEST_NOTIFICATION_STATUS {
        RQ_NOTIFICATION_CONTINUE
    }

    /// The vtable: every notification slot continues (only OnExecuteRequestHandler is
    /// registered); the three that matter are set after.
    fn vtable() -> &'static CHttpModule_Vtbl {
        static VTABLE: std::sync::OnceLock<usize> = std::sync::OnceLock::new();
        let p = *VTABLE.get_or_init(|| {
            let slots = core::mem::size_of::<CHttpModule_Vtbl>() / core::mem::size_of::<usize>();
            let table: &'static mut [usize] = Box::leak(vec![continue_event as *const () as usize; slots].into_boxed_slice());
            let vtbl = table.as_mut_ptr().cast::<CHttpModule_Vtbl>();
            // SAFETY: a writable, correctly sized vtable; the slots written have these types.
            unsafe {
                (*vtbl).OnExecuteRequestHandler = on_execute;
                (*vtbl).OnAsyncCompletion = on_async;
                (*vtbl).Dispose = dispose;
                (*vtbl).Destructor = destructor;
            }
            vtbl as usize
        });
        // SAFETY: leaked above, never freed.
        unsafe { &*(p as *const CHttpModule_Vtbl) }
    }

    #[repr(C)]
    struct Factory {
        vtbl: *const IHttpModuleFactory_Vtbl,
    }

    unsafe extern "system" fn get_module(_this: *mut IHttpModuleFactory, module: *mut *mut CHttpModule, allocator: *mut IModuleAllocator) -> windows_sys::core::HRESULT {
        // SAFETY: IIS's live allocator and out pointer; the memory holds one pointer.
        unsafe {
            let object = ((*(*allocator).lpVtbl).AllocateMemory)(allocator, core::mem::size_of::<Module>() as u32).cast::<Module>();
            object.write(Module { vtbl: vtable() });
            *module = object.cast();
        }
        0
    }

    unsafe extern "system" fn terminate(_this: *mut IHttpModuleFactory) {}

    static FACTORY_VTBL: IHttpModuleFactory_Vtbl = IHttpModuleFactory_Vtbl { GetHttpModule: get_module, Terminate: terminate };

    pub unsafe extern "system" fn register(_version: u32, info: *mut IHttpModuleRegistrationInfo, _server: *mut IHttpServer) -> windows_sys::core::HRESULT {
        let factory = Box::leak(Box::new(Factory { vtbl: &FACTORY_VTBL }));
        // SAFETY: the fake registration info.
        unsafe { ((*(*info).lpVtbl).SetRequestNotifications)(info, (factory as *mut Factory).cast(), RQ_EXECUTE_REQUEST_HANDLER, 0) }
    }
}

pub mod fake {
    //! Hand-made IIS objects for measurements. Every vtable slot not set here traps (prints and
    //! aborts), so a measurement cannot silently go through an unexpected path. Building them
    //! allocates (the vtables are leaked); using them does not.

    use core::ffi::c_void;
    use core::mem::size_of;
    use core::ptr::{addr_of_mut, null, null_mut};

    use httpserv_sys::*;
    use windows_sys::core::{HRESULT, PCSTR};
    use windows_sys::Win32::Networking::HttpServer::{HttpHeaderUserAgent, HTTP_HEADER_ID};

    /// The value of the fake request's `User-Agent` header.
    pub const USER_AGENT: &[u8] = b"httpserv-bench/1.0";
    const USER_AGENT_Z: &[u8] = b"httpserv-bench/1.0\0";

    unsafe extern "system" fn trap() {
        eprintln!("httpserv-bench: a fake IIS object's unexpected vtable slot was called");
        std::process::abort();
    }

    /// A leaked vtable of type `V` (a `#[repr(C)]` struct of function pointers) whose every slot
    /// traps; the caller then writes the slots it needs.
    fn trap_vtable<V>() -> *mut V {
        assert_eq!(size_of::<V>() % size_of::<usize>(), 0);
        let slots = vec![trap as unsafe extern "system" fn() as usize; size_of::<V>() / size_of::<usize>()];
        kept(Box::leak(slots.into_boxed_slice()).as_mut_ptr().cast::<V>())
    }

    fn object<T>(vtbl: *const c_void) -> *mut T {
        // Every IIS object is, for its callers, a pointer to its vtable pointer.
        kept(Box::leak(Box::new(vtbl)) as *mut *const c_void as *mut T)
    }

    /// The fake objects live for the process, on purpose; listed here so that valgrind
    /// (scripts/valgrind.sh runs this crate's tests) sees them as still reachable, not lost.
    static KEPT: std::sync::Mutex<Vec<usize>> = std::sync::Mutex::new(Vec::new());

    fn kept<T>(object: *mut T) -> *mut T {
        KEPT.lock().unwrap_or_else(|p| p.into_inner()).push(object as usize);
        object
    }

    // --- the server side: the one function behind both the raw and the safe call -------------

    /// `IHttpContext::CancelIo`: nothing is pending, `S_OK`.
    ///
    /// # Safety
    /// A vtable slot: called as IIS's would be.
    #[inline(never)]
    pub unsafe extern "system" fn server_cancel_io(_this: *mut IHttpContext) -> HRESULT {
        0
    }

    /// `IHttpRequest::GetHeader(PCSTR)`: a case-insensitive match of the NUL-terminated name
    /// against `User-Agent` (as IIS's lookup by name does), then the value and its length.
    ///
    /// # Safety
    /// `name` is NUL-terminated and `len` writable.
    #[inline(never)]
    pub unsafe extern "system" fn server_get_header(_this: *mut IHttpRequest, name: PCSTR, len: *mut u16) -> PCSTR {
        const NAME: &[u8] = b"user-agent";
        let mut i = 0;
        loop {
            // SAFETY: `name` is NUL-terminated (the caller's contract); we stop at the NUL.
            let c = unsafe { *name.add(i) };
            if i == NAME.len() {
                if c == 0 {
                    // SAFETY: `len` is the caller's out pointer.
                    unsafe { *len = USER_AGENT.len() as u16 };
                    return USER_AGENT_Z.as_ptr();
                }
                break;
            }
            if c.to_ascii_lowercase() != NAME[i] {
                break;
            }
            i += 1;
        }
        // SAFETY: as above.
        unsafe { *len = 0 };
        null()
    }

    /// `IHttpRequest::GetHeader(HTTP_HEADER_ID)`.
    ///
    /// # Safety
    /// `len` is writable.
    #[inline(never)]
    pub unsafe extern "system" fn server_get_known_header(_this: *mut IHttpRequest, id: HTTP_HEADER_ID, len: *mut u16) -> PCSTR {
        if id == HttpHeaderUserAgent {
            // SAFETY: `len` is the caller's out pointer.
            unsafe { *len = USER_AGENT.len() as u16 };
            USER_AGENT_Z.as_ptr()
        } else {
            // SAFETY: as above.
            unsafe { *len = 0 };
            null()
        }
    }

    static REQUEST: std::sync::OnceLock<usize> = std::sync::OnceLock::new();

    /// A request whose only slots are the two `GetHeader`s.
    pub fn request() -> *mut IHttpRequest {
        *REQUEST.get_or_init(|| {
            let vtbl = trap_vtable::<IHttpRequest_Vtbl>();
            // SAFETY: `vtbl` is a writable IHttpRequest_Vtbl (every slot a valid fn pointer).
            unsafe {
                addr_of_mut!((*vtbl).GetHeader).write(server_get_header);
                addr_of_mut!((*vtbl).GetHeader_2).write(server_get_known_header);
            }
            object::<IHttpRequest>(vtbl.cast()) as usize
        }) as *mut IHttpRequest
    }

    unsafe extern "system" fn server_get_request(_this: *mut IHttpContext) -> *mut IHttpRequest {
        request()
    }

    thread_local! {
        /// The fake request memory: a fixed arena, reused from the start when full (a fake
        /// request never keeps what it read for longer than the call that read it).
        static ARENA: std::cell::RefCell<(usize, [u64; 8192])> = const { std::cell::RefCell::new((0, [0; 8192])) };
    }

    /// `AllocateRequestMemory` over [`ARENA`]: no heap allocation per call.
    #[inline(never)]
    pub unsafe extern "system" fn server_allocate_request_memory(_this: *mut IHttpContext, size: u32) -> *mut c_void {
        let words = (size as usize).div_ceil(8);
        ARENA.with(|arena| {
            let mut arena = arena.borrow_mut();
            let (used, buffer) = &mut *arena;
            if words > buffer.len() {
                return null_mut();
            }
            if *used + words > buffer.len() {
                *used = 0;
            }
            let p = buffer[*used..].as_mut_ptr();
            *used += words;
            p.cast()
        })
    }

    /// A context with `CancelIo`, `GetRequest` and `AllocateRequestMemory`.
    pub fn context() -> *mut IHttpContext {
        let vtbl = trap_vtable::<IHttpContext_Vtbl>();
        // SAFETY: as in `request`.
        unsafe {
            addr_of_mut!((*vtbl).CancelIo).write(server_cancel_io);
            addr_of_mut!((*vtbl).GetRequest).write(server_get_request);
            addr_of_mut!((*vtbl).AllocateRequestMemory).write(server_allocate_request_memory);
        }
        object::<IHttpContext>(vtbl.cast())
    }

    thread_local! {
        /// Completions the fake context's `PostCompletion` received (for the async measurement).
        pub static POSTED: core::cell::Cell<u32> = const { core::cell::Cell::new(0) };
    }

    unsafe extern "system" fn server_post_completion(_this: *mut IHttpContext, _bytes: u32) -> HRESULT {
        POSTED.with(|p| p.set(p.get() + 1));
        0
    }

    unsafe extern "system" fn server_get_connection(_this: *mut IHttpContext) -> *mut IHttpConnection {
        null_mut()
    }

    /// [`context`] plus what a suspended async handler calls: `PostCompletion` (counted in
    /// [`POSTED`]) and `GetConnection` (none, so no disconnect watcher).
    pub fn async_context() -> *mut IHttpContext {
        let context = context();
        // SAFETY: `context` was just made by `context()`: its vtable is a leaked, writable
        // IHttpContext_Vtbl.
        unsafe {
            let vtbl = (*context).lpVtbl as *mut IHttpContext_Vtbl;
            addr_of_mut!((*vtbl).PostCompletion).write(server_post_completion);
            addr_of_mut!((*vtbl).GetConnection).write(server_get_connection);
        }
        context
    }

    /// Any provider: a module that does not use its provider never calls it.
    pub fn provider<T>() -> *mut T {
        object::<T>(trap_vtable::<[usize; 32]>().cast())
    }

    /// `IModuleAllocator` over a fixed buffer (IIS's request memory), reset per request.
    #[repr(C)]
    pub struct Allocator {
        vtbl: *const IModuleAllocator_Vtbl,
        used: usize,
        buffer: [u64; 64],
    }

    unsafe extern "system" fn allocate_memory(this: *mut IModuleAllocator, size: u32) -> *mut c_void {
        // SAFETY: `this` is an Allocator (the only object with this vtable).
        let this = unsafe { &mut *this.cast::<Allocator>() };
        let words = (size as usize).div_ceil(8);
        if this.used + words > this.buffer.len() {
            return null_mut();
        }
        let p = this.buffer[this.used..].as_mut_ptr();
        this.used += words;
        p.cast()
    }

    static ALLOCATOR_VTABLE: IModuleAllocator_Vtbl = IModuleAllocator_Vtbl { AllocateMemory: allocate_memory };

    impl Allocator {
        pub fn new() -> Box<Allocator> {
            Box::new(Allocator { vtbl: &ALLOCATOR_VTABLE, used: 0, buffer: [0; 64] })
        }

        /// The request ended: its memory is free again.
        pub fn reset(&mut self) {
            self.used = 0;
        }

        pub fn as_raw(&mut self) -> *mut IModuleAllocator {
            (self as *mut Allocator).cast()
        }
    }

    /// What a module's `RegisterModule` registered with [`register`].
    #[repr(C)]
    pub struct Registration {
        vtbl: *const IHttpModuleRegistrationInfo_Vtbl,
        pub factory: *mut IHttpModuleFactory,
        pub request: u32,
        pub post_request: u32,
    }

    unsafe extern "system" fn get_id(_this: *mut IHttpModuleRegistrationInfo) -> HTTP_MODULE_ID {
        0x1d as HTTP_MODULE_ID
    }

    unsafe extern "system" fn set_request_notifications(this: *mut IHttpModuleRegistrationInfo, factory: *mut IHttpModuleFactory, request: u32, post: u32) -> HRESULT {
        // SAFETY: `this` is a Registration (the only object with this vtable).
        let this = unsafe { &mut *this.cast::<Registration>() };
        this.factory = factory;
        this.request = request;
        this.post_request = post;
        0
    }

    /// Calls a module's `RegisterModule` with a fake registration info and server (all of whose
    /// other slots trap) and returns what it registered.
    pub fn register(register_module: unsafe extern "system" fn(u32, *mut IHttpModuleRegistrationInfo, *mut IHttpServer) -> HRESULT) -> Box<Registration> {
        let vtbl = trap_vtable::<IHttpModuleRegistrationInfo_Vtbl>();
        // SAFETY: as in `request`.
        unsafe {
            addr_of_mut!((*vtbl).GetId).write(get_id);
            addr_of_mut!((*vtbl).SetRequestNotifications).write(set_request_notifications);
        }
        let mut info = Box::new(Registration { vtbl, factory: null_mut(), request: 0, post_request: 0 });
        let server = object::<IHttpServer>(trap_vtable::<IHttpServer_Vtbl>().cast());
        // SAFETY: live fake objects, as IIS would pass them.
        let hr = unsafe { register_module(0x000A_0000, (&mut *info as *mut Registration).cast(), server) };
        assert_eq!(hr, 0, "RegisterModule failed");
        assert!(!info.factory.is_null(), "RegisterModule registered no factory");
        info
    }
}
