// Shared by hello_axum.rs and hello_raw.rs: a counting allocator, a request loop, and a tracer
// that names every heap allocation of one request.
//
//   cargo run --release -p httpserv-tower --example hello_axum -- N
//
// sends 10 warm-up requests, then N in `measured_requests` (its inclusive instructions under
// `valgrind --tool=callgrind`, divided by N, are the instructions per request; scripts/bench.sh
// tower does that), and prints heap allocations per request (all threads, simulator
// included). With HTTPSERV_TRACE_ALLOCS=1 it then sends one more request with a backtrace
// taken at each allocation and prints them grouped by the first frame outside the allocator and
// std's collections ("site"), with the frame that called it ("via").

use std::alloc::{GlobalAlloc, Layout, System};
use std::cell::Cell;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::Mutex;

pub struct Counting;

pub static ALLOCATIONS: AtomicU64 = AtomicU64::new(0);
pub static BYTES: AtomicU64 = AtomicU64::new(0);
static TRACING: AtomicBool = AtomicBool::new(false);
static TRACES: Mutex<Vec<(usize, std::backtrace::Backtrace)>> = Mutex::new(Vec::new());

thread_local! {
    /// Set while this thread records a trace: the recording's own allocations are not traced.
    static IN_TRACE: Cell<bool> = const { Cell::new(false) };
}

fn trace(size: usize) {
    if !TRACING.load(Ordering::Relaxed) || IN_TRACE.with(|t| t.replace(true)) {
        return;
    }
    let backtrace = std::backtrace::Backtrace::force_capture();
    TRACES.lock().unwrap_or_else(|p| p.into_inner()).push((size, backtrace));
    IN_TRACE.with(|t| t.set(false));
}

unsafe impl GlobalAlloc for Counting {
    unsafe fn alloc(&self, layout: Layout) -> *mut u8 {
        ALLOCATIONS.fetch_add(1, Ordering::Relaxed);
        BYTES.fetch_add(layout.size() as u64, Ordering::Relaxed);
        trace(layout.size());
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
        trace(new);
        // SAFETY: forwarded.
        unsafe { System.realloc(ptr, layout, new) }
    }
}

fn request() -> httpserv_testing::TestRequest {
    // What a browser-like client sends: a few headers.
    httpserv_testing::TestRequest::get("/")
        .header("Host", "localhost")
        .header("Accept", "*/*")
        .header("User-Agent", "bench/1.0")
}

#[inline(never)]
fn measured_requests(server: &httpserv_testing::TestServer, n: u64) {
    for _ in 0..n {
        std::hint::black_box(server.send(request()));
    }
}

/// A frame: its function (line tables name inlined functions without their path) and
/// `file:line`, the file shortened to the crate's folder (`axum-0.8.9/src/...`,
/// `httpserv-tower/src/lib.rs`).
struct Frame {
    function: String,
    at: String,
}

fn frames(backtrace: &std::backtrace::Backtrace) -> Vec<Frame> {
    let mut frames: Vec<Frame> = Vec::new();
    for line in format!("{backtrace}").lines() {
        let line = line.trim_start();
        if let Some(at) = line.strip_prefix("at ") {
            if let Some(frame) = frames.last_mut() {
                let at = at.rsplit_once(':').map_or(at, |(file_line, _column)| file_line);
                let at = match at.find("/registry/src/") {
                    Some(i) => at[i + "/registry/src/".len()..].split_once('/').map_or(at, |(_, rest)| rest),
                    // The "before" tree of scripts/bench.sh tower is a copy of the repository.
                    None => at.split_once("tower-base-tree/").map_or(at, |(_, rest)| rest).trim_start_matches("./"),
                };
                frame.at = at.to_owned();
            }
        } else if let Some((index, name)) = line.split_once(": ") {
            if index.parse::<u32>().is_ok() {
                frames.push(Frame { function: name.to_owned(), at: String::new() });
            }
        }
    }
    frames
}

