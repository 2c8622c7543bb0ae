//! `HttpContext::config` through the in-process simulator: per-URL sections with `<location>`
//! and `web.config` overrides, one `GetAdminSection` per configuration path (the cache in the
//! metadata's container), a new read after a configuration change, every error case, a global
//! module reading at registration, and the generated schema parsed back and served.

use std::sync::atomic::{AtomicUsize, Ordering};

use httpserv::config::{self, ConfigError, ConfigSection, TimeSpan};
use httpserv::prelude::*;
use httpserv::EventProvider;
use httpserv_testing::{Config, TestRequest, TestServer};
use serde::{Deserialize, Serialize};

#[derive(Deserialize, Serialize, Debug, PartialEq, Clone)]
#[serde(rename_all = "camelCase")]
struct Greeting {
    text: String,
    #[serde(default)]
    loud: bool,
    #[serde(default)]
    times: u32,
    #[serde(default)]
    mode: Mode,
    #[serde(default)]
    wait: TimeSpan,
    #[serde(rename = "add", default)]
    extras: Vec<Extra>,
    #[serde(default)]
    style: Style,
}

impl Default for Greeting {
    fn default() -> Self {
        Greeting { text: String::new(), loud: false, times: 1, mode: Mode::Polite, wait: TimeSpan::default(), extras: Vec::new(), style: Style::default() }
    }
}

#[derive(Deserialize, Serialize, Debug, PartialEq, Clone, Default)]
enum Mode {
    #[default]
    Polite,
    Curt,
}

#[derive(Deserialize, Serialize, Debug, PartialEq, Clone)]
struct Extra {
    name: String,
    value: String,
}

#[derive(Deserialize, Serialize, Debug, PartialEq, Clone, Default)]
#[serde(default)]
struct Style {
    color: Option<String>,
}

impl ConfigSection for Greeting {
    const NAME: &'static str = "system.webServer/greeting";
}

/// A section nobody declared.
#[derive(Deserialize, Debug)]
struct Absent {
    #[allow(dead_code)]
    x: String,
}

impl ConfigSection for Absent {
    const NAME: &'static str = "system.webServer/absent";
}

/// The same section read with a type whose field has another type.
#[derive(Deserialize, Debug)]
struct GreetingAsNumber {
    #[allow(dead_code)]
    text: u32,
}

impl ConfigSection for GreetingAsNumber {
    const NAME: &'static str = "system.webServer/greeting";
}

static GLOBAL_TEXT: std::sync::Mutex<Option<Result<String, String>>> = std::sync::Mutex::new(None);
static REGISTRATIONS: AtomicUsize = AtomicUsize::new(0);

struct Global;

#[http_module]
impl GlobalModule for Global {
    fn on_global_health_check(&self) -> GlobalNotificationStatus {
        GlobalNotificationStatus::Continue
    }
}

#[http_module(name = "Greeter", global = Global)]
#[derive(Default)]
struct Greeter;

#[http_module]
impl HttpModule for Greeter {
    fn on_execute_request_handler(&mut self, context: &HttpContext<'_>, _: &EventProvider<'_>) -> NotificationStatus {
        let url = String::from_utf8_lossy(context.request().raw_url().unwrap_or_default()).into_owned();
        let body = match url.as_str() {
            u if u.starts_with("/absent") => format!("{}", context.config::<Absent>().unwrap_err()),
            u if u.starts_with("/number") => format!("{}", context.config::<GreetingAsNumber>().unwrap_err()),
            // The module's own metadata state next to the sections the crate caches there.
            u if u.starts_with("/state") => {
                let greeting = context.config::<Greeting>().map(|g| g.text.clone()).unwrap_or_default();
                let metadata = context.metadata().expect("the URL's metadata");
                let set = metadata.set_stored_context(AtomicUsize::new(0)).map_err(|e| format!("{:#x}", e.code().0 as u32));
                let seen = metadata.stored_context::<AtomicUsize>().map(|n| n.fetch_add(1, Ordering::SeqCst) + 1);
                format!("{greeting}|{set:?}|{seen:?}")
            }
            _ => match context.config::<Greeting>() {
                Ok(g) => format!("{}|{}|{}|{:?}|{:?}|{}|{:?}", g.text, g.loud, g.times, g.mode, g.wait.0, g.extras.iter().map(|e| format!("{}={}", e.name, e.value)).collect::<Vec<_>>().join(","), g.style.color),
                Err(e) => format!("error: {e}"),
            },
        };
        let _ = context.response().write(body.as_bytes());
        NotificationStatus::FinishRequest
    }
}

