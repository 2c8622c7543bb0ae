//! Module configuration from `applicationHost.config` / `web.config`: a section read for the
//! current request into your type, through `serde`.
//!
//! ```
//! use httpserv::config::ConfigSection;
//! use serde::{Deserialize, Serialize};
//!
//! #[derive(Deserialize, Serialize, Default)]
//! #[serde(default, rename_all = "camelCase")]
//! struct Greeting {
//!     enabled: bool,
//!     text: String,
//! }
//!
//! impl ConfigSection for Greeting {
//!     const NAME: &'static str = "system.webServer/greeting";
//! }
//! // In a handler: `let greeting = context.config::<Greeting>()?;` (an `Arc<Greeting>`).
//! ```
//!
//! How a read goes (the path a newcomer can follow here and in `com.rs`, `de.rs`):
//! `IHttpContext::GetMetadata` → the request's configuration path (`GetMetaPath`) and the
//! metadata's module context container → the value cached there by this module for the type, or
//! `IHttpServer::GetAdminManager` → `IAppHostAdminManager::GetAdminSection(NAME, path)` → the
//! element read into an owned tree (`com.rs`, every COM reference and `BSTR` released) → serde
//! (`de.rs`) → cached in the container. IIS keeps one metadata object per configuration path and
//! builds new ones when configuration changes, so a cached value lasts until then and each path
//! is read once
//! (<https://learn.microsoft.com/en-us/iis/web-development-reference/native-code-api-reference/imetadatainfo-interface>).
//!
//! Mapping: attributes and child elements are struct fields by name (use
//! `#[serde(rename_all = "camelCase")]` for IIS's names); a collection's entries (`<add .../>`)
//! are a `Vec` field named `add` (`#[serde(rename = "add")]`), or a child element read as a
//! `Vec`; `bool`, integers and `String` as IIS types them; enums by variant name (case-insensitive);
//! [`TimeSpan`] for `timeSpan` attributes; `Option` or `#[serde(default)]` for what may be unset.
//! [`schema`] writes the IIS schema file of such a type.

mod com;
mod de;
pub mod schema;

use std::any::{Any, TypeId};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use httpserv_sys::*;
use serde::de::DeserializeOwned;

pub use schema::{registration, schema, SchemaError};

/// The configuration path of the server level, what a global module reads at registration.
pub const APPHOST_PATH: &str = "MACHINE/WEBROOT/APPHOST";

/// A configuration section your module reads: its name and, through `serde`, its shape.
pub trait ConfigSection: DeserializeOwned + Send + Sync + 'static {
    /// The section's full name, as in `applicationHost.config` and the schema:
    /// `"system.webServer/securityHeaders"`.
    const NAME: &'static str;
}

/// A `timeSpan` attribute: IIS gives it in 100 ns ticks; without a schema, as `[d.]hh:mm:ss`.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct TimeSpan(pub Duration);

pub(crate) const TIME_SPAN: &str = "httpserv::config::TimeSpan";

impl<'de> serde::Deserialize<'de> for TimeSpan {
    fn deserialize<D: serde::Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        struct Ticks;
        impl serde::de::Visitor<'_> for Ticks {
            type Value = TimeSpan;
            fn expecting(&self, f: &mut core::fmt::Formatter) -> core::fmt::Result {
                f.write_str("a time span")
            }
            fn visit_u64<E: serde::de::Error>(self, ticks: u64) -> Result<TimeSpan, E> {
                Ok(TimeSpan(Duration::from_nanos(ticks.saturating_mul(100))))
            }
            fn visit_str<E: serde::de::Error>(self, text: &str) -> Result<TimeSpan, E> {
                httpserv_sys::timespan::parse_time_span(text).map(|t| TimeSpan(Duration::from_nanos(t.saturating_mul(100)))).ok_or_else(|| E::custom(format!("{text:?} is not a time span")))
            }
        }
        deserializer.deserialize_newtype_struct(TIME_SPAN, Ticks)
    }
}

