//! XML plumbing of the SOAP codec: escaping for the writers and a bounded,
//! namespace-resolving pull reader over quick-xml for the parsers.
//!
//! The reader rejects DOCTYPE (and so every entity declaration), caps the
//! input size, the nesting depth and the number of elements, and never
//! expands anything but the five predefined entities and character
//! references. Every failure is an [`Error::Protocol`].
use std::borrow::Cow;

use quick_xml::events::{BytesStart, Event};
use quick_xml::name::ResolveResult;
use quick_xml::NsReader;

use crate::error::{Error, Result};

/// Largest document the parsers accept (bytes). Windows' own MaxEnvelopeSize
/// tops out far below this; a larger answer is hostile or broken.
pub const MAX_INPUT: usize = 32 * 1024 * 1024;
/// Deepest element nesting the parsers accept.
pub const MAX_DEPTH: usize = 64;
/// Most elements (start tags) one document may hold.
pub const MAX_ELEMENTS: usize = 500_000;

/// Appends `s` to `out` with `&`, `<`, `>`, `"` and `'` escaped, safe in text
/// and in attribute values.
pub fn escape_into(out: &mut String, s: &str) {
    for c in s.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&apos;"),
            // XML 1.0 cannot carry most C0 controls even escaped; a
            // character reference keeps \t \r \n exact.
            '\r' => out.push_str("&#xD;"),
            c if ((c as u32) < 0x20 && c != '\t' && c != '\n')
                || c == '\u{FFFE}'
                || c == '\u{FFFF}' =>
            {
                // Not representable in XML 1.0: replace, never emit invalid XML.
                out.push('\u{FFFD}');
            }
            c => out.push(c),
        }
    }
}

/// Appends `s` for an attribute value: as [`escape_into`], and tab and
/// line feed as character references so attribute-value normalisation
/// does not turn them into spaces.
pub fn escape_attr_into(out: &mut String, s: &str) {
    for c in s.chars() {
        match c {
            '\t' => out.push_str("&#x9;"),
            '\n' => out.push_str("&#xA;"),
            c => {
                let mut b = [0u8; 4];
                escape_into(out, c.encode_utf8(&mut b));
            }
        }
    }
}

/// `s` escaped as by [`escape_into`].
pub fn escape(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    escape_into(&mut out, s);
    out
}

pub(crate) fn protocol(message: impl Into<String>) -> Error {
    Error::Protocol {
        message: message.into(),
    }
}

/// An attribute with its namespace resolved.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Attr {
    /// Namespace URI, `None` for unprefixed attributes.
    pub ns: Option<String>,
    /// Local name.
    pub local: String,
    /// Unescaped value.
    pub value: String,
}

/// A start tag with namespaces resolved.
#[derive(Debug, Clone)]
pub(crate) struct Start {
    /// Namespace URI of the element, `None` when unqualified.
    pub ns: Option<String>,
    /// Local name.
    pub local: String,
    /// Attributes other than namespace declarations.
    pub attrs: Vec<Attr>,
    /// Byte offset of `<` in the input.
    pub pos: usize,
    /// Length of the qualified name as written (after `<`).
    pub qname_len: usize,
}

impl Start {
    /// The value of the unqualified attribute `local`, or with any namespace
    /// when none unqualified exists.
    pub fn attr(&self, local: &str) -> Option<&str> {
        self.attrs
            .iter()
            .find(|a| a.local == local && a.ns.is_none())
            .or_else(|| self.attrs.iter().find(|a| a.local == local))
            .map(|a| a.value.as_str())
    }

    /// True when the element is `ns`:`local`.
    pub fn is(&self, ns: &str, local: &str) -> bool {
        self.local == local && self.ns.as_deref() == Some(ns)
    }
}

/// One event of the bounded reader.
#[derive(Debug)]
pub(crate) enum Ev<'a> {
    /// A start tag (empty elements give `Start` then `End`).
    Start(Start),
    /// Character data (text or CDATA), unescaped.
    Text(Cow<'a, str>),
    /// An end tag; `end` is the byte offset just past it.
    End { end: usize },
}

