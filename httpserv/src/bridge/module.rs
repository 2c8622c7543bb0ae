//! `CHttpModule` and `IHttpModuleFactory` for a user's `HttpModule`.

use core::marker::PhantomData;
use core::mem::{align_of, size_of};
use core::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;

use httpserv_sys::*;

use super::panic::{catch, fail_request, trace_raw};
use super::registration::{Current, Registration};
use super::task::{Frame, FrameSlot, Started, Step, Task};
use crate::module::{request_notifications, HttpModule};
use crate::providers::*;
use crate::HttpContext;

/// The request and post-request masks of a module type, derived by `#[http_module]` from the
/// handlers its `impl HttpModule` block defines.
#[diagnostic::on_unimplemented(
    message = "`{Self}` has no `#[http_module] impl HttpModule for {Self}` block",
    label = "no `#[http_module] impl HttpModule` for this type",
    note = "implement `HttpModule` for `{Self}` and put `#[http_module]` on that impl block: it registers the handlers the block defines"
)]
pub trait Handlers {
    /// The `RQ_*` bits of the notifications (`dwRequestNotifications` of
    /// `IHttpModuleRegistrationInfo::SetRequestNotifications`).
    const REQUEST: u32;
    /// The `RQ_*` bits of the post-notifications (`dwPostRequestNotifications`).
    const POST_REQUEST: u32;
}

/// The per-request object IIS sees as a `CHttpModule`: the vtable pointer first, as C++ lays
/// it out, then what the thunks need.
#[repr(C)]
pub struct ModuleObject<M> {
    vtbl: *const CHttpModule_Vtbl,
    /// The registration whose factory created this object (its server, module id and state).
    registration: Arc<Registration>,
    /// Set while a handler holds `&mut` to `module`: see [`dispatch`]. A suspended async
    /// handler keeps it set until its future finishes.
    busy: AtomicBool,
    /// Held ([`PollerLock`]) by the thread that runs a handler of this object or polls its task,
    /// until it lets go of the task: an `OnAsyncCompletion` that IIS runs on another thread for
    /// an operation the poll has just issued, before that poll has suspended (the case the
    /// ASP.NET Core Module takes a lock for in its `OnAsyncCompletion`), waits for it instead
    /// of polling the same future at once on a second thread. An atomic flag, waited for with
    /// `yield_now` (the wait lasts until the poll under way suspends): a `Mutex` would give the
    /// module object a different size on each platform, which the DLL door's transcripts show.
    poller: AtomicBool,
    /// The bytes reserved for a future right after this object (see `task::FrameSlot`).
    room_len: u32,
    /// The future of a suspended async handler (see `bridge/task.rs`).
    task: Task,
    module: M,
}

struct VtableOf<M>(PhantomData<M>);

/// How many nested poller locks a thread remembers (module objects of one request whose
/// handlers run nested: IIS's synchronous notifications raised from inside a handler).
const HELD_MAX: usize = 16;

thread_local! {
    /// The poller locks this thread holds, outermost first, and how many: to tell a completion
    /// that IIS delivers on the poller's own thread, inside the call that issued the operation.
    /// A fixed array: taking a lock allocates nothing.
    static HELD: core::cell::RefCell<([usize; HELD_MAX], usize)> = const { core::cell::RefCell::new(([0; HELD_MAX], 0)) };
}

/// A module object's [`ModuleObject::poller`] lock, held until dropped.
struct PollerLock<'a>(&'a AtomicBool);

impl<'a> PollerLock<'a> {
    /// Waits for the lock; `None` if this thread holds it already (a completion delivered
    /// inside the poll that issued the operation: polling again there would alias the future
    /// being polled up the stack).
    fn acquire(flag: &'a AtomicBool) -> Option<Self> {
        let key = flag as *const AtomicBool as usize;
        if HELD.with(|h| {
            let (held, depth) = &*h.borrow();
            held[..*depth].contains(&key)
        }) {
            return None;
        }
        while flag.compare_exchange_weak(false, true, Ordering::Acquire, Ordering::Relaxed).is_err() {
            std::thread::yield_now();
        }
        HELD.with(|h| {
            let (held, depth) = &mut *h.borrow_mut();
            // Deeper nesting is not remembered (a reentrant completion there would wait).
            if *depth < HELD_MAX {
                held[*depth] = key;
            }
            *depth += 1;
        });
        Some(Self(flag))
    }
}

