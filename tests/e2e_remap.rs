//! Remap (RQ_MAP_PATH and the reentrancy rule) through both doors. See tests/e2e/common.rs.

use httpserv_testing::{Notification, TestRequest};

#[path = "e2e/common.rs"]
mod common;

use common::*;

/// The bridge, not the host, refuses the module's own nested RQ_MAP_PATH: the same through the
/// shims as in-process.
#[test]
fn remap_is_the_same_through_both_doors() {
    let run = same_through_both_doors(remap::RegisterModule, "remap", &requests([TestRequest::get("/where/legacy/a.txt"), TestRequest::get("/index.html")]));
    let remapped = &run.responses[0];
    assert_eq!(remapped.body_str(), "/legacy/a.txt -> C:\\inetpub\\wwwroot\\legacy\\a.txt (remapped 0)\n", "{}", remapped.transcript());
    assert_eq!(remapped.called_during("CHttpModule::OnMapPath", Notification::MapPath), 1);
    let traces: Vec<_> = remapped.calls_to("IHttpTraceContext::QuickTrace").map(|c| c.detail.clone()).collect();
    assert!(traces.len() == 1 && traces[0].contains("on_map_path not delivered: the module's own handler is still running"), "{traces:?}");
    assert_eq!(remapped.called("IMapPathProvider::SetPhysicalPath"), 0);
    assert_eq!(run.responses[1].called("IHttpContext::MapPath"), 0);
}
