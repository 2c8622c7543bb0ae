//! Safe calls against the raw vtable calls they wrap, for callgrind's instruction counts.
//!
//! ```text
//! cargo build --release -p httpserv-bench --bin calls
//! valgrind --tool=callgrind --callgrind-out-file=calls.out target/release/calls [N]
//! callgrind_annotate --inclusive=yes calls.out | grep 'calls::'
//! ```
//! (`scripts/bench.sh calls` does this and prints per-call counts and ratios.)
//!
//! Each pair of loops calls the same server-side function (`fake::server_*`, identical for both)
//! N times (default 1,000,000) through a hand-made object (`httpserv_bench::fake`), so the
//! inclusive instruction count of a loop function / N is: loop overhead + the call as the caller
//! writes it + the server function. Safe minus raw is what the safe layer adds per call.
//! Every loop is its own `#[inline(never)]` function, so callgrind reports it by name. Each loop
//! gets its handle (raw pointer or safe handle, both `Copy`, by value) through `black_box` once;
//! the vtable pointer is still loaded on every iteration, as the callee may change the object
//! (check with `objdump -d`: both loops are `mov (%rdi),%rax; call *0x120(%rax)` ...).

use std::hint::black_box;

use httpserv::sys::{IHttpContext, IHttpRequest};
use httpserv::{HttpContext, Request};
use httpserv_bench::fake;
use windows_sys::Win32::Networking::HttpServer::HttpHeaderUserAgent;

/// (a) `IHttpContext::CancelIo` through the vtable, as the raw module and C++ write it.
#[inline(never)]
fn raw_cancel_io(ctx: *mut IHttpContext, n: u64) -> u64 {
    let mut failed = 0;
    let ctx = black_box(ctx);
    for _ in 0..n {
        // SAFETY: a live fake context.
        let hr = unsafe { ((*(*ctx).lpVtbl).CancelIo)(ctx) };
        failed += (hr < 0) as u64;
    }
    failed
}

/// (b) `HttpContext::cancel_io`.
#[inline(never)]
fn safe_cancel_io(ctx: HttpContext<'_>, n: u64) -> u64 {
    let mut failed = 0;
    let ctx = black_box(ctx);
    for _ in 0..n {
        failed += ctx.cancel_io().is_err() as u64;
    }
    failed
}

/// (c) `IHttpRequest::GetHeader("User-Agent", &len)` through the vtable.
#[inline(never)]
fn raw_header(req: *mut IHttpRequest, n: u64) -> u64 {
    let mut total = 0;
    let req = black_box(req);
    for _ in 0..n {
        let mut len = 0u16;
        // SAFETY: a live fake request; a NUL-terminated name; our out pointer.
        let value = unsafe { ((*(*req).lpVtbl).GetHeader)(req, c"User-Agent".as_ptr().cast(), &mut len) };
        if !value.is_null() {
            // The caller's use of the value: a (pointer, length) it reads.
            // SAFETY: IIS returned `len` bytes.
            let value = unsafe { core::slice::from_raw_parts(value, len as usize) };
            total += black_box(value).len() as u64;
        }
    }
    total
}

/// (d) `Request::header("User-Agent")`.
#[inline(never)]
fn safe_header(req: Request<'_>, n: u64) -> u64 {
    let mut total = 0;
    let req = black_box(req);
    for _ in 0..n {
        if let Some(value) = req.header("User-Agent") {
            total += black_box(value).len() as u64;
        }
    }
    total
}

/// (e) `IHttpRequest::GetHeader(HttpHeaderUserAgent, &len)` through the vtable.
#[inline(never)]
fn raw_known_header(req: *mut IHttpRequest, n: u64) -> u64 {
    let mut total = 0;
    let req = black_box(req);
    for _ in 0..n {
        let mut len = 0u16;
        // SAFETY: a live fake request; a valid request header id; our out pointer.
        let value = unsafe { ((*(*req).lpVtbl).GetHeader_2)(req, HttpHeaderUserAgent, &mut len) };
        if !value.is_null() {
            // SAFETY: IIS returned `len` bytes.
            let value = unsafe { core::slice::from_raw_parts(value, len as usize) };
            total += black_box(value).len() as u64;
        }
    }
    total
}

/// (f) `Request::known_header(HttpHeaderUserAgent)`.
#[inline(never)]
fn safe_known_header(req: Request<'_>, n: u64) -> u64 {
    let mut total = 0;
    let req = black_box(req);
    for _ in 0..n {
        if let Some(value) = req.known_header(HttpHeaderUserAgent) {
            total += black_box(value).len() as u64;
        }
    }
    total
}

fn main() {
    let n: u64 = match std::env::args().nth(1) {
        Some(arg) => arg.replace('_', "").parse().expect("usage: calls [N]"),
        None => 1_000_000,
    };
    let raw_ctx = fake::context();
    let raw_req = fake::request();
    // SAFETY: live fake objects for the rest of the process; a module id is only carried.
    let ctx = unsafe { HttpContext::from_raw(raw_ctx) }.unwrap();
    // SAFETY: as above.
    let req = unsafe { Request::from_raw(raw_req, raw_ctx) }.unwrap();

    // Sanity: both forms give the same answers.
    assert!(ctx.cancel_io().is_ok());
    assert_eq!(req.header("User-Agent"), Some(fake::USER_AGENT));
    assert_eq!(req.header("user-agent"), Some(fake::USER_AGENT));
    assert_eq!(req.header("Referer"), None);
    assert_eq!(req.known_header(HttpHeaderUserAgent), Some(fake::USER_AGENT));

    let ua = fake::USER_AGENT.len() as u64;
    assert_eq!(raw_cancel_io(raw_ctx, n), 0);
    assert_eq!(safe_cancel_io(ctx, n), 0);
    assert_eq!(raw_header(raw_req, n), n * ua);
    assert_eq!(safe_header(req, n), n * ua);
    assert_eq!(raw_known_header(raw_req, n), n * ua);
    assert_eq!(safe_known_header(req, n), n * ua);
    println!("calls: {n} iterations of each loop done");
}
