//! Helpers to build and read CLIXML objects for the typed bodies.
//!
//! Property names are matched without regard to case, as PowerShell resolves
//! members (Windows accepts `CI` for `ci`).

use std::sync::Arc;

use crate::clixml::{Content, PsObject, Value};
use crate::error::{Error, Result};

/// The base type names of every .NET enum after its own.
pub(crate) const ENUM_BASES: [&str; 3] = ["System.Enum", "System.ValueType", "System.Object"];

pub(crate) fn type_names(names: &[&str]) -> Option<Arc<[String]>> {
    Some(names.iter().map(|s| s.to_string()).collect())
}

/// Builds an object with extended properties.
#[derive(Default)]
pub(crate) struct Builder {
    o: PsObject,
}

impl Builder {
    pub(crate) fn new() -> Self {
        Builder::default()
    }

    pub(crate) fn types(mut self, names: &[&str]) -> Self {
        self.o.type_names = type_names(names);
        self
    }

    pub(crate) fn type_list(mut self, names: Option<Arc<[String]>>) -> Self {
        self.o.type_names = names;
        self
    }

    pub(crate) fn display(mut self, s: impl Into<String>) -> Self {
        self.o.to_string = Some(s.into());
        self
    }

    pub(crate) fn display_opt(mut self, s: Option<String>) -> Self {
        self.o.to_string = s;
        self
    }

    pub(crate) fn content(mut self, c: Content) -> Self {
        self.o.content = c;
        self
    }

    pub(crate) fn prop(mut self, name: &str, v: impl IntoValue) -> Self {
        self.o.extended.push((name.to_string(), v.into_value()));
        self
    }

    /// A property that is written as `<Nil>` when absent.
    pub(crate) fn nil_or(self, name: &str, v: Option<impl IntoValue>) -> Self {
        match v {
            Some(v) => self.prop(name, v),
            None => self.prop(name, Value::Null),
        }
    }

    /// A property that is left out when absent.
    pub(crate) fn maybe(self, name: &str, v: Option<impl IntoValue>) -> Self {
        match v {
            Some(v) => self.prop(name, v),
            None => self,
        }
    }

    pub(crate) fn props(mut self, rest: &[(String, Value)]) -> Self {
        self.o.extended.extend(rest.iter().cloned());
        self
    }

    pub(crate) fn adapted(mut self, props: Vec<(String, Value)>) -> Self {
        self.o.adapted = props;
        self
    }

    pub(crate) fn build(self) -> Value {
        Value::Object(Box::new(self.o))
    }
}

/// Conversion of plain Rust values into CLIXML values (a crate-private trait
/// so the value model stays free of conversions).
pub(crate) trait IntoValue {
    fn into_value(self) -> Value;
}

impl IntoValue for Value {
    fn into_value(self) -> Value {
        self
    }
}

impl IntoValue for String {
    fn into_value(self) -> Value {
        Value::String(self)
    }
}

impl IntoValue for &str {
    fn into_value(self) -> Value {
        Value::String(self.to_string())
    }
}

impl IntoValue for bool {
    fn into_value(self) -> Value {
        Value::Bool(self)
    }
}

impl IntoValue for i32 {
    fn into_value(self) -> Value {
        Value::I32(self)
    }
}

impl IntoValue for i64 {
    fn into_value(self) -> Value {
        Value::I64(self)
    }
}

impl IntoValue for u32 {
    fn into_value(self) -> Value {
        Value::U32(self)
    }
}

/// An enum value: `<Obj><TN>type, System.Enum, ...</TN><ToString>name</ToString><I32>n</I32></Obj>`.
pub(crate) fn enum_value(type_name: &str, to_string: String, value: i32) -> Value {
    let mut names = vec![type_name];
    names.extend(ENUM_BASES);
    Builder::new()
        .types(&names)
        .display(to_string)
        .content(Content::Primitive(Value::I32(value)))
        .build()
}

/// A list object with the given type names.
pub(crate) fn list(names: &[&str], items: Vec<Value>) -> Value {
    Builder::new()
        .types(names)
        .content(Content::List(items))
        .build()
}

/// The integer in a primitive or in an object that wraps one (an enum).
pub(crate) fn as_i64(v: &Value) -> Option<i64> {
    Some(match v {
        Value::I8(n) => *n as i64,
        Value::U8(n) => *n as i64,
        Value::I16(n) => *n as i64,
        Value::U16(n) => *n as i64,
        Value::I32(n) => *n as i64,
        Value::U32(n) => *n as i64,
        Value::I64(n) => *n,
        Value::U64(n) => i64::try_from(*n).ok()?,
        Value::Object(o) => match &o.content {
            Content::Primitive(p) => return as_i64(p),
            _ => return None,
        },
        _ => return None,
    })
}

/// The string in a `<S>` or in an object that wraps one.
pub(crate) fn as_string(v: &Value) -> Option<&str> {
    match v {
        Value::String(s) => Some(s),
        Value::Object(o) => match &o.content {
            Content::Primitive(p) => as_string(p),
            _ => None,
        },
        _ => None,
    }
}

