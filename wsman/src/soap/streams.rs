//! The fast path of `parse_receive`: a ReceiveResponse's run of plain
//! `rsp:Stream` elements ([MS-WSMV] 2.2.4.39), thousands per Receive when
//! a pipeline has much output, read by a strict scanner instead of the
//! namespace-resolving reader.
//!
//! The scanner only cuts out the run of `<P:Stream>` elements that begins
//! right after the `<P:ReceiveResponse ...>` start tag and that it fully
//! understands: no namespace declarations, no entities, only the `Name`,
//! `CommandId` and `End` attributes, base64 text. Everything else (the
//! envelope, the headers, `CommandState`, any stream it does not
//! understand) is left in a much smaller skeleton document for the full
//! parser, which also confirms that the cut starts exactly where the
//! ReceiveResponse start tag it parsed ends: only then does the cut mean
//! what the scanner thought, and otherwise the whole document is parsed
//! the slow way.
//!
//! [MS-WSMV]: https://learn.microsoft.com/en-us/openspecs/windows_protocols/ms-wsmv/
use super::response::StreamData;
use super::shared::SharedStr;

/// A cut run of streams.
pub(crate) struct Run {
    /// Offset of `<` of the ReceiveResponse start tag.
    pub element_at: usize,
    /// Offset just past that start tag: where the cut begins.
    pub cut_at: usize,
    /// Offset just past the last stream of the run: where the cut ends.
    pub cut_end: usize,
    /// The streams, decoded.
    pub streams: Vec<StreamData>,
}

/// One stream of a [`Run`], its text not yet decoded.
struct RawStream<'a> {
    name: &'a str,
    command_id: Option<&'a str>,
    end: bool,
    /// Range of the base64 text in the document.
    text: std::ops::Range<usize>,
}

/// The attribute values of the streams so far, shared by the streams that
/// repeat them (all of them, usually).
#[derive(Default)]
struct Names {
    name: Option<SharedStr>,
    command_id: Option<SharedStr>,
}

impl Names {
    fn name(&mut self, v: &str) -> SharedStr {
        share(&mut self.name, v)
    }

    fn command_id(&mut self, v: Option<&str>) -> Option<SharedStr> {
        v.map(|v| share(&mut self.command_id, v))
    }
}

/// `v` as the shared text in `last` when equal, else as a new one kept there.
fn share(last: &mut Option<SharedStr>, v: &str) -> SharedStr {
    match last {
        Some(a) if **a == *v => a.clone(),
        _ => last.insert(SharedStr::from(v)).clone(),
    }
}

/// Finds the run of plain streams at the start of the ReceiveResponse,
/// their text decoded by `decode` (a stream whose text does not decode ends
/// the run: the full parser reports it); `None` when there is none (the
/// full parser then does everything).
pub(crate) fn scan<E>(doc: &str, decode: impl Fn(&str) -> Result<Vec<u8>, E>) -> Option<Run> {
    let b = doc.as_bytes();
    // the first `<ReceiveResponse` or `<P:ReceiveResponse` (the name also
    // occurs in the Action header's URI)
    let (lt, at, prefix) = memchr::memmem::find_iter(b, b"ReceiveResponse").find_map(|at| {
        let lt = b[..at].iter().rposition(|&c| c == b'<')?;
        let between = &doc[lt + 1..at];
        let prefix = match between.strip_suffix(':') {
            Some(p) if is_name(p) => between,
            None if between.is_empty() => "",
            _ => return None,
        };
        let next = *b.get(at + "ReceiveResponse".len())?;
        (next == b'>' || next.is_ascii_whitespace()).then_some((lt, at, prefix))
    })?;
    let tag_end = at + memchr::memchr(b'>', &b[at..])?;
    if b[tag_end - 1] == b'/' {
        return None;
    }
    let cut_at = tag_end + 1;
    let open = format!("<{prefix}Stream");
    let close = format!("</{prefix}Stream");
    let mut pos = cut_at;
    let mut cut_end = cut_at;
    let mut streams = Vec::new();
    let mut names = Names::default();
    loop {
        let ws = b[pos..]
            .iter()
            .take_while(|c| c.is_ascii_whitespace())
            .count();
        let Some((s, next)) = one_stream(doc, pos + ws, &open, &close) else {
            break;
        };
        let Ok(data) = decode(&doc[s.text]) else {
            break;
        };
        streams.push(StreamData {
            name: names.name(s.name),
            command_id: names.command_id(s.command_id),
            end: s.end,
            data,
        });
        pos = next;
        cut_end = pos;
    }
    (!streams.is_empty()).then_some(Run {
        element_at: lt,
        cut_at,
        cut_end,
        streams,
    })
}

fn is_name(s: &str) -> bool {
    !s.is_empty()
        && s.bytes()
            .all(|c| c.is_ascii_alphanumeric() || matches!(c, b'_' | b'-' | b'.'))
}

