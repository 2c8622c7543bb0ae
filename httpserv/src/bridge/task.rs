//! Asynchronous handlers: a handler's future, run with IIS as the executor.
//!
//! How a suspended request travels:
//!
//! 1. An `async fn` handler (the `#[http_module]` impl block turns it into the trait method,
//!    which calls [`start`]) creates its future in the request's memory (room reserved after the
//!    module object, sized from the futures seen so far, or else `AllocateRequestMemory`),
//!    records it in the module object's [`Task`] slot, and polls it once inside the
//!    notification.
//! 2. Ready: its status goes back to IIS. Pending: the notification returns
//!    `RQ_NOTIFICATION_PENDING` and the module stays busy (a nested or later notification for it
//!    is not delivered, see `module::dispatch`), because the future still holds `&mut self`.
//! 3. The future's waker calls `IHttpContext::PostCompletion(0)`, from any thread. IIS then calls
//!    `CHttpModule::OnAsyncCompletion` on one of its threads, which polls the future again
//!    ([`Task::resume`]); its final status completes the notification.
//!
//! The waker is the one heap allocation of a suspended request (none when the thread has a
//! spare one: a finished task's waker state that nothing else refers to is kept for the
//! thread's next task): it may outlive the request (a timer thread keeps it), so it holds the
//! context pointer, which the task's end clears (after
//! waiting for any wake still inside `PostCompletion` on another thread); a late `wake` then does
//! nothing. A wake that arrives while the future is being polled
//! (or before the notification has returned `PENDING`) does not post a completion: the poll
//! loop sees it and polls again, so `OnAsyncCompletion` never races the notification that
//! suspended.
//!
//! An operation whose future was dropped while IIS still runs it (a `select!`, a race) stays
//! the request's one operation until IIS completes it: a later operation of the task waits for
//! it, and a future that finishes meanwhile keeps its notification pending until that
//! completion (`Task::held`), so that no other operation is issued beside it or takes its
//! completion. A completion IIS delivers on another thread before the poll that issued the
//! operation has suspended waits for that poll (the poller lock, `module.rs`).
//!
//! [`yield_now`] is the exception: it asks for the round trip itself (give the IIS thread back,
//! be resumed on one of IIS's threads). The poll then ends with [`Step::Yielded`], the state is
//! already `POSTED` (no other wake can post), and the dispatcher calls `PostCompletion` as the
//! last thing before it returns `PENDING`, once nothing on its stack refers to the task or the
//! module any more: an `OnAsyncCompletion` that IIS runs at once on another thread (before the
//! notification has returned, the case ANCM takes a lock for) finds them free. C++ modules write
//! the same round trip by hand (simulator/modules/suspend_cpp.cpp).
//!
//! Costs per round trip are kept to what the round trip needs: the waker is a `RawWaker` over the
//! `Arc` the task holds (polling clones nothing), the I/O slot is only locked while an operation
//! is in flight (an atomic flag says so), the future's request memory is not zeroed (it is
//! written at once), and the connection's disconnect watcher is only set up when the future asks
//! about the client (body I/O, `disconnected()`).

use core::ffi::c_void;
use core::future::Future;
use core::mem::ManuallyDrop;
use core::pin::Pin;
use core::ptr::NonNull;
use core::sync::atomic::{AtomicBool, AtomicPtr, AtomicU8, AtomicUsize, Ordering};
use core::task::{Context, Poll, RawWaker, RawWakerVTable, Waker};
use std::sync::{Arc, Mutex};

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
/// Or'ed into the state while an operation is in flight (`Io::Waiting`): its completion resumes
/// the task, so a wake must not post one (it would be taken for the operation's, and the
/// operation's buffer handed back while IIS still uses it). In the same atomic as the state so
/// that a wake cannot see "no operation" and then post after one was issued.
const IO: u8 = 4;

