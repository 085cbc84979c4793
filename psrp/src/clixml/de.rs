//! The streaming CLIXML deserializer ([MS-PSRP] 2.2.5): quick-xml events in,
//! [`Value`]s out, with no tree in between.
//!
//! References are resolved lazily: an `<Obj RefId>` only records where it
//! lies in the input, and a later `<Ref RefId>` parses that slice again. So an
//! object nobody references costs nothing extra, a document of any length is
//! read in memory proportional to its largest value, and hostile reference
//! chains are stopped by [`Limits`] instead of exhausting memory.
//!
//! [MS-PSRP]: https://learn.microsoft.com/en-us/openspecs/windows_protocols/ms-psrp/
use std::borrow::Cow;
use std::collections::HashMap;
use std::sync::Arc;

use base64::Engine as _;
use quick_xml::events::{BytesStart, Event};

use super::error::{Error, ErrorKind};
use super::escape::unescape;
use super::value::{Content, PsObject, Value};

/// Bounds that keep hostile input from exhausting the stack, memory or time.
/// Every bound applies to one top-level value (one message body, or one
/// element of an `<Objs>` document).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Limits {
    /// The deepest nesting of values (an object in a list in a property counts
    /// three). PowerShell serializes to depth 1 or 2 by default and never
    /// beyond 100 in practice. Default 64.
    pub max_depth: usize,
    /// The most values (elements producing a [`Value`], including those
    /// produced again by `<Ref>`). Default 10,000,000.
    pub max_values: usize,
    /// The most input bytes parsed again to resolve `<Ref>` elements.
    /// Default 64 MiB.
    pub max_ref_bytes: usize,
}

impl Default for Limits {
    fn default() -> Self {
        Limits {
            max_depth: 64,
            max_values: 10_000_000,
            max_ref_bytes: 64 << 20,
        }
    }
}

/// The key of a `RefId`: a number as PowerShell writes them, or any other
/// text.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
enum RefKey {
    Num(u32),
    Text(Box<[u8]>),
}

impl RefKey {
    fn new(b: &[u8]) -> Self {
        if !b.is_empty() && b.len() <= 9 && b.iter().all(u8::is_ascii_digit) {
            RefKey::Num(b.iter().fold(0u32, |n, d| n * 10 + u32::from(d - b'0')))
        } else {
            RefKey::Text(b.into())
        }
    }

    fn display(&self) -> String {
        match self {
            RefKey::Num(n) => n.to_string(),
            RefKey::Text(t) => String::from_utf8_lossy(t).into_owned(),
        }
    }
}

/// The attributes CLIXML uses: `N` (a member's name, 2.2.5.2.8) and `RefId`
/// (2.2.5.2.1, 2.2.5.2.3).
#[derive(Default)]
struct Attrs {
    name: Option<String>,
    ref_id: Option<RefKey>,
    /// `S`: the stream of a top-level value in `-OutputFormat xml` output.
    stream: Option<String>,
}

/// Where each `<Obj RefId>` lies in the input. PowerShell numbers objects
/// 0, 1, 2, ... so small numbers index a vector (16 bytes per object);
/// other ids go to a map.
#[derive(Default)]
struct ObjectTable {
    dense: Vec<(usize, usize)>,
    sparse: HashMap<RefKey, (usize, usize)>,
    count: usize,
}

impl ObjectTable {
    const NONE: (usize, usize) = (usize::MAX, usize::MAX);

    fn insert(&mut self, key: RefKey, range: (usize, usize)) {
        self.count += 1;
        if let RefKey::Num(n) = key {
            let n = n as usize;
            // Grow only in step with the objects seen, so sparse hostile
            // ids cannot make the vector large.
            if n < self.dense.len() {
                self.dense[n] = range;
                return;
            }
            if n <= 2 * self.count + 1024 {
                self.dense.resize(n + 1, Self::NONE);
                self.dense[n] = range;
                return;
            }
        }
        self.sparse.insert(key, range);
    }

    fn get(&self, key: &RefKey) -> Option<(usize, usize)> {
        if let RefKey::Num(n) = key {
            if let Some(&r) = self.dense.get(*n as usize) {
                if r != Self::NONE {
                    return Some(r);
                }
            }
        }
        self.sparse.get(key).copied()
    }
}

type Result<T> = std::result::Result<T, Error>;

/// The parser state shared by one document: the XML reader and the
/// reference tables (references are per message, [MS-PSRP] 2.2.5.2.1).
struct Parser<'a> {
    input: &'a [u8],
    /// `input` as text when it is valid UTF-8 (checked once, up front), so
    /// that text slices need no second check.
    text_input: Option<&'a str>,
    xml: quick_xml::Reader<&'a [u8]>,
    /// Offset of `xml`'s slice in `input` (non-zero while resolving a `<Ref>`).
    base: u64,
    limits: Limits,
    depth: usize,
    values: usize,
    ref_bytes: usize,
    type_names: HashMap<RefKey, Arc<[String]>>,
    objects: ObjectTable,
}

fn xml_reader(input: &[u8]) -> quick_xml::Reader<&[u8]> {
    let mut r = quick_xml::Reader::from_reader(input);
    let c = r.config_mut();
    c.trim_text(false);
    c.check_end_names = true;
    c.expand_empty_elements = false;
    r
}

impl<'a> Parser<'a> {
    fn new(input: &'a [u8], limits: Limits) -> Self {
        Parser {
            input,
            text_input: std::str::from_utf8(input).ok(),
            xml: xml_reader(input),
            base: 0,
            limits,
            depth: 0,
            values: 0,
            ref_bytes: 0,
            type_names: HashMap::new(),
            objects: ObjectTable::default(),
        }
    }