/// The bounded pull reader.
pub(crate) struct Reader<'a> {
    input: &'a str,
    inner: NsReader<&'a [u8]>,
    depth: usize,
    elements: usize,
    /// Namespace declarations per open element: (prefix, uri); prefix "" is
    /// the default namespace.
    scopes: Vec<Vec<(String, String)>>,
    seen_root: bool,
    done: bool,
}

/// Decodes bytes as UTF-8 (dropping a BOM) within the size cap.
pub(crate) fn as_text(input: &[u8]) -> Result<&str> {
    if input.len() > MAX_INPUT {
        return Err(protocol(format!(
            "SOAP document of {} bytes exceeds the {} byte limit",
            input.len(),
            MAX_INPUT
        )));
    }
    let input = input.strip_prefix(b"\xEF\xBB\xBF").unwrap_or(input);
    std::str::from_utf8(input).map_err(|e| protocol(format!("SOAP document is not UTF-8: {e}")))
}

impl<'a> Reader<'a> {
    /// A reader over `input`, which must already be within [`MAX_INPUT`].
    pub fn new(input: &'a str) -> Self {
        let mut inner = NsReader::from_reader(input.as_bytes());
        let cfg = inner.config_mut();
        cfg.expand_empty_elements = true;
        cfg.check_end_names = true;
        cfg.trim_text(false);
        Reader {
            input,
            inner,
            depth: 0,
            elements: 0,
            scopes: Vec::new(),
            seen_root: false,
            done: false,
        }
    }

    /// The byte offset reached in the input (just past the last event).
    pub fn position(&self) -> usize {
        self.inner.buffer_position() as usize
    }

    /// Current depth: 1 inside the root element.
    pub fn depth(&self) -> usize {
        self.depth
    }

    /// Namespace bindings in scope from the ancestors of the current element
    /// (outermost first), excluding the current element's own.
    pub fn inherited_bindings(&self) -> Vec<(String, String)> {
        let n = self.scopes.len().saturating_sub(1);
        let mut out: Vec<(String, String)> = Vec::new();
        for scope in &self.scopes[..n] {
            for (p, u) in scope {
                out.retain(|(q, _)| q != p);
                out.push((p.clone(), u.clone()));
            }
        }
        out
    }

    /// The current element's own declared prefixes.
    pub fn own_prefixes(&self) -> impl Iterator<Item = &str> {
        self.scopes
            .last()
            .into_iter()
            .flat_map(|s| s.iter().map(|(p, _)| p.as_str()))
    }