impl Default for Global {
    fn default() -> Self {
        REGISTRATIONS.fetch_add(1, Ordering::SeqCst);
        let read = config::read_at_registration::<Greeting>().map(|g| g.text).map_err(|e| e.to_string());
        *GLOBAL_TEXT.lock().unwrap() = Some(read);
        Global
    }
}

const APPHOST: &str = r#"<configuration>
  <configSections>
    <sectionGroup name="system.webServer"><section name="greeting" overrideModeDefault="Allow" /></sectionGroup>
  </configSections>
  <system.webServer>
    <greeting text="hello" times="2" wait="00:00:01.5">
      <add name="a" value="1" />
      <add name="b" value="2" />
    </greeting>
  </system.webServer>
  <location path="Default Web Site/fr">
    <system.webServer>
      <greeting text="bonjour" mode="Curt" loud="true"><remove name="a" /><add name="c" value="3" /><style color="bleu" /></greeting>
    </system.webServer>
  </location>
</configuration>"#;

fn text(server: &TestServer, url: &str) -> String {
    server.send(TestRequest::get(url)).body_str().into_owned()
}

fn sections_read(server: &TestServer) -> Vec<String> {
    server.server_calls().iter().filter(|c| c.method == "IAppHostAdminManager::GetAdminSection").map(|c| c.detail.clone()).collect()
}

/// The generated schema, served by the simulator too (types and defaults from it).
fn config_with_schema() -> Config {
    Config::new(APPHOST).unwrap().schema(&config::schema::<Greeting>().unwrap()).unwrap()
}