impl Drop for PollerLock<'_> {
    fn drop(&mut self) {
        // Locks are released innermost first (each is a guard of one stack frame).
        HELD.with(|h| {
            let (_, depth) = &mut *h.borrow_mut();
            *depth = depth.saturating_sub(1);
        });
        self.0.store(false, Ordering::Release);
    }
}

/// Runs one handler of the module behind `this`.
///
/// **Reentrancy.** IIS raises some notifications synchronously from inside a call a handler
/// makes: `MapPath` raises `RQ_MAP_PATH`, `ReadEntityBody` raises `RQ_READ_ENTITY`, `Flush` (and
/// unbuffered writes) raise `RQ_SEND_RESPONSE`, `NotifyCustomNotification` raises
/// `RQ_CUSTOM_NOTIFICATION`, on the same module object whose handler is still running and holds
/// `&mut self`. Delivering it would alias that `&mut`. So a module object is *busy* while one of
/// its handlers runs, and a notification that arrives for a busy module is not delivered to it:
/// IIS gets `RQ_NOTIFICATION_CONTINUE` (the pipeline goes on, other modules see the
/// notification as usual) and the skip is written to the request's trace. The outer handler
/// sees the effects of the call it made (the mapped path, the bytes read), as it would have
/// without the module's own nested handler. (pyo3 refuses a reentrant `&mut self` borrow at run
/// time the same way.) An asynchronous handler keeps its module busy until its future finishes.
///
/// # Safety
/// `this` is a live `ModuleObject<M>` and `context` the live context of the notification.
unsafe fn dispatch<M: HttpModule>(
    this: *mut CHttpModule,
    context: *mut IHttpContext,
    handler: &str,
    f: impl FnOnce(&mut M, &HttpContext<'_>) -> Option<crate::NotificationStatus>,
) -> REQUEST_NOTIFICATION_STATUS {
    let object = this.cast::<ModuleObject<M>>();
    // SAFETY: the caller's contract; only shared access to the flag and the registration here.
    let (busy, poller, registration) = unsafe { (&(*object).busy, &(*object).poller, &*(*object).registration) };
    if busy.swap(true, Ordering::Acquire) {
        skip_nested(context, handler);
        return RQ_NOTIFICATION_CONTINUE;
    }
    // Not held by this thread: `busy` was clear, so no handler of the object runs up the stack.
    let locked = PollerLock::acquire(poller);
    struct Release<'f>(&'f AtomicBool);
    impl Drop for Release<'_> {
        fn drop(&mut self) {
            self.0.store(false, Ordering::Release);
        }
    }
    let release = Release(busy);
    // SAFETY: the object's Arc keeps the registration alive past the guard.
    let _current = unsafe { Current::enter(registration) };
    // SAFETY: the caller's contract; the task slot and the module are fields of the live object,
    // and its room follows it in the same request memory (`get_http_module`).
    let frame = unsafe {
        Frame::enter(FrameSlot {
            task: core::ptr::addr_of_mut!((*object).task),
            module: core::ptr::addr_of_mut!((*object).module).cast(),
            room: object.cast::<u8>().add(size_of::<ModuleObject<M>>()),
            room_len: (*object).room_len as usize,
        })
    };
    let result = catch(|| {
        // SAFETY: `busy` was clear and is now set by this call: no other reference to the
        // module exists until `release` clears it (a nested notification stops above).
        let module = unsafe { &mut (*object).module };
        // SAFETY: live context for the notification.
        let context = unsafe { HttpContext::from_raw_in(context, registration) }?;
        f(module, &context)
    });
    let started = frame.started();
    drop(frame);
    match result {
        Ok(_) if started != Started::None => {
            // The future holds the module: it stays busy until the future finishes.
            core::mem::forget(release);
            // The task is let go of: its completion may now poll it on another thread.
            drop(locked);
            if started == Started::Yielded {
                // SAFETY: the future yielded; nothing above refers to the task or the module
                // any more (`release` is forgotten, the guards only restore thread-locals).
                return unsafe { post_yield::<M>(object, context) };
            }
            RQ_NOTIFICATION_PENDING
        }
        Ok(status) => status.unwrap_or_default().to_raw(),
        Err(message) => {
            // SAFETY: the busy flag is still held; a future the panic left behind is dropped
            // (the poller lock is still held: an early completion waits).
            abandon_task(unsafe { &mut (*object).task }, context);
            drop(locked);
            fail_request(context, handler, &message)
        }
    }
}