    /// The next event, `None` at the end of the document.
    pub fn next(&mut self) -> Result<Option<Ev<'a>>> {
        loop {
            if self.done {
                return Ok(None);
            }
            let before = self.inner.buffer_position() as usize;
            let (res, ev) = self
                .inner
                .read_resolved_event()
                .map_err(|e| protocol(format!("malformed XML at byte {before}: {e}")))?;
            match ev {
                Event::Start(s) => {
                    if self.depth == 0 && self.seen_root {
                        return Err(protocol("XML has more than one root element"));
                    }
                    self.seen_root = true;
                    self.depth += 1;
                    self.elements += 1;
                    if self.depth > MAX_DEPTH {
                        return Err(protocol(format!(
                            "XML nesting deeper than {MAX_DEPTH} elements"
                        )));
                    }
                    if self.elements > MAX_ELEMENTS {
                        return Err(protocol(format!(
                            "XML holds more than {MAX_ELEMENTS} elements"
                        )));
                    }
                    let ns = resolved(res)?;
                    let start = self.start(&s, ns, before)?;
                    return Ok(Some(Ev::Start(start)));
                }
                Event::End(_) => {
                    self.depth -= 1;
                    self.scopes.pop();
                    if self.depth == 0 {
                        // Trailing misc (comments, whitespace) is allowed;
                        // keep reading to catch a second root or garbage.
                    }
                    let end = self.inner.buffer_position() as usize;
                    return Ok(Some(Ev::End { end }));
                }
                Event::Text(t) => {
                    let text = t
                        .unescape()
                        .map_err(|e| protocol(format!("bad XML text at byte {before}: {e}")))?;
                    if self.depth == 0 {
                        if text.trim().is_empty() {
                            continue;
                        }
                        return Err(protocol("text outside the root element"));
                    }
                    return Ok(Some(Ev::Text(text)));
                }
                Event::CData(c) => {
                    if self.depth == 0 {
                        return Err(protocol("CDATA outside the root element"));
                    }
                    let bytes = c.into_inner();
                    let s = match bytes {
                        Cow::Borrowed(b) => Cow::Borrowed(
                            std::str::from_utf8(b).map_err(|_| protocol("CDATA is not UTF-8"))?,
                        ),
                        Cow::Owned(b) => Cow::Owned(
                            String::from_utf8(b).map_err(|_| protocol("CDATA is not UTF-8"))?,
                        ),
                    };
                    return Ok(Some(Ev::Text(s)));
                }
                Event::DocType(_) => {
                    return Err(protocol(
                        "XML with a DOCTYPE (DTD, entity declarations) is refused",
                    ))
                }
                Event::Decl(_) | Event::PI(_) | Event::Comment(_) => continue,
                Event::Empty(_) => unreachable_empty()?,
                Event::Eof => {
                    if self.depth != 0 {
                        return Err(protocol("XML ends inside an element (truncated?)"));
                    }
                    if !self.seen_root {
                        return Err(protocol("empty XML document"));
                    }
                    self.done = true;
                    return Ok(None);
                }
            }
        }
    }

    fn start(&mut self, s: &BytesStart<'_>, ns: Option<String>, pos: usize) -> Result<Start> {
        let local = utf8(s.local_name().into_inner())?.to_owned();
        let qname_len = s.name().into_inner().len();
        let mut attrs = Vec::new();
        let mut scope = Vec::new();
        for a in s.attributes() {
            let a = a.map_err(|e| protocol(format!("bad XML attribute at byte {pos}: {e}")))?;
            let key = a.key.into_inner();
            let value = a
                .unescape_value()
                .map_err(|e| protocol(format!("bad XML attribute value at byte {pos}: {e}")))?
                .into_owned();
            if key == b"xmlns" {
                scope.push((String::new(), value));
                continue;
            }
            if let Some(p) = key.strip_prefix(b"xmlns:") {
                scope.push((utf8(p)?.to_owned(), value));
                continue;
            }
            let (res, local) = self.inner.resolve_attribute(a.key);
            let ans = resolved(res)?;
            attrs.push(Attr {
                ns: ans,
                local: utf8(local.into_inner())?.to_owned(),
                value,
            });
        }
        if attrs.len() > 256 {
            return Err(protocol("XML element with more than 256 attributes"));
        }
        self.scopes.push(scope);
        Ok(Start {
            ns,
            local,
            attrs,
            pos,
            qname_len,
        })
    }

    /// Reads the text content of the element just started, up to its end tag,
    /// concatenating the text of any nested elements.
    pub fn text_content(&mut self) -> Result<String> {
        let target = self.depth - 1;
        let mut out = String::new();
        while let Some(ev) = self.next()? {
            match ev {
                Ev::Text(t) => out.push_str(&t),
                Ev::End { .. } if self.depth == target => return Ok(out),
                _ => {}
            }
        }
        Err(protocol("XML ends inside an element"))
    }

    /// [`text_content`](Self::text_content) without a copy when the element
    /// holds a single run of text (the usual case, e.g. a large base64
    /// `rsp:Stream`).
    pub fn text_content_cow(&mut self) -> Result<Cow<'a, str>> {
        let target = self.depth - 1;
        let mut out: Option<Cow<'a, str>> = None;
        while let Some(ev) = self.next()? {
            match ev {
                Ev::Text(t) => match &mut out {
                    None => out = Some(t),
                    Some(o) => o.to_mut().push_str(&t),
                },
                Ev::End { .. } if self.depth == target => return Ok(out.unwrap_or_default()),
                _ => {}
            }
        }
        Err(protocol("XML ends inside an element"))
    }

    /// Skips the rest of the element just started; returns the byte offset
    /// past its end tag.
    pub fn skip(&mut self) -> Result<usize> {
        let target = self.depth - 1;
        while let Some(ev) = self.next()? {
            if let Ev::End { end } = ev {
                if self.depth == target {
                    return Ok(end);
                }
            }
        }
        Err(protocol("XML ends inside an element"))
    }

    /// Captures the element just started (`start`) as standalone XML text:
    /// the raw bytes, with the namespace declarations it inherits from its
    /// ancestors added to its start tag so it parses on its own.
    pub fn capture(&mut self, start: &Start) -> Result<String> {
        let inherited = self.inherited_bindings();
        let own: Vec<String> = self.own_prefixes().map(str::to_owned).collect();
        let end = self.skip()?;
        let raw = &self.input[start.pos..end];
        let mut extra = String::new();
        for (p, u) in inherited {
            if own.contains(&p) {
                continue;
            }
            let used = if p.is_empty() {
                true
            } else {
                raw.contains(&format!("{p}:"))
            };
            if !used {
                continue;
            }
            if p.is_empty() {
                extra.push_str(" xmlns=\"");
            } else {
                extra.push_str(" xmlns:");
                extra.push_str(&p);
                extra.push_str("=\"");
            }
            escape_attr_into(&mut extra, &u);
            extra.push('"');
        }
        let cut = 1 + start.qname_len;
        let mut out = String::with_capacity(raw.len() + extra.len());
        out.push_str(&raw[..cut]);
        out.push_str(&extra);
        out.push_str(&raw[cut..]);
        Ok(out)
    }
}