/// What a waker shares with its task.
pub(crate) struct WakeState {
    state: AtomicU8,
    /// The request's context, or null once the task is gone (the request ended or the future
    /// finished): a late wake must not touch it.
    context: AtomicPtr<IHttpContext>,
    /// Wakes inside `PostCompletion` right now: `finish` waits for them to leave before the
    /// context can go away (unless it runs inside one of them, on the same thread).
    posters: AtomicUsize,
    /// The task's asynchronous read, write or flush, if one is in flight (IIS allows one).
    /// Changed only with `io_waiting` kept equal to "is `Io::Waiting`", under the lock.
    pub(crate) io: Mutex<Io>,
    /// Whether `io` is `Io::Waiting`: lets wakes and polls with no operation in flight (the
    /// common case) skip the lock.
    pub(crate) io_waiting: AtomicBool,
    /// Set when IIS reports the client gone (`IHttpConnectionStoredContext::NotifyDisconnect`).
    pub(crate) disconnected: AtomicBool,
    /// The module id (`IHttpModuleRegistrationInfo::GetId`) for the connection's disconnect
    /// watcher, set up on first use ([`WakeState::watch_disconnect`]).
    module_id: AtomicPtr<c_void>,
    /// Whether the watcher was set up for this task.
    watching: AtomicBool,
    /// The chunk array of the task's asynchronous write (see `io::ChunkSlot`).
    pub(crate) chunks: crate::io::ChunkSlot,
}

/// What an operation whose future was dropped leaves in flight, kept until its completion.
pub(crate) enum Orphan {
    /// The buffer IIS reads or writes (`io.rs`).
    #[allow(dead_code)] // held, never read: dropping it is the point
    Buffer(Vec<u8>),
    /// The clone of a child request IIS runs: released (`ReleaseClonedContext`) on drop
    /// (`child.rs`).
    #[allow(dead_code)]
    Clone(crate::child::OwnedClone),
}

/// The one asynchronous operation IIS lets a request have outstanding.
#[derive(Default)]
pub(crate) enum Io {
    /// None in flight.
    #[default]
    Idle,
    /// Issued, completion pending: the next `OnAsyncCompletion` is its. A buffer whose future
    /// was dropped meanwhile is kept here, since IIS may still write into it or read from it.
    Waiting { orphan: Option<Orphan> },
    /// Completed with (bytes, HRESULT), not yet taken by its future.
    Done(u32, i32),
}

thread_local! {
    /// The waker state whose `PostCompletion` this thread is inside, if any.
    static POSTING: core::cell::Cell<*const WakeState> = const { core::cell::Cell::new(core::ptr::null()) };
}

thread_local! {
    /// A waker state of a finished task that nothing else referred to any more, kept for this
    /// thread's next task: a request after the first on a thread then allocates nothing.
    static SPARE: core::cell::Cell<Option<Arc<WakeState>>> = const { core::cell::Cell::new(None) };
}

/// Keeps `state` for reuse if nothing else holds it (no waker clone, no disconnect watcher's
/// `Weak`); else drops this count.
fn recycle(mut state: Arc<WakeState>) {
    let Some(fresh) = Arc::get_mut(&mut state) else { return };
    fresh.reset(core::ptr::null_mut(), core::ptr::null_mut());
    // During thread teardown the spare is simply dropped.
    let _ = SPARE.try_with(|spare| spare.set(Some(state)));
}

impl WakeState {
    /// A waker state for a new task of `context`: this thread's spare one, or a new allocation
    /// (the suspended request's one heap allocation).
    fn take(context: *mut IHttpContext, module_id: HTTP_MODULE_ID) -> Arc<Self> {
        if let Some(mut state) = SPARE.try_with(|spare| spare.take()).ok().flatten() {
            // Unique since `recycle` checked it: nothing could clone or downgrade it since.
            if let Some(fresh) = Arc::get_mut(&mut state) {
                fresh.reset(context, module_id);
                return state;
            }
        }
        Arc::new(WakeState {
            state: AtomicU8::new(POLLING),
            context: AtomicPtr::new(context),
            posters: AtomicUsize::new(0),
            io: Mutex::new(Io::Idle),
            io_waiting: AtomicBool::new(false),
            disconnected: AtomicBool::new(false),
            module_id: AtomicPtr::new(module_id),
            watching: AtomicBool::new(false),
            chunks: crate::io::ChunkSlot::new(),
        })
    }

