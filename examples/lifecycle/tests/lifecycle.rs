//! Runs the Lifecycle modules (global and request) in the test server (in-process, or its DLL with HTTPSERV_DOOR=dll: TestServer::for_module).
//!
//! `Counters` is the module's state (`state = Counters`): one per registration, so each test
//! server has counts of its own, read here from the `X-Lifecycle-Counts` response header.

use httpserv::sys::{GL_APPLICATION_START, GL_APPLICATION_STOP, GL_PRE_BEGIN_REQUEST, RQ_BEGIN_REQUEST};
use httpserv_testing::{Notification, TestRequest, TestResponse, TestServer};
use lifecycle::{Counts, LifecycleModule, COUNTS_HEADER, REQUESTS_SEEN_HEADER};

fn server() -> TestServer {
    TestServer::for_module(lifecycle::RegisterModule, "lifecycle").expect("RegisterModule failed")
}

fn counts(response: &TestResponse) -> Counts {
    let header = response.header(COUNTS_HEADER).unwrap_or_else(|| panic!("no {COUNTS_HEADER}:\n{}", response.transcript()));
    Counts::from_header(header).unwrap_or_else(|| panic!("bad {COUNTS_HEADER}: {header}"))
}

#[test]
fn registers_the_global_and_request_masks() {
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
    let server = server();
    const N: u64 = 5;
    for i in 1..=N {
        let response = server.send(TestRequest::get(format!("/page/{i}")));
        assert_eq!(response.status, 200, "{}", response.transcript());
        assert_eq!(response.header(REQUESTS_SEEN_HEADER), Some(i.to_string().as_str()), "{}", response.transcript());
        // The test server starts the application right after RegisterModule.
        assert_eq!(counts(&response), Counts { application_starts: 1, application_stops: 0, pre_begin_requests: i, requests: i });
        assert_eq!(response.called("CGlobalModule::OnGlobalPreBeginRequest"), 1, "{}", response.transcript());
        assert_eq!(response.called_during("IHttpResponse::SetHeader", Notification::BeginRequest), 2);
    }
    let report = server.shutdown();
    assert_eq!(report.requests as u64, N);
    assert_eq!(report.called("CGlobalModule::OnGlobalApplicationStop"), 1, "{:#?}", report.calls);
    assert!(report.global_terminated);
    assert!(report.factory_terminated);
    assert_eq!(report.modules_created, report.modules_disposed);
}

#[test]
fn each_server_has_its_own_state() {
    // Two registrations alive at once, used in turn: neither sees the other's counts.
    let (a, b) = (server(), server());
    for i in 1..=3 {
        let from_a = server_counts(&a);
        let from_b = server_counts(&b);
        assert_eq!(from_a, Counts { application_starts: 1, application_stops: 0, pre_begin_requests: i, requests: i });
        assert_eq!(from_b, from_a);
    }
    a.shutdown();
    // A new registration starts from zero: the state went with the old one.
    let c = server();
    assert_eq!(server_counts(&c).requests, 1);
    c.shutdown();
    b.shutdown();
}

fn server_counts(server: &TestServer) -> Counts {
    counts(&server.send(TestRequest::get("/")))
}

#[test]
fn state_outside_a_handler_is_none() {
    // In-process only: it checks this process's copy of the module's state while a
    // registration is alive here (through the DLL door the registration lives in the child).
    let _server = TestServer::new(lifecycle::RegisterModule).expect("RegisterModule failed");
    assert!(LifecycleModule::try_state().is_none());
    assert!(std::panic::catch_unwind(LifecycleModule::state).is_err());
}