    /// The absolute input offset the reader has reached.
    fn pos(&self) -> u64 {
        self.base + self.xml.buffer_position()
    }

    fn err(&self, kind: ErrorKind) -> Error {
        Error::new(kind, self.pos())
    }

    fn structure(&self, message: impl Into<String>) -> Error {
        self.err(ErrorKind::Structure(message.into()))
    }

    fn xml_err(&self, e: impl std::fmt::Display) -> Error {
        Error::new(
            ErrorKind::Xml(e.to_string()),
            self.base + self.xml.error_position(),
        )
    }

    /// The next event that matters: comments, processing instructions and the
    /// XML declaration are skipped, a DOCTYPE is refused.
    fn next(&mut self) -> Result<Event<'a>> {
        loop {
            match self.xml.read_event() {
                Ok(Event::Comment(_) | Event::PI(_) | Event::Decl(_)) => {}
                Ok(Event::DocType(_)) => return Err(self.err(ErrorKind::DocType)),
                Ok(ev) => return Ok(ev),
                Err(e) => return Err(self.xml_err(e)),
            }
        }
    }

    /// The next event between elements: whitespace is skipped, other text is
    /// an error.
    fn next_tag(&mut self) -> Result<Event<'a>> {
        loop {
            match self.next()? {
                Event::Text(t) if t.iter().all(u8::is_ascii_whitespace) => {}
                Event::Text(_) | Event::CData(_) => {
                    return Err(self.structure("text where an element was expected"))
                }
                ev => return Ok(ev),
            }
        }
    }

    /// Reads the `N` and `RefId` attributes of an element.
    fn attrs(&self, e: &BytesStart<'_>) -> Result<Attrs> {
        let mut out = Attrs::default();
        // A small scanner over `name="value"` pairs: quick-xml's attribute
        // iterator is general and shows up in profiles; CLIXML needs three
        // names. The last of a repeated attribute wins.
        let mut raw = e.attributes_raw();
        loop {
            raw = trim_start(raw);
            if raw.is_empty() || raw == b"/" {
                return Ok(out);
            }
            let bad = || self.err(ErrorKind::Xml("malformed attribute".into()));
            let eq = raw.iter().position(|b| *b == b'=').ok_or_else(bad)?;
            let key = trim_end(&raw[..eq]);
            if key.is_empty()
                || key
                    .iter()
                    .any(|b| b.is_ascii_whitespace() || b"<>\"'".contains(b))
            {
                return Err(bad());
            }
            let rest = trim_start(&raw[eq + 1..]);
            let quote = *rest
                .first()
                .filter(|q| **q == b'"' || **q == b'\'')
                .ok_or_else(bad)?;
            let len = rest[1..].iter().position(|b| *b == quote).ok_or_else(bad)?;
            let value = &rest[1..1 + len];
            raw = &rest[len + 2..];
            let local = key.rsplit(|b| *b == b':').next().unwrap_or(key);
            match local {
                b"N" => out.name = Some(owned_unescaped(self.attr_text(value)?)),
                b"RefId" => out.ref_id = Some(RefKey::new(value)),
                b"S" => out.stream = Some(self.attr_text(value)?.into_owned()),
                _ => {}
            }
        }
    }

    /// `b`, a slice of the input, as text: sliced from the input checked
    /// once when it is all UTF-8, else checked now.
    fn str_of<'b>(&self, b: &'b [u8]) -> Result<&'b str>
    where
        'a: 'b,
    {
        if let Some(text) = self.text_input {
            let off = (b.as_ptr() as usize).wrapping_sub(text.as_ptr() as usize);
            if off <= text.len() && b.len() <= text.len() - off {
                if let Some(s) = text.get(off..off + b.len()) {
                    return Ok(s);
                }
            }
        }
        std::str::from_utf8(b).map_err(|e| self.xml_err(e))
    }

    /// An attribute value as text, XML escapes decoded.
    fn attr_text<'v>(&self, value: &'v [u8]) -> Result<Cow<'v, str>>
    where
        'a: 'v,
    {
        let s = self.str_of(value)?;
        if value.contains(&b'<') {
            return Err(self.err(ErrorKind::Xml("'<' in an attribute value".into())));
        }
        quick_xml::escape::unescape(s).map_err(|e| self.xml_err(e))
    }

    /// The text content of a primitive element up to its end tag, with XML
    /// escapes decoded (`_xHHHH_` is left to the caller).
    fn text(&mut self, empty: bool) -> Result<Cow<'a, str>> {
        if empty {
            return Ok(Cow::Borrowed(""));
        }
        let mut acc: Option<Cow<'a, str>> = None;
        loop {
            match self.next()? {
                Event::Text(t) => {
                    let s = match t.into_inner() {
                        Cow::Borrowed(b) => Cow::Borrowed(self.str_of(b)?),
                        Cow::Owned(v) => {
                            Cow::Owned(String::from_utf8(v).map_err(|e| self.xml_err(e))?)
                        }
                    };
                    let s = if s.contains('&') {
                        Cow::Owned(
                            quick_xml::escape::unescape(&s)
                                .map_err(|e| self.xml_err(e))?
                                .into_owned(),
                        )
                    } else {
                        s
                    };
                    append(&mut acc, s);
                }
                Event::CData(c) => {
                    let s = c.decode().map_err(|e| self.xml_err(e))?;
                    append(&mut acc, s);
                }
                Event::End(_) => return Ok(acc.unwrap_or(Cow::Borrowed(""))),
                Event::Eof => return Err(self.err(ErrorKind::UnexpectedEof)),
                Event::Start(_) | Event::Empty(_) => {
                    return Err(self.structure("element inside a primitive value"))
                }
                _ => {}
            }
        }
    }

    /// The text of a primitive with `_xHHHH_` decoded and surrounding
    /// whitespace removed (for `<DT>`, `<TS>`, `<Version>`, `<D>`).
    fn trimmed(&mut self, empty: bool) -> Result<String> {
        let t = owned_unescaped(self.text(empty)?);
        let trimmed = t.trim();
        Ok(if trimmed.len() == t.len() {
            t
        } else {
            trimmed.to_owned()
        })
    }

    /// Skips to the end of an element whose content is ignored.
    fn skip(&mut self, empty: bool) -> Result<()> {
        if empty {
            return Ok(());
        }
        let mut depth = 0usize;
        loop {
            match self.next()? {
                Event::Start(_) => depth += 1,
                Event::End(_) if depth == 0 => return Ok(()),
                Event::End(_) => depth -= 1,
                Event::Eof => return Err(self.err(ErrorKind::UnexpectedEof)),
                _ => {}
            }
        }
    }

    /// Counts one value against the limits and enters one nesting level.
    fn enter(&mut self) -> Result<()> {
        self.values += 1;
        if self.values > self.limits.max_values {
            return Err(self.err(ErrorKind::LimitExceeded(format!(
                "more than {} values",
                self.limits.max_values
            ))));
        }
        self.depth += 1;
        if self.depth > self.limits.max_depth {
            return Err(self.err(ErrorKind::LimitExceeded(format!(
                "nesting deeper than {}",
                self.limits.max_depth
            ))));
        }
        Ok(())
    }

    /// One value element (2.2.5.1 primitive, 2.2.5.2 `<Obj>` or `<Ref>`),
    /// whose start tag `e` has just been read at offset `start`.
    fn value(
        &mut self,
        e: &BytesStart<'a>,
        empty: bool,
        start: u64,
        ref_id: Option<RefKey>,
    ) -> Result<Value> {
        self.enter()?;
        let v = self.value_inner(e, empty, start, ref_id);
        self.depth -= 1;
        v
    }

    fn value_inner(
        &mut self,
        e: &BytesStart<'a>,
        empty: bool,
        start: u64,
        ref_id: Option<RefKey>,
    ) -> Result<Value> {
        let name = e.local_name();
        let name = name.as_ref();
        Ok(match name {
            b"S" => Value::String(owned_unescaped(self.text(empty)?)),
            b"Obj" => return self.object(ref_id, empty, start),
            b"Ref" => {
                self.skip(empty)?;
                let key = ref_id.ok_or_else(|| self.structure("<Ref> without RefId"))?;
                return self.resolve(&key);
            }
            b"Nil" => {
                self.skip(empty)?;
                Value::Null
            }
            b"B" => {
                let t = self.text(empty)?;
                match t.trim() {
                    s if s.eq_ignore_ascii_case("true") || s == "1" => Value::Bool(true),
                    s if s.eq_ignore_ascii_case("false") || s == "0" => Value::Bool(false),
                    s => return Err(self.invalid("B", format!("{s:?} is not a boolean"))),
                }
            }
            b"I32" => Value::I32(self.number("I32", empty)?),
            b"I64" => Value::I64(self.number("I64", empty)?),
            b"U32" => Value::U32(self.number("U32", empty)?),
            b"U64" => Value::U64(self.number("U64", empty)?),
            b"I16" => Value::I16(self.number("I16", empty)?),
            b"U16" => Value::U16(self.number("U16", empty)?),
            b"By" => Value::U8(self.number("By", empty)?),
            b"SB" => Value::I8(self.number("SB", empty)?),
            b"C" => Value::Char(self.number("C", empty)?),
            b"Db" => Value::F64(self.float("Db", empty)?),
            b"Sg" => Value::F32(self.float("Sg", empty)? as f32),
            b"D" => {
                let t = self.trimmed(empty)?;
                if !is_decimal(&t) {
                    return Err(self.invalid("D", format!("{t:?} is not a decimal")));
                }
                Value::Decimal(t)
            }
            b"DT" => Value::DateTime(self.trimmed(empty)?),
            b"TS" => Value::Duration(self.trimmed(empty)?),
            b"G" => {
                let t = self.text(empty)?;
                let g = uuid::Uuid::parse_str(t.trim())
                    .map_err(|e| self.invalid("G", e.to_string()))?;
                Value::Guid(g)
            }
            b"Version" => Value::Version(self.trimmed(empty)?),
            b"URI" => Value::Uri(owned_unescaped(self.text(empty)?)),
            b"XD" => Value::XmlDocument(owned_unescaped(self.text(empty)?)),
            b"SBK" => Value::ScriptBlock(owned_unescaped(self.text(empty)?)),
            b"BA" => Value::Bytes(self.base64("BA", empty)?),
            b"SS" => Value::SecureString(self.base64("SS", empty)?),
            b"PR" => return self.progress_record(empty),
            other => {
                return Err(self.structure(format!(
                    "unknown element <{}>",
                    String::from_utf8_lossy(other)
                )))
            }
        })
    }

    fn invalid(&self, element: &str, message: String) -> Error {
        self.err(ErrorKind::InvalidValue {
            element: element.to_owned(),
            message,
        })
    }

    fn number<T: std::str::FromStr>(&mut self, element: &str, empty: bool) -> Result<T>
    where
        T::Err: std::fmt::Display,
    {
        let t = self.text(empty)?;
        t.trim()
            .parse()
            .map_err(|e| self.invalid(element, format!("{:?}: {e}", t.as_ref())))
    }

    /// `<Db>`/`<Sg>` text: `INF`, `-INF`, `NaN` or a decimal number with an
    /// optional exponent (2.2.5.1.14, 2.2.5.1.15).
    fn float(&mut self, element: &str, empty: bool) -> Result<f64> {
        let t = self.text(empty)?;
        match t.trim() {
            "INF" | "Infinity" | "∞" => Ok(f64::INFINITY),
            "-INF" | "-Infinity" | "-∞" => Ok(f64::NEG_INFINITY),
            s if s.eq_ignore_ascii_case("NaN") => Ok(f64::NAN),
            s if s
                .bytes()
                .all(|b| b.is_ascii_digit() || b"+-.eE".contains(&b)) =>
            {
                s.parse()
                    .map_err(|e| self.invalid(element, format!("{s:?}: {e}")))
            }
            s => Err(self.invalid(element, format!("{s:?} is not a number"))),
        }
    }

    fn base64(&mut self, element: &str, empty: bool) -> Result<Vec<u8>> {
        let t = self.text(empty)?;
        let engine = &base64::engine::general_purpose::STANDARD;
        let r = if t.bytes().any(|b| b.is_ascii_whitespace()) {
            let compact: Vec<u8> = t.bytes().filter(|b| !b.is_ascii_whitespace()).collect();
            engine.decode(compact)
        } else {
            engine.decode(t.as_bytes())
        };
        r.map_err(|e| self.invalid(element, e.to_string()))
    }

    /// `<Ref RefId>`: the object recorded under that id, parsed again
    /// (2.2.5.2.1 references).
    fn resolve(&mut self, key: &RefKey) -> Result<Value> {
        let Some((start, end)) = self.objects.get(key) else {
            return Err(self.err(ErrorKind::UnknownRef(key.display())));
        };
        self.ref_bytes += end - start;
        if self.ref_bytes > self.limits.max_ref_bytes {
            return Err(self.err(ErrorKind::LimitExceeded(format!(
                "references expand to more than {} bytes",
                self.limits.max_ref_bytes
            ))));
        }
        let sub = xml_reader(&self.input[start..end]);
        let saved_xml = std::mem::replace(&mut self.xml, sub);
        let saved_base = std::mem::replace(&mut self.base, start as u64);
        let r = match self.next_tag() {
            Ok(Event::Start(e)) => self
                .attrs(&e)
                .and_then(|a| self.value(&e, false, start as u64, a.ref_id)),
            Ok(Event::Empty(e)) => self
                .attrs(&e)
                .and_then(|a| self.value(&e, true, start as u64, a.ref_id)),
            Ok(_) => Err(self.structure("reference to something that is not an object")),
            Err(e) => Err(e),
        };
        self.xml = saved_xml;
        self.base = saved_base;
        r
    }

    /// `<Obj>` (2.2.5.2): type names, ToString, properties and contents in
    /// any order.
    fn object(&mut self, ref_id: Option<RefKey>, empty: bool, start: u64) -> Result<Value> {
        let mut obj = PsObject::default();
        if !empty {
            loop {
                let at = self.pos();
                let (e, empty) = match self.next_tag()? {
                    Event::Start(e) => (e, false),
                    Event::Empty(e) => (e, true),
                    Event::End(_) => break,
                    Event::Eof => return Err(self.err(ErrorKind::UnexpectedEof)),
                    _ => continue,
                };
                match e.local_name().as_ref() {
                    b"TN" => {
                        let key = self.attrs(&e)?.ref_id;
                        let names: Arc<[String]> = self.type_name_list(empty)?.into();
                        if let Some(key) = key {
                            self.type_names.insert(key, names.clone());
                        }
                        obj.type_names = Some(names);
                    }
                    b"TNRef" => {
                        let key = self
                            .attrs(&e)?
                            .ref_id
                            .ok_or_else(|| self.structure("<TNRef> without RefId"))?;
                        self.skip(empty)?;
                        let names = self
                            .type_names
                            .get(&key)
                            .ok_or_else(|| self.err(ErrorKind::UnknownRef(key.display())))?;
                        obj.type_names = Some(names.clone());
                    }
                    b"ToString" => obj.to_string = Some(owned_unescaped(self.text(empty)?)),
                    b"Props" => self.members(&mut obj.adapted, empty)?,
                    b"MS" => self.members(&mut obj.extended, empty)?,
                    b"LST" | b"IE" => obj.content = Content::List(self.items(empty)?),
                    b"STK" => obj.content = Content::Stack(self.items(empty)?),
                    b"QUE" => obj.content = Content::Queue(self.items(empty)?),
                    b"DCT" => obj.content = Content::Dictionary(self.entries(empty)?),
                    _ => {
                        let ref_id = self.attrs(&e)?.ref_id;
                        let v = self.value(&e, empty, at, ref_id)?;
                        obj.content = Content::Primitive(v);
                    }
                }
            }
        }
        if let Some(key) = ref_id {
            let end = self.pos();
            self.objects.insert(key, (start as usize, end as usize));
        }
        Ok(Value::Object(Box::new(obj)))
    }

    /// `<PR>`: the compact ProgressRecord form `-OutputFormat xml` and
    /// `Export-Clixml` write for the progress stream (the same fields as
    /// [MS-PSRP] 2.2.2.25 PROGRESS_RECORD), read as an object of type
    /// `System.Management.Automation.ProgressRecord` with the properties
    /// Activity, ActivityId, CurrentOperation, ParentActivityId,
    /// PercentComplete, RecordType, SecondsRemaining and StatusDescription.
    fn progress_record(&mut self, empty: bool) -> Result<Value> {
        let mut props = Vec::with_capacity(8);
        if !empty {
            loop {
                let at = self.pos();
                let (e, empty) = match self.next_tag()? {
                    Event::Start(e) => (e, false),
                    Event::Empty(e) => (e, true),
                    Event::End(_) => break,
                    Event::Eof => return Err(self.err(ErrorKind::UnexpectedEof)),
                    _ => continue,
                };
                let (name, v) = match e.local_name().as_ref() {
                    b"AV" => (
                        "Activity",
                        Value::String(owned_unescaped(self.text(empty)?)),
                    ),
                    b"AI" => ("ActivityId", Value::I32(self.number("AI", empty)?)),
                    b"PI" => ("ParentActivityId", Value::I32(self.number("PI", empty)?)),
                    b"PC" => ("PercentComplete", Value::I32(self.number("PC", empty)?)),
                    b"T" => (
                        "RecordType",
                        Value::String(owned_unescaped(self.text(empty)?)),
                    ),
                    b"SR" => ("SecondsRemaining", Value::I32(self.number("SR", empty)?)),
                    b"SD" => (
                        "StatusDescription",
                        Value::String(owned_unescaped(self.text(empty)?)),
                    ),
                    _ => {
                        let ref_id = self.attrs(&e)?.ref_id;
                        ("CurrentOperation", self.value(&e, empty, at, ref_id)?)
                    }
                };
                props.push((name.to_owned(), v));
            }
        }
        let type_names: Arc<[String]> =
            vec!["System.Management.Automation.ProgressRecord".to_owned()].into();
        Ok(Value::Object(Box::new(PsObject {
            type_names: Some(type_names),
            extended: props,
            ..Default::default()
        })))
    }

    /// `<TN>`: a list of `<T>` type names (2.2.5.2.3).
    fn type_name_list(&mut self, empty: bool) -> Result<Vec<String>> {
        let mut names = Vec::new();
        if empty {
            return Ok(names);
        }
        loop {
            match self.next_tag()? {
                // Type names are not `_xHHHH_`-encoded (PowerShell and
                // psrpcore write them as they are).
                Event::Start(e) if e.local_name().as_ref() == b"T" => {
                    names.push(self.text(false)?.into_owned());
                }
                Event::Empty(e) if e.local_name().as_ref() == b"T" => names.push(String::new()),
                Event::End(_) => return Ok(names),
                Event::Eof => return Err(self.err(ErrorKind::UnexpectedEof)),
                _ => return Err(self.structure("only <T> may appear in <TN>")),
            }
        }
    }

    /// The next value element inside a container, or `None` at its end tag.
    fn next_value(&mut self) -> Result<Option<(Option<String>, Value)>> {
        let at = self.pos();
        let (e, empty) = match self.next_tag()? {
            Event::Start(e) => (e, false),
            Event::Empty(e) => (e, true),
            Event::End(_) => return Ok(None),
            Event::Eof => return Err(self.err(ErrorKind::UnexpectedEof)),
            _ => return Err(self.structure("unexpected content")),
        };
        let attrs = self.attrs(&e)?;
        let v = self.value(&e, empty, at, attrs.ref_id)?;
        Ok(Some((attrs.name, v)))
    }

    /// `<Props>` or `<MS>`: named members (2.2.5.2.8, 2.2.5.2.9).
    fn members(&mut self, out: &mut Vec<(String, Value)>, empty: bool) -> Result<()> {
        if empty {
            return Ok(());
        }
        while let Some((name, v)) = self.next_value()? {
            let name = name.ok_or_else(|| self.structure("property without an N attribute"))?;
            out.push((name, v));
        }
        Ok(())
    }

    /// `<LST>`, `<IE>`, `<STK>` or `<QUE>` items (2.2.5.2.6.1 to 2.2.5.2.6.3).
    fn items(&mut self, empty: bool) -> Result<Vec<Value>> {
        let mut out = Vec::new();
        if empty {
            return Ok(out);
        }
        while let Some((_, v)) = self.next_value()? {
            out.push(v);
        }
        Ok(out)
    }

    /// `<DCT>`: `<En>` entries of a `Key` and a `Value` (2.2.5.2.6.4).
    fn entries(&mut self, empty: bool) -> Result<Vec<(Value, Value)>> {
        let mut out = Vec::new();
        if empty {
            return Ok(out);
        }
        loop {
            let empty = match self.next_tag()? {
                Event::Start(e) if e.local_name().as_ref() == b"En" => false,
                Event::Empty(e) if e.local_name().as_ref() == b"En" => true,
                Event::End(_) => return Ok(out),
                Event::Eof => return Err(self.err(ErrorKind::UnexpectedEof)),
                _ => return Err(self.structure("only <En> may appear in <DCT>")),
            };
            let (mut key, mut value) = (None, None);
            if !empty {
                while let Some((name, v)) = self.next_value()? {
                    match name.as_deref() {
                        Some("Key") => key = Some(v),
                        Some("Value") => value = Some(v),
                        _ => return Err(self.structure("<En> member other than Key or Value")),
                    }
                }
            }
            match (key, value) {
                (Some(k), Some(v)) => out.push((k, v)),
                _ => return Err(self.structure("<En> without a Key and a Value")),
            }
        }
    }
}

