//! "A request through a module allocates nothing on the heap in our code": counted with a
//! counting global allocator, on the current thread only (tests run in parallel), between
//! `counted(|| ...)`'s start and end. Allocation counts are exact, so these are correctness
//! assertions (`== 0`), not timing thresholds. Run with `-- --nocapture` to see the figures
//! (`scripts/bench.sh alloc` does).
//!
//! 1. `bridge_and_safe_calls_allocate_nothing`: the macro-built `cancel-io` module driven by
//!    hand-made IIS objects that allocate nothing themselves (`httpserv_bench::fake`):
//!    `GetHttpModule` + `OnSendResponse` (whose handler calls `HttpContext::cancel_io`) +
//!    `Dispose`, as IIS does per request. Every allocation counted is ours. Same for the raw
//!    baseline, and for the safe calls `cancel_io`, `request().header()`, `known_header()`.
//! 2. `test_server_request_allocates_the_same_with_the_macro_and_the_raw_module`: whole requests
//!    through the in-process test server (which allocates: transcripts, buffers). Allocations per
//!    request with the macro module minus those with the raw module (same process, same request
//!    sequence) must be 0, and the two transcripts must list the same calls.

use std::alloc::{GlobalAlloc, Layout, System};
use std::cell::Cell;

use httpserv::sys::*;
use httpserv_testing::{TestRequest, TestServer};
use httpserv::{HttpContext, Request};
use httpserv_bench::{cancel_io_raw, fake};
use windows_sys::Win32::Networking::HttpServer::HttpHeaderUserAgent;

struct Counting;

thread_local! {
    static ON: Cell<bool> = const { Cell::new(false) };
    static ALLOCATIONS: Cell<u64> = const { Cell::new(0) };
    static BYTES: Cell<u64> = const { Cell::new(0) };
}

fn note(size: usize) {
    // try_with: the allocator also runs while thread-locals are being torn down.
    let _ = ON.try_with(|on| {
        if on.get() {
            ALLOCATIONS.with(|a| a.set(a.get() + 1));
            BYTES.with(|b| b.set(b.get() + size as u64));
        }
    });
}

// SAFETY: forwards to System; only counts.
unsafe impl GlobalAlloc for Counting {
    unsafe fn alloc(&self, layout: Layout) -> *mut u8 {
        note(layout.size());
        // SAFETY: forwarded.
        unsafe { System.alloc(layout) }
    }
    unsafe fn alloc_zeroed(&self, layout: Layout) -> *mut u8 {
        note(layout.size());
        // SAFETY: forwarded.
        unsafe { System.alloc_zeroed(layout) }
    }
    unsafe fn realloc(&self, ptr: *mut u8, layout: Layout, new_size: usize) -> *mut u8 {
        note(new_size);
        // SAFETY: forwarded.
        unsafe { System.realloc(ptr, layout, new_size) }
    }
    unsafe fn dealloc(&self, ptr: *mut u8, layout: Layout) {
        // SAFETY: forwarded.
        unsafe { System.dealloc(ptr, layout) }
    }
}

#[global_allocator]
static ALLOCATOR: Counting = Counting;

/// Heap allocations (alloc, alloc_zeroed and realloc calls) on this thread, and bytes asked for.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
struct Counts {
    allocations: u64,
    bytes: u64,
}

fn counted<R>(f: impl FnOnce() -> R) -> (R, Counts) {
    ALLOCATIONS.with(|a| a.set(0));
    BYTES.with(|b| b.set(0));
    ON.with(|on| on.set(true));
    let result = f();
    ON.with(|on| on.set(false));
    (result, Counts { allocations: ALLOCATIONS.with(Cell::get), bytes: BYTES.with(Cell::get) })
}

#[test]
fn the_counter_counts() {
    let (v, counts) = counted(|| std::hint::black_box(vec![0u8; 100]));
    drop(v);
    assert_eq!(counts, Counts { allocations: 1, bytes: 100 });
}

