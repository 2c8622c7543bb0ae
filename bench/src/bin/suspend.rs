//! The cost of a suspended request, for callgrind's instruction counts: an `async fn` module
//! against a raw-ABI module doing the same round trip by hand, as a C++ module would.
//!
//! ```text
//! cargo build --release -p httpserv-bench --bin suspend
//! valgrind --tool=callgrind --callgrind-out-file=suspend.out target/release/suspend [N]
//! callgrind_annotate --inclusive=yes suspend.out | grep 'suspend::'
//! ```
//! (`scripts/bench.sh suspend` does this and prints per-round-trip counts and the ratio.)
//!
//! One round trip, as IIS drives it: `GetHttpModule`, `OnExecuteRequestHandler` (returns
//! `RQ_NOTIFICATION_PENDING`), the completion (`PostCompletion`: the async module's waker; the raw
//! module calls it itself), `OnAsyncCompletion` (returns `RQ_NOTIFICATION_CONTINUE`), `Dispose`.
//! Both run against the same fake IIS objects (`httpserv_bench::fake`), N times (default
//! 100,000); each loop is its own `#[inline(never)]` function. A third loop runs an `async fn`
//! module that suspends with `httpserv::yield_now()` (the bridge posts the completion itself, as
//! the raw module does): the same calls as the raw module's round trip.

use core::future::Future;
use core::pin::Pin;
use core::task::{Context, Poll, Waker};
use std::cell::RefCell;
use std::hint::black_box;

use httpserv::sys::*;
use httpserv_bench::fake;

thread_local! {
    static PARKED: RefCell<Option<Waker>> = const { RefCell::new(None) };
}

/// Pending once, parking its waker for the driver (as a timer or I/O source would keep it).
struct Park(bool);

impl Future for Park {
    type Output = ();
    fn poll(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<()> {
        if self.0 {
            return Poll::Ready(());
        }
        self.0 = true;
        PARKED.with(|p| *p.borrow_mut() = Some(cx.waker().clone()));
        Poll::Pending
    }
}

#[derive(Default)]
struct AsyncModule;

#[httpserv::http_module]
impl httpserv::HttpModule for AsyncModule {
    async fn on_execute_request_handler(&mut self, _context: &httpserv::HttpContext<'_>) -> httpserv::NotificationStatus {
        Park(false).await;
        httpserv::NotificationStatus::Continue
    }
}

#[derive(Default)]
struct YieldModule;

#[httpserv::http_module]
impl httpserv::HttpModule for YieldModule {
    async fn on_execute_request_handler(&mut self, _context: &httpserv::HttpContext<'_>) -> httpserv::NotificationStatus {
        httpserv::yield_now().await;
        httpserv::NotificationStatus::Continue
    }
}

unsafe extern "system" fn register_yield(version: u32, info: *mut IHttpModuleRegistrationInfo, server: *mut IHttpServer) -> windows_sys::core::HRESULT {
    // SAFETY: the fake server's arguments, passed through.
    unsafe { httpserv::__private::register_module(version, info, server, || None, |r| r.request_module::<YieldModule>()) }
}

unsafe extern "system" fn register_async(version: u32, info: *mut IHttpModuleRegistrationInfo, server: *mut IHttpServer) -> windows_sys::core::HRESULT {
    // SAFETY: the fake server's arguments, passed through.
    unsafe { httpserv::__private::register_module(version, info, server, || None, |r| r.request_module::<AsyncModule>()) }
}

struct Objects {
    factory: *mut IHttpModuleFactory,
    context: *mut IHttpContext,
    provider: *mut IHttpEventProvider,
    completion: *mut IHttpCompletionInfo,
    allocator: Box<fake::Allocator>,
}

fn objects(register: unsafe extern "system" fn(u32, *mut IHttpModuleRegistrationInfo, *mut IHttpServer) -> windows_sys::core::HRESULT) -> Objects {
    let registration = fake::register(register);
    Objects { factory: registration.factory, context: fake::async_context(), provider: fake::provider(), completion: fake::provider(), allocator: fake::Allocator::new() }
}

/// One round trip; `wake` is what completes the pending notification.
#[inline(always)]
fn round_trip(o: &mut Objects, wake: impl FnOnce()) -> u32 {
    o.allocator.reset();
    let allocator = o.allocator.as_raw();
    // SAFETY: live fake objects, called in IIS's order.
    unsafe {
        let mut module: *mut CHttpModule = core::ptr::null_mut();
        ((*(*o.factory).lpVtbl).GetHttpModule)(o.factory, &mut module, allocator);
        let first = ((*(*module).lpVtbl).OnExecuteRequestHandler)(module, o.context, o.provider);
        wake();
        let last = ((*(*module).lpVtbl).OnAsyncCompletion)(module, o.context, RQ_EXECUTE_REQUEST_HANDLER, 0, o.provider, o.completion);
        ((*(*module).lpVtbl).Dispose)(module);
        (first == RQ_NOTIFICATION_PENDING && last == RQ_NOTIFICATION_CONTINUE) as u32
    }
}

/// (a) The raw module: it posts the completion itself.
#[inline(never)]
fn raw_round_trips(o: &mut Objects, n: u64) -> u64 {
    let mut ok = 0;
    for _ in 0..n {
        ok += round_trip(black_box(o), || {}) as u64;
    }
    ok
}

/// (b) The async module: the driver wakes the parked waker, which posts the completion.
#[inline(never)]
fn async_round_trips(o: &mut Objects, n: u64) -> u64 {
    let mut ok = 0;
    for _ in 0..n {
        ok += round_trip(black_box(o), || PARKED.with(|p| p.borrow_mut().take()).expect("parked").wake()) as u64;
    }
    ok
}

/// (c) The yielding async module: the bridge posts the completion as the notification returns.
#[inline(never)]
fn yield_round_trips(o: &mut Objects, n: u64) -> u64 {
    let mut ok = 0;
    for _ in 0..n {
        // The black_box keeps this loop from being folded with raw_round_trips (same code
        // otherwise), which would merge their counts under one symbol.
        ok += round_trip(black_box(o), || {
            black_box(b'y');
        }) as u64;
    }
    ok
}

fn main() {
    let n: u64 = std::env::args().nth(1).map(|a| a.replace('_', "").parse().expect("usage: suspend [N]")).unwrap_or(100_000);
    let mut raw = objects(httpserv_bench::suspend_raw::register);
    let mut asynchronous = objects(register_async);
    let mut yielding = objects(register_yield);
    let posted = fake::POSTED.with(|p| p.get());
    assert_eq!(raw_round_trips(&mut raw, n), n);
    assert_eq!(async_round_trips(&mut asynchronous, n), n);
    assert_eq!(yield_round_trips(&mut yielding, n), n);
    assert_eq!(fake::POSTED.with(|p| p.get()) - posted, 3 * n as u32, "every round trip posted one completion");
    println!("suspend: {n} round trips of each done");
}