/// Frames of the allocator, std, or this harness: not a site.
fn plumbing(frame: &Frame) -> bool {
    frame.at.is_empty()
        || frame.at.starts_with("/rustc/")
        || frame.at.starts_with("/rust/deps/")
        || frame.at.contains("examples/common/")
        || frame.at.contains("examples/hello_")
        || frame.at.starts_with("hashbrown-")
}

/// The crate a site is in: the first path component.
fn krate(at: &str) -> &str {
    let first = at.split('/').next().unwrap_or(at);
    first
}

fn print_sites() {
    let traces = std::mem::take(&mut *TRACES.lock().unwrap_or_else(|p| p.into_inner()));
    let mut sites: Vec<(String, usize, usize)> = Vec::new();
    let mut crates: Vec<(String, usize)> = Vec::new();
    for (size, backtrace) in &traces {
        let frames = frames(backtrace);
        let mut interesting = frames.iter().filter(|f| !plumbing(f));
        let (site, via) = (interesting.next(), interesting.next());
        let key = match site {
            Some(f) => format!("{} ({})  <-  {}", f.function, f.at, via.map_or_else(String::new, |v| format!("{} ({})", v.function, v.at))),
            None => "? (no frame outside std)".to_owned(),
        };
        let krate = site.map_or("?", |f| krate(&f.at)).to_owned();
        match crates.iter_mut().find(|(k, _)| *k == krate) {
            Some(entry) => entry.1 += 1,
            None => crates.push((krate, 1)),
        }
        match sites.iter_mut().find(|(k, _, _)| *k == key) {
            Some(entry) => {
                entry.1 += 1;
                entry.2 += size;
            }
            None => sites.push((key, 1, *size)),
        }
    }
    if std::env::var_os("HTTPSERV_TRACE_ALLOCS").is_some_and(|v| v == "raw") {
        for (_, backtrace) in &traces {
            println!("{backtrace}");
        }
    }
    crates.sort_by(|a, b| b.1.cmp(&a.1).then(a.0.cmp(&b.0)));
    sites.sort_by(|a, b| b.1.cmp(&a.1).then(a.0.cmp(&b.0)));
    println!("allocations of one request by crate ({} allocations): {}", traces.len(), crates.iter().map(|(k, n)| format!("{k} {n}")).collect::<Vec<_>>().join(", "));
    // The simulator's own allocations (the same whatever module runs) are left out of the list.
    println!("allocation sites of one request outside httpserv-testing (count x bytes, site <- its caller):");
    for (key, count, bytes) in sites.into_iter().filter(|(k, _, _)| !k.split("  <-  ").next().unwrap_or("").contains("(httpserv-testing/")) {
        println!("  {count:3} x {bytes:6} B  {key}");
    }
}

pub fn run(name: &str, register: httpserv_testing::RegisterModuleFn) {
    let n: u64 = std::env::args().nth(1).and_then(|a| a.parse().ok()).unwrap_or(1000);
    let server = httpserv_testing::TestServer::new(register).expect("RegisterModule");
    for i in 0..10 {
        let response = server.send(request());
        if i == 0 && std::env::var_os("HTTPSERV_TRANSCRIPT").is_some() {
            println!("{}", response.transcript());
        }
        assert_eq!(response.status, 200, "{}", response.transcript());
        assert_eq!(response.body, b"Hello, world!");
        assert_eq!(response.header("Content-Type"), Some("text/plain; charset=utf-8"));
    }
    let (a0, b0) = (ALLOCATIONS.load(Ordering::Relaxed), BYTES.load(Ordering::Relaxed));
    measured_requests(&server, n);
    let (a1, b1) = (ALLOCATIONS.load(Ordering::Relaxed), BYTES.load(Ordering::Relaxed));
    if n > 0 {
        println!("{name}: {n} requests, {:.2} allocations and {:.0} bytes per request (simulator included)", (a1 - a0) as f64 / n as f64, (b1 - b0) as f64 / n as f64);
    }
    if std::env::var_os("HTTPSERV_TRACE_ALLOCS").is_some() {
        TRACING.store(true, Ordering::SeqCst);
        let response = server.send(request());
        TRACING.store(false, Ordering::SeqCst);
        assert_eq!(response.status, 200);
        print_sites();
    }
    server.shutdown();
}