impl serde::Serialize for TimeSpan {
    fn serialize<S: serde::Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.serialize_newtype_struct(TIME_SPAN, &format_time_span(self.0))
    }
}


pub(crate) fn format_time_span(d: Duration) -> String {
    let secs = d.as_secs();
    let (days, h, m, s) = (secs / 86_400, secs / 3600 % 24, secs / 60 % 60, secs % 60);
    let ticks = d.subsec_nanos() / 100;
    let mut out = if days > 0 { format!("{days}.{h:02}:{m:02}:{s:02}") } else { format!("{h:02}:{m:02}:{s:02}") };
    if ticks > 0 {
        out.push_str(&format!(".{ticks:07}"));
    }
    out
}

/// A configuration value as IIS typed it (`VT_BOOL`, `VT_I4`/`VT_I8`, `VT_UI4`/`VT_UI8`, `VT_BSTR`).
#[derive(Clone, Debug, PartialEq)]
pub(crate) enum Value {
    Bool(bool),
    Int(i64),
    Uint(u64),
    Str(String),
}

/// An element as read: attributes (typed value and text), child elements, collection entries.
#[derive(Clone, Debug, Default)]
pub(crate) struct Node {
    pub(crate) name: String,
    pub(crate) attrs: Vec<(String, Value, Option<String>)>,
    pub(crate) children: Vec<Node>,
    pub(crate) items: Vec<Node>,
}

/// Why a section could not be read, naming the section (`section`), the configuration path
/// (`path`) and, where it applies, the attribute or element (`attribute`: `name`,
/// `child/name`, `add[2]/value`), with IIS's `HRESULT` for IIS failures.
#[derive(Clone, Debug, PartialEq, Eq)]
#[allow(missing_docs)] // the fields are described above
pub enum ConfigError {
    /// IIS knows no such section (not registered in `<configSections>`, or no schema).
    MissingSection { section: String, path: String, hresult: i32 },
    /// A required attribute or element is not set.
    MissingAttribute { section: String, path: String, attribute: String },
    /// A value does not fit the field's type.
    WrongType { section: String, path: String, attribute: String, message: String },
    /// An IIS call failed (or IIS gave no admin manager, no metadata).
    Iis { section: String, path: String, hresult: i32, what: String },
}

impl ConfigError {
    /// The section concerned.
    pub fn section(&self) -> &str {
        match self {
            ConfigError::MissingSection { section, .. } | ConfigError::MissingAttribute { section, .. } | ConfigError::WrongType { section, .. } | ConfigError::Iis { section, .. } => section,
        }
    }

    /// The attribute (or element, `parent/child`) concerned, if any.
    pub fn attribute(&self) -> Option<&str> {
        match self {
            ConfigError::MissingAttribute { attribute, .. } | ConfigError::WrongType { attribute, .. } => Some(attribute),
            _ => None,
        }
    }
}

impl core::fmt::Display for ConfigError {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        match self {
            ConfigError::MissingSection { section, path, hresult } => write!(f, "configuration section {section} does not exist at {path} (HRESULT {:#010x}): register it in <configSections> and install its schema", *hresult as u32),
            ConfigError::MissingAttribute { section, path, attribute } => write!(f, "configuration section {section} at {path}: the required attribute {attribute} is not set"),
            ConfigError::WrongType { section, path, attribute, message } => write!(f, "configuration section {section} at {path}: attribute {attribute}: {message}"),
            ConfigError::Iis { section, path, hresult, what } => write!(f, "configuration section {section} at {path}: {what} failed with HRESULT {:#010x}", *hresult as u32),
        }
    }
}

impl std::error::Error for ConfigError {}

