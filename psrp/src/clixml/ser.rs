//! The CLIXML serializer ([MS-PSRP] 2.2.5): compact output as PowerShell
//! writes it, no whitespace, every `<Obj>` with a `RefId`, repeated type-name
//! lists as `<TNRef>`.
//!
//! [MS-PSRP]: https://learn.microsoft.com/en-us/openspecs/windows_protocols/ms-psrp/
use std::collections::HashMap;
use std::fmt::Write as _;

use base64::Engine as _;

use super::escape::escape_into;
use super::value::{Content, PsObject, Value};

/// Writes values as CLIXML into a `String`, keeping the reference counters
/// of one message or document ([MS-PSRP] 2.2.5.2.1, 2.2.5.2.3): object
/// `RefId`s count up from 0, and a type-name list already written is
/// referred to with `<TNRef>`.
///
/// ```
/// use psrp::clixml::{Value, Writer};
/// let mut out = String::new();
/// let mut w = Writer::new(&mut out);
/// w.write(&Value::I32(1));
/// w.write(&Value::String("a\nb".into()));
/// assert_eq!(out, "<I32>1</I32><S>a_x000A_b</S>");
/// ```
///
/// [MS-PSRP]: https://learn.microsoft.com/en-us/openspecs/windows_protocols/ms-psrp/
pub struct Writer<'o, 'v> {
    out: &'o mut String,
    next_obj: u32,
    type_names: HashMap<&'v [String], u32>,
}

impl<'o, 'v> Writer<'o, 'v> {
    /// A writer appending to `out`.
    pub fn new(out: &'o mut String) -> Self {
        Writer {
            out,
            next_obj: 0,
            type_names: HashMap::new(),
        }
    }

    /// Appends one value, with no member name.
    pub fn write(&mut self, value: &'v Value) {
        self.value(value, None);
    }

    /// Appends one value as a member named `name` (the `N` attribute of
    /// 2.2.5.2.8), as property values and dictionary entries are written.
    pub fn write_named(&mut self, name: &str, value: &'v Value) {
        self.value(value, Some(name));
    }

    /// Appends `<Objs Version="1.1.0.1" xmlns=...>` with `values` inside, the
    /// document form `Export-Clixml` writes.
    pub fn write_document<I>(&mut self, values: I)
    where
        I: IntoIterator<Item = &'v Value>,
    {
        self.out.push_str(
            r#"<Objs Version="1.1.0.1" xmlns="http://schemas.microsoft.com/powershell/2004/04">"#,
        );
        for v in values {
            self.write(v);
        }
        self.out.push_str("</Objs>");
    }

    fn open(&mut self, tag: &str, name: Option<&str>) {
        self.out.push('<');
        self.out.push_str(tag);
        if let Some(n) = name {
            self.out.push_str(" N=\"");
            escape_into(self.out, n, true);
            self.out.push('"');
        }
    }

    /// `<tag N="..">text</tag>` with text written verbatim (already valid).
    fn raw(&mut self, tag: &str, name: Option<&str>, text: &str) {
        self.open(tag, name);
        self.out.push('>');
        self.out.push_str(text);
        self.close(tag);
    }

    /// `<tag N="..">text</tag>` with `_xHHHH_` and XML escaping applied, or
    /// `<tag />` for empty text.
    fn escaped(&mut self, tag: &str, name: Option<&str>, text: &str) {
        self.open(tag, name);
        if text.is_empty() {
            self.out.push_str(" />");
            return;
        }
        self.out.push('>');
        escape_into(self.out, text, false);
        self.close(tag);
    }

    fn close(&mut self, tag: &str) {
        self.out.push_str("</");
        self.out.push_str(tag);
        self.out.push('>');
    }

    fn display(&mut self, tag: &str, name: Option<&str>, v: impl std::fmt::Display) {
        self.open(tag, name);
        self.out.push('>');
        let _ = write!(self.out, "{v}");
        self.close(tag);
    }

