//! Asynchronous handlers: a handler's future, run with IIS as the executor.
//!
//! How a suspended request travels:
//!
//! 1. An `async fn` handler (the `#[http_module]` impl block turns it into the trait method,
//!    which calls [`start`]) creates its future in the request's memory, in the module object's
//!    [`Task`] slot, and polls it once inside the notification.
//! 2. Ready: its status goes back to IIS. Pending: the notification returns
//!    `RQ_NOTIFICATION_PENDING` and the module stays busy (a nested or later notification for it
//!    is not delivered, see `module::dispatch`), because the future still holds `&mut self`.
//! 3. The future's waker calls `IHttpContext::PostCompletion(0)`, from any thread. IIS then calls
//!    `CHttpModule::OnAsyncCompletion` on one of its threads, which polls the future again
//!    ([`Task::resume`]); its final status completes the notification.
//!
//! The waker is the one heap allocation of a suspended request: it may outlive the request (a
//! timer thread keeps it), so it holds the context pointer, which the task's end clears (after
//! waiting for any wake still inside `PostCompletion` on another thread); a late `wake` then does
//! nothing. A wake that arrives while the future is being polled
//! (or before the notification has returned `PENDING`) does not post a completion: the poll
//! loop sees it and polls again, so `OnAsyncCompletion` never races the notification that
//! suspended.

use core::future::Future;
use core::pin::Pin;
use core::ptr::NonNull;
use core::sync::atomic::{AtomicU8, Ordering};
use core::task::{Context, Poll, Waker};
use std::sync::{Arc, Mutex};
use std::task::Wake;

use httpserv_sys::*;

use crate::outcome::IntoNotificationStatus;
use crate::{HttpContext, NotificationStatus};