type RegisterModuleFn = unsafe extern "system" fn(u32, *mut IHttpModuleRegistrationInfo, *mut IHttpServer) -> windows_sys::core::HRESULT;

const REQUESTS: usize = 1000;

/// IIS's per-request calls into a module registered for RQ_SEND_RESPONSE, on fake objects.
fn requests_on_fake_objects(register: RegisterModuleFn) -> Counts {
    let registration = fake::register(register);
    assert_eq!(registration.request, RQ_SEND_RESPONSE);
    let factory = registration.factory;
    let context = fake::context();
    let provider = fake::provider::<ISendResponseProvider>();
    let mut allocator = fake::Allocator::new();
    let mut total = Counts::default();
    for _ in 0..REQUESTS {
        allocator.reset();
        let allocator = allocator.as_raw();
        let ((), counts) = counted(|| {
            // SAFETY: the live factory the module registered and live fake objects, called in
            // IIS's order: GetHttpModule, the notification, Dispose.
            unsafe {
                let mut module: *mut CHttpModule = core::ptr::null_mut();
                assert_eq!(((*(*factory).lpVtbl).GetHttpModule)(factory, &mut module, allocator), 0);
                let status = ((*(*module).lpVtbl).OnSendResponse)(module, context, provider);
                assert_eq!(status, RQ_NOTIFICATION_CONTINUE);
                ((*(*module).lpVtbl).Dispose)(module);
            }
        });
        total.allocations += counts.allocations;
        total.bytes += counts.bytes;
    }
    // SAFETY: as IIS does at shutdown, once, after every module was disposed.
    unsafe { ((*(*factory).lpVtbl).Terminate)(factory) };
    total
}

#[test]
fn bridge_and_safe_calls_allocate_nothing() {
    let safe = requests_on_fake_objects(cancel_io::RegisterModule);
    let raw = requests_on_fake_objects(cancel_io_raw::RegisterModule);
    println!("no_alloc: fake IIS objects, {REQUESTS} requests (GetHttpModule + OnSendResponse + Dispose):");
    println!("no_alloc:   macro-built cancel-io: {} allocations, {} bytes", safe.allocations, safe.bytes);
    println!("no_alloc:   raw cancel-io-raw:     {} allocations, {} bytes", raw.allocations, raw.bytes);

    let raw_context = fake::context();
    // SAFETY: live fake objects for the rest of the test; a module id is only carried.
    let context = unsafe { HttpContext::from_raw(raw_context) }.unwrap();
    // SAFETY: as above.
    let request = unsafe { Request::from_raw(fake::request(), raw_context) }.unwrap();
    let (ok, cancel) = counted(|| (0..REQUESTS).all(|_| context.cancel_io().is_ok()));
    assert!(ok);
    let (found, header) = counted(|| (0..REQUESTS).all(|_| context.request().header("User-Agent") == Some(fake::USER_AGENT)));
    assert!(found);
    let (found, known) = counted(|| (0..REQUESTS).all(|_| request.known_header(HttpHeaderUserAgent) == Some(fake::USER_AGENT)));
    assert!(found);
    println!("no_alloc:   {REQUESTS} x HttpContext::cancel_io: {} allocations", cancel.allocations);
    println!("no_alloc:   {REQUESTS} x request().header(\"User-Agent\"): {} allocations", header.allocations);
    println!("no_alloc:   {REQUESTS} x known_header(HttpHeaderUserAgent): {} allocations", known.allocations);

    assert_eq!(safe, Counts::default(), "the macro-built module allocated on the heap");
    assert_eq!(raw, Counts::default(), "the raw module allocated on the heap");
    assert_eq!((cancel.allocations, header.allocations, known.allocations), (0, 0, 0));
}

/// Per-request heap allocations of whole requests through the in-process test server.
/// A call of the transcript: (notification, post, method) and its detail.
type TranscriptCall = (String, String);

