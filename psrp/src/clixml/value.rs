//! The value model: what a CLIXML document decodes into and what the
//! serializer writes ([MS-PSRP] 2.2.5.1 primitive types, 2.2.5.2 complex
//! objects).
//!
//! [MS-PSRP]: https://learn.microsoft.com/en-us/openspecs/windows_protocols/ms-psrp/
use std::fmt;
use std::sync::Arc;

/// One serialized value: a primitive ([MS-PSRP] 2.2.5.1) or a complex object
/// ([MS-PSRP] 2.2.5.2).
#[derive(Debug, Clone, PartialEq)]
pub enum Value {
    /// `<Nil/>`: `$null` (2.2.5.1.20).
    Null,
    /// `<S>` (2.2.5.1.1), already `_xHHHH_`-unescaped.
    String(String),
    /// `<C>`: a UTF-16 code unit sent as its decimal value (2.2.5.1.2).
    Char(u16),
    /// `<B>` (2.2.5.1.3).
    Bool(bool),
    /// `<DT>`: the text as sent, ISO 8601 with up to 7 fractional digits and
    /// an optional offset (2.2.5.1.4).
    DateTime(String),
    /// `<TS>`: an `xs:duration` as sent, e.g. `PT9.0269026S` (2.2.5.1.5).
    Duration(String),
    /// `<By>`: unsigned byte (2.2.5.1.6).
    U8(u8),
    /// `<SB>`: signed byte (2.2.5.1.7).
    I8(i8),
    /// `<U16>` (2.2.5.1.8).
    U16(u16),
    /// `<I16>` (2.2.5.1.9).
    I16(i16),
    /// `<U32>` (2.2.5.1.10).
    U32(u32),
    /// `<I32>` (2.2.5.1.11).
    I32(i32),
    /// `<U64>` (2.2.5.1.12).
    U64(u64),
    /// `<I64>` (2.2.5.1.13).
    I64(i64),
    /// `<Sg>`: single precision float, `INF`, `-INF` and `NaN` included
    /// (2.2.5.1.14).
    F32(f32),
    /// `<Db>`: double precision float (2.2.5.1.15).
    F64(f64),
    /// `<D>`: decimal, kept as its text to lose no precision (2.2.5.1.16).
    Decimal(String),
    /// `<BA>`: byte array, base64-decoded (2.2.5.1.17).
    Bytes(Vec<u8>),
    /// `<G>` (2.2.5.1.18).
    Guid(uuid::Uuid),
    /// `<URI>` (2.2.5.1.19).
    Uri(String),
    /// `<Version>`, e.g. `2.3` or `10.0.17763.1` (2.2.5.1.21).
    Version(String),
    /// `<XD>`: an XML document as text (2.2.5.1.22).
    XmlDocument(String),
    /// `<SBK>`: a script block's text (2.2.5.1.23).
    ScriptBlock(String),
    /// `<SS>`: a SecureString, still encrypted with the session key: the
    /// base64-decoded cipher text (2.2.5.1.24).
    SecureString(Vec<u8>),
    /// `<Obj>`: a complex object (2.2.5.2).
    Object(Box<PsObject>),
}

/// A complex object `<Obj>` ([MS-PSRP] 2.2.5.2).
#[derive(Debug, Clone, PartialEq, Default)]
pub struct PsObject {
    /// The type names, most derived first (`<TN>`, 2.2.5.2.3). Shared between
    /// objects that reference the same list with `<TNRef>`.
    pub type_names: Option<Arc<[String]>>,
    /// `<ToString>` (2.2.5.2.4).
    pub to_string: Option<String>,
    /// What the object wraps or contains (2.2.5.2.5 to 2.2.5.2.6).
    pub content: Content,
    /// Adapted properties, `<Props>` (2.2.5.2.8), in document order.
    pub adapted: Vec<(String, Value)>,
    /// Extended properties, `<MS>` (2.2.5.2.9), in document order.
    pub extended: Vec<(String, Value)>,
}