/// One `<P:Stream a="v" ...>base64</P:Stream>` (or `<P:Stream .../>`) at
/// `at`; the stream and the offset past it.
fn one_stream<'a>(
    doc: &'a str,
    at: usize,
    open: &str,
    close: &str,
) -> Option<(RawStream<'a>, usize)> {
    let b = doc.as_bytes();
    let rest = b.get(at..)?;
    if !rest.starts_with(open.as_bytes()) {
        return None;
    }
    let mut i = at + open.len();
    let mut s = RawStream {
        name: "",
        command_id: None,
        end: false,
        text: 0..0,
    };
    let (mut name, mut end) = (None, None);
    loop {
        let ws = b[i..]
            .iter()
            .take_while(|c| c.is_ascii_whitespace())
            .count();
        i += ws;
        match *b.get(i)? {
            b'>' => {
                i += 1;
                break;
            }
            b'/' if b.get(i + 1) == Some(&b'>') => {
                s.name = name.unwrap_or_default();
                s.end = end.unwrap_or(false);
                s.text = i..i;
                return Some((s, i + 2));
            }
            _ if ws == 0 => return None, // attributes are separated by white space
            _ => {}
        }
        let eq = i + memchr::memchr(b'=', &b[i..])?;
        let key = &doc[i..eq];
        let quote = *b.get(eq + 1)?;
        if quote != b'"' && quote != b'\'' {
            return None;
        }
        let v_start = eq + 2;
        let v_end = v_start + memchr::memchr(quote, &b[v_start..])?;
        let value = &doc[v_start..v_end];
        // entities, markup and white space that XML would normalise: the parser's job
        if value
            .bytes()
            .any(|c| matches!(c, b'<' | b'&' | b'\t' | b'\r' | b'\n'))
        {
            return None;
        }
        match key {
            "Name" if name.is_none() => name = Some(value),
            "CommandId" if s.command_id.is_none() => s.command_id = Some(value),
            "End" if end.is_none() => end = Some(value.trim().eq_ignore_ascii_case("true")),
            _ => return None,
        }
        i = v_end + 1;
    }
    s.name = name.unwrap_or_default();
    s.end = end.unwrap_or(false);
    let text_end = i + memchr::memchr(b'<', &b[i..])?;
    // an entity would be the parser's to expand; any other stray byte
    // fails the base64 decoding as it would after the parser
    if memchr::memchr(b'&', &b[i..text_end]).is_some() {
        return None;
    }
    s.text = i..text_end;
    let after = b.get(text_end..)?;
    if !after.starts_with(close.as_bytes()) {
        return None;
    }
    let mut j = text_end + close.len();
    j += b[j..]
        .iter()
        .take_while(|c| c.is_ascii_whitespace())
        .count();
    (b.get(j) == Some(&b'>')).then_some((s, j + 1))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn plain(t: &str) -> Result<Vec<u8>, ()> {
        Ok(t.as_bytes().to_vec())
    }

    #[test]
    fn cuts_only_plain_streams_right_after_the_start_tag() {
        let doc = r#"<s:Envelope><s:Body><rsp:ReceiveResponse xmlns:rsp="x"><rsp:Stream Name="stdout" CommandId="C">QUJD</rsp:Stream>
 <rsp:Stream Name='stderr' End="true"/><rsp:Stream Name="a&amp;b">QQ==</rsp:Stream><rsp:CommandState/></rsp:ReceiveResponse></s:Body></s:Envelope>"#;
        let run = scan(doc, plain).unwrap();
        assert_eq!(
            &doc[run.element_at..run.element_at + 20],
            "<rsp:ReceiveResponse"
        );
        assert_eq!(&doc[run.cut_at - 1..run.cut_at], ">");
        assert!(doc[run.cut_end..].starts_with(r#"<rsp:Stream Name="a&amp;b">"#));
        assert_eq!(run.streams.len(), 2);
        assert_eq!(run.streams[0].name, "stdout");
        assert_eq!(run.streams[0].command_id.as_deref(), Some("C"));
        assert_eq!(run.streams[0].data, b"QUJD");
        assert!(run.streams[1].end && run.streams[1].data.is_empty());
    }

    #[test]
    fn leaves_what_it_does_not_understand() {
        for doc in [
            r#"<ReceiveResponse><Stream Name="x" xmlns="y">QQ==</Stream></ReceiveResponse>"#,
            r#"<r:ReceiveResponse><s:Stream Name="x">QQ==</s:Stream></r:ReceiveResponse>"#,
            r#"<r:ReceiveResponse><r:Stream Name="x">Q&#x51;==</r:Stream></r:ReceiveResponse>"#,
            r#"<r:ReceiveResponse><r:Stream Name="x">QQ==<!--c--></r:Stream></r:ReceiveResponse>"#,
            r#"<r:ReceiveResponse><r:Stream Name="x"Other="1">QQ==</r:Stream></r:ReceiveResponse>"#,
            r#"<r:ReceiveResponse><r:Stream Name="x" Name="y">QQ==</r:Stream></r:ReceiveResponse>"#,
            r#"<r:ReceiveResponse><r:Stream Name="x">QQ==</r:Streamx></r:ReceiveResponse>"#,
            r#"<r:ReceiveResponse/>"#,
            r#"<r:ReceiveResponse><r:Stream Name="x">QQ=="#,
        ] {
            assert!(scan(doc, plain).is_none(), "{doc}");
        }
    }
}
