//! Runs the Remap module in the test server (in-process, or its DLL with HTTPSERV_DOOR=dll: TestServer::for_module): its own `map_path` does not re-enter it,
//! another module's does.

use httpserv::HttpContext;
use httpserv_testing::{Notification, TestRequest, TestServer};
use remap::LEGACY_ROOT;

fn server() -> TestServer {
    TestServer::for_module(remap::RegisterModule, "remap").expect("RegisterModule failed")
}

#[test]
fn own_map_path_is_not_remapped_and_says_why() {
    let server = server();
    let response = server.send(TestRequest::get("/where/legacy/a.txt"));
    assert_eq!(response.status, 200, "{}", response.transcript());
    assert_eq!(response.body_str(), "/legacy/a.txt -> C:\\inetpub\\wwwroot\\legacy\\a.txt (remapped 0)\n");
    // RQ_MAP_PATH was raised to the module and not delivered; the trace says so.
    assert_eq!(response.called_during("CHttpModule::OnMapPath", Notification::MapPath), 1);
    let traces: Vec<_> = response.calls_to("IHttpTraceContext::QuickTrace").map(|c| c.detail.clone()).collect();
    assert_eq!(traces.len(), 1, "{}", response.transcript());
    assert!(traces[0].contains("on_map_path not delivered: the module's own handler is still running"), "{traces:?}");
    assert_eq!(response.called("IMapPathProvider::SetPhysicalPath"), 0);
    server.shutdown();
}

#[test]
fn another_modules_map_path_is_remapped() {
    // In-process only, whatever HTTPSERV_DOOR says: TestRequest::other_module runs a closure of
    // this test process, which cannot cross into the DLL door's child process.
    let server = TestServer::new(remap::RegisterModule).expect("RegisterModule failed");
    let request = TestRequest::get("/where/x").other_module(Notification::AuthenticateRequest, |raw| {
        // SAFETY: the simulator's live context of this request, used during the call only.
        let context = unsafe { HttpContext::from_raw(raw) }.unwrap();
        assert_eq!(context.map_path("/legacy/old/page.htm").unwrap(), format!("{LEGACY_ROOT}\\old\\page.htm"));
    });
    let response = server.send(request);
    assert_eq!(response.body_str(), "/x -> C:\\inetpub\\wwwroot\\x (remapped 1)\n", "{}", response.transcript());
    assert_eq!(response.called("IHttpTraceContext::QuickTrace"), 1, "the handler's own map_path is still skipped");
    server.shutdown();
}

#[test]
fn other_paths_are_left_to_other_handlers() {
    let server = server();
    let response = server.send(TestRequest::get("/index.html"));
    assert_eq!(response.status, 200);
    assert_eq!(response.body_str(), "");
    assert_eq!(response.called("IHttpContext::MapPath"), 0);
    server.shutdown();
}
