//! The IIS schema of a configuration type, and its `<configSections>` registration, generated
//! from the type itself so that a module's install needs no hand-written XML.
//!
//! The schema file format is that of `%windir%\system32\inetsrv\config\schema\*_schema.xml`
//! (<https://learn.microsoft.com/en-us/iis/develop/extending-iis-configuration/extending-iis-schema-and-accessing-the-custom-sections-using-mwa>):
//! `<configSchema><sectionSchema name="group/section">` with `<attribute name type
//! defaultValue required isUniqueKey>`, `<element>` for child elements, `<collection
//! addElement removeElement clearElement>` for collections and `<enum name value>` for enums.
//!
//! The shape comes from tracing the type's `Deserialize` (which fields, which types), the
//! defaults from serializing `T::default()`, and "required" from whether deserializing without
//! the attribute fails. Types: `bool` → `bool`; `u8`..`u32` → `uint`; `i8`..`i32` → `int`;
//! `i64`/`u64` → `int64`; `String` → `string`; a unit-variant enum → `enum` (values 0, 1, ... in
//! declaration order); [`TimeSpan`](super::TimeSpan) → `timeSpan`; a struct → `<element>`; a
//! `Vec` named `add` → the element's `<collection>` (another `Vec` field → a child element
//! holding a collection); an entry's `name` (or `key`, else its first) attribute is its unique
//! key.

use serde::de::{self, DeserializeOwned, DeserializeSeed, IntoDeserializer, MapAccess, SeqAccess, Visitor};
use serde::Serialize;

/// Why a schema could not be generated.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct SchemaError(pub String);

impl core::fmt::Display for SchemaError {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        write!(f, "configuration schema: {}", self.0)
    }
}

impl std::error::Error for SchemaError {}

impl de::Error for SchemaError {
    fn custom<T: core::fmt::Display>(message: T) -> Self {
        SchemaError(message.to_string())
    }

    fn missing_field(field: &'static str) -> Self {
        SchemaError(format!("{MISSING}{field}"))
    }
}

const MISSING: &str = "missing field: ";

/// What a field's type asked the deserializer for.
#[derive(Clone, Debug, PartialEq)]
enum Shape {
    Unknown,
    Bool,
    Int,
    Uint,
    Int64,
    Str,
    TimeSpan,
    Enum(Vec<String>),
    Struct(Vec<(String, Shape)>),
    Seq(Box<Shape>),
    Option(Box<Shape>),
}

/// Traces one value; `skip` is a field path (`a/b`) to leave out, `here` this value's path.
struct Tracer<'s> {
    shape: &'s mut Shape,
    skip: Option<&'s str>,
    here: String,
}