    fn value(&mut self, value: &'v Value, name: Option<&str>) {
        match value {
            Value::Null => {
                self.open("Nil", name);
                self.out.push_str(" />");
            }
            Value::String(s) => self.escaped("S", name, s),
            Value::Char(c) => self.display("C", name, c),
            Value::Bool(b) => self.raw("B", name, if *b { "true" } else { "false" }),
            Value::DateTime(s) => self.escaped("DT", name, s),
            Value::Duration(s) => self.escaped("TS", name, s),
            Value::U8(n) => self.display("By", name, n),
            Value::I8(n) => self.display("SB", name, n),
            Value::U16(n) => self.display("U16", name, n),
            Value::I16(n) => self.display("I16", name, n),
            Value::U32(n) => self.display("U32", name, n),
            Value::I32(n) => self.display("I32", name, n),
            Value::U64(n) => self.display("U64", name, n),
            Value::I64(n) => self.display("I64", name, n),
            Value::F32(f) => {
                let t = float_text(f64::from(*f), || format!("{f:?}"));
                self.raw("Sg", name, &t)
            }
            Value::F64(f) => {
                let t = float_text(*f, || format!("{f:?}"));
                self.raw("Db", name, &t)
            }
            Value::Decimal(s) => self.escaped("D", name, s),
            Value::Bytes(b) => self.base64("BA", name, b),
            Value::Guid(g) => self.display("G", name, g.hyphenated()),
            Value::Uri(s) => self.escaped("URI", name, s),
            Value::Version(s) => self.escaped("Version", name, s),
            Value::XmlDocument(s) => self.escaped("XD", name, s),
            Value::ScriptBlock(s) => self.escaped("SBK", name, s),
            Value::SecureString(b) => self.base64("SS", name, b),
            Value::Object(o) => self.object(o, name),
        }
    }

    fn base64(&mut self, tag: &str, name: Option<&str>, bytes: &[u8]) {
        self.open(tag, name);
        self.out.push('>');
        base64::engine::general_purpose::STANDARD.encode_string(bytes, self.out);
        self.close(tag);
    }

    /// `<Obj>` (2.2.5.2): type names, ToString, the contents, then `<Props>`
    /// and `<MS>`, the order PowerShell writes.
    fn object(&mut self, o: &'v PsObject, name: Option<&str>) {
        self.open("Obj", name);
        let _ = write!(self.out, " RefId=\"{}\">", self.next_obj);
        self.next_obj += 1;
        if let Some(names) = &o.type_names {
            let next = self.type_names.len() as u32;
            match self.type_names.get(&names[..]) {
                Some(id) => {
                    let _ = write!(self.out, "<TNRef RefId=\"{id}\" />");
                }
                None => {
                    self.type_names.insert(&names[..], next);
                    let _ = write!(self.out, "<TN RefId=\"{next}\">");
                    for t in names.iter() {
                        self.out.push_str("<T>");
                        xml_escape_into(self.out, t);
                        self.out.push_str("</T>");
                    }
                    self.out.push_str("</TN>");
                }
            }
        }
        if let Some(s) = &o.to_string {
            self.escaped("ToString", None, s);
        }
        match &o.content {
            Content::None => {}
            Content::Primitive(v) => self.value(v, None),
            Content::List(items) => self.items("LST", items),
            Content::Stack(items) => self.items("STK", items),
            Content::Queue(items) => self.items("QUE", items),
            Content::Dictionary(entries) => {
                self.out.push_str("<DCT>");
                for (k, v) in entries {
                    self.out.push_str("<En>");
                    self.value(k, Some("Key"));
                    self.value(v, Some("Value"));
                    self.out.push_str("</En>");
                }
                self.out.push_str("</DCT>");
            }
        }
        self.members("Props", &o.adapted);
        self.members("MS", &o.extended);
        self.out.push_str("</Obj>");
    }

    fn items(&mut self, tag: &str, items: &'v [Value]) {
        self.out.push('<');
        self.out.push_str(tag);
        self.out.push('>');
        for v in items {
            self.value(v, None);
        }
        self.close(tag);
    }

    fn members(&mut self, tag: &str, members: &'v [(String, Value)]) {
        if members.is_empty() {
            return;
        }
        self.out.push('<');
        self.out.push_str(tag);
        self.out.push('>');
        for (n, v) in members {
            self.value(v, Some(n));
        }
        self.close(tag);
    }
}

