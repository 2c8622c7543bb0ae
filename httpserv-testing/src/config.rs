//! Configuration: an `applicationHost.config`-style document (with `<location path>` overrides),
//! `web.config` documents by URL and schema files, served to modules through the ahadmin COM
//! interfaces (`IHttpServer::GetAdminManager` → `IAppHostAdminManager::GetAdminSection`).
//!
//! The rules, from Microsoft's description of IIS configuration
//! (<https://learn.microsoft.com/en-us/iis/get-started/planning-your-iis-architecture/deep-dive-into-iis-configuration-with-iis-7-and-iis-8>):
//!
//! - A configuration path is `MACHINE/WEBROOT/APPHOST[/<site>[/<url path>]]`. The settings for a
//!   path are those of `applicationHost.config`'s root, then of every `<location path="...">`
//!   and `web.config` whose path is an ancestor of (or equal to) it, from the shallowest down;
//!   at one level the `<location>` of `applicationHost.config` comes before that folder's
//!   `web.config`. Deeper levels override attributes and merge child elements.
//! - Collections (`<add>`, `<remove>`, `<clear/>`, or the element names the schema gives) are
//!   inherited and edited level by level: `<add>` appends (replacing an inherited entry with the
//!   same unique key), `<remove>` deletes entries whose key attributes match, `<clear/>` drops
//!   everything inherited
//!   (<https://learn.microsoft.com/en-us/iis/configuration/system.webserver/defaultdocument/files/>).
//! - With a schema (`<configSchema><sectionSchema name=...>`, the format of
//!   `%windir%\system32\inetsrv\config\schema\*.xml`,
//!   <https://learn.microsoft.com/en-us/iis/develop/extending-iis-configuration/extending-iis-schema-and-accessing-the-custom-sections-using-mwa>),
//!   attributes have types and defaults: `get_Value` returns `VT_BOOL`, `VT_I4` (`int`, and
//!   `enum`/`flags` as their numeric value), `VT_UI4` (`uint`), `VT_I8` (`int64`), `VT_UI8`
//!   (`timeSpan`, in 100 ns ticks, as ASP.NET Core Module's `GetElementRawTimeSpanProperty`
//!   reads it) or `VT_BSTR`; an attribute not set anywhere has its default. Without a schema
//!   every attribute that is set is a `VT_BSTR`.
//! - An unknown section, attribute, child element or collection index is
//!   `HRESULT_FROM_WIN32(ERROR_INVALID_INDEX)` (0x80070585, the "Invalid index" AHADMIN gives).
//!
//! The objects are read-only: writes (`put_Value`, `AddElement`, ...) return `E_NOTIMPL`.

use std::ffi::c_void;
use std::sync::atomic::{AtomicU32, Ordering};
use std::sync::Arc;

use httpserv_sys::*;
use serde::{Deserialize, Serialize};
use windows_sys::core::{BSTR, GUID, HRESULT};
use windows_sys::Win32::System::Variant::{VARIANT, VT_BOOL, VT_BSTR, VT_I2, VT_I4, VT_I8, VT_UI2, VT_UI4, VT_UI8};

use super::strings::{hresult_from_win32, put, E_INVALIDARG, E_NOINTERFACE, E_NOTIMPL, HR_INVALID_INDEX, S_OK};

/// The configuration path of the server level.
pub const APPHOST_PATH: &str = "MACHINE/WEBROOT/APPHOST";

/// `HRESULT_FROM_WIN32(ERROR_INVALID_DATA)`: a value that does not fit its schema type.
const HR_INVALID_DATA: HRESULT = hresult_from_win32(13);

/// The configuration a test gives the simulator: `applicationHost.config`, `web.config` files by
/// URL path, and schema files. Each part is parsed when it is added, so a malformed document is
/// an error there, naming the document.
///
/// ```
/// # use httpserv_testing::Config;
/// let config = Config::new(r#"<configuration>
///   <system.webServer><greeting text="hello" /></system.webServer>
///   <location path="Default Web Site/fr"><system.webServer><greeting text="bonjour" /></system.webServer></location>
/// </configuration>"#).unwrap()
///     .web_config("/fr/quebec", r#"<configuration><system.webServer><greeting text="allo" /></system.webServer></configuration>"#).unwrap();
/// ```
#[derive(Clone, Debug, Default, Serialize, Deserialize, PartialEq, Eq)]
pub struct Config {
    application_host: String,
    web_configs: Vec<(String, String)>,
    schemas: Vec<String>,
}

impl Config {
    /// A configuration from the text of an `applicationHost.config` (root `<configuration>`).
    pub fn new(application_host_config: &str) -> Result<Config, String> {
        let config = Config { application_host: application_host_config.to_owned(), ..Config::default() };
        config.parse()?;
        Ok(config)
    }

    /// Adds the `web.config` of the folder `url_path` of the site (`"/app"`): its settings apply
    /// to that URL and below, after `applicationHost.config`'s.
    pub fn web_config(mut self, url_path: &str, web_config: &str) -> Result<Config, String> {
        self.web_configs.push((url_path.to_owned(), web_config.to_owned()));
        self.parse()?;
        Ok(self)
    }

    /// Adds a schema file (`<configSchema>`), giving the attributes of its sections types and
    /// defaults.
    pub fn schema(mut self, schema_xml: &str) -> Result<Config, String> {
        self.schemas.push(schema_xml.to_owned());
        self.parse()?;
        Ok(self)
    }

    pub(crate) fn parse(&self) -> Result<Doc, String> {
        let mut doc = Doc::default();
        let mut order = 0;
        read_configuration(&self.application_host, "applicationHost.config", &[], &mut doc, &mut order)?;
        for (url, text) in &self.web_configs {
            let mut base = vec![super::SITE_NAME.to_ascii_lowercase()];
            base.extend(segments(url));
            read_configuration(text, &format!("web.config of {url}"), &base, &mut doc, &mut order)?;
        }
        for (index, text) in self.schemas.iter().enumerate() {
            read_schema(text, index, &mut doc)?;
        }
        Ok(doc)
    }
}

/// Lowercase path segments (IIS configuration paths are case-insensitive).
fn segments(path: &str) -> Vec<String> {
    path.split('/').filter(|s| !s.is_empty()).map(|s| s.to_ascii_lowercase()).collect()
}

/// An XML element of a configuration document, as written.
#[derive(Clone, Debug)]
struct Node {
    name: String,
    attrs: Vec<(String, String)>,
    children: Vec<Node>,
}

fn node(element: roxmltree::Node) -> Node {
    Node {
        name: element.tag_name().name().to_owned(),
        attrs: element.attributes().map(|a| (a.name().to_owned(), a.value().to_owned())).collect(),
        children: element.children().filter(|c| c.is_element()).map(node).collect(),
    }
}

/// The settings one document gives one path.
struct Layer {
    path: Vec<String>,
    /// Document order, to keep `applicationHost.config` before a `web.config` at one level.
    order: usize,
    root: Node,
}