impl<'de> de::Deserializer<'de> for Tracer<'_> {
    type Error = SchemaError;

    fn deserialize_any<V: Visitor<'de>>(self, _visitor: V) -> Result<V::Value, SchemaError> {
        Err(SchemaError(format!("{}: the type of this field has no configuration type (use bool, integers, String, enums, TimeSpan, structs, Vec or Option)", self.here)))
    }
    fn deserialize_bool<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value, SchemaError> {
        *self.shape = Shape::Bool;
        visitor.visit_bool(false)
    }
    fn deserialize_i8<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value, SchemaError> {
        *self.shape = Shape::Int;
        visitor.visit_i8(0)
    }
    fn deserialize_i16<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value, SchemaError> {
        *self.shape = Shape::Int;
        visitor.visit_i16(0)
    }
    fn deserialize_i32<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value, SchemaError> {
        *self.shape = Shape::Int;
        visitor.visit_i32(0)
    }
    fn deserialize_i64<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value, SchemaError> {
        *self.shape = Shape::Int64;
        visitor.visit_i64(0)
    }
    fn deserialize_u8<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value, SchemaError> {
        *self.shape = Shape::Uint;
        visitor.visit_u8(0)
    }
    fn deserialize_u16<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value, SchemaError> {
        *self.shape = Shape::Uint;
        visitor.visit_u16(0)
    }
    fn deserialize_u32<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value, SchemaError> {
        *self.shape = Shape::Uint;
        visitor.visit_u32(0)
    }
    fn deserialize_u64<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value, SchemaError> {
        *self.shape = Shape::Int64;
        visitor.visit_u64(0)
    }
    fn deserialize_str<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value, SchemaError> {
        *self.shape = Shape::Str;
        visitor.visit_str("")
    }
    fn deserialize_string<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value, SchemaError> {
        self.deserialize_str(visitor)
    }
    fn deserialize_option<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value, SchemaError> {
        let mut inner = Shape::Unknown;
        let value = visitor.visit_some(Tracer { shape: &mut inner, skip: self.skip, here: self.here })?;
        *self.shape = Shape::Option(Box::new(inner));
        Ok(value)
    }
    fn deserialize_newtype_struct<V: Visitor<'de>>(self, name: &'static str, visitor: V) -> Result<V::Value, SchemaError> {
        if name == super::TIME_SPAN {
            *self.shape = Shape::TimeSpan;
            return visitor.visit_u64(0);
        }
        visitor.visit_newtype_struct(self)
    }
    fn deserialize_seq<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value, SchemaError> {
        let mut inner = Shape::Unknown;
        let value = visitor.visit_seq(OneItem { shape: Some(&mut inner), skip: self.skip, here: format!("{}[0]", self.here) })?;
        *self.shape = Shape::Seq(Box::new(inner));
        Ok(value)
    }
    fn deserialize_struct<V: Visitor<'de>>(self, _name: &'static str, fields: &'static [&'static str], visitor: V) -> Result<V::Value, SchemaError> {
        let mut shapes: Vec<(String, Shape)> = fields.iter().map(|f| (f.to_string(), Shape::Unknown)).collect();
        let value = visitor.visit_map(TraceMap { fields: &mut shapes, next: 0, skip: self.skip, here: self.here })?;
        *self.shape = Shape::Struct(shapes);
        Ok(value)
    }
    fn deserialize_enum<V: Visitor<'de>>(self, name: &'static str, variants: &'static [&'static str], visitor: V) -> Result<V::Value, SchemaError> {
        let first = variants.first().ok_or_else(|| SchemaError(format!("{}: enum {name} has no variants", self.here)))?;
        *self.shape = Shape::Enum(variants.iter().map(|v| v.to_string()).collect());
        visitor.visit_enum((*first).into_deserializer())
    }

    serde::forward_to_deserialize_any! {
        i128 u128 f32 f64 char bytes byte_buf unit unit_struct tuple tuple_struct map identifier ignored_any
    }
}

struct TraceMap<'s> {
    fields: &'s mut Vec<(String, Shape)>,
    next: usize,
    skip: Option<&'s str>,
    here: String,
}

impl TraceMap<'_> {
    fn path(&self, field: &str) -> String {
        if self.here.is_empty() {
            field.to_owned()
        } else {
            format!("{}/{field}", self.here)
        }
    }
}

impl<'de> MapAccess<'de> for TraceMap<'_> {
    type Error = SchemaError;

    fn next_key_seed<K: DeserializeSeed<'de>>(&mut self, seed: K) -> Result<Option<K::Value>, SchemaError> {
        while self.next < self.fields.len() && Some(self.path(&self.fields[self.next].0).as_str()) == self.skip {
            self.next += 1;
        }
        match self.fields.get(self.next) {
            Some((name, _)) => seed.deserialize(name.clone().into_deserializer()).map(Some),
            None => Ok(None),
        }
    }

    fn next_value_seed<V: DeserializeSeed<'de>>(&mut self, seed: V) -> Result<V::Value, SchemaError> {
        let here = self.path(&self.fields[self.next].0);
        let skip = self.skip;
        let shape = &mut self.fields[self.next].1;
        self.next += 1;
        seed.deserialize(Tracer { shape, skip, here })
    }
}