/// An async handler: for every lifetime `'a`, a function of the module and the context that
/// returns a future borrowing them for `'a`. `async fn on_x(&mut self, context: &HttpContext<'_>)`
/// methods are such functions. The future's output is what a sync handler may return (a
/// [`NotificationStatus`] or a `Result`, see [`IntoNotificationStatus`]).
pub trait AsyncHandler<'a, M: 'a> {
    /// What the handler's future finishes with.
    type Output: IntoNotificationStatus;
    /// The handler's future.
    type Future: Future<Output = Self::Output> + 'a;
    /// Calls the handler.
    fn call(self, module: &'a mut M, context: &'a HttpContext<'a>) -> Self::Future;
}

impl<'a, M: 'a, F, Fut> AsyncHandler<'a, M> for F
where
    F: FnOnce(&'a mut M, &'a HttpContext<'a>) -> Fut,
    Fut: Future + 'a,
    Fut::Output: IntoNotificationStatus,
{
    type Output = Fut::Output;
    type Future = Fut;
    fn call(self, module: &'a mut M, context: &'a HttpContext<'a>) -> Fut {
        self(module, context)
    }
}

/// The future being polled.
const POLLING: u8 = 0;
/// Woken while being polled: poll again before suspending.
const WOKEN: u8 = 1;
/// The notification returned (or is returning) `PENDING`; the next wake posts a completion.
const SUSPENDED: u8 = 2;
/// A completion was posted; `OnAsyncCompletion` will poll.
const POSTED: u8 = 3;

/// What a waker shares with its task.
pub(crate) struct WakeState {
    state: AtomicU8,
    /// The request's context, or null once the task is gone (the request ended or the future
    /// finished): a late wake must not touch it.
    context: core::sync::atomic::AtomicPtr<IHttpContext>,
    /// Wakes inside `PostCompletion` right now: `finish` waits for them to leave before the
    /// context can go away (unless it runs inside one of them, on the same thread).
    posters: core::sync::atomic::AtomicUsize,
    /// The task's asynchronous read, write or flush, if one is in flight (IIS allows one).
    pub(crate) io: Mutex<Io>,
    /// Set when IIS reports the client gone (`IHttpConnectionStoredContext::NotifyDisconnect`).
    pub(crate) disconnected: core::sync::atomic::AtomicBool,
}

/// The one asynchronous operation IIS lets a request have outstanding.
#[derive(Default)]
pub(crate) enum Io {
    /// None in flight.
    #[default]
    Idle,
    /// Issued, completion pending: the next `OnAsyncCompletion` is its. A buffer whose future
    /// was dropped meanwhile is kept here, since IIS may still write into it or read from it.
    Waiting { orphan: Option<Vec<u8>> },
    /// Completed with (bytes, HRESULT), not yet taken by its future.
    Done(u32, i32),
}

thread_local! {
    /// The waker state whose `PostCompletion` this thread is inside, if any.
    static POSTING: core::cell::Cell<*const WakeState> = const { core::cell::Cell::new(core::ptr::null()) };
}

impl Wake for WakeState {
    fn wake(self: Arc<Self>) {
        self.wake_by_ref();
    }

    fn wake_by_ref(self: &Arc<Self>) {
        // While an operation is in flight its completion resumes the task: posting another
        // completion would be taken for it.
        if matches!(*self.io.lock().unwrap_or_else(|p| p.into_inner()), Io::Waiting { .. }) {
            return;
        }
        let mut state = self.state.load(Ordering::Acquire);
        loop {
            let next = match state {
                POLLING => WOKEN,
                SUSPENDED => POSTED,
                _ => return,
            };
            match self.state.compare_exchange(state, next, Ordering::AcqRel, Ordering::Acquire) {
                Ok(_) if next == POSTED => break,
                Ok(_) => return,
                Err(now) => state = now,
            }
        }
        // Announce the post before reading the context; `finish` nulls it, then waits for the
        // announced posts (both SeqCst: one of the two sees the other).
        self.posters.fetch_add(1, Ordering::SeqCst);
        let context = self.context.load(Ordering::SeqCst);
        if !context.is_null() {
            let previous = POSTING.with(|p| p.replace(Arc::as_ptr(self)));
            // SAFETY: non-null after the announcement means `finish` has not returned, and it
            // waits for this post before the request can end. IIS lets any thread post a
            // completion (IHttpContext::PostCompletion); 0 bytes: this one carries no I/O.
            unsafe { ((*(*context).lpVtbl).PostCompletion)(context, 0) };
            POSTING.with(|p| p.set(previous));
        }
        self.posters.fetch_sub(1, Ordering::SeqCst);
    }
}

/// The module object's slot for a suspended handler. Lives in the module object (request
/// memory, never moved) from `GetHttpModule` to `Dispose`.
pub(crate) struct Task {
    /// The context the future borrows; here so that the borrow outlives the notification.
    context: Option<HttpContext<'static>>,
    /// The future, in request memory; `None` when no handler is suspended.
    future: Option<NonNull<dyn Future<Output = NotificationStatus>>>,
    waker: Option<Arc<WakeState>>,
    /// The waker state of a finished future whose operation is still in flight: it keeps the
    /// operation's buffer until the request ends (IIS may still read or write it).
    inflight: Option<Arc<WakeState>>,
}

impl Task {
    pub(crate) const fn new() -> Self {
        Self { context: None, future: None, waker: None, inflight: None }
    }

    /// The request is over (Dispose): IIS has finished every operation, so a buffer kept for
    /// one can go.
    pub(crate) fn request_ended(&mut self) {
        self.inflight = None;
    }

    /// A handler's future is alive (the module stays busy).
    pub(crate) fn is_alive(&self) -> bool {
        self.future.is_some()
    }

    /// Polls until the future finishes or suspends with no wake pending. `completion` is what
    /// `OnAsyncCompletion` got (null on the first poll): when an operation is in flight, this is
    /// its completion.
    ///
    /// # Safety
    /// The task is alive, the caller holds the module's busy flag, and `completion` is null or
    /// live.
    pub(crate) unsafe fn resume(&mut self, completion: *mut IHttpCompletionInfo) -> Poll<NotificationStatus> {
        let (Some(future), Some(state)) = (self.future, self.waker.clone()) else { return Poll::Ready(NotificationStatus::Continue) };
        {
            let mut io = state.io.lock().unwrap_or_else(|p| p.into_inner());
            if matches!(*io, Io::Waiting { .. }) && !completion.is_null() {
                // SAFETY: IIS's live completion info of this OnAsyncCompletion.
                let (bytes, hr) = unsafe { (((*(*completion).lpVtbl).GetCompletionBytes)(completion), ((*(*completion).lpVtbl).GetCompletionStatus)(completion)) };
                // An orphaned buffer is released here: IIS is done with it.
                *io = Io::Done(bytes, hr);
            }
        }
        let waker = Waker::from(state.clone());
        let mut cx = Context::from_waker(&waker);
        let _polling = Polling::enter(&state);
        loop {
            state.state.store(POLLING, Ordering::Release);
            // SAFETY: the future lives in request memory that never moves until `finish`, and
            // only the busy holder polls it.
            let poll = unsafe { Pin::new_unchecked(&mut *future.as_ptr()) }.poll(&mut cx);
            match poll {
                Poll::Ready(status) => {
                    // SAFETY: alive, polled to completion; dropped once, here.
                    unsafe { self.finish() };
                    return Poll::Ready(status);
                }
                Poll::Pending => {
                    if state.state.compare_exchange(POLLING, SUSPENDED, Ordering::AcqRel, Ordering::Acquire).is_ok() {
                        return Poll::Pending;
                    }
                    // Woken while polling: poll again rather than post a completion.
                }
            }
        }
    }

    /// Drops the future (if any) and detaches the waker from the request. A panic in the
    /// future's `Drop` propagates to the caller (inside its `catch`).
    ///
    /// # Safety
    /// The caller holds the module's busy flag (or the module is being disposed).
    pub(crate) unsafe fn finish(&mut self) {
        if let Some(state) = self.waker.take() {
            state.context.store(core::ptr::null_mut(), Ordering::SeqCst);
            // A wake still inside PostCompletion on another thread keeps the request alive
            // until it returns; one up this thread's stack (IIS completing inside the post) is
            // not waited for.
            let posts_here = POSTING.with(|p| core::ptr::eq(p.get(), Arc::as_ptr(&state))) as usize;
            while state.posters.load(Ordering::SeqCst) > posts_here {
                std::thread::yield_now();
            }
            if matches!(*state.io.lock().unwrap_or_else(|p| p.into_inner()), Io::Waiting { .. }) {
                self.inflight = Some(state);
            }
        }
        if let Some(future) = self.future.take() {
            // SAFETY: the future was written in `start` and not dropped since; its memory is
            // the request's, which IIS frees itself.
            unsafe { core::ptr::drop_in_place(future.as_ptr()) };
        }
        self.context = None;
    }
}

thread_local! {
    /// The waker state of the task being polled on this thread, for its I/O futures.
    static POLLED: core::cell::Cell<*const WakeState> = const { core::cell::Cell::new(core::ptr::null()) };
    /// The task slot and module of the handler being dispatched on this thread, for [`start`].
    static FRAME: core::cell::Cell<(*mut Task, *mut ())> = const { core::cell::Cell::new((core::ptr::null_mut(), core::ptr::null_mut())) };
    /// What the last `start` on this thread did, for the dispatcher. Not derivable from the task
    /// slot afterwards: once suspended, another thread's `OnAsyncCompletion` may finish the
    /// future before the notification has returned (bench/tests/early_completion.rs).
    static STARTED: core::cell::Cell<Option<bool>> = const { core::cell::Cell::new(None) };
}

/// Marks the task being polled on this thread, until dropped.
struct Polling {
    previous: *const WakeState,
}

impl Polling {
    fn enter(state: &Arc<WakeState>) -> Self {
        Self { previous: POLLED.with(|p| p.replace(Arc::as_ptr(state))) }
    }
}

impl Drop for Polling {
    fn drop(&mut self) {
        POLLED.with(|p| p.set(self.previous));
    }
}

/// The waker state of the async handler being polled on this thread (for its I/O futures), or
/// `None` outside an async handler's poll.
pub(crate) fn polled() -> Option<Arc<WakeState>> {
    let state = POLLED.with(|p| p.get());
    if state.is_null() {
        return None;
    }
    // SAFETY: POLLED points into an Arc kept alive by the task's `resume` for as long as it is
    // set (the guard is dropped before `resume` returns); the count is raised for the clone.
    unsafe {
        Arc::increment_strong_count(state);
        Some(Arc::from_raw(state))
    }
}

/// Marks the task slot and module of the handler being dispatched, until dropped.
pub(crate) struct Frame {
    previous: (*mut Task, *mut ()),
}

impl Frame {
    pub(crate) fn enter(task: *mut Task, module: *mut ()) -> Self {
        STARTED.with(|s| s.set(None));
        Self { previous: FRAME.with(|f| f.replace((task, module))) }
    }

    /// What the handler's `start` did: `Some(true)` if it left a suspended future.
    pub(crate) fn started(&self) -> Option<bool> {
        STARTED.with(|s| s.take())
    }
}

impl Drop for Frame {
    fn drop(&mut self) {
        FRAME.with(|f| f.set(self.previous));
    }
}

/// Runs an async handler: the body of the trait method `#[http_module]` generates for an
/// `async fn` handler (`name` is the handler, for the trace). The returned status is what the
/// handler finished with (an `Err` reported as by [`super::outcome::finish`]), or (when the
/// future suspends) a placeholder the dispatcher replaces with `RQ_NOTIFICATION_PENDING`.
///
/// # Panics
/// When called other than as the generated body of a handler of `module`.
pub fn start<M: 'static, F>(module: &mut M, context: &HttpContext<'_>, name: &'static str, handler: F) -> NotificationStatus
where
    F: for<'a> AsyncHandler<'a, M>,
{
    let (task, frame_module) = FRAME.with(|f| f.get());
    assert!(
        !task.is_null() && core::ptr::eq(frame_module, (module as *mut M).cast()),
        "httpserv: an async handler's body ran outside its own notification"
    );
    // SAFETY: the dispatcher set FRAME to the task slot of this module object, which lives until
    // Dispose; only this handler (holding the busy flag) touches it now.
    let task = unsafe { &mut *task };
    assert!(!task.is_alive(), "httpserv: a handler started while another of the module's futures is alive");
    // SAFETY: the context handle is valid for the rest of the request, which outlives the task
    // (the task is finished at the latest in Dispose); 'static only erases that bound.
    task.context = Some(unsafe { context.erase() });
    let context: &'static HttpContext<'static> = {
        let stored = task.context.as_ref().expect("just set");
        // SAFETY: `task.context` is not changed or dropped until `finish`, which drops the
        // future (the only borrower) first; on the failure path below the future is dropped
        // before `task.context` is cleared.
        unsafe { &*(stored as *const HttpContext<'static>) }
    };
    // SAFETY: the module lives in the module object until Dispose, after the task is finished;
    // while the future is alive the module is busy, so this is the only access to it. The
    // handler is generic over 'a, so it cannot rely on 'static.
    let module: &'static mut M = unsafe { &mut *(module as *mut M) };
    // The handler's output becomes the notification's status here, inside the future, where
    // the context is still borrowed: an `Err` is reported before the future finishes.
    let called = handler.call(module, context);
    let future = async move {
        let output = called.await;
        super::outcome::finish(context, name, output)
    };
    let Some(slot) = place(context, future) else {
        if let Some(trace) = context.trace() {
            let _ = trace.quick_trace("httpserv: no request memory for an async handler's future", None, crate::E_FAIL, crate::TraceLevel::Error);
        }
        let response = context.response();
        response.clear();
        let _ = response.set_status(500, "Internal Server Error");
        task.context = None;
        STARTED.with(|s| s.set(Some(false)));
        return NotificationStatus::FinishRequest;
    };
    let future: *mut (dyn Future<Output = NotificationStatus> + 'static) = slot;
    task.future = NonNull::new(future);
    let state = Arc::new(WakeState {
        state: AtomicU8::new(POLLING),
        context: core::sync::atomic::AtomicPtr::new(context.as_raw()),
        posters: core::sync::atomic::AtomicUsize::new(0),
        io: Mutex::new(Io::Idle),
        disconnected: core::sync::atomic::AtomicBool::new(false),
    });
    super::disconnect::watch(context, &state);
    task.waker = Some(state);
    // SAFETY: alive, and the dispatcher holds the busy flag; no completion yet.
    match unsafe { task.resume(core::ptr::null_mut()) } {
        Poll::Ready(status) => {
            STARTED.with(|s| s.set(Some(false)));
            status
        }
        Poll::Pending => {
            STARTED.with(|s| s.set(Some(true)));
            NotificationStatus::Continue
        }
    }
}

/// Moves `future` into request memory, which lives until the request's modules are disposed
/// (the module object itself is in the same pool), so the future outlives every poll and its
/// drop in Dispose. `None` (the future dropped unpolled) if IIS has no memory for it.
fn place<T: Future<Output = NotificationStatus> + 'static>(context: &HttpContext<'_>, future: T) -> Option<*mut T> {
    let size = core::mem::size_of::<T>() + core::mem::align_of::<T>();
    let memory = context.allocate_request_memory(size).ok()?.as_mut_ptr();
    let slot = memory.wrapping_add(memory.align_offset(core::mem::align_of::<T>())).cast::<T>();
    // SAFETY: `slot` is aligned and has room for a `T` within `size`.
    unsafe { slot.write(future) };
    Some(slot)
}