fn trim_start(b: &[u8]) -> &[u8] {
    let n = b.iter().take_while(|c| c.is_ascii_whitespace()).count();
    &b[n..]
}

fn trim_end(b: &[u8]) -> &[u8] {
    let n = b
        .iter()
        .rev()
        .take_while(|c| c.is_ascii_whitespace())
        .count();
    &b[..b.len() - n]
}

/// Appends decoded text to an accumulator, borrowing while there is one piece.
fn append<'a>(acc: &mut Option<Cow<'a, str>>, s: Cow<'a, str>) {
    match acc {
        None => *acc = Some(s),
        Some(a) => a.to_mut().push_str(&s),
    }
}

/// `s` with `_xHHHH_` escapes decoded, as an owned string (one copy at most).
fn owned_unescaped(s: Cow<'_, str>) -> String {
    match unescape(&s) {
        Cow::Borrowed(_) => s.into_owned(),
        Cow::Owned(o) => o,
    }
}

/// Whether `s` is a decimal number as .NET writes `System.Decimal`.
fn is_decimal(s: &str) -> bool {
    let digits = s.strip_prefix(['-', '+']).unwrap_or(s);
    let (int, frac) = digits.split_once('.').unwrap_or((digits, ""));
    !(int.is_empty() && frac.is_empty())
        && int.bytes().all(|b| b.is_ascii_digit())
        && frac.bytes().all(|b| b.is_ascii_digit())
}