/// A parsed [`Config`].
#[derive(Default)]
pub(crate) struct Doc {
    layers: Vec<Layer>,
    schemas: Vec<ElementSchema>,
    /// Sections declared in `<configSections>`.
    declared: Vec<String>,
}

fn read_configuration(text: &str, what: &str, base: &[String], doc: &mut Doc, order: &mut usize) -> Result<(), String> {
    let xml = roxmltree::Document::parse(text).map_err(|e| format!("{what}: {e}"))?;
    let root = xml.root_element();
    if root.tag_name().name() != "configuration" {
        return Err(format!("{what}: the root element is <{}>, not <configuration>", root.tag_name().name()));
    }
    let mut here = Node { name: String::new(), attrs: Vec::new(), children: Vec::new() };
    for child in root.children().filter(|c| c.is_element()) {
        match child.tag_name().name() {
            "configSections" => declared_sections(child, "", &mut doc.declared),
            "location" => {
                let path = child.attribute("path").unwrap_or("");
                let mut full = base.to_vec();
                full.extend(segments(path));
                let mut located = node(child);
                located.name.clear();
                *order += 1;
                doc.layers.push(Layer { path: full, order: *order, root: located });
            }
            _ => here.children.push(node(child)),
        }
    }
    *order += 1;
    doc.layers.push(Layer { path: base.to_vec(), order: *order, root: here });
    Ok(())
}

fn declared_sections(group: roxmltree::Node, prefix: &str, out: &mut Vec<String>) {
    for child in group.children().filter(|c| c.is_element()) {
        let Some(name) = child.attribute("name") else { continue };
        let full = if prefix.is_empty() { name.to_owned() } else { format!("{prefix}/{name}") };
        match child.tag_name().name() {
            "sectionGroup" => declared_sections(child, &full, out),
            "section" => out.push(full),
            _ => {}
        }
    }
}

// ---------------------------------------------------------------------------------------------
// Schema.

#[derive(Clone, Debug, Default)]
pub(crate) struct AttrSchema {
    name: String,
    ty: String,
    default: Option<String>,
    required: bool,
    unique_key: bool,
    enums: Vec<(String, i64)>,
}

#[derive(Clone, Debug, Default)]
pub(crate) struct CollectionSchema {
    add: String,
    remove: String,
    clear: String,
    item: ElementSchema,
}

#[derive(Clone, Debug, Default)]
pub(crate) struct ElementSchema {
    name: String,
    attrs: Vec<AttrSchema>,
    elements: Vec<ElementSchema>,
    collection: Option<Box<CollectionSchema>>,
}

fn read_schema(text: &str, index: usize, doc: &mut Doc) -> Result<(), String> {
    let what = format!("schema #{}", index + 1);
    let xml = roxmltree::Document::parse(text).map_err(|e| format!("{what}: {e}"))?;
    let root = xml.root_element();
    if root.tag_name().name() != "configSchema" {
        return Err(format!("{what}: the root element is <{}>, not <configSchema>", root.tag_name().name()));
    }
    for section in root.children().filter(|c| c.has_tag_name("sectionSchema")) {
        let name = section.attribute("name").ok_or_else(|| format!("{what}: <sectionSchema> without a name"))?;
        let mut schema = element_schema(section, &what)?;
        schema.name = name.to_owned();
        doc.schemas.push(schema);
    }
    Ok(())
}

fn element_schema(element: roxmltree::Node, what: &str) -> Result<ElementSchema, String> {
    let mut schema = ElementSchema { name: element.attribute("name").unwrap_or_default().to_owned(), ..ElementSchema::default() };
    for child in element.children().filter(|c| c.is_element()) {
        match child.tag_name().name() {
            "attribute" => {
                let name = child.attribute("name").ok_or_else(|| format!("{what}: <attribute> without a name"))?;
                let ty = child.attribute("type").unwrap_or("string");
                let mut enums = Vec::new();
                for value in child.children().filter(|c| c.has_tag_name("enum")) {
                    let (Some(n), Some(v)) = (value.attribute("name"), value.attribute("value")) else {
                        return Err(format!("{what}: attribute {name}: <enum> needs name and value"));
                    };
                    let v = parse_int(v).ok_or_else(|| format!("{what}: attribute {name}: enum value {v:?} is not a number"))?;
                    enums.push((n.to_owned(), v));
                }
                if !["bool", "string", "int", "uint", "int64", "enum", "flags", "timeSpan"].contains(&ty) {
                    return Err(format!("{what}: attribute {name}: unknown type {ty:?}"));
                }
                schema.attrs.push(AttrSchema {
                    name: name.to_owned(),
                    ty: ty.to_owned(),
                    default: child.attribute("defaultValue").map(str::to_owned),
                    required: child.attribute("required") == Some("true"),
                    unique_key: child.attribute("isUniqueKey") == Some("true"),
                    enums,
                });
            }
            "element" => schema.elements.push(element_schema(child, what)?),
            "collection" => {
                schema.collection = Some(Box::new(CollectionSchema {
                    add: child.attribute("addElement").unwrap_or("add").to_owned(),
                    remove: child.attribute("removeElement").unwrap_or("remove").to_owned(),
                    clear: child.attribute("clearElement").unwrap_or("clear").to_owned(),
                    item: element_schema(child, what)?,
                }))
            }
            _ => {}
        }
    }
    Ok(schema)
}

fn parse_int(text: &str) -> Option<i64> {
    match text.strip_prefix("0x").or_else(|| text.strip_prefix("0X")) {
        Some(hex) => i64::from_str_radix(hex, 16).ok(),
        None => text.parse().ok(),
    }
}

// ---------------------------------------------------------------------------------------------
// Resolution: the merged element of a section at a path.

/// A section or element after merging, as the COM objects serve it.
#[derive(Clone, Debug, Default)]
pub(crate) struct Elem {
    name: String,
    attrs: Vec<(String, String)>,
    children: Vec<Elem>,
    items: Vec<Elem>,
    schema: Option<ElementSchema>,
}

impl Doc {
    /// The section `section` for the configuration path `path`, or the `HRESULT` IIS gives.
    pub(crate) fn resolve(&self, section: &str, path: &str) -> Result<Elem, (HRESULT, String)> {
        let rest = strip_prefix_ci(path.trim_end_matches('/'), APPHOST_PATH)
            .filter(|r| r.is_empty() || r.starts_with('/'))
            .ok_or_else(|| (E_INVALIDARG, format!("{path:?} is not a path under {APPHOST_PATH}")))?;
        let target = segments(rest);
        let names: Vec<&str> = section.split('/').collect();
        let schema = self.schemas.iter().find(|s| s.name == section).cloned();
        let mut layers: Vec<&Layer> = self.layers.iter().filter(|l| l.path.len() <= target.len() && l.path[..] == target[..l.path.len()]).collect();
        layers.sort_by_key(|l| (l.path.len(), l.order));
        let mut found = schema.is_some() || self.declared.iter().any(|d| d == section);
        let mut acc = Elem { name: names.last().copied().unwrap_or_default().to_owned(), ..Elem::default() };
        for layer in layers {
            if let Some(node) = find(&layer.root, &names) {
                found = true;
                merge(&mut acc, node, schema.as_ref());
            }
        }
        if !found {
            return Err((HR_INVALID_INDEX, format!("no section {section:?}: not declared, set or described by a schema")));
        }
        if let Some(schema) = &schema {
            apply_schema(&mut acc, schema, section).map_err(|why| (HR_INVALID_DATA, why))?;
        }
        Ok(acc)
    }
}

