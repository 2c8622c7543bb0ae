//! SecurityHeaders configured by `system.webServer/securityHeaders`: a `<location>` override
//! changes the headers per URL, `enabled="false"` turns the module off below a folder, one
//! `GetAdminSection` per configuration path; in-process, or the DLL with HTTPSERV_DOOR=dll
//! (`TestServer::for_module_with_config`). Also: the committed schema file is what the type
//! generates now, and it parses and lists every attribute of the type.

use httpserv_testing::{Config, TestRequest, TestServer};
use security_headers::SecurityHeadersConfig;

const SCHEMA_FILE: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/securityHeaders_schema.xml");

const APPHOST: &str = r#"<configuration>
  <configSections>
    <sectionGroup name="system.webServer"><section name="securityHeaders" overrideModeDefault="Allow" /></sectionGroup>
  </configSections>
  <system.webServer>
    <securityHeaders>
      <add name="X-Frame-Options" value="DENY" />
      <add name="X-Content-Type-Options" value="nosniff" />
    </securityHeaders>
  </system.webServer>
  <location path="Default Web Site/embed">
    <system.webServer>
      <securityHeaders>
        <remove name="X-Frame-Options" />
        <add name="Content-Security-Policy" value="frame-ancestors 'self'" />
      </securityHeaders>
    </system.webServer>
  </location>
  <location path="Default Web Site/legacy">
    <system.webServer><securityHeaders enabled="false" /></system.webServer>
  </location>
</configuration>"#;

fn server() -> TestServer {
    let config = Config::new(APPHOST).unwrap().schema(&std::fs::read_to_string(SCHEMA_FILE).unwrap()).unwrap();
    TestServer::for_module_with_config(security_headers::RegisterModule, "security_headers", &config).expect("RegisterModule failed")
}

#[test]
fn a_location_override_changes_the_headers_per_url() {
    let server = server();
    let root = server.send(TestRequest::get("/index.html"));
    assert_eq!((root.header("X-Frame-Options"), root.header("X-Content-Type-Options")), (Some("DENY"), Some("nosniff")), "{}", root.transcript());
    assert_eq!(root.header("Content-Security-Policy"), None);
    assert_eq!(root.header("Referrer-Policy"), None, "only the configured headers");

    let embed = server.send(TestRequest::get("/embed/widget.html"));
    assert_eq!(embed.header("X-Frame-Options"), None, "removed below /embed\n{}", embed.transcript());
    assert_eq!(embed.header("X-Content-Type-Options"), Some("nosniff"), "inherited");
    assert_eq!(embed.header("Content-Security-Policy"), Some("frame-ancestors 'self'"));

    let legacy = server.send(TestRequest::get("/legacy/old.asp"));
    assert_eq!((legacy.header("X-Frame-Options"), legacy.header("X-Content-Type-Options")), (None, None), "enabled=false\n{}", legacy.transcript());
    assert_eq!(legacy.called("IHttpResponse::SetHeader"), 0);
}

#[test]
fn reads_each_configuration_path_once() {
    let server = server();
    for _ in 0..3 {
        for url in ["/index.html", "/embed/widget.html"] {
            assert_eq!(server.send(TestRequest::get(url)).status, 200);
        }
    }
    let reads: Vec<String> = server.server_calls().into_iter().filter(|c| c.method == "IAppHostAdminManager::GetAdminSection").map(|c| c.detail).collect();
    assert_eq!(reads.len(), 2, "{reads:#?}");
    assert!(reads[0].contains("Default Web Site/index.html") && reads[1].contains("Default Web Site/embed/widget.html"), "{reads:#?}");
}

#[test]
fn without_the_section_the_built_in_headers_apply() {
    let server = TestServer::for_module_with_config(security_headers::RegisterModule, "security_headers", &Config::new("<configuration/>").unwrap()).unwrap();
    let response = server.send(TestRequest::get("/"));
    for (name, value) in security_headers::SECURITY_HEADERS {
        assert_eq!(response.header(name), Some(value));
    }
}

#[test]
fn the_committed_schema_is_current() {
    let generated = httpserv::config::schema::<SecurityHeadersConfig>().unwrap();
    if std::env::var_os("HTTPSERV_UPDATE_SCHEMA").is_some() {
        std::fs::write(SCHEMA_FILE, &generated).unwrap();
    }
    let committed = std::fs::read_to_string(SCHEMA_FILE).unwrap_or_default();
    assert_eq!(committed, generated, "{SCHEMA_FILE} is stale: rerun with HTTPSERV_UPDATE_SCHEMA=1 and commit it");
}

#[test]
fn the_schema_parses_and_lists_every_attribute() {
    let text = std::fs::read_to_string(SCHEMA_FILE).unwrap();
    let doc = roxmltree::Document::parse(&text).unwrap();
    let section = doc.descendants().find(|n| n.has_tag_name("sectionSchema")).unwrap();
    assert_eq!(section.attribute("name"), Some("system.webServer/securityHeaders"));
    let enabled = section.children().find(|c| c.has_tag_name("attribute") && c.attribute("name") == Some("enabled")).unwrap();
    assert_eq!((enabled.attribute("type"), enabled.attribute("defaultValue")), (Some("bool"), Some("true")));
    let collection = section.children().find(|c| c.has_tag_name("collection")).unwrap();
    assert_eq!(collection.attribute("addElement"), Some("add"));
    let entry: Vec<(Option<&str>, Option<&str>, Option<&str>)> = collection
        .children()
        .filter(|c| c.has_tag_name("attribute"))
        .map(|c| (c.attribute("name"), c.attribute("type"), c.attribute("isUniqueKey")))
        .collect();
    assert_eq!(entry, [(Some("name"), Some("string"), Some("true")), (Some("value"), Some("string"), None)]);
    // The section's own attributes: exactly the type's.
    let own: Vec<&str> = section.children().filter(|c| c.has_tag_name("attribute")).filter_map(|c| c.attribute("name")).collect();
    assert_eq!(own, ["enabled"]);
}
