//! Runs the Lifecycle modules (global and request) in the in-process test server.
//!
//! `Counters` is the module's process-wide state (`state = Counters`), so every test server in
//! this test binary shares it: the tests run one at a time and compare counts before and after.

use std::sync::{Mutex, MutexGuard};

use httpserv::sys::{GL_APPLICATION_START, GL_APPLICATION_STOP, GL_PRE_BEGIN_REQUEST, RQ_BEGIN_REQUEST};
use httpserv_testing::{Notification, TestRequest, TestServer};
use lifecycle::{Counts, LifecycleModule, REQUESTS_SEEN_HEADER};

fn one_at_a_time() -> MutexGuard<'static, ()> {
    static LOCK: Mutex<()> = Mutex::new(());
    LOCK.lock().unwrap_or_else(|poisoned| poisoned.into_inner())
}

fn counts() -> Counts {
    LifecycleModule::state().snapshot()
}

fn server() -> TestServer {
    TestServer::new(lifecycle::RegisterModule).expect("RegisterModule failed")
}

#[test]
fn registers_the_global_and_request_masks() {
    let _serial = one_at_a_time();
    let server = server();
    assert_eq!(server.global_notifications(), GL_APPLICATION_START | GL_APPLICATION_STOP | GL_PRE_BEGIN_REQUEST);
    assert_eq!(server.request_notifications(), RQ_BEGIN_REQUEST);
    assert_eq!(server.post_request_notifications(), 0);
    assert!(server.has_global_module());
    assert!(server.has_factory());
    assert_eq!(LifecycleModule::MODULE_NAME, "Lifecycle");
    // priority(on_begin_request = High), global_priority(on_global_application_start = First)
    assert_eq!(server.priorities().request, vec![(RQ_BEGIN_REQUEST, "HIGH".to_string())]);
    assert_eq!(server.priorities().global, vec![(GL_APPLICATION_START, "FIRST".to_string())]);
}

#[test]
fn counts_application_start_requests_and_stop() {
    let _serial = one_at_a_time();
    let before = counts();
    let running_before = LifecycleModule::state().running_applications();

    let server = server();
    // The test server starts the application right after RegisterModule.
    let started = counts();
    assert_eq!(started.application_starts, before.application_starts + 1);
    assert_eq!(started.application_stops, before.application_stops);
    assert_eq!(LifecycleModule::state().running_applications(), running_before + 1);

    const N: u64 = 5;
    for i in 1..=N {
        let response = server.send(TestRequest::get(format!("/page/{i}")));
        assert_eq!(response.status, 200, "{}", response.transcript());
        let seen = before.requests + i;
        assert_eq!(response.header(REQUESTS_SEEN_HEADER), Some(seen.to_string().as_str()), "{}", response.transcript());
        assert_eq!(response.called("CGlobalModule::OnGlobalPreBeginRequest"), 1, "{}", response.transcript());
        assert_eq!(response.called_during("IHttpResponse::SetHeader", Notification::BeginRequest), 1);
    }
    let served = counts();
    assert_eq!(served.requests, before.requests + N);
    assert_eq!(served.pre_begin_requests, before.pre_begin_requests + N);
    assert_eq!(served.application_stops, before.application_stops, "stopped before shutdown");

    let report = server.shutdown();
    assert_eq!(report.requests as u64, N);
    assert_eq!(report.called("CGlobalModule::OnGlobalApplicationStop"), 1, "{:#?}", report.calls);
    assert!(report.global_terminated);
    assert!(report.factory_terminated);
    assert_eq!(report.modules_created, report.modules_disposed);

    let stopped = counts();
    assert_eq!(stopped.application_starts, before.application_starts + 1);
    assert_eq!(stopped.application_stops, before.application_stops + 1);
    assert_eq!(stopped.requests, before.requests + N);
    assert_eq!(stopped.pre_begin_requests, before.pre_begin_requests + N);
    assert_eq!(LifecycleModule::state().running_applications(), running_before);
}

#[test]
fn the_state_outlives_a_server() {
    let _serial = one_at_a_time();
    let before = counts();
    for _ in 0..2 {
        let server = server();
        server.send(TestRequest::get("/"));
        server.shutdown();
    }
    let after = counts();
    assert_eq!(after.application_starts, before.application_starts + 2);
    assert_eq!(after.application_stops, before.application_stops + 2);
    assert_eq!(after.requests, before.requests + 2);
    assert_eq!(after.pre_begin_requests, before.pre_begin_requests + 2);
}
