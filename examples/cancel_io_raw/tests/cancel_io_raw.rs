//! The seed scenario through the test server (in-process, or its DLL with HTTPSERV_DOOR=dll), on the raw module: CancelIo runs during send response.

use httpserv_testing::{Notification, TestRequest, TestServer};

#[test]
fn registers_only_send_response() {
    let server = TestServer::for_module(cancel_io_raw::RegisterModule, "cancel_io_raw").unwrap();
    assert_eq!(server.request_notifications(), httpserv_sys::RQ_SEND_RESPONSE);
    assert_eq!(server.post_request_notifications(), 0);
    assert_eq!(server.global_notifications(), 0);
}

#[test]
fn cancels_io_during_send_response() {
    let server = TestServer::for_module(cancel_io_raw::RegisterModule, "cancel_io_raw").unwrap();
    let response = server.send(TestRequest::get("/index.html"));
    assert_eq!(response.status, 200);
    assert_eq!(response.called_during("IHttpContext::CancelIo", Notification::SendResponse), 1);
    assert_eq!(response.called("IHttpContext::CancelIo"), 1);
    let report = server.shutdown();
    assert_eq!((report.modules_created, report.modules_disposed), (1, 1));
    assert!(report.factory_terminated);
}