/// What a complex object carries besides its properties ([MS-PSRP] 2.2.5.2.5
/// and 2.2.5.2.6).
#[derive(Debug, Clone, PartialEq, Default)]
pub enum Content {
    /// A property bag with no contents of its own.
    #[default]
    None,
    /// A primitive value the object wraps (for example an enum's `<I32>` or
    /// a string with extended properties).
    Primitive(Value),
    /// `<LST>` or `<IE>`: a list or other enumeration (2.2.5.2.6.3).
    List(Vec<Value>),
    /// `<STK>` (2.2.5.2.6.1), top first.
    Stack(Vec<Value>),
    /// `<QUE>` (2.2.5.2.6.2), head first.
    Queue(Vec<Value>),
    /// `<DCT>` (2.2.5.2.6.4): key and value pairs in document order.
    Dictionary(Vec<(Value, Value)>),
}

impl Value {
    /// The primitive a value stands for: the value itself, or for an
    /// `<Obj>` wrapping a primitive (an enum, a string with notes) the
    /// wrapped value ([MS-PSRP] 2.2.5.2.5).
    ///
    /// [MS-PSRP]: https://learn.microsoft.com/en-us/openspecs/windows_protocols/ms-psrp/
    pub fn primitive(&self) -> &Value {
        match self {
            Value::Object(o) => match &o.content {
                Content::Primitive(v) => v.primitive(),
                _ => self,
            },
            v => v,
        }
    }

    /// The string inside a `String` value (also one wrapped in an object).
    pub fn as_str(&self) -> Option<&str> {
        match self.primitive() {
            Value::String(s) => Some(s),
            _ => None,
        }
    }

    /// The object inside an `Object` value.
    pub fn as_object(&self) -> Option<&PsObject> {
        match self {
            Value::Object(o) => Some(o),
            _ => None,
        }
    }

    /// Whether this is `<Nil/>` (2.2.5.1.20).
    pub fn is_null(&self) -> bool {
        matches!(self, Value::Null)
    }

    /// A `<B>` value (2.2.5.1.3).
    pub fn as_bool(&self) -> Option<bool> {
        match self.primitive() {
            Value::Bool(b) => Some(*b),
            _ => None,
        }
    }

    /// Any integer value (`<By>` to `<U64>`, `<C>`, an enum's value) that
    /// fits in an `i64` (2.2.5.1.6 to 2.2.5.1.13).
    pub fn as_i64(&self) -> Option<i64> {
        Some(match *self.primitive() {
            Value::U8(n) => n.into(),
            Value::I8(n) => n.into(),
            Value::U16(n) => n.into(),
            Value::I16(n) => n.into(),
            Value::U32(n) => n.into(),
            Value::I32(n) => n.into(),
            Value::I64(n) => n,
            Value::U64(n) => i64::try_from(n).ok()?,
            Value::Char(n) => n.into(),
            _ => return None,
        })
    }

    /// Any integer value that fits in an `i32`, see [`Value::as_i64`].
    pub fn as_i32(&self) -> Option<i32> {
        self.as_i64().and_then(|n| i32::try_from(n).ok())
    }

    /// Any non-negative integer value that fits in a `u64`, see
    /// [`Value::as_i64`].
    pub fn as_u64(&self) -> Option<u64> {
        match *self.primitive() {
            Value::U64(n) => Some(n),
            _ => self.as_i64().and_then(|n| u64::try_from(n).ok()),
        }
    }

    /// Any number as an `f64`: `<Db>`, `<Sg>`, `<D>` and the integers
    /// (2.2.5.1.14 to 2.2.5.1.16).
    pub fn as_f64(&self) -> Option<f64> {
        match self.primitive() {
            Value::F64(f) => Some(*f),
            Value::F32(f) => Some(f64::from(*f)),
            Value::Decimal(d) => d.parse().ok(),
            Value::U64(n) => Some(*n as f64),
            v => v.as_i64().map(|n| n as f64),
        }
    }

    /// The bytes of a `<BA>` value (2.2.5.1.17).
    pub fn as_bytes(&self) -> Option<&[u8]> {
        match self.primitive() {
            Value::Bytes(b) => Some(b),
            _ => None,
        }
    }

    /// A `<G>` value (2.2.5.1.18).
    pub fn as_guid(&self) -> Option<uuid::Uuid> {
        match self.primitive() {
            Value::Guid(g) => Some(*g),
            _ => None,
        }
    }

    /// The items of a list, stack or queue object (2.2.5.2.6.1 to 2.2.5.2.6.3).
    pub fn as_list(&self) -> Option<&[Value]> {
        match &self.as_object()?.content {
            Content::List(v) | Content::Stack(v) | Content::Queue(v) => Some(v),
            _ => None,
        }
    }

