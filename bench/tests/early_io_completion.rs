//! An asynchronous read whose completion IIS delivers on another thread *before* the poll that
//! issued it has suspended (the case ANCM's `OnAsyncCompletion` lock is for): the fake request's
//! `ReadEntityBody` hands the completion at once to a completer thread, which calls the
//! module's `OnAsyncCompletion` while the issuing thread is still inside the handler's poll.
//! The bridge must not poll the future on the second thread until the first has suspended: two
//! threads polling one future at once alias its `&mut` (and the second may drop it under the
//! first). The handler's future counts polls that overlap.

use core::future::Future;
use core::pin::Pin;
use core::sync::atomic::{AtomicBool, AtomicPtr, AtomicU32, AtomicUsize, Ordering};
use core::task::{Context, Poll};

use httpserv::sys::*;
use httpserv_bench::fake;

static MODULE: AtomicPtr<CHttpModule> = AtomicPtr::new(core::ptr::null_mut());
static CONTEXT: AtomicPtr<IHttpContext> = AtomicPtr::new(core::ptr::null_mut());
static COMPLETED: AtomicU32 = AtomicU32::new(0);
static IN_POLL: AtomicBool = AtomicBool::new(false);
static OVERLAPS: AtomicUsize = AtomicUsize::new(0);
/// Set by `ReadEntityBody`: the completer thread calls `OnAsyncCompletion` at once.
static HANDOFF: AtomicBool = AtomicBool::new(false);
static STOP: AtomicBool = AtomicBool::new(false);
static READ_STATUS: std::sync::Mutex<Vec<String>> = std::sync::Mutex::new(Vec::new());
const READ_LEN: u32 = 5;

/// Polls `inner`, then lingers inside the poll so that an early completion on another thread
/// lands while this poll is still running; counts polls that overlap.
struct Lingering<F>(F);