    /// The waker state of a finished task whose operation is still in flight, for the next task
    /// of the same module object and request (see `Task::inflight`). Its I/O slot, chunk array,
    /// disconnect flag and watch stay as they are: IIS may still use the operation's memory. A
    /// late wake of the old task's wakers then wakes the new task: a spurious wake, harmless.
    fn adopt(self: Arc<Self>, context: *mut IHttpContext) -> Arc<Self> {
        self.context.store(context, Ordering::SeqCst);
        self
    }

    /// Back to a new task's state (exclusive access), keeping the chunk array's capacity.
    fn reset(&mut self, context: *mut IHttpContext, module_id: HTTP_MODULE_ID) {
        *self.state.get_mut() = POLLING;
        *self.context.get_mut() = context;
        *self.posters.get_mut() = 0;
        *self.io.get_mut().unwrap_or_else(|p| p.into_inner()) = Io::Idle;
        *self.io_waiting.get_mut() = false;
        *self.disconnected.get_mut() = false;
        *self.module_id.get_mut() = module_id;
        *self.watching.get_mut() = false;
        self.chunks.clear();
    }

    /// Sets `io` (under its lock, held by the caller) and keeps `io_waiting` equal to it.
    pub(crate) fn set_io(&self, io: &mut Io, next: Io) {
        let waiting = matches!(next, Io::Waiting { .. });
        self.io_waiting.store(waiting, Ordering::Release);
        if waiting {
            self.state.fetch_or(IO, Ordering::AcqRel);
        } else {
            self.state.fetch_and(!IO, Ordering::AcqRel);
        }
        *io = next;
    }

    /// Takes the task's one asynchronous operation (IIS allows one in flight) for a read, write,
    /// flush or child request about to be issued: marked `Waiting` before the call, since IIS may
    /// complete it on another thread at once. `Pending` while an operation whose future was
    /// dropped is still in flight (its completion polls the task again: IO is set);
    /// `ERROR_BUSY` while another is.
    pub(crate) fn claim_io(&self) -> Poll<crate::Result<()>> {
        let mut io = self.io.lock().unwrap_or_else(|p| p.into_inner());
        match &*io {
            Io::Idle => {}
            Io::Waiting { orphan: Some(_) } => return Poll::Pending,
            // HRESULT_FROM_WIN32(ERROR_BUSY).
            _ => return Poll::Ready(Err(crate::Error::from_hresult(crate::HRESULT(0x8007_00AA_u32 as i32)))),
        }
        self.set_io(&mut io, Io::Waiting { orphan: None });
        Poll::Ready(Ok(()))
    }

    /// Sets up the connection's disconnect watcher for this task, once (called by the futures
    /// that ask about the client: body I/O and `disconnected()`, inside the task's poll). A
    /// client already gone then (`IHttpConnection::IsConnected`) marks the task disconnected.
    pub(crate) fn watch_disconnect(self: &Arc<Self>) {
        if self.watching.swap(true, Ordering::Relaxed) {
            return;
        }
        let context = self.context.load(Ordering::Acquire);
        if context.is_null() {
            return;
        }
        // SAFETY: called inside the task's poll, so the task (and its request) is alive.
        let connected = unsafe { super::slot::watch(context, self.module_id.load(Ordering::Relaxed), self) };
        if !connected {
            self.disconnected.store(true, Ordering::Release);
        }
    }

