//! SecurityHeaders through both doors. See tests/e2e/common.rs.

use httpserv_testing::{Notification, TestRequest};

#[path = "e2e/common.rs"]
mod common;

use common::*;

#[test]
fn security_headers_is_the_same_through_both_doors() {
    let run = same_through_both_doors(security_headers::RegisterModule, "security_headers", &requests([TestRequest::get("/"), TestRequest::get("/other?x=1")]));
    for response in &run.responses {
        for (name, value) in security_headers::SECURITY_HEADERS {
            assert_eq!(response.header_values(name), [value], "{name}\n{}", response.transcript());
        }
        assert_eq!(response.called_during("IHttpResponse::SetHeader", Notification::SendResponse), security_headers::SECURITY_HEADERS.len());
    }
}
