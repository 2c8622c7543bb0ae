//! `serde::Deserializer` over a configuration [`Node`]: struct fields are the element's
//! attributes, then its child elements; a sequence is the element's collection (a field named
//! `add`, the collection's element name in IIS, or a child element's entries); enums are matched
//! by name; [`TimeSpan`](super::TimeSpan) takes IIS's 100 ns ticks or `hh:mm:ss` text.
//!
//! Every error names where it happened (`system.webServer/securityHeaders`, attribute
//! `enabled`): see [`ConfigError`](super::ConfigError).

use serde::de::{self, DeserializeSeed, IntoDeserializer, MapAccess, SeqAccess, Visitor};

use super::{Node, Value};

/// A deserialization error: what went wrong, and the attribute or element it concerns.
#[derive(Debug)]
pub(crate) struct DeError {
    pub(crate) message: String,
    /// `element/path` inside the section, then the attribute, innermost last.
    pub(crate) at: Vec<String>,
    pub(crate) missing: Option<String>,
}

impl core::fmt::Display for DeError {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        f.write_str(&self.message)
    }
}

impl std::error::Error for DeError {}

impl de::Error for DeError {
    fn custom<T: core::fmt::Display>(message: T) -> Self {
        DeError { message: message.to_string(), at: Vec::new(), missing: None }
    }

    fn missing_field(field: &'static str) -> Self {
        DeError { message: format!("the required attribute or element `{field}` is not set"), at: Vec::new(), missing: Some(field.to_owned()) }
    }
}

fn within<T>(name: &str, result: Result<T, DeError>) -> Result<T, DeError> {
    result.map_err(|mut e| {
        e.at.insert(0, name.to_owned());
        e
    })
}

/// Deserializes an element.
pub(crate) struct ElementDe<'a>(pub(crate) &'a Node);

/// Where a field's value comes from.
enum Field<'a> {
    Attr(&'a Value, Option<&'a str>),
    Child(&'a Node),
    Items(&'a [Node]),
}

struct Fields<'a> {
    fields: Vec<(&'static str, Field<'a>)>,
    next: usize,
}

impl<'a> Fields<'a> {
    fn new(node: &'a Node, names: &'static [&'static str]) -> Self {
        let mut fields = Vec::new();
        for &name in names {
            if let Some((_, value, text)) = node.attrs.iter().find(|(n, _, _)| n == name) {
                fields.push((name, Field::Attr(value, text.as_deref())));
            } else if let Some(child) = node.children.iter().find(|c| c.name == name) {
                fields.push((name, Field::Child(child)));
            } else if name == "add" {
                fields.push((name, Field::Items(&node.items)));
            }
        }
        Fields { fields, next: 0 }
    }
}

impl<'de, 'a> MapAccess<'de> for Fields<'a> {
    type Error = DeError;

    fn next_key_seed<K: DeserializeSeed<'de>>(&mut self, seed: K) -> Result<Option<K::Value>, DeError> {
        match self.fields.get(self.next) {
            Some((name, _)) => seed.deserialize((*name).into_deserializer()).map(Some),
            None => Ok(None),
        }
    }

    fn next_value_seed<V: DeserializeSeed<'de>>(&mut self, seed: V) -> Result<V::Value, DeError> {
        let (name, field) = &self.fields[self.next];
        self.next += 1;
        match field {
            Field::Attr(value, text) => within(name, seed.deserialize(ValueDe { value, text: *text })),
            Field::Child(child) => within(name, seed.deserialize(ElementDe(child))),
            Field::Items(items) => within(name, seed.deserialize(ItemsDe(items))),
        }
    }
}

struct Items<'a> {
    items: core::slice::Iter<'a, Node>,
    index: usize,
}

impl<'de> SeqAccess<'de> for Items<'_> {
    type Error = DeError;

    fn next_element_seed<T: DeserializeSeed<'de>>(&mut self, seed: T) -> Result<Option<T::Value>, DeError> {
        match self.items.next() {
            Some(item) => {
                self.index += 1;
                within(&format!("[{}]", self.index - 1), seed.deserialize(ElementDe(item))).map(Some)
            }
            None => Ok(None),
        }
    }
}

/// A collection's entries.
struct ItemsDe<'a>(&'a [Node]);

impl<'de> de::Deserializer<'de> for ItemsDe<'_> {
    type Error = DeError;

    fn deserialize_any<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value, DeError> {
        visitor.visit_seq(Items { items: self.0.iter(), index: 0 })
    }

    serde::forward_to_deserialize_any! {
        bool i8 i16 i32 i64 i128 u8 u16 u32 u64 u128 f32 f64 char str string bytes byte_buf option unit unit_struct
        newtype_struct seq tuple tuple_struct map struct enum identifier ignored_any
    }
}