fn strip_prefix_ci<'a>(text: &'a str, prefix: &str) -> Option<&'a str> {
    (text.len() >= prefix.len() && text.is_char_boundary(prefix.len()) && text[..prefix.len()].eq_ignore_ascii_case(prefix)).then(|| &text[prefix.len()..])
}

fn find<'a>(root: &'a Node, names: &[&str]) -> Option<&'a Node> {
    let mut node = root;
    for name in names {
        node = node.children.iter().find(|c| c.name == *name)?;
    }
    Some(node)
}

fn merge(acc: &mut Elem, node: &Node, schema: Option<&ElementSchema>) {
    for (name, value) in &node.attrs {
        match acc.attrs.iter_mut().find(|(n, _)| n == name) {
            Some(slot) => slot.1 = value.clone(),
            None => acc.attrs.push((name.clone(), value.clone())),
        }
    }
    let collection = schema.and_then(|s| s.collection.as_deref());
    let (add, remove, clear) = match collection {
        Some(c) => (c.add.as_str(), c.remove.as_str(), c.clear.as_str()),
        None => ("add", "remove", "clear"),
    };
    for child in &node.children {
        if child.name == add {
            let item = Elem { name: child.name.clone(), attrs: child.attrs.clone(), ..Elem::default() };
            let keys: Vec<&str> = match collection {
                Some(c) => c.item.attrs.iter().filter(|a| a.unique_key).map(|a| a.name.as_str()).collect(),
                None => child.attrs.iter().map(|(n, _)| n.as_str()).filter(|n| *n == "name" || *n == "key").take(1).collect(),
            };
            let same = |e: &Elem| !keys.is_empty() && keys.iter().all(|k| e.attr(k) == item.attr(k));
            match acc.items.iter().position(same) {
                Some(at) => acc.items[at] = item,
                None => acc.items.push(item),
            }
        } else if child.name == remove {
            acc.items.retain(|e| !child.attrs.iter().all(|(n, v)| e.attr(n) == Some(v.as_str())));
        } else if child.name == clear {
            acc.items.clear();
        } else {
            let child_schema = schema.and_then(|s| s.elements.iter().find(|e| e.name == child.name));
            let at = match acc.children.iter().position(|c| c.name == child.name) {
                Some(at) => at,
                None => {
                    acc.children.push(Elem { name: child.name.clone(), ..Elem::default() });
                    acc.children.len() - 1
                }
            };
            merge(&mut acc.children[at], child, child_schema);
        }
    }
}

/// Attaches the schema and fills in defaults and declared child elements; a required attribute
/// that is not set is an error, as IIS refuses such a configuration.
fn apply_schema(elem: &mut Elem, schema: &ElementSchema, at: &str) -> Result<(), String> {
    for attr in &schema.attrs {
        if elem.attr(&attr.name).is_none() {
            match &attr.default {
                Some(default) => elem.attrs.push((attr.name.clone(), default.clone())),
                None if attr.required => return Err(format!("{at}: the required attribute {:?} is not set", attr.name)),
                None => {}
            }
        }
    }
    for child in &schema.elements {
        if !elem.children.iter().any(|c| c.name == child.name) {
            elem.children.push(Elem { name: child.name.clone(), ..Elem::default() });
        }
        let inner = format!("{at}/{}", child.name);
        let index = at_index(&elem.children, &child.name);
        apply_schema(&mut elem.children[index], child, &inner)?;
    }
    if let Some(collection) = &schema.collection {
        for (index, item) in elem.items.iter_mut().enumerate() {
            apply_schema(item, &collection.item, &format!("{at}, collection entry {index}"))?;
        }
    }
    elem.schema = Some(schema.clone());
    Ok(())
}

fn at_index(children: &[Elem], name: &str) -> usize {
    children.iter().position(|c| c.name == name).expect("inserted above")
}

impl Elem {
    fn attr(&self, name: &str) -> Option<&str> {
        self.attrs.iter().find(|(n, _)| n == name).map(|(_, v)| v.as_str())
    }

    fn attr_schema(&self, name: &str) -> Option<&AttrSchema> {
        self.schema.as_ref()?.attrs.iter().find(|a| a.name == name)
    }

    /// The properties the element exposes: the schema's attributes that have a value, in schema
    /// order, or those set, without a schema.
    fn properties(&self) -> Vec<Prop> {
        match &self.schema {
            Some(schema) => schema
                .attrs
                .iter()
                .filter_map(|a| Some(Prop { name: a.name.clone(), raw: self.attr(&a.name)?.to_owned(), schema: Some(a.clone()) }))
                .collect(),
            None => self.attrs.iter().map(|(n, v)| Prop { name: n.clone(), raw: v.clone(), schema: None }).collect(),
        }
    }

    fn property(&self, name: &str) -> Option<Prop> {
        let raw = self.attr(name)?.to_owned();
        if self.schema.is_some() && self.attr_schema(name).is_none() {
            return None;
        }
        Some(Prop { name: name.to_owned(), raw, schema: self.attr_schema(name).cloned() })
    }
}

/// A property: its name, its text as written (or the default) and its schema.
#[derive(Clone, Debug)]
struct Prop {
    name: String,
    raw: String,
    schema: Option<AttrSchema>,
}

/// A typed value, as `get_Value` gives it.
#[derive(Clone, Copy, Debug, PartialEq)]
enum Typed<'a> {
    Bool(bool),
    I4(i32),
    U4(u32),
    I8(i64),
    U8(u64),
    Str(&'a str),
}

impl Prop {
    fn typed(&self) -> Result<Typed<'_>, String> {
        let raw = self.raw.as_str();
        let bad = || format!("attribute {}: {raw:?} is not a valid {}", self.name, self.schema.as_ref().map_or("string", |s| s.ty.as_str()));
        let Some(schema) = &self.schema else { return Ok(Typed::Str(raw)) };
        Ok(match schema.ty.as_str() {
            "bool" => match raw.to_ascii_lowercase().as_str() {
                "true" => Typed::Bool(true),
                "false" => Typed::Bool(false),
                _ => return Err(bad()),
            },
            "int" => Typed::I4(raw.parse().map_err(|_| bad())?),
            "uint" => Typed::U4(raw.parse().map_err(|_| bad())?),
            "int64" => Typed::I8(raw.parse().map_err(|_| bad())?),
            "enum" => Typed::I4(schema.enums.iter().find(|(n, _)| n.eq_ignore_ascii_case(raw)).map(|(_, v)| *v as i32).ok_or_else(bad)?),
            "flags" => {
                let mut bits = 0i64;
                for part in raw.split(',').map(str::trim).filter(|p| !p.is_empty()) {
                    bits |= schema.enums.iter().find(|(n, _)| n.eq_ignore_ascii_case(part)).map(|(_, v)| *v).ok_or_else(bad)?;
                }
                Typed::I4(bits as i32)
            }
            "timeSpan" => Typed::U8(httpserv_sys::timespan::parse_time_span(raw).ok_or_else(bad)?),
            _ => Typed::Str(raw),
        })
    }
}