    /// The entries of a dictionary object (2.2.5.2.6.4).
    pub fn as_dictionary(&self) -> Option<&[(Value, Value)]> {
        match &self.as_object()?.content {
            Content::Dictionary(d) => Some(d),
            _ => None,
        }
    }

    /// The XML element name of this value's kind, as in `<I32>` or `<Obj>`
    /// ([MS-PSRP] 2.2.5.1).
    ///
    /// [MS-PSRP]: https://learn.microsoft.com/en-us/openspecs/windows_protocols/ms-psrp/
    pub fn element_name(&self) -> &'static str {
        match self {
            Value::Null => "Nil",
            Value::String(_) => "S",
            Value::Char(_) => "C",
            Value::Bool(_) => "B",
            Value::DateTime(_) => "DT",
            Value::Duration(_) => "TS",
            Value::U8(_) => "By",
            Value::I8(_) => "SB",
            Value::U16(_) => "U16",
            Value::I16(_) => "I16",
            Value::U32(_) => "U32",
            Value::I32(_) => "I32",
            Value::U64(_) => "U64",
            Value::I64(_) => "I64",
            Value::F32(_) => "Sg",
            Value::F64(_) => "Db",
            Value::Decimal(_) => "D",
            Value::Bytes(_) => "BA",
            Value::Guid(_) => "G",
            Value::Uri(_) => "URI",
            Value::Version(_) => "Version",
            Value::XmlDocument(_) => "XD",
            Value::ScriptBlock(_) => "SBK",
            Value::SecureString(_) => "SS",
            Value::Object(_) => "Obj",
        }
    }
}

impl From<&str> for Value {
    fn from(s: &str) -> Self {
        Value::String(s.to_owned())
    }
}

impl From<String> for Value {
    fn from(s: String) -> Self {
        Value::String(s)
    }
}

impl From<bool> for Value {
    fn from(b: bool) -> Self {
        Value::Bool(b)
    }
}

impl From<i32> for Value {
    fn from(n: i32) -> Self {
        Value::I32(n)
    }
}

impl From<i64> for Value {
    fn from(n: i64) -> Self {
        Value::I64(n)
    }
}

impl From<PsObject> for Value {
    fn from(o: PsObject) -> Self {
        Value::Object(Box::new(o))
    }
}

/// Writes `f` as .NET's `Double.ToString()` does for the special values.
fn fmt_float(f: f64, out: &mut fmt::Formatter<'_>) -> fmt::Result {
    if f.is_nan() {
        out.write_str("NaN")
    } else if f.is_infinite() {
        out.write_str(if f > 0.0 { "Infinity" } else { "-Infinity" })
    } else {
        write!(out, "{f}")
    }
}

/// PowerShell's simple text form of a value, what `"$value"` gives: the
/// `<ToString>` of an object when it was sent, a string as itself, `True` and
/// `False`, list items separated by spaces, `$null` as nothing
/// ([MS-PSRP] 2.2.5.2.4).
///
/// [MS-PSRP]: https://learn.microsoft.com/en-us/openspecs/windows_protocols/ms-psrp/
impl fmt::Display for Value {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Value::Null => Ok(()),
            Value::String(s)
            | Value::DateTime(s)
            | Value::Duration(s)
            | Value::Decimal(s)
            | Value::Uri(s)
            | Value::Version(s)
            | Value::XmlDocument(s)
            | Value::ScriptBlock(s) => f.write_str(s),
            Value::Char(c) => match char::from_u32(u32::from(*c)) {
                Some(c) => write!(f, "{c}"),
                None => f.write_str("\u{FFFD}"),
            },
            Value::Bool(b) => f.write_str(if *b { "True" } else { "False" }),
            Value::U8(n) => write!(f, "{n}"),
            Value::I8(n) => write!(f, "{n}"),
            Value::U16(n) => write!(f, "{n}"),
            Value::I16(n) => write!(f, "{n}"),
            Value::U32(n) => write!(f, "{n}"),
            Value::I32(n) => write!(f, "{n}"),
            Value::U64(n) => write!(f, "{n}"),
            Value::I64(n) => write!(f, "{n}"),
            Value::F32(x) => fmt_float(f64::from(*x), f),
            Value::F64(x) => fmt_float(*x, f),
            Value::Bytes(b) => {
                for (i, byte) in b.iter().enumerate() {
                    if i > 0 {
                        f.write_str(" ")?;
                    }
                    write!(f, "{byte}")?;
                }
                Ok(())
            }
            Value::Guid(g) => write!(f, "{}", g.hyphenated()),
            Value::SecureString(_) => f.write_str("System.Security.SecureString"),
            Value::Object(o) => fmt::Display::fmt(o, f),
        }
    }
}

