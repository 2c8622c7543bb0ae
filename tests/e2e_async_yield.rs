//! The suspended round trip (handler → `PostCompletion` → `RQ_NOTIFICATION_PENDING` →
//! `OnAsyncCompletion` → `RQ_NOTIFICATION_CONTINUE`): the `async fn` module examples/async_yield
//! through both doors, and the same round trip written by hand in C++
//! (simulator/modules/async_yield_cpp.cpp, ANCM's lock pattern) against it. These are the two
//! modules `scripts/bench.sh sim-async` times. See tests/e2e/common.rs.

use httpserv_testing::{Notification, TestRequest, TestServer};

#[path = "e2e/common.rs"]
mod common;

use common::*;

fn yield_requests() -> Vec<Step> {
    requests([TestRequest::get("/index.html"), TestRequest::get("/second")])
}

/// The round trip's checks on one response.
fn assert_round_trip(run: &Run) {
    for response in &run.responses {
        let transcript = response.transcript();
        assert_eq!(response.returned("CHttpModule::OnExecuteRequestHandler").collect::<Vec<_>>(), ["RQ_NOTIFICATION_PENDING"], "{transcript}");
        assert_eq!(response.called_during("IHttpContext::PostCompletion", Notification::ExecuteRequestHandler), 1, "{transcript}");
        assert_eq!(response.called("IHttpContext::PostCompletion"), 1, "{transcript}");
        assert_eq!(response.returned("CHttpModule::OnAsyncCompletion").collect::<Vec<_>>(), ["RQ_NOTIFICATION_CONTINUE"], "{transcript}");
    }
    assert_eq!((run.report.modules_created, run.report.modules_disposed), (2, 2));
    assert!(run.report.factory_terminated);
}

/// The future's size is the bitness's: with the DLL door 32-bit, the in-process (64-bit) run's
/// `AllocateRequestMemory` for it cannot match (as `normalised` does for `IModuleAllocator`).
fn arch_neutral(mut run: Run) -> Run {
    if arch() == "x86" {
        for call in run.responses.iter_mut().flat_map(|r| r.calls.iter_mut()) {
            if call.method == "IHttpContext::AllocateRequestMemory" {
                call.detail = "(size of the bitness) bytes".to_owned();
            }
        }
    }
    run
}

#[test]
fn async_yield_is_the_same_through_both_doors() {
    let in_process = arch_neutral(run(TestServer::new(async_yield::RegisterModule).unwrap(), &yield_requests()));
    let through_dll = arch_neutral(run(dll("async_yield"), &yield_requests()));
    assert_runs_equal(&in_process, &through_dll, "in-process vs async_yield.dll");
    assert_round_trip(&through_dll);
    // The first request's future got its own request memory; the next one fits in the room the
    // module object now reserves.
    let allocations: Vec<usize> = through_dll.responses.iter().map(|r| r.called("IHttpContext::AllocateRequestMemory")).collect();
    assert_eq!(allocations, [1, 0]);
}

/// Where the Rust module keeps its future (`IHttpContext::AllocateRequestMemory`, request
/// memory) is its own bookkeeping, like the module object's allocation: left out with it.
fn without_future_memory(mut run: Run) -> Run {
    for response in &mut run.responses {
        response.calls.retain(|c| c.method != "IHttpContext::AllocateRequestMemory");
    }
    without_module_bookkeeping(run)
}

/// The C++ module makes the Rust `async fn` module's calls: same transcript, response and
/// report, but for where each keeps its per-request memory.
#[test]
fn async_yield_cpp_gives_the_rust_modules_transcript() {
    let rust = without_future_memory(run(TestServer::new(async_yield::RegisterModule).unwrap(), &yield_requests()));
    let cpp = without_future_memory(run(dll("async_yield_cpp"), &yield_requests()));
    assert_runs_equal(&rust, &cpp, "Rust async_yield in-process vs async_yield_cpp.dll");
    assert_round_trip(&cpp);
    // Not left out by accident: the Rust module did put its future in request memory.
    let raw = run(TestServer::new(async_yield::RegisterModule).unwrap(), &yield_requests());
    assert_eq!(raw.responses[0].called("IHttpContext::AllocateRequestMemory"), 1, "{}", raw.responses[0].transcript());
}