// ---------------------------------------------------------------------------------------------
// The COM objects. Each is a heap object whose first field is its vtable, reference counted as
// COM requires; the last `Release` frees it. They own their data (an `Arc` of the merged
// element), so nothing in them points into the server.

/// Defines COM methods: `unsafe extern "system"` (`__stdcall` on x86) functions whose bodies run
/// under the simulator's panic guard.
macro_rules! com_thunks {
    ($(
        fn $name:ident($($arg:ident: $ty:ty),* $(,)?) $(-> $ret:ty)? $body:block
    )*) => {$(
        #[allow(clippy::missing_safety_doc)]
        unsafe extern "system" fn $name($($arg: $ty),*) $(-> $ret)? {
            $crate::thunk::guard(move || $(-> $ret)? { $body })
        }
    )*};
}

#[repr(C)]
struct Com<T> {
    vtbl: *const c_void,
    refs: AtomicU32,
    iid: GUID,
    data: T,
}

fn com_new<T, V>(vtbl: &'static V, iid: GUID, data: T) -> *mut c_void {
    Box::into_raw(Box::new(Com { vtbl: vtbl as *const V as *const c_void, refs: AtomicU32::new(1), iid, data })) as *mut c_void
}

/// The data of the COM object `this`.
///
/// # Safety
///
/// `this` was made by [`com_new`] with data of type `T` and is still referenced.
unsafe fn com_data<'a, T, I>(this: *mut I) -> &'a T {
    // SAFETY: per this function's contract.
    unsafe { &(*(this as *const Com<T>)).data }
}

/// `IUnknown`'s three methods for a COM object of data `T`.
macro_rules! com_unknown {
    ($qi:ident, $add_ref:ident, $release:ident, $data:ty) => {
        com_thunks! {
            fn $qi(this: *mut IUnknown, riid: *const GUID, out: *mut *mut c_void) -> HRESULT {
                if out.is_null() || riid.is_null() {
                    return E_INVALIDARG;
                }
                // SAFETY: `this` is a live object of ours (the caller holds a reference);
                // `riid` points to a GUID and `out` is writable (checked non-null above).
                unsafe {
                    let object = &*(this as *const Com<$data>);
                    if super::server::guid_eq(&*riid, &IUnknown::IID) || super::server::guid_eq(&*riid, &object.iid) {
                        object.refs.fetch_add(1, Ordering::Relaxed);
                        put(out, this as *mut c_void);
                        S_OK
                    } else {
                        put(out, std::ptr::null_mut());
                        E_NOINTERFACE
                    }
                }
            }
            fn $add_ref(this: *mut IUnknown) -> u32 {
                // SAFETY: `this` is a live object of ours.
                unsafe { (*(this as *const Com<$data>)).refs.fetch_add(1, Ordering::Relaxed) + 1 }
            }
            fn $release(this: *mut IUnknown) -> u32 {
                // SAFETY: `this` is a live object of ours; the reference the caller gives back is
                // the last one when the count drops to 0, so no one else can reach it.
                unsafe {
                    let left = (*(this as *const Com<$data>)).refs.fetch_sub(1, Ordering::AcqRel) - 1;
                    if left == 0 {
                        drop(Box::from_raw(this as *mut Com<$data>));
                    }
                    left
                }
            }
        }
    };
}

const fn unknown_vtbl(
    qi: commethod!((this: *mut IUnknown, riid: *const GUID, object: *mut *mut c_void) -> HRESULT),
    add_ref: commethod!((this: *mut IUnknown) -> u32),
    release: commethod!((this: *mut IUnknown) -> u32),
) -> IUnknown_Vtbl {
    IUnknown_Vtbl { QueryInterface: qi, AddRef: add_ref, Release: release }
}

/// Writes a new `BSTR` of `text` to `out`.
///
/// # Safety
///
/// `out` is null or writable.
unsafe fn put_bstr(out: *mut BSTR, text: &str) -> HRESULT {
    if out.is_null() {
        return E_INVALIDARG;
    }
    let wide: Vec<u16> = text.encode_utf16().collect();
    // SAFETY: `out` is writable (checked non-null).
    unsafe { put(out, httpserv_sys::bstr::alloc(&wide)) };
    S_OK
}

/// The text of a `BSTR` argument.
///
/// # Safety
///
/// `bstr` is null or a live `BSTR`.
unsafe fn bstr_arg(bstr: BSTR) -> String {
    // SAFETY: per this function's contract.
    String::from_utf16_lossy(unsafe { httpserv_sys::bstr::as_wide(bstr) })
}

/// An index argument: a number, or a name (`VT_BSTR`).
enum Index {
    Number(usize),
    Name(String),
}

/// # Safety
///
/// `v` is a valid VARIANT (its `vt` says which field is set).
unsafe fn index_arg(v: &VARIANT) -> Option<Index> {
    // SAFETY: `vt` says which union field is valid.
    unsafe {
        let inner = &v.Anonymous.Anonymous;
        let value = &inner.Anonymous;
        match inner.vt {
            VT_I4 => usize::try_from(value.lVal).ok().map(Index::Number),
            VT_UI4 => Some(Index::Number(value.lVal as u32 as usize)),
            VT_I2 => usize::try_from(value.iVal).ok().map(Index::Number),
            VT_UI2 => Some(Index::Number(value.iVal as u16 as usize)),
            VT_BSTR => Some(Index::Name(bstr_arg(value.bstrVal))),
            _ => None,
        }
    }
}

/// Writes the typed value to `out`.
///
/// # Safety
///
/// `out` is null or writable.
unsafe fn put_variant(out: *mut VARIANT, value: Typed) -> HRESULT {
    if out.is_null() {
        return E_INVALIDARG;
    }
    // SAFETY: VARIANT is plain data; all-zero is VT_EMPTY.
    let mut v: VARIANT = unsafe { std::mem::zeroed() };
    // SAFETY: each arm sets `vt` and the field it names.
    unsafe {
        let inner = &mut v.Anonymous.Anonymous;
        match value {
            Typed::Bool(b) => {
                inner.vt = VT_BOOL;
                inner.Anonymous.boolVal = if b { -1 } else { 0 };
            }
            Typed::I4(n) => {
                inner.vt = VT_I4;
                inner.Anonymous.lVal = n;
            }
            Typed::U4(n) => {
                inner.vt = VT_UI4;
                inner.Anonymous.lVal = n as i32;
            }
            Typed::I8(n) => {
                inner.vt = VT_I8;
                inner.Anonymous.llVal = n;
            }
            Typed::U8(n) => {
                inner.vt = VT_UI8;
                inner.Anonymous.llVal = n as i64;
            }
            Typed::Str(s) => {
                let wide: Vec<u16> = s.encode_utf16().collect();
                inner.vt = VT_BSTR;
                inner.Anonymous.bstrVal = httpserv_sys::bstr::alloc(&wide);
            }
        }
        put(out, v);
    }
    S_OK
}