/// See [`Value`]'s `Display`: `<ToString>` when present, else the wrapped
/// primitive, the list items separated by spaces, or the type name.
impl fmt::Display for PsObject {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if let Some(s) = &self.to_string {
            return f.write_str(s);
        }
        match &self.content {
            Content::Primitive(v) => fmt::Display::fmt(v, f),
            Content::List(items) | Content::Stack(items) | Content::Queue(items) => {
                for (i, v) in items.iter().enumerate() {
                    if i > 0 {
                        f.write_str(" ")?;
                    }
                    fmt::Display::fmt(v, f)?;
                }
                Ok(())
            }
            Content::Dictionary(_) | Content::None => f.write_str(
                self.type_name()
                    .unwrap_or("System.Management.Automation.PSCustomObject"),
            ),
        }
    }
}

impl PsObject {
    /// A property by name: extended properties first, then adapted ones, as
    /// PowerShell resolves a member ([MS-PSRP] 2.2.5.2.8, 2.2.5.2.9). Names
    /// compare case-insensitively, as PowerShell's do, an exact match first.
    ///
    /// [MS-PSRP]: https://learn.microsoft.com/en-us/openspecs/windows_protocols/ms-psrp/
    ///
    /// When the object wraps another object (`<Obj>` content inside `<Obj>`,
    /// as PowerShell sends a PSObject around a PSObject), the wrapped
    /// object's properties are found too, after the wrapper's own.
    pub fn property(&self, name: &str) -> Option<&Value> {
        let all = || self.extended.iter().chain(self.adapted.iter());
        all()
            .find(|(n, _)| n == name)
            .or_else(|| all().find(|(n, _)| n.eq_ignore_ascii_case(name)))
            .map(|(_, v)| v)
            .or_else(|| self.wrapped()?.property(name))
    }

    /// The object this one wraps, when its content is an `<Obj>`.
    pub fn wrapped(&self) -> Option<&PsObject> {
        match &self.content {
            Content::Primitive(Value::Object(o)) => Some(o),
            _ => None,
        }
    }

    /// A property's string value, see [`PsObject::property`] and
    /// [`Value::as_str`].
    pub fn get_str(&self, name: &str) -> Option<&str> {
        self.property(name)?.as_str()
    }

    /// A property's integer value, see [`Value::as_i64`].
    pub fn get_i64(&self, name: &str) -> Option<i64> {
        self.property(name)?.as_i64()
    }

    /// A property's boolean value, see [`Value::as_bool`].
    pub fn get_bool(&self, name: &str) -> Option<bool> {
        self.property(name)?.as_bool()
    }

    /// A property's object, see [`Value::as_object`].
    pub fn get_object(&self, name: &str) -> Option<&PsObject> {
        self.property(name)?.as_object()
    }

    /// The most derived type name (2.2.5.2.3), e.g.
    /// `System.Diagnostics.Process`.
    pub fn type_name(&self) -> Option<&str> {
        self.type_names.as_ref()?.first().map(String::as_str)
    }

    /// Whether `name` is one of the type names.
    pub fn is_type(&self, name: &str) -> bool {
        self.type_names
            .as_ref()
            .is_some_and(|t| t.iter().any(|t| t == name))
    }

