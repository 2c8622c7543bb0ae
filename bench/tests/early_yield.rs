//! `httpserv::yield_now` with ANCM's hard case: the completion the notification posts as it
//! returns `RQ_NOTIFICATION_PENDING` is run at once by another thread (`OnAsyncCompletion`
//! before the notification has returned). Here the fake context's `PostCompletion` queues the
//! completion for two completer threads that spin on the queue and call `OnAsyncCompletion`
//! immediately; the future yields twice, so the second post comes from inside a completer's
//! `OnAsyncCompletion` and may be picked up by the other completer while the first is still
//! returning. Every round must resume exactly twice more (PENDING, then CONTINUE) and touch
//! nothing freed (run under valgrind by scripts/valgrind.sh's bench pass).

use core::sync::atomic::{AtomicPtr, AtomicU32, Ordering};
use std::collections::VecDeque;
use std::sync::Mutex;

use httpserv::sys::*;
use httpserv_bench::fake;

static MODULE: AtomicPtr<CHttpModule> = AtomicPtr::new(core::ptr::null_mut());
static QUEUE: Mutex<VecDeque<Context>> = Mutex::new(VecDeque::new());
static POSTS: AtomicU32 = AtomicU32::new(0);
static PENDING_AGAIN: AtomicU32 = AtomicU32::new(0);
static COMPLETED: AtomicU32 = AtomicU32::new(0);
static RESUMED_FUTURE: AtomicU32 = AtomicU32::new(0);
static STOP: core::sync::atomic::AtomicBool = core::sync::atomic::AtomicBool::new(false);

struct Context(*mut IHttpContext);
// SAFETY: the fake context's slots used here are thread-safe (they only touch atomics).
unsafe impl Send for Context {}

#[derive(Default)]
struct Yields;

#[httpserv::http_module]
impl httpserv::HttpModule for Yields {
    async fn on_execute_request_handler(&mut self, _context: &httpserv::HttpContext<'_>) -> httpserv::NotificationStatus {
        httpserv::yield_now().await;
        RESUMED_FUTURE.fetch_add(1, Ordering::AcqRel);
        httpserv::yield_now().await;
        RESUMED_FUTURE.fetch_add(1, Ordering::AcqRel);
        httpserv::NotificationStatus::Continue
    }
}

unsafe extern "system" fn register(version: u32, info: *mut IHttpModuleRegistrationInfo, server: *mut IHttpServer) -> windows_sys::core::HRESULT {
    // SAFETY: the fake server's arguments, passed through.
    unsafe { httpserv::__private::register_module(version, info, server, || None, |r| r.request_module::<Yields>()) }
}

/// `PostCompletion` that hands the completion to the completer threads.
unsafe extern "system" fn post_to_completers(context: *mut IHttpContext, bytes: u32) -> windows_sys::core::HRESULT {
    assert_eq!(bytes, 0);
    POSTS.fetch_add(1, Ordering::AcqRel);
    QUEUE.lock().unwrap().push_back(Context(context));
    0
}

fn completer() {
    while !STOP.load(Ordering::Acquire) {
        let next = QUEUE.lock().unwrap().pop_front();
        let Some(context) = next else {
            std::hint::spin_loop();
            continue;
        };
        let module = MODULE.load(Ordering::Acquire);
        // SAFETY: the live module of the round (Dispose waits for COMPLETED below).
        let status = unsafe { ((*(*module).lpVtbl).OnAsyncCompletion)(module, context.0, RQ_EXECUTE_REQUEST_HANDLER, 0, core::ptr::null_mut(), core::ptr::null_mut()) };
        match status {
            RQ_NOTIFICATION_PENDING => PENDING_AGAIN.fetch_add(1, Ordering::AcqRel),
            RQ_NOTIFICATION_CONTINUE => COMPLETED.fetch_add(1, Ordering::AcqRel),
            other => panic!("OnAsyncCompletion returned {other}"),
        };
    }
}

#[test]
fn a_yield_completed_before_the_notification_returns_resumes_once_per_post() {
    let registration = fake::register(register);
    let context = fake::async_context();
    // SAFETY: the fake context's vtable is leaked and writable (see `fake::async_context`).
    unsafe {
        let vtbl = (*context).lpVtbl as *mut IHttpContext_Vtbl;
        core::ptr::addr_of_mut!((*vtbl).PostCompletion).write(post_to_completers);
    }
    let provider = fake::provider::<IHttpEventProvider>();
    let mut allocator = fake::Allocator::new();
    let completers = [std::thread::spawn(completer), std::thread::spawn(completer)];
    // Fewer under valgrind, which runs one thread at a time (scripts/valgrind.sh sets this).
    let rounds = if std::env::var_os("HTTPSERV_UNDER_VALGRIND").is_some() { 50 } else { 1000 };
    for round in 1..=rounds {
        allocator.reset();
        // SAFETY: live fake objects in IIS's order; Dispose only after the final completion.
        unsafe {
            let factory = registration.factory;
            let mut module: *mut CHttpModule = core::ptr::null_mut();
            assert_eq!(((*(*factory).lpVtbl).GetHttpModule)(factory, &mut module, allocator.as_raw()), 0);
            MODULE.store(module, Ordering::Release);
            let status = ((*(*module).lpVtbl).OnExecuteRequestHandler)(module, context, provider);
            assert_eq!(status, RQ_NOTIFICATION_PENDING);
            // The first completer counts its PENDING after its OnAsyncCompletion returns, by which
            // time the other may already have run the second completion: wait for both counts
            // (a missing one is a failure, not a hang).
            let deadline = std::time::Instant::now() + std::time::Duration::from_secs(60);
            while COMPLETED.load(Ordering::Acquire) < round || PENDING_AGAIN.load(Ordering::Acquire) < round {
                assert!(std::time::Instant::now() < deadline, "round {round}: completed {}, pending again {}", COMPLETED.load(Ordering::Acquire), PENDING_AGAIN.load(Ordering::Acquire));
                std::thread::yield_now();
            }
            ((*(*module).lpVtbl).Dispose)(module);
        }
        assert_eq!(POSTS.load(Ordering::Acquire), 2 * round, "two yields, two posts");
        assert_eq!(PENDING_AGAIN.load(Ordering::Acquire), round, "the first completion yields again");
        assert_eq!(RESUMED_FUTURE.load(Ordering::Acquire), 2 * round);
    }
    STOP.store(true, Ordering::Release);
    for c in completers {
        c.join().unwrap();
    }
    assert!(QUEUE.lock().unwrap().is_empty(), "no completion left over");
    // IIS terminates the factory at shutdown: it holds the module's registration.
    // SAFETY: the factory RegisterModule gave, terminated once; every module is disposed.
    unsafe { ((*(*registration.factory).lpVtbl).Terminate)(registration.factory) };
}