struct OneItem<'s> {
    shape: Option<&'s mut Shape>,
    skip: Option<&'s str>,
    here: String,
}

impl<'de> SeqAccess<'de> for OneItem<'_> {
    type Error = SchemaError;

    fn next_element_seed<T: DeserializeSeed<'de>>(&mut self, seed: T) -> Result<Option<T::Value>, SchemaError> {
        match self.shape.take() {
            Some(shape) => seed.deserialize(Tracer { shape, skip: self.skip, here: self.here.clone() }).map(Some),
            None => Ok(None),
        }
    }
}

fn trace<T: DeserializeOwned>(skip: Option<&str>) -> Result<Shape, SchemaError> {
    let mut shape = Shape::Unknown;
    T::deserialize(Tracer { shape: &mut shape, skip, here: String::new() })?;
    Ok(shape)
}

/// Whether `T` fails to deserialize without the field at `path`.
fn is_required<T: DeserializeOwned>(path: &str) -> bool {
    let field = path.rsplit('/').next().unwrap_or(path);
    matches!(trace::<T>(Some(path)), Err(SchemaError(m)) if m == format!("{MISSING}{field}"))
}

fn escape(text: &str) -> String {
    text.replace('&', "&amp;").replace('<', "&lt;").replace('>', "&gt;").replace('"', "&quot;")
}

struct Writer<'a, T> {
    out: String,
    _t: core::marker::PhantomData<&'a T>,
}

impl<T: DeserializeOwned> Writer<'_, T> {
    /// Writes the attributes, elements and collection of a struct at `path` with defaults from
    /// `defaults` (the JSON of `T::default()` at that place, if any).
    fn body(&mut self, fields: &[(String, Shape)], path: &str, defaults: Option<&serde_json::Value>, indent: usize, in_collection: bool) -> Result<(), SchemaError> {
        let pad = "    ".repeat(indent);
        let at = |name: &str| if path.is_empty() { name.to_owned() } else { format!("{path}/{name}") };
        let key = fields
            .iter()
            .find(|(n, s)| (n == "name" || n == "key") && is_attribute(s))
            .or_else(|| fields.iter().find(|(_, s)| is_attribute(s)))
            .map(|(n, _)| n.clone());
        for (name, shape) in fields {
            let (inner, optional) = match shape {
                Shape::Option(inner) => (inner.as_ref(), true),
                other => (other, false),
            };
            if !is_attribute(inner) {
                continue;
            }
            let ty = match inner {
                Shape::Bool => "bool",
                Shape::Int => "int",
                Shape::Uint => "uint",
                Shape::Int64 => "int64",
                Shape::Str => "string",
                Shape::TimeSpan => "timeSpan",
                Shape::Enum(_) => "enum",
                _ => unreachable!("is_attribute"),
            };
            let mut line = format!("{pad}<attribute name=\"{}\" type=\"{ty}\"", escape(name));
            if !optional && is_required::<T>(&at(name)) {
                line.push_str(" required=\"true\"");
            } else if let Some(default) = defaults.and_then(|d| d.get(name)).and_then(default_text) {
                line.push_str(&format!(" defaultValue=\"{}\"", escape(&default)));
            }
            if in_collection && key.as_deref() == Some(name.as_str()) {
                line.push_str(" isUniqueKey=\"true\"");
            }
            match inner {
                Shape::Enum(variants) => {
                    line.push_str(">\n");
                    for (value, variant) in variants.iter().enumerate() {
                        line.push_str(&format!("{pad}    <enum name=\"{}\" value=\"{value}\" />\n", escape(variant)));
                    }
                    line.push_str(&format!("{pad}</attribute>\n"));
                }
                _ => line.push_str(" />\n"),
            }
            self.out.push_str(&line);
        }
        for (name, shape) in fields {
            let inner = match shape {
                Shape::Option(inner) => inner.as_ref(),
                other => other,
            };
            match inner {
                Shape::Struct(children) => {
                    self.out.push_str(&format!("{pad}<element name=\"{}\">\n", escape(name)));
                    self.body(children, &at(name), defaults.and_then(|d| d.get(name)), indent + 1, false)?;
                    self.out.push_str(&format!("{pad}</element>\n"));
                }
                Shape::Seq(item) if name == "add" => self.collection(item, &format!("{}[0]", at(name)), indent)?,
                Shape::Seq(item) => {
                    self.out.push_str(&format!("{pad}<element name=\"{}\">\n", escape(name)));
                    self.collection(item, &format!("{}[0]", at(name)), indent + 1)?;
                    self.out.push_str(&format!("{pad}</element>\n"));
                }
                other if is_attribute(other) => {}
                other => return Err(SchemaError(format!("{}: {other:?} is not a configuration type", at(name)))),
            }
        }
        Ok(())
    }

    fn collection(&mut self, item: &Shape, path: &str, indent: usize) -> Result<(), SchemaError> {
        let pad = "    ".repeat(indent);
        let Shape::Struct(fields) = item else {
            return Err(SchemaError(format!("{path}: collection entries must be structs (an <add> element with attributes)")));
        };
        self.out.push_str(&format!("{pad}<collection addElement=\"add\" removeElement=\"remove\" clearElement=\"clear\">\n"));
        self.body(fields, path, None, indent + 1, true)?;
        self.out.push_str(&format!("{pad}</collection>\n"));
        Ok(())
    }
}

