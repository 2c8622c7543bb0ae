//! The suspended round trip through the in-process simulator (the one simulation core the
//! Wine door also runs), for `scripts/bench.sh sim-suspend`: `sim_suspend MODULE N` sends N
//! `GET /` requests to a `TestServer` of MODULE and prints requests/s.
//!
//! - `async`: examples/async_yield, the `async fn` handler that awaits `httpserv::yield_now()`;
//! - `raw`: `httpserv_bench::suspend_raw`, the same round trip written by hand on the raw ABI, as
//!   a C++ module writes it (`PostCompletion(0)`, `RQ_NOTIFICATION_PENDING`, then
//!   `RQ_NOTIFICATION_CONTINUE` from `OnAsyncCompletion`).
//!
//! Each request is resumed on a simulator worker thread, as IIS resumes it on one of its own.
//! Under callgrind, the difference between two runs' totals (N2 and N1 requests) divided by
//! N2 - N1 is the cost of one request of that module, server included, start-up excluded.

use std::time::Instant;

use httpserv_testing::{RegisterModuleFn, TestRequest, TestServer};

fn main() {
    let mut args = std::env::args().skip(1);
    let usage = "usage: sim_suspend async|raw N";
    let module = args.next().expect(usage);
    let n: u64 = args.next().and_then(|a| a.replace('_', "").parse().ok()).expect(usage);
    let register: RegisterModuleFn = match module.as_str() {
        "async" => async_yield::RegisterModule,
        "raw" => httpserv_bench::suspend_raw::register,
        _ => panic!("{usage}"),
    };
    let server = TestServer::new(register).expect("RegisterModule failed");
    // The round trip is the one measured: one PostCompletion during the handler, PENDING, then
    // CONTINUE from OnAsyncCompletion.
    let first = server.send(TestRequest::get("/"));
    assert_eq!(first.returned("CHttpModule::OnExecuteRequestHandler").collect::<Vec<_>>(), ["RQ_NOTIFICATION_PENDING"], "{}", first.transcript());
    assert_eq!(first.returned("CHttpModule::OnAsyncCompletion").collect::<Vec<_>>(), ["RQ_NOTIFICATION_CONTINUE"], "{}", first.transcript());
    assert_eq!(first.called("IHttpContext::PostCompletion"), 1, "{}", first.transcript());
    let start = Instant::now();
    for _ in 0..n {
        let response = server.send(TestRequest::get("/"));
        assert_eq!(response.status, 200, "{}", response.transcript());
    }
    let elapsed = start.elapsed();
    let report = server.shutdown();
    assert_eq!((report.modules_created, report.modules_disposed), (n as usize + 1, n as usize + 1));
    println!("sim_suspend: {module} {n} requests, {:.1} ms, {:.0} requests/s", elapsed.as_secs_f64() * 1e3, n as f64 / elapsed.as_secs_f64());
}