/// Hands out a new element object.
fn element_object(elem: Elem) -> *mut IAppHostElement {
    com_new(&ELEMENT_VTBL, IAppHostElement::IID, Arc::new(elem)) as *mut IAppHostElement
}

type ElemData = Arc<Elem>;

com_unknown!(el_qi, el_add_ref, el_release, ElemData);
com_unknown!(props_qi, props_add_ref, props_release, ElemData);
com_unknown!(coll_qi, coll_add_ref, coll_release, ElemData);
com_unknown!(kids_qi, kids_add_ref, kids_release, ElemData);
com_unknown!(prop_qi, prop_add_ref, prop_release, Prop);

com_thunks! {
    fn el_get_name(this: *mut IAppHostElement, out: *mut BSTR) -> HRESULT {
        // SAFETY: `this` is a live element object; `out` is null or writable.
        unsafe { put_bstr(out, &com_data::<ElemData, _>(this).name) }
    }
    fn el_get_collection(this: *mut IAppHostElement, out: *mut *mut IAppHostElementCollection) -> HRESULT {
        // SAFETY: `this` is a live element object.
        let elem = unsafe { com_data::<ElemData, _>(this) };
        if out.is_null() {
            return E_INVALIDARG;
        }
        if elem.schema.as_ref().is_some_and(|s| s.collection.is_none()) {
            // SAFETY: `out` is writable.
            unsafe { put(out, std::ptr::null_mut()) };
            return HR_INVALID_INDEX;
        }
        // SAFETY: `out` is writable.
        unsafe { put(out, com_new(&COLLECTION_VTBL, IAppHostElementCollection::IID, elem.clone()) as *mut IAppHostElementCollection) };
        S_OK
    }
    fn el_get_properties(this: *mut IAppHostElement, out: *mut *mut IAppHostPropertyCollection) -> HRESULT {
        // SAFETY: `this` is a live element object.
        let elem = unsafe { com_data::<ElemData, _>(this) };
        if out.is_null() {
            return E_INVALIDARG;
        }
        // SAFETY: `out` is writable.
        unsafe { put(out, com_new(&PROPERTIES_VTBL, IAppHostPropertyCollection::IID, elem.clone()) as *mut IAppHostPropertyCollection) };
        S_OK
    }
    fn el_get_child_elements(this: *mut IAppHostElement, out: *mut *mut IAppHostChildElementCollection) -> HRESULT {
        // SAFETY: `this` is a live element object.
        let elem = unsafe { com_data::<ElemData, _>(this) };
        if out.is_null() {
            return E_INVALIDARG;
        }
        // SAFETY: `out` is writable.
        unsafe { put(out, com_new(&CHILDREN_VTBL, IAppHostChildElementCollection::IID, elem.clone()) as *mut IAppHostChildElementCollection) };
        S_OK
    }
    fn el_get_metadata(_this: *mut IAppHostElement, _kind: BSTR, _value: *mut VARIANT) -> HRESULT {
        E_NOTIMPL
    }
    fn el_set_metadata(_this: *mut IAppHostElement, _kind: BSTR, _value: VARIANT) -> HRESULT {
        E_NOTIMPL
    }
    fn el_get_schema(_this: *mut IAppHostElement, out: *mut *mut IAppHostElementSchema) -> HRESULT {
        // SAFETY: `out` is null or writable.
        unsafe { put(out, std::ptr::null_mut()) };
        E_NOTIMPL
    }
    fn el_get_element_by_name(this: *mut IAppHostElement, name: BSTR, out: *mut *mut IAppHostElement) -> HRESULT {
        // SAFETY: `this` is a live element object; `name` is null or a BSTR.
        let (elem, name) = unsafe { (com_data::<ElemData, _>(this), bstr_arg(name)) };
        if out.is_null() {
            return E_INVALIDARG;
        }
        let found = elem.children.iter().find(|c| c.name == name).cloned();
        // SAFETY: `out` is writable.
        unsafe { put(out, found.clone().map_or(std::ptr::null_mut(), element_object)) };
        if found.is_some() { S_OK } else { HR_INVALID_INDEX }
    }
    fn el_get_property_by_name(this: *mut IAppHostElement, name: BSTR, out: *mut *mut IAppHostProperty) -> HRESULT {
        // SAFETY: `this` is a live element object; `name` is null or a BSTR.
        let (elem, name) = unsafe { (com_data::<ElemData, _>(this), bstr_arg(name)) };
        if out.is_null() {
            return E_INVALIDARG;
        }
        let found = elem.property(&name);
        let hr = if found.is_some() { S_OK } else { HR_INVALID_INDEX };
        // SAFETY: `out` is writable.
        unsafe { put(out, found.map_or(std::ptr::null_mut(), |p| com_new(&PROPERTY_VTBL, IAppHostProperty::IID, p) as *mut IAppHostProperty)) };
        hr
    }
    fn el_clear(_this: *mut IAppHostElement) -> HRESULT {
        E_NOTIMPL
    }
    fn el_get_methods(_this: *mut IAppHostElement, out: *mut *mut IAppHostMethodCollection) -> HRESULT {
        // SAFETY: `out` is null or writable.
        unsafe { put(out, std::ptr::null_mut()) };
        E_NOTIMPL
    }

    fn props_get_count(this: *mut IAppHostPropertyCollection, out: *mut u32) -> HRESULT {
        // SAFETY: `this` is a live property collection; `out` is null or writable.
        unsafe {
            if out.is_null() {
                return E_INVALIDARG;
            }
            put(out, com_data::<ElemData, _>(this).properties().len() as u32);
        }
        S_OK
    }
    fn props_get_item(this: *mut IAppHostPropertyCollection, index: VARIANT, out: *mut *mut IAppHostProperty) -> HRESULT {
        // SAFETY: `this` is a live property collection; `index` is a VARIANT.
        let (elem, index) = unsafe { (com_data::<ElemData, _>(this), index_arg(&index)) };
        if out.is_null() {
            return E_INVALIDARG;
        }
        let found = match index {
            Some(Index::Number(n)) => elem.properties().into_iter().nth(n),
            Some(Index::Name(name)) => elem.property(&name),
            None => None,
        };
        let hr = if found.is_some() { S_OK } else { HR_INVALID_INDEX };
        // SAFETY: `out` is writable.
        unsafe { put(out, found.map_or(std::ptr::null_mut(), |p| com_new(&PROPERTY_VTBL, IAppHostProperty::IID, p) as *mut IAppHostProperty)) };
        hr
    }

    fn coll_get_count(this: *mut IAppHostElementCollection, out: *mut u32) -> HRESULT {
        // SAFETY: `this` is a live collection; `out` is null or writable.
        unsafe {
            if out.is_null() {
                return E_INVALIDARG;
            }
            put(out, com_data::<ElemData, _>(this).items.len() as u32);
        }
        S_OK
    }
    fn coll_get_item(this: *mut IAppHostElementCollection, index: VARIANT, out: *mut *mut IAppHostElement) -> HRESULT {
        // SAFETY: `this` is a live collection; `index` is a VARIANT.
        let (elem, index) = unsafe { (com_data::<ElemData, _>(this), index_arg(&index)) };
        if out.is_null() {
            return E_INVALIDARG;
        }
        let found = match index {
            Some(Index::Number(n)) => elem.items.get(n).cloned(),
            _ => None,
        };
        let hr = if found.is_some() { S_OK } else { HR_INVALID_INDEX };
        // SAFETY: `out` is writable.
        unsafe { put(out, found.map_or(std::ptr::null_mut(), element_object)) };
        hr
    }
    fn coll_add_element(_this: *mut IAppHostElementCollection, _element: *mut IAppHostElement, _position: i32) -> HRESULT {
        E_NOTIMPL
    }
    fn coll_delete_element(_this: *mut IAppHostElementCollection, _index: VARIANT) -> HRESULT {
        E_NOTIMPL
    }
    fn coll_clear(_this: *mut IAppHostElementCollection) -> HRESULT {
        E_NOTIMPL
    }
    fn coll_create_new_element(_this: *mut IAppHostElementCollection, _name: BSTR, out: *mut *mut IAppHostElement) -> HRESULT {
        // SAFETY: `out` is null or writable.
        unsafe { put(out, std::ptr::null_mut()) };
        E_NOTIMPL
    }
    fn coll_get_schema(_this: *mut IAppHostElementCollection, out: *mut *mut IAppHostCollectionSchema) -> HRESULT {
        // SAFETY: `out` is null or writable.
        unsafe { put(out, std::ptr::null_mut()) };
        E_NOTIMPL
    }

    fn kids_get_count(this: *mut IAppHostChildElementCollection, out: *mut u32) -> HRESULT {
        // SAFETY: `this` is a live child-element collection; `out` is null or writable.
        unsafe {
            if out.is_null() {
                return E_INVALIDARG;
            }
            put(out, com_data::<ElemData, _>(this).children.len() as u32);
        }
        S_OK
    }
    fn kids_get_item(this: *mut IAppHostChildElementCollection, index: VARIANT, out: *mut *mut IAppHostElement) -> HRESULT {
        // SAFETY: `this` is a live child-element collection; `index` is a VARIANT.
        let (elem, index) = unsafe { (com_data::<ElemData, _>(this), index_arg(&index)) };
        if out.is_null() {
            return E_INVALIDARG;
        }
        let found = match index {
            Some(Index::Number(n)) => elem.children.get(n).cloned(),
            Some(Index::Name(name)) => elem.children.iter().find(|c| c.name == name).cloned(),
            None => None,
        };
        let hr = if found.is_some() { S_OK } else { HR_INVALID_INDEX };
        // SAFETY: `out` is writable.
        unsafe { put(out, found.map_or(std::ptr::null_mut(), element_object)) };
        hr
    }

    fn prop_get_name(this: *mut IAppHostProperty, out: *mut BSTR) -> HRESULT {
        // SAFETY: `this` is a live property; `out` is null or writable.
        unsafe { put_bstr(out, &com_data::<Prop, _>(this).name) }
    }
    fn prop_get_value(this: *mut IAppHostProperty, out: *mut VARIANT) -> HRESULT {
        // SAFETY: `this` is a live property.
        let prop = unsafe { com_data::<Prop, _>(this) };
        match prop.typed() {
            // SAFETY: `out` is null or writable.
            Ok(value) => unsafe { put_variant(out, value) },
            Err(_) => HR_INVALID_DATA,
        }
    }
    fn prop_put_value(_this: *mut IAppHostProperty, _value: VARIANT) -> HRESULT {
        E_NOTIMPL
    }
    fn prop_clear(_this: *mut IAppHostProperty) -> HRESULT {
        E_NOTIMPL
    }
    fn prop_get_string_value(this: *mut IAppHostProperty, out: *mut BSTR) -> HRESULT {
        // SAFETY: `this` is a live property; `out` is null or writable.
        unsafe { put_bstr(out, &com_data::<Prop, _>(this).raw) }
    }
    fn prop_get_exception(_this: *mut IAppHostProperty, out: *mut *mut IAppHostPropertyException) -> HRESULT {
        // SAFETY: `out` is null or writable. No validation error is pending on a property here.
        unsafe { put(out, std::ptr::null_mut()) };
        S_OK
    }
    fn prop_get_metadata(_this: *mut IAppHostProperty, _kind: BSTR, _value: *mut VARIANT) -> HRESULT {
        E_NOTIMPL
    }
    fn prop_set_metadata(_this: *mut IAppHostProperty, _kind: BSTR, _value: VARIANT) -> HRESULT {
        E_NOTIMPL
    }
    fn prop_get_schema(_this: *mut IAppHostProperty, out: *mut *mut IAppHostPropertySchema) -> HRESULT {
        // SAFETY: `out` is null or writable.
        unsafe { put(out, std::ptr::null_mut()) };
        E_NOTIMPL
    }
}

