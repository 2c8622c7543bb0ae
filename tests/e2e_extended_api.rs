//! The methods wrapped for issue 12 through both doors (e2e/support/extended_api, one area per
//! `?mode=`): bodies, transcripts and reports must be equal in-process and through the DLL door,
//! and say what Microsoft documents. See tests/e2e/common.rs.

use httpserv_testing::TestRequest;

#[path = "e2e/common.rs"]
mod common;

use common::*;

fn body(response: &httpserv_testing::TestResponse) -> String {
    String::from_utf8_lossy(&response.body).into_owned()
}

#[test]
fn extended_api_is_the_same_through_both_doors() {
    let requests = requests([
        TestRequest::get("/u?mode=user").header("X-User", "alice").user_with_auth_type("carol", "Negotiate"),
        TestRequest::get("/h?mode=headers").header("Accept-Language", "en"),
        TestRequest::get("/r?mode=response"),
        TestRequest::get("/t?mode=trace"),
        TestRequest::get("/app/page.aspx?mode=server"),
        TestRequest::get("/app/page.aspx?mode=server"),
        TestRequest::get("/secret?mode=log").header("X-User", "bob"),
    ]);
    let run = same_through_both_doors(extended_api::RegisterModule, "extended_api", &requests);
    let [user, headers, response, trace, server, server_again, log] = &run.responses[..] else { panic!("seven responses") };

    assert_eq!(
        body(user),
        "AUTH_USER=alice REMOTE_USER=alice AUTH_TYPE=Basic\n\
         user=Some(\"alice\") roles=true editors=Ok(true) admins=Ok(false) primary=false impersonation=false\n\
         original=Some(\"carol\")\n",
        "{}",
        user.transcript()
    );
    // IIS releases the module's user once; the `User` handle of IIS's own (original) user takes
    // and gives back one reference of its own (a handle holds a reference while it lives).
    let dereferences = |module: bool| user.calls.iter().filter(|c| c.method == "IHttpUser::DereferenceUser" && c.detail.starts_with("the module's user") == module).count();
    assert_eq!(dereferences(true), 1, "{}", user.transcript());
    assert_eq!(user.called("IHttpUser::ReferenceUser"), 1, "{}", user.transcript());
    assert_eq!(dereferences(false), 1, "{}", user.transcript());

    assert_eq!(body(headers), "appended=Some(\"en, fr\")\nreplaced=Some(\"de\")\ndeleted=None\n");

    assert_eq!((response.status, response.substatus), (503, 2));
    assert_eq!(response.error, 0x8007_0005_u32 as i32);
    assert_eq!(response.error_description.as_deref(), Some("down for maintenance"));
    assert_eq!(
        body(response),
        "<!-- banner --><main></main><footer/>\nsent=16 status=503 reason=\"Busy\" X-Demo=Some(\"1\") \
         chunks=[\"memory \\\"<!-- banner -->\\\"\", \"memory \\\"<main>\\\"\", \"memory \\\"</main>\\\"\", \"memory \\\"<footer/>\\\"\"]\n"
    );

    assert_eq!(body(trace), "TraceConfiguration { enabled: true, areas: 4294967295, verbosity: 7 }\n");
    assert_eq!(
        trace.calls_to("IHttpTraceContext::RaiseTraceEvent").map(|c| c.detail.clone()).collect::<Vec<_>>(),
        ["LOGIN: User=\"alice\", Bytes=42, Delta=-1"]
    );

    let expected_server = |metadata_set: bool| {
        format!(
            "config=Some(\"C:\\\\inetpub\\\\temp\\\\apppools\\\\DefaultAppPool\\\\DefaultAppPool.config\")\n\
             sni=Ok(516) flags=2\n\
             translated=Some(\"C:\\\\inetpub\\\\wwwroot\\\\app\\\\page.aspx\")\n\
             meta=Some(\"MACHINE/WEBROOT/APPHOST/Default Web Site/app/page.aspx\") vr=Some(\"C:\\\\inetpub\\\\wwwroot\")\n\
             connection=Ok(()) Some(\"per connection\") metadata={metadata_set:?} Some(\"per configuration\")\n"
        )
    };
    assert_eq!(body(server), expected_server(true), "{}", server.transcript());
    // The metadata's context outlives the request; the connection's ended with it.
    assert_eq!(body(server_again), expected_server(false));

    assert_eq!(log.log.user_name, "logged-by-module", "{}", log.transcript());
    assert_eq!(log.log.uri_stem, "/hidden");
    // The metadata's stored context is cleaned up when the server shuts down.
    assert!(run.report.calls.iter().any(|c| c.method == "IHttpStoredContext::CleanupStoredContext"), "{:#?}", run.report.calls);
}
