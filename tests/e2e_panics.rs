//! A panicking module (e2e/support/panicking) through both doors: each panic, and a handler's
//! `Err`, is a 500 inside the DLL, the module is disposed and the server goes on. With
//! HTTPSERV_E2E_ARCH=x86 this is the check that panic = "unwind" works in a 32-bit DLL (DWARF
//! unwinding registered by rsbegin.o).
//! See tests/e2e/common.rs.

use httpserv_testing::TestRequest;

#[path = "e2e/common.rs"]
mod common;

use common::*;

#[test]
fn panics_are_500s_through_both_doors() {
    let run = same_through_both_doors(
        panicking::RegisterModule,
        "panicking",
        &requests([
            TestRequest::get("/panic"),
            TestRequest::get("/fine"),
            TestRequest::get("/panic-any"),
            TestRequest::get("/send-panic"),
            TestRequest::get("/fine"),
            TestRequest::get("/error"),
        ]),
    );
    let statuses: Vec<u16> = run.responses.iter().map(|r| r.status).collect();
    assert_eq!(statuses, [500, 200, 500, 500, 200, 500], "{:#?}", run.responses.iter().map(|r| r.transcript()).collect::<Vec<_>>());
    let panicked = &run.responses[0];
    assert!(panicked.body.is_empty(), "nothing of what the handler buffered: {:?}", panicked.body_str());
    assert_eq!(panicked.header("X-Partial"), None);
    assert_eq!(run.responses[1].body_str(), "ok");
    // A handler's `Err` (a std error through `?`): 500 with E_FAIL, nothing buffered kept, the
    // message traced, FinishRequest, the same through the DLL.
    let failed = &run.responses[5];
    assert_eq!(failed.error, 0x8000_4005_u32 as i32);
    assert!(failed.body.is_empty(), "{:?}", failed.body_str());
    assert_eq!(failed.header("X-Partial"), None);
    assert_eq!(failed.returned("CHttpModule::OnExecuteRequestHandler").collect::<Vec<_>>(), ["RQ_NOTIFICATION_FINISH_REQUEST"]);
    let traces: Vec<&str> = failed.calls_to("IHttpTraceContext::QuickTrace").map(|c| c.detail.as_str()).collect();
    assert_eq!(
        traces,
        ["httpserv: HttpModule::on_execute_request_handler returned an error: invalid digit found in string (HRESULT 0x80004005) |  | E_FAIL | level 2"]
    );
    assert_eq!((run.report.modules_created, run.report.modules_disposed), (6, 6));
}