fn requests_through_test_server(register: RegisterModuleFn) -> (Vec<Counts>, Vec<TranscriptCall>) {
    let server = TestServer::new(register).expect("RegisterModule failed");
    // Warm-up: the first requests grow the server's buffers.
    for _ in 0..10 {
        drop(server.send(TestRequest::get("/index.html").header("User-Agent", "httpserv-bench")));
    }
    let mut per_request = Vec::with_capacity(REQUESTS);
    let mut transcript = Vec::new();
    for i in 0..REQUESTS {
        let request = TestRequest::get("/index.html").header("User-Agent", "httpserv-bench");
        let (response, counts) = counted(|| server.send(request));
        assert_eq!(response.status, 200);
        assert_eq!(response.called("IHttpContext::CancelIo"), 1, "{}", response.transcript());
        if i == 0 {
            transcript = response.calls.iter().map(|c| (format!("{:?} post={} {}", c.notification, c.post, c.method), c.detail.clone())).collect();
        }
        drop(response);
        per_request.push(counts);
    }
    let report = server.shutdown();
    assert_eq!(report.modules_created, report.modules_disposed);
    (per_request, transcript)
}

#[test]
fn test_server_request_allocates_the_same_with_the_macro_and_the_raw_module() {
    let (safe, safe_calls) = requests_through_test_server(cancel_io::RegisterModule);
    let (raw, raw_calls) = requests_through_test_server(cancel_io_raw::RegisterModule);
    let sum = |v: &[Counts]| v.iter().fold(Counts::default(), |a, c| Counts { allocations: a.allocations + c.allocations, bytes: a.bytes + c.bytes });
    let (s, r) = (sum(&safe), sum(&raw));
    let n = REQUESTS as f64;
    println!("no_alloc: in-process test server, {REQUESTS} GET requests each, same process:");
    println!("no_alloc:   macro-built cancel-io: {} allocations ({:.2}/request), {} bytes ({:.1}/request)", s.allocations, s.allocations as f64 / n, s.bytes, s.bytes as f64 / n);
    println!("no_alloc:   raw cancel-io-raw:     {} allocations ({:.2}/request), {} bytes ({:.1}/request)", r.allocations, r.allocations as f64 / n, r.bytes, r.bytes as f64 / n);
    println!(
        "no_alloc:   macro minus raw: {} allocations ({:.2}/request), {} bytes",
        s.allocations as i64 - r.allocations as i64,
        (s.allocations as f64 - r.allocations as f64) / n,
        s.bytes as i64 - r.bytes as i64
    );
    for ((call, safe), (_, raw)) in safe_calls.iter().zip(&raw_calls) {
        if safe != raw {
            println!("no_alloc:   transcripts differ in a detail: {call}: macro `{safe}`, raw `{raw}`");
        }
    }
    // The server does the same work for both (same calls, in the same order), so any
    // difference in allocations would be the module's.
    let methods = |calls: &[TranscriptCall]| calls.iter().map(|(call, _)| call.clone()).collect::<Vec<_>>();
    assert_eq!(methods(&safe_calls), methods(&raw_calls), "the two modules made different calls");
    let per_request_allocations = |v: &[Counts]| v.iter().map(|c| c.allocations).collect::<Vec<_>>();
    assert_eq!(per_request_allocations(&safe), per_request_allocations(&raw), "allocations per request differ");
}

/// An async module that suspends once per request: its future parks its waker in [`PARKED`]
/// and the test wakes it, as a timer would.
#[derive(Default)]
struct SuspendsOnce;

thread_local! {
    static PARKED: core::cell::RefCell<Option<core::task::Waker>> = const { core::cell::RefCell::new(None) };
}

struct Park(bool);

impl core::future::Future for Park {
    type Output = ();
    fn poll(mut self: core::pin::Pin<&mut Self>, cx: &mut core::task::Context<'_>) -> core::task::Poll<()> {
        if self.0 {
            return core::task::Poll::Ready(());
        }
        self.0 = true;
        PARKED.with(|p| p.borrow_mut().replace(cx.waker().clone()));
        core::task::Poll::Pending
    }
}

