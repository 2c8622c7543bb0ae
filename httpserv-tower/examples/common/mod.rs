// Shared by hello_axum.rs and hello_raw.rs: a counting allocator and a request loop.
// Run `cargo run --release -p httpserv-tower --example hello_axum -- N`: it sends 10 warm-up
// requests, then N, and prints heap allocations per request (all threads); under
// `valgrind --tool=callgrind`, two runs with different N give instructions per request.

use std::alloc::{GlobalAlloc, Layout, System};
use std::sync::atomic::{AtomicU64, Ordering};

pub struct Counting;

pub static ALLOCATIONS: AtomicU64 = AtomicU64::new(0);
pub static BYTES: AtomicU64 = AtomicU64::new(0);

unsafe impl GlobalAlloc for Counting {
    unsafe fn alloc(&self, layout: Layout) -> *mut u8 {
        ALLOCATIONS.fetch_add(1, Ordering::Relaxed);
        BYTES.fetch_add(layout.size() as u64, Ordering::Relaxed);
        // SAFETY: forwarded.
        unsafe { System.alloc(layout) }
    }
    unsafe fn dealloc(&self, ptr: *mut u8, layout: Layout) {
        // SAFETY: forwarded.
        unsafe { System.dealloc(ptr, layout) }
    }
    unsafe fn realloc(&self, ptr: *mut u8, layout: Layout, new: usize) -> *mut u8 {
        ALLOCATIONS.fetch_add(1, Ordering::Relaxed);
        BYTES.fetch_add(new as u64, Ordering::Relaxed);
        // SAFETY: forwarded.
        unsafe { System.realloc(ptr, layout, new) }
    }
}

pub fn run(name: &str, register: httpserv_testing::RegisterModuleFn) {
    let n: u64 = std::env::args().nth(1).and_then(|a| a.parse().ok()).unwrap_or(1000);
    let server = httpserv_testing::TestServer::new(register).expect("RegisterModule");
    for _ in 0..10 {
        let response = server.send(httpserv_testing::TestRequest::get("/"));
        assert_eq!(response.status, 200, "{}", response.transcript());
        assert_eq!(response.body, b"Hello, world!");
    }
    let (a0, b0) = (ALLOCATIONS.load(Ordering::Relaxed), BYTES.load(Ordering::Relaxed));
    for _ in 0..n {
        std::hint::black_box(server.send(httpserv_testing::TestRequest::get("/")));
    }
    let (a1, b1) = (ALLOCATIONS.load(Ordering::Relaxed), BYTES.load(Ordering::Relaxed));
    if n > 0 {
        println!("{name}: {n} requests, {:.2} allocations and {:.0} bytes per request (simulator included)", (a1 - a0) as f64 / n as f64, (b1 - b0) as f64 / n as f64);
    }
    server.shutdown();
}