fn unreachable_empty() -> Result<()> {
    Err(protocol("internal: empty element not expanded"))
}

fn utf8(b: &[u8]) -> Result<&str> {
    std::str::from_utf8(b).map_err(|_| protocol("XML name is not UTF-8"))
}

fn resolved(r: ResolveResult<'_>) -> Result<Option<String>> {
    match r {
        ResolveResult::Bound(ns) => Ok(Some(utf8(ns.into_inner())?.to_owned())),
        ResolveResult::Unbound => Ok(None),
        ResolveResult::Unknown(p) => Err(protocol(format!(
            "XML uses the undeclared namespace prefix {:?}",
            String::from_utf8_lossy(&p)
        ))),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn all(s: &str) -> Result<usize> {
        let mut r = Reader::new(s);
        let mut n = 0;
        while r.next()?.is_some() {
            n += 1;
        }
        Ok(n)
    }

    #[test]
    fn escapes_markup_and_quotes() {
        assert_eq!(escape("a<b>&\"c'"), "a&lt;b&gt;&amp;&quot;c&apos;");
        assert_eq!(escape("x\r\ny\u{1}\u{FFFF}"), "x&#xD;\ny\u{FFFD}\u{FFFD}");
    }

    #[test]
    fn refuses_doctype_and_entities() {
        let bomb = "<?xml version=\"1.0\"?><!DOCTYPE l [<!ENTITY a \"aaaa\"><!ENTITY b \"&a;&a;\">]><l>&b;</l>";
        assert!(matches!(all(bomb), Err(Error::Protocol { .. })));
        assert!(matches!(
            all("<a>&unknown;</a>"),
            Err(Error::Protocol { .. })
        ));
    }

    #[test]
    fn caps_depth_and_detects_truncation() {
        let deep = "<a>".repeat(MAX_DEPTH + 1) + &"</a>".repeat(MAX_DEPTH + 1);
        assert!(matches!(all(&deep), Err(Error::Protocol { .. })));
        assert!(matches!(all("<a><b></b>"), Err(Error::Protocol { .. })));
        assert!(matches!(all("<a></b>"), Err(Error::Protocol { .. })));
        assert!(matches!(all(""), Err(Error::Protocol { .. })));
        assert!(matches!(all("<a/><b/>"), Err(Error::Protocol { .. })));
        assert!(matches!(all("<p:a/>"), Err(Error::Protocol { .. })));
    }

    #[test]
    fn capture_adds_inherited_namespaces() {
        let s = r#"<r xmlns:p="urn:p" xmlns:q="urn:q"><p:i a="1"><p:j/></p:i></r>"#;
        let mut r = Reader::new(s);
        r.next().unwrap();
        let Some(Ev::Start(st)) = r.next().unwrap() else {
            panic!("no start")
        };
        let cap = r.capture(&st).unwrap();
        assert_eq!(cap, r#"<p:i xmlns:p="urn:p" a="1"><p:j/></p:i>"#);
    }
}