static ELEMENT_VTBL: IAppHostElement_Vtbl = IAppHostElement_Vtbl {
    base__: unknown_vtbl(el_qi, el_add_ref, el_release),
    get_Name: el_get_name,
    get_Collection: el_get_collection,
    get_Properties: el_get_properties,
    get_ChildElements: el_get_child_elements,
    GetMetadata: el_get_metadata,
    SetMetadata: el_set_metadata,
    get_Schema: el_get_schema,
    GetElementByName: el_get_element_by_name,
    GetPropertyByName: el_get_property_by_name,
    Clear: el_clear,
    get_Methods: el_get_methods,
};

static PROPERTIES_VTBL: IAppHostPropertyCollection_Vtbl = IAppHostPropertyCollection_Vtbl {
    base__: unknown_vtbl(props_qi, props_add_ref, props_release),
    get_Count: props_get_count,
    get_Item: props_get_item,
};

static COLLECTION_VTBL: IAppHostElementCollection_Vtbl = IAppHostElementCollection_Vtbl {
    base__: unknown_vtbl(coll_qi, coll_add_ref, coll_release),
    get_Count: coll_get_count,
    get_Item: coll_get_item,
    AddElement: coll_add_element,
    DeleteElement: coll_delete_element,
    Clear: coll_clear,
    CreateNewElement: coll_create_new_element,
    get_Schema: coll_get_schema,
};

static CHILDREN_VTBL: IAppHostChildElementCollection_Vtbl = IAppHostChildElementCollection_Vtbl {
    base__: unknown_vtbl(kids_qi, kids_add_ref, kids_release),
    get_Count: kids_get_count,
    get_Item: kids_get_item,
};

