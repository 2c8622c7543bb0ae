//! EchoBody through both doors. See tests/e2e/common.rs.

use httpserv_testing::TestRequest;

#[path = "e2e/common.rs"]
mod common;

use common::*;

#[test]
fn echo_body_is_the_same_through_both_doors() {
    let big: Vec<u8> = (0..100 * 1024).map(|i| (i % 251) as u8).collect();
    let run = same_through_both_doors(
        echo_body::RegisterModule,
        "echo_body",
        &requests([
            TestRequest::post("/echo", "ping from the client").header("Content-Type", "text/plain"),
            TestRequest::post("/echo", big.clone()),
            TestRequest::post("/echo", vec![b'x'; echo_body::MAX_BODY + 1]),
        ]),
    );
    let [small, large, too_large] = &run.responses[..] else { unreachable!() };
    assert_eq!((small.status, small.body_str().as_ref(), small.header("Content-Type")), (200, "ping from the client", Some("text/plain")));
    assert!(large.body == big, "the 100 KiB body came back different");
    assert!(large.called("IHttpRequest::ReadEntityBody") > 1);
    assert_eq!(too_large.status, 413, "{}", too_large.transcript());
    assert_eq!(too_large.called("IHttpRequest::ReadEntityBody"), 0);
}
