//! The hard case of ANCM's `OnAsyncCompletion` lock: the completion arriving on another IIS
//! thread *before* the notification that returned `RQ_NOTIFICATION_PENDING` has returned. Here
//! the fake context's `PostCompletion` calls `OnAsyncCompletion` at once on the waking thread
//! (the worst IIS could do), while the future's waker is woken from a second thread racing the
//! first poll. Every round must resume exactly once: either the wake lands during the poll (the
//! bridge polls again, no completion is posted, the notification returns CONTINUE itself) or
//! after the suspension (one completion, one `OnAsyncCompletion`, which returns CONTINUE).

use core::future::Future;
use core::pin::Pin;
use core::sync::atomic::{AtomicPtr, AtomicU32, AtomicUsize, Ordering};
use core::task::{Context, Poll};
use std::sync::Arc;

use httpserv::sys::*;
use httpserv_bench::fake;

static MODULE: AtomicPtr<CHttpModule> = AtomicPtr::new(core::ptr::null_mut());
static COMPLETED: AtomicU32 = AtomicU32::new(0);
static RESUMED: AtomicU32 = AtomicU32::new(0);
static POLLS: AtomicUsize = AtomicUsize::new(0);
/// What the next waking thread wakes: the flag to set, the waker to wake.
static HANDOFF: std::sync::Mutex<Option<(Arc<core::sync::atomic::AtomicBool>, core::task::Waker)>> = std::sync::Mutex::new(None);
static STOP: core::sync::atomic::AtomicBool = core::sync::atomic::AtomicBool::new(false);

/// Pending until a flag is set; a second thread sets it and wakes the waker at once.
struct Raced(Option<Arc<core::sync::atomic::AtomicBool>>);

impl Future for Raced {
    type Output = ();
    fn poll(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<()> {
        POLLS.fetch_add(1, Ordering::Relaxed);
        if let Some(flag) = &self.0 {
            return if flag.load(Ordering::Acquire) { Poll::Ready(()) } else { Poll::Pending };
        }
        let flag = Arc::new(core::sync::atomic::AtomicBool::new(false));
        self.0 = Some(flag.clone());
        // The spinning waker thread picks it up at once, racing the rest of this poll and the
        // suspension.
        *HANDOFF.lock().unwrap() = Some((flag, cx.waker().clone()));
        Poll::Pending
    }
}

#[derive(Default)]
struct EarlyModule;

#[httpserv::http_module]
impl httpserv::HttpModule for EarlyModule {
    async fn on_execute_request_handler(&mut self, _context: &httpserv::HttpContext<'_>) -> httpserv::NotificationStatus {
        Raced(None).await;
        httpserv::NotificationStatus::Continue
    }
}

unsafe extern "system" fn register(version: u32, info: *mut IHttpModuleRegistrationInfo, server: *mut IHttpServer) -> windows_sys::core::HRESULT {
    // SAFETY: the fake server's arguments, passed through.
    unsafe { httpserv::__private::register_module(version, info, server, || None, |r| r.request_module::<EarlyModule>()) }
}

/// `PostCompletion` that runs `OnAsyncCompletion` immediately, on the calling thread.
unsafe extern "system" fn post_and_complete_now(context: *mut IHttpContext, _bytes: u32) -> windows_sys::core::HRESULT {
    let module = MODULE.load(Ordering::Acquire);
    RESUMED.fetch_add(1, Ordering::AcqRel);
    // SAFETY: the live module of the round trip (Dispose waits for COMPLETED below).
    let status = unsafe { ((*(*module).lpVtbl).OnAsyncCompletion)(module, context, RQ_EXECUTE_REQUEST_HANDLER, 0, core::ptr::null_mut(), core::ptr::null_mut()) };
    assert_eq!(status, RQ_NOTIFICATION_CONTINUE);
    COMPLETED.fetch_add(1, Ordering::AcqRel);
    0
}

#[test]
fn a_completion_before_the_pending_notification_returns_resumes_once() {
    let registration = fake::register(register);
    let context = fake::async_context();
    // SAFETY: the fake context's vtable is leaked and writable (see `fake::async_context`).
    unsafe {
        let vtbl = (*context).lpVtbl as *mut IHttpContext_Vtbl;
        core::ptr::addr_of_mut!((*vtbl).PostCompletion).write(post_and_complete_now);
    }
    let provider = fake::provider::<IHttpEventProvider>();
    let mut allocator = fake::Allocator::new();
    let waker_thread = std::thread::spawn(|| {
        while !STOP.load(Ordering::Acquire) {
            let handed = HANDOFF.lock().unwrap().take();
            match handed {
                Some((flag, waker)) => {
                    flag.store(true, Ordering::Release);
                    waker.wake();
                }
                None => std::hint::spin_loop(),
            }
        }
    });
    let (mut suspended, mut direct) = (0, 0);
    // Fewer under valgrind, which runs one thread at a time (scripts/valgrind.sh sets this).
    let rounds = if std::env::var_os("HTTPSERV_UNDER_VALGRIND").is_some() { 50 } else { 2000 };
    for _ in 0..rounds {
        allocator.reset();
        let before = COMPLETED.load(Ordering::Acquire);
        let resumed_before = RESUMED.load(Ordering::Acquire);
        // SAFETY: live fake objects in IIS's order; Dispose only after the completion (if any)
        // has finished, as IIS would.
        unsafe {
            let factory = registration.factory;
            let mut module: *mut CHttpModule = core::ptr::null_mut();
            assert_eq!(((*(*factory).lpVtbl).GetHttpModule)(factory, &mut module, allocator.as_raw()), 0);
            MODULE.store(module, Ordering::Release);
            let status = ((*(*module).lpVtbl).OnExecuteRequestHandler)(module, context, provider);
            if status == RQ_NOTIFICATION_PENDING {
                suspended += 1;
                while COMPLETED.load(Ordering::Acquire) == before {
                    std::thread::yield_now();
                }
            } else {
                assert_eq!(status, RQ_NOTIFICATION_CONTINUE);
                direct += 1;
                // Woken during the poll: no completion was (or will be) posted.
                std::thread::sleep(std::time::Duration::from_micros(50));
                assert_eq!(RESUMED.load(Ordering::Acquire), resumed_before);
            }
            assert_eq!(COMPLETED.load(Ordering::Acquire) - before, (status == RQ_NOTIFICATION_PENDING) as u32);
            ((*(*module).lpVtbl).Dispose)(module);
        }
    }
    STOP.store(true, Ordering::Release);
    waker_thread.join().unwrap();
    // IIS terminates the factory at shutdown: it holds the module's registration.
    // SAFETY: the factory RegisterModule gave, terminated once; every module is disposed.
    unsafe { ((*(*registration.factory).lpVtbl).Terminate)(registration.factory) };
    println!("early_completion: {rounds} rounds: {suspended} suspended and resumed by an immediate OnAsyncCompletion, {direct} finished in the notification");
    assert_eq!(suspended + direct, rounds);
}