/// Drops a task's future after a panic (a panic in its `Drop` is traced, not propagated).
fn abandon_task(task: &mut Task, context: *mut IHttpContext) {
    // SAFETY: the caller holds the module's busy flag.
    if let Err(message) = catch(|| unsafe { task.finish() }) {
        // SAFETY: `context` is the live context of the notification, or null.
        let trace = unsafe { context.as_mut() }.map_or(core::ptr::null_mut(), |c| {
            // SAFETY: live context and its vtable.
            unsafe { ((*c.lpVtbl).GetTraceContext)(c) }
        });
        trace_raw(trace, &format!("httpserv: dropping an async handler's future panicked: {message}"));
    }
}

/// A notification arrived while the module's own handler is still running: not delivered.
fn skip_nested(context: *mut IHttpContext, handler: &str) {
    // SAFETY: `context` is the live context of the nested notification, or null.
    let trace = unsafe { context.as_mut() }.map_or(core::ptr::null_mut(), |c| {
        // SAFETY: live context and its vtable.
        unsafe { ((*c.lpVtbl).GetTraceContext)(c) }
    });
    trace_raw(trace, &format!("httpserv: {handler} not delivered: the module's own handler is still running (nested notification)"));
}

macro_rules! request_thunks {
    ($($slot:ident, $method:ident, $raw:ident, $provider:ident, $bit:ident, $post:literal;)*) => {
        $(
            member_fn! {
                #[allow(non_snake_case)]
                fn $slot<M: HttpModule>(this: *mut CHttpModule, context: *mut IHttpContext, provider: *mut $raw) -> REQUEST_NOTIFICATION_STATUS {
                    // SAFETY: IIS calls this slot on the ModuleObject<M> our factory created,
                    // with the live context and provider of the notification.
                    unsafe {
                        dispatch::<M>(this, context, concat!("HttpModule::", stringify!($method)), |module, context| {
                            let provider = $provider::from_raw(provider)?;
                            Some(module.$method(context, &provider))
                        })
                    }
                }
            }
        )*

        impl<M: HttpModule> VtableOf<M> {
            const VTABLE: CHttpModule_Vtbl = CHttpModule_Vtbl {
                $($slot: $slot::<M>,)*
                OnAsyncCompletion: on_async_completion::<M>,
                Dispose: dispose::<M>,
                Destructor: destructor::<M>,
            };
        }
    };
}

request_notifications!(request_thunks);