fn is_attribute(shape: &Shape) -> bool {
    matches!(shape, Shape::Bool | Shape::Int | Shape::Uint | Shape::Int64 | Shape::Str | Shape::TimeSpan | Shape::Enum(_))
}

fn default_text(value: &serde_json::Value) -> Option<String> {
    match value {
        serde_json::Value::Bool(b) => Some(b.to_string()),
        serde_json::Value::Number(n) => Some(n.to_string()),
        serde_json::Value::String(s) => Some(s.clone()),
        _ => None,
    }
}

/// The IIS schema file (`<configSchema>`) of the section `T`, to install as
/// `%windir%\system32\inetsrv\config\schema\<Name>_schema.xml`.
pub fn schema<T: super::ConfigSection + Serialize + Default>() -> Result<String, SchemaError> {
    let Shape::Struct(fields) = trace::<T>(None)? else {
        return Err(SchemaError(format!("{} must be a struct", T::NAME)));
    };
    let defaults = serde_json::to_value(T::default()).map_err(|e| SchemaError(format!("serializing {}::default(): {e}", T::NAME)))?;
    let mut writer = Writer::<T> { out: String::new(), _t: core::marker::PhantomData };
    writer.body(&fields, "", Some(&defaults), 2, false)?;
    Ok(format!(
        "<!-- The IIS configuration schema of {name}, generated by httpserv::config::schema. -->\n<configSchema>\n    <sectionSchema name=\"{name}\">\n{}    </sectionSchema>\n</configSchema>\n",
        writer.out,
        name = escape(T::NAME)
    ))
}

/// The `<configSections>` entry that registers the section `T` in `applicationHost.config`
/// (`overrideModeDefault="Allow"`, so `web.config` files may set it too).
pub fn registration<T: super::ConfigSection>() -> String {
    let mut parts: Vec<&str> = T::NAME.split('/').collect();
    let section = parts.pop().unwrap_or_default();
    let mut out = String::from("<configSections>\n");
    for (depth, group) in parts.iter().enumerate() {
        out.push_str(&format!("{}<sectionGroup name=\"{}\">\n", "    ".repeat(depth + 1), escape(group)));
    }
    out.push_str(&format!("{}<section name=\"{}\" overrideModeDefault=\"Allow\" />\n", "    ".repeat(parts.len() + 1), escape(section)));
    for depth in (0..parts.len()).rev() {
        out.push_str(&format!("{}</sectionGroup>\n", "    ".repeat(depth + 1)));
    }
    out.push_str("</configSections>\n");
    out
}