impl<'de> de::Deserializer<'de> for ElementDe<'_> {
    type Error = DeError;

    fn deserialize_any<V: Visitor<'de>>(self, _visitor: V) -> Result<V::Value, DeError> {
        Err(de::Error::custom(format!("the element <{}> can only be read into a struct, a sequence (its collection) or an Option", self.0.name)))
    }

    fn deserialize_struct<V: Visitor<'de>>(self, _name: &'static str, fields: &'static [&'static str], visitor: V) -> Result<V::Value, DeError> {
        visitor.visit_map(Fields::new(self.0, fields))
    }

    fn deserialize_seq<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value, DeError> {
        visitor.visit_seq(Items { items: self.0.items.iter(), index: 0 })
    }

    fn deserialize_option<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value, DeError> {
        visitor.visit_some(self)
    }

    fn deserialize_newtype_struct<V: Visitor<'de>>(self, _name: &'static str, visitor: V) -> Result<V::Value, DeError> {
        visitor.visit_newtype_struct(self)
    }

    fn deserialize_ignored_any<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value, DeError> {
        visitor.visit_unit()
    }

    serde::forward_to_deserialize_any! {
        bool i8 i16 i32 i64 i128 u8 u16 u32 u64 u128 f32 f64 char str string bytes byte_buf unit unit_struct
        tuple tuple_struct map enum identifier
    }
}

/// An attribute's value: typed as IIS returned it, with its text.
struct ValueDe<'a> {
    value: &'a Value,
    text: Option<&'a str>,
}

impl ValueDe<'_> {
    fn text(&self) -> Option<&str> {
        match self.value {
            Value::Str(s) => Some(s),
            _ => self.text,
        }
    }

    fn kind(&self) -> String {
        match self.value {
            Value::Bool(b) => format!("the boolean {b}"),
            Value::Int(n) => format!("the integer {n}"),
            Value::Uint(n) => format!("the integer {n}"),
            Value::Str(s) => format!("the text {s:?}"),
        }
    }

    fn wrong(&self, expected: &str) -> DeError {
        de::Error::custom(format!("expected {expected}, found {}", self.kind()))
    }

    fn int(&self, expected: &str) -> Result<i128, DeError> {
        match self.value {
            Value::Int(n) => Ok(*n as i128),
            Value::Uint(n) => Ok(*n as i128),
            Value::Str(s) => s.trim().parse::<i128>().map_err(|_| self.wrong(expected)),
            Value::Bool(_) => Err(self.wrong(expected)),
        }
    }
}

macro_rules! ints {
    ($($method:ident $ty:ty => $visit:ident),*) => {$(
        fn $method<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value, DeError> {
            let expected = concat!("an integer (", stringify!($ty), ")");
            let n = self.int(expected)?;
            let n = <$ty>::try_from(n).map_err(|_| de::Error::custom(format!("{n} is out of range for {}", stringify!($ty))))?;
            visitor.$visit(n)
        }
    )*};
}

impl<'de> de::Deserializer<'de> for ValueDe<'_> {
    type Error = DeError;

    fn deserialize_any<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value, DeError> {
        match self.value {
            Value::Bool(b) => visitor.visit_bool(*b),
            Value::Int(n) => visitor.visit_i64(*n),
            Value::Uint(n) => visitor.visit_u64(*n),
            Value::Str(s) => visitor.visit_str(s),
        }
    }

    fn deserialize_bool<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value, DeError> {
        match self.value {
            Value::Bool(b) => visitor.visit_bool(*b),
            Value::Str(s) if s.eq_ignore_ascii_case("true") => visitor.visit_bool(true),
            Value::Str(s) if s.eq_ignore_ascii_case("false") => visitor.visit_bool(false),
            _ => Err(self.wrong("a boolean (true or false)")),
        }
    }

    ints!(deserialize_i8 i8 => visit_i8, deserialize_i16 i16 => visit_i16, deserialize_i32 i32 => visit_i32, deserialize_i64 i64 => visit_i64,
          deserialize_u8 u8 => visit_u8, deserialize_u16 u16 => visit_u16, deserialize_u32 u32 => visit_u32, deserialize_u64 u64 => visit_u64);

    fn deserialize_str<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value, DeError> {
        match self.value {
            Value::Str(s) => visitor.visit_str(s),
            _ => Err(self.wrong("a string")),
        }
    }

    fn deserialize_string<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value, DeError> {
        self.deserialize_str(visitor)
    }

    fn deserialize_option<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value, DeError> {
        visitor.visit_some(self)
    }

    fn deserialize_enum<V: Visitor<'de>>(self, _name: &'static str, variants: &'static [&'static str], visitor: V) -> Result<V::Value, DeError> {
        // IIS gives an enum attribute as its number (VT_I4); its text is the name written.
        let Some(text) = self.text() else { return Err(self.wrong(&format!("one of {variants:?}"))) };
        let variant = variants
            .iter()
            .find(|v| v.eq_ignore_ascii_case(text.trim()))
            .ok_or_else(|| de::Error::custom(format!("expected one of {variants:?}, found {text:?}")))?;
        visitor.visit_enum((*variant).into_deserializer())
    }

    fn deserialize_newtype_struct<V: Visitor<'de>>(self, name: &'static str, visitor: V) -> Result<V::Value, DeError> {
        if name == super::TIME_SPAN {
            let ticks = match self.value {
                Value::Uint(n) => *n,
                Value::Int(n) if *n >= 0 => *n as u64,
                Value::Str(s) => httpserv_sys::timespan::parse_time_span(s).ok_or_else(|| self.wrong("a time span ([d.]hh:mm:ss[.fffffff])"))?,
                _ => return Err(self.wrong("a time span")),
            };
            return visitor.visit_u64(ticks);
        }
        visitor.visit_newtype_struct(self)
    }

    serde::forward_to_deserialize_any! {
        i128 u128 f32 f64 char bytes byte_buf unit unit_struct seq tuple tuple_struct map struct identifier ignored_any
    }
}