member_fn! {
    fn on_async_completion<M: HttpModule>(
        this: *mut CHttpModule,
        context: *mut IHttpContext,
        notification: u32,
        post_notification: windows_sys::core::BOOL,
        provider: *mut IHttpEventProvider,
        completion: *mut IHttpCompletionInfo,
    ) -> REQUEST_NOTIFICATION_STATUS {
        let object = this.cast::<ModuleObject<M>>();
        // SAFETY: IIS calls this slot on the ModuleObject<M> our factory created.
        let Some(locked) = PollerLock::acquire(unsafe { &(*object).poller }) else {
            // Delivered inside the call that issued the operation, on the thread polling the
            // task: not deliverable without polling the future reentrantly. IIS reports such a
            // completion through the call itself (its `pfCompletionPending` is then FALSE), so
            // this is not expected; the request stays pending rather than alias the future.
            skip_nested(context, "HttpModule::on_async_completion");
            return RQ_NOTIFICATION_PENDING;
        };
        // SAFETY: the object is live; the poller lock orders this read after the last poll's
        // writes to the task.
        if unsafe { (*object).task.is_alive() } {
            // SAFETY: the object is live; its suspended task holds the busy flag, the lock
            // this thread holds.
            return unsafe { resume::<M>(object, context, completion, locked) };
        }
        drop(locked);
        // SAFETY: as for the other slots.
        unsafe {
            dispatch::<M>(this, context, "HttpModule::on_async_completion", |module, context| {
                let provider = EventProvider::from_raw(provider)?;
                let completion = CompletionInfo::from_raw(completion)?;
                Some(module.on_async_completion(context, notification, post_notification != 0, &provider, &completion))
            })
        }
    }
}

/// `OnAsyncCompletion` for a suspended async handler: polls its future again.
///
/// # Safety
/// `object` is a live `ModuleObject<M>` whose task is alive (so its busy flag is held for it);
/// `completion` is null or IIS's live completion info.
unsafe fn resume<M: HttpModule>(object: *mut ModuleObject<M>, context: *mut IHttpContext, completion: *mut IHttpCompletionInfo, locked: PollerLock<'_>) -> REQUEST_NOTIFICATION_STATUS {
    // SAFETY: the caller's contract.
    match unsafe { poll_task(object, context, completion, locked) } {
        Some(status) => status,
        // SAFETY: the future yielded; `poll_task` has let go of the object.
        None => unsafe { post_yield(object, context) },
    }
}

/// Polls a suspended task once (see [`resume`]): the status for IIS, or `None` when the future
/// yielded ([`crate::bridge::task::yield_now`]) and the caller must post its completion.
///
/// # Safety
/// As for [`resume`]; `locked` is the object's poller lock, released once the task is let go
/// of (before the busy flag).
unsafe fn poll_task<M: HttpModule>(object: *mut ModuleObject<M>, context: *mut IHttpContext, completion: *mut IHttpCompletionInfo, locked: PollerLock<'_>) -> Option<REQUEST_NOTIFICATION_STATUS> {
    // SAFETY: the caller's contract.
    let (busy, registration, task) = unsafe { (&(*object).busy, &*(*object).registration, core::ptr::addr_of_mut!((*object).task)) };
    // SAFETY: the object's Arc keeps the registration alive past the guard.
    let _current = unsafe { Current::enter(registration) };
    // SAFETY: the task is alive and its busy flag held (the caller's contract); `completion`
    // is IIS's live completion info. After Pending or Yielded, `task` and `busy` are not used.
    let polled = catch(|| unsafe { Task::resume(task, completion) });
    if let Err(message) = &polled {
        // SAFETY: the poll panicked before suspending: the task is still this thread's.
        abandon_task(unsafe { &mut *task }, context);
        drop(locked);
        busy.store(false, Ordering::Release);
        return Some(fail_request(context, "an async handler (resumed in OnAsyncCompletion)", message));
    }
    drop(locked);
    match polled {
        Ok(Step::Pending) => Some(RQ_NOTIFICATION_PENDING),
        Ok(Step::Yielded) => None,
        Ok(Step::Ready(status)) => {
            busy.store(false, Ordering::Release);
            Some(status.to_raw())
        }
        Err(_) => unreachable!("handled above"),
    }
}