/// Where a [`Reader`] is in its document.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum State {
    /// Before the root element.
    Start,
    /// Inside `<Objs>`, between values.
    InObjs,
    /// After the root: only the end of the document may follow.
    AfterRoot,
    /// Finished, or stopped by an error.
    Done,
}

/// Reads the values of a CLIXML document one at a time ([MS-PSRP] 2.2.5).
///
/// The document is either an `<Objs>` list (as `Export-Clixml` and
/// `powershell -OutputFormat xml` write it) whose children are yielded in
/// order, or a single value element (a PSRP message body) yielded once.
/// Memory stays proportional to the largest single value (plus 16 bytes per
/// `<Obj RefId>` seen, to resolve later `<Ref>`s), so output of any size
/// streams. After an error the iterator ends.
///
/// ```
/// use psrp::clixml::{Reader, Value};
/// let doc = br#"<Objs Version="1.1.0.1" xmlns="http://schemas.microsoft.com/powershell/2004/04"><S>a</S><I32>2</I32></Objs>"#;
/// let values: Vec<Value> = Reader::new(doc).collect::<Result<_, _>>().unwrap();
/// assert_eq!(values, [Value::String("a".into()), Value::I32(2)]);
/// ```
///
/// [MS-PSRP]: https://learn.microsoft.com/en-us/openspecs/windows_protocols/ms-psrp/
pub struct Reader<'a> {
    parser: Parser<'a>,
    state: State,
    stream: Option<String>,
}