    /// All properties as PowerShell shows them: adapted ones, then extended
    /// ones, an extended property hiding an adapted one of the same name;
    /// then those of a [wrapped](PsObject::wrapped) object that the wrapper
    /// does not hide.
    pub fn properties(&self) -> Box<dyn Iterator<Item = (&str, &Value)> + '_> {
        let hidden = |n: &str| self.extended.iter().any(|(e, _)| e.eq_ignore_ascii_case(n));
        let own = self
            .adapted
            .iter()
            .filter(move |(n, _)| !hidden(n))
            .chain(self.extended.iter())
            .map(|(n, v)| (n.as_str(), v));
        match self.wrapped() {
            None => Box::new(own),
            Some(inner) => {
                let mine = |n: &str| {
                    self.extended
                        .iter()
                        .chain(self.adapted.iter())
                        .any(|(e, _)| e.eq_ignore_ascii_case(n))
                };
                Box::new(own.chain(inner.properties().filter(move |(n, _)| !mine(n))))
            }
        }
    }

    /// A property bag with the given type names and extended properties, as
    /// a `[pscustomobject]` is sent.
    pub fn with_properties<I, S>(type_names: &[&str], properties: I) -> Self
    where
        I: IntoIterator<Item = (S, Value)>,
        S: Into<String>,
    {
        PsObject {
            type_names: if type_names.is_empty() {
                None
            } else {
                Some(type_names.iter().map(|s| (*s).to_owned()).collect())
            },
            extended: properties.into_iter().map(|(n, v)| (n.into(), v)).collect(),
            ..Default::default()
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn enum_value() -> Value {
        Value::from(PsObject {
            type_names: Some(
                vec!["System.Management.Automation.PSInvocationState".to_owned()].into(),
            ),
            to_string: Some("Completed".into()),
            content: Content::Primitive(Value::I32(4)),
            ..Default::default()
        })
    }

    #[test]
    fn accessors_look_through_wrapped_primitives() {
        assert_eq!(enum_value().as_i32(), Some(4));
        assert_eq!(enum_value().as_i64(), Some(4));
        assert_eq!(Value::U64(u64::MAX).as_i64(), None);
        assert_eq!(Value::U64(u64::MAX).as_u64(), Some(u64::MAX));
        assert_eq!(Value::I32(-1).as_u64(), None);
        assert_eq!(Value::I64(1 << 40).as_i32(), None);
        assert_eq!(Value::Decimal("2.5".into()).as_f64(), Some(2.5));
        assert_eq!(Value::F32(1.5).as_f64(), Some(1.5));
        assert_eq!(Value::Bool(true).as_bool(), Some(true));
        assert_eq!(Value::I32(1).as_bool(), None);
        assert_eq!(Value::from("x").as_i64(), None);
        assert!(Value::Null.is_null());
        assert_eq!(Value::Bytes(vec![1]).as_bytes(), Some(&[1u8][..]));
    }

    #[test]
    fn properties_resolve_as_powershell_does() {
        let mut o = PsObject::with_properties(&["T"], [("Name", Value::from("extended"))]);
        o.adapted.push(("Name".into(), Value::from("adapted")));
        o.adapted.push(("Id".into(), Value::I32(7)));
        assert_eq!(o.get_str("Name"), Some("extended"));
        assert_eq!(o.get_str("name"), Some("extended"));
        assert_eq!(o.get_i64("ID"), Some(7));
        assert_eq!(o.get_str("Missing"), None);
        let names: Vec<&str> = o.properties().map(|(n, _)| n).collect();
        assert_eq!(names, ["Id", "Name"]);
        assert_eq!(o.type_name(), Some("T"));
        assert!(o.is_type("T") && !o.is_type("U"));
    }

    #[test]
    fn wrapped_objects_are_looked_through() {
        let inner = PsObject::with_properties(
            &["Inner"],
            [("Name", Value::from("in")), ("X", Value::I32(1))],
        );
        let outer = PsObject {
            content: Content::Primitive(Value::from(inner)),
            extended: vec![("Name".into(), Value::from("out"))],
            ..Default::default()
        };
        assert_eq!(outer.get_str("Name"), Some("out"));
        assert_eq!(outer.get_i64("X"), Some(1));
        let names: Vec<&str> = outer.properties().map(|(n, _)| n).collect();
        assert_eq!(names, ["Name", "X"]);
    }

    #[test]
    fn display_is_powershell_text() {
        assert_eq!(enum_value().to_string(), "Completed");
        assert_eq!(Value::Bool(false).to_string(), "False");
        assert_eq!(Value::Null.to_string(), "");
        assert_eq!(Value::F64(f64::NEG_INFINITY).to_string(), "-Infinity");
        assert_eq!(Value::F64(2.5).to_string(), "2.5");
        assert_eq!(Value::Char(65).to_string(), "A");
        let list = Value::from(PsObject {
            content: Content::List(vec![Value::I32(1), Value::from("b"), enum_value()]),
            ..Default::default()
        });
        assert_eq!(list.to_string(), "1 b Completed");
        let bag = Value::from(PsObject::with_properties(
            &["My.Type"],
            [("A", Value::I32(1))],
        ));
        assert_eq!(bag.to_string(), "My.Type");
    }
}