/// Completes a yield ([`crate::bridge::task::yield_now`]): posts the completion that resumes
/// the task in `OnAsyncCompletion`, and returns `PENDING`. This is the notification's last act,
/// as in a C++ module that calls `PostCompletion` and returns `RQ_NOTIFICATION_PENDING`: IIS may
/// run `OnAsyncCompletion` on another thread before this returns (ANCM holds a lock across its
/// notification for that); nothing here touches the module object after the post. Should IIS
/// refuse the post, no completion will come and this thread still owns the task: it polls again.
///
/// # Safety
/// `object`'s task just yielded (its state is `POSTED`: no wake posts) and the caller holds no
/// reference into the object; `context` is the live context of the notification.
unsafe fn post_yield<M: HttpModule>(object: *mut ModuleObject<M>, context: *mut IHttpContext) -> REQUEST_NOTIFICATION_STATUS {
    loop {
        // SAFETY: the request is pending on this task, so its context is live; IIS lets a
        // module post a completion from any thread (IHttpContext::PostCompletion,
        // https://learn.microsoft.com/en-us/iis/web-development-reference/native-code-api-reference/ihttpcontext-postcompletion-method).
        let hr = unsafe { ((*(*context).lpVtbl).PostCompletion)(context, 0) };
        if hr >= 0 {
            return RQ_NOTIFICATION_PENDING;
        }
        // No completion was posted, so the task is still this thread's: the lock is free.
        // SAFETY: the object is live.
        let Some(locked) = PollerLock::acquire(unsafe { &(*object).poller }) else {
            // Not reached: post_yield runs after its caller let go of the lock. Left pending
            // rather than polled reentrantly.
            return RQ_NOTIFICATION_PENDING;
        };
        // SAFETY: no completion was posted, so the task is still this thread's, alive, busy.
        if let Some(status) = unsafe { poll_task(object, context, core::ptr::null_mut(), locked) } {
            return status;
        }
    }
}

/// Drops the module of `this` in place; the memory is the request's (`IModuleAllocator`), which
/// IIS frees itself. A panicking `Drop` is reported to the server's trace: the response is gone.
///
/// # Safety
/// `this` is a live `ModuleObject<M>` whose module is dropped only here, once.
unsafe fn drop_module<M: HttpModule>(this: *mut CHttpModule, slot: &str) {
    let object = this.cast::<ModuleObject<M>>();
    // SAFETY: the caller's contract: the object is live; the registration is moved out and
    // the module dropped exactly once, here.
    let registration = unsafe { core::ptr::read(&(*object).registration) };
    let dropped = {
        // SAFETY: `registration` lives until the end of this function.
        let _current = unsafe { Current::enter(&*registration) };
        // A future still suspended when the request ends is dropped first: it borrows the
        // module. Its waker stops posting completions.
        // SAFETY: the caller's contract: the module is live and disposed once, here.
        catch(|| unsafe {
            (*object).task.finish();
            (*object).task.request_ended();
        })
        .and_then(|()| {
            // SAFETY: as above; the future that borrowed it is gone.
            catch(|| unsafe { core::ptr::drop_in_place(&mut (*object).module) })
        })
    };
    if let Err(message) = dropped {
        trace_raw(server_trace(&registration), &format!("httpserv: dropping the module in {slot} panicked: {message}"));
    }
}

/// The server's trace context of a registration (null if IIS has none).
pub(crate) fn server_trace(registration: &Registration) -> *mut IHttpTraceContext {
    let server = registration.server_raw();
    // SAFETY: the registration's server is live while any object of the registration is.
    unsafe { ((*(*server).lpVtbl).GetTraceContext)(server) }
}

member_fn! {
    /// IIS is done with the module: drop it in place. The memory is the request's
    /// (`IModuleAllocator`), which IIS frees itself.
    fn dispose<M: HttpModule>(this: *mut CHttpModule) {
        // SAFETY: IIS disposes each module object once, after its last notification.
        unsafe { drop_module::<M>(this, "Dispose") }
    }
}

member_fn! {
    /// The scalar deleting destructor: IIS never calls it on modules (it is protected in
    /// C++), but the slot must be valid. Drops like `Dispose`; the memory is not ours to free.
    fn destructor<M: HttpModule>(this: *mut CHttpModule, _flags: u32) -> *mut core::ffi::c_void {
        // SAFETY: as in `dispose`: called at most once instead of it.
        unsafe { drop_module::<M>(this, "the destructor") };
        this.cast()
    }
}

/// The `IHttpModuleFactory` registered for `M`.
#[repr(C)]
pub struct Factory<M> {
    vtbl: *const IHttpModuleFactory_Vtbl,
    registration: Arc<Registration>,
    _module: PhantomData<fn() -> M>,
}

