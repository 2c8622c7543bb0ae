//! 10,000 requests pending at once through the in-process test server: each runs on its own
//! thread (`TestServer::send` blocks while its request is suspended) into `async_delay`, whose
//! handler suspends on a timer thread for 50 ms. All must complete, every module be disposed,
//! and the server end with nothing left over (`scripts/valgrind.sh` runs the async tests under
//! memcheck on smaller runs). `HTTPSERV_MANY_PENDING=N` changes the count.

use std::time::{Duration, Instant};

use httpserv_testing::{TestRequest, TestServer};

#[test]
fn ten_thousand_requests_pending_at_once() {
    let n: usize = std::env::var("HTTPSERV_MANY_PENDING").ok().and_then(|v| v.parse().ok()).unwrap_or(10_000);
    let server = TestServer::new(async_delay::RegisterModule).expect("RegisterModule failed");
    server.set_pending_timeout(Duration::from_secs(60));
    let started = Instant::now();
    let answered: usize = std::thread::scope(|s| {
        let threads: Vec<_> = (0..n)
            .map(|_| {
                let server = &server;
                std::thread::Builder::new()
                    .stack_size(256 * 1024)
                    .spawn_scoped(s, move || {
                        let response = server.send(TestRequest::get("/?ms=50"));
                        (response.status == 200 && response.body_str() == "waited 50 ms") as usize
                    })
                    .expect("a request thread")
            })
            .collect();
        threads.into_iter().map(|t| t.join().expect("request thread")).sum()
    });
    let elapsed = started.elapsed();
    println!("many_pending: {n} concurrent suspended requests answered {answered} in {elapsed:.2?}");
    assert_eq!(answered, n);
    let report = server.shutdown();
    assert_eq!(report.requests, n);
    assert_eq!(report.modules_created, n);
    assert_eq!(report.modules_disposed, n);
}