#[httpserv::http_module]
impl httpserv::HttpModule for SuspendsOnce {
    async fn on_execute_request_handler(&mut self, _context: &HttpContext<'_>) -> httpserv::NotificationStatus {
        Park(false).await;
        httpserv::NotificationStatus::Continue
    }
}

unsafe extern "system" fn register_suspends_once(version: u32, info: *mut IHttpModuleRegistrationInfo, server: *mut IHttpServer) -> windows_sys::core::HRESULT {
    // SAFETY: the arguments are the fake server's, passed through.
    unsafe { httpserv::__private::register_module(version, info, server, || None, |r| r.request_module::<SuspendsOnce>()) }
}

#[test]
fn a_suspended_request_allocates_at_most_one_waker() {
    let registration = fake::register(register_suspends_once);
    assert_eq!(registration.request, RQ_EXECUTE_REQUEST_HANDLER);
    let factory = registration.factory;
    let context = fake::async_context();
    let provider = fake::provider::<IHttpEventProvider>();
    let completion = fake::provider::<IHttpCompletionInfo>();
    let mut allocator = fake::Allocator::new();
    let mut per_request = Vec::new();
    // Wakers kept past their request (as a timer that fires late would): such a waker state
    // cannot be reused, so the next request allocates a new one.
    let mut kept = Vec::with_capacity(16);
    let keeps = |i: usize| i % 10 == 5;
    for i in 0..100 {
        allocator.reset();
        let allocator = allocator.as_raw();
        let ((), counts) = counted(|| {
            // SAFETY: live fake objects, called in IIS's order: GetHttpModule, the notification
            // (PENDING), the waker's PostCompletion, OnAsyncCompletion (CONTINUE), Dispose.
            unsafe {
                let mut module: *mut CHttpModule = core::ptr::null_mut();
                assert_eq!(((*(*factory).lpVtbl).GetHttpModule)(factory, &mut module, allocator), 0);
                let status = ((*(*module).lpVtbl).OnExecuteRequestHandler)(module, context, provider);
                assert_eq!(status, RQ_NOTIFICATION_PENDING);
                let posted = fake::POSTED.with(|p| p.get());
                let waker = PARKED.with(|p| p.borrow_mut().take()).expect("parked");
                if keeps(i) {
                    kept.push(waker.clone());
                }
                waker.wake();
                assert_eq!(fake::POSTED.with(|p| p.get()), posted + 1, "the wake posted one completion");
                // No operation was in flight, so the completion info is not read.
                let status = ((*(*module).lpVtbl).OnAsyncCompletion)(module, context, RQ_EXECUTE_REQUEST_HANDLER, 0, provider, completion);
                assert_eq!(status, RQ_NOTIFICATION_CONTINUE);
                ((*(*module).lpVtbl).Dispose)(module);
            }
        });
        per_request.push(counts.allocations);
    }
    println!("no_alloc: suspended request (PENDING, PostCompletion, OnAsyncCompletion), heap allocations per request: {:?}", &per_request[..12]);
    // The one allocation is the waker's shared state (it may outlive the request); the future
    // itself is in request memory. A finished task's state that nothing holds is the thread's
    // spare for the next request: after the first request, only one after a kept waker
    // allocates.
    let expected: Vec<u64> = (0..100).map(|i| u64::from(i == 0 || (i > 0 && keeps(i - 1)))).collect();
    assert_eq!(per_request, expected);
    // A kept waker of a finished request does nothing when woken late.
    let posted = fake::POSTED.with(|p| p.get());
    kept.into_iter().for_each(core::task::Waker::wake);
    assert_eq!(fake::POSTED.with(|p| p.get()), posted);
    // SAFETY: as IIS does at shutdown, once, after every module was disposed.
    unsafe { ((*(*factory).lpVtbl).Terminate)(factory) };
}