impl<'a> Reader<'a> {
    /// A reader over a whole document, with the default [`Limits`]. A leading
    /// UTF-8 byte order mark is skipped.
    pub fn new(input: &'a [u8]) -> Self {
        Self::with_limits(input, Limits::default())
    }

    /// A reader with the given [`Limits`].
    pub fn with_limits(input: &'a [u8], limits: Limits) -> Self {
        let input = input.strip_prefix(b"\xEF\xBB\xBF").unwrap_or(input);
        Reader {
            parser: Parser::new(input, limits),
            state: State::Start,
            stream: None,
        }
    }

    /// The `S` attribute of the value last returned, if it had one: the
    /// stream (`Error`, `progress`, `warning`, `verbose`, `debug`,
    /// `information`) that `powershell -OutputFormat xml` marks its
    /// non-output records with. `None` means the output stream.
    pub fn stream(&self) -> Option<&str> {
        self.stream.as_deref()
    }

    /// The byte offset in the input the reader has reached.
    pub fn position(&self) -> u64 {
        self.parser.pos()
    }

    fn step(&mut self) -> Result<Option<Value>> {
        let p = &mut self.parser;
        loop {
            let at = p.pos();
            match (self.state, p.next_tag()?) {
                (State::Start, Event::Start(e)) if e.local_name().as_ref() == b"Objs" => {
                    self.state = State::InObjs;
                }
                (State::Start, Event::Empty(e)) if e.local_name().as_ref() == b"Objs" => {
                    self.state = State::AfterRoot;
                }
                (State::Start | State::InObjs, ev @ (Event::Start(_) | Event::Empty(_))) => {
                    let (e, empty) = match ev {
                        Event::Start(e) => (e, false),
                        Event::Empty(e) => (e, true),
                        _ => unreachable!(),
                    };
                    if self.state == State::Start {
                        self.state = State::AfterRoot;
                    }
                    p.values = 0;
                    p.ref_bytes = 0;
                    let attrs = p.attrs(&e)?;
                    self.stream = attrs.stream;
                    return p.value(&e, empty, at, attrs.ref_id).map(Some);
                }
                (State::InObjs, Event::End(_)) => self.state = State::AfterRoot,
                (State::Start | State::AfterRoot, Event::Eof) => return Ok(None),
                (State::InObjs, Event::Eof) => return Err(p.err(ErrorKind::UnexpectedEof)),
                (State::AfterRoot, _) => return Err(p.structure("content after the root element")),
                _ => return Err(p.structure("unexpected content")),
            }
        }
    }
}