    /// The waker's wake: posts a completion when the task is suspended (see the module docs).
    fn wake_by_ref(&self) {
        let mut state = self.state.load(Ordering::Acquire);
        loop {
            let next = match state {
                POLLING => WOKEN,
                s if s == POLLING | IO => WOKEN | IO,
                SUSPENDED => POSTED,
                // SUSPENDED | IO among them: while an operation is in flight its completion
                // resumes (and polls) the task; posting another would be taken for it.
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
            let previous = POSTING.with(|p| p.replace(self));
            // SAFETY: non-null after the announcement means `finish` has not returned, and it
            // waits for this post before the request can end. IIS lets any thread post a
            // completion (IHttpContext::PostCompletion); 0 bytes: this one carries no I/O.
            unsafe { ((*(*context).lpVtbl).PostCompletion)(context, 0) };
            POSTING.with(|p| p.set(previous));
        }
        self.posters.fetch_sub(1, Ordering::SeqCst);
    }

    /// Wakes the task (for holders of an `Arc`, such as the disconnect watcher).
    pub(crate) fn wake(&self) {
        self.wake_by_ref();
    }
}

/// The task's `Waker`: its data pointer is an `Arc<WakeState>` (`Arc::into_raw`); every clone
/// holds one strong count, as `std::task::Wake`'s wakers do. `Task::resume` lends the task's own
/// `Arc` to the poll without raising the count (see `borrowed_waker`).
static WAKER_VTABLE: RawWakerVTable = RawWakerVTable::new(waker_clone, waker_wake, waker_wake_by_ref, waker_drop);

unsafe fn waker_clone(data: *const ()) -> RawWaker {
    // SAFETY: `data` is a live `Arc<WakeState>` pointer (the waker being cloned holds or
    // borrows a count); the new waker owns the count raised here.
    unsafe { Arc::increment_strong_count(data.cast::<WakeState>()) };
    RawWaker::new(data, &WAKER_VTABLE)
}

unsafe fn waker_wake(data: *const ()) {
    // SAFETY: an owned waker (only clones are woken by value; `borrowed_waker`'s is never
    // dropped or woken by value, it is `ManuallyDrop`): its count is released here.
    let state = unsafe { Arc::from_raw(data.cast::<WakeState>()) };
    state.wake_by_ref();
}

unsafe fn waker_wake_by_ref(data: *const ()) {
    // SAFETY: the waker holds or borrows a count, so the state is alive.
    unsafe { &*data.cast::<WakeState>() }.wake_by_ref();
}

unsafe fn waker_drop(data: *const ()) {
    // SAFETY: an owned waker's count, released once.
    drop(unsafe { Arc::from_raw(data.cast::<WakeState>()) });
}

/// A waker over `state` that borrows the caller's count: never dropped (so no count is released).
///
/// # Safety
/// `state` comes from an `Arc<WakeState>` that stays alive while the returned waker (or a
/// `&Waker` from it) is used; clones made from it own their count.
unsafe fn borrowed_waker(state: *const WakeState) -> ManuallyDrop<Waker> {
    // SAFETY: the vtable's contract holds for `state` (the caller's contract).
    ManuallyDrop::new(unsafe { Waker::from_raw(RawWaker::new(state.cast(), &WAKER_VTABLE)) })
}

/// What a poll of the task left.
pub(crate) enum Step {
    /// The future finished with this status (the task is finished).
    Ready(NotificationStatus),
    /// Suspended: a wake will post the completion.
    Pending,
    /// Suspended by [`yield_now`]: the completion is the caller's to post
    /// ([`post_yield`](crate::bridge::module)) once nothing on its stack refers to the task.
    Yielded,
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
    /// operation's buffer until IIS completes it or the request ends (IIS may still read or
    /// write it), and the next handler's task takes it over (see `start`), so that its I/O
    /// slot still says "in flight".
    inflight: Option<Arc<WakeState>>,
    /// The status of a future that finished while an operation it abandoned was still in
    /// flight: the notification stays pending until IIS completes the operation (in
    /// `OnAsyncCompletion`, which is the notification's), then returns it. Otherwise the next
    /// notification's task would have a fresh I/O slot: its operation would be issued while the
    /// first is in flight (IIS allows one), and the first's completion taken for it, its buffer
    /// handed back to safe code while IIS still wrote into it.
    held: Option<NotificationStatus>,
}

/// The largest room `GetHttpModule` reserves for futures: a bigger future always gets its own
/// request memory, so that one huge future does not grow every request's module object.
pub(crate) const MAX_ROOM: usize = 16 * 1024;

impl Task {
    pub(crate) const fn new() -> Self {
        Self { context: None, future: None, waker: None, inflight: None, held: None }
    }