static PROPERTY_VTBL: IAppHostProperty_Vtbl = IAppHostProperty_Vtbl {
    base__: unknown_vtbl(prop_qi, prop_add_ref, prop_release),
    get_Name: prop_get_name,
    get_Value: prop_get_value,
    put_Value: prop_put_value,
    Clear: prop_clear,
    get_StringValue: prop_get_string_value,
    get_Exception: prop_get_exception,
    GetMetadata: prop_get_metadata,
    SetMetadata: prop_set_metadata,
    get_Schema: prop_get_schema,
};

/// Resolves a section and hands out its element object (what `GetAdminSection` gives).
pub(crate) fn admin_section(doc: Option<&Doc>, section: &str, path: &str) -> Result<*mut IAppHostElement, (HRESULT, String)> {
    let doc = doc.ok_or_else(|| (HR_INVALID_INDEX, format!("no section {section:?}: the server has no configuration (TestServer::with_config)")))?;
    doc.resolve(section, path).map(element_object)
}

#[cfg(test)]
mod tests {
    use super::*;

    const APPHOST: &str = r#"<configuration>
      <configSections><sectionGroup name="system.webServer"><section name="declaredOnly" /></sectionGroup></configSections>
      <system.webServer>
        <greeting text="hello" loud="false">
          <add name="a" value="1" /><add name="b" value="2" />
          <style color="red" />
        </greeting>
      </system.webServer>
      <location path="Default Web Site/fr">
        <system.webServer><greeting text="bonjour"><remove name="a" /><add name="c" value="3" /><style size="big" /></greeting></system.webServer>
      </location>
      <location path="Default Web Site/none">
        <system.webServer><greeting><clear /></greeting></system.webServer>
      </location>
    </configuration>"#;

    fn names(e: &Elem) -> Vec<&str> {
        e.items.iter().map(|i| i.attr("name").unwrap()).collect()
    }

    #[test]
    fn locations_override_and_edit_collections() {
        let doc = Config::new(APPHOST).unwrap().parse().unwrap();
        let root = doc.resolve("system.webServer/greeting", "MACHINE/WEBROOT/APPHOST").unwrap();
        assert_eq!((root.attr("text"), names(&root)), (Some("hello"), vec!["a", "b"]));
        let fr = doc.resolve("system.webServer/greeting", "MACHINE/WEBROOT/APPHOST/Default Web Site/FR/page.html").unwrap();
        assert_eq!((fr.attr("text"), fr.attr("loud"), names(&fr)), (Some("bonjour"), Some("false"), vec!["b", "c"]));
        let style = fr.children.iter().find(|c| c.name == "style").unwrap();
        assert_eq!((style.attr("color"), style.attr("size")), (Some("red"), Some("big")));
        // "fr" is a folder, not a prefix of "french".
        let french = doc.resolve("system.webServer/greeting", "MACHINE/WEBROOT/APPHOST/Default Web Site/french").unwrap();
        assert_eq!(french.attr("text"), Some("hello"));
        let none = doc.resolve("system.webServer/greeting", "MACHINE/WEBROOT/APPHOST/Default Web Site/none").unwrap();
        assert!(none.items.is_empty());
    }

