//! The streaming CLIXML deserializer ([MS-PSRP] 2.2.5): quick-xml events in,
//! [`Value`]s out, with no tree in between. [`super::Reader`] drives it.
//!
//! References are resolved lazily: an `<Obj RefId>` only records where it
//! lies in the input, and a later `<Ref RefId>` parses that slice again. So an
//! object nobody references costs nothing extra, a document of any length is
//! read in memory proportional to its largest value, and hostile reference
//! chains are stopped by [`Limits`] instead of exhausting memory.
//!
//! Each recorded object also keeps what resolving it costs: its own bytes
//! plus the expansion of the references inside it. A `<Ref>` is charged
//! that whole cost before anything is parsed again, so a chain of objects
//! each referencing the one below twice (2^n copies from a few hundred
//! bytes) is refused at once, not after building most of it.
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
    /// The most input bytes parsed again to resolve `<Ref>` elements,
    /// counting the references inside a referenced object as expanded.
    /// Default 64 MiB.
    pub max_ref_bytes: usize,
    /// References may expand a document by at most this many times its own
    /// length (with a floor of `REF_EXPANSION_FLOOR` bytes for small
    /// messages), whichever of this and `max_ref_bytes` is smaller: what a
    /// hostile message costs stays a small multiple of its size. Default 16.
    pub max_ref_ratio: usize,
}

/// Bytes references may always expand to, whatever the document's length
/// (see [`Limits::max_ref_ratio`]): 64 KiB.
pub const REF_EXPANSION_FLOOR: usize = 64 << 10;

impl Default for Limits {
    fn default() -> Self {
        Limits {
            max_depth: 64,
            max_values: 10_000_000,
            max_ref_bytes: 64 << 20,
            max_ref_ratio: 16,
        }
    }
}

/// The key of a `RefId`: a number as PowerShell writes them, or any other
/// text.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub(super) enum RefKey {
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
pub(super) struct Attrs {
    pub(super) name: Option<String>,
    pub(super) ref_id: Option<RefKey>,
    /// `S`: the stream of a top-level value in `-OutputFormat xml` output.
    pub(super) stream: Option<String>,
}

/// Where an `<Obj RefId>` lies in the input (`start..end`) and how many
/// bytes resolving a `<Ref>` to it parses (`cost`: its own length plus the
/// expansion of the references inside it).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
struct Recorded {
    start: usize,
    end: usize,
    cost: usize,
}

/// Where each `<Obj RefId>` lies in the input. PowerShell numbers objects
/// 0, 1, 2, ... so small numbers index a vector (24 bytes per object);
/// other ids go to a map.
#[derive(Default)]
struct ObjectTable {
    dense: Vec<Recorded>,
    sparse: HashMap<RefKey, Recorded>,
    count: usize,
}

impl ObjectTable {
    const NONE: Recorded = Recorded {
        start: usize::MAX,
        end: usize::MAX,
        cost: usize::MAX,
    };

    fn insert(&mut self, key: RefKey, range: Recorded) {
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

    fn get(&self, key: &RefKey) -> Option<Recorded> {
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

pub(super) type Result<T> = std::result::Result<T, Error>;

/// The parser state shared by one document: the XML reader and the
/// reference tables (references are per message, [MS-PSRP] 2.2.5.2.1).
pub(super) struct Parser<'a> {
    input: &'a [u8],
    /// `input` as text when it is valid UTF-8 (checked once, up front), so
    /// that text slices need no second check.
    text_input: Option<&'a str>,
    xml: quick_xml::Reader<&'a [u8]>,
    /// Offset of `xml`'s slice in `input` (non-zero while resolving a `<Ref>`).
    base: u64,
    limits: Limits,
    depth: usize,
    pub(super) values: usize,
    pub(super) ref_bytes: usize,
    /// The bound on `ref_bytes` for this document: `max_ref_bytes`, or
    /// less for a short document (`max_ref_ratio`).
    ref_budget: usize,
    /// How many `<Ref>`s are being resolved inside each other: the
    /// outermost one was charged for everything the inner ones parse.
    resolving: usize,
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
    pub(super) fn new(input: &'a [u8], limits: Limits) -> Self {
        Parser {
            input,
            text_input: std::str::from_utf8(input).ok(),
            xml: xml_reader(input),
            base: 0,
            limits,
            depth: 0,
            values: 0,
            ref_bytes: 0,
            ref_budget: limits.max_ref_bytes.min(
                input
                    .len()
                    .saturating_mul(limits.max_ref_ratio)
                    .max(REF_EXPANSION_FLOOR),
            ),
            resolving: 0,
            type_names: HashMap::new(),
            objects: ObjectTable::default(),
        }
    }

    /// The absolute input offset the reader has reached.
    pub(super) fn pos(&self) -> u64 {
        self.base + self.xml.buffer_position()
    }

    pub(super) fn err(&self, kind: ErrorKind) -> Error {
        Error::new(kind, self.pos())
    }

    pub(super) fn structure(&self, message: impl Into<String>) -> Error {
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
    pub(super) fn next_tag(&mut self) -> Result<Event<'a>> {
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
    pub(super) fn attrs(&self, e: &BytesStart<'_>) -> Result<Attrs> {
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
    pub(super) fn value(
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
        let Some(Recorded { start, end, cost }) = self.objects.get(key) else {
            return Err(self.err(ErrorKind::UnknownRef(key.display())));
        };
        if self.resolving == 0 {
            // Charged in full before parsing: the references inside were
            // counted when the object was first read.
            self.ref_bytes = self.ref_bytes.saturating_add(cost);
            if self.ref_bytes > self.ref_budget {
                return Err(self.err(ErrorKind::LimitExceeded(format!(
                    "references expand to more than {} bytes (the document has {})",
                    self.ref_budget,
                    self.input.len()
                ))));
            }
        }
        self.resolving += 1;
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
        self.resolving -= 1;
        self.xml = saved_xml;
        self.base = saved_base;
        r
    }

    /// `<Obj>` (2.2.5.2): type names, ToString, properties and contents in
    /// any order.
    fn object(&mut self, ref_id: Option<RefKey>, empty: bool, start: u64) -> Result<Value> {
        let mut obj = PsObject::default();
        let ref_bytes_before = self.ref_bytes;
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
        // Inside a `<Ref>` the objects were recorded when first read (and
        // their inner references are not charged again there).
        if let (Some(key), 0) = (ref_id, self.resolving) {
            let end = self.pos() as usize;
            let start = start as usize;
            let inner = self.ref_bytes - ref_bytes_before;
            let cost = (end - start).saturating_add(inner);
            self.objects.insert(key, Recorded { start, end, cost });
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