impl<F: Future + Unpin> Future for Lingering<F> {
    type Output = F::Output;
    fn poll(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<F::Output> {
        if IN_POLL.swap(true, Ordering::AcqRel) {
            OVERLAPS.fetch_add(1, Ordering::AcqRel);
        }
        let result = Pin::new(&mut self.0).poll(cx);
        std::thread::sleep(std::time::Duration::from_micros(300));
        IN_POLL.store(false, Ordering::Release);
        result
    }
}

#[derive(Default)]
struct EarlyIo;

#[httpserv::http_module]
impl httpserv::HttpModule for EarlyIo {
    async fn on_execute_request_handler(&mut self, context: &httpserv::HttpContext<'_>) -> httpserv::NotificationStatus {
        let (read, buffer) = Lingering(Box::pin(context.request().read_body_async(vec![0; 16]))).await;
        READ_STATUS.lock().unwrap().push(format!("{:?} {:?}", read.map_err(|e| e.code()), &buffer[..5]));
        httpserv::NotificationStatus::Continue
    }
}

unsafe extern "system" fn register(version: u32, info: *mut IHttpModuleRegistrationInfo, server: *mut IHttpServer) -> windows_sys::core::HRESULT {
    // SAFETY: the fake server's arguments, passed through.
    unsafe { httpserv::__private::register_module(version, info, server, || None, |r| r.request_module::<EarlyIo>()) }
}

/// `ReadEntityBody`, asynchronous only: writes the bytes, says pending, and has the completer
/// thread deliver the completion at once.
unsafe extern "system" fn read_entity_body(_this: *mut IHttpRequest, buffer: *mut core::ffi::c_void, size: u32, asynchronous: windows_sys::core::BOOL, received: *mut u32, pending: *mut windows_sys::core::BOOL) -> windows_sys::core::HRESULT {
    assert!(asynchronous != 0 && size >= READ_LEN);
    // SAFETY: the caller's buffer of `size` bytes and out pointers.
    unsafe {
        core::ptr::copy_nonoverlapping(b"hello".as_ptr(), buffer.cast::<u8>(), READ_LEN as usize);
        *received = 0;
        *pending = 1;
    }
    HANDOFF.store(true, Ordering::Release);
    0
}

unsafe extern "system" fn completion_bytes(_this: *mut IHttpCompletionInfo) -> u32 {
    READ_LEN
}

unsafe extern "system" fn completion_status(_this: *mut IHttpCompletionInfo) -> windows_sys::core::HRESULT {
    0
}

static COMPLETION_VTABLE: IHttpCompletionInfo_Vtbl = IHttpCompletionInfo_Vtbl { GetCompletionBytes: completion_bytes, GetCompletionStatus: completion_status };

struct SendPtr(*mut IHttpCompletionInfo);
// SAFETY: a pointer to the test's fake completion info, never written, alive until the thread
// that uses it is joined.
unsafe impl Send for SendPtr {}

#[test]
fn a_read_completed_before_its_poll_suspends_is_not_polled_on_two_threads() {
    let registration = fake::register(register);
    let context = fake::async_context();
    CONTEXT.store(context, Ordering::Release);
    // SAFETY: the fake request's vtable is leaked and writable (see `fake::request`).
    unsafe {
        let request = fake::request();
        let vtbl = (*request).lpVtbl as *mut IHttpRequest_Vtbl;
        core::ptr::addr_of_mut!((*vtbl).ReadEntityBody).write(read_entity_body);
    }
    // Outlives the completer thread (joined below).
    let mut completion_info = IHttpCompletionInfo { lpVtbl: &COMPLETION_VTABLE };
    let completion: *mut IHttpCompletionInfo = &mut completion_info;
    let provider = fake::provider::<IHttpEventProvider>();
    let mut allocator = fake::Allocator::new();
    let completion = SendPtr(completion);
    let completer = std::thread::spawn(move || {
        let completion = completion;
        while !STOP.load(Ordering::Acquire) {
            if HANDOFF.swap(false, Ordering::AcqRel) {
                let module = MODULE.load(Ordering::Acquire);
                // SAFETY: the live module of the round (Dispose waits for COMPLETED), its live
                // fake context and completion info.
                let status = unsafe { ((*(*module).lpVtbl).OnAsyncCompletion)(module, CONTEXT.load(Ordering::Acquire), RQ_EXECUTE_REQUEST_HANDLER, 0, core::ptr::null_mut(), completion.0) };
                assert_eq!(status, RQ_NOTIFICATION_CONTINUE);
                COMPLETED.fetch_add(1, Ordering::AcqRel);
            } else {
                std::hint::spin_loop();
            }
        }
    });
    let rounds = if std::env::var_os("HTTPSERV_UNDER_VALGRIND").is_some() { 20 } else { 200 };
    for _ in 0..rounds {
        allocator.reset();
        let before = COMPLETED.load(Ordering::Acquire);
        // SAFETY: live fake objects in IIS's order; Dispose only after the completion.
        unsafe {
            let factory = registration.factory;
            let mut module: *mut CHttpModule = core::ptr::null_mut();
            assert_eq!(((*(*factory).lpVtbl).GetHttpModule)(factory, &mut module, allocator.as_raw()), 0);
            MODULE.store(module, Ordering::Release);
            let status = ((*(*module).lpVtbl).OnExecuteRequestHandler)(module, context, provider);
            assert_eq!(status, RQ_NOTIFICATION_PENDING);
            while COMPLETED.load(Ordering::Acquire) == before {
                std::thread::yield_now();
            }
            ((*(*module).lpVtbl).Dispose)(module);
        }
    }
    STOP.store(true, Ordering::Release);
    completer.join().unwrap();
    // SAFETY: the factory RegisterModule gave, terminated once; every module is disposed.
    unsafe { ((*(*registration.factory).lpVtbl).Terminate)(registration.factory) };
    assert_eq!(OVERLAPS.load(Ordering::Acquire), 0, "the future was polled on two threads at once");
    let statuses = READ_STATUS.lock().unwrap();
    assert_eq!(statuses.len(), rounds);
    assert!(statuses.iter().all(|s| s == "Ok(5) [104, 101, 108, 108, 111]"), "{statuses:?}");
}