    #[test]
    fn web_config_comes_after_the_location_at_its_level() {
        let doc = Config::new(APPHOST)
            .unwrap()
            .web_config("/fr", r#"<configuration><system.webServer><greeting text="salut" /></system.webServer></configuration>"#)
            .unwrap()
            .parse()
            .unwrap();
        let fr = doc.resolve("system.webServer/greeting", "MACHINE/WEBROOT/APPHOST/Default Web Site/fr").unwrap();
        assert_eq!(fr.attr("text"), Some("salut"));
    }

    #[test]
    fn unknown_sections_and_paths_and_bad_documents() {
        let doc = Config::new(APPHOST).unwrap().parse().unwrap();
        assert_eq!(doc.resolve("system.webServer/nothing", APPHOST_PATH).unwrap_err().0, HR_INVALID_INDEX);
        assert!(doc.resolve("system.webServer/declaredOnly", APPHOST_PATH).unwrap().attrs.is_empty());
        assert_eq!(doc.resolve("system.webServer/greeting", "MACHINE/WEBROOT").unwrap_err().0, E_INVALIDARG);
        assert_eq!(doc.resolve("system.webServer/greeting", "MACHINE/WEBROOT/APPHOSTX").unwrap_err().0, E_INVALIDARG);
        let err = Config::new("<configuration><a></configuration>").unwrap_err();
        assert!(err.starts_with("applicationHost.config:"), "{err}");
        assert!(Config::new("<other/>").unwrap_err().contains("not <configuration>"));
        assert!(Config::new("<configuration/>").unwrap().schema("<configSchema><sectionSchema name='x'><attribute name='a' type='float'/></sectionSchema></configSchema>").unwrap_err().contains("unknown type"));
    }

    #[test]
    fn schema_types_and_defaults() {
        let schema = r#"<configSchema><sectionSchema name="system.webServer/greeting">
            <attribute name="text" type="string" defaultValue="hi" />
            <attribute name="loud" type="bool" defaultValue="true" />
            <attribute name="times" type="uint" defaultValue="3" />
            <attribute name="mode" type="enum" defaultValue="Quiet"><enum name="Quiet" value="0" /><enum name="Shout" value="2" /></attribute>
            <attribute name="wait" type="timeSpan" defaultValue="00:01:30" />
            <collection addElement="add"><attribute name="name" type="string" isUniqueKey="true" /><attribute name="value" type="int" defaultValue="7" /></collection>
          </sectionSchema></configSchema>"#;
        let doc = Config::new(APPHOST).unwrap().schema(schema).unwrap().parse().unwrap();
        let root = doc.resolve("system.webServer/greeting", APPHOST_PATH).unwrap();
        let typed = |name: &str| root.property(name).map(|p| format!("{:?}", p.typed().unwrap()));
        assert_eq!(typed("text").as_deref(), Some("Str(\"hello\")"));
        assert_eq!(typed("loud").as_deref(), Some("Bool(false)"));
        assert_eq!(typed("times").as_deref(), Some("U4(3)"));
        assert_eq!(typed("mode").as_deref(), Some("I4(0)"));
        assert_eq!(typed("wait").as_deref(), Some("U8(900000000)"));
        assert!(root.property("style").is_none() && root.property("nope").is_none());
        assert_eq!(root.properties().len(), 5);
        // A duplicate key replaces the inherited entry.
        let dup = Config::new(r#"<configuration><system.webServer><greeting><add name="a" value="1"/></greeting></system.webServer>
            <location path="Default Web Site"><system.webServer><greeting><add name="a" value="9"/></greeting></system.webServer></location></configuration>"#)
            .unwrap()
            .schema(schema)
            .unwrap()
            .parse()
            .unwrap();
        let site = dup.resolve("system.webServer/greeting", "MACHINE/WEBROOT/APPHOST/Default Web Site").unwrap();
        assert_eq!(site.items.len(), 1);
        assert_eq!(site.items[0].attr("value"), Some("9"));
    }
}

// ---------------------------------------------------------------------------------------------
// The server's IAppHostAdminManager and the per-path IMetadataInfo.

use super::containers::{ContextStore, Kind, Scope};
use super::server::ServerShared;
use super::thunk::{owner, thunks, Obj, Pinned};

com_thunks! {
    fn admin_qi(this: *mut IUnknown, riid: *const GUID, out: *mut *mut c_void) -> HRESULT {
        if out.is_null() || riid.is_null() {
            return E_INVALIDARG;
        }
        // SAFETY: `riid` points to a GUID; `out` is writable (both checked non-null).
        unsafe {
            if super::server::guid_eq(&*riid, &IUnknown::IID) || super::server::guid_eq(&*riid, &IAppHostAdminManager::IID) {
                put(out, this as *mut c_void);
                S_OK
            } else {
                put(out, std::ptr::null_mut());
                E_NOINTERFACE
            }
        }
    }
    // The admin manager belongs to the server, as IIS's does (GetAdminManager hands out no
    // reference): AddRef and Release do not end it.
    fn admin_add_ref(_this: *mut IUnknown) -> u32 {
        2
    }
    fn admin_release(_this: *mut IUnknown) -> u32 {
        1
    }
    fn admin_get_admin_section(this: *mut IAppHostAdminManager, section: BSTR, path: BSTR, out: *mut *mut IAppHostElement) -> HRESULT {
        // SAFETY: `this` is the server's admin manager; `section` and `path` are null or BSTRs.
        let (server, section, path) = unsafe { (owner::<ServerShared, _>(this), bstr_arg(section), bstr_arg(path)) };
        if out.is_null() {
            server.record("IAppHostAdminManager::GetAdminSection", format!("{section:?}, {path:?}, NULL -> E_INVALIDARG"));
            return E_INVALIDARG;
        }
        let doc = server.config();
        match admin_section(doc.as_deref(), &section, &path) {
            Ok(element) => {
                server.record("IAppHostAdminManager::GetAdminSection", format!("{section:?}, {path:?} -> S_OK"));
                // SAFETY: `out` is writable.
                unsafe { put(out, element) };
                S_OK
            }
            Err((hr, why)) => {
                server.record("IAppHostAdminManager::GetAdminSection", format!("{section:?}, {path:?} -> {} ({why})", super::strings::hr_str(hr)));
                // SAFETY: `out` is writable.
                unsafe { put(out, std::ptr::null_mut()) };
                hr
            }
        }
    }
    fn admin_get_metadata(_this: *mut IAppHostAdminManager, _kind: BSTR, _value: *mut VARIANT) -> HRESULT {
        E_NOTIMPL
    }
    fn admin_set_metadata(_this: *mut IAppHostAdminManager, _kind: BSTR, _value: VARIANT) -> HRESULT {
        E_NOTIMPL
    }
    fn admin_get_config_manager(_this: *mut IAppHostAdminManager, out: *mut *mut IAppHostConfigManager) -> HRESULT {
        // SAFETY: `out` is null or writable.
        unsafe { put(out, std::ptr::null_mut()) };
        E_NOTIMPL
    }
}

pub(crate) static ADMIN_VTBL: IAppHostAdminManager_Vtbl = IAppHostAdminManager_Vtbl {
    base__: unknown_vtbl(admin_qi, admin_add_ref, admin_release),
    GetAdminSection: admin_get_admin_section,
    GetMetadata: admin_get_metadata,
    SetMetadata: admin_set_metadata,
    get_ConfigManager: admin_get_config_manager,
};

/// The configuration path of a URL: `MACHINE/WEBROOT/APPHOST/<site><url path>`, without the
/// query and without a trailing `/` (what `IMetadataInfo::GetMetaPath` gives the request, and
/// what modules pass to `GetAdminSection`).
pub(crate) fn meta_path(url: &str) -> String {
    let (path, _) = super::strings::split_query(url);
    let path = path.trim_end_matches('/');
    format!("{APPHOST_PATH}/{}{path}", super::SITE_NAME)
}

/// The metadata of one configuration path: IIS keeps one per path, shared by the requests to
/// it, with a module context container that lives as long as the metadata
/// (<https://learn.microsoft.com/en-us/iis/web-development-reference/native-code-api-reference/imetadatainfo-getmodulecontextcontainer-method>).
pub(crate) struct Metadata {
    obj: Obj<Metadata>,
    pub(crate) path: String,
    path_w: Box<[u16]>,
    store: ContextStore,
}

impl Metadata {
    pub(crate) fn create(path: &str, server: *const ServerShared) -> Pinned<Metadata> {
        let metadata = Pinned::new(Box::new(Metadata {
            obj: Obj::new(&METADATA_VTBL),
            path: path.to_owned(),
            path_w: super::strings::wide(path).into_boxed_slice(),
            store: ContextStore::new(Kind::Module, "metadata"),
        }));
        let raw = metadata.as_ptr();
        // SAFETY: `raw` is the only handle to the new metadata; the borrow ends here.
        let me = unsafe { &mut *raw };
        me.obj.set_owner(raw);
        me.store.init(Scope::Server(server));
        metadata
    }

    pub(crate) fn as_ptr(&self) -> *mut IMetadataInfo {
        self.obj.as_ptr()
    }

    /// Cleans the stored contexts of the container; the count cleaned.
    pub(crate) fn cleanup(&self) -> usize {
        self.store.cleanup()
    }
}

/// The metadata `this` points to.
///
/// # Safety
///
/// `this` is a metadata object of a live server.
unsafe fn metadata<'a>(this: *mut IMetadataInfo) -> &'a Metadata {
    // SAFETY: per the contract.
    unsafe { owner::<Metadata, _>(this) }
}

thunks! {
    fn md_get_meta_path(this: *mut IMetadataInfo) -> windows_sys::core::PCWSTR {
        // SAFETY: called on a metadata object handed out by the server.
        unsafe { metadata(this) }.path_w.as_ptr()
    }
    fn md_get_vr_path(_this: *mut IMetadataInfo) -> windows_sys::core::PCWSTR {
        windows_sys::core::w!("C:\\inetpub\\wwwroot")
    }
    fn md_get_vr_token(_this: *mut IMetadataInfo) -> *mut IHttpTokenEntry {
        std::ptr::null_mut()
    }
    fn md_get_module_context_container(this: *mut IMetadataInfo) -> *mut IHttpModuleContextContainer {
        // SAFETY: called on a metadata object handed out by the server.
        unsafe { metadata(this) }.store.as_ptr()
    }
}

static METADATA_VTBL: IMetadataInfo_Vtbl = IMetadataInfo_Vtbl {
    GetMetaPath: md_get_meta_path,
    GetVrPath: md_get_vr_path,
    GetVrToken: md_get_vr_token,
    GetModuleContextContainer: md_get_module_context_container,
};