impl From<ConfigError> for crate::Error {
    fn from(e: ConfigError) -> crate::Error {
        let hr = match &e {
            ConfigError::MissingSection { hresult, .. } | ConfigError::Iis { hresult, .. } => *hresult,
            _ => 0x8007_000D_u32 as i32, // ERROR_INVALID_DATA
        };
        crate::Error::new(crate::HRESULT(hr), e.to_string())
    }
}

/// `HRESULT_FROM_WIN32(ERROR_INVALID_INDEX)`: IIS's answer for an unknown section name.
const HR_INVALID_INDEX: i32 = 0x8007_0585_u32 as i32;

/// Deserializes a read section into `T`.
pub(crate) fn from_node<T: DeserializeOwned>(node: &Node, section: &str, path: &str) -> Result<T, ConfigError> {
    T::deserialize(de::ElementDe(node)).map_err(|e| {
        let mut at = e.at.clone();
        match e.missing {
            Some(field) => {
                at.push(field);
                ConfigError::MissingAttribute { section: section.to_owned(), path: path.to_owned(), attribute: at.join("/").replace("/[", "[") }
            }
            None => ConfigError::WrongType { section: section.to_owned(), path: path.to_owned(), attribute: at.join("/").replace("/[", "["), message: e.message },
        }
    })
}

/// Reads section `T` at `path` through the admin manager, without caching.
///
/// # Safety
/// `server` is the live `IHttpServer`.
pub(crate) unsafe fn read_uncached<T: ConfigSection>(server: *mut IHttpServer, path: &str) -> Result<T, ConfigError> {
    let iis = |hresult, what: String| ConfigError::Iis { section: T::NAME.to_owned(), path: path.to_owned(), hresult, what };
    // SAFETY: `server` is live (the caller's contract).
    let admin = unsafe { ((*(*server).lpVtbl).GetAdminManager)(server) };
    if admin.is_null() {
        return Err(iis(0x8000_4005_u32 as i32, "IHttpServer::GetAdminManager (it returned NULL)".into()));
    }
    // SAFETY: IIS's admin manager lives as long as the server.
    let node = match unsafe { com::read_section(admin, T::NAME, path) } {
        Ok(node) => node,
        Err(e) if e.what == "GetAdminSection" && e.hresult == HR_INVALID_INDEX => {
            return Err(ConfigError::MissingSection { section: T::NAME.to_owned(), path: path.to_owned(), hresult: e.hresult })
        }
        Err(e) => return Err(iis(e.hresult, e.what)),
    };
    from_node(&node, T::NAME, path)
}

/// Reads section `T` at the server level ([`APPHOST_PATH`]) through the server of the module
/// whose `RegisterModule` or handler runs on this thread: what a global module does when it is
/// created (its `Default` runs inside `RegisterModule`). Not cached.
pub fn read_at_registration<T: ConfigSection>() -> Result<T, ConfigError> {
    let server = crate::bridge::registration::Current::with(|r| r.map(|r| r.server_raw()));
    let Some(server) = server else {
        return Err(ConfigError::Iis { section: T::NAME.to_owned(), path: APPHOST_PATH.to_owned(), hresult: crate::E_INVALIDARG.0, what: "read_at_registration outside RegisterModule or a handler".into() });
    };
    // SAFETY: the registration of the running RegisterModule or handler keeps its server live.
    unsafe { read_uncached::<T>(server, APPHOST_PATH) }
}

/// The configuration sections this module read for one metadata, one per section type (kept in
/// the module's slot in the metadata's container, `bridge/slot.rs`).
#[derive(Default)]
pub(crate) struct Cache(Mutex<Vec<(TypeId, Arc<dyn Any + Send + Sync>)>>);

impl Cache {
    fn get<T: ConfigSection>(&self) -> Option<Arc<T>> {
        let entries = self.0.lock().unwrap_or_else(|e| e.into_inner());
        let (_, value) = entries.iter().find(|(id, _)| *id == TypeId::of::<T>())?;
        value.clone().downcast::<T>().ok()
    }