#[test]
fn reads_per_url_with_location_and_web_config_overrides() {
    let config = Config::new(APPHOST)
        .unwrap()
        .web_config("/fr/quebec", r#"<configuration><system.webServer><greeting text="allo"><clear /></greeting></system.webServer></configuration>"#)
        .unwrap();
    let server = TestServer::with_config(RegisterModule, &config).unwrap();
    assert_eq!(text(&server, "/index.html"), "hello|false|2|Polite|1.5s|a=1,b=2|None");
    assert_eq!(text(&server, "/fr/page.html"), "bonjour|true|2|Curt|1.5s|b=2,c=3|Some(\"bleu\")");
    assert_eq!(text(&server, "/FR/quebec/x?y=1"), "allo|true|2|Curt|1.5s||Some(\"bleu\")");
    // "fr" is a folder, not a prefix.
    assert_eq!(text(&server, "/french"), "hello|false|2|Polite|1.5s|a=1,b=2|None");
}

#[test]
fn one_read_per_meta_path_and_a_new_read_after_a_change() {
    let server = TestServer::with_config(RegisterModule, &config_with_schema()).unwrap();
    let before = sections_read(&server).len(); // the global module's read at registration
    for _ in 0..3 {
        assert!(text(&server, "/a.html").starts_with("hello|"));
        assert!(text(&server, "/fr/b.html").starts_with("bonjour|"));
    }
    let reads = &sections_read(&server)[before..];
    assert_eq!(
        reads,
        [
            "\"system.webServer/greeting\", \"MACHINE/WEBROOT/APPHOST/Default Web Site/a.html\" -> S_OK",
            "\"system.webServer/greeting\", \"MACHINE/WEBROOT/APPHOST/Default Web Site/fr/b.html\" -> S_OK"
        ],
        "one GetAdminSection per configuration path"
    );
    // A change under /fr: the new configuration is read there, the cache of /a.html stays.
    server.set_config(&Config::new(&APPHOST.replace("bonjour", "salut")).unwrap());
    server.notify_configuration_change("MACHINE/WEBROOT/APPHOST/Default Web Site/fr");
    assert!(text(&server, "/fr/b.html").starts_with("salut|"));
    assert!(text(&server, "/a.html").starts_with("hello|"));
    assert_eq!(sections_read(&server).len(), before + 3);
    let report = server.shutdown();
    assert!(report.stored_contexts_cleaned >= 2, "the caches in the metadata containers are cleaned up: {report:?}");
}

#[test]
fn the_modules_metadata_state_and_the_cached_sections_share_the_one_stored_context() {
    let server = TestServer::with_config(RegisterModule, &config_with_schema()).unwrap();
    let before = sections_read(&server).len();
    // Read first, so the section is cached in the metadata before the module stores its state.
    assert_eq!(text(&server, "/state/x"), "hello|Ok(())|Some(1)");
    // HRESULT_FROM_WIN32(ERROR_ALREADY_ASSIGNED) for a second value; the first one is kept.
    assert_eq!(text(&server, "/state/x"), "hello|Err(\"0x80070055\")|Some(2)");
    assert_eq!(sections_read(&server).len(), before + 1, "the section stayed cached next to the state");
    server.shutdown();
}

#[test]
fn global_module_reads_at_registration() {
    let before = REGISTRATIONS.load(Ordering::SeqCst);
    let server = TestServer::with_config(RegisterModule, &config_with_schema()).unwrap();
    assert!(REGISTRATIONS.load(Ordering::SeqCst) > before);
    assert!(server.server_calls().iter().any(|c| c.method == "IAppHostAdminManager::GetAdminSection" && c.detail.contains("\"MACHINE/WEBROOT/APPHOST\" -> S_OK")));
    drop(server);
    // Tests run in parallel: the last registration's read is one of these two.
    let last = GLOBAL_TEXT.lock().unwrap().clone().unwrap();
    assert!(last == Ok("hello".into()) || last.as_ref().is_err_and(|e| e.contains("system.webServer/greeting")), "{last:?}");
}

#[test]
fn errors_name_the_section_and_attribute() {
    let server = TestServer::with_config(RegisterModule, &config_with_schema()).unwrap();
    let absent = text(&server, "/absent");
    assert!(absent.contains("system.webServer/absent") && absent.contains("does not exist") && absent.contains("0x80070585"), "{absent}");
    let number = text(&server, "/number");
    assert!(number.contains("system.webServer/greeting") && number.contains("attribute text") && number.contains("\"hello\""), "{number}");

    // A required attribute (text) not set: without a schema the reader reports it; with the
    // generated schema (required="true") IIS refuses the section (ERROR_INVALID_DATA; the
    // module sees the HRESULT, the simulator's transcript says why).
    let missing = Config::new("<configuration><system.webServer><greeting times=\"1\" /></system.webServer></configuration>").unwrap();
    let server = TestServer::with_config(RegisterModule, &missing).unwrap();
    let e = text(&server, "/x");
    assert!(e.contains("system.webServer/greeting") && e.contains("required attribute text"), "{e}");
    let server = TestServer::with_config(RegisterModule, &missing.schema(&config::schema::<Greeting>().unwrap()).unwrap()).unwrap();
    let e = text(&server, "/x");
    assert!(e.contains("system.webServer/greeting") && e.contains("GetAdminSection failed with HRESULT 0x8007000d"), "{e}");
    assert!(sections_read(&server).iter().any(|d| d.contains("the required attribute \"text\" is not set")), "{:?}", sections_read(&server));

    // A value of the wrong type, typed by the schema (uint): IIS's get_Value fails.
    let bad = Config::new("<configuration><system.webServer><greeting text=\"t\" times=\"many\" /></system.webServer></configuration>").unwrap().schema(&config::schema::<Greeting>().unwrap()).unwrap();
    let server = TestServer::with_config(RegisterModule, &bad).unwrap();
    let e = text(&server, "/x");
    assert!(e.contains("system.webServer/greeting") && e.contains("times"), "{e}");
    // Without a schema, the text does not parse as the field's type.
    let bad = Config::new("<configuration><system.webServer><greeting text=\"t\" times=\"many\" mode=\"Shouty\" /></system.webServer></configuration>").unwrap();
    let server = TestServer::with_config(RegisterModule, &bad).unwrap();
    let e = text(&server, "/x");
    assert!(e.contains("attribute times") && e.contains("expected an integer"), "{e}");

    // No configuration at all.
    let server = TestServer::new(RegisterModule).unwrap();
    let e = text(&server, "/x");
    assert!(e.contains("system.webServer/greeting") && e.contains("does not exist"), "{e}");
    assert!(matches!(config::read_at_registration::<Greeting>(), Err(ConfigError::Iis { .. })), "outside a registration");
}

#[test]
fn generated_schema_parses_and_lists_every_attribute() {
    let schema = config::schema::<Greeting>().unwrap();
    let doc = roxmltree::Document::parse(&schema).unwrap();
    let section = doc.descendants().find(|n| n.has_tag_name("sectionSchema")).unwrap();
    assert_eq!(section.attribute("name"), Some("system.webServer/greeting"));
    fn attr<'a, 'i>(parent: roxmltree::Node<'a, 'i>, name: &str) -> roxmltree::Node<'a, 'i> {
        parent.children().find(|c| c.has_tag_name("attribute") && c.attribute("name") == Some(name)).unwrap_or_else(|| panic!("no attribute {name}"))
    }
    let get = |n: roxmltree::Node, a: &str| n.attribute(a).map(str::to_owned);
    let text = attr(section, "text");
    assert_eq!((get(text, "type"), get(text, "required")), (Some("string".into()), Some("true".into())));
    assert_eq!((get(attr(section, "loud"), "type"), get(attr(section, "loud"), "defaultValue")), (Some("bool".into()), Some("false".into())));
    assert_eq!((get(attr(section, "times"), "type"), get(attr(section, "times"), "defaultValue")), (Some("uint".into()), Some("1".into())));
    assert_eq!((get(attr(section, "wait"), "type"), get(attr(section, "wait"), "defaultValue")), (Some("timeSpan".into()), Some("00:00:00".into())));
    let mode = attr(section, "mode");
    assert_eq!(get(mode, "type").as_deref(), Some("enum"));
    let values: Vec<(String, String)> = mode.children().filter(|c| c.has_tag_name("enum")).map(|e| (get(e, "name").unwrap(), get(e, "value").unwrap())).collect();
    assert_eq!(values, [("Polite".into(), "0".into()), ("Curt".into(), "1".into())]);
    let collection = section.children().find(|c| c.has_tag_name("collection")).unwrap();
    assert_eq!((collection.attribute("addElement"), collection.attribute("removeElement"), collection.attribute("clearElement")), (Some("add"), Some("remove"), Some("clear")));
    assert_eq!(get(attr(collection, "name"), "isUniqueKey").as_deref(), Some("true"));
    assert_eq!(get(attr(collection, "value"), "required").as_deref(), Some("true"));
    let style = section.children().find(|c| c.has_tag_name("element") && c.attribute("name") == Some("style")).unwrap();
    assert!(get(attr(style, "color"), "required").is_none());
    // Every attribute of the type is listed, and nothing else.
    let listed: Vec<String> = section.children().filter(|c| c.has_tag_name("attribute")).map(|c| get(c, "name").unwrap()).collect();
    assert_eq!(listed, ["text", "loud", "times", "mode", "wait"]);

    let registration = config::registration::<Greeting>();
    let doc = roxmltree::Document::parse(&registration).unwrap();
    let group = doc.descendants().find(|n| n.has_tag_name("sectionGroup")).unwrap();
    assert_eq!(group.attribute("name"), Some("system.webServer"));
    let section = group.children().find(|n| n.has_tag_name("section")).unwrap();
    assert_eq!((section.attribute("name"), section.attribute("overrideModeDefault")), (Some("greeting"), Some("Allow")));
}
