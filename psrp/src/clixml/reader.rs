//! [`Reader`]: the values of a CLIXML document one at a time, and
//! [`from_slice_with_limits`] for a document of one value ([MS-PSRP] 2.2.5).
//!
//! [MS-PSRP]: https://learn.microsoft.com/en-us/openspecs/windows_protocols/ms-psrp/
use quick_xml::events::Event;

use super::de::{Limits, Parser, Result};
use super::error::{Error, ErrorKind};
use super::value::Value;

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
    if let Some(v) = simple_value(input) {
        return Ok(v);
    }
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

/// The fast path of [`from_slice_with_limits`] for the commonest PSRP
/// output, a bare `<I32>`, `<I64>` or `<S>` element ([MS-PSRP] 2.2.5.1.1,
/// 2.2.5.1.11, 2.2.5.1.12) with plain content: the value without running
/// the XML parser. `None` for anything else (attributes, entities,
/// whitespace, signs other than `-`, ...): the parser then decides, so the
/// result is always the one the parser would give.
fn simple_value(input: &[u8]) -> Option<Value> {
    let input = input.strip_prefix(b"\xEF\xBB\xBF").unwrap_or(input);
    let inner = |tag: &[u8]| -> Option<&[u8]> {
        let rest = input
            .strip_prefix(b"<")?
            .strip_prefix(tag)?
            .strip_prefix(b">")?;
        let rest = rest.strip_suffix(b">")?.strip_suffix(tag)?;
        rest.strip_suffix(b"</")
    };
    fn number(t: &[u8]) -> Option<&str> {
        let digits = t.strip_prefix(b"-").unwrap_or(t);
        let plain =
            !digits.is_empty() && digits.len() <= 19 && digits.iter().all(u8::is_ascii_digit);
        plain.then(|| std::str::from_utf8(t).ok()).flatten()
    }
    match input.get(1..3)? {
        b"I3" => Some(Value::I32(number(inner(b"I32")?)?.parse().ok()?)),
        b"I6" => Some(Value::I64(number(inner(b"I64")?)?.parse().ok()?)),
        [b'S', b'>', ..] => {
            let t = inner(b"S")?;
            // markup, entities and line ends are the parser's business
            if t.len() > 4096 || t.iter().any(|&b| matches!(b, b'<' | b'>' | b'&' | b'\r')) {
                return None;
            }
            let t = std::str::from_utf8(t).ok()?;
            Some(Value::String(super::escape::unescape(t).into_owned()))
        }
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::clixml::Content;
    use std::sync::Arc;

    fn parse(s: &str) -> Result<Value> {
        from_slice_with_limits(s.as_bytes(), Limits::default())
    }

    /// The fast path gives what the parser gives, and leaves it whatever
    /// it is not sure of.
    #[test]
    fn simple_values_match_the_parser() {
        let cases = [
            "<I32>42</I32>",
            "<I32>-2147483648</I32>",
            "<I32>2147483648</I32>",
            "<I32>+5</I32>",
            "<I32> 7 </I32>",
            "<I32></I32>",
            "<I32>1</I64>",
            "<I64>-9223372036854775808</I64>",
            "<I64>99999999999999999999</I64>",
            "\u{FEFF}<I32>3</I32>",
            "<S>plain text</S>",
            "<S>a_x000A_b</S>",
            "<S>a &amp; b</S>",
            "<S>a\r\nb</S>",
            "<S></S>",
            "<S>x</S><S>y</S>",
            "<S>é ü</S>",
            "<SB>1</SB>",
            "<S N=\"x\">1</S>",
            "<I32>1</I32>trailing",
        ];
        for c in cases {
            let slow = Reader::new(c.as_bytes())
                .collect::<Result<Vec<_>>>()
                .ok()
                .filter(|v| v.len() == 1)
                .map(|mut v| v.remove(0));
            if let Some(fast) = simple_value(c.as_bytes()) {
                assert_eq!(Some(fast), slow, "{c:?}");
            }
            assert_eq!(parse(c).ok(), slow, "{c:?}");
        }
        assert_eq!(simple_value(b"<I32>42</I32>"), Some(Value::I32(42)));
        assert_eq!(
            simple_value(b"<S>a_x000A_b</S>"),
            Some(Value::String("a\nb".into()))
        );
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

    /// Issue 8's message: one value holding 18 levels, each an object with
    /// two references to the level below (2^18 copies of the bottom level
    /// from about 1.1 KB).
    pub(crate) fn reference_bomb(levels: usize) -> String {
        let mut doc = String::from(
            "<Obj RefId=\"0\"><TN RefId=\"0\"><T>Bomb</T></TN><MS>\
             <Obj N=\"l0\" RefId=\"1\"><MS><S N=\"a\">aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa</S>\
             <I32 N=\"b\">1</I32></MS></Obj>",
        );
        for i in 1..=levels {
            doc += &format!(
                "<Obj N=\"l{i}\" RefId=\"{}\"><LST><Ref RefId=\"{i}\"/><Ref RefId=\"{i}\"/></LST></Obj>",
                i + 1
            );
        }
        doc += "</MS></Obj>";
        doc
    }

    #[test]
    fn a_reference_bomb_is_refused_before_it_is_built() {
        // 16 levels passed the old bounds (built in full: ~100 MB from
        // 1.3 KB); 18 are the finding's.
        for levels in [16, 18] {
            let doc = reference_bomb(levels);
            assert!(doc.len() < 2000, "{}", doc.len());
            let e = parse(&doc).unwrap_err();
            assert!(
                matches!(e.kind(), ErrorKind::LimitExceeded(m) if m.contains("references expand")),
                "{e}"
            );
        }
        let doc = reference_bomb(18);
        let e = parse(&doc).unwrap_err();
        assert!(
            matches!(e.kind(), ErrorKind::LimitExceeded(m) if m.contains("references expand")),
            "{e}"
        );
        // The refusal comes at the first reference whose expansion would
        // pass the bound, long before the bottom level is copied 2^18 times:
        // the error points into the level that crosses 64 KiB.
        assert!(e.position() < doc.len() as u64 * 3 / 4, "{e}");
        // A few levels are fine, and expand as they should.
        let Value::Object(o) = parse(&reference_bomb(4)).unwrap() else {
            panic!("an object")
        };
        let Value::Object(top) = &o.extended[4].1 else {
            panic!("level 4")
        };
        let Content::List(items) = &top.content else {
            panic!("a list")
        };
        assert_eq!(items.len(), 2);
    }

    #[test]
    fn references_in_a_large_document_get_a_proportional_budget() {
        // 100 objects of ~1 KiB referenced 10 times each: 1 MB expanded from
        // a 100 KB document is within 16 times its size.
        let mut doc = String::from("<Obj><LST>");
        let filler = "x".repeat(1000);
        for i in 0..100 {
            doc += &format!("<Obj RefId=\"{i}\"><S>{filler}</S></Obj>");
        }
        for _ in 0..10 {
            for i in 0..100 {
                doc += &format!("<Ref RefId=\"{i}\"/>");
            }
        }
        doc += "</LST></Obj>";
        let Value::Object(o) = parse(&doc).unwrap() else {
            panic!("an object")
        };
        let Content::List(items) = &o.content else {
            panic!("a list")
        };
        assert_eq!(items.len(), 1100);
        // The same references 200 times each: 20 MB from ~300 KB, refused.
        let mut doc = String::from("<Obj><LST>");
        for i in 0..100 {
            doc += &format!("<Obj RefId=\"{i}\"><S>{filler}</S></Obj>");
        }
        for _ in 0..200 {
            for i in 0..100 {
                doc += &format!("<Ref RefId=\"{i}\"/>");
            }
        }
        doc += "</LST></Obj>";
        let e = parse(&doc).unwrap_err();
        assert!(matches!(e.kind(), ErrorKind::LimitExceeded(_)), "{e}");
    }
}