    fn insert<T: ConfigSection>(&self, value: Arc<T>) {
        let mut entries = self.0.lock().unwrap_or_else(|e| e.into_inner());
        if !entries.iter().any(|(id, _)| *id == TypeId::of::<T>()) {
            entries.push((TypeId::of::<T>(), value));
        }
    }
}

/// The request's configuration path and its metadata's module context container.
///
/// # Safety
/// `context` is a live `IHttpContext`.
unsafe fn metadata(context: *mut IHttpContext) -> Option<(String, *mut IHttpModuleContextContainer)> {
    // SAFETY: live context; the metadata lives at least as long as the request.
    unsafe {
        let metadata = ((*(*context).lpVtbl).GetMetadata)(context);
        if metadata.is_null() {
            return None;
        }
        let vtbl = &*(*metadata).lpVtbl;
        let path = (vtbl.GetMetaPath)(metadata);
        if path.is_null() {
            return None;
        }
        let path = crate::strings::WideStr::from_pcwstr(path)?.to_string_lossy();
        Some((path, (vtbl.GetModuleContextContainer)(metadata)))
    }
}

/// `HttpContext::config`: see there.
///
/// # Safety
/// `context` is a live `IHttpContext`, `server` the module's live `IHttpServer` and `module_id`
/// the module's id.
pub(crate) unsafe fn read_for_request<T: ConfigSection>(context: *mut IHttpContext, server: *mut IHttpServer, module_id: HTTP_MODULE_ID) -> Result<Arc<T>, ConfigError> {
    // SAFETY: forwarded from the caller.
    let Some((path, container)) = (unsafe { metadata(context) }) else {
        return Err(ConfigError::Iis { section: T::NAME.to_owned(), path: String::new(), hresult: 0x8000_4005_u32 as i32, what: "IHttpContext::GetMetadata (no metadata or meta path)".into() });
    };
    // SAFETY: the metadata's container, live while the metadata is (through this request).
    let slot = unsafe { crate::bridge::slot::Slot::of_metadata(container, module_id) };
    if let Some(value) = slot.and_then(|slot| slot.config().get::<T>()) {
        return Ok(value);
    }
    // SAFETY: forwarded from the caller.
    let value = Arc::new(unsafe { read_uncached::<T>(server, &path) }?);
    if let Some(slot) = slot {
        slot.config().insert(value.clone());
    }
    Ok(value)
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde::Deserialize;

    fn s(v: &str) -> Value {
        Value::Str(v.into())
    }

    fn node(name: &str, attrs: &[(&str, Value)], children: Vec<Node>, items: Vec<Node>) -> Node {
        Node { name: name.into(), attrs: attrs.iter().map(|(n, v)| (n.to_string(), v.clone(), None)).collect(), children, items }
    }

    #[derive(Deserialize, Debug, PartialEq)]
    #[serde(rename_all = "camelCase")]
    struct Section {
        enabled: bool,
        max_age: u32,
        #[serde(default)]
        mode: Mode,
        wait: Option<TimeSpan>,
        #[serde(rename = "add", default)]
        entries: Vec<Entry>,
        limits: Limits,
    }

    #[derive(Deserialize, Debug, PartialEq, Default)]
    enum Mode {
        #[default]
        Quiet,
        Loud,
    }

    #[derive(Deserialize, Debug, PartialEq)]
    struct Entry {
        name: String,
        value: String,
    }

    #[derive(Deserialize, Debug, PartialEq)]
    #[serde(rename_all = "camelCase")]
    struct Limits {
        max_bytes: i64,
    }

    fn sample() -> Node {
        node(
            "sample",
            &[("enabled", Value::Bool(true)), ("maxAge", Value::Uint(60)), ("mode", s("LOUD")), ("wait", Value::Uint(15_000_000))],
            vec![node("limits", &[("maxBytes", Value::Int(-1))], vec![], vec![])],
            vec![node("add", &[("name", s("a")), ("value", s("1"))], vec![], vec![]), node("add", &[("name", s("b")), ("value", s("2"))], vec![], vec![])],
        )
    }

    #[test]
    fn reads_attributes_children_collections_enums_time_spans() {
        let section: Section = from_node(&sample(), "x/sample", "P").unwrap();
        assert_eq!(
            section,
            Section {
                enabled: true,
                max_age: 60,
                mode: Mode::Loud,
                wait: Some(TimeSpan(Duration::from_millis(1500))),
                entries: vec![Entry { name: "a".into(), value: "1".into() }, Entry { name: "b".into(), value: "2".into() }],
                limits: Limits { max_bytes: -1 },
            }
        );
        // Without a schema every value is text: parsed by the field's type.
        let untyped = node("sample", &[("enabled", s("True")), ("maxAge", s("7")), ("wait", s("00:00:02"))], vec![node("limits", &[("maxBytes", s("5"))], vec![], vec![])], vec![]);
        let section: Section = from_node(&untyped, "x/sample", "P").unwrap();
        assert_eq!((section.enabled, section.max_age, section.wait, section.mode), (true, 7, Some(TimeSpan(Duration::from_secs(2))), Mode::Quiet));
    }

    #[test]
    fn errors_name_section_and_attribute() {
        let mut missing = sample();
        missing.attrs.retain(|(n, _, _)| n != "maxAge");
        let e = from_node::<Section>(&missing, "x/sample", "MACHINE/WEBROOT/APPHOST").unwrap_err();
        assert_eq!(e, ConfigError::MissingAttribute { section: "x/sample".into(), path: "MACHINE/WEBROOT/APPHOST".into(), attribute: "maxAge".into() });
        assert!(e.to_string().contains("x/sample") && e.to_string().contains("maxAge"), "{e}");

        let mut wrong = sample();
        wrong.attrs[0].1 = s("yes");
        let e = from_node::<Section>(&wrong, "x/sample", "P").unwrap_err();
        assert_eq!(e.attribute(), Some("enabled"), "{e}");
        assert!(e.to_string().contains("expected a boolean"), "{e}");

        let mut range = sample();
        range.attrs[1].1 = Value::Int(-3);
        let e = from_node::<Section>(&range, "x/sample", "P").unwrap_err();
        assert_eq!(e.attribute(), Some("maxAge"), "{e}");

        let mut nested = sample();
        nested.children[0].attrs[0].1 = s("lots");
        assert_eq!(from_node::<Section>(&nested, "x/sample", "P").unwrap_err().attribute(), Some("limits/maxBytes"));

        let mut entry = sample();
        entry.items[1].attrs.retain(|(n, _, _)| n != "value");
        assert_eq!(from_node::<Section>(&entry, "x/sample", "P").unwrap_err().attribute(), Some("add[1]/value"));

        let mut bad_enum = sample();
        bad_enum.attrs[2].1 = s("Whisper");
        let e = from_node::<Section>(&bad_enum, "x/sample", "P").unwrap_err();
        assert!(e.to_string().contains("Whisper") && e.attribute() == Some("mode"), "{e}");

        let mut no_child = sample();
        no_child.children.clear();
        assert_eq!(from_node::<Section>(&no_child, "x/sample", "P").unwrap_err().attribute(), Some("limits"));
    }

    #[test]
    fn time_span_text_round_trips() {
        for d in [Duration::from_millis(90_500), Duration::from_secs(86_400 * 2 + 3), Duration::ZERO] {
            let text = format_time_span(d);
            assert_eq!(httpserv_sys::timespan::parse_time_span(&text), Some((d.as_nanos() / 100) as u64), "{text}");
        }
        assert_eq!(format_time_span(Duration::from_millis(90_500)), "00:01:30.5000000");
        assert_eq!(format_time_span(Duration::from_secs(86_400 * 2 + 3)), "2.00:00:03");
    }
}