    /// The request is over (Dispose): IIS has finished every operation, so a buffer kept for
    /// one can go.
    pub(crate) fn request_ended(&mut self) {
        self.inflight = None;
    }

    /// A handler's future is alive, or its status is held for an operation still in flight
    /// (the module stays busy).
    pub(crate) fn is_alive(&self) -> bool {
        self.future.is_some() || self.held.is_some()
    }

    /// Polls until the future finishes or suspends with no wake pending. `completion` is what
    /// `OnAsyncCompletion` got (null on the first poll): when an operation is in flight, this is
    /// its completion.
    ///
    /// # Safety
    /// The task is alive, the caller holds the module's busy flag, and `completion` is null or
    /// live. After `Step::Pending` or `Step::Yielded` the caller must not touch the task again
    /// before the next `OnAsyncCompletion` (another thread may already be running it). A raw
    /// pointer, not `&mut self`: once the state says SUSPENDED another thread may resume the
    /// task while this call is still returning, which a `&mut` argument (live to the end of
    /// the call) would alias.
    pub(crate) unsafe fn resume(this: *mut Task, completion: *mut IHttpCompletionInfo) -> Step {
        // SAFETY: the caller's contract: alive, and only this busy holder accesses it now.
        let (future, waker) = unsafe { ((*this).future, (*this).waker.as_ref().map(Arc::as_ptr)) };
        let Some(state_ptr) = waker else { return Step::Ready(NotificationStatus::Continue) };
        // SAFETY: the task's `waker` keeps the state alive until `finish`, which is the last use
        // of the task below; `state` is not used after it.
        let state = unsafe { &*state_ptr };
        // Polling from here on (keeping IO): a wake from now on makes no post, and this poll
        // serves it; so clearing IO below cannot open a window for a post.
        state.state.fetch_and(IO, Ordering::AcqRel);
        if state.io_waiting.load(Ordering::Acquire) && !completion.is_null() {
            let mut io = state.io.lock().unwrap_or_else(|p| p.into_inner());
            if matches!(*io, Io::Waiting { .. }) {
                // SAFETY: IIS's live completion info of this OnAsyncCompletion.
                let (bytes, hr) = unsafe { (((*(*completion).lpVtbl).GetCompletionBytes)(completion), ((*(*completion).lpVtbl).GetCompletionStatus)(completion)) };
                // An orphaned buffer (or clone) is released here: IIS is done with it. No future
                // waits for an orphan's result, so the slot is free again for the next
                // operation (a `Done` nobody takes would refuse every later one as busy).
                let next = match &*io {
                    Io::Waiting { orphan: Some(_) } => Io::Idle,
                    _ => Io::Done(bytes, hr),
                };
                state.set_io(&mut io, next);
            }
        }
        let Some(future) = future else {
            // The future finished earlier with an abandoned operation in flight (`held`).
            if state.io_waiting.load(Ordering::Acquire) {
                // Not its completion yet (none can be posted meanwhile: IO is set).
                state.state.store(SUSPENDED | IO, Ordering::Release);
                return Step::Pending;
            }
            // SAFETY: alive (held), and this thread has the task to itself.
            let status = unsafe { (*this).held.take() }.unwrap_or(NotificationStatus::Continue);
            // SAFETY: as above; the future is gone already.
            unsafe { (*this).finish() };
            return Step::Ready(status);
        };
        // SAFETY: the task's Arc outlives the poll (see `state`); the waker is not kept, only
        // lent to the future as `&Waker` (clones own their counts).
        let waker = unsafe { borrowed_waker(state_ptr) };
        let mut cx = Context::from_waker(&waker);
        let _polling = Polling::enter(state_ptr);
        loop {
            // Keeps IO: an operation issued in an earlier poll may still be in flight.
            state.state.fetch_and(IO, Ordering::AcqRel);
            YIELDING.with(|y| y.set(false));
            // SAFETY: the future lives in request memory that never moves until `finish`, and
            // only the busy holder polls it.
            let poll = unsafe { Pin::new_unchecked(&mut *future.as_ptr()) }.poll(&mut cx);
            match poll {
                Poll::Ready(status) => {
                    if state.io_waiting.load(Ordering::Acquire) {
                        // An operation the future abandoned (dropped its future) is still in
                        // flight: the notification waits for its completion (see `held`).
                        // SAFETY: alive, polled to completion: this thread has the task to
                        // itself; the future is dropped once, here.
                        unsafe { (*this).drop_future() };
                        // SAFETY: as above.
                        unsafe { (*this).held = Some(status) };
                        // A wake from now on posts nothing (IO); the completion resumes.
                        state.state.store(SUSPENDED | IO, Ordering::Release);
                        return Step::Pending;
                    }
                    // SAFETY: alive, polled to completion (so not suspended: this thread still
                    // has the task to itself); dropped once, here.
                    unsafe { (*this).finish() };
                    return Step::Ready(status);
                }
                Poll::Pending => {
                    // Only this thread changes IO now (operations are issued and completed by
                    // the task's poller), so the bit read here stays as it is.
                    let io = state.state.load(Ordering::Acquire) & IO;
                    if state.state.compare_exchange(POLLING | io, SUSPENDED | io, Ordering::AcqRel, Ordering::Acquire).is_ok() {
                        return Step::Pending;
                    }
                    // WOKEN: woken while polling. By `yield_now`: suspend, the caller posts the
                    // completion (POSTED now, so no other wake posts one), unless an operation
                    // is in flight, whose completion polls the yielded future again instead.
                    // Otherwise poll again rather than post a completion. Only this thread
                    // moves the state out of WOKEN.
                    if YIELDING.with(|y| y.replace(false)) {
                        if io != 0 {
                            state.state.store(SUSPENDED | IO, Ordering::Release);
                            return Step::Pending;
                        }
                        state.state.store(POSTED, Ordering::Release);
                        return Step::Yielded;
                    }
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
        let mut spare = None;
        if let Some(state) = self.waker.take() {
            state.context.store(core::ptr::null_mut(), Ordering::SeqCst);
            // A wake still inside PostCompletion on another thread keeps the request alive
            // until it returns; one up this thread's stack (IIS completing inside the post) is
            // not waited for.
            let posts_here = POSTING.with(|p| core::ptr::eq(p.get(), Arc::as_ptr(&state))) as usize;
            while state.posters.load(Ordering::SeqCst) > posts_here {
                std::thread::yield_now();
            }
            if state.io_waiting.load(Ordering::Acquire) && matches!(*state.io.lock().unwrap_or_else(|p| p.into_inner()), Io::Waiting { .. }) {
                self.inflight = Some(state);
            } else if posts_here == 0 {
                // Not inside one of its own posts (whose frame still uses it): may be reused.
                spare = Some(state);
            }
        }
        self.held = None;
        // SAFETY: the caller's contract.
        unsafe { self.drop_future() };
        if let Some(state) = spare {
            recycle(state);
        }
    }

    /// Drops the future (if any), then forgets the context it borrowed.
    ///
    /// # Safety
    /// The caller holds the module's busy flag (or the module is being disposed), and the future
    /// is not being polled.
    unsafe fn drop_future(&mut self) {
        if let Some(future) = self.future.take() {
            // SAFETY: the future was written in `start` and not dropped since (taken out of the
            // slot first, so a panic in its drop cannot lead to a second one); its memory is
            // the request's, which IIS frees itself.
            unsafe { core::ptr::drop_in_place(future.as_ptr()) };
        }
        self.context = None;
    }
}

thread_local! {
    /// The waker state of the task being polled on this thread, for its I/O futures.
    static POLLED: core::cell::Cell<*const WakeState> = const { core::cell::Cell::new(core::ptr::null()) };
    /// Set by [`yield_now`] during the current poll (reset before each poll).
    static YIELDING: core::cell::Cell<bool> = const { core::cell::Cell::new(false) };
    /// The handler being dispatched on this thread, for [`start`].
    static FRAME: core::cell::Cell<FrameSlot> = const { core::cell::Cell::new(FrameSlot::NONE) };
    /// What the last `start` on this thread did, for the dispatcher. Not derivable from the task
    /// slot afterwards: once suspended, another thread's `OnAsyncCompletion` may finish the
    /// future before the notification has returned (bench/tests/early_completion.rs).
    static STARTED: core::cell::Cell<Started> = const { core::cell::Cell::new(Started::None) };
}

/// What a handler's [`start`] did, for the dispatcher.
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
pub(crate) enum Started {
    /// No async handler ran, or its future finished.
    None,
    /// Its future suspended; a wake posts the completion.
    Suspended,
    /// Its future yielded ([`yield_now`]): the dispatcher posts the completion.
    Yielded,
}

/// Marks the task being polled on this thread, until dropped.
struct Polling {
    previous: *const WakeState,
}

impl Polling {
    fn enter(state: *const WakeState) -> Self {
        Self { previous: POLLED.with(|p| p.replace(state)) }
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

/// What [`start`] needs of the module object whose handler is being dispatched.
#[derive(Clone, Copy)]
pub(crate) struct FrameSlot {
    /// The object's task slot.
    pub(crate) task: *mut Task,
    /// The module (`&mut M` for the handler), to check that `start` is called for it.
    pub(crate) module: *mut (),
    /// Request memory after the module object reserved for a future (`room_len` bytes; only the
    /// object's one alive future uses it, and the request's next one once it is dropped: IIS
    /// never points into a future, I/O buffers and chunk arrays are owned by the waker state).
    pub(crate) room: *mut u8,
    pub(crate) room_len: usize,
}

impl FrameSlot {
    const NONE: Self = Self { task: core::ptr::null_mut(), module: core::ptr::null_mut(), room: core::ptr::null_mut(), room_len: 0 };
}

/// Marks the module object of the handler being dispatched, until dropped.
pub(crate) struct Frame {
    previous: FrameSlot,
}

impl Frame {
    pub(crate) fn enter(slot: FrameSlot) -> Self {
        STARTED.with(|s| s.set(Started::None));
        Self { previous: FRAME.with(|f| f.replace(slot)) }
    }

    /// What the handler's `start` did.
    pub(crate) fn started(&self) -> Started {
        STARTED.with(|s| s.replace(Started::None))
    }
}

impl Drop for Frame {
    fn drop(&mut self) {
        FRAME.with(|f| f.set(self.previous));
    }
}

/// [`yield_now`]'s future.
#[must_use = "futures do nothing unless awaited"]
pub struct YieldNow {
    yielded: bool,
}

impl Future for YieldNow {
    type Output = ();

    fn poll(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<()> {
        if self.yielded {
            return Poll::Ready(());
        }
        self.yielded = true;
        // The wake makes any executor poll again; ours, seeing YIELDING, does it through IIS.
        // (Polled by another executor, or under a combinator with its own waker, the flag has
        // no effect unless that wake reaches our task's waker while it is being polled, which
        // then resumes through IIS: either way the task is polled again.)
        YIELDING.with(|y| y.set(true));
        cx.waker().wake_by_ref();
        Poll::Pending
    }
}

/// Gives the IIS thread back and resumes on one of IIS's threads: the notification returns
/// `RQ_NOTIFICATION_PENDING`, the bridge calls `IHttpContext::PostCompletion(0)`, and IIS
/// polls the handler again in `CHttpModule::OnAsyncCompletion`. The round trip a C++ module
/// makes by hand to let a long piece of work give other requests a turn. Outside an async
/// handler it behaves as any executor's yield (wake, then pending once).
pub fn yield_now() -> YieldNow {
    YieldNow { yielded: false }
}

const E_OUTOFMEMORY: i32 = 0x8007_000E_u32 as i32;

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
    let frame = FRAME.with(|f| f.get());
    let task = frame.task;
    assert!(
        !task.is_null() && core::ptr::eq(frame.module, (module as *mut M).cast()),
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
    let Some(slot) = place(&frame, context, future) else {
        if let Some(trace) = context.trace() {
            let _ = trace.quick_trace("httpserv: no request memory for an async handler's future", None, crate::HRESULT(E_OUTOFMEMORY), crate::TraceLevel::Error);
        }
        let response = context.response();
        response.clear();
        let _ = response.set_status(500, "Internal Server Error");
        task.context = None;
        STARTED.with(|s| s.set(Started::None));
        return NotificationStatus::FinishRequest;
    };
    let future: *mut (dyn Future<Output = NotificationStatus> + 'static) = slot;
    task.future = NonNull::new(future);
    task.waker = Some(match task.inflight.take() {
        // An earlier future of this module object left an operation in flight (its handler
        // panicked): IIS allows one per request, so this task shares its I/O slot, which says
        // so until IIS completes it (io.rs waits for it, and the completion is routed to it).
        Some(state) => state.adopt(context.as_raw()),
        None => WakeState::take(context.as_raw(), context.module_id()),
    });
    // SAFETY: alive, and the dispatcher holds the busy flag; no completion yet. `task` is not
    // used after a suspension.
    let (started, status) = match unsafe { Task::resume(task, core::ptr::null_mut()) } {
        Step::Ready(status) => (Started::None, status),
        Step::Pending => (Started::Suspended, NotificationStatus::Continue),
        Step::Yielded => (Started::Yielded, NotificationStatus::Continue),
    };
    STARTED.with(|s| s.set(started));
    status
}

/// Moves `future` into request memory, which lives until the request's modules are disposed
/// (the module object itself is in the same pool), so the future outlives every poll and its
/// drop in Dispose: the module object's room if the future fits (no future is alive, so the
/// room is free), else its own allocation, and the next module objects get room for it. Not
/// zeroed: the future is written into it at once. `None` (the future dropped unpolled) if IIS
/// has no memory for it.
fn place<T: Future<Output = NotificationStatus> + 'static>(frame: &FrameSlot, context: &HttpContext<'_>, future: T) -> Option<*mut T> {
    let size = core::mem::size_of::<T>() + core::mem::align_of::<T>();
    let memory = if size <= frame.room_len {
        frame.room
    } else {
        if size <= MAX_ROOM {
            super::registration::Current::with(|r| r.map(|r| r.future_room().fetch_max(size, Ordering::Relaxed)));
        }
        match u32::try_from(size) {
            // SAFETY: live context; IIS returns `size` writable bytes or null.
            Ok(size) => unsafe { ((*(*context.as_raw()).lpVtbl).AllocateRequestMemory)(context.as_raw(), size) }.cast::<u8>(),
            Err(_) => core::ptr::null_mut(),
        }
    };
    if memory.is_null() {
        return None;
    }
    let slot = memory.wrapping_add(memory.align_offset(core::mem::align_of::<T>())).cast::<T>();
    // SAFETY: `slot` is aligned and has room for a `T` within `size` (the room or the
    // allocation), and nothing else uses that memory while the future is alive.
    unsafe { slot.write(future) };
    Some(slot)
}
