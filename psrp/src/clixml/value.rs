//! The value model: what a CLIXML document decodes into and what the
//! serializer writes ([MS-PSRP] 2.2.5.1 primitive types, 2.2.5.2 complex
//! objects).
//!
//! [MS-PSRP]: https://learn.microsoft.com/en-us/openspecs/windows_protocols/ms-psrp/
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
    /// The string inside a `String` value.
    pub fn as_str(&self) -> Option<&str> {
        match self {
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
}

impl PsObject {
    /// A property by name: extended properties first, then adapted ones, as
    /// PowerShell resolves a member.
    pub fn property(&self, name: &str) -> Option<&Value> {
        self.extended
            .iter()
            .chain(self.adapted.iter())
            .find(|(n, _)| n == name)
            .map(|(_, v)| v)
    }
}