/// The items of a list, stack, queue or an object wrapping one.
pub(crate) fn as_list(v: &Value) -> Option<&[Value]> {
    match v {
        Value::Object(o) => match &o.content {
            Content::List(l) | Content::Stack(l) | Content::Queue(l) => Some(l),
            _ => None,
        },
        _ => None,
    }
}

/// Reads the properties of an object that is a message body or part of one.
pub(crate) struct Obj<'a> {
    pub(crate) o: &'a PsObject,
    what: &'static str,
}

impl<'a> Obj<'a> {
    pub(crate) fn of(v: &'a Value, what: &'static str) -> Result<Self> {
        match v {
            Value::Object(o) => Ok(Obj { o, what }),
            other => Err(Error::clixml(
                what,
                format!("expected an object, found {}", kind(other)),
            )),
        }
    }

    pub(crate) fn get(&self, name: &str) -> Option<&'a Value> {
        self.o
            .extended
            .iter()
            .chain(self.o.adapted.iter())
            .find(|(n, _)| n.eq_ignore_ascii_case(name))
            .map(|(_, v)| v)
    }

    /// A property that may be absent or `<Nil>`.
    pub(crate) fn opt(&self, name: &str) -> Option<&'a Value> {
        self.get(name).filter(|v| !matches!(v, Value::Null))
    }

    pub(crate) fn req(&self, name: &str) -> Result<&'a Value> {
        self.get(name)
            .ok_or_else(|| Error::clixml(self.what, format!("property {name} is missing")))
    }

    fn bad(&self, name: &str, expected: &str, v: &Value) -> Error {
        Error::clixml(
            self.what,
            format!("property {name} should be {expected}, found {}", kind(v)),
        )
    }

    pub(crate) fn i64(&self, name: &str) -> Result<i64> {
        let v = self.req(name)?;
        as_i64(v).ok_or_else(|| self.bad(name, "an integer", v))
    }

    pub(crate) fn i32(&self, name: &str) -> Result<i32> {
        let v = self.req(name)?;
        as_i64(v)
            .and_then(|n| i32::try_from(n).ok())
            .ok_or_else(|| self.bad(name, "a 32-bit integer", v))
    }

    pub(crate) fn opt_i32(&self, name: &str) -> Result<Option<i32>> {
        match self.opt(name) {
            None => Ok(None),
            Some(_) => self.i32(name).map(Some),
        }
    }

    pub(crate) fn bool(&self, name: &str) -> Result<bool> {
        match self.req(name)? {
            Value::Bool(b) => Ok(*b),
            v => Err(self.bad(name, "a boolean", v)),
        }
    }

    pub(crate) fn opt_bool(&self, name: &str) -> Result<Option<bool>> {
        match self.opt(name) {
            None => Ok(None),
            Some(_) => self.bool(name).map(Some),
        }
    }

    pub(crate) fn string(&self, name: &str) -> Result<String> {
        let v = self.req(name)?;
        as_string(v)
            .map(str::to_string)
            .ok_or_else(|| self.bad(name, "a string", v))
    }

    pub(crate) fn opt_string(&self, name: &str) -> Result<Option<String>> {
        match self.opt(name) {
            None => Ok(None),
            Some(_) => self.string(name).map(Some),
        }
    }

    /// The value of a property or `Null`.
    pub(crate) fn value(&self, name: &str) -> Value {
        self.get(name).cloned().unwrap_or(Value::Null)
    }

    /// The extended properties whose names are not in `known`, in order.
    pub(crate) fn rest(&self, known: &[&str]) -> Vec<(String, Value)> {
        self.o
            .extended
            .iter()
            .filter(|(n, _)| !known.iter().any(|k| k.eq_ignore_ascii_case(n)))
            .cloned()
            .collect()
    }
}

/// A short name of a value's kind for error messages.
pub(crate) fn kind(v: &Value) -> &'static str {
    match v {
        Value::Null => "Nil",
        Value::String(_) => "a string",
        Value::Char(_) => "a char",
        Value::Bool(_) => "a boolean",
        Value::DateTime(_) => "a DateTime",
        Value::Duration(_) => "a TimeSpan",
        Value::U8(_)
        | Value::I8(_)
        | Value::U16(_)
        | Value::I16(_)
        | Value::U32(_)
        | Value::I32(_)
        | Value::U64(_)
        | Value::I64(_) => "an integer",
        Value::F32(_) | Value::F64(_) | Value::Decimal(_) => "a number",
        Value::Bytes(_) => "a byte array",
        Value::Guid(_) => "a GUID",
        Value::Uri(_) => "a URI",
        Value::Version(_) => "a Version",
        Value::XmlDocument(_) => "an XML document",
        Value::ScriptBlock(_) => "a ScriptBlock",
        Value::SecureString(_) => "a SecureString",
        Value::Object(_) => "an object",
    }
}