impl Iterator for Reader<'_> {
    type Item = Result<Value>;

    fn next(&mut self) -> Option<Self::Item> {
        if self.state == State::Done {
            return None;
        }
        match self.step() {
            Ok(Some(v)) => Some(Ok(v)),
            Ok(None) => {
                self.state = State::Done;
                None
            }
            Err(e) => {
                self.state = State::Done;
                Some(Err(e))
            }
        }
    }
}

/// Parses a document holding exactly one value: a single value element (a
/// PSRP message body is one `<Obj>`) or an `<Objs>` with one child
/// ([MS-PSRP] 2.2.5).
///
/// [MS-PSRP]: https://learn.microsoft.com/en-us/openspecs/windows_protocols/ms-psrp/
pub fn from_slice_with_limits(input: &[u8], limits: Limits) -> Result<Value> {
    let mut r = Reader::with_limits(input, limits);
    let v = match r.next() {
        Some(v) => v?,
        None => return Err(Error::new(ErrorKind::UnexpectedEof, r.parser.pos())),
    };
    match r.next() {
        None => Ok(v),
        Some(Err(e)) => Err(e),
        Some(Ok(_)) => Err(Error::new(ErrorKind::TrailingContent, r.parser.pos())),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parse(s: &str) -> Result<Value> {
        from_slice_with_limits(s.as_bytes(), Limits::default())
    }

    #[test]
    fn primitives() {
        let cases: Vec<(&str, Value)> = vec![
            ("<S>a_x000A_b &amp; c</S>", Value::String("a\nb & c".into())),
            ("<S />", Value::String(String::new())),
            ("<C>97</C>", Value::Char(97)),
            ("<B>true</B>", Value::Bool(true)),
            ("<B>false</B>", Value::Bool(false)),
            (
                "<DT>2008-04-11T10:42:32.2731993-07:00</DT>",
                Value::DateTime("2008-04-11T10:42:32.2731993-07:00".into()),
            ),
            (
                "<TS>PT9.0269026S</TS>",
                Value::Duration("PT9.0269026S".into()),
            ),
            ("<By>254</By>", Value::U8(254)),
            ("<SB>-127</SB>", Value::I8(-127)),
            ("<U16>65535</U16>", Value::U16(65535)),
            ("<I16>-32768</I16>", Value::I16(-32768)),
            ("<U32>4294967295</U32>", Value::U32(u32::MAX)),
            ("<I32>-2147483648</I32>", Value::I32(i32::MIN)),
            ("<U64>18446744073709551615</U64>", Value::U64(u64::MAX)),
            ("<I64>-9223372036854775808</I64>", Value::I64(i64::MIN)),
            ("<Sg>12.34</Sg>", Value::F32(12.34)),
            ("<Db>1.1E+40</Db>", Value::F64(1.1e40)),
            ("<Db>-INF</Db>", Value::F64(f64::NEG_INFINITY)),
            ("<D>-12.50</D>", Value::Decimal("-12.50".into())),
            ("<BA>AQID</BA>", Value::Bytes(vec![1, 2, 3])),
            (
                "<G>792e5b37-4505-47ef-b7d2-8711bb7affa8</G>",
                Value::Guid("792e5b37-4505-47ef-b7d2-8711bb7affa8".parse().unwrap()),
            ),
            (
                "<URI>http://x/_x0020_</URI>",
                Value::Uri("http://x/ ".into()),
            ),
            (
                "<Version>6.2.9200.0</Version>",
                Value::Version("6.2.9200.0".into()),
            ),
            ("<XD>&lt;a/&gt;</XD>", Value::XmlDocument("<a/>".into())),
            (
                "<SBK>get-command -type cmdlet</SBK>",
                Value::ScriptBlock("get-command -type cmdlet".into()),
            ),
            ("<SS>AQID</SS>", Value::SecureString(vec![1, 2, 3])),
            ("<Nil />", Value::Null),
        ];
        for (xml, want) in cases {
            assert_eq!(parse(xml).unwrap(), want, "{xml}");
        }
        let Value::F64(nan) = parse("<Db>NaN</Db>").unwrap() else {
            panic!()
        };
        assert!(nan.is_nan());
        assert_eq!(parse("<Sg>INF</Sg>").unwrap(), Value::F32(f32::INFINITY));
    }

    #[test]
    fn object_with_tnref_and_ref() {
        let doc = r#"<Objs Version="1.1.0.1" xmlns="http://schemas.microsoft.com/powershell/2004/04">
<Obj RefId="0"><TN RefId="0"><T>System.Management.Automation.PSCustomObject</T><T>System.Object</T></TN><ToString>x</ToString>
  <MS><S N="A_x0020_B">v</S><Obj N="L" RefId="1"><TN RefId="1"><T>System.Object[]</T></TN><LST><I32>1</I32><Nil /></LST></Obj></MS></Obj>
<Obj RefId="2"><TNRef RefId="0" /><Props><Ref N="Same" RefId="1" /></Props></Obj>
</Objs>"#;
        let values: Vec<Value> = Reader::new(doc.as_bytes()).collect::<Result<_>>().unwrap();
        assert_eq!(values.len(), 2);
        let a = values[0].as_object().unwrap();
        let b = values[1].as_object().unwrap();
        assert!(Arc::ptr_eq(
            a.type_names.as_ref().unwrap(),
            b.type_names.as_ref().unwrap()
        ));
        assert_eq!(a.to_string.as_deref(), Some("x"));
        assert_eq!(a.extended[0], ("A B".to_owned(), Value::String("v".into())));
        assert_eq!(a.property("L"), b.property("Same"));
        let list = a.property("L").unwrap().as_object().unwrap();
        assert_eq!(
            list.content,
            Content::List(vec![Value::I32(1), Value::Null])
        );
    }

    #[test]
    fn dictionary_and_enum() {
        let doc = r#"<Obj RefId="0"><TN RefId="0"><T>System.Collections.Hashtable</T></TN><DCT><En><S N="Key">k</S><I32 N="Value">1</I32></En></DCT></Obj>"#;
        let o = parse(doc).unwrap();
        assert_eq!(
            o.as_object().unwrap().content,
            Content::Dictionary(vec![(Value::String("k".into()), Value::I32(1))])
        );
        let e = r#"<Obj N="State" RefId="1"><TN RefId="1"><T>System.Management.Automation.Runspaces.RunspacePoolState</T><T>System.Enum</T></TN><ToString>Opened</ToString><I32>2</I32></Obj>"#;
        let o = parse(e).unwrap();
        assert_eq!(
            o.as_object().unwrap().content,
            Content::Primitive(Value::I32(2))
        );
    }

    #[test]
    fn hostile_input_is_refused() {
        let deep = "<Obj><LST>".repeat(100) + &"</LST></Obj>".repeat(100);
        assert!(matches!(
            parse(&deep).unwrap_err().kind(),
            ErrorKind::LimitExceeded(_)
        ));
        let doctype = r#"<!DOCTYPE x [<!ENTITY a "aaaa">]><S>&a;</S>"#;
        assert_eq!(parse(doctype).unwrap_err().kind(), &ErrorKind::DocType);
        assert!(parse("<S>&a;</S>").is_err());
        assert!(matches!(
            parse("<Ref RefId=\"9\"/>").unwrap_err().kind(),
            ErrorKind::UnknownRef(_)
        ));
        assert!(parse("<I32>x</I32>").is_err());
        assert!(parse("<S>a</S><S>b</S>").is_err());
        assert!(parse("").is_err());
        assert!(parse("<Obj><LST>").is_err());
        // A chain of references doubling at each step stops at the limit.
        let mut doc = String::from("<Objs><Obj RefId=\"0\"><S>aaaaaaaaaaaaaaaaaaaa</S></Obj>");
        for i in 1..25 {
            doc += &format!(
                "<Obj RefId=\"{i}\"><LST><Ref RefId=\"{}\"/><Ref RefId=\"{}\"/></LST></Obj>",
                i - 1,
                i - 1
            );
        }
        doc += "</Objs>";
        let limits = Limits {
            max_ref_bytes: 100_000,
            ..Limits::default()
        };
        let r: Result<Vec<Value>> = Reader::with_limits(doc.as_bytes(), limits).collect();
        let e = r.unwrap_err();
        assert!(
            matches!(e.kind(), ErrorKind::LimitExceeded(m) if m.contains("bytes")),
            "{e}"
        );
        let limits = Limits {
            max_values: 1000,
            ..Limits::default()
        };
        let r: Result<Vec<Value>> = Reader::with_limits(doc.as_bytes(), limits).collect();
        let e = r.unwrap_err();
        assert!(
            matches!(e.kind(), ErrorKind::LimitExceeded(m) if m.contains("values")),
            "{e}"
        );
    }

    #[test]
    fn invalid_utf8_is_an_error_with_its_position() {
        let e = from_slice_with_limits(b"<Objs><S>ok</S><S>a\xFFb</S></Objs>", Limits::default())
            .unwrap_err();
        assert!(matches!(e.kind(), ErrorKind::Xml(_)), "{e}");
        let e = from_slice_with_limits(
            b"<Obj><MS><S N=\"\xC3\">x</S></MS></Obj>",
            Limits::default(),
        )
        .unwrap_err();
        assert!(matches!(e.kind(), ErrorKind::Xml(_)), "{e}");
        let mut r = Reader::new(b"<Objs><S>ok</S><S>a\xFFb</S></Objs>");
        assert_eq!(r.next().unwrap().unwrap(), Value::String("ok".into()));
        assert!(r.next().unwrap().is_err());
        assert!(r.next().is_none());
    }

    #[test]
    fn attributes_in_any_xml_form() {
        let doc = "<Obj RefId = '0' ><MS><S  N='a&amp;b_x0020_c' >x</S><I32 ps:N=\"n\">1</I32></MS></Obj>";
        let v = parse(doc).unwrap();
        let o = v.as_object().unwrap();
        assert_eq!(o.extended[0].0, "a&b c");
        assert_eq!(o.extended[1].0, "n");
        for bad in [
            "<S N>x</S>",
            "<S N=x>x</S>",
            "<S N=\"x>x</S>",
            "<S N=\"&bogus;\">x</S>",
        ] {
            assert!(
                parse(&format!("<Obj><MS>{bad}</MS></Obj>")).is_err(),
                "{bad}"
            );
        }
    }

    #[test]
    fn error_positions_point_into_the_input() {
        let e = parse("<Objs><S>a</S><I32>12x</I32></Objs>").unwrap_err();
        assert!(e.position() >= 14 && e.position() <= 28, "{e}");
    }

    #[test]
    fn bom_and_declaration_are_skipped() {
        let v = from_slice_with_limits(
            b"\xEF\xBB\xBF<?xml version=\"1.0\"?><S>x</S>",
            Limits::default(),
        );
        assert_eq!(v.unwrap(), Value::String("x".into()));
    }
}