/// Appends `s` with only the XML special characters escaped: type names
/// are not `_xHHHH_`-encoded (2.2.5.2.3).
fn xml_escape_into(out: &mut String, s: &str) {
    let mut start = 0;
    for (i, c) in s.char_indices() {
        let r = match c {
            '&' => "&amp;",
            '<' => "&lt;",
            '>' => "&gt;",
            _ => continue,
        };
        out.push_str(&s[start..i]);
        out.push_str(r);
        start = i + 1;
    }
    out.push_str(&s[start..]);
}

/// `INF`, `-INF`, `NaN`, or the shortest text that parses back to the same
/// number (2.2.5.1.14, 2.2.5.1.15).
fn float_text(f: f64, finite: impl FnOnce() -> String) -> String {
    if f.is_nan() {
        "NaN".into()
    } else if f == f64::INFINITY {
        "INF".into()
    } else if f == f64::NEG_INFINITY {
        "-INF".into()
    } else {
        // Rust's shortest round-trip form ("1.5", "1e40", "-0.0"), which .NET
        // and Python both parse.
        finite()
    }
}

/// Serializes one value to compact CLIXML, the form of a PSRP message body
/// ([MS-PSRP] 2.2.5).
///
/// ```
/// use psrp::clixml::{to_string, Value};
/// assert_eq!(to_string(&Value::String("_x".into())), "<S>_x005F_x</S>");
/// ```
///
/// [MS-PSRP]: https://learn.microsoft.com/en-us/openspecs/windows_protocols/ms-psrp/
pub fn to_string(value: &Value) -> String {
    // A long string (a file copy's chunk) is written in one allocation.
    let mut out = match value {
        Value::String(text) => String::with_capacity(text.len() + 16),
        _ => String::new(),
    };
    Writer::new(&mut out).write(value);
    out
}

/// Appends one value's compact CLIXML to a byte buffer ([MS-PSRP] 2.2.5).
///
/// [MS-PSRP]: https://learn.microsoft.com/en-us/openspecs/windows_protocols/ms-psrp/
pub fn to_writer(out: &mut Vec<u8>, value: &Value) {
    out.extend_from_slice(to_string(value).as_bytes());
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::Arc;

    #[test]
    fn primitives_are_written_as_powershell_does() {
        assert_eq!(to_string(&Value::Null), "<Nil />");
        assert_eq!(to_string(&Value::String(String::new())), "<S />");
        assert_eq!(to_string(&Value::Bool(true)), "<B>true</B>");
        assert_eq!(to_string(&Value::F64(f64::NEG_INFINITY)), "<Db>-INF</Db>");
        assert_eq!(to_string(&Value::F32(1.5)), "<Sg>1.5</Sg>");
        assert_eq!(to_string(&Value::Bytes(vec![1, 2, 3])), "<BA>AQID</BA>");
        assert_eq!(
            to_string(&Value::String("<\u{1F600}>".into())),
            "<S>&lt;_xD83D__xDE00_&gt;</S>"
        );
    }

    #[test]
    fn repeated_type_names_become_tnref() {
        let tn: Arc<[String]> = vec!["A".to_owned(), "System.Object".to_owned()].into();
        let obj = |v: i32| {
            Value::Object(Box::new(PsObject {
                type_names: Some(tn.clone()),
                extended: vec![("a\"b".into(), Value::I32(v))],
                ..Default::default()
            }))
        };
        let list = Value::Object(Box::new(PsObject {
            content: Content::List(vec![obj(1), obj(2)]),
            ..Default::default()
        }));
        assert_eq!(
            to_string(&list),
            "<Obj RefId=\"0\"><LST>\
             <Obj RefId=\"1\"><TN RefId=\"0\"><T>A</T><T>System.Object</T></TN><MS><I32 N=\"a&quot;b\">1</I32></MS></Obj>\
             <Obj RefId=\"2\"><TNRef RefId=\"0\" /><MS><I32 N=\"a&quot;b\">2</I32></MS></Obj>\
             </LST></Obj>"
        );
    }
}