struct FactoryVtableOf<M>(PhantomData<M>);

impl<M: HttpModule + Default> FactoryVtableOf<M> {
    const VTABLE: IHttpModuleFactory_Vtbl = IHttpModuleFactory_Vtbl { GetHttpModule: get_http_module::<M>, Terminate: terminate::<M> };
}

impl<M: HttpModule + Default> Factory<M> {
    /// A factory on the heap, owned by IIS until `Terminate`.
    pub(crate) fn new(registration: Arc<Registration>) -> *mut IHttpModuleFactory {
        Box::into_raw(Box::new(Factory::<M> { vtbl: &FactoryVtableOf::<M>::VTABLE, registration, _module: PhantomData })).cast()
    }

    /// # Safety
    /// `factory` came from `new` and IIS did not take it.
    pub(crate) unsafe fn free(factory: *mut IHttpModuleFactory) {
        // SAFETY: the caller's contract.
        drop(unsafe { Box::from_raw(factory.cast::<Factory<M>>()) });
    }
}

const E_OUTOFMEMORY: i32 = 0x8007_000E_u32 as i32;
const E_UNEXPECTED: i32 = 0x8000_FFFF_u32 as i32;

member_fn! {
    /// One module per request, in the request's memory: no heap allocation.
    fn get_http_module<M: HttpModule + Default>(this: *mut IHttpModuleFactory, module: *mut *mut CHttpModule, allocator: *mut IModuleAllocator) -> windows_sys::core::HRESULT {
        // SAFETY: IIS calls this on the Factory<M> it was given.
        let registration = unsafe { &(*this.cast::<Factory<M>>()).registration };
        // SAFETY: the factory keeps the registration alive past the guard.
        let _current = unsafe { Current::enter(&**registration) };
        let result = catch(|| {
            // Over-allocate so the object can be aligned whatever IIS's allocator returns, and
            // leave room after it for an async handler's future (bridge/task.rs `start`).
            let room = registration.future_room().load(Ordering::Relaxed).min(super::task::MAX_ROOM);
            let size = size_of::<ModuleObject<M>>() + align_of::<ModuleObject<M>>() - 1 + room;
            let size = u32::try_from(size).ok()?;
            // SAFETY: IIS passes a live allocator for this request.
            let raw = unsafe { ((*(*allocator).lpVtbl).AllocateMemory)(allocator, size) }.cast::<u8>();
            if raw.is_null() {
                return None;
            }
            let object = raw.wrapping_add(raw.align_offset(align_of::<ModuleObject<M>>())).cast::<ModuleObject<M>>();
            // The bytes after the object: at least `room` (the alignment took at most align - 1
            // of the slack), at most MAX_ROOM + align - 1.
            let after = object as usize + size_of::<ModuleObject<M>>();
            let room_len = (raw as usize + size as usize - after) as u32;
            let module = M::default();
            // SAFETY: `object` is aligned and has room for a ModuleObject<M> within `size`, and
            // `room_len` bytes after it, request memory for nothing else.
            unsafe {
                object.write(ModuleObject { vtbl: &VtableOf::<M>::VTABLE, registration: registration.clone(), busy: AtomicBool::new(false), poller: AtomicBool::new(false), room_len, task: Task::new(), module })
            };
            Some(object)
        });
        match result {
            Ok(Some(object)) => {
                // SAFETY: IIS passes a valid out pointer.
                unsafe { *module = object.cast() };
                0
            }
            Ok(None) => E_OUTOFMEMORY,
            Err(message) => {
                trace_raw(server_trace(registration), &format!("httpserv: creating the module (Default) in GetHttpModule panicked: {message}"));
                E_UNEXPECTED
            }
        }
    }
}

member_fn! {
    fn terminate<M: HttpModule + Default>(this: *mut IHttpModuleFactory) {
        // SAFETY: IIS terminates the factory it was given once, at shutdown.
        let _ = catch(|| unsafe { Factory::<M>::free(this) });
    }
}
