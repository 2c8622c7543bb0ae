//! SecurityHeaders through both doors. See tests/e2e/common.rs.

use httpserv_testing::{Config, Notification, TestRequest};

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

/// Configured by system.webServer/securityHeaders with a `<location>` override and the
/// example's committed schema: the headers change per URL, each configuration path is read
/// once, and the DLL gives the same transcripts (COM objects through the C++ shims) as the
/// in-process run; a configuration change makes the next request read again.
#[test]
fn configured_security_headers_are_the_same_through_both_doors() {
    let apphost = r#"<configuration>
      <system.webServer>
        <securityHeaders><add name="X-Frame-Options" value="DENY" /><add name="X-Content-Type-Options" value="nosniff" /></securityHeaders>
      </system.webServer>
      <location path="Default Web Site/embed">
        <system.webServer><securityHeaders><remove name="X-Frame-Options" /><add name="Content-Security-Policy" value="frame-ancestors 'self'" /></securityHeaders></system.webServer>
      </location>
      <location path="Default Web Site/legacy"><system.webServer><securityHeaders enabled="false" /></system.webServer></location>
    </configuration>"#;
    let schema = std::fs::read_to_string(concat!(env!("CARGO_MANIFEST_DIR"), "/examples/security_headers/securityHeaders_schema.xml")).unwrap();
    let config = Config::new(apphost).unwrap().schema(&schema).unwrap();
    let steps = vec![
        Step::Request(TestRequest::get("/index.html")),
        Step::Request(TestRequest::get("/embed/w.html")),
        Step::Request(TestRequest::get("/legacy/old.asp")),
        Step::Request(TestRequest::get("/index.html")),
        Step::ConfigurationChange("MACHINE/WEBROOT/APPHOST/Default Web Site/embed"),
        Step::Request(TestRequest::get("/embed/w.html")),
    ];
    let run = same_through_both_doors_with_config(security_headers::RegisterModule, "security_headers", &config, &steps);
    let [root, embed, legacy, root_again, embed_again] = &run.responses[..] else { panic!("5 responses") };
    assert_eq!((root.header("X-Frame-Options"), root.header("X-Content-Type-Options")), (Some("DENY"), Some("nosniff")), "{}", root.transcript());
    assert_eq!((embed.header("X-Frame-Options"), embed.header("Content-Security-Policy")), (None, Some("frame-ancestors 'self'")), "{}", embed.transcript());
    assert_eq!(legacy.called("IHttpResponse::SetHeader"), 0, "{}", legacy.transcript());
    assert_eq!(root_again.header("X-Frame-Options"), Some("DENY"));
    assert_eq!(embed_again.header("Content-Security-Policy"), Some("frame-ancestors 'self'"));
    let reads = run.server_calls.iter().filter(|c| c.contains("IAppHostAdminManager::GetAdminSection")).count();
    assert_eq!(reads, 4, "index, embed, legacy, then embed again after the change: {:#?}", run.server_calls);
}
